"""The reader on the synthetic invoices of devkit.synth: every layout the detector is trained on.

The words are exact (each drawn text with its glyph box, as a born-digital PDF's text layer gives
them), either one Word per drawn text (like OCR lines) or split at spaces (like PDF words), and the
regions are the fields' drawn extents (a perfect detector). The truth is the invoice's content.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from devkit.synth.compose import compose
from devkit.synth.content import Invoice, make_invoice
from devkit.synth.fields import CLASS_NAMES
from invoice_core.read.decide import read_invoice
from invoice_core.read.words import Box, Region, Word
from invoice_core.respond.schema import Answer

SEEDS = range(40)
_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_SV = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
_EN_LONG = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_SV_LONG = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)


def _sheet(seed: int, *, split: bool) -> tuple[Invoice, list[Word], list[Region]]:
    inv, words, regions, _ = _sheet_and_family(seed, split=split)
    return inv, words, regions


def _sheet_and_family(
    seed: int, *, split: bool, policy: str = "train"
) -> tuple[Invoice, list[Word], list[Region], str]:
    rng = random.Random(seed)  # the same draws as render_invoice(seed, scanned=False) makes
    np.random.default_rng(rng.getrandbits(64))
    inv = make_invoice(rng, policy=policy)
    sheet = compose(inv, rng, 1240, 1754, None, policy=policy)
    words: list[Word] = []
    extents: dict[int, list[Box]] = {}
    for text, xyxy, cls in sheet.texts():
        box = Box(*xyxy)
        words += _split(text, box) if split else [Word(text, box, 1, 0.99, "pdf_text")]
        if cls is not None:
            extents.setdefault(cls, []).append(box)
    regions = [Region(CLASS_NAMES[c], Box.union(boxes), 0.9) for c, boxes in extents.items()]
    return inv, words, regions, sheet.layout


def _split(text: str, box: Box) -> list[Word]:
    """Words of a drawn text, boxes shared out by character count."""
    step = (box.x2 - box.x1) / len(text)
    out, pos = [], 0
    for token in text.split(" "):
        if token:
            x1 = box.x1 + pos * step
            out.append(Word(token, Box(x1, box.y1, x1 + len(token) * step, box.y2), 1, 0.99, "pdf_text"))
        pos += len(token) + 1
    return out


def _printed_as(iso: str) -> set[str]:
    """Every way devkit.synth prints a date."""
    d = dt.date.fromisoformat(iso)
    m = d.month - 1
    return {
        d.isoformat(),
        f"{d.day:02d}/{d.month:02d}/{d.year}",
        f"{d.day:02d}.{d.month:02d}.{d.year}",
        f"{d.month:02d}/{d.day:02d}/{d.year}",
        f"{d.year % 100:02d}{d.month:02d}{d.day:02d}",
        f"{d.day} {_EN[m]} {d.year}",
        f"{d.day} {_SV[m]} {d.year}",
        f"{_EN_LONG[m]} {d.day}, {d.year}",
        f"{d.day} {_SV_LONG[m]} {d.year}",
    }


def _truth(inv: Invoice) -> dict[str, object]:
    subtotal = round(sum(item.value for item in inv.items), 2)
    vat = round(subtotal * inv.vat_pct / 100, 2)
    truth: dict[str, object] = {
        "invoice_number": inv.number.lstrip("#"),
        "supplier": inv.supplier.name,
        "subtotal": subtotal,
        "vat": vat,
        "total_amount": round(subtotal + vat, 2),
        "currency": inv.money.currency,
    }
    for label, value in inv.payment_lines:
        key = {
            "OCR": "payment_reference",
            "Bankgiro": "bankgiro",
            "IBAN": "iban",
            "BIC": "bic",
            "SWIFT": "bic",
        }
        if label in key:
            truth[key[label]] = value if label == "Bankgiro" else value.replace(" ", "")
    return truth


@pytest.mark.parametrize("split", [False, True], ids=["text-runs", "pdf-words"])
def test_synthetic_invoices_read_right(split: bool) -> None:
    wrong = []
    for seed in SEEDS:
        inv, words, regions, family = _sheet_and_family(seed, split=split)
        answer = read_invoice(words, regions)
        Answer.model_validate(answer)
        got = {name: field["value"] for name, field in answer["fields"].items()}
        truth = _truth(inv)
        if family == "no_label":  # an unlabelled number: see test_an_unlabelled_invoice_number_is_read
            del truth["invoice_number"]
        for name, value in truth.items():
            if got.get(name) != value:
                wrong.append((seed, name, value, got.get(name)))
        for name, printed in (("invoice_date", inv.issued), ("due_date", inv.due)):
            if name not in got or printed not in _printed_as(got[name]):
                wrong.append((seed, name, printed, got.get(name)))
        assert answer["checks"]["amounts_add_up"] is True, seed
        assert answer["checks"]["due_after_issue"] is True, seed
    assert wrong == []


KEY = ("invoice_number", "invoice_date", "due_date", "total_amount", "payment_reference")


@pytest.mark.parametrize("with_regions", [True, False], ids=["true-boxes", "labels-only"])
def test_held_out_layouts_and_wordings_read_right(with_regions: bool) -> None:
    """Held-out families, payment variant and wording ("Fakturanummer", "Bill number", "Payable
    by", ...): on exact words every key field is right, with a perfect detector and with none (the
    labels alone), and no payment reference is read where the page prints no OCR or reference line."""
    wrong = []
    for seed in range(30):
        inv, words, regions, _ = _sheet_and_family(seed, split=False, policy="held_out")
        assert inv.wording == "alternate"
        got = {
            n: f["value"] for n, f in read_invoice(words, regions if with_regions else [])["fields"].items()
        }
        printed = inv.payment_truth()
        truth = {
            "invoice_number": inv.number.lstrip("#"),
            "invoice_date": inv.issued_iso,
            "due_date": inv.due_iso,
            "total_amount": inv.total_value,
            "payment_reference": printed.get("ocr", printed.get("reference")),
        }
        for name in KEY:
            if got.get(name) != truth[name]:
                wrong.append((seed, name, truth[name], got.get(name)))
    assert wrong == []


def test_synthetic_lookalikes_are_never_fields() -> None:
    """Customer and order numbers, delivery dates and references never come out as field values."""
    for seed in SEEDS:
        inv, words, regions = _sheet(seed, split=False)
        values = {str(f["value"]) for f in read_invoice(words, regions)["fields"].values()}
        assert inv.customer_no not in values and inv.order_no not in values, seed
        assert inv.your_ref not in values and inv.our_ref not in values, seed


@pytest.mark.xfail(
    strict=True, reason="the reader needs a label to take an invoice number; no_label pages print none"
)
def test_an_unlabelled_invoice_number_is_read() -> None:
    """The `no_label` family prints the invoice number bare under the title; its region alone says
    what it is. (Seed 6 is such a page.)"""
    inv, words, regions, family = _sheet_and_family(6, split=False)
    assert family == "no_label"
    got = {name: field["value"] for name, field in read_invoice(words, regions)["fields"].items()}
    assert got.get("invoice_number") == inv.number.lstrip("#")
