"""The shape of the reader's answer as pydantic models: the contract the /infer adapter and the
queue worker can document and validate against (the reader itself builds plain dicts)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from invoice_contracts import fields as registry
from invoice_contracts.fields import FieldSpec


class BoxOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x1: float
    y1: float
    x2: float
    y2: float


class _Evidence(BaseModel):
    """What every field carries besides its value."""

    model_config = ConfigDict(extra="forbid")

    text: str
    confidence: float = Field(ge=0.0, le=1.0)
    page: int = Field(ge=1)
    box: BoxOut
    source: Literal["ocr", "pdf_text"]
    evidence: str  # label+detector | label | detector | from <field>


class TextField(_Evidence):
    value: str
    label: str | None = None
    address: str | None = None  # supplier: the lines under its name


class DateField(_Evidence):
    value: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    label: str | None = None
    ambiguous: bool | None = None


class AmountField(_Evidence):
    value: float
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    label: str | None = None


class CurrencyField(_Evidence):
    value: str = Field(pattern=r"^[A-Z]{3}$")
    label: str | None = None


class CheckedField(_Evidence):
    value: str
    valid: bool | None
    label: str | None = None


class ReferenceField(CheckedField):
    kind: Literal["ocr", "rf", "reference"]


class ItemOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str
    quantity: float | None
    unit_price: float | None
    amount: float
    box: BoxOut
    page: int = Field(ge=1)


class ItemsField(_Evidence):
    value: list[ItemOut]


def _model_of(field: FieldSpec) -> type[_Evidence]:
    """A field's answer model, from its kind and check in the field registry."""
    if field.kind == "items":
        return ItemsField
    if field.kind == "date":
        return DateField
    if field.kind == "amount":
        return AmountField
    if field.kind == "code":
        return CurrencyField
    if field.check == "reference":
        return ReferenceField
    return CheckedField if field.check else TextField


def fields_model() -> type[BaseModel]:
    """The `fields` object: one optional member per field of the registry, in its order."""
    members: dict[str, Any] = {f.name: (_model_of(f) | None, None) for f in registry.FIELDS}
    return create_model("Fields", __config__=ConfigDict(extra="forbid"), **members)


Fields = fields_model()


class Checks(BaseModel):
    """Null: a part of the check is not printed."""

    model_config = ConfigDict(extra="forbid")

    amounts_add_up: bool | None
    due_after_issue: bool | None
    line_items_add_up: bool | None


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: Fields
    checks: Checks
    needs_review: list[str]
