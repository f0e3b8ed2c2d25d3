"""The field registry: every field the reader answers, one entry each, in the answer's order.

The detector's classes are the entries with a `class_id` (their order is the model contract: the
ONNX metadata's `names` must match `CLASS_NAMES` at load). The generator draws them, the lexicon
names their labels, the reader parses them by `kind`, the answer schema types them and the inbox
reviews the `key` ones. Adding a field is an entry here plus its label words
(`invoice_core.read.lexicon`) and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "date", "amount", "code", "text", "items"]


@dataclass(frozen=True)
class FieldSpec:
    """One field.

    - kind: how its printed value is parsed and typed: an identifier, a date, an amount, a code
      (currency), a text block read from a region (supplier, address), or line items.
    - check: the check digit or format its value must pass (`valid` in the answer); None: none.
    - class_id: the detector's class id; None when only label words find it.
    - key: the reader cannot do without it: missing (or flagged), the invoice needs review.
    - expected: every invoice prints it, so the detector missing it on page 1 sends the page to a
      whole read (a key field that is often absent, such as a payment reference, is not expected).
    - shape: fields of one shape are one proposal to the reader (the two dates are the same
      one-line key-value row; only their label words tell them apart). Default: its own name.
    """

    name: str
    kind: Kind
    check: str | None = None
    class_id: int | None = None
    key: bool = False
    expected: bool = False
    shape: str = ""

    @property
    def row_shape(self) -> str:
        return self.shape or self.name


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("invoice_number", "id", class_id=0, key=True, expected=True),
    FieldSpec("invoice_date", "date", class_id=1, key=True, expected=True, shape="date_row"),
    FieldSpec("due_date", "date", class_id=2, key=True, expected=True, shape="date_row"),
    FieldSpec("supplier", "text", class_id=3),
    FieldSpec("customer_address", "text", class_id=4),
    FieldSpec("subtotal", "amount", class_id=6),
    FieldSpec("vat", "amount", class_id=7),
    FieldSpec("total_amount", "amount", class_id=8, key=True, expected=True),
    FieldSpec("currency", "code"),
    FieldSpec("payment_reference", "id", check="reference", class_id=9, key=True),
    FieldSpec("bankgiro", "id", check="bankgiro"),
    FieldSpec("plusgiro", "id", check="plusgiro"),
    FieldSpec("iban", "id", check="iban"),
    FieldSpec("bic", "id", check="bic"),
    FieldSpec("line_items", "items", class_id=5),
)


def spec(name: str) -> FieldSpec | None:
    """The entry named `name`, or None."""
    return next((f for f in FIELDS if f.name == name), None)


def names(*, kind: Kind | None = None) -> tuple[str, ...]:
    """Field names in the answer's order, of one kind or all."""
    return tuple(f.name for f in FIELDS if kind is None or f.kind == kind)


def class_names() -> tuple[str, ...]:
    """The detector's classes in class-id order (the model contract)."""
    detected = sorted((f for f in FIELDS if f.class_id is not None), key=lambda f: f.class_id or 0)
    if [f.class_id for f in detected] != list(range(len(detected))):
        raise ValueError("the registry's class ids must be 0..n-1, each once")
    return tuple(f.name for f in detected)


def key_fields() -> tuple[str, ...]:
    return tuple(f.name for f in FIELDS if f.key)


def expected_proposals() -> tuple[str, ...]:
    """The key rows the detector proposes on every invoice (one missing on page 1: a whole read)."""
    return tuple(f.name for f in FIELDS if f.key and f.expected and f.class_id is not None)


def shape_of(name: str) -> tuple[str, ...]:
    """The fields of `name`'s row shape (`name` alone when no other field shares it)."""
    found = spec(name)
    if found is None:
        return (name,)
    return tuple(f.name for f in FIELDS if f.row_shape == found.row_shape)


def same_shape_groups() -> tuple[tuple[str, ...], ...]:
    """Groups of two or more fields of one row shape (the detector's proposals pooled for reading)."""
    seen: dict[str, list[str]] = {}
    for f in FIELDS:
        seen.setdefault(f.row_shape, []).append(f.name)
    return tuple(tuple(group) for group in seen.values() if len(group) > 1)


CLASS_NAMES: tuple[str, ...] = class_names()
