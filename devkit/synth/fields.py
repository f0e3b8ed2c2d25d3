"""The invoice fields the detector learns. Order is the class id; it is part of the model contract."""

from __future__ import annotations

CLASS_NAMES: tuple[str, ...] = (
    "invoice_number",
    "invoice_date",
    "due_date",
    "supplier",
    "customer_address",
    "line_items",
    "subtotal",
    "vat",
    "total_amount",
    "payment_reference",
)
