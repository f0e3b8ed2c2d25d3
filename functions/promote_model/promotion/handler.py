"""Lambda entry: training job state changes (EventBridge) and `/models` routes (IAM-authenticated)."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from apiedge import http
from promotion import api_input, events
from promotion.lock import PointerLock
from promotion.pointer import PointerStore
from promotion.service import Promoter
from promotion.settings import get_settings
from promotion.store import ModelStore

settings = get_settings()
logger, tracer, metrics = Logger(), Tracer(), Metrics()
_aws = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)
# Pointer calls run inside the lock's lease: 3 x (2 s + 5 s) + backoff stays under half of it.
_quick = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)
s3, sagemaker = (boto3.client(name, config=_aws) for name in ("s3", "sagemaker"))
ssm, dynamodb = (boto3.client(name, config=_quick) for name in ("ssm", "dynamodb"))
pointers = PointerStore(ssm, PointerLock(dynamodb, settings), settings)
promoter = Promoter(settings, s3, sagemaker, ModelStore(s3, settings), pointers)
cors = (  # If-Match in, ETag out: the pointer version a change may be conditional on
    CORSConfig(allow_origin=settings.cors_allow_origin, allow_headers=["If-Match"], expose_headers=["ETag"])
    if settings.cors_allow_origin
    else None
)
app = APIGatewayRestResolver(cors=cors)
http.install(app, logger=logger, metrics=metrics, refused_metric="ModelRequestRefused")


@app.get("/models")
def list_models() -> Response:
    body = promoter.listing(api_input.list_limit(app.current_event))
    return http.json_response(200, body, api_input.etag(body["current"]["parameter_version"]))


@app.post("/models/<version>/promote")
def promote(version: str) -> Response:
    actor, request = http.requester(app.current_event), api_input.change_request(app.current_event)
    result = promoter.promote(
        version, actor=actor, reason=request.reason, expected_version=request.expected_version
    )
    if result["changed"]:
        metrics.add_metric(name="ModelPromotedManually", unit=MetricUnit.Count, value=1)
        logger.info("model promoted by a person", extra={"version": version, "actor": actor})
    return http.json_response(200, result, api_input.etag(result["parameter_version"]))


@app.post("/models/rollback")
def rollback() -> Response:
    actor, request = http.requester(app.current_event), api_input.change_request(app.current_event)
    result = promoter.rollback(actor=actor, reason=request.reason, expected_version=request.expected_version)
    metrics.add_metric(name="ModelRolledBack", unit=MetricUnit.Count, value=1)
    logger.warning("model rolled back", extra={"to": result["current"]["version"], "actor": actor})
    return http.json_response(200, result, api_input.etag(result["parameter_version"]))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId || id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if events.is_state_change(event):
        return events.handle(event, promoter, logger, metrics)
    return app.resolve(event, context)
