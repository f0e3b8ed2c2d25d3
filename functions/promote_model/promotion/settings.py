"""One frozen settings object, read from the environment once (template Parameters -> env -> here)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """What differs between stacks; never taken from a request or an event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str = Field(min_length=1)
    models_bucket: str = Field(min_length=3)
    pointer_parameter: str = Field(pattern=r"^/?[A-Za-z0-9_.\-/]{1,1011}$")
    job_name_prefix: str = Field(min_length=1)
    min_map50_95: float = Field(ge=0, le=1)
    max_regression: float = Field(ge=0, le=1)
    # The baked-in model's mAP50-95: the baseline while no promoted model is served (0: none).
    baked_in_map50_95: float = Field(ge=0, le=1)
    cors_allow_origin: str = ""
    # Key layout in the models bucket; the template's policies name the same prefixes.
    output_prefix: str = "training-output"
    models_prefix: str = "models"
    history_limit: int = Field(default=20, ge=1, le=100)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build from the variables the template sets on the function (names listed once, here)."""
        get = env.get
        return cls(
            stage=get("STAGE", ""),
            models_bucket=get("MODELS_BUCKET", ""),
            pointer_parameter=get("MODEL_POINTER_PARAMETER", ""),
            job_name_prefix=get("TRAINING_JOB_PREFIX", ""),
            min_map50_95=float(get("PROMOTION_MIN_MAP50_95", "nan")),
            max_regression=float(get("PROMOTION_MAX_REGRESSION", "nan")),
            baked_in_map50_95=float(get("PROMOTION_BAKED_IN_MAP50_95", "nan")),
            cors_allow_origin=get("CORS_ALLOW_ORIGIN", ""),
        )


@cache
def get_settings() -> Settings:
    """The process-wide settings (a misconfigured stack fails at cold start, loudly)."""
    return Settings.from_env(os.environ)
