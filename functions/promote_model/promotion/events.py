"""The EventBridge path: "SageMaker Training Job State Change" in, an outcome out (logged, counted).

Permanent problems (a malformed event, an artefact without model.onnx or usable metrics) are
logged and counted, and the event is consumed: retrying cannot fix them. AWS errors, and a
conflict with a concurrent pointer move (409), propagate, so Lambda retries the asynchronous
invocation (which re-reads the pointer and gates against what serves then) and then hands it to
the dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import parse
from pydantic import ValidationError

from promotion.errors import ArtifactInvalid
from promotion.schemas import TrainingJobStateChange
from promotion.service import Promoter

SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Training Job State Change"
METRIC_BY_OUTCOME = {
    "promoted": "ModelPromoted",
    "rejected": "ModelRejected",
    "failed": "PromotionFailed",
    "already_promoted": "PromotionReplayed",
    "ignored": "PromotionIgnored",
}


def is_state_change(event: dict[str, Any]) -> bool:
    return event.get("source") == SOURCE and event.get("detail-type") == DETAIL_TYPE


def handle(event: dict[str, Any], promoter: Promoter, logger: Logger, metrics: Metrics) -> dict[str, Any]:
    try:
        change = parse(event=event, model=TrainingJobStateChange)
    except ValidationError as exc:
        outcome: dict[str, Any] = {
            "outcome": "failed",
            "reason": f"malformed event: {exc.error_count()} problem(s)",
        }
        logger.error(
            "training job state change not understood", extra={"errors": exc.errors(include_url=False)}
        )
    else:
        job = change.detail.TrainingJobName
        try:
            outcome = promoter.on_state_change(change.detail)
        except ArtifactInvalid as exc:
            outcome = {"outcome": "failed", "job_name": job, "reason": exc.message}
        except Exception:
            metrics.add_metric(name="PromotionFailed", unit=MetricUnit.Count, value=1)
            logger.exception("promotion failed; the event will be retried", extra={"job_name": job})
            raise
    level = {"promoted": "info", "rejected": "warning", "failed": "error"}.get(outcome["outcome"], "info")
    getattr(logger, level)(f"model {outcome['outcome']}", extra=outcome)
    metrics.add_metric(name=METRIC_BY_OUTCOME[outcome["outcome"]], unit=MetricUnit.Count, value=1)
    return outcome
