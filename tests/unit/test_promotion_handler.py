"""Promotion through its Lambda handler: EventBridge and API Gateway events in, moto for AWS.

The artefacts are real tar.gz files laid out as the training entrypoint writes its model dir
(model.onnx, metrics.json in its format, best.pt); the promotion code never parses the ONNX
bytes, so they are opaque here.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib
import io
import json
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws
from moto.core.models import MockAWS

from devkit.template import StackTemplate

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-north-1"
MODELS = "invoice-yolo-dev-modelsbucket-1x2y3z4w5v6u"  # the bucket events/promote_*.json name
POINTER = "/invoice-yolo-dev/model-pointer"
LOCK_TABLE = "invoice-yolo-dev-ModelPointerLockTable-1A2B3C4D5E6F"
PREFIX = "invoice-yolo-dev"
USER = "arn:aws:sts::123456789012:assumed-role/ml-engineer/alice"  # the API events' IAM identity
ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "InvoiceYolo",
    "POWERTOOLS_SERVICE_NAME": "promote-model",
    "STAGE": "dev",
    "MODELS_BUCKET": MODELS,
    "MODEL_POINTER_PARAMETER": POINTER,
    "POINTER_LOCK_TABLE": LOCK_TABLE,
    "TRAINING_JOB_PREFIX": PREFIX,
    "PROMOTION_MIN_MAP50_95": "0.3",
    "PROMOTION_MAX_REGRESSION": "0.02",
    "PROMOTION_BAKED_IN_MAP50_95": "0",  # no baseline here; the baked-in baseline has its own test
    "CORS_ALLOW_ORIGIN": "*",
}


@functools.cache
def initial_pointer_value() -> str:
    """The parameter's initial value exactly as template.yaml declares it (one source)."""
    stack = StackTemplate.load(REPO / "template.yaml")
    return str(stack.resolve(stack.resources["ModelPointerParameter"]["Properties"]["Value"]))


def create_lock_table(dynamodb: Any) -> None:
    """The lock table with the key schema template.yaml declares (one source)."""
    props = StackTemplate.load(REPO / "template.yaml").resources["ModelPointerLockTable"]["Properties"]
    dynamodb.create_table(
        TableName=LOCK_TABLE,
        KeySchema=props["KeySchema"],
        AttributeDefinitions=props["AttributeDefinitions"],
        BillingMode=props["BillingMode"],
    )


def job_name(n: int) -> str:
    return f"{PREFIX}-2026112210{n:02d}00-a1b2c{n % 10}"


