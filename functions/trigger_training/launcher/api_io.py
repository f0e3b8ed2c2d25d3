"""What only the training API reads from a request, and its idempotency refusals as API errors.

The rest of the edge (JSON bodies, query integers, the error shape, AWS faults) is `apiedge`.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError

from apiedge.aws import translate, translate_botocore
from apiedge.errors import ApiError, InvalidRequest
from apiedge.http import query_uint
from launcher.errors import IdempotencyKeyReused, RequestInProgress

IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_LIST_LIMIT = 20
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces, as the IETF draft's examples


def idempotency_key(event: APIGatewayProxyEvent) -> str | None:
    key = event.headers.get(IDEMPOTENCY_HEADER)  # Powertools' headers are case-insensitive
    if key is None:
        return None
    if not _KEY.match(key):
        raise InvalidRequest(f"{IDEMPOTENCY_HEADER} must be 1-255 printable ASCII characters without spaces")
    return key


def list_query(event: APIGatewayProxyEvent) -> dict[str, Any]:
    """`GET /train?limit=&status=&next_token=` as keyword arguments of `JobLookup.recent`."""
    return {
        "limit": query_uint(event.get_query_string_value("limit"), "limit", default=DEFAULT_LIST_LIMIT),
        "status_equals": event.get_query_string_value("status"),
        "next_token": event.get_query_string_value("next_token"),
    }


def status_url(event: APIGatewayProxyEvent, job_name: str) -> str:
    """Absolute URL of `GET /train/{job_name}` on the API the request came through."""
    ctx = event.request_context
    return f"https://{ctx.domain_name}/{ctx.stage}/train/{job_name}"


def adapt(exc: Exception) -> ApiError | None:
    """Powertools' idempotency errors as API errors (for `apiedge.http.install(..., adapt=)`)."""
    if isinstance(exc, IdempotencyValidationError):
        return IdempotencyKeyReused(
            f"this {IDEMPOTENCY_HEADER} was already used with a different request body"
        )
    if isinstance(exc, IdempotencyAlreadyInProgressError):
        return RequestInProgress(f"a request with this {IDEMPOTENCY_HEADER} or body is still being processed")
    if isinstance(exc, IdempotencyPersistenceLayerError):
        # The store (DynamoDB) failed: its own cause says whether to retry (unreachable: 503).
        cause = exc.__cause__ or (exc.args[1] if len(exc.args) > 1 else None)
        if isinstance(cause, BotoCoreError):
            return translate_botocore(cause, "the idempotency store")
        if isinstance(cause, ClientError):
            return translate(cause, "the idempotency store")
    return None
