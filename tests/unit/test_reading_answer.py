"""The answer's schema (pydantic models of invoice_core.respond.schema) and line items."""

from __future__ import annotations

import json
import random

import pytest
from pydantic import ValidationError
from reading_layout import page

from invoice_core.read.decide import read_invoice
from invoice_core.read.items import read_items
from invoice_core.read.words import Box, Region, Word, regions_from
from invoice_core.respond.schema import Answer

FULL_SV = [
    [(60, "Nordic Supplies AB"), (600, "FAKTURA")],
    "Storgatan 12",
    "114 35 Stockholm",
    None,
    [(60, "Faktureringsadress"), (600, "Fakturanr"), (800, "INV-2026-0412")],
    [(60, "Kund AB"), (600, "Kundnummer"), (800, "55012")],
    [(60, "Box 269"), (600, "Fakturadatum"), (800, "22 april 2026")],
    [(60, "647 65 Göteborg"), (600, "Leveransdatum"), (800, "2026-04-20")],
    [(600, "Förfallodatum"), (800, "22 maj 2026")],
    None,
    [(60, "Beskrivning"), (400, "Antal"), (520, "À-pris"), (640, "Moms"), (760, "Belopp")],
    [(60, "Konsulttjänster"), (400, "100 h"), (520, "1 500,00"), (640, "25%"), (760, "150 000,00")],
    [(60, "Period 2026-03-01 - 2026-03-31 Order 12345")],
    [(60, "Resekostnader"), (400, "1"), (520, "20 304,00"), (640, "25%"), (760, "20 304,00")],
    [(60, "Total"), (760, "170 304,00")],
    None,
    [(520, "Netto"), (760, "170 304,00")],
    [(520, "Moms 25%"), (760, "42 576,00")],
    [(520, "Att betala"), (760, "212 880,00 kr")],
    None,
    [(60, "Bankgiro"), (220, "5050-1055"), (420, "OCR"), (520, "994702083936")],
    [(60, "IBAN"), (220, "SE45 5000 0000 0583 9825 7466"), (600, "BIC ESSESESS")],
    [(60, "Org.nr 556677-8899"), (400, "Tel 08-123 45 67"), (600, "Momsreg.nr SE556677889901")],
]


def _regions() -> list[Region]:
    top = 80.0
    row = 32.0
    return [
        Region("supplier", Box(50, top - 4, 400, top + 2 * row + 24), 0.95),
        Region("line_items", Box(50, top + 10 * row - 4, 900, top + 14 * row + 24), 0.97),
        Region("invoice_date", Box(790, top + 6 * row - 4, 900, top + 6 * row + 24), 0.6),
        Region("total_amount", Box(510, top + 18 * row - 4, 900, top + 18 * row + 24), 0.9),
        Region("payment_reference", Box(50, top + 20 * row - 4, 900, top + 21 * row + 24), 0.85),
    ]


@pytest.mark.parametrize("ocr", [True, False], ids=["ocr-lines", "pdf-words"])
def test_full_swedish_invoice_validates_against_the_schema(ocr: bool) -> None:
    answer = read_invoice(page(FULL_SV, ocr=ocr), _regions())
    parsed = Answer.model_validate(answer)
    assert json.loads(json.dumps(answer, ensure_ascii=False)) == answer  # JSON-ready
    fields = parsed.fields
    assert fields.invoice_number is not None and fields.invoice_number.value == "INV-2026-0412"
    assert fields.invoice_date is not None and fields.invoice_date.value == "2026-04-22"
    assert fields.invoice_date.evidence == "label+detector"
    assert fields.due_date is not None and fields.due_date.value == "2026-05-22"
    assert fields.total_amount is not None and (fields.total_amount.value, fields.total_amount.currency) == (
        212880.0,
        "SEK",
    )
    assert fields.total_amount.text == "212 880,00 kr"
    assert fields.subtotal is not None and fields.subtotal.currency == "SEK"
    assert fields.currency is not None and fields.currency.value == "SEK"
    assert fields.payment_reference is not None and fields.payment_reference.valid is True
    assert fields.bankgiro is not None and fields.bankgiro.value == "5050-1055"
    assert fields.iban is not None and fields.iban.value == "SE4550000000058398257466"
    assert fields.supplier is not None and fields.supplier.value == "Nordic Supplies AB"
    assert fields.customer_address is not None
    assert fields.customer_address.value == "Kund AB\nBox 269\n647 65 Göteborg"
    assert answer["checks"] == {"amounts_add_up": True, "due_after_issue": True, "line_items_add_up": True}
    assert answer["needs_review"] == []
    for name, field in answer["fields"].items():
        assert {"value", "text", "confidence", "page", "box", "source"} <= field.keys(), name


def test_line_items_rows() -> None:
    answer = read_invoice(page(FULL_SV), _regions())
    rows = answer["fields"]["line_items"]["value"]
    assert [(r["description"], r["quantity"], r["unit_price"], r["amount"]) for r in rows] == [
        ("Konsulttjänster\nPeriod 2026-03-01 - 2026-03-31 Order 12345", 100.0, 1500.0, 150000.0),
        ("Resekostnader", 1.0, 20304.0, 20304.0),
    ]
    assert rows[0]["page"] == 1 and rows[0]["box"]["y1"] == 80.0 + 11 * 32


