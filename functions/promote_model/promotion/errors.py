"""Domain errors of model promotion; the handler maps `PromotionError` to an HTTP response once.

Status codes (decided here, documented in one place):
- 400 `invalid_request`: the body is not a JSON object, a path or query value is malformed.
- 422 `validation_failed`: the body is JSON but breaks the contract (unknown keys, lengths).
- 404 `version_not_found`: no such model version, and no finished training job of that name.
- 409 `nothing_to_roll_back`: the current model has no previous version.
- 409 `previous_model_missing`: the previous version's files are gone from the models bucket.
- 422 `artifact_invalid`: the job's model.tar.gz lacks model.onnx or a readable metrics.json.
- 429 `throttled` / 502 `upstream_error`: an AWS call failed; nothing was changed.

For EventBridge events (no HTTP caller) the same classes decide what happens: `ArtifactInvalid`
is permanent (logged, counted, not retried); AWS errors propagate so Lambda retries the event.
"""

from __future__ import annotations

from typing import Any


class PromotionError(Exception):
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


class InvalidRequest(PromotionError):
    status = 400
    code = "invalid_request"


class ValidationFailed(PromotionError):
    status = 422
    code = "validation_failed"


class VersionNotFound(PromotionError):
    status = 404
    code = "version_not_found"


class NothingToRollBack(PromotionError):
    status = 409
    code = "nothing_to_roll_back"


class PreviousModelMissing(PromotionError):
    status = 409
    code = "previous_model_missing"


class ArtifactInvalid(PromotionError):
    status = 422
    code = "artifact_invalid"


class Throttled(PromotionError):
    status = 429
    code = "throttled"
    retry_after_s = 5


class UpstreamError(PromotionError):
    status = 502
    code = "upstream_error"
