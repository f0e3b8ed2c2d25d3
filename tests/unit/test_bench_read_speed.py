"""bench.read_speed's report: targets met or missed from the figures, and the section it owns."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import read_speed

pytestmark = pytest.mark.unit


def _result(values_ms: float, values_ratio: float, import_s: float) -> dict:
    ms = {m: {"p50": 100.0, "p90": 120.0, "n": 3} for m in read_speed.MODES}
    ms["values"] = {"p50": values_ms, "p90": values_ms * 1.2, "n": 3}
    ratio = {m: {"p50": 0.5, "p90": 0.6} for m in ("detect", "values_items")}
    ratio["values"] = {"p50": values_ratio, "p90": values_ratio}
    cold = {
        "import_handler_s": import_s,
        "ocr_imported_at_init": False,
        "first_values_read_s": 3.0,
        "second_values_read_s": 2.4,
        "engine_init_s": 0.5,
        "runs": 3,
    }
    return {"warm": {"pages": 3, "rounds": 1, "ms": ms, "ratio_to_page_ocr": ratio}, "cold": cold}


def test_targets_follow_the_figures() -> None:
    slow = read_speed.section(_result(2400.0, 0.8, 0.3), "cmd")
    assert "p50 <= 600 ms: **missed** (2400 ms here)" in slow
    assert "whole-page OCR of the same page: **missed** (0.80)" in slow
    assert "on the first read): met (0.30 + 0.60 = 0.90 s)" in slow
    assert "pays\nabout 0.60 s more" in slow
    fast = read_speed.section(_result(500.0, 0.3, 1.5), "cmd")
    assert "p50 <= 600 ms: met (500 ms here)" in fast
    assert "same page: met (0.30)" in fast and "first read): **missed** (1.50 + 0.60 = 2.10 s)" in fast
    # the import alone fits in the second; the first read's OCR build does not
    lazy = read_speed.section(_result(500.0, 0.3, 0.5), "cmd")
    assert "first read): **missed** (0.50 + 0.60 = 1.10 s)" in lazy


def test_the_section_replaces_only_itself(tmp_path: Path) -> None:
    doc = tmp_path / "extraction.md"
    doc.write_text("# Reading\n\naccuracy tables\n", encoding="utf-8")
    read_speed.write_section(doc, read_speed.section(_result(2400.0, 0.8, 0.4), "cmd"))
    read_speed.write_section(doc, read_speed.section(_result(500.0, 0.3, 0.4), "cmd"))
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Reading\n\naccuracy tables\n")
    assert text.count(read_speed.SECTION) == 1 and "(500 ms here)" in text and "(2400 ms here)" not in text
