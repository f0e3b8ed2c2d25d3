"""Request models validated at the edge: detection options and the JSON body shapes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from invoice_core.errors import InvalidOption
from serving.errors import BadRequest

MAX_DET_LIMIT = 300  # the end-to-end head emits 300 rows; Ultralytics' default max_det


def _split_csv(value: Any) -> Any:
    """`classes=0,3` or `classes=total_amount` in a query string; a JSON list passes through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, int | str):
        return [value]
    return value


def _as_flag(value: Any) -> Any:
    """`?annotate` with no value means yes; pydantic handles 1/0/true/false/yes/no."""
    return True if value == "" else value


class InferOptions(BaseModel):
    """What a client may tune. Unknown keys are refused, not ignored, so typos surface."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conf: float | None = Field(
        None, ge=0.0, le=1.0, description="confidence threshold (default from settings)"
    )
    max_det: int = Field(MAX_DET_LIMIT, ge=1, le=MAX_DET_LIMIT)
    classes: Annotated[tuple[int | str, ...] | None, BeforeValidator(_split_csv)] = Field(
        None, min_length=1, max_length=100, description="class ids or names to keep"
    )
    annotate: Annotated[bool, BeforeValidator(_as_flag)] = False
    # Read the field values (text layer or OCR around the detections). None: the deployment's
    # default (READ_FIELDS, on unless configured off); `fields=0` asks for detections only, at the
    # detector's speed with no OCR. One switch, not a second `detections_only`, so no request can
    # say both, and the old opt-in `fields=1` keeps working.
    fields: Annotated[bool | None, BeforeValidator(_as_flag)] = None
    # Line items (rows of the line_items region) on scans: most of a page's text lines, so most of
    # the OCR time; read only when asked. A PDF's text layer gives them whatever this says.
    items: Annotated[bool, BeforeValidator(_as_flag)] = False

    def read_fields(self, default: bool) -> bool:
        """Whether to read the values: the request's `fields`, else the deployment's default."""
        return default if self.fields is None else self.fields

    @classmethod
    def option_names(cls) -> frozenset[str]:
        """Keys that are options (the rest of a JSON body is the image reference)."""
        return frozenset(cls.model_fields)


class JsonImageRequest(BaseModel):
    """`{"image": "<base64>"}` or `{"s3_uri": "s3://..."}`, options alongside."""

    model_config = ConfigDict(extra="allow", frozen=True)

    image: str | None = Field(None, min_length=1)
    s3_uri: str | None = Field(None, min_length=1)
    filename: str | None = Field(None, max_length=255)

    @model_validator(mode="after")
    def _exactly_one_source(self) -> JsonImageRequest:
        if (self.image is None) == (self.s3_uri is None):
            raise ValueError('give exactly one of "image" (base64) or "s3_uri"')
        return self

    def options(self) -> dict[str, Any]:
        """The extra keys, i.e. the options (validated later by InferOptions)."""
        return dict(self.model_extra or {})


class UploadUrlRequest(BaseModel):
    """Body of `POST /infer/upload-url` (may be empty)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    content_type: str = Field("image/jpeg", max_length=100)
    filename: str | None = Field(None, max_length=255)


def describe(error: ValidationError) -> str:
    """One readable line from pydantic's errors, e.g. `conf: Input should be <= 1`."""
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "body"
        message = "unknown option" if item["type"] == "extra_forbidden" else item["msg"]
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def parse_options(*sources: dict[str, Any]) -> InferOptions:
    """Merge option sources (query string, JSON body, form fields); a key given twice is refused."""
    merged: dict[str, Any] = {}
    for source in sources:
        for key, value in source.items():
            if key in merged:
                raise InvalidOption(f"{key}: option given more than once")
            merged[key] = value
    try:
        return InferOptions.model_validate(merged)
    except ValidationError as exc:
        raise InvalidOption(describe(exc)) from exc


def parse_json_request(payload: Any) -> JsonImageRequest:
    """Validate a decoded JSON body."""
    if not isinstance(payload, dict):
        raise BadRequest('JSON body must be an object like {"image": "<base64>"} or {"s3_uri": "s3://..."}')
    try:
        return JsonImageRequest.model_validate(payload)
    except ValidationError as exc:
        raise BadRequest(describe(exc)) from exc
