"""Lambda entry: training job state changes (EventBridge) and `/models` routes (IAM-authenticated)."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from promotion import api_io, events
from promotion.pointer import PointerStore
from promotion.service import Promoter
from promotion.settings import get_settings
from promotion.store import ModelStore

settings = get_settings()
logger, tracer, metrics = Logger(), Tracer(), Metrics()
_aws = Config(retries={"mode": "standard", "max_attempts": 3})
s3, ssm, sagemaker = (boto3.client(name, config=_aws) for name in ("s3", "ssm", "sagemaker"))
promoter = Promoter(settings, s3, sagemaker, ModelStore(s3, settings), PointerStore(ssm, settings))
cors = CORSConfig(allow_origin=settings.cors_allow_origin) if settings.cors_allow_origin else None
app = APIGatewayRestResolver(cors=cors)


@app.get("/models")
def list_models() -> Response:
    return api_io.json_response(200, promoter.listing(api_io.list_limit(app.current_event)))


@app.post("/models/<version>/promote")
def promote(version: str) -> Response:
    actor, reason = api_io.requester(app.current_event), api_io.change_request(app.current_event).reason
    result = promoter.promote(version, actor=actor, reason=reason)
    if result["changed"]:
        metrics.add_metric(name="ModelPromotedManually", unit=MetricUnit.Count, value=1)
        logger.info("model promoted by a person", extra={"version": version, "actor": actor})
    return api_io.json_response(200, result)


@app.post("/models/rollback")
def rollback() -> Response:
    actor, reason = api_io.requester(app.current_event), api_io.change_request(app.current_event).reason
    result = promoter.rollback(actor=actor, reason=reason)
    metrics.add_metric(name="ModelRolledBack", unit=MetricUnit.Count, value=1)
    logger.warning("model rolled back", extra={"to": result["current"]["version"], "actor": actor})
    return api_io.json_response(200, result)


@app.exception_handler(api_io.REFUSALS)
def refused(exc: Exception) -> Response:
    error = api_io.as_error(exc)
    metrics.add_metric(name="ModelRequestRefused", unit=MetricUnit.Count, value=1)
    logger.info(
        "request refused", extra={"status": error.status, "error": error.code, "reason": error.message}
    )
    return api_io.error_response(error)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId || id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if events.is_state_change(event):
        return events.handle(event, promoter, logger, metrics)
    return app.resolve(event, context)
