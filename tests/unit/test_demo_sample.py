"""How `make demo` scores its sample page: a field counts only when its own class is found on its box."""

from __future__ import annotations

from devkit.demo import missed_fields
from devkit.synth.render import FieldBox

TRUTH = [
    FieldBox(1, "invoice_date", 800, 200, 1000, 220),
    FieldBox(2, "due_date", 800, 230, 1000, 250),
    FieldBox(8, "total_amount", 700, 900, 1000, 930),
]


def _det(label: str, x1: float, y1: float, x2: float, y2: float) -> dict:
    return {"label": label, "confidence": 0.9, "box": {"x1": x1, "y1": y1, "x2": x2, "y2": y2}}


def test_every_field_found_on_its_box() -> None:
    dets = [_det("invoice_date", 805, 200, 1000, 221), _det("due_date", 800, 229, 995, 250)]
    dets.append(_det("total_amount", 700, 900, 1010, 930))
    assert missed_fields(dets, TRUTH) == []


def test_swapped_dates_and_a_box_elsewhere_are_missed() -> None:
    dets = [_det("due_date", 800, 200, 1000, 220), _det("invoice_date", 800, 230, 1000, 250)]
    dets.append(_det("total_amount", 100, 900, 400, 930))  # its class, on another row
    assert missed_fields(dets, TRUTH) == ["invoice_date", "due_date", "total_amount"]


def test_a_box_that_covers_two_rows_is_not_a_find() -> None:
    dets = [_det("invoice_date", 800, 200, 1000, 250)]  # IoU 20/50 with the invoice date's row
    assert missed_fields(dets, TRUTH[:1]) == ["invoice_date"]
