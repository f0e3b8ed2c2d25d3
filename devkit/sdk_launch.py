"""Start a training job with the SageMaker Python SDK: the notebook door to the jobs `POST /train` starts.

One contract, two doors. Nothing about the job is decided here: the trigger function's own pure
modules parse the body (`launcher.schemas.TrainRequest`: the same fields, defaults and limits),
check the dataset and base weights exist, publish the same content-addressed code tarball, choose
the job name and build the CreateTrainingJob parameters (`launcher.launch.Launcher.plan`, which
`POST /train` runs too). This module hands those parameters to the SDK's `ModelTrainer`, which
sends them; `tests/unit/test_sdk_launcher.py` compares what it sends with what the API sends.

The stack's settings (role, training image, buckets, job name prefix, limits, network isolation)
are the trigger function's own environment, which template.yaml sets on it, read with
`lambda:GetFunctionConfiguration` (the function is the stack output `TriggerTrainingFunctionArn`),
or a `Settings` you pass. Runs in `.venv-sdk` (`make sdk-venv`, requirements/sdk.txt), never in
a Lambda. Needs `cloudformation:DescribeStacks`, `lambda:GetFunctionConfiguration`, the S3 reads
and `code/` write the trigger has, `sagemaker:CreateTrainingJob`/`DescribeTrainingJob` and
`iam:PassRole` on the stack's SageMaker role. The SDK sends its own usage telemetry unless its
config sets `TelemetryOptOut` (SageMaker SDK defaults config).

    .venv-sdk/bin/python -m devkit.sdk_launch --stack invoice-yolo-dev \\
        --body '{"dataset": "s3://<data bucket>/invoices/v3/", "epochs": 60, "imgsz": 640}'

    from devkit.sdk_launch import launch
    job = launch("invoice-yolo-dev", {"dataset": "s3://<data bucket>/invoices/v3/", "epochs": 60})
    job.wait(logs=True)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from pydantic import PrivateAttr, ValidationError
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.resources import TrainingJob
from sagemaker.core.training.configs import (
    Channel,
    CheckpointConfig,
    Compute,
    DataSource,
    MetricDefinition,
    Networking,
    OutputDataConfig,
    S3DataSource,
    StoppingCondition,
    Tag,
)
from sagemaker.train.model_trainer import ModelTrainer

from apiedge.errors import ApiError
from launcher.launch import Launcher
from launcher.settings import Settings
from launcher.source_bundle import SourceBundle, SourcePublisher

TRIGGER_FUNCTION_OUTPUT = "TriggerTrainingFunctionArn"  # template.yaml Outputs
# The SDK's documented switch for its client-side role check (see `_without_sdk_role_check`).
SDK_VALIDATE_ROLE_VARIABLE = "SAGEMAKER_VALIDATE_ROLE"
# Every top-level CreateTrainingJob field the plan may hold, and so what `model_trainer` maps; a field
# the API starts sending that is not here fails loudly instead of being dropped by this door.
MAPPED_FIELDS = frozenset(
    {
        "TrainingJobName",
        "AlgorithmSpecification",
        "RoleArn",
        "HyperParameters",
        "InputDataConfig",
        "OutputDataConfig",
        "ResourceConfig",
        "StoppingCondition",
        "EnableManagedSpotTraining",
        "EnableNetworkIsolation",
        "CheckpointConfig",
        "Environment",
        "Tags",
    }
)
_MAPPED_ALGORITHM_FIELDS = frozenset(
    {"TrainingImage", "TrainingInputMode", "MetricDefinitions", "EnableSageMakerMetricsTimeSeries"}
)


class PlannedTrainer(ModelTrainer):
    """A ModelTrainer that sends the job name the plan chose.

    ModelTrainer always names a job `<base_job_name>-<local time>`, but the checkpoint prefix, the
    model version and the IAM scope of this stack all key on the name chosen before the request is
    built (`<prefix>-<UTC time>-<token>`, as `POST /train` names jobs). ModelTrainer also has no
    parameter for EnableSageMakerMetricsTimeSeries, which the plan sets.
    """

    _planned_name: str = PrivateAttr(default="")
    _metrics_time_series: bool | None = PrivateAttr(default=None)

    def _create_training_job_args(self, input_data_config: Any = None, boto3: bool = False) -> dict[str, Any]:
        args = super()._create_training_job_args(input_data_config=input_data_config, boto3=boto3)
        if boto3:  # PascalCase, serialized (pipelines); this launcher never asks for it
            raise NotImplementedError("PlannedTrainer builds SDK requests only")
        args["training_job_name"] = self._planned_name
        if self._metrics_time_series is not None:
            args["algorithm_specification"].enable_sage_maker_metrics_time_series = self._metrics_time_series
        return args


@contextmanager
def _without_sdk_role_check() -> Iterator[None]:
    """Skip ModelTrainer's generic IAM check of the role while it is built, then restore the variable.

    The SDK simulates a generic training policy on the role (ECR, CloudWatch, and EC2 network
    interfaces for VPC jobs) and refuses the role on a definite deny. The stack's role is least
    privilege by design: no VPC, so no EC2 actions, and it is exactly the role `POST /train` passes,
    which SageMaker checks for real when the job is created. The SDK reads only this variable.
    """
    before = os.environ.get(SDK_VALIDATE_ROLE_VARIABLE)
    os.environ[SDK_VALIDATE_ROLE_VARIABLE] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(SDK_VALIDATE_ROLE_VARIABLE, None)
        else:
            os.environ[SDK_VALIDATE_ROLE_VARIABLE] = before


def stack_settings(stack_name: str, boto_session: boto3.Session) -> Settings:
    """The trigger function's settings, read from its environment (what template.yaml gives it)."""
    stacks = boto_session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    if TRIGGER_FUNCTION_OUTPUT not in outputs:
        raise LookupError(f"stack {stack_name} has no output {TRIGGER_FUNCTION_OUTPUT}: not this application")
    config = boto_session.client("lambda").get_function_configuration(
        FunctionName=outputs[TRIGGER_FUNCTION_OUTPUT]
    )
    return Settings.from_env(config.get("Environment", {}).get("Variables", {}))


