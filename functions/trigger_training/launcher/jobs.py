"""Build the CreateTrainingJob request: pure functions, no AWS calls (unit-tested field by field).

Conventions of the AWS PyTorch training container (sagemaker-training toolkit): `sagemaker_*`
hyperparameters tell it what to run (`sagemaker_program` inside the tarball at
`sagemaker_submit_directory`, whose `requirements.txt` it pip-installs first); every other
hyperparameter becomes `--key value` on the entrypoint's command line. Values are JSON-encoded,
as the SageMaker SDK does, and the toolkit decodes them (so booleans arrive as True/False).
Channel names follow the entrypoint (`yolo_train.sm_env`): `training` and `weights`.

Network isolation (the default, `Settings.network_isolation`): the container gets no network, so
it cannot fetch `sagemaker_submit_directory` from S3 itself. The tarball then arrives as the
`code` channel (SageMaker downloads channels, not the container) and `sagemaker_submit_directory`
names its local path, as the SageMaker Python SDK does. Without isolation the S3 URI is given.
The entrypoint needs no network either way (`yolo_train.offline`). The toolkit's
`pip install -r requirements.txt` does: isolated, pip runs with `PIP_NO_INDEX`, so pins the image
already holds are "already satisfied" and a missing one fails at once with pip's own message
instead of minutes of retries. An isolated job therefore needs a TrainingImageUri with
training/requirements.txt installed (the stock PyTorch container has no Ultralytics).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from launcher.schemas import TrainRequest, parse_s3_uri
from launcher.settings import Settings
from yolo_train.metric_defs import METRIC_DEFINITIONS

ENTRY_POINT = "train.py"
TRAINING_CHANNEL = "training"
WEIGHTS_CHANNEL = "weights"
CODE_CHANNEL = "code"
CODE_CHANNEL_PATH = f"/opt/ml/input/data/{CODE_CHANNEL}"
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
INPUT_MODE = "FastFile"  # streams the dataset from S3 on demand: no copy before training starts

# What CreateTrainingJob enforces and moto does not (so these are checked here, before the call).
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
INPUT_MODES = frozenset({"Pipe", "File", "FastFile"})
MAX_HYPERPARAMETERS = 100
MAX_HP_KEY = 256
MAX_HP_VALUE = 2500
MAX_METRIC_DEFINITIONS = 40
MAX_METRIC_NAME = 255
MAX_METRIC_REGEX = 500
MAX_TAGS = 50
MAX_TAG_VALUE = 256
_TAG_VALUE_UNSAFE = re.compile(r"[^A-Za-z0-9 _.:/=+\-@]")


class InvalidJobRequest(ValueError):
    """A request SageMaker would reject; raised before it is sent."""


def new_job_name(prefix: str, now: datetime, token: str) -> str:
    """`<prefix>-<UTC yyyymmddHHMMSS>-<token>`: sortable, unique, and inside the IAM ARN pattern."""
    name = f"{prefix}-{now:%Y%m%d%H%M%S}-{token}"
    if not JOB_NAME.match(name):
        raise InvalidJobRequest(f"job name {name!r} is not a valid SageMaker training job name")
    return name


def tag_value(text: str) -> str:
    """Make any text a legal tag value (SageMaker refuses the whole job for one bad tag)."""
    return _TAG_VALUE_UNSAFE.sub("_", text)[:MAX_TAG_VALUE]


def checkpoint_uri(settings: Settings, job_name: str) -> str:
    """Per-job checkpoint prefix: a Spot restart of this job resumes from here, no other job does."""
    return f"s3://{settings.checkpoints_bucket}/{settings.checkpoint_prefix}/{job_name}/"


def output_path(settings: Settings) -> str:
    """SageMaker appends `<job>/output/model.tar.gz` to this."""
    return f"s3://{settings.models_bucket}/{settings.output_prefix}/"


def submit_directory(source_uri: str, network_isolation: bool) -> str:
    """Where the container finds the code: the `code` channel's copy under isolation, else S3."""
    if not network_isolation:
        return source_uri
    return f"{CODE_CHANNEL_PATH}/{source_uri.rsplit('/', 1)[-1]}"


