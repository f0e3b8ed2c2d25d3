"""Queue worker Lambda (same image as /infer): SQS batches of inbox objects, partial failures.

Built once per container: settings, Powertools, boto3 clients, the model (hot-swapped like /infer).
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from inbox.messages import NotAnObjectEvent, parse_body
from inbox.results import ResultStore
from inbox.settings import InboxSettings
from inbox.worker import Worker
from serving.runtime import load_models

SETTINGS = InboxSettings.from_env()
logger, tracer, metrics = Logger(), Tracer(auto_patch=False), Metrics()
_aws = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
s3, dynamodb, events = (boto3.client(name, config=_aws) for name in ("s3", "dynamodb", "events"))
MODELS = load_models(SETTINGS, lambda: s3, logger, tracer=tracer, metrics=metrics)
store = ResultStore(
    s3=s3,
    dynamodb=dynamodb,
    events=events,
    table=SETTINGS.invoices_table,
    bucket=SETTINGS.invoices_bucket,
    prefix=SETTINGS.results_prefix,
    bus=SETTINGS.event_bus,
    source=SETTINGS.event_source,
)
worker = Worker(SETTINGS, store, s3, MODELS.for_request)
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    """One message; raising marks only this message failed (ReportBatchItemFailures)."""
    try:
        refs = parse_body(record.body)
    except NotAnObjectEvent as exc:  # e.g. s3:TestEvent: nothing to do, nothing to retry
        logger.info("message ignored", extra={"reason": str(exc), "message_id": record.message_id})
        return
    for ref in refs:
        outcome = worker.process(ref)
        metrics.add_metric(name=f"Invoices_{outcome.status}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
