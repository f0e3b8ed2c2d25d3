"""Domain errors of the training API; `handler` maps `ApiError` to an HTTP response once.

Status codes (decided here, documented in one place):
- 400 `invalid_request`: the body is not a JSON object, a query parameter or path is malformed.
- 422 `validation_failed`: the body is JSON but breaks the contract (unknown keys, ranges,
  a dataset outside the data bucket, an instance type outside the allowlist, ...).
- 422 `dataset_not_found` / `weights_not_found`: the referenced S3 object does not exist.
- 422 `idempotency_key_reused`: the same Idempotency-Key came with a different body
  (as the IETF Idempotency-Key draft recommends); 409 `request_in_progress`: the first request
  with this key has not finished yet.
- 404 `job_not_found`: no such job in this stack.
- 429 `throttled`: SageMaker throttled us; retry after a pause (the request was not launched).
- 503 `capacity_exhausted`: SageMaker's ResourceLimitExceeded. It is the account's quota (Spot
  instances of that type, concurrent jobs), not the caller's request rate, so not 429: the
  service cannot take the job now; it may succeed once running jobs end, or needs a quota raise.
- 502 `upstream_error`: any other AWS error the caller cannot fix by changing the request.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error with its HTTP status, a stable machine-readable code and a clear message."""

    status: int = 500
    code: str = "internal_error"
    retry_after_s: int | None = None

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


class InvalidRequest(ApiError):
    status = 400
    code = "invalid_request"


class ValidationFailed(ApiError):
    status = 422
    code = "validation_failed"


class DatasetNotFound(ApiError):
    status = 422
    code = "dataset_not_found"


class WeightsNotFound(ApiError):
    status = 422
    code = "weights_not_found"


class IdempotencyKeyReused(ApiError):
    status = 422
    code = "idempotency_key_reused"


class RequestInProgress(ApiError):
    status = 409
    code = "request_in_progress"
    retry_after_s = 5


class JobNameConflict(ApiError):
    status = 409
    code = "job_name_conflict"


class JobNotFound(ApiError):
    status = 404
    code = "job_not_found"


class Throttled(ApiError):
    status = 429
    code = "throttled"
    retry_after_s = 5


class CapacityExhausted(ApiError):
    status = 503
    code = "capacity_exhausted"
    retry_after_s = 300


class UpstreamError(ApiError):
    status = 502
    code = "upstream_error"
