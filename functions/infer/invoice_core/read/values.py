"""An analysed document -> its field values: the detector proposes, the words decide.

Per page: the words come from the PDF's text layer when it has one, else from OCR around the
detections (`invoice_core.read.pagewords`); regions and words share the page's reporting frame (the
decoded image's original pixels; for a PDF, points x dpi / 72), so `read_invoice` can put the
labels next to the values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from invoice_contracts.fields import expected_proposals, key_fields, shape_of
from invoice_core.detect.analyse import Analysis, Page
from invoice_core.knobs import ReadPolicy
from invoice_core.read.decide import read_invoice
from invoice_core.read.pagewords import page_words
from invoice_core.read.pooling import page_regions
from invoice_core.read.textlayer import read_text_layer, usable
from invoice_core.read.words import Region, Word

POINTS_PER_INCH = 72.0
LINE_ITEMS = "line_items"


def read_values(
    analysis: Analysis,
    data: bytes,
    *,
    pdf_dpi: int,
    policy: ReadPolicy = ReadPolicy(),
    trace: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`{"fields", "checks", "needs_review", "read": {...}}` for the whole document (`data`: its
    bytes, for a PDF's text layer; `policy`: how pages are read; `trace`, when given, gets the words
    and regions the answer was decided on, for replaying the decision: `read_invoice(**trace)`).

    A scan's first page is read whole at once when the detector did not propose every expected key
    row (the field registry's `expected`; reading windows first would only add a whole-page read
    after them); later, a key field (registry `key`) still missing sends the next OCR'd pages to a
    whole read, up to `fallback_pages` in all. Unless line items are asked for, the line_items
    region is blanked before OCR: its rows are most of the page's text and most of the time a read
    costs."""
    names = analysis.model.info.names
    by_page: list[list[Word]] = []
    decided_on: list[list[Region]] = []  # the regions the answer is decided on, per page
    sources: list[str] = []
    whole: list[int] = []  # pages read whole (from 1)
    # pages OCR'd around their regions only (indices), and what OCR saw (the table blanked unless asked)
    partial: dict[int, np.ndarray] = {}
    budget = policy.fallback_pages if policy.whole_page_without_regions else 0
    for number, page in enumerate(analysis.pages, start=1):
        got = first_read(
            page, number, analysis.kind, data, names, pdf_dpi=pdf_dpi, policy=policy, whole_first=budget > 0
        )
        by_page.append(got.words)
        # rows not read must not count as printed: a scan's line_items region waits for its words
        decided_on.append(got.found if got.source == "pdf_text" else got.to_ocr)
        sources.append(got.source)
        if got.source == "ocr" and (got.first_whole or not got.to_ocr):
            whole.append(number)
        elif got.source == "ocr":
            partial[number - 1] = got.image
    answer = _decide(by_page, decided_on)
    keys = key_fields()
    for index, image in partial.items():
        if len(whole) >= budget or all(name in answer["fields"] for name in keys):
            break
        page = analysis.pages[index]
        again = page_words(image, page=index + 1, image_scale=page.image.scale, policy=policy)
        by_page[index] = again.words  # no regions: the whole page
        whole.append(index + 1)
        answer = _decide(by_page, decided_on)
    words = [w for listed in by_page for w in listed]
    if trace is not None:
        trace.update(words=words, regions=[r for rs in decided_on for r in rs])
    answer["read"] = {"sources": sources, "words": len(words), "whole_pages": sorted(whole)}
    return answer


def proposes_expected(found: Sequence[Region]) -> bool:
    """Whether the detector proposed every expected key row, fields of one row shape counted as a
    group: two date rows are both dates whichever of them the detector called which."""
    have = Counter(shape_of(r.name) for r in found)
    need = Counter(shape_of(name) for name in expected_proposals())
    return all(have[shape] >= count for shape, count in need.items())


@dataclass
class PageRead:
    """One page as `read_values` reads it first (before any whole-page fallback)."""

    words: list[Word]
    source: str  # "pdf_text" or "ocr"
    found: list[Region]  # every detection's region
    to_ocr: list[Region]  # the regions read (line_items left out unless asked for)
    image: np.ndarray  # what OCR saw: the table blanked unless asked for
    first_whole: bool  # read whole at once: the detector did not propose every expected key row


def first_read(
    page: Page,
    number: int,
    kind: str,
    data: bytes,
    names: Sequence[str],
    *,
    pdf_dpi: int,
    policy: ReadPolicy,
    whole_first: bool,
) -> PageRead:
    """Page `number`'s words: its text layer, else OCR around its regions, or of the whole page at
    once when `whole_first` and this is page 1 without every expected key row proposed."""
    found = page_regions(page, names, number)
    layer = None
    if kind == "pdf":  # the document already rendered inside the child's limits
        layer = read_text_layer(data, number - 1, scale=pdf_dpi / POINTS_PER_INCH)
    to_ocr = [r for r in found if policy.ocr_line_items or r.name != LINE_ITEMS]
    image = page.image.bgr
    if not policy.ocr_line_items and (layer is None or not usable(layer, policy.text)):
        image = _blank(image, _table(page.detections, names))
    first_whole = number == 1 and whole_first and not proposes_expected(found)
    got = page_words(
        image,
        page=number,
        regions=[] if first_whole else [r.box for r in to_ocr],
        text_layer=layer,
        image_scale=page.image.scale,
        policy=policy,
    )
    return PageRead(got.words, got.source, found, to_ocr, image, first_whole)


def _table(detections: Any, names: Sequence[str]) -> np.ndarray:
    """The best-scoring line_items box (image pixels), as a 1x4 array; 0x4 when there is none. Only
    that one: a second, weaker table box can reach up over the header's rows (seen on held-out
    pages, where it blanked the invoice number and dates)."""
    for box, class_id in zip(detections.boxes, detections.class_ids, strict=True):  # best first
        if names[int(class_id)] == LINE_ITEMS:
            return np.asarray(box, dtype=np.float32).reshape(1, 4)
    return np.zeros((0, 4), dtype=np.float32)


def _blank(bgr: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """A copy of the page with these boxes (image pixels) painted the paper's colour, so that OCR
    neither detects nor recognises what is in them; the page itself when there are none."""
    if len(boxes) == 0:
        return bgr
    out = bgr.copy()
    paper = np.median(bgr[::16, ::16].reshape(-1, bgr.shape[2] if bgr.ndim == 3 else 1), axis=0)
    height, width = bgr.shape[:2]
    for x1, y1, x2, y2 in boxes:
        top, bottom = max(0, int(y1)), min(height, int(np.ceil(y2)))
        left, right = max(0, int(x1)), min(width, int(np.ceil(x2)))
        out[top:bottom, left:right] = paper.astype(bgr.dtype)
    return out


def _decide(by_page: list[list[Word]], decided_on: list[list[Region]]) -> dict[str, Any]:
    return read_invoice([w for words in by_page for w in words], [r for rs in decided_on for r in rs])
