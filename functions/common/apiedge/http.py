"""The HTTP side of the edge: read JSON safely, answer JSON, and map every exception once.

`install(app, ...)` registers the exception handlers on a Powertools resolver, so every function
answers a refusal, an AWS fault or a crash with the same JSON body (never Lambda's bare 502).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from apiedge.aws import translate, translate_botocore
from apiedge.errors import ApiError, InternalError, InvalidRequest, RouteNotFound, ValidationFailed

MAX_JSON_DEPTH = 32  # no request of this stack nests deeper than a few levels
_UINT = re.compile(r"[0-9]{1,6}")  # ASCII digits only: str.isdigit() accepts "²", int() does not


def loads_json(text: str | bytes | None, *, what: str = "the body", allow_empty: bool = False) -> Any:
    """`json.loads` with every way it can fail (bad syntax, bad UTF-8, a 100,000-deep nest that
    overflows the parser's recursion, an integer past Python's digit limit) as a 400."""
    if text is None or not str(text if isinstance(text, str) else text.decode("latin-1")).strip():
        if allow_empty:
            return None
        raise InvalidRequest(f"{what} is empty; send a JSON object")
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise InvalidRequest(f"{what} is nested too deeply (limit {MAX_JSON_DEPTH} levels)") from exc
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError and the int digit limit
        raise InvalidRequest(f"{what} is not valid JSON: {exc}") from exc
    if _depth(value) > MAX_JSON_DEPTH:
        raise InvalidRequest(f"{what} is nested too deeply (limit {MAX_JSON_DEPTH} levels)")
    return value


def json_object(
    text: str | bytes | None, *, what: str = "the body", allow_empty: bool = False
) -> dict[str, Any]:
    """The body as a JSON object (an empty body is `{}` when `allow_empty`)."""
    value = loads_json(text, what=what, allow_empty=allow_empty)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest(f"{what} must be a JSON object")
    return value


def _depth(value: Any) -> int:
    """Nesting depth without recursion (a parsed document may still be deep enough to hurt)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                return level
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def query_uint(raw: str | None, name: str, *, default: int) -> int:
    """A non-negative integer query parameter, ASCII digits only."""
    if raw is None:
        return default
    if not _UINT.fullmatch(raw):
        raise InvalidRequest(f"query parameter {name} must be a non-negative integer")
    return int(raw)


def requester(event: Any) -> str:
    """The IAM identity API Gateway verified (SigV4), for tags and audit fields."""
    identity = event.request_context.identity
    return identity.user_arn or identity.caller or "unknown"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


def error_response(error: ApiError, request_id: str | None) -> Response:
    headers = {"Retry-After": str(error.retry_after_s)} if error.retry_after_s else None
    return json_response(error.status, error.body(request_id), headers)


def from_validation(exc: ValidationError, summary: str = "invalid request") -> ValidationFailed:
    """Pydantic's errors as a 422 that names each field and what is wrong with it."""
    details = [
        {
            "field": ".".join(str(p) for p in err["loc"]) or "body",
            "problem": err["msg"].removeprefix("Value error, "),
        }
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    text = "; ".join(f"{d['field']}: {d['problem']}" for d in details)
    return ValidationFailed(f"{summary}: {text}", details=details)


# A function's own refusals that are not ApiError (e.g. Powertools idempotency errors).
Adapter = Callable[[Exception], ApiError | None]


def as_api_error(exc: Exception, adapt: Adapter | None = None) -> ApiError | None:
    """The refusal an exception stands for; None for a genuine fault (a bug)."""
    mapped = adapt(exc) if adapt is not None else None
    if mapped is None and isinstance(exc, ApiError):
        mapped = exc
    elif mapped is None and isinstance(exc, ValidationError):
        mapped = from_validation(exc)
    elif mapped is None and isinstance(exc, RecursionError):
        mapped = InvalidRequest(f"the request is nested too deeply (limit {MAX_JSON_DEPTH} levels)")
    elif mapped is None and isinstance(exc, ClientError):
        mapped = translate(exc, "calling AWS")
    elif mapped is None and isinstance(exc, BotoCoreError):
        mapped = translate_botocore(exc, "calling AWS")
    return mapped


def install(
    app: ApiGatewayResolver,
    *,
    logger: Logger,
    metrics: Metrics,
    refused_metric: str,
    adapt: Adapter | None = None,
) -> None:
    """Register the exception handlers: every outcome of a route is a JSON body of one shape."""

    def request_id() -> str | None:
        return app.current_event.request_context.request_id

    @app.exception_handler(NotFoundError)
    def _no_route(_: NotFoundError) -> Response:
        event = app.current_event
        return error_response(RouteNotFound(f"no route for {event.http_method} {event.path}"), request_id())

    @app.exception_handler(Exception)
    def _any(exc: Exception) -> Response:
        error = as_api_error(exc, adapt)
        if error is None:
            logger.exception("unhandled error")
            metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=1)
            return error_response(InternalError("internal error"), request_id())
        log = logger.warning if error.status >= 500 else logger.info
        log("request refused", extra={"status": error.status, "error": error.code, "reason": error.message})
        metrics.add_metric(name=refused_metric, unit=MetricUnit.Count, value=1)
        return error_response(error, request_id())
