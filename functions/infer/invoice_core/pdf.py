"""PDF bytes -> one BGR image per page, rendered with PDFium at a fixed DPI.

The page count and each page's pixel count are checked before anything is rendered. PDFium is
not thread-safe, so rendering is serialised (a Lambda container serves one request at a time
anyway; the lock matters for the local server's threads).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from invoice_core.decode import DecodedImage, to_bgr8
from invoice_core.errors import InputTooLarge, TooManyPixels, UndecodableInput

if TYPE_CHECKING:
    import pypdfium2 as pdfium

POINTS_PER_INCH = 72.0
PDF_MAGIC = b"%PDF-"
_PDFIUM_LOCK = threading.Lock()


def is_pdf(data: bytes) -> bool:
    """PDF files start with `%PDF-` (some writers put junk first; PDFium allows 1 KiB of it)."""
    return PDF_MAGIC in data[:1024]


def render_pdf(data: bytes, *, dpi: int, max_pages: int, max_pixels: int) -> list[DecodedImage]:
    """Render every page (up to `max_pages`, else 413) at `dpi`."""
    import pypdfium2 as pdfium  # noqa: PLC0415 - 65 ms of import paid only by PDF requests (cold start)

    scale = dpi / POINTS_PER_INCH
    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise UndecodableInput(
                f"cannot open PDF ({exc}); encrypted or corrupt PDFs are not supported"
            ) from exc
        try:
            count = len(document)
            if count == 0:
                raise UndecodableInput("PDF has no pages")
            if count > max_pages:
                raise InputTooLarge(f"PDF has {count} pages; the limit is {max_pages}")
            return [_render_page(document, index, scale, max_pixels) for index in range(count)]
        finally:
            document.close()


def _render_page(document: pdfium.PdfDocument, index: int, scale: float, max_pixels: int) -> DecodedImage:
    import pypdfium2 as pdfium  # noqa: PLC0415 - already loaded by render_pdf

    page = document[index]
    try:
        width_pt, height_pt = page.get_size()
        width, height = round(width_pt * scale), round(height_pt * scale)
        if width * height > max_pixels:
            raise TooManyPixels(
                f"page {index + 1} renders to {width}x{height} pixels; the limit is {max_pixels:,}"
            )
        if width < 1 or height < 1:
            raise UndecodableInput(f"page {index + 1} has no area")
        bitmap = page.render(scale=scale)  # 3-byte BGR on white, what OpenCV expects
        try:
            pixels = to_bgr8(bitmap.to_numpy().copy())
        finally:
            bitmap.close()
    except pdfium.PdfiumError as exc:
        raise UndecodableInput(f"cannot render page {index + 1}: {exc}") from exc
    finally:
        page.close()
    return DecodedImage(bgr=pixels, width=pixels.shape[1], height=pixels.shape[0], format="pdf")
