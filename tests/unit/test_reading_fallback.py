"""How `read_values` reads a scan: windows around the detections, the whole page when the detector
did not propose every key row or a key field is still missing, and the table blanked unless asked.

`page_words` is replaced by a fake that answers a window read with only what a window around
the total would hold, and a whole-page read with every line, so the tests see when and how often
`read_values` reads what, and that the answer is decided again on the whole page's words.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from reading_layout import page

from invoice_core.detect.analyse import Analysis, Page
from invoice_core.detect.decode import DecodedImage
from invoice_core.detect.postprocess import Detections
from invoice_core.front import Result
from invoice_core.knobs import ReadPolicy
from invoice_core.read import values as reader
from invoice_core.read.pagewords import PageWords
from invoice_core.read.pooling import name_rows
from invoice_core.respond.render import render_json

pytestmark = pytest.mark.unit

NAMES = ("invoice_number", "invoice_date", "due_date", "total_amount", "payment_reference", "line_items")
WHOLE = [
    [(60, "Invoice no."), (300, "INV-2041")],
    [(60, "Invoice date"), (300, "2026-04-22")],
    [(60, "Due date"), (300, "2026-05-22")],
    [(60, "OCR"), (300, "4000000000006")],
    [(60, "Total"), (300, "1 250,00 SEK")],
]
TOTAL_ONLY = [None, None, None, None, [(60, "Total"), (300, "1 250,00 SEK")]]
TOTAL_ROW = [290.0, 208.0, 420.0, 228.0]
TABLE = [40.0, 300.0, 700.0, 600.0]
CONF = 0.25  # the threshold the stub detections passed (serving's default)


def _analysis(pages: int, rows: list[tuple[list[float], int]], own: list[float] | None = None) -> Analysis:
    """`pages` identical grey pages with these detections (box, class id) on each; `own`: the
    detector's own scores where classes were pooled (the detections then score 0.4)."""
    pages_ = []
    for _ in range(pages):
        detections = Detections(
            boxes=np.array([b for b, _ in rows], dtype=np.float32).reshape(-1, 4),
            scores=np.full(len(rows), 0.9 if own is None else 0.4, dtype=np.float32),
            class_ids=np.array([c for _, c in rows], dtype=np.int64),
            own_scores=None if own is None else np.array(own, dtype=np.float32),
        )
        image = DecodedImage(np.full((700, 800, 3), 90, np.uint8), 800, 700, "jpeg")
        pages_.append(Page(image, detections))
    model = SimpleNamespace(info=SimpleNamespace(names=NAMES, describe=dict))
    return Analysis(model=model, kind="image", pages=pages_)  # type: ignore[arg-type]


ALL_KEY_ROWS = [([60, 80 + 32 * i, 420, 100 + 32 * i], i) for i in range(3)] + [(TOTAL_ROW, 3)]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str, Any]]:
    calls: list[tuple[int, str, Any]] = []

    def fake(image: Any, *, page: int, regions: Any = None, **_: Any) -> PageWords:
        kind = "windows" if regions else "whole"
        calls.append((page, kind, image))
        return PageWords(page, "ocr", _words(TOTAL_ONLY if kind == "windows" else WHOLE, page), 0.0)

    monkeypatch.setattr(reader, "page_words", fake)
    return calls


def _words(lines: list[Any], number: int) -> list[Any]:
    return page(lines, page_no=number)


def _read(analysis: Any, policy: ReadPolicy = ReadPolicy()) -> dict[str, Any]:
    """What the front door does after detecting: read the values, then let them name the rows."""
    answer = reader.read_values(analysis, b"", pdf_dpi=150, policy=policy)
    analysis.pages = name_rows(analysis.pages, answer["fields"], NAMES, conf=CONF)
    return answer


def to_json(analysis: Any) -> dict[str, Any]:
    return render_json(Result(analysis.model, analysis.kind, analysis.pages, CONF, analysis.timings_ms))


def test_a_page_whose_key_rows_the_detector_missed_is_read_whole_at_once(reads: list) -> None:
    answer = _read(_analysis(1, [(TOTAL_ROW, 3)]))
    assert [(p, k) for p, k, _ in reads] == [(1, "whole")]  # no window read first
    assert answer["read"]["whole_pages"] == [1]
    assert answer["fields"]["invoice_number"]["value"] == "INV-2041"
    assert answer["fields"]["due_date"]["value"] == "2026-05-22"


def test_a_key_field_missing_after_the_windows_reads_the_page_whole_and_decides_again(reads: list) -> None:
    answer = _read(_analysis(1, ALL_KEY_ROWS))
    assert [(p, k) for p, k, _ in reads] == [(1, "windows"), (1, "whole")]
    assert answer["read"]["whole_pages"] == [1]
    assert answer["fields"]["invoice_number"]["value"] == "INV-2041"
    assert answer["fields"]["total_amount"]["value"] == 1250.0


