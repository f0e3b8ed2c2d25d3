"""Words and regions on a page, and the geometry the reader needs: lines, runs, sub-boxes.

A `Word` is whatever the text step hands over: one word or a whole phrase (OCR engines often return
"Invoice No. 12345" as one box). Everything here works in page pixels, page numbers from 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Literal

Source = Literal["ocr", "pdf_text"]

LINE_OVERLAP = 0.5  # two boxes are on one line when they share half of the shorter one's height
RUN_GAP = 1.2  # a horizontal gap wider than this many line heights starts a new run (a new column)


@dataclass(frozen=True)
class Box:
    """Axis-aligned, x1 < x2 and y1 < y2, in page pixels."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def cx(self) -> float:
        return (self.x1 + self.x2) / 2

    @property
    def cy(self) -> float:
        return (self.y1 + self.y2) / 2

    def contains_centre(self, other: Box) -> bool:
        """Whether `other`'s centre lies in this box (how a word belongs to a region)."""
        return self.x1 <= other.cx <= self.x2 and self.y1 <= other.cy <= self.y2

    def x_overlaps(self, other: Box) -> bool:
        return min(self.x2, other.x2) > max(self.x1, other.x1)

    def as_dict(self) -> dict[str, float]:
        return {
            k: round(float(v), 1)
            for k, v in zip(("x1", "y1", "x2", "y2"), (self.x1, self.y1, self.x2, self.y2), strict=True)
        }

    @staticmethod
    def union(boxes: Iterable[Box]) -> Box:
        items = list(boxes)
        return Box(
            min(b.x1 for b in items),
            min(b.y1 for b in items),
            max(b.x2 for b in items),
            max(b.y2 for b in items),
        )


@dataclass(frozen=True)
class Word:
    """Text with its box, page (from 1), recogniser confidence (0..1) and where it came from."""

    text: str
    box: Box
    page: int = 1
    confidence: float = 1.0
    source: Source = "ocr"


@dataclass(frozen=True)
class Region:
    """One detection: a class name of the model (`invoice_number`, ...), its box, score and page."""

    name: str
    box: Box
    confidence: float
    page: int = 1

    def holds(self, word: Word) -> bool:
        return word.page == self.page and self.box.contains_centre(word.box)


@dataclass
class Run:
    """Neighbouring words of one line with only word spacing between them: one cell of a layout.

    `text` joins the words with single spaces; `starts[i]` is where word i begins in it.
    """

    words: list[Word]
    line: int  # index of the line on its page, top to bottom
    text: str = ""
    starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        parts: list[str] = []
        pos = 0
        for word in self.words:
            self.starts.append(pos)
            parts.append(word.text)
            pos += len(word.text) + 1
        self.text = " ".join(parts)

    @property
    def page(self) -> int:
        return self.words[0].page

    @property
    def box(self) -> Box:
        return Box.union(w.box for w in self.words)

    def words_in(self, start: int, end: int) -> list[Word]:
        """The words that a character span [start, end) touches."""
        return [
            w for w, s in zip(self.words, self.starts, strict=True) if s < end and s + len(w.text) > start
        ]

    def box_of(self, start: int, end: int) -> Box:
        """The span's box; inside one word, estimated from the characters' share of its width."""
        boxes = []
        for word, s in zip(self.words, self.starts, strict=True):
            e = s + len(word.text)
            if s >= end or e <= start or not word.text:
                continue
            width = word.box.x2 - word.box.x1
            a = (max(start, s) - s) / len(word.text)
            b = (min(end, e) - s) / len(word.text)
            boxes.append(Box(word.box.x1 + a * width, word.box.y1, word.box.x1 + b * width, word.box.y2))
        return Box.union(boxes) if boxes else self.box


@dataclass
class Line:
    """Words whose boxes share a baseline band, left to right, split into runs."""

    runs: list[Run]

    @property
    def box(self) -> Box:
        return Box.union(r.box for r in self.runs)


OVERPRINT_SHARE = 0.8  # text-layer words sharing this much height, overlapping a little in x: one line


def _x_share(a: Word, b: Word) -> float:
    """How much of the narrower word's width the two words share (negative: the gap between them)."""
    shared = min(a.box.x2, b.box.x2) - max(a.box.x1, b.box.x1)
    return shared / max(min(a.box.x2 - a.box.x1, b.box.x2 - b.box.x1), 1e-9)


def _overprinted(a: Word, b: Word) -> bool:
    """Two text-layer words of one baseline drawn into each other: a PDF whose font is wider than
    the one its layout was measured with prints "Fakturadatum" over the start of "2021-08-12". Only
    a text layer: two OCR boxes at the same x are two readings of the same ink, or two lines."""
    if a.source != "pdf_text" or b.source != "pdf_text":
        return False
    shared_y = min(a.box.y2, b.box.y2) - max(a.box.y1, b.box.y1)
    return shared_y >= OVERPRINT_SHARE * max(a.box.height, b.box.height) and _x_share(a, b) < 0.5


STACKED_SHARE = 0.25  # words sharing more of the narrower one's width than this stand one above the other


def _stacked(a: Word, b: Word) -> bool:
    """Two words at the same x: on two lines, however close. OCR boxes of neighbours on one line
    often touch by a pixel or two ("Sold" 147-181, "to" 180-198): that is no shared column."""
    return _x_share(a, b) > STACKED_SHARE and not _overprinted(a, b)


def lines_of(words: Sequence[Word]) -> list[Line]:
    """Group one page's words into lines (top to bottom) and runs (left to right)."""
    rows: list[list[Word]] = []
    for word in sorted((w for w in words if w.text.strip()), key=lambda w: (w.box.cy, w.box.x1)):
        best, best_shared = None, 0.0
        for row in rows[-6:]:  # a word joins one of the last few lines: the one it shares most height with
            y1 = median(w.box.y1 for w in row)  # the line's typical band, so that one tall word
            y2 = median(w.box.y2 for w in row)  # (a company name) does not merge two lines beside it
            shared = min(y2, word.box.y2) - max(y1, word.box.y1)
            if shared < LINE_OVERLAP * min(y2 - y1, word.box.height) or shared <= best_shared:
                continue
            if any(_stacked(w, word) for w in row):
                continue  # two words at the same x are on two lines, however close
            best, best_shared = row, shared
        if best is None:
            rows.append([word])
        else:
            best.append(word)
    rows.sort(key=lambda row: min(w.box.y1 for w in row))
    out: list[Line] = []
    for index, row in enumerate(rows):
        row.sort(key=lambda w: w.box.x1)
        height = median(w.box.height for w in row)
        runs: list[list[Word]] = [[row[0]]]
        for word in row[1:]:
            if word.box.x1 - runs[-1][-1].box.x2 > RUN_GAP * height:
                runs.append([word])
            else:
                runs[-1].append(word)
        out.append(Line([Run(r, index) for r in runs]))
    return out


def regions_from(
    boxes: Iterable[Sequence[float]],
    scores: Iterable[float],
    class_ids: Iterable[int],
    names: Sequence[str],
    *,
    page: int = 1,
) -> list[Region]:
    """The detector's output for one page (boxes xyxy in the same pixels as the words) as regions."""
    return [
        Region(names[int(c)], Box(*(float(v) for v in box)), float(s), page)
        for box, s, c in zip(boxes, scores, class_ids, strict=True)
    ]