def caller_arn(boto_session: boto3.Session) -> str:
    """Who launches: tagged `Requester` on the job, as the API tags its IAM caller."""
    return boto_session.client("sts").get_caller_identity()["Arn"]


def plan(
    body: Mapping[str, Any],
    settings: Settings,
    boto_session: boto3.Session,
    *,
    requester: str | None = None,
    clock: Callable[[], datetime] | None = None,
    token: Callable[[], str] | None = None,
) -> dict[str, Any]:
    """The CreateTrainingJob parameters `POST /train` would send for `body` (same code path).

    Side effects, as the API's: HEADs of the dataset's data.yaml and the base weights, a
    DescribeTrainingJob for the chosen name, and the code tarball uploaded if S3 lacks it.
    """
    sagemaker, s3 = boto_session.client("sagemaker"), boto_session.client("s3")
    publisher = SourcePublisher(s3, settings.models_bucket, settings.code_prefix, SourceBundle.load())
    timing = {k: v for k, v in {"clock": clock, "token": token}.items() if v is not None}
    launcher = Launcher(settings, sagemaker, s3, publisher, **timing)
    request = launcher.parse(dict(body))
    launcher.check_inputs(request)
    return launcher.plan(requester=requester or caller_arn(boto_session), request=request)


def _channel(channel: Mapping[str, Any]) -> Channel:
    s3 = channel["DataSource"]["S3DataSource"]
    extra = {"input_mode": channel["InputMode"]} if "InputMode" in channel else {}
    return Channel(
        channel_name=channel["ChannelName"],
        data_source=DataSource(
            s3_data_source=S3DataSource(
                s3_data_type=s3["S3DataType"],
                s3_uri=s3["S3Uri"],
                s3_data_distribution_type=s3["S3DataDistributionType"],
            )
        ),
        **extra,
    )


def model_trainer(create: Mapping[str, Any], sagemaker_session: Session) -> PlannedTrainer:
    """A ModelTrainer configured to send exactly the planned CreateTrainingJob parameters."""
    unmapped = sorted(set(create) - MAPPED_FIELDS)
    algorithm = create["AlgorithmSpecification"]
    unmapped += sorted(f"AlgorithmSpecification.{k}" for k in set(algorithm) - _MAPPED_ALGORITHM_FIELDS)
    if unmapped:
        raise NotImplementedError(f"the SDK launcher does not map {unmapped}; extend model_trainer()")
    with _without_sdk_role_check():
        trainer = _trainer(create, sagemaker_session)
    trainer._planned_name = create["TrainingJobName"]
    trainer._metrics_time_series = algorithm.get("EnableSageMakerMetricsTimeSeries")
    return trainer


