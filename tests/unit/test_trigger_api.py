"""The training API end to end through its Lambda handler: API Gateway events in, moto for AWS."""

from __future__ import annotations

import copy
import importlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws
from moto.core.models import MockAWS

from launcher.settings import get_settings
from yolo_train.metric_defs import METRIC_DEFINITIONS

pytestmark = pytest.mark.unit

EVENTS = Path(__file__).resolve().parents[2] / "events"
REGION = "eu-north-1"
DATA = "invoice-yolo-dev-databucket-1x2y3z4w5v6u"  # the bucket the events/train_*.json bodies name
MODELS, CHECKPOINTS, TABLE = "iy-models", "iy-checkpoints", "iy-idempotency"
ROLE = "arn:aws:iam::123456789012:role/iy-sagemaker"
IMAGE = "763104351884.dkr.ecr.eu-north-1.amazonaws.com/pytorch-training:2.10.0-gpu-py313"
PREFIX = "invoice-yolo-dev"
DATASET_PREFIX = "datasets/invoices-v3/"
ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "InvoiceYolo",
    "POWERTOOLS_SERVICE_NAME": "trigger-training",
    "STAGE": "dev",
    "STACK_NAME": "invoice-yolo-dev",
    "DATA_BUCKET": DATA,
    "MODELS_BUCKET": MODELS,
    "CHECKPOINTS_BUCKET": CHECKPOINTS,
    "SAGEMAKER_ROLE_ARN": ROLE,
    "TRAINING_IMAGE_URI": IMAGE,
    "TRAINING_INSTANCE_TYPES": "ml.g4dn.xlarge,ml.g5.xlarge",
    "DEFAULT_INSTANCE_TYPE": "ml.g4dn.xlarge",
    "TRAINING_JOB_PREFIX": PREFIX,
    "IDEMPOTENCY_TABLE": TABLE,
    "IDEMPOTENCY_WINDOW_S": "3600",
    "TRAINING_VOLUME_GB": "40",
    "DEFAULT_MAX_RUNTIME_S": "14400",
    "MAX_RUNTIME_CAP_S": "86400",
    "CORS_ALLOW_ORIGIN": "https://console.example.com",
}


@dataclass
class Context:
    """The parts of the Lambda context Powertools reads."""

    function_name: str = "invoice-yolo-dev-TriggerTrainingFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:trigger"
    aws_request_id: str = "52fdfc07-2182-454f-963f-5f0f9a621d72"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


@dataclass
class Api:
    handler: ModuleType
    s3: Any
    sagemaker: Any
    dynamodb: Any
    created: list[dict[str, Any]]
    fault: Any = None

    def call(self, event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, list[str]]]:
        response = self.handler.lambda_handler(event, Context())
        return response["statusCode"], json.loads(response["body"]), dict(response["multiValueHeaders"])

    def fail_create(self, code: str, message: str) -> None:
        """Make SageMaker answer CreateTrainingJob with an error (as AWS would; moto never does)."""

        def respond(**_: Any) -> tuple[Any, dict[str, Any]]:
            http = type("Http", (), {"status_code": 400, "headers": {}, "content": b""})()
            return http, {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }

        self.heal()
        self.handler.sagemaker.meta.events.register_first("before-call.sagemaker.CreateTrainingJob", respond)
        self.fault = respond

    def heal(self) -> None:
        if self.fault is not None:
            self.handler.sagemaker.meta.events.unregister(
                "before-call.sagemaker.CreateTrainingJob", self.fault
            )
            self.fault = None

    def idempotency_records(self) -> list[dict[str, Any]]:
        return self.dynamodb.scan(TableName=TABLE)["Items"]


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def post(
    body: dict[str, Any] | None = None, key: str | None = None, raw: str | None = None
) -> dict[str, Any]:
    event = load_event("train_post.json")
    event["headers"].pop("Idempotency-Key")
    event["multiValueHeaders"].pop("Idempotency-Key")
    if key is not None:
        event["headers"]["Idempotency-Key"] = key
        event["multiValueHeaders"]["Idempotency-Key"] = [key]
    if body is not None or raw is not None:
        event["body"] = raw if raw is not None else json.dumps(body)
    return event


