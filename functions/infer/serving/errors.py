"""The inference API's refusals and the one table that gives each core refusal its HTTP status.

The core (`invoice_core.errors`) says *why* a document is refused; this module says what that means
on the wire. The handler registers `apiedge.http.install(..., adapt=as_api_error)` once.
"""

from __future__ import annotations

from http import HTTPStatus

from apiedge.errors import ApiError, InvalidRequest
from invoice_core import errors as core


class ServingError(ApiError):
    """Base: a request the function refuses, with a message meant for the client."""

    status = HTTPStatus.BAD_REQUEST
    code = "invalid_request"


class BadRequest(ServingError):
    """Malformed request: empty body, bad JSON, bad base64, bad multipart, missing field."""


class UnsupportedMediaType(ServingError):
    """Content-Type (or the bytes behind it) is not a kind the endpoint reads."""

    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"


class PayloadTooLarge(ServingError):
    """Body or S3 object above a configured limit."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"


class ForbiddenSource(ServingError):
    """An S3 reference this caller may not read (outside the uploads this API issued)."""

    status = HTTPStatus.FORBIDDEN
    code = "forbidden_source"


class SourceNotFound(ServingError):
    """The referenced S3 object does not exist."""

    status = HTTPStatus.NOT_FOUND
    code = "object_not_found"


class FeatureDisabled(ServingError):
    """A feature that needs configuration this deployment lacks (e.g. no upload bucket)."""

    status = HTTPStatus.NOT_IMPLEMENTED
    code = "not_configured"


# The core's refusals on the wire (most specific class first).
CORE_STATUS: tuple[tuple[type[core.InputRejected], HTTPStatus], ...] = (
    (core.TooManyPixels, HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    (core.InputTooLarge, HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    (core.UnsupportedInput, HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
    (core.UndecodableInput, HTTPStatus.UNPROCESSABLE_ENTITY),
    (core.RenderLimitExceeded, HTTPStatus.UNPROCESSABLE_ENTITY),
    (core.InvalidOption, HTTPStatus.UNPROCESSABLE_ENTITY),
    (core.InputRejected, HTTPStatus.BAD_REQUEST),
)


def as_api_error(exc: Exception) -> ApiError | None:
    """A core refusal as the API error that carries its status and the core's code."""
    if not isinstance(exc, core.InputRejected):
        return None
    status = next(status for kind, status in CORE_STATUS if isinstance(exc, kind))
    error = InvalidRequest(exc.message)
    error.status, error.code = int(status), exc.code
    return error


class PointerUnreadable(Exception):
    """The model pointer (SSM parameter) cannot be read or is not a pointer document. Never reaches
    a client as an error: the function keeps serving its current model and says so."""


class PointerMissing(PointerUnreadable):
    """The model pointer parameter does not exist: the baked-in model is served."""
