"""The queue worker on moto: partial batch failure, duplicates, poison messages, transient faults,
and the values it reads. The `stack` tests are about the queue and its bookkeeping: that worker runs
with READ_FIELDS=false (detections only, no seconds of OCR per scan); `reading_stack` reads values
as a deployed worker does by default, on born-digital PDFs (their text layer reads in milliseconds).
"""

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
from devkit.synth.pdf import born_digital_invoice
from inbox.messages import NotAnObjectEvent, parse_body
from inbox.worker import key_field_summary
from invoice_core.read import values as reader

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
    """The worker recording detections only (READ_FIELDS=false)."""
    with _stack(serving_model, function_env, read_fields=False) as built:
        yield built


@pytest.fixture
def reading_stack(serving_model: Path, function_env: Callable[..., dict[str, str]]) -> Iterator[Stack]:
    """The worker as deployed by default: it reads the values (READ_FIELDS=true)."""
    with _stack(serving_model, function_env, read_fields=True) as built:
        yield built


@contextlib.contextmanager
def _stack(
    serving_model: Path, function_env: Callable[..., dict[str, str]], *, read_fields: bool
) -> Iterator[Stack]:
    env = function_env(
        "process-invoice",
        MODEL_PATH=str(serving_model),
        INVOICES_TABLE=TABLE,
        INVOICES_BUCKET=BUCKET,
        MAX_OBJECT_BYTES=str(2 * 1024 * 1024),
        READ_FIELDS=str(read_fields).lower(),
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


# --- the values read (READ_FIELDS on, the deployed default)


def test_the_worker_records_the_key_fields_values_read(
    reading_stack: Stack, api_event: Callable[[str], dict[str, Any]]
) -> None:
    pdf, printed = born_digital_invoice(2026, layout="meta_right")
    ref = reading_stack.put("inbox/digital.pdf", pdf)
    assert _run(reading_stack, _batch(api_event, ref))[0] == []
    (item,) = reading_stack.items()
    result = json.loads(reading_stack.s3.get_object(Bucket=BUCKET, Key=item["result_key"])["Body"].read())
    assert result["read"]["sources"] == ["pdf_text"]  # the same reader as POST /infer
    assert {"fields", "checks", "needs_review"} <= set(result)
    number = item["fields"]["invoice_number"]
    assert number["value"] == printed.number.lstrip("#") == result["fields"]["invoice_number"]["value"]
    assert set(number) <= {"value", "confidence", "page", "valid", "currency"} and number["page"] == 1
    assert item["fields"]["total_amount"]["value"] == result["fields"]["total_amount"]["value"]
    assert set(item["fields"]) <= set(reading_stack.module.SETTINGS.key_fields)  # key fields only
    key = reading_stack.module.SETTINGS.key_fields
    expected = [n for n in key if n not in result["fields"] or n in result["needs_review"]]
    assert item["needs_review"] == expected
    assert item["status"] == ("needs_review" if expected else "done")
    (event,) = reading_stack.events()
    assert event["detail"]["fields"]["invoice_number"]["value"] == number["value"]


def test_reading_keeps_exactly_once(reading_stack: Stack, api_event: Callable[[str], dict[str, Any]]) -> None:
    pdf, _ = born_digital_invoice(2027, layout="meta_right")
    first = reading_stack.put("inbox/p.pdf", pdf)
    again = reading_stack.put("inbox/p-copy.pdf", pdf)
    assert _run(reading_stack, _batch(api_event, first, first, again))[0] == []
    assert len(reading_stack.items()) == 1 and len(reading_stack.events()) == 1


def test_a_key_field_the_reader_flags_sends_the_invoice_to_review(
    reading_stack: Stack, api_event: Callable[[str], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every key field found, but the totals do not add up: the answer flags total_amount, so the
    invoice is `needs_review` although nothing is missing."""
    key = reading_stack.module.SETTINGS.key_fields
    spec = {"value": "x", "text": "x", "confidence": 0.9, "page": 1, "source": "pdf_text"}
    answer = {
        "fields": {name: dict(spec) for name in (*key, "iban")},
        "checks": {"amounts_add_up": False, "due_after_issue": True, "line_items_add_up": None},
        "needs_review": ["subtotal", "vat", "total_amount"],
        "read": {"sources": ["pdf_text"], "words": 1},
    }
    monkeypatch.setattr(reader, "read_values", lambda *_a, **_k: json.loads(json.dumps(answer)))
    pdf, _ = born_digital_invoice(2028, layout="meta_right")
    assert _run(reading_stack, _batch(api_event, reading_stack.put("inbox/f.pdf", pdf)))[0] == []
    (item,) = reading_stack.items()
    assert (item["status"], item["needs_review"]) == ("needs_review", ["total_amount"])
    assert set(item["fields"]) == set(key)  # all found, iban (not a key field) not recorded


@pytest.mark.parametrize(
    ("needs_review", "missing", "expected"),
    [
        ([], (), []),
        (["iban"], (), []),  # flagged, but not a key field
        (["due_date", "iban"], (), ["due_date"]),
        ([], ("payment_reference",), ["payment_reference"]),
        (["total_amount"], ("invoice_number",), ["invoice_number", "total_amount"]),
    ],
)
def test_key_field_summary_with_values(
    needs_review: list[str], missing: tuple[str, ...], expected: list[str]
) -> None:
    key = ("invoice_number", "invoice_date", "due_date", "total_amount", "payment_reference")
    read = {name: {"value": name.upper(), "confidence": 0.8, "page": 1, "text": "t"} for name in key}
    read["total_amount"] |= {"value": 12.5, "currency": "SEK"}
    read["iban"] = {"value": "SE45", "valid": False, "page": 1}
    for name in missing:
        del read[name]
    fields, review = key_field_summary({"fields": read, "needs_review": needs_review}, key)
    assert review == expected
    assert set(fields) == set(key) - set(missing)
    if "total_amount" in fields:
        assert fields["total_amount"] == {"value": 12.5, "confidence": 0.8, "page": 1, "currency": "SEK"}


def test_key_field_summary_with_detections_only() -> None:
    answer = {
        "detections": [
            {"label": "total_amount", "confidence": 0.4},
            {"label": "total_amount", "confidence": 0.9},
            {"label": "vat", "confidence": 0.9},
        ]
    }
    fields, review = key_field_summary(answer, ("invoice_number", "total_amount"))
    assert fields == {"total_amount": {"confidence": 0.9, "page": 1}}
    assert review == ["invoice_number"]
