"""The queue worker on moto: partial batch failure, duplicates, poison messages, transient faults."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from bench import samples
from inbox.messages import NotAnObjectEvent, parse_body

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("pillow_unpatched")]

REGION = "eu-north-1"
BUCKET = "invoice-yolo-invoices-local"
TABLE = "invoice-yolo-invoices-local"


class Context:
    function_name = "ProcessInvoiceFunction"
    memory_limit_in_mb = 2048
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:ProcessInvoiceFunction"
    aws_request_id = "test-request"


@dataclass
class Stack:
    module: ModuleType
    s3: Any
    dynamodb: Any
    captured: Any  # SQS queue that an EventBridge rule copies every "Invoice Processed" event to
    captured_url: str

    def put(self, key: str, data: bytes) -> dict[str, Any]:
        head = self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        return {"key": key, "etag": head["ETag"].strip('"'), "size": len(data)}

    def items(self) -> list[dict[str, Any]]:
        return [self.module.store.get(i["id"]["S"]) for i in self.dynamodb.scan(TableName=TABLE)["Items"]]

    def events(self) -> list[dict[str, Any]]:
        out = []
        while True:
            got = self.captured.receive_message(QueueUrl=self.captured_url, MaxNumberOfMessages=10)
            if not got.get("Messages"):
                return out
            for message in got["Messages"]:
                out.append(json.loads(message["Body"]))
                self.captured.delete_message(
                    QueueUrl=self.captured_url, ReceiptHandle=message["ReceiptHandle"]
                )


@pytest.fixture
def stack(serving_model: Path, function_env: Callable[..., dict[str, str]]) -> Iterator[Stack]:
    env = function_env(
        "process-invoice",
        MODEL_PATH=str(serving_model),
        INVOICES_TABLE=TABLE,
        INVOICES_BUCKET=BUCKET,
        MAX_OBJECT_BYTES=str(2 * 1024 * 1024),
    )
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for key, value in env.items():
            patch.setenv(key, value)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="captured-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events", region_name=REGION)
        events.put_rule(Name="capture", EventPattern=json.dumps({"detail-type": ["Invoice Processed"]}))
        events.put_targets(Rule="capture", Targets=[{"Id": "q", "Arn": arn}])
        sys.modules.pop("inbox.handler", None)
        module = importlib.import_module("inbox.handler")
        yield Stack(module, s3, dynamodb, sqs, url)
        sys.modules.pop("inbox.handler", None)


def _batch(api_event: Callable[[str], dict[str, Any]], *objects: dict[str, Any]) -> dict[str, Any]:
    """events/inbox_sqs_batch.json with its records pointed at the given objects."""
    event = api_event("inbox_sqs_batch")
    template = event["Records"][0]
    records = []
    for number, obj in enumerate(objects):
        record = json.loads(json.dumps(template))
        body = json.loads(record["body"])
        body["detail"]["object"].update(obj)
        record["body"], record["messageId"] = json.dumps(body), f"message-{number}"
        records.append(record)
    event["Records"] = records
    return event


def _run(stack: Stack, event: dict[str, Any]) -> tuple[list[str], str]:
    out = io.StringIO()
    stream = stack.module.logger.registered_handler
    previous = stream.setStream(out)
    try:
        with contextlib.redirect_stdout(out):
            result = stack.module.lambda_handler(event, Context())
    finally:
        stream.setStream(previous)
    return [failure["itemIdentifier"] for failure in result["batchItemFailures"]], out.getvalue()


def test_the_sample_event_names_inbox_objects(api_event: Callable[[str], dict[str, Any]]) -> None:
    refs = [parse_body(r["body"])[0] for r in api_event("inbox_sqs_batch")["Records"]]
    assert [r.key for r in refs] == ["inbox/2026-12/invoice-0001.jpg", "inbox/2026-12/invoice-0002.pdf"]
    assert {r.bucket for r in refs} == {BUCKET}


def test_a_batch_of_invoices_is_recorded_in_s3_dynamodb_and_eventbridge(
    stack: Stack, api_event: Callable[[str], dict[str, Any]]
) -> None:
    page = samples.invoice_page(seed=3, dpi=100)
    jpeg = stack.put("inbox/a.jpg", samples.encode(page))
    pdf = stack.put("inbox/b.pdf", samples.pdf([page], dpi=100))
    failures, logs = _run(stack, _batch(api_event, jpeg, pdf))
    assert failures == []
    items = sorted(stack.items(), key=lambda i: i["source"]["key"])
    assert [i["source"]["key"] for i in items] == ["inbox/a.jpg", "inbox/b.pdf"]
    assert {i["status"] for i in items} <= {"done", "needs_review"}
    for item in items:
        result = json.loads(stack.s3.get_object(Bucket=BUCKET, Key=item["result_key"])["Body"].read())
        assert result["model"]["version"] == item["model_version"]
        assert item["announced"] is True
        assert set(item["needs_review"]) | set(item["fields"]) >= {"invoice_number", "total_amount"}
    assert "pages" in json.loads(
        stack.s3.get_object(Bucket=BUCKET, Key=items[1]["result_key"])["Body"].read()
    )
    events = stack.events()
    assert sorted(e["detail"]["id"] for e in events) == sorted(i["id"] for i in items)
    assert all(e["source"] == "invoice-yolo.inbox" for e in events)
    assert "/9j/" not in logs  # no base64 JPEG (the document) in the logs


def test_the_same_content_twice_gives_one_result(
    stack: Stack, api_event: Callable[[str], dict[str, Any]]
) -> None:
    data = samples.encode(samples.invoice_page(seed=4, dpi=100))
    first = stack.put("inbox/x.jpg", data)
    again = stack.put("inbox/x-copy.jpg", data)  # a re-upload of the same bytes under another name
    assert _run(stack, _batch(api_event, first))[0] == []
    assert _run(stack, _batch(api_event, first, again))[0] == []  # SQS redelivery + the re-upload
    assert len(stack.items()) == 1
    assert len(stack.s3.list_objects_v2(Bucket=BUCKET, Prefix="results/")["Contents"]) == 1
    assert len(stack.events()) == 1


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"hello, this is not an invoice", "unsupported_media_type"),
        (
            b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
            "undecodable_input",
        ),
        (samples.png_bomb_header(), "too_many_pixels"),
    ],
)
def test_a_poison_document_is_rejected_once_and_not_retried(
    stack: Stack, api_event: Callable[[str], dict[str, Any]], data: bytes, code: str
) -> None:
    good = stack.put("inbox/good.jpg", samples.encode(samples.invoice_page(seed=5, dpi=100)))
    bad = stack.put("inbox/bad.bin", data)
    failures, _ = _run(stack, _batch(api_event, good, bad))
    assert failures == []  # nothing to retry: a rejection is an outcome
    by_key = {i["source"]["key"]: i for i in stack.items()}
    assert by_key["inbox/bad.bin"]["status"] == "rejected"
    assert by_key["inbox/bad.bin"]["error"]["code"] == code
    assert by_key["inbox/good.jpg"]["status"] in {"done", "needs_review"}
    assert {e["detail"]["status"] for e in stack.events()} >= {"rejected"}


def test_a_vanished_or_oversized_object_is_rejected_without_reading_it(
    stack: Stack, api_event: Callable[[str], dict[str, Any]]
) -> None:
    gone = {"key": "inbox/gone.jpg", "etag": "abc", "size": 10}
    huge = {"key": "inbox/huge.pdf", "etag": "def", "size": 3 * 1024 * 1024}
    assert _run(stack, _batch(api_event, gone, huge))[0] == []
    codes = {i["source"]["key"]: i["error"]["code"] for i in stack.items()}
    assert codes == {"inbox/gone.jpg": "object_not_found", "inbox/huge.pdf": "payload_too_large"}


def test_a_transient_failure_fails_only_its_message_and_is_recorded(
    stack: Stack, api_event: Callable[[str], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = stack.put("inbox/ok.jpg", samples.encode(samples.invoice_page(seed=6, dpi=100)))
    flaky = stack.put("inbox/flaky.jpg", samples.encode(samples.invoice_page(seed=7, dpi=100)))
    real_put = stack.module.store._db.put_item
    calls = {"n": 0}

    def throttled_for_flaky(**kwargs: Any) -> Any:
        if kwargs["Item"]["source"]["M"]["key"]["S"] == "inbox/flaky.jpg" and calls["n"] == 0:
            calls["n"] += 1
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem")
        return real_put(**kwargs)

    monkeypatch.setattr(stack.module.store._db, "put_item", throttled_for_flaky)
    event = _batch(api_event, ok, flaky)
    failures, _ = _run(stack, event)
    assert failures == ["message-1"]  # only the flaky one goes back to the queue
    by_key = {i["source"]["key"]: i for i in stack.items()}
    assert by_key["inbox/flaky.jpg"]["status"] == "failed"
    assert by_key["inbox/flaky.jpg"]["attempts"] == 1
    assert by_key["inbox/flaky.jpg"]["error"]["code"] == "ClientError"
    assert by_key["inbox/ok.jpg"]["status"] in {"done", "needs_review"}
    event["Records"] = event["Records"][1:]  # SQS redelivers the failed message
    assert _run(stack, event)[0] == []
    assert {i["source"]["key"]: i["status"] for i in stack.items()}["inbox/flaky.jpg"] in {
        "done",
        "needs_review",
    }
    assert len(stack.events()) == 2


def test_messages_that_are_not_object_events_are_dropped(
    stack: Stack, api_event: Callable[[str], dict[str, Any]]
) -> None:
    event = api_event("inbox_sqs_batch")
    event["Records"][0]["body"] = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})
    event["Records"] = event["Records"][:1]
    assert _run(stack, event)[0] == []
    assert stack.items() == []
    with pytest.raises(NotAnObjectEvent):
        parse_body("[]")


def test_s3_notification_records_are_read_too() -> None:
    body = json.dumps(
        {
            "Records": [
                {
                    "s3": {
                        "bucket": {"name": BUCKET},
                        "object": {"key": "inbox/a+b.pdf", "size": 5, "eTag": "e"},
                    }
                }
            ]
        }
    )
    (ref,) = parse_body(body)
    assert (ref.key, ref.size, ref.etag) == ("inbox/a b.pdf", 5, "e")
