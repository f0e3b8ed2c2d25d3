"""One page -> its words: the PDF's text layer where it has one, else OCR around the detections.

Everything is in page pixels: the frame of the page image at the document's nominal resolution
(for a PDF, points * dpi / 72 from the top-left, the frame the detections are reported in). The
image handed to OCR may be smaller or larger (`image_scale`: page pixels per image pixel).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from invoice_core.ocr import BoxLike, Context, OcrEngine, OcrOptions, as_box, read_page, read_regions
from invoice_core.textlayer import TextLayer, TextPolicy, usable
from invoice_core.words import Box, Source, Word


@dataclass(frozen=True)
class ReadPolicy:
    """How pages are read."""

    text: TextPolicy = field(default_factory=TextPolicy)
    context: Context = field(default_factory=Context)
    options: OcrOptions = field(default_factory=OcrOptions)
    whole_page_without_regions: bool = True  # no detections on a page: OCR all of it (else: no words)
    # Scanned pages read whole, at most, per document (`extract.read_fields`): page 1 at once when the
    # detector did not propose every key row, later ones when a key field is still missing after
    # their windows. The detector misses rows of layouts it never saw; the label words still name them.
    fallback_pages: int = 2
    # Line items on scans: their region is most of an invoice's text lines and most of a read's OCR
    # time, so rows are read from OCR only when asked; a text layer gives them for free.
    ocr_line_items: bool = False


@dataclass(frozen=True)
class PageWords:
    """The words of one page, where they came from, and what reading them cost."""

    page: int  # from 1
    source: Source
    words: list[Word]
    seconds: float


def read_page_words(
    image: np.ndarray | None,
    *,
    page: int,
    regions: Sequence[BoxLike] | None = None,
    text_layer: TextLayer | None = None,
    image_scale: tuple[float, float] = (1.0, 1.0),
    policy: ReadPolicy = ReadPolicy(),
    engine: OcrEngine | None = None,
) -> PageWords:
    """The page's words: its text layer when `usable`, else OCR of `image` (BGR) around `regions`
    (page pixels; None or empty: the whole page, per the policy)."""
    started = time.perf_counter()
    if text_layer is not None and usable(text_layer, policy.text):
        return PageWords(page, "pdf_text", text_layer.words, time.perf_counter() - started)
    if image is None:
        raise ValueError(f"page {page} has no usable text layer and no image to OCR")
    sx, sy = image_scale
    if regions:
        in_image = [_scaled(as_box(b), 1 / sx, 1 / sy) for b in regions]
        words = read_regions(
            image, in_image, page=page, context=policy.context, options=policy.options, engine=engine
        )
    elif policy.whole_page_without_regions:
        words = read_page(image, page=page, options=policy.options, engine=engine)
    else:
        words = []
    if (sx, sy) != (1.0, 1.0):
        words = [Word(w.text, _scaled(w.box, sx, sy), w.page, w.confidence, w.source) for w in words]
    return PageWords(page, "ocr", words, time.perf_counter() - started)


def _scaled(box: Box, sx: float, sy: float) -> Box:
    return Box(box.x1 * sx, box.y1 * sy, box.x2 * sx, box.y2 * sy)