def hyperparameters(
    req: TrainRequest,
    *,
    job_name: str,
    source_uri: str,
    region: str,
    trusted_weights: tuple[str, ...] = (),
    network_isolation: bool = True,
) -> dict[str, str]:
    """The entrypoint's arguments plus the container's `sagemaker_*` keys, JSON-encoded."""
    values: dict[str, Any] = {
        "epochs": req.epochs,
        "imgsz": req.imgsz,
        "batch": req.batch,
        "model-version": job_name,  # the ONNX metadata names the job that made the model
        **req.hyperparameters.given(),
    }
    if req.base_weights is None:
        values["model"] = req.model  # from scratch; fine-tuning takes the .pt in the weights channel
    else:  # the entrypoint checks the origin again before it loads anything (defence in depth)
        values["weights-uri"] = req.base_weights
        values["trusted-weights-prefixes"] = ",".join(trusted_weights)
    values |= {
        "sagemaker_program": ENTRY_POINT,
        "sagemaker_submit_directory": submit_directory(source_uri, network_isolation),
        "sagemaker_region": region,
        "sagemaker_job_name": job_name,
        "sagemaker_container_log_level": 20,
    }
    return {key: json.dumps(value) for key, value in values.items()}


def environment(network_isolation: bool) -> dict[str, str]:
    """The container's variables: unbuffered stdout (metric lines reach CloudWatch and the
    MetricDefinitions as printed); isolated, pip never looks for an index it cannot reach."""
    env = {"PYTHONUNBUFFERED": "1"}
    if network_isolation:
        env |= {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return env


def _channel(name: str, uri: str, input_mode: str | None = None) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }
    if input_mode is not None:
        channel["InputMode"] = input_mode
    return channel


def build_create_request(
    req: TrainRequest,
    settings: Settings,
    *,
    job_name: str,
    source_uri: str,
    region: str,
    requester: str,
) -> dict[str, Any]:
    """The exact CreateTrainingJob parameters for a validated request (role and image from settings)."""
    isolated = settings.network_isolation
    channels = [_channel(TRAINING_CHANNEL, req.dataset)]
    if req.base_weights is not None:
        channels.append(_channel(WEIGHTS_CHANNEL, req.base_weights))
    if isolated:  # the toolkit extracts the tarball from here (File: one small object, copied whole)
        channels.append(_channel(CODE_CHANNEL, source_uri, "File"))
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": int(req.max_runtime_s or 0)}
    if req.spot:
        stopping["MaxWaitTimeInSeconds"] = int(req.max_wait_s or 0)
    request: dict[str, Any] = {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": {
            "TrainingImage": settings.training_image_uri,
            "TrainingInputMode": INPUT_MODE,
            "MetricDefinitions": [dict(d) for d in METRIC_DEFINITIONS],
            "EnableSageMakerMetricsTimeSeries": True,
        },
        "RoleArn": settings.sagemaker_role_arn,
        "HyperParameters": hyperparameters(
            req,
            job_name=job_name,
            source_uri=source_uri,
            region=region,
            trusted_weights=settings.weights_prefixes,
            network_isolation=isolated,
        ),
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": output_path(settings)},
        "ResourceConfig": {
            "InstanceType": req.instance_type,
            "InstanceCount": 1,
            "VolumeSizeInGB": settings.volume_size_gb,
        },
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": req.spot,
        # No network in the container: it reaches S3 only through its channels, its output and
        # checkpoint prefixes, which SageMaker (not the container) reads and writes.
        "EnableNetworkIsolation": isolated,
        "CheckpointConfig": {"S3Uri": checkpoint_uri(settings, job_name), "LocalPath": CHECKPOINT_LOCAL_PATH},
        "Environment": environment(isolated),
        "Tags": [
            {"Key": "Stack", "Value": tag_value(settings.stack_name)},
            {"Key": "Stage", "Value": tag_value(settings.stage)},
            {"Key": "Dataset", "Value": tag_value(req.dataset)},
            {"Key": "Requester", "Value": tag_value(requester)},
        ],
    }
    check_create_request(request)
    return request


