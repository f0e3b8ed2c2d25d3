"""The error every function answers with: `{"error", "message", "status", "request_id"}`.

Subclass `ApiError` per domain refusal; the status and a stable machine-readable code live on the
class, the message (capped, so a refusal never echoes a megabyte back) on the instance.
"""

from __future__ import annotations

from typing import Any

MAX_MESSAGE_CHARS = 500
MAX_DETAILS = 20


def cap(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` cut to `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ApiError(Exception):
    """A refusal with its HTTP status, a stable code and a message meant for the client."""

    status: int = 500
    code: str = "internal_error"
    retry_after_s: int | None = None

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = cap(message)
        self.details = [
            {key: cap(str(value), 200) for key, value in item.items()}
            for item in (details or [])[:MAX_DETAILS]
        ]

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        """The JSON error body, the same shape in every function."""
        out: dict[str, Any] = {
            "error": self.code,
            "message": self.message,
            "status": int(self.status),
            "request_id": request_id,
        }
        if self.details:
            out["details"] = self.details
        return out


class InvalidRequest(ApiError):
    """The request cannot be read: not JSON, nested too deep, a malformed path or query value."""

    status = 400
    code = "invalid_request"


class ValidationFailed(ApiError):
    """The request is readable but breaks the contract (unknown keys, ranges, references)."""

    status = 422
    code = "validation_failed"


class RouteNotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    """The state changed under the request (a concurrent write won); re-read and retry."""

    status = 409
    code = "conflict"


class Throttled(ApiError):
    status = 429
    code = "throttled"
    retry_after_s = 5


class UpstreamUnavailable(ApiError):
    """An AWS endpoint could not be reached or timed out: nothing was changed; retry later."""

    status = 503
    code = "upstream_unavailable"
    retry_after_s = 5


class UpstreamError(ApiError):
    """Any other AWS error the caller cannot fix by changing the request."""

    status = 502
    code = "upstream_error"


class InternalError(ApiError):
    """A fault of ours; the details go to the log, never to the client."""

    status = 500
    code = "internal_error"
