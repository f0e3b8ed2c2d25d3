"""Domain errors of model promotion, on the shared edge's `ApiError` (one JSON shape, mapped once).

Status codes (decided here, documented in one place):
- 400 `invalid_request`: the body is not a JSON object (or nested too deeply), a path, query or
  header value is malformed.
- 422 `validation_failed`: the body is JSON but breaks the contract (unknown keys, lengths).
- 404 `version_not_found`: no such model version, and no finished training job of that name.
- 409 `nothing_to_roll_back`: the current model has no previous version.
- 409 `previous_model_missing`: the previous version's files are gone from the models bucket.
- 409 `conflict`: the pointer moved since the caller (or this request) read it: the caller's
  `If-Match` / `expected_version` is stale, or another promotion committed first. Nothing was
  changed; re-read `GET /models` and retry.
- 422 `artifact_invalid`: the job's model.tar.gz lacks model.onnx or a readable metrics.json, a
  model lies outside this stack's models bucket and `models/` prefix, or the model file's sha256
  is not the one recorded when it was published (the pointer is not moved to a file that
  differs from what was gated).
- 429 `throttled`, 503 `upstream_unavailable` (both with Retry-After), 502 `upstream_error`: an
  AWS call failed; nothing was changed.

For EventBridge events (no HTTP caller) the same classes decide what happens: `ArtifactInvalid`
is permanent (logged, counted, not retried); AWS errors and conflicts propagate so Lambda retries
the event (the retry re-reads the pointer and gates against whatever serves then).
"""

from __future__ import annotations

from apiedge.errors import (
    ApiError,
    Conflict,
    InvalidRequest,
    Throttled,
    UpstreamError,
    UpstreamUnavailable,
    ValidationFailed,
)

__all__ = [
    "ApiError",
    "ArtifactInvalid",
    "ChecksumMismatch",
    "InvalidRequest",
    "NothingToRollBack",
    "PointerConflict",
    "PreviousModelMissing",
    "Throttled",
    "UpstreamError",
    "UpstreamUnavailable",
    "ValidationFailed",
    "VersionNotFound",
]


class VersionNotFound(ApiError):
    status = 404
    code = "version_not_found"


class NothingToRollBack(ApiError):
    status = 409
    code = "nothing_to_roll_back"


class PreviousModelMissing(ApiError):
    status = 409
    code = "previous_model_missing"


class PointerConflict(Conflict):
    """The pointer is no longer at the version this change was built on (409 `conflict`)."""

    retry_after_s = 1


class ArtifactInvalid(ApiError):
    status = 422
    code = "artifact_invalid"


class ChecksumMismatch(ArtifactInvalid):
    """The model file in S3 is not the file that was published (its sha256 differs)."""
