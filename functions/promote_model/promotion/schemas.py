"""The shapes promotion reads and writes, validated at the edge (pydantic).

The pointer (the SSM parameter's JSON value) is the contract with the inference function:

    {"model_uri": "s3://<models bucket>/models/<version>/model.onnx" | null,
     "version": "<training job name>" | null, "job_name": ..., "sha256": "<of model.onnx>",
     "metrics": {"mAP50-95": .., "mAP50": .., "precision": .., "recall": ..},
     "promoted_at": "<ISO 8601 UTC>", "action": "gate" | "promote" | "rollback" | "initial",
     "actor": "<IAM ARN or eventbridge>", "reason": "...",
     "previous": {"version": .., "model_uri": .., "metrics": ..} | null}

`model_uri: null` means the baked-in model (the template's initial value says so). Unknown keys
are ignored when reading, so the document can grow without breaking older readers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field

# SageMaker's training job name rule: the version of a model is the job that trained it.
VERSION_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
Action = Literal["initial", "gate", "promote", "rollback"]


class ModelMetrics(BaseModel):
    """The part of the entrypoint's metrics.json that the gate and the pointer carry."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    map50_95: float = Field(alias="mAP50-95", ge=0, le=1)
    map50: float | None = Field(default=None, alias="mAP50", ge=0, le=1)
    precision: float | None = Field(default=None, ge=0, le=1)
    recall: float | None = Field(default=None, ge=0, le=1)

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class ModelRef(BaseModel):
    """Which model: a promoted version, or the baked-in one (version and model_uri None)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    version: str | None = None
    model_uri: str | None = None
    metrics: ModelMetrics | None = None


class ModelPointer(ModelRef):
    """The SSM parameter's document (see the module docstring)."""

    job_name: str | None = None
    sha256: str | None = None
    promoted_at: datetime | None = None
    action: Action | None = None
    actor: str | None = None
    reason: str | None = Field(default=None, max_length=200)
    previous: ModelRef | None = None

    @property
    def baked_in(self) -> bool:
        return self.model_uri is None

    def ref(self) -> ModelRef:
        return ModelRef(version=self.version, model_uri=self.model_uri, metrics=self.metrics)

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def to_parameter(self) -> str:
        """Compact JSON for the parameter (SSM's standard tier holds 4 KB)."""
        return self.model_dump_json(by_alias=True)


class TrainingJobState(BaseModel):
    """The fields of SageMaker's "Training Job State Change" detail that promotion uses."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    TrainingJobName: str = Field(pattern=VERSION_PATTERN)
    TrainingJobStatus: str
    ModelArtifacts: dict[str, str] | None = None
    FailureReason: str | None = None

    @property
    def artifact_uri(self) -> str | None:
        return (self.ModelArtifacts or {}).get("S3ModelArtifacts")


class TrainingJobStateChange(EventBridgeModel):
    """The EventBridge event (Powertools' envelope model with our detail)."""

    detail: TrainingJobState


class ChangeRequest(BaseModel):
    """Body of `POST /models/{version}/promote` and `POST /models/rollback` (optional).

    `expected_version`: the pointer's parameter version the caller last saw (GET /models); the
    change is refused with 409 `conflict` if the pointer has moved since (If-Match does the same).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str | None = Field(default=None, min_length=1, max_length=200)
    expected_version: int | None = Field(default=None, ge=0, le=999_999_999)
