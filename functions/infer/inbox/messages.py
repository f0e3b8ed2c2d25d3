"""What one SQS message says: which S3 object arrived. Bodies are EventBridge events of S3's
"Object Created" (the template's route); S3's own notification shape is read too, so a bucket wired
straight to the queue works the same. Anything else is a message to drop, not to retry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus


class NotAnObjectEvent(ValueError):
    """The message is not an S3 object-created notification (e.g. S3's s3:TestEvent)."""


@dataclass(frozen=True)
class ObjectRef:
    """An object to read: where it is and what S3 said about it."""

    bucket: str
    key: str
    etag: str
    size: int


def parse_body(body: str) -> list[ObjectRef]:
    """The objects a message names (EventBridge: one; S3 notification: one or more records)."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise NotAnObjectEvent("message body is not JSON") from exc
    if not isinstance(doc, dict):
        raise NotAnObjectEvent("message body is not a JSON object")
    if doc.get("source") == "aws.s3" and isinstance(doc.get("detail"), dict):
        return [_from_detail(doc["detail"])]
    records = doc.get("Records")
    if isinstance(records, list) and records:
        return [_from_record(record) for record in records]
    raise NotAnObjectEvent(f"not an S3 object event: {str(doc.get('Event') or doc.get('detail-type'))[:80]}")


def _from_detail(detail: dict[str, Any]) -> ObjectRef:
    try:
        obj = detail["object"]
        return ObjectRef(
            detail["bucket"]["name"],
            obj["key"],
            str(obj.get("etag") or obj.get("eTag") or ""),
            int(obj.get("size", 0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise NotAnObjectEvent(f"EventBridge S3 event lacks {exc}") from exc


def _from_record(record: Any) -> ObjectRef:
    try:
        s3 = record["s3"]
        obj = s3["object"]
        # S3 notifications URL-encode the key (spaces as '+'); EventBridge's detail does not.
        return ObjectRef(
            s3["bucket"]["name"], unquote_plus(obj["key"]), str(obj.get("eTag", "")), int(obj.get("size", 0))
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise NotAnObjectEvent(f"S3 notification record lacks {exc}") from exc