def tarball(
    map50_95: float | None,
    *,
    onnx: bytes = b"onnx-model-bytes" * 64,
    order: tuple[str, ...] = ("best.pt", "model.onnx", "metrics.json"),
    dot_prefix: bool = False,
    metrics_raw: bytes | None = None,
) -> bytes:
    """A model.tar.gz as SageMaker makes it from the entrypoint's model dir."""
    metrics = {"model_name": "invoice-fields", "epochs": 50, "epochs_completed": 50, "imgsz": 640}
    if map50_95 is not None:
        metrics |= {"mAP50-95": map50_95, "mAP50": min(1.0, map50_95 + 0.25), "precision": 0.8, "recall": 0.7}
        metrics["per_class"] = {"total_amount": {"mAP50-95": map50_95}}
    files = {
        "best.pt": b"torch-checkpoint" * 32,
        "model.onnx": onnx,
        "metrics.json": metrics_raw if metrics_raw is not None else json.dumps(metrics).encode(),
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name in order:
            info = tarfile.TarInfo(("./" if dot_prefix else "") + name)
            info.size = len(files[name])
            tar.addfile(info, io.BytesIO(files[name]))
    return out.getvalue()


def member(archive: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for info in tar:
            if info.name.removeprefix("./") == name:
                handle = tar.extractfile(info)
                assert handle is not None
                return handle.read()
    raise KeyError(name)


@dataclass
class Context:
    function_name: str = "invoice-yolo-dev-PromoteModelFunction"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:promote"
    aws_request_id: str = "0d7c9a4e-2182-454f-963f-5f0f9a621d72"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@dataclass
class World:
    handler: ModuleType
    s3: Any
    ssm: Any
    sagemaker: Any
    dynamodb: Any
    load_event: Callable[[str], dict[str, Any]]
    capsys: pytest.CaptureFixture[str]

    # -- calling the function

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.handler.lambda_handler(event, Context())

    def api(self, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        response = self.handler.lambda_handler(event, Context())
        return response["statusCode"], json.loads(response["body"])

    # -- fixtures of AWS state

    def finished_job(self, n: int, archive: bytes, *, with_artifacts: bool = True) -> dict[str, Any]:
        """Upload the job's model.tar.gz where SageMaker writes it; return its state-change event."""
        name = job_name(n)
        key = f"training-output/{name}/output/model.tar.gz"
        self.s3.put_object(Bucket=MODELS, Key=key, Body=archive)
        event = self.load_event("promote_training_completed")
        detail = event["detail"]
        detail["TrainingJobName"] = name
        detail["TrainingJobArn"] = f"arn:aws:sagemaker:{REGION}:123456789012:training-job/{name}"
        detail["ModelArtifacts"] = {"S3ModelArtifacts": f"s3://{MODELS}/{key}"}
        if not with_artifacts:
            del detail["ModelArtifacts"]
        return event

    def create_job(self, n: int) -> None:
        """A Completed job in (moto's) SageMaker whose artefact sits under training-output/."""
        event = self.load_event("promote_training_completed")["detail"]
        self.sagemaker.create_training_job(
            TrainingJobName=job_name(n),
            AlgorithmSpecification=event["AlgorithmSpecification"],
            RoleArn=event["RoleArn"],
            InputDataConfig=event["InputDataConfig"],
            OutputDataConfig={"S3OutputPath": f"s3://{MODELS}/training-output/"},
            ResourceConfig=event["ResourceConfig"],
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
        )

    def pointer(self) -> tuple[int, dict[str, Any]]:
        parameter = self.ssm.get_parameter(Name=POINTER)["Parameter"]
        return parameter["Version"], json.loads(parameter["Value"])

    def published(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=MODELS, Prefix="models/").get("Contents", [])
        return sorted(o["Key"] for o in listed)

    def metric_names(self) -> list[str]:
        """Names of the metrics Powertools flushed (EMF lines on stdout) since the last call."""
        names = []
        for line in self.capsys.readouterr().out.splitlines():
            if line.startswith("{") and '"_aws"' in line:
                emf = json.loads(line)
                names += [m["Name"] for d in emf["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
        return names

    def promote_event(self, version: str, body: dict[str, Any] | str | None = None) -> dict[str, Any]:
        event = self.load_event("promote_version")
        event["path"] = f"/models/{version}/promote"
        event["pathParameters"] = {"version": version}
        event["body"] = body if isinstance(body, str) or body is None else json.dumps(body)
        return event


@pytest.fixture(scope="module")
def aws_and_handler() -> Iterator[tuple[MockAWS, ModuleType]]:
    """moto and the handler module, once per module (importing it builds its clients)."""
    with pytest.MonkeyPatch.context() as env:
        for key, value in ENV.items():
            env.setenv(key, value)
        with mock_aws() as aws:
            for name in [m for m in sys.modules if m == "promotion" or m.startswith("promotion.")]:
                del sys.modules[name]
            yield aws, importlib.import_module("promotion.handler")
    for name in [m for m in sys.modules if m == "promotion" or m.startswith("promotion.")]:
        del sys.modules[name]


@pytest.fixture
def world(
    aws_and_handler: tuple[MockAWS, ModuleType],
    api_event: Callable[[str], dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> World:
    """Empty AWS for each test: the models bucket and the pointer at its template value."""
    aws, handler = aws_and_handler
    aws.reset()
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=MODELS, CreateBucketConfiguration={"LocationConstraint": REGION})
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name=POINTER, Value=initial_pointer_value(), Type="String")
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    create_lock_table(dynamodb)
    return World(handler, s3, ssm, boto3.client("sagemaker", region_name=REGION), dynamodb, api_event, capsys)


def fail_call(client: Any, operation: str) -> Callable[[], None]:
    """Make one AWS operation answer 403 (as AWS can; moto never does); returns the undo."""

    def respond(**_: Any) -> tuple[Any, dict[str, Any]]:
        http = type("Http", (), {"status_code": 403, "headers": {}, "content": b""})()
        return http, {"Error": {"Code": "AccessDenied", "Message": "injected"}, "ResponseMetadata": {}}

    event_name = f"before-call.{client.meta.service_model.endpoint_prefix}.{operation}"
    client.meta.events.register_first(event_name, respond)
    return lambda: client.meta.events.unregister(event_name, respond)


def unreachable(client: Any, operation: str) -> Callable[[], None]:
    """Make one AWS operation fail as an unreachable endpoint does (no socket is opened)."""

    def refuse(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    event_name = f"before-call.{client.meta.service_model.endpoint_prefix}.{operation}"
    client.meta.events.register_first(event_name, refuse)
    return lambda: client.meta.events.unregister(event_name, refuse)


# ----------------------------------------------------------------------------- EventBridge


def test_a_job_that_passes_the_gate_is_published_then_pointed_at(world: World) -> None:
    archive = tarball(0.52)
    outcome = world.deliver(world.finished_job(1, archive))

    assert outcome["outcome"] == "promoted"
    version, pointer = world.pointer()
    assert version == 2  # one PutParameter after the template's value
    onnx = member(archive, "model.onnx")
    assert pointer["version"] == pointer["job_name"] == job_name(1)
    assert pointer["model_uri"] == f"s3://{MODELS}/models/{job_name(1)}/model.onnx"
    assert pointer["sha256"] == hashlib.sha256(onnx).hexdigest()
    assert pointer["metrics"] == {"mAP50-95": 0.52, "mAP50": 0.77, "precision": 0.8, "recall": 0.7}
    assert pointer["action"] == "gate" and pointer["actor"] == "eventbridge"
    assert pointer["previous"] == {"version": None, "model_uri": None, "metrics": None}  # the baked-in model
    stored = world.s3.get_object(Bucket=MODELS, Key=f"models/{job_name(1)}/model.onnx")["Body"].read()
    assert stored == onnx
    metrics_obj = world.s3.get_object(Bucket=MODELS, Key=f"models/{job_name(1)}/metrics.json")
    assert metrics_obj["Body"].read() == member(archive, "metrics.json")  # published unchanged
    assert metrics_obj["Metadata"]["model-sha256"] == pointer["sha256"]
    assert "ModelPromoted" in world.metric_names()


def test_a_model_below_the_threshold_is_rejected_counted_and_nothing_changes(world: World) -> None:
    before = world.pointer()
    outcome = world.deliver(world.finished_job(1, tarball(0.21)))

    assert outcome["outcome"] == "rejected"
    assert outcome["gate"]["reasons"] == ["mAP50-95 0.2100 is below the minimum 0.3000"]
    assert world.pointer() == before
    assert world.published() == []
    assert world.metric_names() == ["ModelRejected"]


def test_a_regression_beyond_the_margin_is_rejected_against_the_current_model(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.60)))
    worse = world.deliver(world.finished_job(2, tarball(0.57)))
    close = world.deliver(world.finished_job(3, tarball(0.59)))

    assert worse["outcome"] == "rejected"
    assert "worse than the current model's 0.6000" in worse["gate"]["reasons"][0]
    assert close["outcome"] == "promoted"
    _, pointer = world.pointer()
    assert pointer["version"] == job_name(3)
    assert pointer["previous"]["version"] == job_name(1)
    assert pointer["previous"]["metrics"]["mAP50-95"] == 0.60
    assert not any(job_name(2) in key for key in world.published())


def test_while_the_baked_in_model_serves_it_is_the_baseline(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh stack must not trade its shipped model for a worse one: the pointer carries no
    metrics for the baked-in model, so the template's PromotionBakedInMap5095 stands in."""
    promoter = world.handler.promoter
    monkeypatch.setattr(
        promoter, "_settings", promoter._settings.model_copy(update={"baked_in_map50_95": 0.6})
    )
    before = world.pointer()

    worse = world.deliver(world.finished_job(1, tarball(0.55)))
    close = world.deliver(world.finished_job(2, tarball(0.59)))
    after_promotion = world.deliver(world.finished_job(3, tarball(0.575)))

    assert worse["outcome"] == "rejected"
    assert worse["gate"]["reasons"] == [
        "mAP50-95 0.5500 is worse than the current model's 0.6000 by more than the allowed 0.0200"
    ]
    assert worse["gate"]["current_map50_95"] == 0.6
    assert close["outcome"] == "promoted"
    assert before != world.pointer()
    # Once a promoted model serves, its own metrics are the baseline (0.59 - 0.02 = 0.57).
    assert after_promotion["outcome"] == "promoted"


def test_the_template_baseline_is_the_shipped_model_metrics() -> None:
    shipped = json.loads((REPO / "models" / "demo" / "metrics.json").read_text())
    default = StackTemplate.load(REPO / "template.yaml").template["Parameters"]["PromotionBakedInMap5095"][
        "Default"
    ]
    assert float(default) == round(shipped["mAP50-95"], 4)


def test_a_replayed_event_never_promotes_an_older_model_again(world: World) -> None:
    first = world.finished_job(1, tarball(0.50))
    world.deliver(first)
    world.deliver(world.finished_job(2, tarball(0.55)))

    replay = world.deliver(first)

    assert replay["outcome"] == "already_promoted"
    assert world.pointer()[1]["version"] == job_name(2)
    assert "PromotionReplayed" in world.metric_names()


def test_the_archive_may_list_metrics_last_with_dot_paths_and_a_multipart_sized_model(world: World) -> None:
    big = bytes(range(256)) * (9 * 1024 * 4)  # 9 MiB: above boto3's multipart threshold
    archive = tarball(0.4, onnx=big, order=("model.onnx", "best.pt", "metrics.json"), dot_prefix=True)

    assert world.deliver(world.finished_job(1, archive))["outcome"] == "promoted"

    stored = world.s3.get_object(Bucket=MODELS, Key=f"models/{job_name(1)}/model.onnx")["Body"].read()
    assert stored == big
    assert world.pointer()[1]["sha256"] == hashlib.sha256(big).hexdigest()


@pytest.mark.parametrize(
    ("archive", "reason"),
    [
        (tarball(0.5, order=("best.pt", "metrics.json")), "has no model.onnx"),
        (tarball(0.5, order=("best.pt", "model.onnx")), "has no metrics.json"),
        (tarball(0.5, onnx=b""), "model.onnx in s3://"),
        (tarball(None), "metrics.json is not usable"),
        (tarball(0.5, metrics_raw=b"{not json"), "metrics.json is not JSON"),
        (b"this is not a gzip file", "is not a readable tar.gz"),
    ],
    ids=["no-model", "no-metrics", "empty-model", "no-map", "bad-json", "not-gzip"],
)
def test_a_broken_artefact_fails_permanently_and_changes_nothing(
    world: World, archive: bytes, reason: str
) -> None:
    before = world.pointer()
    outcome = world.deliver(world.finished_job(1, archive))

    assert outcome["outcome"] == "failed"
    assert reason in outcome["reason"]
    assert world.pointer() == before
    assert world.published() == []
    assert world.metric_names() == ["PromotionFailed"]


def test_an_artefact_outside_this_stacks_training_output_is_never_read(world: World) -> None:
    event = world.finished_job(1, tarball(0.9))
    event["detail"]["ModelArtifacts"]["S3ModelArtifacts"] = "s3://someone-elses-bucket/model.tar.gz"

    outcome = world.deliver(event)

    assert outcome["outcome"] == "failed"
    assert "outside this stack's training output" in outcome["reason"]
    assert world.published() == []


def test_an_event_without_model_artifacts_asks_sagemaker(world: World) -> None:
    world.create_job(1)
    event = world.finished_job(1, tarball(0.45), with_artifacts=False)

    assert world.deliver(event)["outcome"] == "promoted"
    assert world.pointer()[1]["version"] == job_name(1)


@pytest.mark.parametrize(
    "change",
    [{"TrainingJobStatus": "Failed"}, {"TrainingJobName": "other-stack-20261122100000-abcdef"}],
    ids=["failed-job", "other-stack"],
)
def test_jobs_that_did_not_complete_or_are_not_ours_are_ignored(world: World, change: dict[str, str]) -> None:
    event = world.finished_job(1, tarball(0.9))
    event["detail"].update(change)

    assert world.deliver(event)["outcome"] == "ignored"
    assert world.published() == []
    assert world.pointer()[0] == 1


def test_a_malformed_event_is_counted_as_failed(world: World) -> None:
    event = world.finished_job(1, tarball(0.9))
    del event["detail"]["TrainingJobName"]

    assert world.deliver(event)["outcome"] == "failed"
    assert world.metric_names() == ["PromotionFailed"]


@pytest.mark.parametrize(
    ("client", "operation"), [("s3", "PutObject"), ("ssm", "PutParameter")], ids=["metrics-copy", "pointer"]
)
def test_an_aws_failure_propagates_for_a_retry_and_the_served_model_stays(
    world: World, client: str, operation: str
) -> None:
    world.deliver(world.finished_job(1, tarball(0.5)))
    before = world.pointer()
    undo = fail_call(getattr(world.handler, client), operation)
    try:
        with pytest.raises(Exception, match="AccessDenied"):
            world.deliver(world.finished_job(2, tarball(0.6)))
    finally:
        undo()

    assert world.pointer() == before
    copied = [key.rsplit("/", 1)[1] for key in world.published() if job_name(2) in key]
    assert copied == ([] if client == "s3" else ["metrics.json", "model.onnx"])  # not served either way
    assert "PromotionFailed" in world.metric_names()
    # The retry Lambda makes afterwards succeeds: nothing was left half-applied in its way.
    assert world.deliver(world.finished_job(2, tarball(0.6)))["outcome"] == "promoted"


# ----------------------------------------------------------------------------- API


def test_get_models_lists_versions_newest_first_with_metrics_and_history(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))

    status, body = world.api(world.load_event("promote_list"))

    assert status == 200
    assert [v["version"] for v in body["versions"]] == [job_name(2), job_name(1)]
    assert [v["current"] for v in body["versions"]] == [True, False]
    assert body["versions"][1]["metrics"] == {
        "mAP50-95": 0.5,
        "mAP50": 0.75,
        "precision": 0.8,
        "recall": 0.7,
        "epochs": 50,
        "epochs_completed": 50,
        "imgsz": 640,
    }
    assert body["current"]["version"] == job_name(2) and body["current"]["parameter_version"] == 3
    assert body["baked_in"] is False
    assert [(h["parameter_version"], h["version"], h["action"]) for h in body["history"]] == [
        (3, job_name(2), "gate"),
        (2, job_name(1), "gate"),
        (1, None, "initial"),
    ]


def test_promote_a_published_version_records_who_and_why(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))

    status, body = world.api(world.promote_event(job_name(1), {"reason": "scanned invoices regressed"}))

    assert status == 200 and body["changed"] is True
    _, pointer = world.pointer()
    assert pointer == body["current"]
    assert pointer["version"] == job_name(1) and pointer["action"] == "promote"
    assert pointer["actor"] == USER and pointer["reason"] == "scanned invoices regressed"
    assert pointer["previous"]["version"] == job_name(2)
    assert pointer["sha256"] == hashlib.sha256(member(tarball(0.50), "model.onnx")).hexdigest()
    assert "ModelPromotedManually" in world.metric_names()


def test_promote_a_finished_job_the_gate_rejected_copies_it_first(world: World) -> None:
    world.create_job(4)
    rejected = world.deliver(world.finished_job(4, tarball(0.1)))
    assert rejected["outcome"] == "rejected"

    status, body = world.api(world.promote_event(job_name(4)))

    assert status == 200
    assert body["current"]["version"] == job_name(4) and body["current"]["metrics"]["mAP50-95"] == 0.1
    assert f"models/{job_name(4)}/model.onnx" in world.published()


def test_promoting_the_current_version_changes_nothing(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    before = world.pointer()

    status, body = world.api(world.promote_event(job_name(1)))

    assert (status, body["changed"]) == (200, False)
    assert world.pointer() == before


@pytest.mark.parametrize(
    ("version", "body", "status", "code"),
    [
        (job_name(9), None, 404, "version_not_found"),
        ("other-stack-20261122100000-abcdef", None, 404, "version_not_found"),
        (job_name(1), "{not json", 400, "invalid_request"),
        (job_name(1), {"reason": "x", "force": True}, 422, "validation_failed"),
        (job_name(1), {"reason": ""}, 422, "validation_failed"),
    ],
    ids=["unknown", "other-stack", "bad-json", "unknown-key", "empty-reason"],
)
def test_promote_refusals(
    world: World, version: str, body: dict[str, Any] | str | None, status: int, code: str
) -> None:
    world.deliver(world.finished_job(1, tarball(0.5)))
    before = world.pointer()

    got_status, got = world.api(world.promote_event(version, body))

    assert (got_status, got["error"]) == (status, code)
    assert got["message"]
    assert world.pointer() == before


def test_a_malformed_version_is_a_400(world: World) -> None:
    status, body = world.api(world.load_event("promote_version_invalid"))

    assert (status, body["error"]) == (400, "invalid_request")
    assert "bad_name!" in body["message"]


def test_rollback_walks_back_one_version_at_a_time_to_the_baked_in_model(world: World) -> None:
    for n, value in ((1, 0.50), (2, 0.55), (3, 0.60)):
        world.deliver(world.finished_job(n, tarball(value)))
    rollback = world.load_event("promote_rollback")

    steps = []
    for _ in range(3):
        status, body = world.api(copy.deepcopy(rollback))
        assert status == 200
        steps.append((body["current"]["version"], (body["current"]["previous"] or {}).get("version")))

    assert steps == [(job_name(2), job_name(1)), (job_name(1), None), (None, None)]
    _, pointer = world.pointer()
    assert pointer["model_uri"] is None and pointer["previous"] is None  # the baked-in model again
    assert pointer["action"] == "rollback" and pointer["actor"] == USER
    status, body = world.api(copy.deepcopy(rollback))
    assert (status, body["error"]) == (409, "nothing_to_roll_back")
    assert "ModelRolledBack" in world.metric_names()


def test_rollback_restores_the_exact_pointer_of_the_previous_version(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))
    _, first = world.pointer()
    world.api(world.promote_event(job_name(1)))  # 1 again, then back to 2

    status, body = world.api(world.load_event("promote_rollback"))

    assert status == 200
    restored = body["current"]
    assert restored["version"] == job_name(2)
    assert restored["model_uri"] == first["model_uri"] and restored["sha256"] == first["sha256"]
    assert restored["previous"]["version"] == job_name(1)
    assert body["rolled_back_from"]["version"] == job_name(1)


def test_rollback_refuses_when_the_previous_model_is_gone(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))
    world.s3.delete_object(Bucket=MODELS, Key=f"models/{job_name(1)}/model.onnx")
    before = world.pointer()

    status, body = world.api(world.load_event("promote_rollback"))

    assert (status, body["error"]) == (409, "previous_model_missing")
    assert world.pointer() == before


def test_list_limit_must_be_a_small_positive_integer(world: World) -> None:
    for bad in ("abc", "0", "101"):
        event = world.load_event("promote_list")
        event["queryStringParameters"] = {"limit": bad}
        event["multiValueQueryStringParameters"] = {"limit": [bad]}
        status, body = world.api(event)
        assert (status, body["error"]) == (400, "invalid_request"), bad


def test_a_missing_or_unreadable_pointer_counts_as_the_baked_in_model(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.ssm.put_parameter(Name=POINTER, Value="not json", Type="String", Overwrite=True)
    assert world.deliver(world.finished_job(1, tarball(0.5)))["outcome"] == "promoted"
    assert world.pointer()[1]["previous"] == {"version": None, "model_uri": None, "metrics": None}
    assert "is not a model pointer; treating it as the baked-in model" in caplog.text

    world.ssm.delete_parameter(Name=POINTER)
    status, body = world.api(world.load_event("promote_list"))
    assert status == 200 and body["baked_in"] is True and body["history"] == []


def test_the_largest_pointer_document_fits_a_standard_parameter() -> None:
    from promotion.schemas import ModelMetrics, ModelPointer, ModelRef  # noqa: PLC0415

    metrics = ModelMetrics.model_validate(
        {"mAP50-95": 0.123456789, "mAP50": 0.123456789, "precision": 0.123456789, "recall": 0.123456789}
    )
    version = "x" * 63  # SageMaker's longest job name
    uri = f"s3://{'b' * 63}/models/{version}/model.onnx"
    pointer = ModelPointer(
        version=version,
        model_uri=uri,
        job_name=version,
        metrics=metrics,
        sha256="f" * 64,
        action="rollback",
        actor="arn:aws:sts::123456789012:assumed-role/" + "r" * 64 + "/" + "s" * 64,
        reason="w" * 200,
        previous=ModelRef(version=version, model_uri=uri, metrics=metrics),
    )

    assert len(pointer.to_parameter().encode()) < 4096 // 2
