"""One frozen settings object, read from the environment once (template Parameters -> env -> here)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# SageMaker's own limits (CreateTrainingJob); the template keeps its parameters inside them.
SAGEMAKER_MAX_RUNTIME_S = 28 * 24 * 3600
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_PREFIX = re.compile(r"^[a-z0-9](-*[a-z0-9]){0,29}$")


class Settings(BaseModel):
    """Everything the launcher needs that differs between stacks; never taken from a request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str = Field(min_length=1)
    stack_name: str = Field(min_length=1)
    data_bucket: str = Field(min_length=3)
    models_bucket: str = Field(min_length=3)
    checkpoints_bucket: str = Field(min_length=3)
    sagemaker_role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$")
    training_image_uri: str = Field(pattern=r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/.+:.+$")
    instance_types: tuple[str, ...] = Field(min_length=1)
    default_instance_type: str
    job_name_prefix: str
    idempotency_table: str = Field(min_length=1)
    idempotency_window_s: int = Field(default=86400, ge=60, le=7 * 24 * 3600)
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    default_max_runtime_s: int = Field(default=4 * 3600, ge=60)
    max_runtime_cap_s: int = Field(default=24 * 3600, ge=60, le=SAGEMAKER_MAX_RUNTIME_S)
    cors_allow_origin: str = ""
    # Key layout inside the buckets; the SageMaker role's policy in template.yaml names the same prefixes.
    code_prefix: str = "code"
    output_prefix: str = "training-output"
    checkpoint_prefix: str = "checkpoints"
    weights_prefixes: tuple[str, ...] = ("models", "weights")

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

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build from the variables the template sets on the function (names listed once, here)."""
        get = env.get
        return cls(
            stage=get("STAGE", ""),
            stack_name=get("STACK_NAME", ""),
            data_bucket=get("DATA_BUCKET", ""),
            models_bucket=get("MODELS_BUCKET", ""),
            checkpoints_bucket=get("CHECKPOINTS_BUCKET", ""),
            sagemaker_role_arn=get("SAGEMAKER_ROLE_ARN", ""),
            training_image_uri=get("TRAINING_IMAGE_URI", ""),
            instance_types=tuple(
                t.strip() for t in get("TRAINING_INSTANCE_TYPES", "").split(",") if t.strip()
            ),
            default_instance_type=get("DEFAULT_INSTANCE_TYPE", ""),
            job_name_prefix=get("TRAINING_JOB_PREFIX", ""),
            idempotency_table=get("IDEMPOTENCY_TABLE", ""),
            idempotency_window_s=int(get("IDEMPOTENCY_WINDOW_S", "86400")),
            volume_size_gb=int(get("TRAINING_VOLUME_GB", "30")),
            default_max_runtime_s=int(get("DEFAULT_MAX_RUNTIME_S", str(4 * 3600))),
            max_runtime_cap_s=int(get("MAX_RUNTIME_CAP_S", str(24 * 3600))),
            cors_allow_origin=get("CORS_ALLOW_ORIGIN", ""),
        )


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once; a misconfigured stack fails at cold start, loudly)."""
    return Settings.from_env(os.environ)
