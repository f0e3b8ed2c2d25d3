"""Translate AWS errors into the API's domain errors (one mapping for every SageMaker/S3 call)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from launcher.errors import (
    ApiError,
    CapacityExhausted,
    JobNameConflict,
    Throttled,
    UpstreamError,
    ValidationFailed,
)

THROTTLING = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown"}
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


def is_not_found(exc: ClientError) -> bool:
    """S3 says 404/NoSuchKey; SageMaker says ValidationException 'Could not find'/'not found'."""
    code = error_code(exc)
    if code in {"404", "NoSuchKey", "NotFound", "ResourceNotFound"}:
        return True
    message = error_message(exc).lower()
    return code == "ValidationException" and ("could not find" in message or "not found" in message)


def translate(exc: ClientError, action: str) -> ApiError:
    """The domain error for an AWS error that the caller should hear about."""
    code, message = error_code(exc), error_message(exc)
    if code in THROTTLING:
        return Throttled(f"{action}: AWS is throttling requests; retry after a short pause")
    if code == "ResourceLimitExceeded":
        return CapacityExhausted(
            f"{action}: the account's SageMaker quota is exhausted ({message}). Retry when running jobs "
            "end, or request a quota increase (Service Quotas: SageMaker spot training instances)"
        )
    if code == "ResourceInUse":
        return JobNameConflict(f"{action}: {message}")
    if code == "ValidationException":
        return ValidationFailed(f"{action}: SageMaker rejected the request: {message}")
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
