"""One frozen settings object, read from the environment once (template Parameters -> env -> here)."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from apiedge.settings import EnvSettings


class Settings(EnvSettings):
    """What differs between stacks; never taken from a request or an event. Aliases are the
    variable names template.yaml sets on PromoteModelFunction."""

    stage: str = Field(alias="STAGE", min_length=1)
    models_bucket: str = Field(alias="MODELS_BUCKET", min_length=3)
    pointer_parameter: str = Field(alias="MODEL_POINTER_PARAMETER", pattern=r"^/?[A-Za-z0-9_.\-/]{1,1011}$")
    # The DynamoDB table whose one item per pointer serialises pointer moves (promotion/lock.py).
    pointer_lock_table: str = Field(alias="POINTER_LOCK_TABLE", pattern=r"^[A-Za-z0-9_.\-]{3,255}$")
    job_name_prefix: str = Field(alias="TRAINING_JOB_PREFIX", min_length=1)
    min_map50_95: float = Field(alias="PROMOTION_MIN_MAP50_95", ge=0, le=1)
    max_regression: float = Field(alias="PROMOTION_MAX_REGRESSION", ge=0, le=1)
    # The baked-in model's mAP50-95: the baseline while no promoted model is served (0: none).
    baked_in_map50_95: float = Field(alias="PROMOTION_BAKED_IN_MAP50_95", ge=0, le=1)
    cors_allow_origin: str = Field(default="", alias="CORS_ALLOW_ORIGIN")
    # Key layout in the models bucket; the template's policies name the same prefixes.
    output_prefix: str = "training-output"
    models_prefix: str = "models"
    history_limit: int = Field(default=20, ge=1, le=100)
    # How long a pointer move may hold the lock before others may take it over (a crashed holder
    # blocks moves for at most this long); the write itself must start within half of it.
    lock_lease_s: int = Field(default=60, ge=10, le=900)


@cache
def get_settings() -> Settings:
    """The process-wide settings (a misconfigured stack fails at cold start, loudly)."""
    return Settings.from_env()
