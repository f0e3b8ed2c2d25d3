"""AWS errors as domain errors: one mapping for every S3, SSM, SageMaker and DynamoDB call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from apiedge.errors import ApiError, Throttled, UpstreamError, UpstreamUnavailable

THROTTLING = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown"}
)
NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound", "ResourceNotFound", "ParameterNotFound"})
UNAVAILABLE = frozenset({"ServiceUnavailable", "InternalError", "InternalFailure", "503", "500"})
# botocore's ways of saying "the endpoint could not be reached or did not answer in time".
CONNECTIVITY = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)

# A function's own codes (e.g. SageMaker's ResourceLimitExceeded) before the common ones.
Translator = Callable[[str, str, str], ApiError | None]


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


def is_not_found(exc: ClientError) -> bool:
    """S3 404/NoSuchKey, SSM ParameterNotFound, SageMaker ValidationException 'Could not find'."""
    code = error_code(exc)
    if code in NOT_FOUND:
        return True
    message = error_message(exc).lower()
    return code == "ValidationException" and ("could not find" in message or "not found" in message)


def translate(exc: ClientError, action: str, specific: Translator | None = None) -> ApiError:
    """The domain error for an AWS error the caller should hear about."""
    code, message = error_code(exc), error_message(exc)
    if specific is not None and (mapped := specific(code, message, action)) is not None:
        return mapped
    if code in THROTTLING:
        return Throttled(f"{action}: AWS is throttling requests; retry after a short pause")
    if code in UNAVAILABLE:
        return UpstreamUnavailable(f"{action}: AWS is unavailable ({code}); retry later")
    return UpstreamError(f"{action}: {code or 'AWS error'}: {message}")


def translate_botocore(exc: BotoCoreError, action: str) -> ApiError:
    """Connection failures and timeouts are 503 (retry); other client-side faults 502."""
    if isinstance(exc, CONNECTIVITY):
        return UpstreamUnavailable(f"{action}: the AWS endpoint could not be reached; retry later")
    return UpstreamError(f"{action}: {type(exc).__name__}")


@contextmanager
def aws_call(action: str, specific: Translator | None = None) -> Iterator[None]:
    """Run AWS calls, raising domain errors instead of botocore's."""
    try:
        yield
    except ClientError as exc:
        raise translate(exc, action, specific) from exc
    except BotoCoreError as exc:
        raise translate_botocore(exc, action) from exc
