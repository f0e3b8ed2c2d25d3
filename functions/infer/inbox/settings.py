"""The queue worker's settings: the inference settings plus where results go (template -> env -> here)."""

from __future__ import annotations

from pydantic import Field

from invoice_contracts import fields as registry
from serving.settings import Settings


class InboxSettings(Settings):
    """Everything `serving.settings.Settings` has (model, budgets) and the pipeline's stores."""

    invoices_table: str = Field(min_length=3, alias="INVOICES_TABLE")
    invoices_bucket: str = Field(min_length=3, alias="INVOICES_BUCKET")
    inbox_prefix: str = Field("inbox/", alias="INBOX_PREFIX")
    results_prefix: str = Field("results/", alias="RESULTS_PREFIX")
    event_bus: str = Field("default", min_length=1, alias="EVENT_BUS_NAME")
    event_source: str = Field("invoice-yolo.inbox", min_length=1, alias="EVENT_SOURCE")
    # Key fields whose absence sends an invoice to review (comma-separated field names); default:
    # the field registry's key fields.
    key_fields: tuple[str, ...] = Field(registry.key_fields(), alias="KEY_FIELDS")
