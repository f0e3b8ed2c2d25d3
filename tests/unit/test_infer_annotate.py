"""The annotated sheet's value tags: what is drawn where, in which colour, within the sheet's size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from invoice_core.detect.postprocess import Detections
from invoice_core.respond.draw import ValueTag, draw_values, sheet, value_tags

pytestmark = pytest.mark.unit

NAMES = ("invoice_number", "total_amount")
NO_DETECTIONS = Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


def _white(height: int = 1000, width: int = 800) -> np.ndarray:
    return np.full((height, width, 3), 255, np.uint8)


def _share(region: np.ndarray, colour: str) -> float:
    """The share of a region's pixels that are clearly `colour` ("green" or "red", BGR)."""
    b, g, r = (region[..., i].astype(int) for i in range(3))
    mask = (g > r + 60) & (g > b + 60) if colour == "green" else (r > g + 100) & (r > b + 100)
    return float(mask.mean())


def test_a_value_is_drawn_in_green_beside_its_box() -> None:
    page = draw_values(_white(), [ValueTag((100, 100, 200, 130), "invoice_number: 1234", flagged=False)])
    assert _share(page[100:125, 205:400], "green") > 0.3  # the tag right of the box
    assert _share(page[100:125, 205:400], "red") == 0.0
    assert (page[300:, :] == 255).all()  # nothing drawn far from it


def test_a_flagged_value_is_red_and_marked() -> None:
    plain = draw_values(_white(), [ValueTag((100, 100, 200, 130), "iban: SE45", flagged=False)])
    flagged = draw_values(_white(), [ValueTag((100, 100, 200, 130), "iban: SE45", flagged=True)])
    assert _share(flagged[100:125, 205:400], "red") > 0.3
    assert _share(flagged[100:125, 205:400], "green") == 0.0

    def tag_width(page: np.ndarray) -> int:
        columns = np.flatnonzero((page[100:125, 205:] != 255).any(axis=(0, 2)))
        return int(columns.max())

    assert tag_width(flagged) > tag_width(plain)  # the "! " marker makes it longer


def test_a_value_at_the_right_edge_goes_under_its_box_inside_the_page() -> None:
    text = "supplier: Acme Construction and Trading AB"  # wider than the page right of x=150
    page = draw_values(_white(400, 300), [ValueTag((150, 100, 298, 130), text, flagged=False)])
    assert _share(page[132:150, 150:300], "green") > 0.3  # under it...
    assert _share(page[132:150, 0:150], "green") > 0.1  # ...moved left to stay on the page


def test_tags_of_neighbouring_fields_do_not_cover_each_other() -> None:
    tags = [
        ValueTag((100, 100, 200, 120), "invoice_date: 2026-11-02", flagged=False),
        ValueTag((100, 104, 200, 124), "due_date: 2026-12-02", flagged=True),
    ]
    page = draw_values(_white(), tags)
    green, red = _share(page[95:200, 205:600], "green"), _share(page[95:200, 205:600], "red")
    assert green > 0.02 and red > 0.02  # both tags visible


def test_value_tags_from_an_answer_map_boxes_and_flags() -> None:
    reading = {
        "fields": {
            "invoice_number": {"value": "A-17", "page": 1, "box": {"x1": 30, "y1": 60, "x2": 90, "y2": 75}},
            "supplier": {"value": "Malmö Bygg AB", "page": 2, "box": {"x1": 0, "y1": 0, "x2": 3, "y2": 3}},
            "total_amount": {
                "value": 1234.5,
                "currency": "SEK",
                "page": 2,
                "box": {"x1": 300, "y1": 600, "x2": 390, "y2": 630},
            },
            "iban": {"value": "SE45", "valid": False, "page": 2, "box": {"x1": 0, "y1": 0, "x2": 3, "y2": 3}},
            "line_items": {"value": [{}, {}, {}], "page": 9, "box": {"x1": 0, "y1": 0, "x2": 1, "y2": 1}},
        },
        "needs_review": ["total_amount"],
    }
    one, two = value_tags(reading, [(1.0, 1.0), (3.0, 3.0)])  # page 2 is reported at 3x its pixels
    assert one == [ValueTag((30, 60, 90, 75), "invoice_number: A-17", flagged=False)]
    by_text = {tag.text: tag for tag in two}
    assert set(by_text) == {"supplier: Malmo Bygg AB", "total_amount: 1,234.50 SEK", "iban: SE45"}
    assert by_text["total_amount: 1,234.50 SEK"].box == (100, 200, 130, 210)
    assert by_text["total_amount: 1,234.50 SEK"].flagged and by_text["iban: SE45"].flagged
    assert not by_text["supplier: Malmo Bygg AB"].flagged  # line_items: page 9 does not exist, left out


def test_a_long_value_is_cut() -> None:
    (tags,) = value_tags(
        {
            "fields": {
                "supplier": {"value": "x" * 200, "page": 1, "box": {"x1": 0, "y1": 0, "x2": 1, "y2": 1}}
            }
        },
        [(1.0, 1.0)],
    )
    assert len(tags[0].text) <= len("supplier: ") + 40 and tags[0].text.endswith("...")


def test_the_sheet_with_values_keeps_its_size_budget() -> None:
    """Two tall pages on a 1,000-pixel budget: the values are drawn on the scaled pages, so the sheet
    is the same size with them as without, and they show where their (scaled) boxes are."""
    pages = [(_white(3000, 2000), NO_DETECTIONS), (_white(3000, 2000), NO_DETECTIONS)]
    tags = [[ValueTag((200, 1000, 600, 1100), "total_amount: 10.00 SEK", flagged=False)], []]
    bare = cv2.imdecode(np.frombuffer(sheet(pages, NAMES, max_side=1000, quality=90), np.uint8), 1)
    drawn = cv2.imdecode(
        np.frombuffer(sheet(pages, NAMES, max_side=1000, quality=90, values=tags), np.uint8), 1
    )
    assert drawn.shape == bare.shape and max(drawn.shape[:2]) <= 1000
    ratio = drawn.shape[0] / (2 * 3000)  # about 1/6 (less the page gap)
    x2, y1 = round(600 * ratio), round(1000 * ratio)
    assert _share(drawn[y1 : y1 + 8, x2 + 3 : x2 + 60], "green") > 0.3
    assert _share(drawn[drawn.shape[0] // 2 + 10 :], "green") == 0.0  # page 2 has no values
