"""Normalisers of the reading step: dates to ISO 8601, amounts to numbers + ISO 4217, identifiers."""

from __future__ import annotations

import pytest

from invoice_core.read.normalise import (
    currency_code,
    parse_alnum,
    parse_amount,
    parse_date,
    parse_digits,
    parse_identifier,
)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026-04-22", "2026-04-22"),
        ("2026/04/22", "2026-04-22"),
        ("22.04.2026", "2026-04-22"),
        ("22/04/2026", "2026-04-22"),
        ("22-04-2026", "2026-04-22"),
        ("22.04.26", "2026-04-22"),
        ("April 22, 2026", "2026-04-22"),
        ("Apr 22 2026", "2026-04-22"),
        ("22 Apr 2026", "2026-04-22"),
        ("22 Apr. 2026", "2026-04-22"),
        ("22-Apr-2026", "2026-04-22"),
        ("22nd April 2026", "2026-04-22"),
        ("22 april 2026", "2026-04-22"),
        ("1 maj 2026", "2026-05-01"),
        ("3 okt. 2026", "2026-10-03"),
        ("3 okt 2026", "2026-10-03"),
        ("12 mars 2026", "2026-03-12"),
        ("5 Sept 2026", "2026-09-05"),
        ("20260422", "2026-04-22"),
        ("260422", "2026-04-22"),
        (": 22.04.2026", "2026-04-22"),
        ("\u00a02026-04-22 (30 dagar)", "2026-04-22"),
    ],
)
def test_dates_to_iso(text: str, iso: str) -> None:
    parsed = parse_date(text)
    assert parsed is not None and parsed.value == iso


def test_ambiguous_numeric_date_is_day_first_and_says_so() -> None:
    parsed = parse_date("03/04/2026")
    assert parsed is not None
    assert parsed.value == "2026-04-03"
    assert parsed.extra == {"order": "dmy", "ambiguous": True}


def test_month_first_only_when_day_first_is_impossible() -> None:
    parsed = parse_date("04/22/2026")
    assert parsed is not None and parsed.value == "2026-04-22"
    assert parsed.extra["order"] == "mdy" and parsed.extra["ambiguous"] is False


def test_month_first_on_request() -> None:
    parsed = parse_date("03/04/2026", day_first=False)
    assert parsed is not None and parsed.value == "2026-03-04"


def test_unambiguous_numeric_date_is_not_flagged() -> None:
    parsed = parse_date("22.04.2026")
    assert parsed is not None and parsed.extra["ambiguous"] is False


@pytest.mark.parametrize(
    "text",
    [
        "31.02.2026",
        "2026-02-30",
        "32/01/2026",
        "13/13/2026",
        "30 februari 2026",
        "0.04.2026",
        "2026-13-01",
        "30 dagar netto",
        "",
        "Förfallodatum",
        "22 Foo 2026",
        "1899-01-01",
        "12345",
    ],
)
def test_not_dates(text: str) -> None:
    assert parse_date(text) is None


def test_compact_dates_can_be_switched_off() -> None:
    assert parse_date("260422", compact=False) is None


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("212 880,00 kr", 212880.0, "SEK"),
        ("SEK 212,880.00", 212880.0, "SEK"),
        ("1.234,50 EUR", 1234.5, "EUR"),
        ("€1,234.50", 1234.5, "EUR"),
        ("1 234,50 €", 1234.5, "EUR"),
        ("212880.00", 212880.0, None),
        ("212880,00", 212880.0, None),
        ("1 234,50", 1234.5, None),
        ("1\u2009234,50", 1234.5, None),
        ("1\u00a0234,50", 1234.5, None),
        ("1\u202f234,50 kr", 1234.5, "SEK"),
        ("-1 234,50", -1234.5, None),
        ("\u22121 234,50", -1234.5, None),
        ("1 234,50-", -1234.5, None),
        ("(1,234.50)", -1234.5, None),
        ("- 500,00 SEK", -500.0, "SEK"),
        ("$1,234,567.89", 1234567.89, "USD"),
        ("£ 99.00", 99.0, "GBP"),
        ("1 500 NOK", 1500.0, "NOK"),
        ("DKK 1.500,00", 1500.0, "DKK"),
        ("1,234", 1234.0, None),
        ("12,5", 12.5, None),
        ("0,00 kr", 0.0, "SEK"),
        ("250:-", 250.0, "SEK"),
        (": 42 576,00", 42576.0, None),
        ("212 880,00kr", 212880.0, "SEK"),
        ("SEK212 880,00", 212880.0, "SEK"),
        ("12,50€", 12.5, "EUR"),
    ],
)
def test_amounts(text: str, value: float, currency: str | None) -> None:
    parsed = parse_amount(text)
    assert parsed is not None
    assert parsed.value == pytest.approx(value)
    assert parsed.extra.get("currency") == currency


@pytest.mark.parametrize(
    "text",
    [
        "25%",
        "25 %",
        "+46 8 123 45 67",
        "2026-04-22",
        "1,234,50",
        "12 34,00",
        "1.234.5678",
        "kr",
        "",
        "abc",
        "1,2345",
        "12,50x",
        "556677-8899",
    ],
)
def test_not_amounts(text: str) -> None:
    assert parse_amount(text) is None


def test_amount_span_covers_the_currency() -> None:
    text = "212 880,00 kr  (incl. moms)"
    parsed = parse_amount(text)
    assert parsed is not None and text[parsed.start : parsed.end] == "212 880,00 kr"


@pytest.mark.parametrize(
    ("text", "code"),
    [("kr", "SEK"), ("SEK", "SEK"), ("€", "EUR"), ("$", "USD"), ("£", "GBP"), ("nok", "NOK")],
)
def test_currency_codes(text: str, code: str) -> None:
    assert currency_code(text) == code


def test_unknown_currency() -> None:
    assert currency_code("XYZ") is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("INV-2026-0412", "INV-2026-0412"),
        (": 12345", "12345"),
        ("#00123", "00123"),
        ("F2026001 ", "F2026001"),
        ("26-4711", "26-4711"),
        ("2026/0412", "2026/0412"),
    ],
)
def test_identifiers(text: str, value: str) -> None:
    parsed = parse_identifier(text)
    assert parsed is not None and parsed.value == value


@pytest.mark.parametrize("text", ["", "Kund AB", "see below", "X" * 30 + "1" * 20])
def test_not_identifiers(text: str) -> None:
    assert parse_identifier(text) is None


def test_grouped_digits() -> None:
    parsed = parse_digits("9947 0208 3936")
    assert parsed is not None and parsed.value == "994702083936"
    assert parse_digits("12 34 56-7").value == "1234567"  # type: ignore[union-attr]
    assert parse_digits("123abc") is None


def test_grouped_alnum() -> None:
    parsed = parse_alnum("SE45 5000 0000 0583 9825 7466")
    assert parsed is not None and parsed.value == "SE4550000000058398257466"
