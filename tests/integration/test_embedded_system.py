"""The application on the embedded stand-ins: moto's server built from template.yaml, the local
API's routes with the functions' own handlers, the local SageMaker training backend, EventBridge
delivery to the promotion function. Everything on loopback; no AWS account, no Docker.

One stand-in per module. The SageMaker contract is checked with a small probe program (a real
training program by the contract's rules: reads its channel, writes model/, prints a metric
line, honours SIGTERM), the whole loop with one tiny real training through `POST /train`.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devkit.local_api import LocalApi
from devkit.local_training import LocalTraining
from devkit.stand_in import StandIn

pytestmark = pytest.mark.integration

GATE = "0.5"  # a realistic gate: a one-epoch model from eight pages cannot pass it
JOB_PREFIX = "invoice-yolo-dev"  # TrainingJobPrefix-Stage with the template's defaults
IMAGE = "763104351884.dkr.ecr.eu-north-1.amazonaws.com/pytorch-training:2.10.0-gpu-py313"  # never pulled

PROBE = r'''
"""A training program that records what the platform gave it (the SageMaker contract)."""
import json, os, pathlib, signal, sys, time

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
model = pathlib.Path(os.environ["SM_MODEL_DIR"])
channel = pathlib.Path(os.environ["SM_CHANNEL_TRAINING"])
checkpoints = pathlib.Path(os.environ["YOLO_TRAIN_OPT_ML"]) / "checkpoints"
record = {
    "argv": sys.argv[1:],
    "cwd": os.getcwd(),
    "env": {k: v for k, v in os.environ.items() if k.startswith(("SM_", "TRAINING_JOB", "AWS_"))},
    "channel": sorted(p.relative_to(channel).as_posix() for p in channel.rglob("*") if p.is_file()),
    "hyperparameters": json.loads(
        pathlib.Path(os.environ["SM_INPUT_CONFIG_DIR"], "hyperparameters.json").read_text()
    ),
    "checkpoints": sorted(p.name for p in checkpoints.iterdir()),
}
(model / "probe.json").write_text(json.dumps(record))
(checkpoints / "epoch1.pt").write_text("checkpoint")
print("probe score=0.75", flush=True)
if args["--mode"] == "fail":
    pathlib.Path(os.environ["SM_OUTPUT_DIR"], "failure").write_text("probe: the data is bad\n")
    sys.exit(2)
if args["--mode"] == "sleep":
    def stop(*_):
        (model / "stopped.txt").write_text("stopped")
        sys.exit(143)
    signal.signal(signal.SIGTERM, stop)
    print("probe sleeping", flush=True)
    time.sleep(300)
'''


@dataclass
class System:
    aws: StandIn
    training: LocalTraining
    api: LocalApi
    s3: Any
    sagemaker: Any

    @property
    def data(self) -> str:
        return self.aws.name("DataBucket")

    @property
    def models(self) -> str:
        return self.aws.name("ModelsBucket")

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        payload = json.dumps(body).encode() if body is not None else b""
        headers = [("Content-Type", "application/json")] if body is not None else []
        status, _, out = self.api.dispatch(method, path, headers, payload)
        return status, json.loads(out)

    def upload(self, root: Path, prefix: str) -> str:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                self.s3.upload_file(str(path), self.data, prefix + path.relative_to(root).as_posix())
        return f"s3://{self.data}/{prefix}"

    def watch(self, job: str, timeout_s: float = 300) -> tuple[list[tuple[str, str]], dict[str, Any]]:
        """Poll `GET /train/{job}` until the job ends: the (status, secondary) pairs seen, the last answer."""
        seen: list[tuple[str, str]] = []
        deadline = time.monotonic() + timeout_s
        while True:
            status, body = self.call("GET", f"/train/{job}")
            assert status == 200, body
            if not seen or seen[-1] != (body["status"], body["secondary_status"]):
                seen.append((body["status"], body["secondary_status"]))
            if body["status"] not in {"InProgress", "Stopping"}:
                self.training.wait(job, timeout_s=60)  # and its last event has been delivered
                return seen, body
            assert time.monotonic() < deadline, f"{job} still {body['status']} after {timeout_s} s"
            time.sleep(0.5)

    def wait_for_log(self, job: str, text: str, timeout_s: float = 60) -> None:
        log = self.training.log_path(job)
        deadline = time.monotonic() + timeout_s
        while not (log.is_file() and text in log.read_text(encoding="utf-8")):
            assert time.monotonic() < deadline, f"{job}: no {text!r} in its log after {timeout_s} s"
            time.sleep(0.2)

    def archive(self, uri: str) -> dict[str, bytes]:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        data = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]

    def pointer(self) -> tuple[int, dict[str, Any]]:
        parameter = self.aws.client("ssm").get_parameter(Name=self.aws.name("ModelPointerParameter"))[
            "Parameter"
        ]
        return parameter["Version"], json.loads(parameter["Value"])

    def deliveries(self, job: str) -> list[tuple[str, list[Any]]]:
        """(status in the event, what each matching rule did) for the job's state-change events."""
        return [
            (event["detail"]["TrainingJobStatus"], result)
            for event, result in self.training.deliveries
            if event["detail"]["TrainingJobName"] == job
        ]

    def probe_job(self, name: str, mode: str, **overrides: Any) -> str:
        """Create a job running PROBE, straight through SageMaker's API (as any client would)."""
        bundle = io.BytesIO()
        with tarfile.open(fileobj=bundle, mode="w:gz") as tar:
            info = tarfile.TarInfo("train.py")
            info.size = len(PROBE.encode())
            tar.addfile(info, io.BytesIO(PROBE.encode()))
        self.s3.put_object(Bucket=self.models, Key="code/probe/sourcedir.tar.gz", Body=bundle.getvalue())
        request: dict[str, Any] = {
            "TrainingJobName": name,
            "AlgorithmSpecification": {
                "TrainingImage": IMAGE,
                "TrainingInputMode": "FastFile",
                "MetricDefinitions": [{"Name": "probe:score", "Regex": r"score=([0-9.]+)"}],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/probe",
            "HyperParameters": {
                "mode": json.dumps(mode),
                "lr0": "0.002",
                "sagemaker_program": json.dumps("train.py"),
                "sagemaker_submit_directory": json.dumps(f"s3://{self.models}/code/probe/sourcedir.tar.gz"),
            },
            "InputDataConfig": [
                {
                    "ChannelName": "training",
                    "DataSource": {
                        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{self.data}/probe/"}
                    },
                }
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{self.models}/training-output/"},
            "ResourceConfig": {"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            "CheckpointConfig": {
                "S3Uri": f"s3://{self.aws.name('CheckpointsBucket')}/checkpoints/{name}/",
                "LocalPath": "/opt/ml/checkpoints",
            },
        } | overrides
        self.sagemaker.create_training_job(**request)
        return name


@pytest.fixture(scope="module")
def system() -> Iterator[System]:
    with (
        StandIn(parameters={"PromotionMinMap5095": GATE}) as aws,
        LocalTraining(aws, stop_grace_s=5) as training,
    ):
        s3 = aws.client("s3")
        s3.put_object(Bucket=aws.name("DataBucket"), Key="probe/labels/a.txt", Body=b"0 0.5 0.5 0.1 0.1\n")
        s3.put_object(Bucket=aws.name("DataBucket"), Key="probe/images/a.jpg", Body=b"jpeg")
        yield System(aws, training, aws.local_api(), s3, aws.client("sagemaker"))


# ----------------------------------------------------------------------------- the stand-in


def test_the_stand_in_holds_what_the_template_declares(system: System) -> None:
    aws = system.aws
    declared_buckets = aws.stack.of_type("AWS::S3::Bucket")
    buckets = {b["Name"] for b in system.s3.list_buckets()["Buckets"]}
    assert {aws.name(b) for b in declared_buckets} <= buckets
    assert system.s3.get_bucket_versioning(Bucket=system.models)["Status"] == "Enabled"
    table = aws.client("dynamodb").describe_table(TableName=aws.name("IdempotencyTable"))["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    declared = aws.stack.resources["ModelPointerParameter"]["Properties"]
    version, value = system.pointer()
    assert (version, value) == (1, json.loads(declared["Value"]))

    env = aws.function_environment("PromoteModelFunction")
    assert env["MODELS_BUCKET"] == system.models
    assert env["MODEL_POINTER_PARAMETER"] == f"/{aws.stack.context.stack_name}/model-pointer"
    assert env["PROMOTION_MIN_MAP50_95"] == GATE
    assert env["TRAINING_JOB_PREFIX"] == JOB_PREFIX
    assert env["AWS_ENDPOINT_URL"] == aws.endpoint_url and aws.endpoint_url.startswith("http://127.0.0.1:")
    trigger = aws.function_environment("TriggerTrainingFunction")
    assert trigger["TRAINING_IMAGE_URI"].startswith("763104351884.dkr.ecr.eu-north-1.amazonaws.com/")
    assert trigger["SAGEMAKER_ROLE_ARN"].startswith("arn:aws:iam::123456789012:role/")
    routes = {(r.method, r.path, r.function_id) for r in system.api.routes}
    assert ("POST", "/models/{version}/promote", "PromoteModelFunction") in routes
    assert ("POST", "/train", "TriggerTrainingFunction") in routes


# ----------------------------------------------------------------------------- SageMaker contract


def test_a_job_runs_with_sagemakers_directory_contract(system: System) -> None:
    checkpoint_bucket = system.aws.name("CheckpointsBucket")
    name = f"{JOB_PREFIX}-20261122000001-c0ffee"
    system.s3.put_object(Bucket=checkpoint_bucket, Key=f"checkpoints/{name}/last.pt", Body=b"earlier run")
    system.probe_job(name, "ok")

    seen, job = system.watch(name)

    assert seen[-1] == ("Completed", "Completed")
    described = system.sagemaker.describe_training_job(TrainingJobName=name)
    assert described["FinalMetricDataList"][0]["MetricName"] == "probe:score"  # the job's own regexes
    assert described["FinalMetricDataList"][0]["Value"] == 0.75
    assert described["ModelArtifacts"]["S3ModelArtifacts"] == (
        f"s3://{system.models}/training-output/{name}/output/model.tar.gz"
    )
    record = json.loads(system.archive(described["ModelArtifacts"]["S3ModelArtifacts"])["probe.json"])
    assert record["argv"] == ["--mode", "ok", "--lr0", "0.002"]  # sagemaker_* keys are the platform's
    assert record["hyperparameters"]["mode"] == '"ok"'  # hyperparameters.json as SageMaker writes it
    assert record["channel"] == ["images/a.jpg", "labels/a.txt"]
    assert record["checkpoints"] == ["last.pt"]  # restored before the start, as after a Spot restart
    assert record["cwd"].endswith("/code")
    assert json.loads(record["env"]["SM_CHANNELS"]) == ["training"]
    assert record["env"]["TRAINING_JOB_NAME"] == name
    assert not [k for k in record["env"] if k.startswith("AWS_")]  # no stand-in, no credentials inside
    synced = system.s3.list_objects_v2(Bucket=checkpoint_bucket, Prefix=f"checkpoints/{name}/")["Contents"]
    assert {o["Key"].rsplit("/", 1)[1] for o in synced} == {"last.pt", "epoch1.pt"}
    assert job["training_seconds"] >= 1
    # Its Completed event reached the promotion function, which counted a model it cannot use.
    [(_, completed)] = [d for d in system.deliveries(name) if d[0] == "Completed"]
    [delivery] = completed
    assert delivery.target == "PromoteModelFunction"
    assert delivery.result["outcome"] == "failed" and "has no metrics.json" in delivery.result["reason"]
    assert system.pointer()[0] == 1


def test_a_failing_program_ends_failed_with_its_failure_file(system: System) -> None:
    name = system.probe_job(f"{JOB_PREFIX}-20261122000002-badbad", "fail")

    _, job = system.watch(name)

    assert (job["status"], job["failure_reason"]) == ("Failed", "AlgorithmError: probe: the data is bad")
    deliveries = system.deliveries(name)
    assert [status for status, _ in deliveries] == ["InProgress", "Failed"]
    [failed_rule] = deliveries[-1][1]
    assert (failed_rule.rule, failed_rule.target) == ("FailedTrainingJobRule", None)  # SNS: not local


def test_stop_training_job_sends_sigterm_and_keeps_what_the_program_saved(system: System) -> None:
    name = system.probe_job(f"{JOB_PREFIX}-20261122000003-5709ed", "sleep")
    system.wait_for_log(name, "probe sleeping")
    assert system.sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress"

    system.sagemaker.stop_training_job(TrainingJobName=name)

    assert system.training.wait(name, timeout_s=60) == "Stopped"
    described = system.sagemaker.describe_training_job(TrainingJobName=name)
    assert described["SecondaryStatus"] == "Stopped"
    assert system.archive(described["ModelArtifacts"]["S3ModelArtifacts"])["stopped.txt"] == b"stopped"
    with pytest.raises(ClientError, match="in status Stopped"):
        system.sagemaker.stop_training_job(TrainingJobName=name)


def test_max_runtime_stops_the_job(system: System) -> None:
    name = system.probe_job(
        f"{JOB_PREFIX}-20261122000004-71e0ff", "sleep", StoppingCondition={"MaxRuntimeInSeconds": 3}
    )

    assert system.training.wait(name, timeout_s=60) == "Stopped"
    assert (
        system.sagemaker.describe_training_job(TrainingJobName=name)["SecondaryStatus"]
        == "MaxRuntimeExceeded"
    )


# ----------------------------------------------------------------------------- the whole loop


def test_the_real_entrypoint_reports_a_broken_dataset_as_the_failure_reason(
    system: System, tmp_path: Path
) -> None:
    (tmp_path / "data.yaml").write_text("train: images/train\nval: images/val\nnames:\n  0: total_amount\n")
    dataset = system.upload(tmp_path, "datasets/broken/")

    status, body = system.call(
        "POST", "/train", {"dataset": dataset, "epochs": 1, "imgsz": 160, "spot": False}
    )
    assert status == 202, body
    _, job = system.watch(body["job_name"])

    assert job["status"] == "Failed"
    assert job["failure_reason"].startswith("AlgorithmError: ")
    assert "images/train" in job["failure_reason"]
    assert system.pointer()[0] == 1


@pytest.mark.slow
def test_train_gate_promote_rollback_through_the_api(system: System, tiny_dataset_template: Path) -> None:
    dataset = system.upload(tiny_dataset_template, "datasets/tiny/")
    status, body = system.call(
        "POST", "/train", {"dataset": dataset, "epochs": 1, "imgsz": 160, "batch": 8, "spot": False}
    )
    assert status == 202, body
    job_name = body["job_name"]

    # The job runs for real: InProgress with SageMaker's secondary states while the subprocess trains.
    seen, job = system.watch(job_name)
    assert ("InProgress", "Training") in seen
    assert seen[-1] == ("Completed", "Completed")
    files = system.archive(job["model_artifact"])
    assert {"model.onnx", "metrics.json", "best.pt"} <= set(files)
    metrics = json.loads(files["metrics.json"])
    assert metrics["version"] == job_name  # the entrypoint named the model after its job
    assert job["metrics"]["final:mAP50-95"] == pytest.approx(metrics["mAP50-95"], abs=1e-4)

    # The Completed event reached the promotion function; the gate refused the one-epoch model.
    [(_, in_progress), (_, completed)] = system.deliveries(job_name)
    assert in_progress == []
    [delivery] = completed
    assert delivery.target == "PromoteModelFunction" and delivery.error is None
    assert delivery.result["outcome"] == "rejected"
    assert delivery.result["gate"]["min_map50_95"] == float(GATE)
    # ...and, with no promoted model yet, it was measured against the baked-in model too.
    baseline = system.aws.function_environment("PromoteModelFunction")["PROMOTION_BAKED_IN_MAP50_95"]
    assert delivery.result["gate"]["current_map50_95"] == float(baseline)
    assert system.pointer() == (1, {"model_uri": None, "version": None, "action": "initial"})
    assert "Contents" not in system.s3.list_objects_v2(Bucket=system.models, Prefix="models/")

    # A person overrides the gate: the model is copied out of model.tar.gz and pointed at.
    status, promoted = system.call("POST", f"/models/{job_name}/promote", {"reason": "demo"})
    assert status == 200, promoted
    version, pointer = system.pointer()
    assert version == 2 and pointer["version"] == job_name and pointer["action"] == "promote"
    stored = system.s3.get_object(Bucket=system.models, Key=f"models/{job_name}/model.onnx")["Body"].read()
    assert stored == files["model.onnx"]
    assert pointer["previous"] == {"version": None, "model_uri": None, "metrics": None}

    # EventBridge delivers at least once: the same event again changes nothing.
    completed_event = next(
        e
        for e, _ in system.training.deliveries
        if e["detail"]["TrainingJobName"] == job_name and e["detail"]["TrainingJobStatus"] == "Completed"
    )
    [replay] = system.aws.put_event(completed_event)
    assert replay.result["outcome"] == "already_promoted"

    status, listing = system.call("GET", "/models")
    assert status == 200
    assert [(v["version"], v["current"]) for v in listing["versions"]] == [(job_name, True)]
    assert listing["versions"][0]["metrics"]["mAP50-95"] == metrics["mAP50-95"]

    # Rollback returns to the baked-in model, and there is nothing before that.
    status, rolled = system.call("POST", "/models/rollback", {"reason": "back to the shipped model"})
    assert status == 200 and rolled["current"]["model_uri"] is None
    status, refused = system.call("POST", "/models/rollback")
    assert (status, refused["error"]) == (409, "nothing_to_roll_back")
    status, listing = system.call("GET", "/models")
    assert [(h["parameter_version"], h["version"], h["action"]) for h in listing["history"]] == [
        (3, None, "rollback"),
        (2, job_name, "promote"),
        (1, None, "initial"),
    ]
    assert listing["baked_in"] is True