def test_no_whole_page_read_when_the_policy_allows_none(reads: list) -> None:
    answer = _read(_analysis(1, [(TOTAL_ROW, 3)]), ReadPolicy(fallback_pages=0))
    assert [(p, k) for p, k, _ in reads] == [(1, "windows")]
    assert answer["read"]["whole_pages"] == []
    assert "invoice_number" not in answer["fields"]  # the window held only the total


def test_whole_page_reads_stop_at_the_budget(reads: list, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pages that still lack a key field after a whole read: at most fallback_pages pages in all.
    keys = (*reader.key_fields(), "never_printed")
    monkeypatch.setattr(reader, "key_fields", lambda: keys)
    _read(_analysis(4, ALL_KEY_ROWS))
    assert [(p, k) for p, k, _ in reads if k == "whole"] == [(1, "whole"), (2, "whole")]
    assert len([k for _, k, _ in reads if k == "windows"]) == 4


def test_the_table_is_blanked_for_ocr_unless_line_items_are_asked_for(reads: list) -> None:
    rows = [*ALL_KEY_ROWS, (TABLE, 5)]
    analysis = _analysis(1, rows)
    analysis.pages[0].image.bgr[350:360, 100:600] = 0  # a table row's ink
    analysis.pages[0].image.bgr[100:110, 100:200] = 0  # a header row's ink, outside the table
    _read(analysis)
    seen = reads[0][2]
    assert (seen[300:600, 40:700] == 90).all()  # the table is the paper's colour
    assert (seen[100:110, 100:200] == 0).all()  # the rest is untouched
    assert (analysis.pages[0].image.bgr[350:360, 100:600] == 0).all()  # the page itself is not changed

    reads.clear()
    _read(analysis, ReadPolicy(ocr_line_items=True))
    assert (reads[0][2][350:360, 100:600] == 0).all()  # asked for: OCR sees the rows


def test_only_the_best_table_box_is_blanked(reads: list) -> None:
    # A weaker second table box reaching up over the header's rows must not erase them.
    weak_and_tall = [40.0, 60.0, 700.0, 600.0]
    analysis = _analysis(1, [*ALL_KEY_ROWS, (TABLE, 5), (weak_and_tall, 5)])
    analysis.pages[0].detections.scores[-1] = 0.4  # detections come best first
    analysis.pages[0].image.bgr[100:110, 100:200] = 0  # a header row's ink
    _read(analysis)
    seen = reads[0][2]
    assert (seen[100:110, 100:200] == 0).all()
    assert (seen[300:600, 40:700] == 90).all()


def _row(line: int) -> list[float]:
    """A detection box over WHOLE's line `line` (label at x=60, value at x=300)."""
    return [60.0, 80.0 + 32 * line - 2, 420.0, 100.0 + 32 * line + 2]


def test_two_date_rows_called_by_one_date_name_count_as_both_dates(reads: list) -> None:
    # pooled, the detector may name both date rows after the same date: still every key row
    both_called_invoice_date = [(_row(0), 0), (_row(1), 1), (_row(2), 1), (TOTAL_ROW, 3)]
    _read(_analysis(1, both_called_invoice_date))
    assert reads[0][:2] == (1, "windows")
    reads.clear()
    one_date_row = [(_row(0), 0), (_row(1), 1), (TOTAL_ROW, 3)]
    _read(_analysis(1, one_date_row))
    assert reads[0][:2] == (1, "whole")


def test_the_label_words_name_the_pooled_date_rows(reads: list) -> None:
    # The detector called the invoice-date row due_date and the due-date row invoice_date, and
    # proposed the OCR line as a date (0.2 alone: under conf 0.25 without its partner's score).
    rows = [(_row(1), 2), (_row(2), 1), (_row(3), 1)]
    analysis = _analysis(1, rows, own=[0.2, 0.22, 0.2])
    answer = _read(analysis)
    assert answer["fields"]["invoice_date"]["value"] == "2026-04-22"
    assert answer["fields"]["invoice_date"]["evidence"] == "label+detector"
    found = analysis.pages[0].detections
    assert [NAMES[i] for i in found.class_ids] == ["invoice_date", "due_date"]  # the OCR line dropped
    assert [NAMES[i] for i in found.proposed_ids] == ["due_date", "invoice_date"]
    body = to_json(analysis)
    assert [(d["label"], d["detector_label"], d["detector_confidence"]) for d in body["detections"]] == [
        ("invoice_date", "due_date", 0.2),
        ("due_date", "invoice_date", 0.22),
    ]


def test_a_pooled_row_the_words_do_not_name_keeps_the_detectors_own_verdict(reads: list) -> None:
    # The OCR line proposed as a date at 0.3 on its own: kept, at its own score, as the detector said.
    analysis = _analysis(1, [(_row(1), 1), (_row(3), 1)], own=[0.2, 0.3])
    _read(analysis)
    found = analysis.pages[0].detections
    assert found.class_ids.tolist() == [1, 1]
    assert found.scores.tolist() == pytest.approx([0.4, 0.3])
    assert [d.get("detector_label") for d in to_json(analysis)["detections"]] == ["invoice_date", None]
