"""Inference Lambda: POST /infer and POST /infer/upload-url. Wiring only; the logic is in `service`.

Built once per container at import: settings, Powertools, the ONNX session (S3 client on first use).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from serving import service
from serving.errors import RouteNotFound, ServingError
from serving.runtime import lazy_s3_client, load_models
from serving.settings import Settings

SETTINGS = Settings.from_env()
logger = Logger()
tracer = Tracer(auto_patch=False)
metrics = Metrics()
app = APIGatewayRestResolver()
s3_client = lazy_s3_client(tracer)
MODELS = load_models(SETTINGS, s3_client, logger, tracer=tracer, metrics=metrics)


@app.post("/infer")
@tracer.capture_method(capture_response=False)
def infer() -> Response:
    event = app.current_event.raw_event
    model = MODELS.for_request()  # checks the model pointer when due (hot swap, serving/swap.py)
    return service.infer(event, model=model, settings=SETTINGS, s3=s3_client, metrics=metrics)


@app.post("/infer/upload-url")
@tracer.capture_method
def upload_url() -> Response:
    event = app.current_event.raw_event
    return service.upload_url(event, settings=SETTINGS, client=s3_client(), metrics=metrics)


@app.exception_handler([ServingError, NotFoundError])
def refused(exc: ServingError | NotFoundError) -> Response:
    event = app.current_event
    if isinstance(exc, NotFoundError):
        exc = RouteNotFound(f"no route for {event.http_method} {event.path}")
    logger.info("request refused", extra={"code": exc.code, "status": int(exc.status), "reason": exc.message})
    return service.refusal(exc, event.request_context.request_id, metrics)


@app.exception_handler(Exception)
def crashed(_: Exception) -> Response:
    logger.exception("unhandled error")
    return service.failure(app.current_event.request_context.request_id, metrics)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
