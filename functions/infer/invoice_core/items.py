"""Line items: the rows of the `line_items` region as {description, quantity, unit_price, amount}.

A row is a line of the region with at least one amount. Reading right to left: the last amount is the
line amount, the one before it the unit price, a plain number before that the quantity; a percentage
(the VAT rate column) and a unit word ("st", "h", "pcs") are skipped; the rest on the left is the
description. A line with no amount continues the description of the row above it (notes, serial
numbers; a lone number without decimals is such a note). A line labelled as a sum ("Total",
"Summa", "Netto") is not a row. The header row (Beskrivning/Antal/À-pris/Belopp,
Description/Qty/Price/Amount) is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from invoice_core.lexicon import find_labels
from invoice_core.normalise import clean, parse_amount
from invoice_core.words import Box, Run, Word, lines_of

HEADER_WORDS = frozenset(
    [
        "beskrivning",
        "benämning",
        "artikel",
        "specifikation",
        "antal",
        "ant.",
        "kvantitet",
        "enhet",
        "enh.",
        "à-pris",
        "á-pris",
        "a-pris",
        "pris",
        "styckpris",
        "belopp",
        "summa",
        "totalt",
        "moms",
        "description",
        "item",
        "details",
        "qty",
        "quantity",
        "units",
        "unit",
        "price",
        "rate",
        "each",
        "amount",
        "total",
        "net",
        "vat",
        "tax",
        "art.nr",
        "artikelnr",
        "kod",
        "sku",
        "code",
    ]
)
SUM_FIELDS = frozenset({"subtotal", "vat", "total_amount"})
_PERCENT = re.compile(r"^\d+(?:[.,]\d+)?\s*%$")


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


def _is_header(tokens: list[str]) -> bool:
    known = sum(1 for t in tokens if t.casefold().strip(":") in HEADER_WORDS)
    return known >= 2 and known * 2 >= len(tokens)


def _is_sum(description: str) -> bool:
    return any(f.label.field in SUM_FIELDS for f in find_labels(description))


def _tokens(runs: Sequence[Run]) -> list[str]:
    """Space-separated tokens of each run; grouped numbers ('1 234,50') kept whole.

    Tokens come from runs, not words: a text layer splits "1 234,50" into two words, but a column gap
    always separates two runs.
    """
    out: list[str] = []
    for run in runs:
        out.extend(re.findall(r"-?\d{1,3}(?: \d{3})+(?:[.,]\d{1,2})?-?|\S+", clean(run.text)))
    return out


def read_items(words: Sequence[Word]) -> list[Item]:
    """The rows of one line-items region's words."""
    items: list[Item] = []
    for line in lines_of(words):
        line_words = [w for run in line.runs for w in run.words]
        tokens = _tokens(line.runs)
        if not tokens or _is_header(tokens):
            continue
        numbers: list[float] = []
        money = False  # the line amount prints decimals ("450,00"): "Order 12345" is a note, not a row
        i = len(tokens)
        while i > 0:
            token = tokens[i - 1]
            if _PERCENT.match(token) or (
                numbers and token.isalpha() and len(token) <= 4 and len(numbers) < 3
            ):
                i -= 1
                continue
            parsed = parse_amount(token)
            if parsed is None or parsed.end < len(token) or len(numbers) == 3:
                break
            money = money or (not numbers and bool(re.search(r"[.,]\d{1,2}-?$", token)))
            numbers.append(parsed.value)
            i -= 1
        description = " ".join(tokens[:i]).strip()
        if numbers and _is_sum(description):
            continue  # "Total", "Summa", "Netto 170 304,00" inside the table: the table's sums, not a row
        if len(numbers) == 1 and not money:
            numbers, description = [], " ".join(tokens).strip()
        if not numbers or (len(numbers) == 1 and not description and not items):
            if items and description:
                items[-1].description += "\n" + description
                items[-1].words.extend(line_words)
            continue
        amount = numbers[0]
        unit_price = numbers[1] if len(numbers) > 1 else None
        quantity = numbers[2] if len(numbers) > 2 else None
        items.append(Item(description, quantity, unit_price, amount, list(line_words)))
    return items
