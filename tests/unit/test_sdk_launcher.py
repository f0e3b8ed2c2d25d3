"""Two doors, one contract: the SageMaker SDK launcher sends the CreateTrainingJob `POST /train` sends.

The SDK door (devkit/sdk_launch.py) runs in .venv-sdk as a subprocess (tests/unit/sdk_capture.py)
with every AWS answer faked on its boto3 session and all network use refused; the API door runs
here, in .venv, through the trigger function's own Launcher against moto. Both requests are
compared field by field.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from trigger_setup import REQUESTER, SETTINGS

from launcher.launch import Launcher
from launcher.settings import Settings
from launcher.source_bundle import SourceBundle, SourcePublisher
from yolo_train import hyperparams, metric_defs

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
SDK_PYTHON = REPO / ".venv-sdk" / "bin" / "python"
needs_sdk_venv = pytest.mark.skipif(not SDK_PYTHON.exists(), reason="no .venv-sdk: run `make sdk-venv` first")
REGION = "eu-north-1"
STACK = "invoice-yolo-dev"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:invoice-yolo-dev-TriggerTrainingFunction-x"
SPOT_FROM_SCRATCH = {
    "dataset": "s3://iy-data/datasets/invoices-v3",
    "epochs": 50,
    "imgsz": 640,
    "batch": 16,
    "hyperparameters": {"optimizer": "AdamW", "lr0": 0.002, "cos_lr": True},
    "instance_type": "ml.g5.xlarge",
    "max_runtime_s": 7200,
    "max_wait_s": 10800,
}
ON_DEMAND_FINE_TUNE = {
    "dataset": "s3://iy-data/datasets/invoices-v4/",
    "base_weights": "s3://iy-models/models/v7/best.pt",
    "epochs": 20,
    "spot": False,
}
_JOB_NAME = re.compile(r"^(?P<prefix>.+)-(?P<time>[0-9]{14})-(?P<token>[0-9a-f]{6})$")

# What ModelTrainer adds to the plan on its own, and why that is the same job: SageMaker's default
# for an unset OutputDataConfig.CompressionType is GZIP (model.tar.gz either way).
SDK_ADDS = {"OutputDataConfig.CompressionType": "GZIP"}
# Every field the API sends must arrive unchanged through the SDK door.
MUST_MATCH = (
    "TrainingJobName",  # same generator; the test gives the API the SDK job's time and token
    "AlgorithmSpecification.TrainingImage",
    "AlgorithmSpecification.TrainingInputMode",
    "AlgorithmSpecification.MetricDefinitions",
    "AlgorithmSpecification.EnableSageMakerMetricsTimeSeries",
    "RoleArn",
    "HyperParameters",
    "InputDataConfig",
    "OutputDataConfig.S3OutputPath",
    "ResourceConfig",
    "StoppingCondition",
    "EnableManagedSpotTraining",
    "EnableNetworkIsolation",
    "CheckpointConfig",
    "Environment",
    "Tags",
)


def _function_env(settings: Settings) -> dict[str, str]:
    """The trigger function's environment as template.yaml sets it (the Settings aliases)."""
    env = {}
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if field.alias is None:
            continue
        if isinstance(value, tuple):
            value = ",".join(value)
        elif isinstance(value, bool):
            value = str(value).lower()
        env[field.alias] = str(value)
    return env | {"POWERTOOLS_SERVICE_NAME": "trigger-training"}