def _metric_problems(metrics: list[dict[str, str]]) -> list[str]:
    problems = (
        [f"at most {MAX_METRIC_DEFINITIONS} MetricDefinitions"]
        if len(metrics) > MAX_METRIC_DEFINITIONS
        else []
    )
    for metric in metrics:
        name, regex = metric.get("Name", ""), metric.get("Regex", "")
        if not 1 <= len(name) <= MAX_METRIC_NAME:
            problems.append(f"metric name {name!r} must be 1-{MAX_METRIC_NAME} characters")
        if not 1 <= len(regex) <= MAX_METRIC_REGEX:
            problems.append(f"metric regex for {name!r} must be 1-{MAX_METRIC_REGEX} characters")
        try:
            groups = re.compile(regex).groups
        except re.error as exc:
            problems.append(f"metric regex for {name!r} does not compile: {exc}")
            continue
        if groups < 1:
            problems.append(f"metric regex for {name!r} captures no value")
    return problems


def _stopping_problems(stopping: dict[str, int], spot: bool) -> list[str]:
    runtime, wait = stopping.get("MaxRuntimeInSeconds", 0), stopping.get("MaxWaitTimeInSeconds")
    problems = [] if runtime >= 1 else ["MaxRuntimeInSeconds must be positive"]
    if spot and wait is None:
        problems.append("Managed Spot training needs MaxWaitTimeInSeconds")
    elif spot and wait is not None and wait < runtime:
        problems.append("MaxWaitTimeInSeconds must be at least MaxRuntimeInSeconds")
    elif not spot and wait is not None:
        problems.append("MaxWaitTimeInSeconds is only allowed with Managed Spot training")
    return problems


def _hyperparameter_problems(hps: dict[str, str]) -> list[str]:
    problems = [f"at most {MAX_HYPERPARAMETERS} hyperparameters"] if len(hps) > MAX_HYPERPARAMETERS else []
    problems += [
        f"hyperparameter {key!r} is too long"
        for key, value in hps.items()
        if not 1 <= len(key) <= MAX_HP_KEY or len(value) > MAX_HP_VALUE
    ]
    return problems


def _channel_problems(channels: list[dict[str, Any]]) -> list[str]:
    problems = []
    for channel in channels:
        try:
            parse_s3_uri(channel["DataSource"]["S3DataSource"]["S3Uri"])
        except ValueError as exc:
            problems.append(f"channel {channel.get('ChannelName')!r}: S3Uri {exc}")
    return problems


def _tag_problems(tags: list[dict[str, str]]) -> list[str]:
    problems = [f"at most {MAX_TAGS} tags"] if len(tags) > MAX_TAGS else []
    problems += [
        f"tag {tag['Key']!r} has characters or a length SageMaker refuses"
        for tag in tags
        if tag_value(tag["Value"]) != tag["Value"]
    ]
    return problems


def check_create_request(request: dict[str, Any]) -> None:
    """Enforce CreateTrainingJob rules that moto accepts but AWS rejects (raise InvalidJobRequest)."""
    algo = request.get("AlgorithmSpecification", {})
    problems = [] if JOB_NAME.match(request.get("TrainingJobName", "")) else ["TrainingJobName is not valid"]
    if algo.get("TrainingInputMode") not in INPUT_MODES:
        problems.append(f"TrainingInputMode must be one of {sorted(INPUT_MODES)}")
    problems += _metric_problems(algo.get("MetricDefinitions", []))
    problems += _hyperparameter_problems(request.get("HyperParameters", {}))
    problems += _stopping_problems(
        request.get("StoppingCondition", {}), bool(request.get("EnableManagedSpotTraining"))
    )
    problems += _channel_problems(request.get("InputDataConfig", []))
    problems += _tag_problems(request.get("Tags", []))
    if problems:
        raise InvalidJobRequest("; ".join(problems))
