"""Line items: the rows of the `line_items` region as {description, quantity, unit_price, amount}.

With a header row (Beskrivning/Antal/À-pris/Belopp, Description/Qty/Unit price/Amount, ...), each
token of a row belongs to the header cell nearest above it: the columns say what a number is.
Without one, a row is read right to left: the last amount is the line amount, the one before it the
unit price, a plain number before that the quantity; a percentage (the VAT column) and a short unit
word ("st", "h", "pcs") are skipped; the rest is the description.

A line without a line amount continues the description of the row above it (notes, serial
numbers; a lone number without decimals is such a note). A line labelled as a sum ("Total",
"Summa", "Netto 170 304,00") is the table's sum, not a row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from invoice_core.read.lexicon import find_labels, fold
from invoice_core.read.normalise import clean, parse_amount
from invoice_core.read.words import Box, Line, Word, lines_of

SUM_FIELDS = frozenset({"subtotal", "vat", "total_amount"})
_PERCENT = re.compile(r"^\d+(?:[.,]\d+)?\s*%$")
_TOKEN = re.compile(r"-?\d{1,3}(?: \d{3})+(?:[.,]\d{1,2})?-?|\S+")  # grouped numbers stay whole

# Header phrases by column role; longer phrases first so "unit price" is a price, not a unit.
ROLES: tuple[tuple[str, str], ...] = tuple(
    (role, phrase)
    for role, phrases in (
        ("price", "unit price|price per unit|à-pris|á-pris|a-pris|à pris|styckpris|pris|price|rate|each"),
        ("amount", "line total|belopp|summa|totalt|amount|total|net|netto"),
        ("vat", "moms %|vat %|tax %|moms|vat|tax|mva"),
        ("qty", "kvantitet|quantity|antal|ant.|qty|units|hrs|hours|tim"),
        ("unit", "enhet|enh.|unit|uom"),
        ("sku", "art. no.|art.nr|artikelnr|art nr|sku|code|kod"),
        (
            "desc",
            "beskrivning|benämning|artikel|specifikation|produkt|description|item|details|product / service",
        ),
    )
    for phrase in phrases.split("|")
)
_ROLE_RX = re.compile(
    "|".join(
        rf"(?P<r{i}>(?<!\w){re.escape(phrase)}(?!\w))"
        for i, (_, phrase) in sorted(enumerate(ROLES), key=lambda item: -len(item[1][1]))
    )
)


@dataclass
class Item:
    """One row."""

    description: str
    quantity: float | None
    unit_price: float | None
    amount: float
    words: list[Word] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "quantity": self.quantity,
            "unit_price": self.unit_price,
            "amount": self.amount,
            "box": Box.union(w.box for w in self.words).as_dict(),
        }


@dataclass(frozen=True)
class Token:
    text: str
    box: Box


def _tokens(line: Line) -> list[Token]:
    """Tokens of a line with their boxes. From runs, not words: a text layer splits "1 234,50" into two
    words, but a column gap always separates two runs."""
    out: list[Token] = []
    for run in line.runs:
        text = clean(run.text)
        out += [Token(m.group(0), run.box_of(m.start(), m.end())) for m in _TOKEN.finditer(text)]
    return out


def _header(line: Line) -> list[tuple[str, Box]] | None:
    """The header's columns (role, box), left to right; None if the line is not a header."""
    cells: list[tuple[str, Box]] = []
    covered = 0
    for run in line.runs:
        folded = fold(run.text)
        for m in _ROLE_RX.finditer(folded):
            index = int(next(k for k, v in m.groupdict().items() if v is not None)[1:])
            cells.append((ROLES[index][0], run.box_of(m.start(), m.end())))
            covered += m.end() - m.start()
    total = sum(len(run.text.replace(" ", "")) for run in line.runs)
    if len(cells) < 2 or covered * 2 < total or not any(role == "amount" for role, _ in cells):
        return None
    return sorted(cells, key=lambda c: c[1].x1)


def _column(token: Token, header: list[tuple[str, Box]]) -> str:
    """The role of the header cell over a token: overlapping it, else the nearest."""
    over = [(role, box) for role, box in header if box.x_overlaps(token.box)]
    pool = over or header
    return min(pool, key=lambda c: abs(c[1].cx - token.box.cx))[0]


def _number(texts: list[str]) -> float | None:
    """The rightmost number in a column's tokens (numbers are right-aligned)."""
    for text in reversed(texts):
        parsed = parse_amount(text)
        if parsed is not None and parsed.end == len(text):
            return parsed.value
    return None


def _is_money(text: str) -> bool:
    return bool(re.search(r"[.,]\d{1,2}-?$", text)) and parse_amount(text) is not None


def _by_header(
    tokens: list[Token], header: list[tuple[str, Box]]
) -> tuple[str, float | None, float | None, float | None]:
    roles: dict[str, list[str]] = {}
    for token in tokens:
        roles.setdefault(_column(token, header), []).append(token.text)
    description = " ".join(roles.get("desc", []) or roles.get("sku", []))
    amounts = roles.get("amount", [])
    amount = _number(amounts) if amounts and (_is_money(amounts[-1]) or "price" in roles) else None
    return description, _number(roles.get("qty", [])), _number(roles.get("price", [])), amount


def _right_to_left(tokens: list[Token]) -> tuple[str, float | None, float | None, float | None]:
    texts = [t.text for t in tokens]
    numbers: list[float] = []
    money = False  # the line amount prints decimals ("450,00"): "Order 12345" is a note, not a row
    i = len(texts)
    while i > 0:
        token = texts[i - 1]
        if _PERCENT.match(token) or (numbers and token.isalpha() and len(token) <= 4 and len(numbers) < 3):
            i -= 1
            continue
        parsed = parse_amount(token)
        if parsed is None or parsed.end < len(token) or len(numbers) == 3:
            break
        money = money or (not numbers and _is_money(token))
        numbers.append(parsed.value)
        i -= 1
    if not numbers or (len(numbers) == 1 and not money):
        return " ".join(texts), None, None, None
    description = " ".join(texts[:i])
    quantity = numbers[2] if len(numbers) > 2 else None
    unit_price = numbers[1] if len(numbers) > 1 else None
    return description, quantity, unit_price, numbers[0]


def read_items(words: Sequence[Word]) -> list[Item]:
    """The rows of one line-items region's words."""
    items: list[Item] = []
    header: list[tuple[str, Box]] | None = None
    for line in lines_of(words):
        tokens = _tokens(line)
        if not tokens:
            continue
        if header is None and (found := _header(line)) is not None:
            header = found
            continue
        line_words = [w for run in line.runs for w in run.words]
        description, quantity, unit_price, amount = (
            _by_header(tokens, header) if header else _right_to_left(tokens)
        )
        description = description.strip()
        if amount is None:
            note = " ".join(t.text for t in tokens)  # the whole line, whichever columns it crosses
            if items and note:
                items[-1].description += "\n" + note
                items[-1].words.extend(line_words)
            continue
        if _is_sum(description) or (not description and not items):
            continue  # the table's own sum line, or a number above any row
        items.append(Item(description, quantity, unit_price, amount, list(line_words)))
    return items


def _is_sum(description: str) -> bool:
    return any(f.label.field in SUM_FIELDS for f in find_labels(description))
