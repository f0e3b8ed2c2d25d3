"""One inbox object -> one recorded outcome. The same core call as `POST /infer`.

Outcomes: `done` / `needs_review` (a key field missing, or flagged by the value reader: a failed
check digit or cross-check) are answers; `rejected` (not an invoice, a bomb, an encrypted PDF, too
large, gone) is final and not retried; anything transient (throttling, timeouts, AWS faults) marks
the item `failed` and raises, so SQS redelivers it and, after its retries, moves it to the
dead-letter queue. The values are read as `POST /infer` reads them by default (READ_FIELDS).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from inbox.messages import ObjectRef
from inbox.results import FINAL, InvoiceRecord, ResultStore
from inbox.settings import InboxSettings
from invoice_core.detect.model import LoadedModel
from invoice_core.errors import InputRejected
from invoice_core.front import Options, read_document
from invoice_core.respond.render import render_json

logger = Logger(child=True)
ID_HEX = 32  # 128 bits of SHA-256: the document's id, the same for the same bytes


@dataclass(frozen=True)
class Outcome:
    """What happened to one object (for metrics and tests)."""

    id: str
    status: str  # done, needs_review, rejected, duplicate, ignored
    recorded: bool


def content_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:ID_HEX]


def reference_id(ref: ObjectRef) -> str:
    """An id for an object that was never read (gone, too large): its location and ETag."""
    return hashlib.sha256(f"s3://{ref.bucket}/{ref.key}#{ref.etag}".encode()).hexdigest()[:ID_HEX]


# What the item keeps of a key field read (the results object has all of it).
_RECORDED = ("value", "confidence", "page", "valid", "currency")


def key_field_summary(
    answer: dict[str, Any], key_fields: tuple[str, ...]
) -> tuple[dict[str, Any], list[str]]:
    """The key fields found and the key fields to review, in `key_fields` order.

    With read values (`fields`), a key field is recorded with its value and is to be reviewed when
    the page does not print it or the reader flagged it (`needs_review`: a failed check digit or
    cross-check, a date that does not exist). With detections only, the best detection per key class
    stands in, and only a missing one is to be reviewed."""
    if isinstance(answer.get("fields"), dict):
        read = answer["fields"]
        fields = {
            name: {k: read[name][k] for k in _RECORDED if k in read[name]}
            for name in key_fields
            if isinstance(read.get(name), dict)
        }
        flagged = set(answer.get("needs_review") or ())
    else:
        best: dict[str, dict[str, Any]] = {}
        pages = answer.get("pages") or [answer]
        for number, page in enumerate(pages, start=1):
            for det in page.get("detections", []):
                seen = best.get(det["label"])
                if seen is None or det["confidence"] > seen["confidence"]:
                    best[det["label"]] = {"confidence": det["confidence"], "page": number}
        fields = {name: best[name] for name in key_fields if name in best}
        flagged = set()
    review = [name for name in key_fields if name not in fields or name in flagged]
    return fields, review


class Worker:
    """Reads, analyses and records inbox objects."""

    def __init__(
        self, settings: InboxSettings, store: ResultStore, s3: Any, model: Callable[[], LoadedModel]
    ) -> None:
        self._settings, self._store, self._s3, self._model = settings, store, s3, model

    def process(self, ref: ObjectRef) -> Outcome:
        settings = self._settings
        source = {"bucket": ref.bucket, "key": ref.key, "etag": ref.etag, "size": ref.size}
        if ref.bucket != settings.invoices_bucket or not ref.key.startswith(settings.inbox_prefix):
            logger.warning("object outside the inbox ignored", extra={"bucket": ref.bucket, "key": ref.key})
            return Outcome("", "ignored", recorded=False)
        doc_id = reference_id(ref)
        try:
            data = self._read(ref)
            if isinstance(data, InvoiceRecord):  # refused before reading: gone or too large
                return self._finish(data, {"error": data.error})
            doc_id = content_id(data)
            return self._analyse(doc_id, data, source)
        except Exception as exc:  # transient (or a bug): recorded, retried, then the DLQ
            error = {"code": type(exc).__name__, "message": str(exc)[:300]}
            try:
                self._store.mark_failed(doc_id, source, error)
            except Exception:  # the table may be what failed: the retry is what matters
                logger.exception("could not record the failure", extra={"id": doc_id})
            raise

    def _read(self, ref: ObjectRef) -> bytes | InvoiceRecord:
        limit = self._settings.max_object_bytes
        source = {"bucket": ref.bucket, "key": ref.key, "etag": ref.etag, "size": ref.size}
        if ref.size > limit:
            return self._rejected(
                reference_id(ref), source, "payload_too_large", f"{ref.size:,} bytes > {limit:,}"
            )
        try:
            body = self._s3.get_object(Bucket=ref.bucket, Key=ref.key)["Body"].read(limit + 1)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                return self._rejected(
                    reference_id(ref), source, "object_not_found", "the object no longer exists"
                )
            raise
        if len(body) > limit:
            return self._rejected(
                reference_id(ref), source, "payload_too_large", f"more than {limit:,} bytes"
            )
        return body

    @staticmethod
    def _rejected(doc_id: str, source: dict[str, Any], code: str, message: str) -> InvoiceRecord:
        return InvoiceRecord(doc_id, "rejected", source, error={"code": code, "message": message})

    def _analyse(self, doc_id: str, data: bytes, source: dict[str, Any]) -> Outcome:
        existing = self._store.get(doc_id)
        if existing is not None and existing.get("status") in FINAL:
            if not existing.get("announced"):  # an earlier delivery stopped before its event
                self._store.announce(_record_of(existing))
            return Outcome(doc_id, "duplicate", recorded=False)
        model = self._model()
        started = time.perf_counter()
        options = Options(values=self._settings.read_fields)  # the same reader as POST /infer's default
        try:
            result = read_document(
                data, model, options, limits=self._settings.limits, policy=self._settings.policy
            )
        except InputRejected as exc:
            record = InvoiceRecord(doc_id, "rejected", source, model_version=model.info.version)
            record.error = {"code": exc.code, "message": exc.message[:300]}
            return self._finish(record, {"error": exc.code, "message": exc.message})
        answer = render_json(result, request_ms=(time.perf_counter() - started) * 1000.0)
        fields, review = key_field_summary(answer, self._settings.key_fields)
        record = InvoiceRecord(
            doc_id,
            "needs_review" if review else "done",
            source,
            model_version=model.info.version,
            fields=fields,
            needs_review=review,
            timings_ms=answer["timings_ms"],
        )
        return self._finish(record, answer)

    def _finish(self, record: InvoiceRecord, answer: dict[str, Any]) -> Outcome:
        if not self._store.save(record, answer):
            return Outcome(record.id, "duplicate", recorded=False)
        self._store.announce(record)
        logger.info(
            "invoice recorded", extra={"id": record.id, "status": record.status, "key": record.source["key"]}
        )
        return Outcome(record.id, record.status, recorded=True)


def _record_of(item: dict[str, Any]) -> InvoiceRecord:
    keep = {k: item[k] for k in InvoiceRecord.__dataclass_fields__ if k in item}
    return InvoiceRecord(**keep)