def get_job(name: str) -> dict[str, Any]:
    event = load_event("train_get.json")
    event["path"] = f"/train/{name}"
    event["pathParameters"] = {"job_name": name}
    event["requestContext"]["path"] = f"/dev/train/{name}"
    return event


def list_jobs(**query: str) -> dict[str, Any]:
    event = load_event("train_list.json")
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} or None
    return event


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[MockAWS, ModuleType]]:
    """moto and the handler module, once per module (importing it builds its clients)."""
    with pytest.MonkeyPatch.context() as env:
        for key, value in ENV.items():
            env.setenv(key, value)
        with mock_aws() as aws:
            get_settings.cache_clear()
            sys.modules.pop("launcher.handler", None)
            yield aws, importlib.import_module("launcher.handler")
    get_settings.cache_clear()
    sys.modules.pop("launcher.handler", None)


@pytest.fixture
def api(world: tuple[MockAWS, ModuleType]) -> Iterator[Api]:
    """Empty AWS for each test: the stack's buckets and table, and a dataset with data.yaml."""
    aws, handler = world
    aws.reset()
    s3 = boto3.client("s3", region_name=REGION)
    for bucket in (DATA, MODELS, CHECKPOINTS):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=DATA, Key=DATASET_PREFIX + "data.yaml", Body=b"path: .\ntrain: images/train\n")
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(  # as template.yaml declares it
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    created: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        created.append(copy.deepcopy(params))

    events = handler.sagemaker.meta.events
    events.register("provide-client-params.sagemaker.CreateTrainingJob", capture)
    state = Api(handler, s3, boto3.client("sagemaker", region_name=REGION), dynamodb, created)
    yield state
    events.unregister("provide-client-params.sagemaker.CreateTrainingJob", capture)
    state.heal()


def test_post_launches_one_managed_spot_job(api: Api) -> None:
    event = load_event("train_post.json")
    event["headers"]["Origin"] = "https://console.example.com"  # a browser call: CORS headers come back
    event["multiValueHeaders"]["Origin"] = ["https://console.example.com"]
    status, body, headers = api.call(event)

    assert status == 202
    job = body["job_name"]
    assert job.startswith(f"{PREFIX}-")
    url = f"https://a1b2c3d4e5.execute-api.eu-north-1.amazonaws.com/dev/train/{job}"
    assert body["status_url"] == url
    assert headers["Location"] == [url]
    assert headers["Access-Control-Allow-Origin"] == ["https://console.example.com"]
    assert body["replayed"] is False  # a fresh launch
    assert body["request"]["epochs"] == 50  # the normalized request is echoed
    [request] = api.created
    # Network isolation: the code arrives as the "code" channel, named by its local path.
    assert json.loads(request["HyperParameters"]["sagemaker_submit_directory"]) == (
        "/opt/ml/input/data/code/sourcedir.tar.gz"
    )
    bundle_uri = request["InputDataConfig"][-1]["DataSource"]["S3DataSource"]["S3Uri"]
    bundle_key = bundle_uri.removeprefix(f"s3://{MODELS}/")
    assert bundle_key.startswith("code/sourcedir/") and bundle_key.endswith("/sourcedir.tar.gz")
    assert api.s3.head_object(Bucket=MODELS, Key=bundle_key)["ContentLength"] > 0
    requester = "arn:aws:sts::123456789012:assumed-role/ml-engineer/alice"  # the event's IAM identity
    assert request == {
        "TrainingJobName": job,
        "AlgorithmSpecification": {
            "TrainingImage": IMAGE,
            "TrainingInputMode": "FastFile",
            "MetricDefinitions": METRIC_DEFINITIONS,
            "EnableSageMakerMetricsTimeSeries": True,
        },
        "RoleArn": ROLE,
        "HyperParameters": {
            "epochs": "50",
            "imgsz": "640",
            "batch": "16",
            "model-version": json.dumps(job),
            "optimizer": '"AdamW"',
            "lr0": "0.002",
            "patience": "20",
            "fliplr": "0.0",
            "model": '"yolo26n"',
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": '"/opt/ml/input/data/code/sourcedir.tar.gz"',
            "sagemaker_region": json.dumps(REGION),
            "sagemaker_job_name": json.dumps(job),
            "sagemaker_container_log_level": "20",
        },
        "InputDataConfig": [
            {
                "ChannelName": "training",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{DATA}/{DATASET_PREFIX}",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            },
            {
                "ChannelName": "code",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": bundle_uri,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "InputMode": "File",
            },
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{MODELS}/training-output/"},
        "ResourceConfig": {"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 40},
        "StoppingCondition": {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 14400},
        "EnableManagedSpotTraining": True,
        "EnableNetworkIsolation": True,
        "CheckpointConfig": {
            "S3Uri": f"s3://{CHECKPOINTS}/checkpoints/{job}/",
            "LocalPath": "/opt/ml/checkpoints",
        },
        "Environment": {"PYTHONUNBUFFERED": "1", "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        "Tags": [
            {"Key": "Stack", "Value": "invoice-yolo-dev"},
            {"Key": "Stage", "Value": "dev"},
            {"Key": "Dataset", "Value": f"s3://{DATA}/{DATASET_PREFIX}"},
            {"Key": "Requester", "Value": requester},
        ],
    }
    # SageMaker (moto) has the job, with what the API asked for.
    described = api.sagemaker.describe_training_job(TrainingJobName=job)
    assert described["EnableManagedSpotTraining"] is True
    assert described["CheckpointConfig"]["S3Uri"] == f"s3://{CHECKPOINTS}/checkpoints/{job}/"


def test_same_idempotency_key_returns_the_same_job_and_launches_once(api: Api) -> None:
    event = load_event("train_post.json")
    first_status, first, _ = api.call(event)
    second_status, second, _ = api.call(copy.deepcopy(event))

    assert (first_status, second_status) == (202, 202)
    assert second["job_name"] == first["job_name"]
    assert second["replayed"] is True
    assert len(api.created) == 1
    assert len(api.sagemaker.list_training_jobs()["TrainingJobSummaries"]) == 1


def test_same_body_without_a_key_is_the_same_request(api: Api) -> None:
    body = {"dataset": f"s3://{DATA}/{DATASET_PREFIX}", "epochs": 10}
    _, first, _ = api.call(post(body))
    # The same request spelled differently: defaults written out, no trailing slash.
    _, again, _ = api.call(post({"dataset": f"s3://{DATA}/datasets/invoices-v3", "epochs": 10, "spot": True}))
    _, other, _ = api.call(post(body | {"epochs": 11}))

    assert again["job_name"] == first["job_name"]
    assert other["job_name"] != first["job_name"]
    assert len(api.created) == 2


def test_the_same_key_with_another_body_is_refused(api: Api) -> None:
    body = {"dataset": f"s3://{DATA}/{DATASET_PREFIX}", "epochs": 10}
    api.call(post(body, key="k-1"))
    status, error, _ = api.call(post(body | {"epochs": 20}, key="k-1"))

    assert status == 422
    assert error["error"] == "idempotency_key_reused"
    assert len(api.created) == 1


def test_keys_are_scoped_to_the_caller(api: Api) -> None:
    body = {"dataset": f"s3://{DATA}/{DATASET_PREFIX}"}
    _, mine, _ = api.call(post(body, key="nightly"))
    theirs = post(body, key="nightly")
    theirs["requestContext"]["identity"]["userArn"] = "arn:aws:sts::123456789012:assumed-role/ml-engineer/bob"
    _, other, _ = api.call(theirs)

    assert other["job_name"] != mine["job_name"]


def assert_nothing_launched(api: Api) -> None:
    assert api.created == []
    assert api.sagemaker.list_training_jobs()["TrainingJobSummaries"] == []
    assert api.s3.list_objects_v2(Bucket=MODELS).get("KeyCount", 0) == 0  # no bundle uploaded either
    assert api.idempotency_records() == []


def test_an_invalid_request_names_every_problem_and_launches_nothing(api: Api) -> None:
    status, error, _ = api.call(load_event("train_post_invalid.json"))

    assert status == 422
    assert error["error"] == "validation_failed"
    assert {d["field"] for d in error["details"]} == {
        "dataset",
        "epochs",
        "imgsz",
        "hyperparameters.learning_rate",
        "instance_type",
    }
    assert_nothing_launched(api)


@pytest.mark.parametrize(
    ("event", "status", "code"),
    [
        (post(raw="{not json"), 400, "invalid_request"),
        (post(raw="[1, 2]"), 400, "invalid_request"),
        (post(raw=""), 400, "invalid_request"),
        (post({"dataset": f"s3://{DATA}/{DATASET_PREFIX}"}, key="has space"), 400, "invalid_request"),
        (post({"dataset": f"s3://{DATA}/{DATASET_PREFIX}"}, key="k" * 256), 400, "invalid_request"),
        (
            post({"dataset": f"s3://{DATA}/{DATASET_PREFIX}", "max_runtime_s": 7200, "max_wait_s": 3600}),
            422,
            None,
        ),
        (post({"dataset": f"s3://{DATA}/{DATASET_PREFIX}", "spot": False, "max_wait_s": 7200}), 422, None),
        (post({"dataset": f"s3://{DATA}/{DATASET_PREFIX}", "instance_type": "ml.p4d.24xlarge"}), 422, None),
        (post({"dataset": f"s3://{DATA}/{DATASET_PREFIX}", "hyperparameters": {"lr0": 0.01}}), 422, None),
        (post({"dataset": f"s3://{DATA}/datasets/missing/"}), 422, "dataset_not_found"),
        (
            post({"dataset": f"s3://{DATA}/d/", "base_weights": f"s3://{MODELS}/models/w/none.pt"}),
            422,
            "dataset_not_found",
        ),
        (
            post(
                {
                    "dataset": f"s3://{DATA}/{DATASET_PREFIX}",
                    "base_weights": f"s3://{MODELS}/models/w/none.pt",
                }
            ),
            422,
            "weights_not_found",
        ),
        # A pickle in the data bucket is never loaded: only the stack's own model prefixes are trusted.
        (
            post({"dataset": f"s3://{DATA}/{DATASET_PREFIX}", "base_weights": f"s3://{DATA}/w/evil.pt"}),
            422,
            "validation_failed",
        ),
        (post({"dataset": f"s3://{MODELS}/{DATASET_PREFIX}"}), 422, "validation_failed"),
    ],
)
def test_refusals_are_4xx_json_and_launch_nothing(
    api: Api, event: dict, status: int, code: str | None
) -> None:
    got_status, error, _ = api.call(event)

    assert got_status == status
    assert error["error"] == (code or "validation_failed")
    assert error["message"]
    assert_nothing_launched(api)


def test_fine_tuning_from_existing_weights(api: Api) -> None:
    weights = f"s3://{MODELS}/training-output/{PREFIX}-20261101000000-abcdef/best.pt"
    api.s3.put_object(Bucket=MODELS, Key=weights.removeprefix(f"s3://{MODELS}/"), Body=b"weights")
    status, _, _ = api.call(post({"dataset": f"s3://{DATA}/{DATASET_PREFIX}", "base_weights": weights}))

    assert status == 202
    created = api.created[0]
    channels = {c["ChannelName"] for c in created["InputDataConfig"]}
    assert channels == {"training", "weights", "code"}
    # The entrypoint checks the origin again (defence in depth) from these two hyperparameters.
    assert json.loads(created["HyperParameters"]["weights-uri"]) == weights
    trusted = json.loads(created["HyperParameters"]["trusted-weights-prefixes"]).split(",")
    assert trusted == [f"s3://{MODELS}/models/", f"s3://{MODELS}/training-output/"]


def test_data_bucket_weights_are_refused_naming_the_allowed_prefixes(api: Api) -> None:
    api.s3.put_object(Bucket=DATA, Key="weights/base.pt", Body=b"pickle")  # it exists: still refused
    status, error, _ = api.call(load_event("train_post_untrusted_weights.json"))

    assert status == 422
    assert f"s3://{MODELS}/models/" in error["message"]
    assert f"s3://{MODELS}/training-output/" in error["message"]
    assert_nothing_launched(api)


def test_throttling_is_429_and_a_retry_launches(api: Api) -> None:
    api.fail_create("ThrottlingException", "Rate exceeded")
    status, error, headers = api.call(load_event("train_post.json"))

    assert status == 429
    assert error["error"] == "throttled"
    assert headers["Retry-After"] == ["5"]
    assert api.idempotency_records() == []  # the failed attempt is not remembered as an answer
    assert api.sagemaker.list_training_jobs()["TrainingJobSummaries"] == []

    api.heal()
    status, body, _ = api.call(load_event("train_post.json"))
    assert status == 202
    assert (
        api.sagemaker.list_training_jobs()["TrainingJobSummaries"][0]["TrainingJobName"] == body["job_name"]
    )


def test_resource_limit_exceeded_is_503_with_the_quota_named(api: Api) -> None:
    api.fail_create(
        "ResourceLimitExceeded",
        "The account-level service limit 'ml.g4dn.xlarge for spot training job usage' is 0 Instances",
    )
    status, error, headers = api.call(load_event("train_post.json"))

    assert status == 503
    assert error["error"] == "capacity_exhausted"
    assert "spot training job usage" in error["message"]
    assert headers["Retry-After"] == ["300"]
    assert api.idempotency_records() == []


def test_sagemaker_validation_errors_are_422_not_5xx(api: Api) -> None:
    api.fail_create("ValidationException", "Instance type ml.g5.xlarge is not supported in this region")
    status, error, _ = api.call(load_event("train_post.json"))

    assert status == 422
    assert "not supported in this region" in error["message"]


def test_get_reports_the_job(api: Api) -> None:
    _, launched, _ = api.call(load_event("train_post.json"))
    status, job, _ = api.call(get_job(launched["job_name"]))

    assert status == 200
    assert job["job_name"] == launched["job_name"]
    assert job["status"] == "Completed"  # moto completes jobs at once
    assert job["spot"] is True
    assert job["instance_type"] == "ml.g4dn.xlarge"
    assert (job["max_runtime_s"], job["max_wait_s"]) == (7200, 14400)
    assert job["dataset"] == f"s3://{DATA}/{DATASET_PREFIX}"
    assert job["epochs"] == 50
    assert (
        job["model_artifact"] == f"s3://{MODELS}/training-output/{launched['job_name']}/output/model.tar.gz"
    )
    assert job["checkpoints"] == f"s3://{CHECKPOINTS}/checkpoints/{launched['job_name']}/"
    assert isinstance(job["metrics"], dict)
    assert job["created_at"] is not None


def test_get_the_shipped_event_for_a_job_that_does_not_exist(api: Api) -> None:
    status, error, _ = api.call(load_event("train_get.json"))

    assert status == 404
    assert error["error"] == "job_not_found"


@pytest.mark.parametrize(("name", "status"), [("someone-elses-job-1", 404), ("bad_name!", 400)])
def test_get_refuses_other_stacks_jobs_and_bad_names(api: Api, name: str, status: int) -> None:
    api.sagemaker.create_training_job(  # exists in the account, but is not this stack's
        TrainingJobName="someone-elses-job-1",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://elsewhere/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )
    got, error, _ = api.call(get_job(name))
    assert got == status
    assert "someone-elses" not in json.dumps(error.get("details", []))


def test_list_shows_this_stacks_recent_jobs_newest_first(api: Api) -> None:
    names = []
    for epochs in (1, 2, 3):
        _, body, _ = api.call(post({"dataset": f"s3://{DATA}/{DATASET_PREFIX}", "epochs": epochs}))
        names.append(body["job_name"])
    api.sagemaker.create_training_job(
        TrainingJobName="other-stack-job",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://elsewhere/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )

    status, page, _ = api.call(list_jobs())
    assert status == 200
    listed = [j["job_name"] for j in page["jobs"]]
    assert sorted(listed) == sorted(names)
    assert all(j["status"] == "Completed" for j in page["jobs"])

    status, page, _ = api.call(load_event("train_list.json"))  # the shipped event: limit=10
    assert status == 200
    assert len(page["jobs"]) == 3

    _, page, _ = api.call(list_jobs(limit="1"))
    assert len(page["jobs"]) == 1


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"limit": "²"},
        {"limit": "١٠"},
        {"status": "Running"},
    ],
)
def test_list_refuses_bad_queries(api: Api, query: dict[str, str]) -> None:
    status, error, _ = api.call(list_jobs(**query))
    assert status == 400
    assert error["error"] == "invalid_request"


def test_a_repeat_while_the_first_is_still_launching_is_409(api: Api) -> None:
    event = load_event("train_post.json")
    nested: list[tuple[int, dict[str, Any], dict[str, list[str]]]] = []

    def repeat_during_create(**_: Any) -> None:  # the same request arrives while the first is in flight
        if not nested:
            nested.append(api.call(copy.deepcopy(event)))

    api.handler.sagemaker.meta.events.register_first(
        "before-call.sagemaker.CreateTrainingJob", repeat_during_create
    )
    try:
        status, first, _ = api.call(event)
    finally:
        api.handler.sagemaker.meta.events.unregister(
            "before-call.sagemaker.CreateTrainingJob", repeat_during_create
        )

    [(nested_status, nested_error, nested_headers)] = nested
    assert nested_status == 409
    assert nested_error["error"] == "request_in_progress"
    assert nested_headers["Retry-After"] == ["5"]
    assert status == 202
    assert len(api.created) == 1
    _, replay, _ = api.call(event)  # once finished, a repeat gets the first answer
    assert replay["job_name"] == first["job_name"]


def test_deeply_nested_json_is_a_400_json_answer(api: Api) -> None:
    # 100,000 '[' overflow json.loads' recursion: once a bare 502, now the edge's 400.
    status, error, _ = api.call(post(raw="[" * 100_000))

    assert status == 400
    assert error["error"] == "invalid_request"
    assert "nested too deeply" in error["message"]
    assert error["request_id"] and error["status"] == 400
    assert_nothing_launched(api)


def _unreachable(request: Any, **_: Any) -> None:
    raise EndpointConnectionError(endpoint_url=request.url)


@pytest.mark.parametrize("client", ["s3", "sagemaker"])
def test_an_unreachable_aws_endpoint_is_503_json_with_retry_after(api: Api, client: str) -> None:
    events = getattr(api.handler, client).meta.events
    events.register_first(f"before-send.{client}", _unreachable)
    try:
        status, error, headers = api.call(load_event("train_post.json"))
    finally:
        events.unregister(f"before-send.{client}", _unreachable)

    assert status == 503
    assert error["error"] == "upstream_unavailable"
    assert headers["Retry-After"] == ["5"]
    assert api.idempotency_records() == []  # nothing is remembered: a retry launches
    status, _, _ = api.call(load_event("train_post.json"))
    assert status == 202


def test_an_unreachable_idempotency_store_is_503_json(api: Api) -> None:
    dynamodb = api.handler.dynamodb
    dynamodb.meta.events.register_first("before-send.dynamodb", _unreachable)
    try:
        status, error, headers = api.call(load_event("train_post.json"))
    finally:
        dynamodb.meta.events.unregister("before-send.dynamodb", _unreachable)

    assert status == 503
    assert error["error"] == "upstream_unavailable"
    assert headers["Retry-After"] == ["5"]
    assert api.created == []
