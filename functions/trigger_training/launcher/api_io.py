"""The HTTP edge: read what the API Gateway event carries, write JSON responses and errors."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from pydantic import ValidationError

from launcher.errors import (
    ApiError,
    IdempotencyKeyReused,
    InvalidRequest,
    RequestInProgress,
    ValidationFailed,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_LIST_LIMIT = 20
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces, as the IETF draft's examples


def json_body(event: APIGatewayProxyEvent) -> dict[str, Any]:
    """The body as a JSON object; anything else is a 400."""
    try:
        body = json.loads(event.decoded_body or "")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body


def idempotency_key(event: APIGatewayProxyEvent) -> str | None:
    key = event.headers.get(IDEMPOTENCY_HEADER)  # Powertools' headers are case-insensitive
    if key is None:
        return None
    if not _KEY.match(key):
        raise InvalidRequest(f"{IDEMPOTENCY_HEADER} must be 1-255 printable ASCII characters without spaces")
    return key


def requester(event: APIGatewayProxyEvent) -> str:
    """The IAM identity API Gateway verified (SigV4); recorded in the job's tags."""
    identity = event.request_context.identity
    return identity.user_arn or identity.caller or "unknown"


def list_query(event: APIGatewayProxyEvent) -> dict[str, Any]:
    """`GET /train?limit=&status=&next_token=` as keyword arguments of `JobLookup.recent`."""
    raw_limit = event.get_query_string_value("limit")
    if raw_limit is not None and not re.fullmatch(r"[0-9]{1,6}", raw_limit):
        raise InvalidRequest("query parameter limit must be a non-negative integer")
    return {
        "limit": DEFAULT_LIST_LIMIT if raw_limit is None else int(raw_limit),
        "status_equals": event.get_query_string_value("status"),
        "next_token": event.get_query_string_value("next_token"),
    }


def status_url(event: APIGatewayProxyEvent, job_name: str) -> str:
    """Absolute URL of `GET /train/{job_name}` on the API the request came through."""
    ctx = event.request_context
    return f"https://{ctx.domain_name}/{ctx.stage}/train/{job_name}"


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


def from_validation(exc: ValidationError) -> ApiError:
    """Pydantic's errors as a 422 that names each field and what is wrong with it."""
    details = [
        {
            "field": ".".join(str(p) for p in err["loc"]) or "body",
            "problem": err["msg"].removeprefix("Value error, "),
        }
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details)
    return ValidationFailed(f"invalid training request: {summary}", details=details)


# Everything the handler maps to an HTTP error (registered once with `app.exception_handler`).
REFUSALS: list[type[Exception]] = [
    ApiError,
    ValidationError,
    IdempotencyValidationError,
    IdempotencyAlreadyInProgressError,
]


def as_api_error(exc: Exception) -> ApiError:
    """One of REFUSALS as the domain error that carries its status and message."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ValidationError):
        return from_validation(exc)
    if isinstance(exc, IdempotencyValidationError):
        return IdempotencyKeyReused(
            f"this {IDEMPOTENCY_HEADER} was already used with a different request body"
        )
    if isinstance(exc, IdempotencyAlreadyInProgressError):
        return RequestInProgress(f"a request with this {IDEMPOTENCY_HEADER} or body is still being processed")
    raise TypeError(f"not an API refusal: {exc!r}")


def error_response(exc: ApiError) -> Response:
    headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else None
    return json_response(exc.status, exc.body(), headers)
