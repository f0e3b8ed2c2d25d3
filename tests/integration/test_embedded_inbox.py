"""The inbox pipeline on the embedded stack: S3 (moto) -> EventBridge (moto) -> SQS (moto) -> the
queue worker in a local function host, batches as Lambda's event source mapping delivers them."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bench import samples
from devkit.stand_in import StandIn

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("pillow_unpatched")]


@pytest.fixture(scope="module")
def aws() -> Iterator[StandIn]:
    # The queue's mechanics on scans: detections only (ReadFields=false), not seconds of OCR each;
    # the values the worker reads are tested in tests/unit/test_inbox.py.
    with StandIn(stack_name="invoice-yolo-inbox", parameters={"ReadFields": "false"}) as stand_in:
        yield stand_in


def _items(aws: StandIn) -> dict[str, dict[str, Any]]:
    from apiedge.dynamo import from_dynamo  # noqa: PLC0415

    rows = aws.client("dynamodb").scan(TableName=aws.name("InvoicesTable"))["Items"]
    return {row["source"]["key"]: row for row in map(from_dynamo, rows)}


def test_invoices_dropped_in_the_inbox_are_read_once_each(aws: StandIn) -> None:
    s3, bucket = aws.client("s3"), aws.name("InvoicesBucket")
    page = samples.invoice_page(seed=11, dpi=100)
    jpeg = samples.encode(page)
    s3.put_object(Bucket=bucket, Key="inbox/one.jpg", Body=jpeg)
    s3.put_object(
        Bucket=bucket, Key="inbox/two.pdf", Body=samples.pdf([samples.invoice_page(seed=12, dpi=100)])
    )
    s3.put_object(Bucket=bucket, Key="inbox/again.jpg", Body=jpeg)  # the same bytes re-uploaded
    s3.put_object(Bucket=bucket, Key="inbox/notes.txt", Body=b"not an invoice")
    s3.put_object(Bucket=bucket, Key="elsewhere/skip.jpg", Body=jpeg)  # outside inbox/: no event

    assert aws.function_environment("ProcessInvoiceFunction")["READ_FIELDS"] == "false"  # parameter -> env
    tally = aws.poller("ProcessInvoiceFunction").drain()

    assert tally.messages == 4 and tally.failed == 0
    items = _items(aws)
    assert set(items) == {"inbox/one.jpg", "inbox/two.pdf", "inbox/notes.txt"}  # again.jpg: a duplicate
    assert items["inbox/notes.txt"]["status"] == "rejected"
    assert {items[k]["status"] for k in ("inbox/one.jpg", "inbox/two.pdf")} <= {"done", "needs_review"}
    results = s3.list_objects_v2(Bucket=bucket, Prefix="results/")["Contents"]
    assert len(results) == 3
    answer = json.loads(s3.get_object(Bucket=bucket, Key=items["inbox/one.jpg"]["result_key"])["Body"].read())
    assert answer["detections"] and answer["model"]["version"] == items["inbox/one.jpg"]["model_version"]
    dlq = aws.queue_url("InvoiceDeadLetterQueue")
    assert aws.client("sqs").receive_message(QueueUrl=dlq).get("Messages") is None


def test_a_message_that_keeps_failing_ends_in_the_dead_letter_queue(aws: StandIn) -> None:
    sqs = aws.client("sqs")
    body = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": aws.name("InvoicesBucket")}, "object": {"key": "inbox/x", "size": 3}},
    }
    sqs.send_message(QueueUrl=aws.queue_url("InvoiceQueue"), MessageBody=json.dumps(body))
    aws.function("ProcessInvoiceFunction")  # the worker's container, imported
    module = sys.modules["inbox.handler"]
    original = module.s3.get_object

    def outage(**kwargs: Any) -> Any:  # S3 throttles this object on every delivery
        if kwargs["Key"] == "inbox/x":
            raise ClientError(
                {"Error": {"Code": "SlowDown", "Message": "reduce your request rate"}}, "GetObject"
            )
        return original(**kwargs)

    poller = aws.poller("ProcessInvoiceFunction", retry_delay_s=0)
    module.s3.get_object = outage
    try:
        poller.drain(idle_polls=3)
    finally:
        module.s3.get_object = original
    redrive = aws.stack.resolve(aws.stack.resources["InvoiceQueue"]["Properties"]["RedrivePolicy"])
    max_receives = int(redrive["maxReceiveCount"])
    assert poller.tally.failed == max_receives  # retried, then moved by the redrive policy
    dead = sqs.receive_message(QueueUrl=aws.queue_url("InvoiceDeadLetterQueue")).get("Messages") or []
    assert [json.loads(m["Body"])["detail"]["object"]["key"] for m in dead] == ["inbox/x"]
    item = _items(aws)["inbox/x"]
    assert (item["status"], item["attempts"], item["error"]["code"]) == (
        "failed",
        max_receives,
        "ClientError",
    )
