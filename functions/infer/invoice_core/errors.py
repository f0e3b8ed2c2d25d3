"""Why the core refuses a document. Each class has a stable `code`; adapters decide what it means
for their caller (an HTTP status for the API, a `rejected` record for the queue) in one table."""

from __future__ import annotations


class InputRejected(Exception):
    """A document (or an option) the core will not analyse, with a message meant for the sender."""

    code: str = "invalid_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmptyInput(InputRejected):
    """No bytes at all."""


class InvalidOption(InputRejected):
    """An option is unknown, given twice or out of range (e.g. a class that the model lacks)."""

    code = "invalid_option"


class UnsupportedInput(InputRejected):
    """The bytes are not a kind the core reads (JPEG, PNG, WebP, TIFF, BMP, PDF)."""

    code = "unsupported_media_type"


class InputTooLarge(InputRejected):
    """Bytes, pages or pixels above a configured budget (checked before the work)."""

    code = "payload_too_large"


class TooManyPixels(InputTooLarge):
    """Image or page dimensions (read before decoding or rendering) above the pixel budget."""

    code = "too_many_pixels"


class UndecodableInput(InputRejected):
    """The bytes claim to be an image or PDF but cannot be decoded: corrupt, truncated, encrypted."""

    code = "undecodable_input"


class RenderLimitExceeded(InputRejected):
    """Rendering a PDF went past its CPU-time, wall-clock or memory budget (the render child was
    stopped), or PDFium crashed on it: the document is too costly or too broken to draw."""

    code = "render_limit_exceeded"


class ModelUnavailable(Exception):
    """No model could be loaded; a server fault, not bad input."""
