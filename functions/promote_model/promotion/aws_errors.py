"""Translate AWS errors into domain errors (one mapping for every S3, SSM and SageMaker call)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from promotion.errors import PromotionError, Throttled, UpstreamError

THROTTLING = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown"}
)
NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound", "ResourceNotFound", "ParameterNotFound"})


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_not_found(exc: ClientError) -> bool:
    """S3 says 404/NoSuchKey, SSM ParameterNotFound, SageMaker ValidationException 'Could not find'."""
    code = error_code(exc)
    if code in NOT_FOUND:
        return True
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return code == "ValidationException" and ("could not find" in message or "not found" in message)


def translate(exc: ClientError, action: str) -> PromotionError:
    code = error_code(exc)
    if code in THROTTLING:
        return Throttled(f"{action}: AWS is throttling requests; retry after a short pause")
    message = exc.response.get("Error", {}).get("Message", "") or str(exc)
    return UpstreamError(f"{action}: {code or 'AWS error'}: {message}")


@contextmanager
def aws_call(action: str) -> Iterator[None]:
    """Run AWS calls, raising domain errors instead of botocore's."""
    try:
        yield
    except ClientError as exc:
        raise translate(exc, action) from exc
    except BotoCoreError as exc:  # connection failures, timeouts: nothing the caller did
        raise UpstreamError(f"{action}: {type(exc).__name__}") from exc
