"""A key field still missing after the regions sends a scanned page to a whole-page read.

`read_page_words` is replaced by a fake that answers the region read with only what a window around
the total would hold, and the whole-page read with every line, so the test sees when and how often
`read_fields` falls back, and that the answer is decided again on the whole page's words.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from reading_layout import page

from invoice_core import extract
from invoice_core.reading import PageWords, ReadPolicy

pytestmark = pytest.mark.unit

NAMES = ("invoice_number", "invoice_date", "due_date", "total_amount", "payment_reference")
WHOLE = [
    [(60, "Invoice no."), (300, "INV-2041")],
    [(60, "Invoice date"), (300, "2026-04-22")],
    [(60, "Due date"), (300, "2026-05-22")],
    [(60, "OCR"), (300, "4000000000006")],
    [(60, "Total"), (300, "1 250,00 SEK")],
]
TOTAL_ONLY = [None, None, None, None, [(60, "Total"), (300, "1 250,00 SEK")]]


def _analysis(pages: int) -> Any:
    detections = SimpleNamespace(
        boxes=np.array([[290.0, 200.0, 420.0, 220.0]], dtype=np.float32),  # the total's row
        scores=np.array([0.9], dtype=np.float32),
        class_ids=np.array([3]),
    )
    one = SimpleNamespace(image=SimpleNamespace(scale=(1.0, 1.0), bgr=np.zeros((8, 8, 3), np.uint8)))
    return SimpleNamespace(
        model=SimpleNamespace(info=SimpleNamespace(names=NAMES)),
        pages=[SimpleNamespace(image=one.image, detections=detections) for _ in range(pages)],
        timings_ms={},
    )


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    calls: list[tuple[int, str]] = []

    def fake(image: Any, *, page: int, regions: Any = None, **_: Any) -> PageWords:
        kind = "regions" if regions else "whole"
        calls.append((page, kind))
        lines = TOTAL_ONLY if kind == "regions" else WHOLE
        return PageWords(page, "ocr", _page(lines, page), 0.0)

    monkeypatch.setattr(extract, "read_page_words", fake)
    return calls


def _page(lines: list[Any], number: int) -> list[Any]:
    return page(lines, page_no=number)


def test_a_missing_key_field_reads_the_whole_page_and_decides_again(reads: list[tuple[int, str]]) -> None:
    answer = extract.read_fields(_analysis(1), SimpleNamespace(kind="image"), pdf_dpi=150)
    assert reads == [(1, "regions"), (1, "whole")]
    assert answer["read"]["whole_page_fallback"] == [1]
    fields = answer["fields"]
    assert fields["invoice_number"]["value"] == "INV-2041"
    assert fields["due_date"]["value"] == "2026-05-22"
    assert fields["total_amount"]["value"] == 1250.0


def test_no_fallback_without_regions_or_when_the_policy_forbids_it(reads: list[tuple[int, str]]) -> None:
    policy = ReadPolicy(fallback_pages=0)
    answer = extract.read_fields(_analysis(1), SimpleNamespace(kind="image"), pdf_dpi=150, policy=policy)
    assert reads == [(1, "regions")]
    assert answer["read"]["whole_page_fallback"] == []
    assert "invoice_number" not in answer["fields"]  # the window held only the total


def test_the_fallback_stops_at_its_page_budget(reads: list[tuple[int, str]], monkeypatch: Any) -> None:
    # Whole pages that still lack a key field: at most fallback_pages of them are read again.
    monkeypatch.setattr(extract, "KEY_FIELDS", (*extract.KEY_FIELDS, "never_printed"))
    extract.read_fields(_analysis(4), SimpleNamespace(kind="image"), pdf_dpi=150)
    assert [c for c in reads if c[1] == "whole"] == [(1, "whole"), (2, "whole")]
    assert len([c for c in reads if c[1] == "regions"]) == 4


def test_a_scans_line_items_are_read_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def fake(image: Any, *, page: int, regions: Any = None, **_: Any) -> PageWords:
        seen.append(len(regions or ()))
        return PageWords(page, "ocr", _page(WHOLE, page), 0.0)

    monkeypatch.setattr(extract, "read_page_words", fake)
    analysis = _analysis(1)
    table = np.array([[40.0, 300.0, 700.0, 600.0]], dtype=np.float32)
    det = analysis.pages[0].detections
    det.boxes = np.concatenate([det.boxes, table])
    det.scores = np.array([0.9, 0.9], dtype=np.float32)
    det.class_ids = np.array([3, 5])  # total_amount, line_items (NAMES + "line_items" below)
    analysis.model.info.names = (*NAMES, "line_items")

    extract.read_fields(analysis, SimpleNamespace(kind="image"), pdf_dpi=150)
    extract.read_fields(
        analysis, SimpleNamespace(kind="image"), pdf_dpi=150, policy=ReadPolicy(ocr_line_items=True)
    )
    assert seen == [1, 2]  # the table's window only when asked (every key field was on the page)
