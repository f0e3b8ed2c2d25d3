"""One page -> its words: the PDF's text layer where it has one, else OCR around the detections.

Everything is in page pixels: the frame of the page image at the document's nominal resolution
(for a PDF, points * dpi / 72 from the top-left, the frame the detections are reported in). The
image handed to OCR may be smaller or larger (`image_scale`: page pixels per image pixel).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from invoice_core.knobs import ReadPolicy
from invoice_core.read import ocr
from invoice_core.read.ocr import BoxLike, OcrEngine, as_box, ocr_page, ocr_windows
from invoice_core.read.textlayer import TextLayer, usable
from invoice_core.read.words import Box, Source, Word


@dataclass(frozen=True)
class PageWords:
    """The words of one page, where they came from, and what reading them cost."""

    page: int  # from 1
    source: Source
    words: list[Word]
    seconds: float


def page_words(
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
    engine = engine or ocr.get_engine(threads=policy.ocr_threads)  # threads count on first use only
    if regions:
        in_image = [_scaled(as_box(b), 1 / sx, 1 / sy) for b in regions]
        words = ocr_windows(
            image, in_image, page=page, window=policy.window, options=policy.options, engine=engine
        )
    elif policy.whole_page_without_regions:
        words = ocr_page(image, page=page, options=policy.options, engine=engine)
    else:
        words = []
    if (sx, sy) != (1.0, 1.0):
        words = [Word(w.text, _scaled(w.box, sx, sy), w.page, w.confidence, w.source) for w in words]
    return PageWords(page, "ocr", words, time.perf_counter() - started)


def _scaled(box: Box, sx: float, sy: float) -> Box:
    return Box(box.x1 * sx, box.y1 * sy, box.x2 * sx, box.y2 * sy)
