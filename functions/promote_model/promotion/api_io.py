"""The HTTP edge: read what the API Gateway event carries, write JSON responses and errors."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import ValidationError

from promotion.errors import InvalidRequest, PromotionError, ValidationFailed
from promotion.schemas import ChangeRequest

DEFAULT_LIST_LIMIT = 20


def change_request(event: APIGatewayProxyEvent) -> ChangeRequest:
    """The optional JSON body of promote/rollback (`{"reason": "..."}`); an empty body is fine."""
    text = event.decoded_body
    if text is None or not text.strip():
        return ChangeRequest()
    try:
        body = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return ChangeRequest.model_validate(body, strict=True)


def requester(event: APIGatewayProxyEvent) -> str:
    """The IAM identity API Gateway verified (SigV4); recorded in the pointer as its actor."""
    identity = event.request_context.identity
    return identity.user_arn or identity.caller or "unknown"


def list_limit(event: APIGatewayProxyEvent) -> int:
    raw = event.get_query_string_value("limit")
    if raw is None:
        return DEFAULT_LIST_LIMIT
    if not re.fullmatch(r"[0-9]{1,6}", raw):
        raise InvalidRequest("query parameter limit must be a non-negative integer")
    return int(raw)


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


def from_validation(exc: ValidationError) -> PromotionError:
    """Pydantic's errors as a 422 that names each field and what is wrong with it."""
    details = [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "problem": err["msg"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details)
    return ValidationFailed(f"invalid request body: {summary}", details=details)


# Everything the handler maps to an HTTP error (registered once with `app.exception_handler`).
REFUSALS: list[type[Exception]] = [PromotionError, ValidationError]


def as_error(exc: Exception) -> PromotionError:
    if isinstance(exc, PromotionError):
        return exc
    if isinstance(exc, ValidationError):
        return from_validation(exc)
    raise TypeError(f"not an API refusal: {exc!r}")


def error_response(exc: PromotionError) -> Response:
    headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else None
    return json_response(exc.status, exc.body(), headers)
