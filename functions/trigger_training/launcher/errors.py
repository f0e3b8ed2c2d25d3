"""Domain errors of the training API, on the shared edge's `apiedge.errors.ApiError`.

`apiedge.http.install` maps every `ApiError` to the one JSON error body of the stack
(`{"error", "message", "status", "request_id"[, "details"]}`). Status codes (decided here):
- 400 `invalid_request`: the body is not a JSON object (or is nested too deeply), a query
  parameter or path is malformed.
- 422 `validation_failed`: the body is JSON but breaks the contract (unknown keys, ranges,
  a dataset outside the data bucket, base weights outside the stack's own model prefixes, ...).
- 422 `dataset_not_found` / `weights_not_found`: the referenced S3 object does not exist.
- 422 `idempotency_key_reused`: the same Idempotency-Key came with a different body
  (as the IETF Idempotency-Key draft recommends); 409 `request_in_progress`: the first request
  with this key has not finished yet.
- 404 `job_not_found`: no such job in this stack.
- 429 `throttled`: AWS throttled us; retry after a pause (the request was not launched).
- 503 `capacity_exhausted`: SageMaker's ResourceLimitExceeded. It is the account's quota (Spot
  instances of that type, concurrent jobs), not the caller's request rate, so not 429: the
  service cannot take the job now; it may succeed once running jobs end, or needs a quota raise.
- 503 `upstream_unavailable`: an AWS endpoint could not be reached or timed out (Retry-After).
- 502 `upstream_error`: any other AWS error the caller cannot fix by changing the request.
"""

from __future__ import annotations

from apiedge.errors import (
    ApiError,
    InvalidRequest,
    Throttled,
    UpstreamError,
    UpstreamUnavailable,
    ValidationFailed,
)

__all__ = [
    "ApiError",
    "CapacityExhausted",
    "DatasetNotFound",
    "IdempotencyKeyReused",
    "InvalidRequest",
    "JobNameConflict",
    "JobNotFound",
    "RequestInProgress",
    "Throttled",
    "UpstreamError",
    "UpstreamUnavailable",
    "ValidationFailed",
    "WeightsNotFound",
]


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


class CapacityExhausted(ApiError):
    status = 503
    code = "capacity_exhausted"
    retry_after_s = 300
