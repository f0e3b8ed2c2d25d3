"""`POST /train`: check the inputs exist, publish the source bundle, create the training job."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from apiedge.aws import aws_call, is_not_found, translate
from launcher import jobs
from launcher.errors import DatasetNotFound, JobNameConflict, ValidationFailed, WeightsNotFound
from launcher.sagemaker_errors import specific
from launcher.schemas import TrainRequest, parse_s3_uri
from launcher.settings import Settings
from launcher.source_bundle import SourcePublisher

DATASET_MANIFEST = "data.yaml"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _token() -> str:
    return secrets.token_hex(3)


class Launcher:
    """Launches one job per call; idempotency wraps `launch` from outside (see `idempotency`)."""

    def __init__(
        self,
        settings: Settings,
        sagemaker: Any,
        s3: Any,
        publisher: SourcePublisher,
        *,
        clock: Callable[[], datetime] = _utc_now,
        token: Callable[[], str] = _token,
    ) -> None:
        self._settings = settings
        self._sagemaker = sagemaker
        self._s3 = s3
        self._publisher = publisher
        self._clock = clock
        self._token = token

    def parse(self, body: Any) -> TrainRequest:
        """Validate a request body (pydantic errors propagate; the handler maps them to 422)."""
        return TrainRequest.model_validate(body, context={"settings": self._settings}, strict=True)

    def check_inputs(self, req: TrainRequest) -> None:
        """The dataset's data.yaml and the base weights must exist before an instance is paid for."""
        bucket, prefix = parse_s3_uri(req.dataset)
        if not self._object_exists(bucket, prefix + DATASET_MANIFEST):
            raise DatasetNotFound(f"no {DATASET_MANIFEST} at {req.dataset}: not a YOLO dataset prefix")
        if req.base_weights is not None and not self._object_exists(*parse_s3_uri(req.base_weights)):
            raise WeightsNotFound(f"base_weights {req.base_weights} does not exist")

    def plan(self, *, requester: str, request: TrainRequest) -> dict[str, Any]:
        """Publish the code, choose a free job name and build the exact CreateTrainingJob parameters.

        Shared by both doors: `launch` sends them with boto3; the SageMaker Python SDK launcher
        (devkit/sdk_launch.py) sends the same parameters through the SDK's ModelTrainer.
        """
        with aws_call("publishing the training code"):
            source_uri = self._publisher.ensure()
        job_name = jobs.new_job_name(self._settings.job_name_prefix, self._clock(), self._token())
        self._ensure_name_free(job_name)
        try:
            return jobs.build_create_request(
                request,
                self._settings,
                job_name=job_name,
                source_uri=source_uri,
                region=self._sagemaker.meta.region_name,
                requester=requester,
            )
        except jobs.InvalidJobRequest as exc:
            raise ValidationFailed(str(exc)) from exc

    def launch(self, *, launch: dict[str, Any], request: TrainRequest) -> dict[str, Any]:
        """Create the job for `request`, the validated body; `launch` (requester, idempotency key,
        `request.normalized()`) is what the idempotency layer keys on, so the body is parsed once."""
        create = self.plan(requester=launch["requester"], request=request)
        with aws_call("creating the training job", specific):
            response = self._sagemaker.create_training_job(**create)
        return {
            "job_name": create["TrainingJobName"],
            "job_arn": response["TrainingJobArn"],
            "status": "InProgress",
            "request": launch["body"],
            "replayed": False,  # the idempotency store's copy is answered with True
        }

    def _ensure_name_free(self, job_name: str) -> None:
        """SageMaker refuses a duplicate name (moto does not): check, so the rule holds everywhere."""
        try:
            self._sagemaker.describe_training_job(TrainingJobName=job_name)
        except ClientError as exc:
            if is_not_found(exc):
                return
            raise translate(exc, "checking the job name", specific) from exc
        raise JobNameConflict(f"a training job named {job_name} already exists; retry")

    def _object_exists(self, bucket: str, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if is_not_found(exc):
                return False
            raise translate(exc, f"checking s3://{bucket}/{key}") from exc
        return True
