"""Route logic of the inference API: Powertools' event in, a `Response` out. The handler wires it."""

from __future__ import annotations

import time
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import Metrics, MetricUnit
from pydantic import ValidationError

from apiedge.http import json_object
from invoice_core.detect.model import LoadedModel
from invoice_core.front import Result, read_document
from invoice_core.respond.render import render_jpeg, render_json
from serving.errors import BadRequest
from serving.inputs import prefers_jpeg, read_request
from serving.schemas import UploadUrlRequest, describe
from serving.settings import Settings
from serving.storage import fetch_upload, presign_upload

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

JSON = "application/json"
logger = Logger(child=True)  # shares the handler logger's settings and correlation id


def infer(
    event: APIGatewayProxyEvent,
    *,
    model: LoadedModel,
    settings: Settings,
    s3: Callable[[], Any],
    metrics: Metrics,
) -> Response:
    """POST /infer: detections and (unless `fields=0`) the values read, as JSON or an annotated JPEG."""
    started = time.perf_counter()
    request = read_request(
        event,
        max_bytes=settings.max_body_bytes,
        fetch_s3=lambda uri: fetch_upload(
            s3(),
            uri,
            bucket=settings.upload_bucket,
            prefix=settings.upload_prefix,
            max_bytes=settings.max_object_bytes,
        ),
    )
    options = request.core_options(read_default=settings.read_fields)
    result = read_document(
        request.data, model, options, kind=request.kind, limits=settings.limits, policy=settings.policy
    )
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    _record(metrics, result, request.source, elapsed_ms)
    logger.info(
        "inference",
        extra={
            "source": request.source,
            "kind": request.kind,
            "pages": len(result.pages),
            "detections": result.detection_count,
            "model_version": model.info.version,
            "timings_ms": {k: round(v, 2) for k, v in result.timings_ms.items()},
        },
    )
    headers = {"X-Model-Version": model.info.version, "Vary": "Accept"}
    if request.options.annotate or prefers_jpeg(event.headers.get("accept")):
        image = render_jpeg(result, quality=settings.jpeg_quality, max_side=settings.annotated_max_side)
        headers["X-Detections"] = str(result.detection_count)
        return Response(HTTPStatus.OK, "image/jpeg", image, headers)
    return Response(HTTPStatus.OK, JSON, render_json(result, request_ms=elapsed_ms), headers)


def upload_url(event: APIGatewayProxyEvent, *, settings: Settings, client: Any, metrics: Metrics) -> Response:
    """POST /infer/upload-url: a presigned POST for inputs above Lambda's 6 MB payload limit."""
    body = json_object(event.decoded_body, allow_empty=True)
    try:
        request = UploadUrlRequest.model_validate(body)
    except ValidationError as exc:
        raise BadRequest(describe(exc)) from exc
    grant = presign_upload(
        client,
        bucket=settings.upload_bucket,
        prefix=settings.upload_prefix,
        content_type=request.content_type,
        filename=request.filename,
        expires_s=settings.upload_url_expires_s,
        max_bytes=settings.max_object_bytes,
    )
    metrics.add_metric(name="UploadUrlsIssued", unit=MetricUnit.Count, value=1)
    return Response(HTTPStatus.OK, JSON, grant)


def _record(metrics: Metrics, result: Result, source: str, elapsed_ms: float) -> None:
    metrics.add_dimension(name="ModelVersion", value=result.model.info.version)
    metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=elapsed_ms)
    metrics.add_metric(
        name="InferenceTime", unit=MetricUnit.Milliseconds, value=result.timings_ms["inference"]
    )
    metrics.add_metric(name="Detections", unit=MetricUnit.Count, value=result.detection_count)
    metrics.add_metric(name="Pages", unit=MetricUnit.Count, value=len(result.pages))
    metrics.add_metadata(key="source", value=source)
    if result.model.info.fallback_reason:  # served, but not by the model that was asked for
        metrics.add_metric(name="FallbackModelResponses", unit=MetricUnit.Count, value=1)
