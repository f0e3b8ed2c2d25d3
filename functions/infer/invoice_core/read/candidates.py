"""Candidate values: a parsed value, where it is printed, why it is thought to be its field, and how
strongly; the field parsers; and how competing claims are settled.

The scores: label strength + relation (own run > next cell on the line > cell below); the
detector's agreement adds AGREE; a region alone scores REGION_ONLY. Competing claims on the same
characters: the stronger label and the closer relation win (`deconflict`). Per field the
best-scored candidate; a field with no candidate is absent, never guessed (`best`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from invoice_contracts.fields import names, spec
from invoice_core.read import checks
from invoice_core.read.lexicon import IGNORE, fold
from invoice_core.read.normalise import (
    Parsed,
    clean,
    currency_code,
    parse_alnum,
    parse_amount,
    parse_date,
    parse_digits,
    parse_identifier,
)
from invoice_core.read.words import Box, Region, Run, Word

STRONG, WEAK = 2.0, 1.0
INLINE, RIGHT, BELOW = 3.0, 2.0, 1.0
AGREE = 3.0
REGION_ONLY = 1.0

AMOUNT_FIELDS = names(kind="amount")
DATE_FIELDS = names(kind="date")
TEXT_FIELDS = (*names(kind="text"), *names(kind="items"))  # regions read as text, not parsed


@dataclass
class Candidate:
    """A parsed value at `run.text[start:end]`, why it is thought to be `field`, and how strongly."""

    field: str
    parsed: Parsed
    run: Run
    start: int
    end: int
    score: float
    relation: str  # inline | right | below | region
    label: str | None = None  # the label as printed
    label_box: Box | None = None
    region: Region | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def words(self) -> list[Word]:
        return self.run.words_in(self.start, self.end)

    @property
    def text(self) -> str:
        return self.run.text[self.start : self.end]

    @property
    def box(self) -> Box:
        return self.run.box_of(self.start, self.end)

    def overlaps(self, other: Candidate) -> bool:
        return self.run is other.run and self.start < other.end and other.start < self.end


# --- field parsers --------------------------------------------------------------------------------------


def _reference(text: str, label: str) -> Parsed | None:
    """OCR number under an OCR label; otherwise an RF reference, grouped digits or an identifier."""
    if "ocr" in fold(label):
        found = parse_digits(text, max_len=25)
        return Parsed(found.value, found.start, found.end, {"kind": "ocr"}) if found else None
    alnum = parse_alnum(text, max_len=25)
    if alnum and alnum.value.startswith("RF") and alnum.value[2:4].isdigit():
        return Parsed(alnum.value, alnum.start, alnum.end, {"kind": "rf"})
    found = parse_digits(text, max_len=25) or parse_identifier(text)
    return Parsed(found.value, found.start, found.end, {"kind": "reference"}) if found else None


def _giro(text: str, shown: Callable[[str], str], low: int, high: int) -> Parsed | None:
    found = parse_digits(text, max_len=12)
    if not found or not low <= len(found.value) <= high:
        return None
    return Parsed(shown(found.value), found.start, found.end, {"digits": found.value})


def _iban(text: str) -> Parsed | None:
    """An IBAN in groups; a trailing word that is not part of it ("... 7466 Bank") is dropped when
    the shorter reading passes mod 97 and the longer does not."""
    found = parse_alnum(text, max_len=40)
    if not found or not checks.looks_like_iban(found.value):
        return None
    if not checks.iban_number(found.value):
        groups = clean(text)[found.start : found.end].split(" ")
        for k in range(len(groups) - 1, 1, -1):
            compact = "".join(groups[:k]).upper()
            if checks.iban_number(compact):
                return Parsed(compact, found.start, found.start + len(" ".join(groups[:k])), {})
    return found if len(found.value) <= 34 else None


def _bic(text: str) -> Parsed | None:
    found = parse_alnum(text, max_len=11)
    return found if found and checks.looks_like_bic(found.value) else None


def _currency(text: str) -> Parsed | None:
    token = text.strip().lstrip(":").split()
    code = currency_code(token[0]) if token else None
    if code is None:
        return None
    start = text.index(token[0])
    return Parsed(code, start, start + len(token[0]), {})


def _claim(text: str) -> Parsed | None:
    """A look-alike label takes whatever follows it."""
    stripped = text.strip(" :")
    if not stripped:
        return None
    start = text.index(stripped)
    return Parsed(stripped, start, start + len(stripped), {})


def parser_for(name: str, label: str, day_first: bool) -> Callable[[str], Parsed | None] | None:
    """The parser of a field's printed value, by its kind and check in the field registry; None for
    fields read as text blocks (and names the registry does not have)."""
    if name == IGNORE:
        return _claim
    field_spec = spec(name)
    if field_spec is None:
        return None
    by_kind: dict[str, Callable[[str], Parsed | None]] = {
        "date": lambda text: parse_date(text, day_first=day_first),
        "amount": parse_amount,
        "code": _currency,
    }
    if field_spec.kind != "id":
        return by_kind.get(field_spec.kind)
    by_check: dict[str, Callable[[str], Parsed | None]] = {
        "reference": lambda text: _reference(text, label),
        "bankgiro": lambda text: _giro(text, checks.show_bankgiro, 7, 8),
        "plusgiro": lambda text: _giro(text, checks.show_plusgiro, 2, 8),
        "iban": _iban,
        "bic": _bic,
    }
    return by_check.get(field_spec.check or "", parse_identifier)


def deconflict(candidates: list[Candidate]) -> list[Candidate]:
    """Each printed character belongs to at most one claim: the best-scored keeps it."""
    kept: list[Candidate] = []
    for cand in sorted(candidates, key=lambda c: -c.score):
        if not any(cand.overlaps(k) for k in kept):
            kept.append(cand)
    return kept


def best(candidates: list[Candidate]) -> dict[str, Candidate]:
    """The winning candidate per field (look-alikes dropped); ties: the first in reading order, except
    for the total, which is printed last (a table's "Total" row above it is the net sum)."""
    chosen: dict[str, Candidate] = {}
    for cand in candidates:
        if cand.field == IGNORE:
            continue
        held = chosen.get(cand.field)
        later = cand.field == "total_amount" and held is not None and cand.score == held.score
        if held is None or cand.score > held.score or later:
            chosen[cand.field] = cand
    return chosen