def _trainer(create: Mapping[str, Any], sagemaker_session: Session) -> PlannedTrainer:
    algorithm, resources, stopping = (
        create["AlgorithmSpecification"],
        create["ResourceConfig"],
        create["StoppingCondition"],
    )
    checkpoint = create["CheckpointConfig"]
    wait = (
        {"max_wait_time_in_seconds": stopping["MaxWaitTimeInSeconds"]}
        if "MaxWaitTimeInSeconds" in stopping
        else {}
    )
    return PlannedTrainer(
        sagemaker_session=sagemaker_session,
        role=create["RoleArn"],
        base_job_name=create["TrainingJobName"],  # only for the SDK's logs; the name sent is planned
        training_image=algorithm["TrainingImage"],
        training_input_mode=algorithm["TrainingInputMode"],
        compute=Compute(
            instance_type=resources["InstanceType"],
            instance_count=resources["InstanceCount"],
            volume_size_in_gb=resources["VolumeSizeInGB"],
            enable_managed_spot_training=create["EnableManagedSpotTraining"],
        ),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=stopping["MaxRuntimeInSeconds"], **wait),
        networking=Networking(enable_network_isolation=create["EnableNetworkIsolation"]),
        output_data_config=OutputDataConfig(s3_output_path=create["OutputDataConfig"]["S3OutputPath"]),
        checkpoint_config=CheckpointConfig(s3_uri=checkpoint["S3Uri"], local_path=checkpoint["LocalPath"]),
        input_data_config=[_channel(c) for c in create["InputDataConfig"]],
        environment=dict(create["Environment"]),
        # Already JSON-encoded, as the toolkit reads them: ModelTrainer passes strings through as-is.
        hyperparameters=dict(create["HyperParameters"]),
        tags=[Tag(key=t["Key"], value=t["Value"]) for t in create["Tags"]],
    ).with_metric_definitions(
        [MetricDefinition(name=d["Name"], regex=d["Regex"]) for d in algorithm["MetricDefinitions"]]
    )


def launch(
    stack_name: str | None,
    body: Mapping[str, Any],
    *,
    settings: Settings | None = None,
    boto_session: boto3.Session | None = None,
    requester: str | None = None,
    wait: bool = False,
    logs: bool = True,
) -> TrainingJob:
    """Start the job `POST /train` would start for `body`, through the SageMaker Python SDK.

    `body` has the fields of `POST /train` (`dataset`, `epochs`, `imgsz`, `hyperparameters`, `spot`,
    ...). Give `stack_name` (settings read from the deployed stack) or `settings`. Returns the SDK's
    TrainingJob; `wait=True` blocks until it ends (with `logs`, streaming its log).
    """
    session = boto_session or boto3.Session()
    if settings is None:
        if not stack_name:
            raise ValueError("give stack_name or settings")
        settings = stack_settings(stack_name, session)
    create = plan(body, settings, session, requester=requester)
    trainer = model_trainer(create, Session(boto_session=session))
    trainer.train(wait=wait, logs=logs)
    return trainer._latest_training_job


def _body(text: str) -> dict[str, Any]:
    raw = Path(text[1:]).read_text() if text.startswith("@") else text
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("--body must be a JSON object")
    return body


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m devkit.sdk_launch --stack NAME --body JSON|@FILE [--wait]`."""
    parser = argparse.ArgumentParser(
        prog="python -m devkit.sdk_launch",
        description="Start a training job with the SageMaker Python SDK, exactly as POST /train would.",
    )
    parser.add_argument("--stack", required=True, help="the deployed stack's name (settings come from it)")
    parser.add_argument("--body", required=True, type=_body, help="the POST /train body: JSON, or @file.json")
    parser.add_argument("--region", help="AWS region (default: the profile's / AWS_DEFAULT_REGION)")
    parser.add_argument("--profile", help="AWS profile")
    parser.add_argument("--wait", action="store_true", help="wait for the job and stream its log")
    parser.add_argument(
        "--plan-only",
        action="store_true",
        help="print the CreateTrainingJob parameters and stop (inputs are still checked, the code published)",
    )
    args = parser.parse_args(argv)
    session = boto3.Session(region_name=args.region, profile_name=args.profile)
    try:
        settings = stack_settings(args.stack, session)
        if args.plan_only:
            print(json.dumps(plan(args.body, settings, session), indent=2, sort_keys=True))
            return 0
        job = launch(args.stack, args.body, settings=settings, boto_session=session, wait=args.wait)
    except (ApiError, ValidationError, LookupError) as exc:  # the same refusals POST /train answers
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"job_name": job.training_job_name, "job_arn": job.training_job_arn}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
