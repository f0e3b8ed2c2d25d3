"""Reading lines found in the ink (invoice_core.ocr.read_lines): projection profiles, what is read
around a box, and the words that come back, in page pixels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from invoice_core import ocr
from invoice_core.ocr import (
    LineContext,
    Segment,
    TextLine,
    box_segments,
    dedupe,
    read_lines,
    runs_of,
    text_bands,
)
from invoice_core.words import Box

FONT = Path(__import__("matplotlib").get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
WIDTH, HEIGHT = 1240, 1754


def test_runs_of_joins_small_gaps_only() -> None:
    profile = np.array([0, 3, 3, 0, 3, 0, 0, 0, 5, 5, 0])
    assert runs_of(profile, 2) == [(1, 5), (8, 10)]  # a one-entry gap joins, a three-entry gap splits
    assert runs_of(profile, 2, max_gap=0) == [(1, 3), (4, 5), (8, 10)]
    assert runs_of(np.zeros(5), 1) == []


def _mask(rows: list[tuple[int, int]], width: int = 100, height: int = 120) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    for a, b in rows:
        mask[a:b, 10:90:3] = True  # glyph-like columns of ink
    return mask


def test_text_bands_finds_lines_and_drops_specks() -> None:
    mask = _mask([(10, 24), (40, 55), (70, 72)])
    mask[90, 50] = True  # a speck: one pixel is below min_ink
    assert text_bands(mask, min_ink=2) == [(10, 24), (40, 55)]  # the 2-row rule is too thin


def test_text_bands_splits_touching_lines_at_the_faintest_row() -> None:
    mask = _mask([(10, 24), (25, 39)])
    mask[24, 40] = True  # a descender touches the next line: one band without a split
    assert text_bands(mask, min_ink=1) == [(10, 39)]
    bands = text_bands(mask, min_ink=1, line_height=14)
    assert bands == [(10, 24), (25, 39)]
    # a tall band without a faint row (a logo, a solid block) stays whole
    solid = np.zeros((60, 100), bool)
    solid[5:50, 20:80] = True
    assert text_bands(solid, min_ink=1, line_height=14) == [(5, 50)]


def _page(*texts: tuple[int, int, str]) -> tuple[np.ndarray, dict[str, Box]]:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 22)
    boxes = {}
    for x, y, text in texts:
        draw.text((x, y), text, fill="black", font=font)
        boxes[text] = Box(*(float(v) for v in draw.textbbox((x, y), text, font=font)))
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR), boxes


def test_a_box_takes_its_nearest_label_to_the_left_and_the_line_above() -> None:
    bgr, ink = _page(
        (100, 400, "Kundnr: 5531"),  # far left on the same line: not the value's label
        (600, 400, "Fakturanr:"),
        (850, 400, "10423"),
        (850, 360, "Header cell"),  # the line above, over the box
        (850, 300, "Two lines up"),  # above that: out of reach
        (850, 460, "Below"),
    )
    mask = ocr.ink_mask(bgr)
    text_h = ink["10423"].y2 - ink["10423"].y1
    segs, tall = box_segments(mask, ink["10423"], LineContext(left=0.6), text_h)
    assert tall == []
    hits = {
        name
        for name, b in ink.items()
        for s in segs
        if s.box.x1 <= b.cx <= s.box.x2 and s.box.y1 <= b.cy <= s.box.y2
    }
    assert hits == {"Fakturanr:", "10423", "Header cell"}
    assert [s.keep_cut for s in sorted(segs, key=lambda s: s.x1) if s.y1 > 380] == [False, True]


def test_a_label_cut_by_the_left_strip_is_not_read() -> None:
    bgr, ink = _page((520, 600, "Förfallodatum:"), (800, 600, "2025-09-26"))
    mask = ocr.ink_mask(bgr)
    text_h = ink["2025-09-26"].y2 - ink["2025-09-26"].y1
    # the strip reaches 0.2 * 1240 = 248 px left of the value: into the label, not past its start
    segs, _ = box_segments(mask, ink["2025-09-26"], LineContext(left=0.2), text_h)
    assert len(segs) == 1 and segs[0].x1 >= ink["2025-09-26"].x1 - 3


def test_dedupe_merges_the_same_stretch_read_twice() -> None:
    a = Segment(100, 50, 200, 65, False)
    b = Segment(150, 52, 260, 64, True)  # the same line, overlapping: one segment
    c = Segment(150, 80, 260, 95, False)  # the next line
    assert dedupe([c, b, a]) == [Segment(100, 50, 260, 65, True), c]


class _Recorder:
    """Stands in for OCR: records the crops and answers each with a fixed line."""

    def __init__(self) -> None:
        self.crops: list[tuple[int, int]] = []
        self.detected: list[tuple[int, int]] = []

    def recognise(self, crops: list[np.ndarray], boxes: list[Box], options: object = None) -> list[TextLine]:
        self.crops += [c.shape[:2] for c in crops]
        return [TextLine(f"line{i}", b, 0.9, ()) for i, b in enumerate(boxes)]

    def lines(self, bgr: np.ndarray, options: object = None) -> list[TextLine]:
        self.detected.append(bgr.shape[:2])
        return []


def test_read_lines_recognises_each_line_without_detection() -> None:
    bgr, ink = _page(
        (600, 400, "Fakturanr:"), (850, 400, "10423"), (600, 800, "Att betala:"), (850, 800, "99,00")
    )
    fake = _Recorder()
    words = read_lines(bgr, [ink["10423"], ink["99,00"]], engine=fake)  # type: ignore[arg-type]
    assert fake.detected == []  # one-line crops never go through the text detector
    assert len(fake.crops) == 4  # label + value on each of the two lines
    assert all(h < 3 * (ink["10423"].y2 - ink["10423"].y1) for h, _ in fake.crops)
    # every word is a crop's box in page pixels, and covers the text it stands for
    assert any(w.box.x1 <= ink["10423"].x1 and w.box.x2 >= ink["10423"].x2 for w in words)
    assert read_lines(bgr, [], engine=fake) == []  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def engine() -> ocr.OcrEngine:
    return ocr.OcrEngine()


def test_read_lines_reads_label_and_value_with_word_boxes(engine: ocr.OcrEngine) -> None:
    bgr, ink = _page((600, 400, "Fakturanr:"), (850, 400, "10423"), (600, 700, "Förfallodatum: 2025-09-26"))
    value = ink["10423"]
    words = read_lines(bgr, [value, ink["Förfallodatum: 2025-09-26"]], page=2, engine=engine)
    texts = [w.text for w in words]
    assert texts == ["Fakturanr:", "10423", "Förfallodatum:", "2025-09-26"]
    number = words[1]
    assert abs(number.box.x1 - value.x1) <= 8 and abs(number.box.x2 - value.x2) <= 8
    assert number.box.y1 <= value.cy <= number.box.y2 and number.page == 2 and number.source == "ocr"
    date = words[3]
    assert date.box.x1 > words[2].box.x2  # the words of one line come with their own boxes
