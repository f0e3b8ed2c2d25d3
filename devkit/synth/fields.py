"""The invoice fields the detector learns: the field registry's classes, in class-id order (part of
the model contract; `invoice_contracts.fields` is their one home)."""

from __future__ import annotations

from invoice_contracts.fields import CLASS_NAMES

__all__ = ["CLASS_NAMES"]
