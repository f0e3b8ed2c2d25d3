"""Pages of `Word`s for the reading tests: lines of text laid out with plausible boxes.

A page is a list of lines; a line is a string (one cell at x=60) or a list of (x, text) cells.
`ocr=True` makes one Word per cell (as an OCR engine returns a text line), otherwise one Word per
space-separated word (as a PDF text layer). Glyphs are 9 px wide, 20 px high, lines 32 px apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from invoice_core.read.words import Box, Region, Word

CHAR_W = 9.0
HEIGHT = 20.0
PITCH = 32.0
TOP = 80.0

Cell = tuple[float, str]


def page(
    lines: Sequence[str | Sequence[Cell] | None],
    *,
    ocr: bool = True,
    page_no: int = 1,
    confidence: float = 0.98,
    top: float = TOP,
) -> list[Word]:
    """Words for the lines (None: an empty line)."""
    words: list[Word] = []
    for index, line in enumerate(lines):
        if line is None:
            continue
        cells = [(60.0, line)] if isinstance(line, str) else list(line)
        y1 = top + index * PITCH
        for x, text in cells:
            if ocr:
                words.append(_word(text, x, y1, page_no, confidence, "ocr"))
                continue
            pos = x
            for token in text.split(" "):
                if token:
                    words.append(_word(token, pos, y1, page_no, confidence, "pdf_text"))
                pos += (len(token) + 1) * CHAR_W
    return words


def _word(text: str, x: float, y1: float, page_no: int, confidence: float, source: str) -> Word:
    return Word(text, Box(x, y1, x + len(text) * CHAR_W, y1 + HEIGHT), page_no, confidence, source)  # type: ignore[arg-type]


def region_around(
    words: Sequence[Word], text: str, name: str, *, confidence: float = 0.9, pad: float = 4.0
) -> Region:
    """A detector region of class `name` around the (first) word(s) whose text contains `text`."""
    hits = [w for w in words if text in w.text]
    if not hits:
        raise AssertionError(f"no word contains {text!r}")
    first = hits[0]
    return Region(
        name,
        Box(first.box.x1 - pad, first.box.y1 - pad, first.box.x2 + pad, first.box.y2 + pad),
        confidence,
        first.page,
    )


def region_over(words: Sequence[Word], start: str, end: str, name: str, *, confidence: float = 0.9) -> Region:
    """A region spanning from the word containing `start` to the one containing `end` (lines between)."""
    a = next(w for w in words if start in w.text)
    b = next(w for w in words if end in w.text)
    box = Box(min(a.box.x1, b.box.x1) - 4, a.box.y1 - 4, max(a.box.x2, b.box.x2, 900) + 4, b.box.y2 + 4)
    return Region(name, box, confidence, a.page)
