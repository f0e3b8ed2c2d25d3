"""GET /invoices[/{id}] on moto: reads what the queue worker writes, refuses bad input with JSON 4xx."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from inbox.results import InvoiceRecord, ResultStore

pytestmark = pytest.mark.unit

REGION = "eu-north-1"
TABLE, BUCKET = "invoices-test", "invoices-test-bucket"
INVOICE_ID = "3f2a9c0d8e7b6a5f4e3d2c1b0a998877"  # the id in events/invoices_get.json


class Context:
    function_name = "InvoiceResultsFunction"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:InvoiceResultsFunction"
    aws_request_id = "test"


@pytest.fixture
def api(function_env: Callable[..., dict[str, str]]) -> Iterator[tuple[ModuleType, ResultStore]]:
    env = function_env("invoice-results", INVOICES_TABLE=TABLE, INVOICES_BUCKET=BUCKET)
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for key, value in env.items():
            patch.setenv(key, value)
        s3, db = boto3.client("s3", region_name=REGION), boto3.client("dynamodb", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        db.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": a, "AttributeType": "S"} for a in ("id", "status", "updated_at")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-status",
                    "KeySchema": [
                        {"AttributeName": "status", "KeyType": "HASH"},
                        {"AttributeName": "updated_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        store = ResultStore(
            s3=s3,
            dynamodb=db,
            events=None,
            table=TABLE,
            bucket=BUCKET,
            prefix="results/",
            bus="default",
            source="t",
        )
        from results_api import settings as results_settings  # noqa: PLC0415 - read after the env is set

        results_settings.get_settings.cache_clear()
        sys.modules.pop("results_api.handler", None)
        module = importlib.import_module("results_api.handler")
        yield module, store
        sys.modules.pop("results_api.handler", None)
        results_settings.get_settings.cache_clear()


def _call(module: ModuleType, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    result = module.lambda_handler(event, Context())
    return result["statusCode"], json.loads(result["body"])


def _record(doc_id: str, status: str, key: str) -> InvoiceRecord:
    return InvoiceRecord(
        doc_id,
        status,  # type: ignore[arg-type]
        {"bucket": "inbox-bucket", "key": key, "etag": "e", "size": 10},
        model_version="demo-3",
        fields={"total_amount": {"confidence": 0.91, "page": 1}},
        needs_review=["due_date"] if status == "needs_review" else [],
        timings_ms={"total": 31.5},
    )


def test_get_returns_the_record_and_the_stored_answer(
    api: tuple[ModuleType, ResultStore], api_event: Callable[[str], dict[str, Any]]
) -> None:
    module, store = api
    assert store.save(_record(INVOICE_ID, "needs_review", "inbox/a.pdf"), {"model": {"version": "demo-3"}})
    status, body = _call(module, api_event("invoices_get"))
    assert status == 200
    assert (body["id"], body["status"], body["needs_review"]) == (INVOICE_ID, "needs_review", ["due_date"])
    assert body["result"] == {"model": {"version": "demo-3"}}
    assert body["fields"]["total_amount"]["confidence"] == 0.91
    assert "announced" not in body and "result_key" not in body


def test_an_expired_result_leaves_the_record_readable(
    api: tuple[ModuleType, ResultStore], api_event: Callable[[str], dict[str, Any]]
) -> None:
    module, store = api
    record = _record(INVOICE_ID, "done", "inbox/old.pdf")
    assert store.save(record, {"model": {"version": "demo-3"}})
    module.reader._s3.delete_object(Bucket=BUCKET, Key=record.result_key)  # the lifecycle rule's doing
    status, body = _call(module, api_event("invoices_get"))
    assert (status, body["status"], body["result"]) == (200, "done", None)


def test_list_by_status_newest_first_with_paging(
    api: tuple[ModuleType, ResultStore],
    api_event: Callable[[str], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module, store = api
    clock = iter(f"2026-12-01T09:00:0{n}.000+00:00" for n in range(9))
    monkeypatch.setattr("inbox.results._now", lambda: next(clock))  # distinct, increasing times
    ids = [f"{n:032x}" for n in range(1, 4)]
    for doc_id in ids:
        store.save(_record(doc_id, "needs_review", f"inbox/{doc_id}.pdf"), {})
    store.save(_record(f"{9:032x}", "done", "inbox/done.pdf"), {})
    event = api_event("invoices_list_needs_review")
    event["queryStringParameters"]["limit"] = "2"
    event["multiValueQueryStringParameters"]["limit"] = ["2"]
    status, first = _call(module, event)
    assert status == 200
    assert [i["id"] for i in first["invoices"]] == [ids[2], ids[1]]
    event["queryStringParameters"]["next_token"] = first["next_token"]
    event["multiValueQueryStringParameters"]["next_token"] = [first["next_token"]]
    status, second = _call(module, event)
    assert status == 200
    assert [i["id"] for i in second["invoices"]] == [ids[0]]
    assert all(i["status"] == "needs_review" for i in first["invoices"] + second["invoices"])


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({}, 400, "invalid_request"),  # status=lost in the event
        ({"status": "done", "limit": "²"}, 400, "invalid_request"),
        ({"status": "done", "next_token": "not-a-token"}, 400, "invalid_request"),
    ],
)
def test_bad_queries_are_json_4xx(
    api: tuple[ModuleType, ResultStore],
    api_event: Callable[[str], dict[str, Any]],
    change: dict[str, str],
    status: int,
    code: str,
) -> None:
    module, _ = api
    event = api_event("invoices_list_bad_status")
    event["queryStringParameters"].update(change)
    event["multiValueQueryStringParameters"].update({k: [v] for k, v in change.items()})
    got, body = _call(module, event)
    assert (got, body["error"], body["status"]) == (status, code, status)
    assert body["request_id"] == event["requestContext"]["requestId"]


def test_unknown_and_malformed_ids(
    api: tuple[ModuleType, ResultStore], api_event: Callable[[str], dict[str, Any]]
) -> None:
    module, _ = api
    status, body = _call(module, api_event("invoices_get"))
    assert (status, body["error"]) == (404, "invoice_not_found")
    event = api_event("invoices_get")
    event["pathParameters"]["invoice_id"] = "../etc"
    event["path"] = "/invoices/..%2Fetc"
    status, body = _call(module, event)
    assert (status, body["error"]) == (400, "invalid_request")
