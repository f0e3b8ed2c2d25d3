"""Domain exceptions of the inference function. Each carries its HTTP status and a stable code;
the handler maps them to JSON responses in one place."""

from __future__ import annotations

from http import HTTPStatus


class ServingError(Exception):
    """Base: a request the function refuses, with a message meant for the client."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    code: str = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ServingError):
    """Malformed request: empty body, bad JSON, bad base64, bad multipart, missing field."""


class InvalidOption(ServingError):
    """An option is unknown, given twice or out of range."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "invalid_option"


class UnsupportedMediaType(ServingError):
    """Content-Type (or the bytes behind it) is not a kind the endpoint reads."""

    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"


class PayloadTooLarge(ServingError):
    """Body, S3 object, page count or pixel count above a configured limit."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"


class TooManyPixels(PayloadTooLarge):
    """Image dimensions (read from the header, before decoding) above the pixel limit."""

    code = "too_many_pixels"


class UndecodableImage(ServingError):
    """The bytes claim to be an image or PDF but cannot be decoded: corrupt, truncated, encrypted."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "undecodable_input"


class ForbiddenSource(ServingError):
    """An S3 reference outside the project's upload bucket."""

    status = HTTPStatus.FORBIDDEN
    code = "forbidden_source"


class SourceNotFound(ServingError):
    """The referenced S3 object does not exist."""

    status = HTTPStatus.NOT_FOUND
    code = "object_not_found"


class RouteNotFound(ServingError):
    """No route for this method and path."""

    status = HTTPStatus.NOT_FOUND
    code = "not_found"


class FeatureDisabled(ServingError):
    """A feature that needs configuration this deployment lacks (e.g. no upload bucket)."""

    status = HTTPStatus.NOT_IMPLEMENTED
    code = "not_configured"


class ModelUnavailable(Exception):
    """No model could be loaded (neither MODEL_URI nor the baked-in file); a server fault, not bad input."""


class PointerUnreadable(Exception):
    """The model pointer (SSM parameter) cannot be read or is not a pointer document. Never reaches
    a client as an error: the function keeps serving its current model and says so."""


class PointerMissing(PointerUnreadable):
    """The model pointer parameter does not exist: the baked-in model is served."""
