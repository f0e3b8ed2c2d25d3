"""Check digits (python-stdnum's Luhn, IBAN, BIC, RF; our Bankgiro/Plusgiro/OCR rules) and cross-checks."""

from __future__ import annotations

import pytest

from invoice_core.read import checks


@pytest.mark.parametrize(
    ("digits", "ok"),
    [
        ("994702083936", True),
        ("994702083930", False),
        ("18", True),
        ("1", False),
        ("12a4", False),
        ("1" * 26, False),
    ],
)
def test_ocr_reference(digits: str, ok: bool) -> None:
    assert checks.ocr_reference(digits) is ok


@pytest.mark.parametrize(
    ("digits", "ok"),
    [
        ("50501055", True),
        ("1165208", True),
        ("1165206", False),
        ("50501056", False),
        ("116520", False),
        ("123456789", False),
    ],
)
def test_bankgiro(digits: str, ok: bool) -> None:
    assert checks.bankgiro(digits) is ok


@pytest.mark.parametrize(
    ("digits", "ok"),
    [
        ("900506", True),
        ("41234568", True),
        ("41234567", False),
        ("18", True),
        ("1", False),
        ("123456789", False),
    ],
)
def test_plusgiro(digits: str, ok: bool) -> None:
    assert checks.plusgiro(digits) is ok


def test_iban_mod97() -> None:
    assert checks.iban_number("SE4550000000058398257466")
    assert not checks.iban_number("SE4550000000058398257467")
    assert not checks.iban_number("SE45500000000583982574")  # wrong length for SE


def test_bic_format() -> None:
    assert checks.bic_code("ESSESESS") and checks.bic_code("NWBKGB2LXXX")
    assert not checks.bic_code("ESSE1ESS") and not checks.bic_code("ESSESES")


def test_rf_reference() -> None:
    assert checks.rf_reference("RF18539007547034")
    assert not checks.rf_reference("RF19539007547034")


def test_display_forms() -> None:
    assert checks.show_bankgiro("1165208") == "116-5208"
    assert checks.show_bankgiro("50501055") == "5050-1055"
    assert checks.show_plusgiro("41234568") == "4123456-8"


def test_amounts_add_up() -> None:
    assert checks.amounts_add_up(170304.0, 42576.0, 212880.0) is True
    assert checks.amounts_add_up(170304.0, 42576.0, 212880.01) is True  # rounding of one öre
    assert checks.amounts_add_up(170304.0, 42576.0, 212881.0) is False
    assert checks.amounts_add_up(-100.0, -25.0, -125.0) is True  # a credit note
    assert checks.amounts_add_up(None, 42576.0, 212880.0) is None


def test_due_after_issue() -> None:
    assert checks.due_after_issue("2026-04-22", "2026-05-22") is True
    assert checks.due_after_issue("2026-04-22", "2026-04-22") is True
    assert checks.due_after_issue("2026-04-22", "2026-04-21") is False
    assert checks.due_after_issue(None, "2026-04-21") is None


def test_items_add_up() -> None:
    assert checks.items_add_up([150000.0, 20304.0], 170304.0) is True
    assert checks.items_add_up([150000.0, 20000.0], 170304.0) is False
    assert checks.items_add_up([], 170304.0) is None
    assert checks.items_add_up([1.0], None) is None
