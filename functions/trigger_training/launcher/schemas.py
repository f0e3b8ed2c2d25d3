"""The `POST /train` contract: pydantic models validated at the edge (field names are the API).

Rules that depend on the stack (the data bucket, the instance allowlist, runtime caps) read the
frozen settings from the validation context, so one `model_validate` call checks everything a
request can get wrong before anything touches AWS.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from launcher.settings import Settings
from yolo_train import hp_rules

ARCHITECTURES: frozenset[str] = frozenset(hp_rules.ARCHITECTURES)
DEFAULT_ARCHITECTURE = hp_rules.DEFAULT_ARCHITECTURE
# S3 "safe characters" only: keys with anything else are refused rather than quoted and guessed at.
_SAFE_KEY = re.compile(r"^[A-Za-z0-9!_.*'()/-]+$")
_MAX_S3_URI = 1024
# What SageMaker writes for a finished job (<S3OutputPath>/<job>/output/model.tar.gz); its best.pt
# is the base the entrypoint unpacks (yolo_train.safe_weights.unpack_best).
JOB_MODEL_SUFFIX = "/output/model.tar.gz"


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


def _api_value(rule: hp_rules.Rule) -> Callable[[Any], Any]:
    """The shared rule as a pydantic plain validator ("auto" stays "auto": the entrypoint reads it)."""

    def validate(value: Any) -> Any:
        if value is None:  # not given (a normalized request carries the None back in)
            return None
        checked = rule.check(value)
        return hp_rules.AUTO if checked is None and rule.auto else checked

    return validate


def _field(rule: hp_rules.Rule, default: Any = None) -> tuple[Any, Any]:
    """(annotation, FieldInfo) for one rule of `yolo_train.hp_rules`: pydantic's own bounds for
    plain numbers and booleans, the rule's check for the other kinds (choices, cache, 'auto')."""
    description = f"{rule.help}; {rule.expected()}"
    if rule.kind in {"int", "float"} and not rule.auto:
        base: Any = int if rule.kind == "int" else float
        bounds = {
            k: getattr(rule, k) for k in ("ge", "gt", "le", "multiple_of") if getattr(rule, k) is not None
        }
        if rule.kind == "float":
            bounds["allow_inf_nan"] = False
        annotation = base if default is not None else base | None
        return annotation, Field(default, description=description, **bounds)
    if rule.kind == "bool":
        return (bool if default is not None else bool | None), Field(default, description=description)
    return Annotated[Any, PlainValidator(_api_value(rule))], Field(default, description=description)


class _ArgsBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _needs_optimizer(self) -> _ArgsBase:
        # optimizer=auto (Ultralytics' default) picks its own lr0; the entrypoint refuses the pair
        # rather than silently ignoring lr0, so refuse it here before any instance starts.
        given = [n for n in hp_rules.NEED_EXPLICIT_OPTIMIZER if getattr(self, n, None) is not None]
        optimizer = getattr(self, "optimizer", None)
        if given and optimizer in (None, "auto"):
            names = ", ".join(given)
            raise ValueError(
                f"{names} needs an explicit optimizer (e.g. SGD or AdamW); optimizer=auto sets its own"
            )
        return self

    def given(self) -> dict[str, Any]:
        """Only the arguments the caller set (the entrypoint keeps its defaults otherwise)."""
        return self.model_dump(exclude_none=True)


# The further Ultralytics arguments of POST /train, built from the shared rulebook: each is passed
# to the entrypoint as `--<name> <value>` and checked there by the same rule; anything else is a 422.
UltralyticsArgs = create_model(
    "UltralyticsArgs",
    __base__=_ArgsBase,
    __doc__="Further Ultralytics arguments (yolo_train.hp_rules, the rules marked api).",
    **{r.name: _field(r) for r in hp_rules.API_RULES if r.name not in hp_rules.TOP_LEVEL},
)


_EPOCHS, _IMGSZ = (_field(hp_rules.BY_NAME[n], hp_rules.BY_NAME[n].default) for n in ("epochs", "imgsz"))
_BATCH = _field(hp_rules.BY_NAME["batch"], hp_rules.AUTO)


class TrainRequest(BaseModel):
    """Body of `POST /train`. Validate with `context={"settings": settings}` and `strict=True`."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(description="s3://<data bucket>/<prefix>/ holding data.yaml")
    model: str | None = Field(
        None, description=f"architecture to train from scratch ({DEFAULT_ARCHITECTURE})"
    )
    base_weights: str | None = Field(
        None,
        description="s3:// URI to fine-tune from: a .pt (models/, training-output/) or a job's model.tar.gz",
    )
    epochs: _EPOCHS[0] = _EPOCHS[1]  # type: ignore[valid-type]
    imgsz: _IMGSZ[0] = _IMGSZ[1]  # type: ignore[valid-type]
    batch: _BATCH[0] = _BATCH[1]  # type: ignore[valid-type]
    hyperparameters: UltralyticsArgs = Field(default_factory=UltralyticsArgs)  # type: ignore[valid-type]
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

    @field_validator("model")
    @classmethod
    def _known_architecture(cls, value: str | None) -> str | None:
        if value is not None and value not in ARCHITECTURES:
            raise ValueError(f"unknown architecture; one of {sorted(ARCHITECTURES)}")
        return value

    @field_validator("base_weights")
    @classmethod
    def _weights_from_this_stack(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Ultralytics checkpoints are pickles: only prefixes that this stack alone writes are
        # trusted (the data bucket is written by people and pipelines, so never). The entrypoint
        # checks the same (weights_uri / trusted_weights_prefixes) and loads with weights_only.
        if value is None:
            return None
        settings = _settings(info)
        _, key = parse_s3_uri(value)
        _checked_key(key)
        job_output = key.startswith(f"{settings.output_prefix}/") and key.endswith(JOB_MODEL_SUFFIX)
        if not key.endswith(".pt") and not job_output:
            raise ValueError(
                f"must be a .pt file or a job's {settings.output_prefix}/<job>{JOB_MODEL_SUFFIX}"
            )
        if not any(value.startswith(prefix) for prefix in settings.weights_prefixes):
            raise ValueError(
                f"must be under {' or '.join(settings.weights_prefixes)} (this stack's own models)"
            )
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
