"""Where an invoice's outcome lives: `results/<id>.json` in S3 (the answer `/infer` gives, or the
refusal), one DynamoDB item per document, and one EventBridge event per finished document.

Exactly-once effect: the item is written with a condition (absent, or `failed` before), so of two
deliveries of the same content only one records it and announces it; the other sees a duplicate.
The results object is written first and is the same bytes for the same content, so a crash between
the two writes leaves nothing half-done that a retry would not repair. Events are at least once: a
crash after PutEvents and before `announced` is set re-announces on the retry (consumers
de-duplicate on `detail.id`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from apiedge.dynamo import from_dynamo, to_dynamo

Status = Literal["done", "needs_review", "rejected", "failed"]
FINAL: frozenset[str] = frozenset({"done", "needs_review", "rejected"})
DETAIL_TYPE = "Invoice Processed"
_NOT_FINAL = "attribute_not_exists(id) OR #status = :failed"


@dataclass
class InvoiceRecord:
    """One document's item (never the document itself: invoices are personal data)."""

    id: str
    status: Status
    source: dict[str, Any]
    model_version: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    needs_review: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: dict[str, str] | None = None
    result_key: str | None = None

    def item(self, now: str) -> dict[str, Any]:
        doc = {k: v for k, v in self.__dict__.items() if v is not None}
        doc |= {"created_at": now, "updated_at": now, "announced": False}
        return to_dynamo(doc)

    def detail(self, bucket: str) -> dict[str, Any]:
        """The EventBridge detail: ids, status, key values; no document content."""
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "source": {"bucket": self.source.get("bucket"), "key": self.source.get("key")},
            "model_version": self.model_version,
            "fields": self.fields,
            "needs_review": self.needs_review,
        }
        if self.result_key:
            out["result"] = {"bucket": bucket, "key": self.result_key}
        if self.error:
            out["error"] = self.error
        return out


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class ResultStore:
    """S3 results, the DynamoDB table and the event bus, behind four calls the worker needs."""

    def __init__(
        self,
        *,
        s3: Any,
        dynamodb: Any,
        events: Any,
        table: str,
        bucket: str,
        prefix: str,
        bus: str,
        source: str,
    ) -> None:
        self._s3, self._db, self._events = s3, dynamodb, events
        self._table, self._bucket, self._prefix = table, bucket, prefix
        self._bus, self._source = bus, source

    def get(self, doc_id: str) -> dict[str, Any] | None:
        item = self._db.get_item(TableName=self._table, Key={"id": {"S": doc_id}}, ConsistentRead=True)
        return from_dynamo(item["Item"]) if "Item" in item else None

    def save(self, record: InvoiceRecord, answer: dict[str, Any]) -> bool:
        """Write the results object, then the item if no other delivery recorded this document.
        Returns False for a duplicate."""
        record.result_key = f"{self._prefix}{record.id}.json"
        self._s3.put_object(
            Bucket=self._bucket,
            Key=record.result_key,
            Body=json.dumps(answer, ensure_ascii=False).encode(),
            ContentType="application/json",
        )
        try:
            self._db.put_item(
                TableName=self._table,
                Item=record.item(_now()),
                ConditionExpression=_NOT_FINAL,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":failed": {"S": "failed"}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_failed(self, doc_id: str, source: dict[str, Any], error: dict[str, str]) -> None:
        """Record a transient failure (never over a final outcome); counts attempts."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"id": {"S": doc_id}},
                UpdateExpression=(
                    "SET #status = :failed, #source = :source, #error = :error, updated_at = :now, "
                    "created_at = if_not_exists(created_at, :now), announced = :no ADD attempts :one"
                ),
                ConditionExpression=_NOT_FINAL,
                ExpressionAttributeNames={"#status": "status", "#source": "source", "#error": "error"},
                ExpressionAttributeValues={
                    ":failed": {"S": "failed"},
                    ":source": to_dynamo({"v": source})["v"],
                    ":error": to_dynamo({"v": error})["v"],
                    ":now": {"S": _now()},
                    ":no": {"BOOL": False},
                    ":one": {"N": "1"},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def announce(self, record: InvoiceRecord) -> None:
        """One EventBridge event for a finished document, then mark the item announced."""
        response = self._events.put_events(
            Entries=[
                {
                    "Source": self._source,
                    "DetailType": DETAIL_TYPE,
                    "Detail": json.dumps(record.detail(self._bucket), ensure_ascii=False),
                    "EventBusName": self._bus,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            code = response["Entries"][0].get("ErrorCode", "unknown")
            raise ClientError({"Error": {"Code": code, "Message": "PutEvents failed"}}, "PutEvents")
        self._db.update_item(
            TableName=self._table,
            Key={"id": {"S": record.id}},
            UpdateExpression="SET announced = :yes",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )
