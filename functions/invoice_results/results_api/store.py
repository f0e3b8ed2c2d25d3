"""Reads of the invoices table (and the result objects it names); the worker owns the writes."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Literal

from botocore.exceptions import ClientError

from apiedge.aws import aws_call, is_not_found
from apiedge.dynamo import from_dynamo
from apiedge.errors import ApiError, InvalidRequest
from results_api.settings import Settings

Status = Literal["done", "needs_review", "rejected", "failed"]
STATUSES: tuple[str, ...] = ("done", "needs_review", "rejected", "failed")
ID_PATTERN = re.compile(r"[0-9a-f]{32}")
# What a listing shows per invoice (the full answer is one GET away).
SUMMARY = ("id", "status", "source", "model_version", "fields", "needs_review", "error", "updated_at")


class InvoiceNotFound(ApiError):
    status = 404
    code = "invoice_not_found"


class InvoiceReader:
    def __init__(self, dynamodb: Any, s3: Any, settings: Settings) -> None:
        self._db, self._s3, self._settings = dynamodb, s3, settings

    def get(self, invoice_id: str) -> dict[str, Any]:
        """One invoice's record and, when stored, its full answer."""
        if not ID_PATTERN.fullmatch(invoice_id):
            raise InvalidRequest("an invoice id is 32 lowercase hex characters")
        with aws_call("reading the invoice"):
            found = self._db.get_item(TableName=self._settings.invoices_table, Key={"id": {"S": invoice_id}})
        if "Item" not in found:
            raise InvoiceNotFound(f"no invoice {invoice_id}")
        item = from_dynamo(found["Item"])
        key = item.pop("result_key", None)
        item.pop("announced", None)
        if key:
            item["result"] = self._result(key)
        return item

    def _result(self, key: str) -> dict[str, Any] | None:
        with aws_call("reading the result"):
            try:
                body = self._s3.get_object(Bucket=self._settings.invoices_bucket, Key=key)["Body"].read()
            except ClientError as exc:
                if is_not_found(exc):
                    return None  # expired by the bucket's lifecycle rule: the record stays
                raise  # aws_call maps it
        return json.loads(body)

    def by_status(self, status: str | None, limit: int, next_token: str | None) -> dict[str, Any]:
        """Newest first, `limit` at a time; `next_token` continues a listing."""
        if status not in STATUSES:
            raise InvalidRequest(f"query parameter status must be one of {', '.join(STATUSES)}")
        args: dict[str, Any] = {
            "TableName": self._settings.invoices_table,
            "IndexName": self._settings.status_index,
            "KeyConditionExpression": "#status = :status",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":status": {"S": status}},
            "ScanIndexForward": False,
            "Limit": max(1, min(limit, self._settings.max_list_limit)),
        }
        if next_token:
            args["ExclusiveStartKey"] = _decode_token(next_token)
        with aws_call("listing invoices"):
            page = self._db.query(**args)
        items = [from_dynamo(item) for item in page.get("Items", [])]
        out: dict[str, Any] = {"invoices": [{k: i[k] for k in SUMMARY if k in i} for i in items]}
        if "LastEvaluatedKey" in page:
            out["next_token"] = _encode_token(page["LastEvaluatedKey"])
        return out


def _encode_token(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def _decode_token(token: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("next_token is not a token this API issued") from exc
    valid = isinstance(key, dict) and all(
        isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values()
    )
    if not valid or len(key) > 4:
        raise InvalidRequest("next_token is not a token this API issued")
    return key
