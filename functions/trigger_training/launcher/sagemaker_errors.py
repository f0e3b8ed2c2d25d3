"""SageMaker's own error codes, before the shared mapping (`apiedge.aws.aws_call(..., specific=)`)."""

from __future__ import annotations

from apiedge.errors import ApiError, ValidationFailed
from launcher.errors import CapacityExhausted, JobNameConflict


def specific(code: str, message: str, action: str) -> ApiError | None:
    """ResourceLimitExceeded -> 503 (quota), ResourceInUse -> 409, ValidationException -> 422."""
    if code == "ResourceLimitExceeded":
        return CapacityExhausted(
            f"{action}: the account's SageMaker quota is exhausted ({message}). Retry when running jobs "
            "end, or request a quota increase (Service Quotas: SageMaker spot training instances)"
        )
    if code == "ResourceInUse":
        return JobNameConflict(f"{action}: {message}")
    if code == "ValidationException":
        return ValidationFailed(f"{action}: SageMaker rejected the request: {message}")
    return None