def _sdk_env(tmp_path: Path) -> dict[str, str]:
    """A clean, offline environment: fake credentials, no AWS config, the SDK's telemetry off."""
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text(
        "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"
    )
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
        "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(config),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _run_sdk_door(body: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """tests/unit/sdk_capture.py in .venv-sdk: `devkit.sdk_launch.launch` against faked AWS."""
    job = {
        "stack": STACK,
        "function_arn": FUNCTION_ARN,
        "function_env": _function_env(SETTINGS),
        "requester": REQUESTER,
        "body": body,
    }
    return subprocess.run(
        [str(SDK_PYTHON), str(REPO / "tests" / "unit" / "sdk_capture.py")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_sdk_env(tmp_path),
        timeout=180,
        check=False,
    )


@functools.cache
def _sdk_request(body_json: str) -> dict[str, Any]:
    """What the SDK door sent for a body (cached: one SDK start, ~8 s here, per body and module)."""
    with tempfile.TemporaryDirectory() as tmp:
        result = _run_sdk_door(json.loads(body_json), Path(tmp))
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _api_request(body: dict[str, Any], job_name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What `POST /train` sends for `body`, named at the SDK job's time and token."""
    parts = _JOB_NAME.match(job_name)
    assert parts is not None and parts["prefix"] == SETTINGS.job_name_prefix, job_name
    when = datetime.strptime(parts["time"], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        for bucket in ("iy-data", "iy-models"):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        prefix = body["dataset"].removeprefix("s3://iy-data/").rstrip("/")
        s3.put_object(Bucket="iy-data", Key=f"{prefix}/data.yaml", Body=b"names: [a]\n")
        if "base_weights" in body:
            s3.put_object(
                Bucket="iy-models", Key=body["base_weights"].removeprefix("s3://iy-models/"), Body=b"pt"
            )
        sent: list[dict[str, Any]] = []
        sagemaker.meta.events.register(
            "provide-client-params.sagemaker.CreateTrainingJob", lambda params, **_: sent.append(params)
        )
        publisher = SourcePublisher(s3, "iy-models", SETTINGS.code_prefix, SourceBundle.load())
        launcher = Launcher(
            SETTINGS, sagemaker, s3, publisher, clock=lambda: when, token=lambda: parts["token"]
        )
        request = launcher.parse(body)
        launcher.check_inputs(request)
        launcher.launch(launch={"requester": REQUESTER, "body": request.normalized()}, request=request)
    assert len(sent) == 1
    return json.loads(json.dumps(sent[0], default=str))


def _at(request: dict[str, Any], path: str) -> Any:
    value: Any = request
    for key in path.split("."):
        value = value[key]
    return value


def _without(request: dict[str, Any], paths: dict[str, Any]) -> dict[str, Any]:
    """A copy of `request` less the given fields, each checked to hold the given value."""
    copy = json.loads(json.dumps(request))
    for path, expected in paths.items():
        *parents, leaf = path.split(".")
        holder = _at(copy, ".".join(parents)) if parents else copy
        assert holder.pop(leaf) == expected, path
    return copy


@needs_sdk_venv
@pytest.mark.parametrize(
    "body", [SPOT_FROM_SCRATCH, ON_DEMAND_FINE_TUNE], ids=["spot-scratch", "on-demand-tune"]
)
def test_the_sdk_launcher_sends_the_request_the_api_sends(
    body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sdk = _sdk_request(json.dumps(body))
    created = sdk["created"]
    api = _api_request(body, created["TrainingJobName"], monkeypatch)

    mismatched = [path for path in MUST_MATCH if _at(created, path) != _at(api, path)]
    assert mismatched == []
    # Beyond SDK_ADDS, ModelTrainer added nothing of its own (no VpcConfig, no inter-container
    # encryption flag, no sagemaker_* hyperparameters, tags or environment beyond the API's, no
    # debugger or profiler configs) and dropped nothing.
    assert _without(created, SDK_ADDS) == api
    assert sdk["job_name"] == created["TrainingJobName"]
    assert sdk["network_attempts"] == []
    assert sdk["calls"] == [
        "cloudformation.DescribeStacks",  # the stack's trigger function ...
        "lambda.GetFunctionConfiguration",  # ... whose environment is the settings
        "s3.HeadObject",  # data.yaml
        *(["s3.HeadObject"] if "base_weights" in body else []),
        "sts.GetCallerIdentity",  # the Requester tag
        "s3.HeadObject",  # the code tarball (present: not uploaded again)
        "sagemaker.DescribeTrainingJob",  # the name is free
        "sagemaker.CreateTrainingJob",
        "sagemaker.DescribeTrainingJob",  # the SDK reads the job back
    ]


@needs_sdk_venv
def test_the_contract_the_sdk_request_carries() -> None:
    """The fields both doors must agree on, spelled out (not only 'equal to the API')."""
    created = _sdk_request(json.dumps(SPOT_FROM_SCRATCH))["created"]
    job = created["TrainingJobName"]
    algorithm = created["AlgorithmSpecification"]
    assert algorithm["TrainingImage"] == SETTINGS.training_image_uri
    assert algorithm["TrainingInputMode"] == "FastFile"
    assert algorithm["MetricDefinitions"] == metric_defs.METRIC_DEFINITIONS
    assert created["EnableManagedSpotTraining"] is True
    assert created["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 10800}
    assert created["CheckpointConfig"] == {
        "S3Uri": f"s3://iy-checkpoints/checkpoints/{job}/",
        "LocalPath": "/opt/ml/checkpoints",
    }
    assert created["EnableNetworkIsolation"] is True
    assert "VpcConfig" not in created
    assert created["RoleArn"] == SETTINGS.sagemaker_role_arn
    assert created["OutputDataConfig"] == {"S3OutputPath": "s3://iy-models/training-output/"} | {
        "CompressionType": "GZIP"  # SDK_ADDS
    }
    channels = {c["ChannelName"]: c for c in created["InputDataConfig"]}
    assert channels["training"]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://iy-data/datasets/invoices-v3/"
    assert "InputMode" not in channels["training"]  # the job's FastFile
    assert channels["code"]["InputMode"] == "File"
    code_uri = channels["code"]["DataSource"]["S3DataSource"]["S3Uri"]
    assert code_uri == f"s3://iy-models/{SourceBundle.load().key(SETTINGS.code_prefix)}"  # the API's tarball
    hps = created["HyperParameters"]
    assert json.loads(hps["sagemaker_program"]) == "train.py"
    assert json.loads(hps["sagemaker_submit_directory"]) == "/opt/ml/input/data/code/sourcedir.tar.gz"
    assert json.loads(hps["model-version"]) == job
    assert {t["Key"]: t["Value"] for t in created["Tags"]}["Requester"] == REQUESTER

    # The entrypoint accepts every key the SDK door sends (the toolkit's sagemaker_* are ignored).
    decoded = {key: hyperparams.decode_json_value(value) for key, value in hps.items()}
    values, problems, ignored = hyperparams.parse([("hyperparameters.json", decoded)])
    assert problems == []
    assert values["epochs"] == 50 and values["optimizer"] == "AdamW" and values["model_version"] == job
    assert {"sagemaker_program", "sagemaker_submit_directory"} <= set(ignored)


@needs_sdk_venv
def test_the_sdk_launcher_refuses_what_the_api_refuses(tmp_path: Path) -> None:
    """A body POST /train answers 422 fails in the SDK door too, before any job is created."""
    result = _run_sdk_door({"dataset": "s3://someone-elses-bucket/d/", "epochs": 5000}, tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""  # nothing was created (the capture prints only after a launch)
    assert "must be in the project's data bucket s3://iy-data/" in result.stderr
    assert "epochs" in result.stderr


@needs_sdk_venv
def test_the_sdk_launcher_refuses_fields_it_cannot_map_and_has_a_cli(tmp_path: Path) -> None:
    code = (
        "from devkit import sdk_launch\n"
        "try:\n"
        "    sdk_launch.model_trainer({'VpcConfig': {}, 'AlgorithmSpecification': {}}, None)\n"
        "except NotImplementedError as exc:\n"
        "    print('refused', exc)\n"
    )
    env = _sdk_env(tmp_path)
    probe = subprocess.run(
        [str(SDK_PYTHON), "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, check=True
    )
    assert "refused" in probe.stdout and "VpcConfig" in probe.stdout
    cli = subprocess.run(
        [str(SDK_PYTHON), "-m", "devkit.sdk_launch", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=True,
    )
    assert "--stack" in cli.stdout and "--body" in cli.stdout


LAMBDA_REQUIREMENTS = sorted(
    [*REPO.glob("functions/*/requirements.txt"), *REPO.glob("layers/*/requirements.txt")]
)
_SDK_REQUIREMENT = re.compile(r"^\s*sagemaker([-_][a-z]+)*\s*([=<>!~;\[]|$)", re.IGNORECASE | re.MULTILINE)
_SDK_IMPORT = re.compile(r"^\s*(import|from)\s+sagemaker\b", re.MULTILINE)


def test_the_sdk_never_enters_a_lambda() -> None:
    """The SDK is a developer dependency: no function or layer lists it, no Lambda code imports it."""
    assert len(LAMBDA_REQUIREMENTS) >= 2  # the globs still find the functions' and the layer's files
    listing = {
        str(p.relative_to(REPO)) for p in LAMBDA_REQUIREMENTS if _SDK_REQUIREMENT.search(p.read_text())
    }
    assert listing == set()
    assert _SDK_REQUIREMENT.search((REPO / "requirements" / "sdk.txt").read_text())  # the pattern works
    shipped = [*REPO.glob("functions/**/*.py"), *REPO.glob("layers/**/*.py"), *REPO.glob("training/**/*.py")]
    importing = {str(p.relative_to(REPO)) for p in shipped if _SDK_IMPORT.search(p.read_text())}
    assert importing == set()
    assert _SDK_IMPORT.search((REPO / "devkit" / "sdk_launch.py").read_text())


def test_the_stack_output_the_sdk_launcher_reads_exists() -> None:
    template = (REPO / "template.yaml").read_text()
    outputs = template[template.index("\nOutputs:") :]
    assert re.search(
        r"^  TriggerTrainingFunctionArn:\n    Value: !GetAtt TriggerTrainingFunction.Arn$", outputs, re.M
    )
    # The launcher reads that name (kept as text here: .venv has no SDK to import the module with).
    assert (
        'TRIGGER_FUNCTION_OUTPUT = "TriggerTrainingFunctionArn"'
        in (REPO / "devkit" / "sdk_launch.py").read_text()
    )