def test_line_items_that_do_not_add_up_go_to_review() -> None:
    lines = list(FULL_SV)
    lines[13] = [(60, "Resekostnader"), (400, "1"), (520, "20 000,00"), (640, "25%"), (760, "20 000,00")]
    answer = read_invoice(page(lines), _regions())
    assert answer["checks"]["line_items_add_up"] is False
    assert answer["needs_review"] == ["subtotal", "line_items"]


def test_rows_by_their_header_columns() -> None:
    lines = [
        [
            (60, "Art.nr"),
            (160, "Beskrivning"),
            (500, "Antal"),
            (620, "Enhet"),
            (700, "À-pris"),
            (860, "Belopp"),
        ],
        [(60, "1001"), (160, "Frakt"), (700, "450,00"), (860, "450,00")],
        [
            (60, "1002"),
            (160, "Konsult, 2 dagar"),
            (500, "7,5"),
            (620, "h"),
            (700, "1 000,00"),
            (860, "7 500,00"),
        ],
        [(160, "Serienr 12345678")],
    ]
    items = read_items(page(lines, ocr=False))
    assert [(i.description, i.quantity, i.unit_price, i.amount) for i in items] == [
        ("Frakt", None, 450.0, 450.0),
        ("Konsult, 2 dagar\nSerienr 12345678", 7.5, 1000.0, 7500.0),
    ]


def test_rows_without_a_header_read_right_to_left() -> None:
    lines = [
        [(60, "Freight"), (700, "450.00")],
        [(60, "Hours"), (400, "7,5"), (520, "1 000,00"), (700, "7 500,00")],
        [(60, "Order 12345")],
    ]
    items = read_items(page(lines, ocr=False))
    assert [(i.description, i.quantity, i.unit_price, i.amount) for i in items] == [
        ("Freight", None, None, 450.0),
        ("Hours\nOrder 12345", 7.5, 1000.0, 7500.0),
    ]


def test_schema_refuses_a_wrong_answer() -> None:
    answer = read_invoice(page([[(60, "Fakturadatum"), (310, "2026-04-22")]]))
    answer["fields"]["invoice_date"]["value"] = "22/04/2026"
    with pytest.raises(ValidationError):
        Answer.model_validate(answer)
    del answer["fields"]["invoice_date"]["box"]
    with pytest.raises(ValidationError):
        Answer.model_validate(answer)


def test_regions_from_detector_arrays() -> None:
    names = ("invoice_number", "invoice_date")
    regions = regions_from([[1, 2, 3, 4]], [0.5], [1], names, page=2)
    assert regions == [Region("invoice_date", Box(1.0, 2.0, 3.0, 4.0), 0.5, 2)]


def test_random_pages_never_crash_and_always_fit_the_schema() -> None:
    """Labels, look-alikes, values and junk thrown at random places: an answer, never an exception."""
    vocab = [
        "Fakturanr",
        "Invoice No.",
        "Förfallodatum",
        "Due date",
        "Att betala",
        "Total",
        "Moms 25%",
        "VAT",
        "Netto",
        "OCR",
        "Bankgiro",
        "Plusgiro",
        "IBAN",
        "BIC",
        "Kundnummer",
        "Org.nr",
        "Tel",
        "Referens",
        "Bill to",
        "Kund",
        "2026-04-22",
        "31.02.2026",
        "03/04/2026",
        "212 880,00 kr",
        "-1 234,50",
        "€1,234.50",
        "994702083936",
        "5050-1055",
        "SE45 5000 0000 0583 9825 7466",
        "ESSESESS",
        "25%",
        "INV-1",
        ":",
        "#",
        "",
        " ",
        "ÅÄÖ",
        "1,2,3",
        "(",
        ")",
        "RF18 5390 0754 7034",
        "12 34 56-7",
        "x" * 200,
    ]
    rng = random.Random(7)
    for _ in range(200):
        words = [
            Word(
                rng.choice(vocab) + rng.choice(["", " ", ": ", " " + rng.choice(vocab)]),
                Box(
                    x := rng.uniform(0, 1000),
                    y := rng.uniform(0, 1400),
                    x + rng.uniform(1, 300),
                    y + rng.uniform(1, 40),
                ),
                rng.choice([1, 1, 2]),
                rng.random(),
                rng.choice(["ocr", "pdf_text"]),
            )
            for _ in range(rng.randrange(0, 40))
        ]
        regions = [
            Region(
                rng.choice(
                    [
                        "invoice_number",
                        "due_date",
                        "total_amount",
                        "supplier",
                        "customer_address",
                        "line_items",
                        "payment_reference",
                        "vat",
                    ]
                ),
                Box(
                    x := rng.uniform(0, 900),
                    y := rng.uniform(0, 1300),
                    x + rng.uniform(1, 500),
                    y + rng.uniform(1, 300),
                ),
                rng.random(),
                rng.choice([1, 2]),
            )
            for _ in range(rng.randrange(0, 6))
        ]
        Answer.model_validate(read_invoice(words, regions))
