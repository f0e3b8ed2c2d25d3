"""Inference Lambda: POST /infer and POST /infer/upload-url. Wiring only; the logic is in `service`.

Built once per container at import: settings, Powertools, the ONNX session (S3 client on first use,
the X-Ray SDK from the container's second invocation: serving/tracing.py).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from apiedge import http
from serving import service
from serving.errors import as_api_error
from serving.runtime import lazy_s3_client, load_models
from serving.settings import Settings
from serving.tracing import DeferredXRay

SETTINGS = Settings.from_env()
logger = Logger()
tracer = Tracer(auto_patch=False, provider=DeferredXRay())  # SDK from the 2nd invocation on
metrics = Metrics()
app = APIGatewayRestResolver()
s3_client = lazy_s3_client(tracer)
MODELS = load_models(SETTINGS, s3_client, logger, tracer=tracer, metrics=metrics)
http.install(app, logger=logger, metrics=metrics, refused_metric="Refused", adapt=as_api_error)


@app.post("/infer")
@tracer.capture_method(capture_response=False)
def infer() -> Response:
    model = MODELS.for_request()  # checks the model pointer when due (hot swap, serving/swap.py)
    return service.infer(app.current_event, model=model, settings=SETTINGS, s3=s3_client, metrics=metrics)


@app.post("/infer/upload-url")
@tracer.capture_method
def upload_url() -> Response:
    return service.upload_url(app.current_event, settings=SETTINGS, client=s3_client(), metrics=metrics)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
