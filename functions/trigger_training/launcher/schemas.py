"""The `POST /train` contract: pydantic models validated at the edge (field names are the API).

Rules that depend on the stack (the data bucket, the instance allowlist, runtime caps) read the
frozen settings from the validation context, so one `model_validate` call checks everything a
request can get wrong before anything touches AWS.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from launcher.settings import Settings

ARCHITECTURES: frozenset[str] = frozenset(
    f"{family}{size}" for family in ("yolo26", "yolo11", "yolov8") for size in "nsmlx"
)
DEFAULT_ARCHITECTURE = "yolo26n"
MAX_BATCH = 1024
# S3 "safe characters" only: keys with anything else are refused rather than quoted and guessed at.
_SAFE_KEY = re.compile(r"^[A-Za-z0-9!_.*'()/-]+$")
_MAX_S3_URI = 1024


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key); ValueError for any other shape."""
    if not uri.startswith("s3://"):
        raise ValueError("must be an s3:// URI")
    if len(uri) > _MAX_S3_URI:
        raise ValueError(f"must be at most {_MAX_S3_URI} characters")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError("has no bucket")
    return bucket, key


def _checked_key(key: str) -> str:
    if not key or not _SAFE_KEY.match(key):
        raise ValueError("key must be non-empty and use only letters, digits and !_.*'()/-")
    if key.startswith("/") or "//" in key or any(part in {".", ".."} for part in key.split("/")):
        raise ValueError("key must not contain empty, '.' or '..' path segments")
    return key


def _settings(info: ValidationInfo) -> Settings:
    settings = (info.context or {}).get("settings")
    if not isinstance(settings, Settings):  # a programming error, not bad input
        raise TypeError("validate TrainRequest with context={'settings': Settings}")
    return settings


