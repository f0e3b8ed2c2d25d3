"""The born-digital PDFs the benches and the demo read: their text layer keeps the layout's widths."""

from __future__ import annotations

import pytest

from devkit.synth.pdf import PAGE_PX, born_digital_invoice, fit_stretch
from invoice_core.read.textlayer import read_text_layer

SCALE = PAGE_PX[0] / 595.0  # page pixels per point, as the renderer lays out A4


def _overlaps(layer) -> list[tuple[str, str]]:
    """Pairs of words on one row (sharing over half their height) whose boxes run into each other."""
    words = sorted(layer.words, key=lambda w: w.box.x1)
    found = []
    for i, left in enumerate(words):
        for right in words[i + 1 :]:
            if right.box.x1 >= left.box.x2 - 1.0:
                break
            shared = min(left.box.y2, right.box.y2) - max(left.box.y1, right.box.y1)
            smaller = min(left.box.y2 - left.box.y1, right.box.y2 - right.box.y1)
            if shared > 0.5 * smaller:
                found.append((left.text, right.text))
    return found


# Pages where Helvetica at the layout's positions ran a label into its value before each string
# was fitted to its laid-out width (a Bankgiro label into its number, an IBAN into its BIC).
@pytest.mark.parametrize("seed", [11, 12, 17, 33])
def test_no_word_runs_into_the_next(seed: int) -> None:
    pdf, _ = born_digital_invoice(seed, policy="any")
    layer = read_text_layer(pdf, 0, scale=SCALE)
    assert len(layer.words) > 80  # a whole invoice, not an empty page
    assert _overlaps(layer) == []


def test_stretch_fits_the_laid_out_width() -> None:
    wide = fit_stretch("Invoice number", 200.0, 10.0)
    narrow = fit_stretch("Invoice number", 50.0, 10.0)
    assert narrow < 100.0 < wide
    assert fit_stretch("x", 1000.0, 10.0) == 200.0  # bounded: never a smear across the page
    assert fit_stretch("Invoice number", 0.0, 10.0) == 100.0
