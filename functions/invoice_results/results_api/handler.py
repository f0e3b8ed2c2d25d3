"""Lambda entry for `GET /invoices/{id}` and `GET /invoices?status=` (API key, like /infer)."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from apiedge import http
from results_api.settings import get_settings
from results_api.store import InvoiceReader

settings = get_settings()
logger, tracer, metrics = Logger(), Tracer(), Metrics()
_aws = Config(connect_timeout=3, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
reader = InvoiceReader(boto3.client("dynamodb", config=_aws), boto3.client("s3", config=_aws), settings)
cors = CORSConfig(allow_origin=settings.cors_allow_origin) if settings.cors_allow_origin else None
app = APIGatewayRestResolver(cors=cors)
http.install(app, logger=logger, metrics=metrics, refused_metric="InvoiceRequestRefused")


@app.get("/invoices")
def list_invoices() -> Response:
    event = app.current_event
    limit = http.query_uint(event.get_query_string_value("limit"), "limit", default=20)
    status, token = event.get_query_string_value("status"), event.get_query_string_value("next_token")
    answer = reader.by_status(status, limit, token)
    metrics.add_metric(name="InvoicesListed", unit=MetricUnit.Count, value=len(answer["invoices"]))
    return http.json_response(200, answer)


@app.get("/invoices/<invoice_id>")
def get_invoice(invoice_id: str) -> Response:
    answer = reader.get(invoice_id)
    metrics.add_metric(name="InvoiceRead", unit=MetricUnit.Count, value=1)
    return http.json_response(200, answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
