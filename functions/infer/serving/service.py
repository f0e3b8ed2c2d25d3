"""Route logic of the inference function: event in, Powertools `Response` out. The handler wires it."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import Metrics, MetricUnit
from pydantic import ValidationError

from serving.errors import BadRequest, ServingError
from serving.inputs import prefers_jpeg, read_request
from serving.model import LoadedModel
from serving.pipeline import Analysis, analyse, to_jpeg, to_json
from serving.schemas import UploadUrlRequest, describe
from serving.settings import Settings
from serving.storage import fetch_upload, presign_upload

JSON = "application/json"
logger = Logger(child=True)  # shares the handler logger's settings and correlation id


def infer(
    event: Mapping[str, Any],
    *,
    model: LoadedModel,
    settings: Settings,
    s3: Callable[[], Any],
    metrics: Metrics,
) -> Response:
    """POST /infer: detections as JSON, or an annotated JPEG when asked for."""
    started = time.perf_counter()
    request = read_request(
        event,
        max_bytes=settings.max_body_bytes,
        fetch_s3=lambda uri: fetch_upload(
            s3(), uri, bucket=settings.upload_bucket, max_bytes=settings.max_object_bytes
        ),
    )
    analysis = analyse(request, model, settings)
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    _record(metrics, analysis, request.source, elapsed_ms)
    logger.info(
        "inference",
        extra={
            "source": request.source,
            "kind": request.kind,
            "pages": len(analysis.pages),
            "detections": analysis.detection_count,
            "model_version": model.info.version,
            "timings_ms": {k: round(v, 2) for k, v in analysis.timings_ms.items()},
        },
    )
    headers = {"X-Model-Version": model.info.version, "Vary": "Accept"}
    accept = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}.get("accept")
    if request.options.annotate or prefers_jpeg(accept):
        image = to_jpeg(analysis, quality=settings.jpeg_quality, max_side=settings.annotated_max_side)
        headers["X-Detections"] = str(analysis.detection_count)
        return Response(HTTPStatus.OK, "image/jpeg", image, headers)
    return Response(HTTPStatus.OK, JSON, to_json(analysis, request_ms=elapsed_ms), headers)


def upload_url(event: Mapping[str, Any], *, settings: Settings, client: Any, metrics: Metrics) -> Response:
    """POST /infer/upload-url: a presigned PUT for inputs above Lambda's 6 MB payload limit."""
    body = _json_body(event)
    try:
        request = UploadUrlRequest.model_validate(body or {})
    except ValidationError as exc:
        raise BadRequest(describe(exc)) from exc
    grant = presign_upload(
        client,
        bucket=settings.upload_bucket,
        prefix=settings.upload_prefix,
        content_type=request.content_type,
        filename=request.filename,
        expires_s=settings.upload_url_expires_s,
    )
    metrics.add_metric(name="UploadUrlsIssued", unit=MetricUnit.Count, value=1)
    return Response(HTTPStatus.OK, JSON, grant)


def refusal(exc: ServingError, request_id: str | None, metrics: Metrics) -> Response:
    """The 4xx JSON body every refusal shares (counted, by error code in the metadata)."""
    metrics.add_metric(name="Refused", unit=MetricUnit.Count, value=1)
    metrics.add_metadata(key="refusal", value=exc.code)
    body = {"error": exc.code, "message": exc.message, "status": int(exc.status), "request_id": request_id}
    return Response(exc.status, JSON, body)


def failure(request_id: str | None, metrics: Metrics) -> Response:
    """A server fault: generic message (details go to the log, not the client)."""
    metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=1)
    body = {"error": "internal_error", "message": "internal error", "status": 500, "request_id": request_id}
    return Response(HTTPStatus.INTERNAL_SERVER_ERROR, JSON, body)


def _record(metrics: Metrics, analysis: Analysis, source: str, elapsed_ms: float) -> None:
    metrics.add_dimension(name="ModelVersion", value=analysis.model.info.version)
    metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=elapsed_ms)
    metrics.add_metric(
        name="InferenceTime", unit=MetricUnit.Milliseconds, value=analysis.timings_ms["inference"]
    )
    metrics.add_metric(name="Detections", unit=MetricUnit.Count, value=analysis.detection_count)
    metrics.add_metric(name="Pages", unit=MetricUnit.Count, value=len(analysis.pages))
    metrics.add_metadata(key="source", value=source)
    if analysis.model.info.fallback_reason:  # served, but not by the model that was asked for
        metrics.add_metric(name="FallbackModelResponses", unit=MetricUnit.Count, value=1)


def _json_body(event: Mapping[str, Any]) -> Any:
    text = event.get("body")
    if not text:
        return None
    try:
        raw = base64.b64decode(text) if event.get("isBase64Encoded") else text
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from exc