class UltralyticsArgs(BaseModel):
    """The allowlist of further Ultralytics arguments, with types and bounds (one place: here).

    Each field is passed to the entrypoint as `--<name> <value>`; anything not listed is a 422.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    lr0: float | None = Field(None, gt=0, le=1)
    lrf: float | None = Field(None, gt=0, le=1)
    optimizer: (
        Literal["auto", "SGD", "MuSGD", "Adam", "Adamax", "AdamW", "NAdam", "RAdam", "RMSProp"] | None
    ) = None
    patience: int | None = Field(None, ge=0, le=1000)
    cos_lr: bool | None = None
    close_mosaic: int | None = Field(None, ge=0, le=1000)
    mosaic: float | None = Field(None, ge=0, le=1)
    degrees: float | None = Field(None, ge=0, le=180)
    scale: float | None = Field(None, ge=0, le=0.99)
    translate: float | None = Field(None, ge=0, le=1)
    fliplr: float | None = Field(None, ge=0, le=1)
    hsv_h: float | None = Field(None, ge=0, le=1)
    hsv_s: float | None = Field(None, ge=0, le=1)
    hsv_v: float | None = Field(None, ge=0, le=1)
    rect: bool | None = None
    cache: bool | Literal["ram", "disk"] | None = None  # checked by _cache (errors name the field)
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    warmup_epochs: float | None = Field(None, ge=0, le=100)
    workers: int | None = Field(None, ge=0, le=64)
    # Nominal batch for gradient accumulation: nbs=batch steps the optimiser every batch, which
    # is what made small document datasets converge (models/demo/MODEL_CARD.md).
    nbs: int | None = Field(None, ge=1, le=1024)

    @field_validator("cache", mode="plain")
    @classmethod
    def _cache(cls, value: Any) -> bool | str | None:
        if value is None or isinstance(value, bool) or value in ("ram", "disk"):
            return value
        raise ValueError("must be true, false, 'ram' or 'disk'")

    @model_validator(mode="after")
    def _lr_needs_optimizer(self) -> UltralyticsArgs:
        # optimizer=auto (Ultralytics' default) picks its own lr0; the entrypoint refuses the pair
        # rather than silently ignoring lr0, so refuse it here before any instance starts.
        if self.lr0 is not None and self.optimizer in (None, "auto"):
            raise ValueError(
                "lr0 needs an explicit optimizer (e.g. SGD or AdamW); optimizer=auto sets its own"
            )
        return self

    def given(self) -> dict[str, Any]:
        """Only the arguments the caller set (the entrypoint keeps Ultralytics' defaults otherwise)."""
        return self.model_dump(exclude_none=True)


class TrainRequest(BaseModel):
    """Body of `POST /train`. Validate with `context={"settings": settings}` and `strict=True`."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(description="s3://<data bucket>/<prefix>/ holding data.yaml")
    model: str | None = Field(
        None, description=f"architecture to train from scratch ({DEFAULT_ARCHITECTURE})"
    )
    base_weights: str | None = Field(None, description="s3:// URI of a .pt to fine-tune from")
    epochs: int = Field(100, ge=1, le=1000)
    imgsz: int = Field(640, ge=160, le=1536, multiple_of=32)
    batch: int | Literal["auto"] = Field("auto", description="images per batch (1-1024) or auto (AutoBatch)")
    hyperparameters: UltralyticsArgs = Field(default_factory=UltralyticsArgs)
    instance_type: str | None = None
    spot: bool = True
    max_runtime_s: int | None = Field(None, ge=60)
    max_wait_s: int | None = Field(None, ge=60)

    @field_validator("dataset")
    @classmethod
    def _dataset_in_data_bucket(cls, value: str, info: ValidationInfo) -> str:
        settings = _settings(info)
        bucket, key = parse_s3_uri(value)
        if bucket != settings.data_bucket:
            raise ValueError(f"must be in the project's data bucket s3://{settings.data_bucket}/")
        prefix = _checked_key(key.rstrip("/")) if key.strip("/") else ""
        if not prefix:
            raise ValueError("must name a prefix inside the data bucket, not the bucket root")
        return f"s3://{bucket}/{prefix}/"

    @field_validator("batch", mode="plain")
    @classmethod
    def _batch(cls, value: Any) -> int | str:
        # One plain check instead of a union, so an error names `batch`, not union members.
        if value == "auto" or (type(value) is int and 1 <= value <= MAX_BATCH):
            return value
        raise ValueError(f"must be 'auto' or an integer 1-{MAX_BATCH}")

    @field_validator("model")
    @classmethod
    def _known_architecture(cls, value: str | None) -> str | None:
        if value is not None and value not in ARCHITECTURES:
            raise ValueError(f"unknown architecture; one of {sorted(ARCHITECTURES)}")
        return value

    @field_validator("base_weights")
    @classmethod
    def _weights_in_project_buckets(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        settings = _settings(info)
        bucket, key = parse_s3_uri(value)
        _checked_key(key)
        if not key.endswith(".pt"):
            raise ValueError("must be a .pt file")
        in_models = bucket == settings.models_bucket and key.split("/", 1)[0] in settings.weights_prefixes
        if bucket != settings.data_bucket and not in_models:
            allowed = ", ".join(f"s3://{settings.models_bucket}/{p}/" for p in settings.weights_prefixes)
            raise ValueError(f"must be in s3://{settings.data_bucket}/ or under {allowed}")
        return value

    @field_validator("instance_type")
    @classmethod
    def _allowed_instance_type(cls, value: str | None, info: ValidationInfo) -> str:
        settings = _settings(info)
        if value is None:
            return settings.default_instance_type
        if value not in settings.instance_types:
            raise ValueError(f"not allowed here; one of {list(settings.instance_types)}")
        return value

    @model_validator(mode="after")
    def _limits(self, info: ValidationInfo) -> TrainRequest:
        settings = _settings(info)
        if self.instance_type is None:  # field validators do not run on defaults
            self.instance_type = settings.default_instance_type
        if self.base_weights is None:
            self.model = self.model or DEFAULT_ARCHITECTURE
        elif self.model is not None:  # fine-tuning keeps the architecture of the weights
            raise ValueError("give either model (train from scratch) or base_weights (fine-tune), not both")
        runtime = settings.default_max_runtime_s if self.max_runtime_s is None else self.max_runtime_s
        if runtime > settings.max_runtime_cap_s:
            raise ValueError(f"max_runtime_s must be at most {settings.max_runtime_cap_s} in this stack")
        self.max_runtime_s = runtime
        if not self.spot:
            if self.max_wait_s is not None:
                raise ValueError("max_wait_s applies only to spot training (spot=true)")
            return self
        wait_cap = 2 * settings.max_runtime_cap_s
        wait = min(2 * runtime, wait_cap) if self.max_wait_s is None else self.max_wait_s
        if wait < runtime:  # SageMaker's own rule for Managed Spot
            raise ValueError("max_wait_s must be at least max_runtime_s with spot training")
        if wait > wait_cap:
            raise ValueError(f"max_wait_s must be at most {wait_cap} in this stack")
        self.max_wait_s = wait
        return self

    def normalized(self) -> dict[str, Any]:
        """The request with defaults filled in: equal bodies give equal dicts (idempotency payload)."""
        return self.model_dump(mode="json")
