"""An analysed document -> its field values: the detector proposes, the words decide.

Per page: the words come from the PDF's text layer when it has one, else from OCR around the
detections (`invoice_core.reading`); regions and words share the page's reporting frame (the
decoded image's original pixels; for a PDF, points x dpi / 72), so `read_invoice` can put the
labels next to the values.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from invoice_core.fields import read_invoice, regions_from
from invoice_core.pipeline import Analysis, Document
from invoice_core.reading import ReadPolicy, read_page_words
from invoice_core.textlayer import read_text_layer
from invoice_core.words import Region, Word

POINTS_PER_INCH = 72.0
SERVING = ReadPolicy()  # how serving reads pages
# The fields a reader of an invoice cannot do without: one missing sends OCR'd pages to a whole read.
LINE_ITEMS = "line_items"
KEY_FIELDS = ("invoice_number", "invoice_date", "due_date", "total_amount", "payment_reference")


def read_fields(
    analysis: Analysis, document: Document, *, pdf_dpi: int, policy: ReadPolicy = SERVING
) -> dict[str, Any]:
    """`{"fields", "checks", "needs_review", "read": {...}}` for the whole document (`policy`: how
    pages are read; the default is serving's)."""
    started = time.perf_counter()
    names = analysis.model.info.names
    by_page: list[list[Word]] = []
    page_regions: list[list[Region]] = []  # what the answer is decided on, per page
    detected: list[list[Region]] = []  # every detection, per page
    sources: list[str] = []
    partial: list[int] = []  # pages OCR'd around their regions only (indices)
    for number, page in enumerate(analysis.pages, start=1):
        sx, sy = page.image.scale
        boxes = page.detections.boxes * np.array([sx, sy, sx, sy], dtype=np.float32)
        found = regions_from(boxes, page.detections.scores, page.detections.class_ids, names, page=number)
        layer = None
        if document.kind == "pdf":  # the document already rendered inside the child's limits
            layer = read_text_layer(document.data, number - 1, scale=pdf_dpi / POINTS_PER_INCH)
        to_ocr = [r for r in found if policy.ocr_line_items or r.name != LINE_ITEMS]
        got = read_page_words(
            page.image.bgr,
            page=number,
            regions=[r.box for r in to_ocr],
            text_layer=layer,
            image_scale=(sx, sy),
            policy=policy,
        )
        by_page.append(got.words)
        # rows not read must not count as printed: a scan's line_items region waits for its words
        page_regions.append(found if got.source == "pdf_text" else to_ocr)
        detected.append(found)
        sources.append(got.source)
        if got.source == "ocr" and to_ocr:
            partial.append(number - 1)
    answer = _decide(by_page, page_regions)
    fallback: list[int] = []
    # (a policy that never reads whole pages gives no words without regions: no fallback then)
    for index in partial[: policy.fallback_pages] if policy.whole_page_without_regions else ():
        if all(name in answer["fields"] for name in KEY_FIELDS):
            break
        page = analysis.pages[index]
        whole = read_page_words(
            page.image.bgr, page=index + 1, image_scale=page.image.scale, policy=policy
        )  # no regions: the whole page
        by_page[index] = whole.words
        page_regions[index] = detected[index]  # the rows are read now, and must stay out of labels
        fallback.append(index + 1)
        answer = _decide(by_page, page_regions)
    words = [w for page_words in by_page for w in page_words]
    answer["read"] = {"sources": sources, "words": len(words), "whole_page_fallback": fallback}
    analysis.timings_ms["read"] = (time.perf_counter() - started) * 1000.0
    return answer


def _decide(by_page: list[list[Word]], page_regions: list[list[Region]]) -> dict[str, Any]:
    return read_invoice(
        [w for words in by_page for w in words], [r for regions in page_regions for r in regions]
    )
