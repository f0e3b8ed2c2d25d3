"""Check digits and cross-checks of invoice values.

python-stdnum (LGPL) supplies: the Luhn (mod 10) algorithm (`stdnum.luhn`), IBAN mod 97 with the
per-country length and format (`stdnum.iban`), the BIC format (`stdnum.bic`) and the RF creditor
reference mod 97 (`stdnum.iso11649`). It has no Swedish Bankgiro, Plusgiro or OCR reference, so the
length/format rules of those three are written here; all three end in a Luhn check digit over all
their digits, which stdnum computes. (The optional OCR length digit of some Bankgirot contracts is
not checked: whether a payee uses it is not printed on the invoice.)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from stdnum import bic, iban, iso11649, luhn
from stdnum.exceptions import ValidationError

AMOUNT_TOLERANCE = 0.01  # one öre/cent: printed amounts are rounded to two decimals


def _luhn(digits: str) -> bool:
    return digits.isdigit() and luhn.is_valid(digits)


def ocr_reference(digits: str) -> bool:
    """Swedish OCR number: 2-25 digits, the last a Luhn check digit."""
    return 2 <= len(digits) <= 25 and _luhn(digits)


def bankgiro(digits: str) -> bool:
    """Bankgiro number: 7 or 8 digits, the last a Luhn check digit."""
    return len(digits) in (7, 8) and _luhn(digits)


def plusgiro(digits: str) -> bool:
    """Plusgiro number: 2-8 digits, the last a Luhn check digit."""
    return 2 <= len(digits) <= 8 and _luhn(digits)


def iban_number(compact: str) -> bool:
    """IBAN: country format and mod 97 (stdnum)."""
    try:
        iban.validate(compact)
    except ValidationError:
        return False
    return True


def bic_code(compact: str) -> bool:
    """BIC/SWIFT: 8 or 11 characters, bank, country and location codes (stdnum)."""
    return bic.is_valid(compact)


def rf_reference(compact: str) -> bool:
    """RF creditor reference (ISO 11649): mod 97 (stdnum)."""
    return iso11649.is_valid(compact)


def looks_like_iban(compact: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", compact))


def looks_like_bic(compact: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?", compact))


def show_bankgiro(digits: str) -> str:
    """1165206 -> 116-5206, 54567890 -> 5456-7890 (how Bankgirot prints them)."""
    return f"{digits[:-4]}-{digits[-4:]}" if len(digits) > 4 else digits


def show_plusgiro(digits: str) -> str:
    """4123456 -> 412345-6 (the check digit after a hyphen)."""
    return f"{digits[:-1]}-{digits[-1]}" if len(digits) > 1 else digits


CHECKS: dict[str, Callable[[str], bool]] = {
    "ocr": ocr_reference,
    "rf": rf_reference,
    "bankgiro": bankgiro,
    "plusgiro": plusgiro,
    "iban": iban_number,
    "bic": bic_code,
}


def amounts_add_up(subtotal: float | None, vat: float | None, total: float | None) -> bool | None:
    """subtotal + VAT = total within one cent; None when one of the three is not printed."""
    if subtotal is None or vat is None or total is None:
        return None
    return abs(subtotal + vat - total) <= AMOUNT_TOLERANCE + 1e-9


def due_after_issue(issued: str | None, due: str | None) -> bool | None:
    """The due date is not before the invoice date; None when either is not printed."""
    if issued is None or due is None:
        return None
    return dt.date.fromisoformat(due) >= dt.date.fromisoformat(issued)


def items_add_up(amounts: list[float], subtotal: float | None) -> bool | None:
    """Line amounts sum to the subtotal within one cent per line; None without rows or subtotal."""
    if not amounts or subtotal is None:
        return None
    return abs(sum(amounts) - subtotal) <= AMOUNT_TOLERANCE * len(amounts) + 1e-9
