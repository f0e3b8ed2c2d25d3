"""One frozen settings object, read from the environment once (template Parameters -> env -> here)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import Field, field_validator, model_validator

from apiedge.settings import EnvSettings

# SageMaker's own limits (CreateTrainingJob); the template keeps its parameters inside them.
SAGEMAKER_MAX_RUNTIME_S = 28 * 24 * 3600
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_PREFIX = re.compile(r"^[a-z0-9](-*[a-z0-9]){0,29}$")


class Settings(EnvSettings):
    """Everything the launcher needs that differs between stacks; never taken from a request.

    Aliases are the variables the template sets on the function (names listed once, here).
    """

    stage: str = Field(alias="STAGE", min_length=1)
    stack_name: str = Field(alias="STACK_NAME", min_length=1)
    data_bucket: str = Field(alias="DATA_BUCKET", min_length=3)
    models_bucket: str = Field(alias="MODELS_BUCKET", min_length=3)
    checkpoints_bucket: str = Field(alias="CHECKPOINTS_BUCKET", min_length=3)
    sagemaker_role_arn: str = Field(
        alias="SAGEMAKER_ROLE_ARN", pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$"
    )
    training_image_uri: str = Field(
        alias="TRAINING_IMAGE_URI", pattern=r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/.+:.+$"
    )
    instance_types: tuple[str, ...] = Field(alias="TRAINING_INSTANCE_TYPES", min_length=1)
    default_instance_type: str = Field(alias="DEFAULT_INSTANCE_TYPE")
    job_name_prefix: str = Field(alias="TRAINING_JOB_PREFIX")
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=1)
    idempotency_window_s: int = Field(86400, alias="IDEMPOTENCY_WINDOW_S", ge=60, le=7 * 24 * 3600)
    volume_size_gb: int = Field(30, alias="TRAINING_VOLUME_GB", ge=1, le=16384)
    default_max_runtime_s: int = Field(4 * 3600, alias="DEFAULT_MAX_RUNTIME_S", ge=60)
    max_runtime_cap_s: int = Field(24 * 3600, alias="MAX_RUNTIME_CAP_S", ge=60, le=SAGEMAKER_MAX_RUNTIME_S)
    # Training jobs run without network access by default (TrainingNetworkIsolation in the template).
    network_isolation: bool = Field(True, alias="TRAINING_NETWORK_ISOLATION")
    cors_allow_origin: str = Field("", alias="CORS_ALLOW_ORIGIN")
    # Key layout inside the buckets; the SageMaker role's policy in template.yaml names the same prefixes.
    code_prefix: str = "code"
    output_prefix: str = "training-output"
    checkpoint_prefix: str = "checkpoints"
    promoted_prefix: str = "models"

    @field_validator("instance_types", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):  # the template joins the CommaDelimitedList with ","
            return tuple(t.strip() for t in value.split(",") if t.strip())
        return value

    @field_validator("instance_types")
    @classmethod
    def _instance_types_well_formed(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [t for t in value if not _INSTANCE_TYPE.match(t)]
        if bad:
            raise ValueError(f"not SageMaker instance types: {bad}")
        return value

    @field_validator("job_name_prefix")
    @classmethod
    def _prefix_fits_job_names(cls, value: str) -> str:
        # Job names are `<prefix>-<14-digit time>-<6 hex>` and SageMaker allows 63 characters.
        if not _PREFIX.match(value):
            raise ValueError("job name prefix must be 1-30 lower-case letters, digits or '-'")
        return value

    @model_validator(mode="after")
    def _defaults_consistent(self) -> Settings:
        if self.default_instance_type not in self.instance_types:
            raise ValueError(f"default instance type {self.default_instance_type} is not in the allowlist")
        if self.default_max_runtime_s > self.max_runtime_cap_s:
            raise ValueError("default max runtime exceeds the max runtime cap")
        return self

    @property
    def weights_prefixes(self) -> tuple[str, ...]:
        """Where base weights may come from: prefixes of the models bucket that only this stack
        writes (promoted versions and its own jobs' output); never the data bucket."""
        return tuple(f"s3://{self.models_bucket}/{p}/" for p in (self.promoted_prefix, self.output_prefix))


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once; a misconfigured stack fails at cold start, loudly)."""
    return Settings.from_env()
