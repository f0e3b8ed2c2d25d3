"""Lambda's SQS event source mapping, on one machine: batches from the queue to a function.

Gathers up to `batch_size` messages for at most `window_s`, invokes the function with the SQS event
Lambda would send, deletes the messages the answer does not list in `batchItemFailures`
(ReportBatchItemFailures) and leaves the others for redelivery; a message received
`maxReceiveCount` times moves to the dead-letter queue by the queue's own redrive policy (moto
implements it). An invocation that raises fails its whole batch, as in Lambda.

Run as a worker process (the load test starts several and kills one):

    python -m devkit.queue_poller --spec spec.json --queue-url URL --queue-arn ARN
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("devkit.queue_poller")
MAX_RECEIVE = 10  # SQS hands out at most 10 messages per ReceiveMessage


@dataclass
class Tally:
    """What a poller did, for the demo and the load test."""

    batches: int = 0
    messages: int = 0
    deleted: int = 0
    failed: int = 0
    invoke_s: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class EventSource:
    """The SQS event of a template function: which queue, batch size, window, partial failures."""

    queue_logical_id: str
    batch_size: int
    window_s: float
    partial_failures: bool

    @classmethod
    def of(cls, stack: Any, function_id: str) -> EventSource:
        props = stack.resources[function_id].get("Properties") or {}
        for event in (props.get("Events") or {}).values():
            if event.get("Type") == "SQS":
                spec = event.get("Properties") or {}
                queue = spec["Queue"]["Fn::GetAtt"]
                queue_id = queue[0] if isinstance(queue, list) else str(queue).split(".")[0]
                resolved = stack.resolve(spec)
                return cls(
                    queue_id,
                    int(resolved.get("BatchSize", 10)),
                    float(resolved.get("MaximumBatchingWindowInSeconds", 0)),
                    "ReportBatchItemFailures" in (resolved.get("FunctionResponseTypes") or []),
                )
        raise ValueError(f"{function_id} has no SQS event")


class QueuePoller:
    """One poller: the event source mapping's loop for one function instance."""

    def __init__(
        self,
        sqs: Any,
        *,
        queue_url: str,
        queue_arn: str,
        invoke: Callable[[dict[str, Any]], Any],
        batch_size: int = 10,
        window_s: float = 0.5,
        partial_failures: bool = True,
        visibility_timeout_s: int | None = None,
        retry_delay_s: int | None = None,
        region: str = "eu-north-1",
    ) -> None:
        self._sqs, self._url, self._arn, self._invoke = sqs, queue_url, queue_arn, invoke
        self._batch, self._window, self._partial = batch_size, window_s, partial_failures
        self._visibility, self._retry_delay, self._region = visibility_timeout_s, retry_delay_s, region
        self.tally = Tally()

    def _receive(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + self._window
        while len(messages) < self._batch:
            args: dict[str, Any] = {
                "QueueUrl": self._url,
                "MaxNumberOfMessages": min(MAX_RECEIVE, self._batch - len(messages)),
                "AttributeNames": ["All"],
                "MessageAttributeNames": ["All"],
                "WaitTimeSeconds": 0 if messages else 1,
            }
            if self._visibility is not None:
                args["VisibilityTimeout"] = self._visibility
            got = self._sqs.receive_message(**args).get("Messages", [])
            messages += got
            if not got or time.monotonic() >= deadline:
                break
        return messages

    def _event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": m.get("MessageAttributes", {}),
                    "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self._arn,
                    "awsRegion": self._region,
                }
                for m in messages
            ]
        }

    def poll_once(self) -> int:
        """One batch: receive, invoke, delete what succeeded. Returns the messages received."""
        messages = self._receive()
        if not messages:
            return 0
        started = time.perf_counter()
        try:
            answer = self._invoke(self._event(messages))
            failed_ids = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
            if not self._partial and failed_ids:
                failed_ids = {m["MessageId"] for m in messages}
        except Exception:
            log.exception("invocation failed: the whole batch goes back to the queue")
            failed_ids = {m["MessageId"] for m in messages}
        self.tally.invoke_s.append(time.perf_counter() - started)
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        failed = [m for m in messages if m["MessageId"] in failed_ids]
        for chunk in range(0, len(done), MAX_RECEIVE):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[chunk : chunk + 10])
            ]
            self._sqs.delete_message_batch(QueueUrl=self._url, Entries=entries)
        if failed and self._retry_delay is not None:  # locally: retry sooner than the visibility timeout
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": self._retry_delay}
                for i, m in enumerate(failed[:MAX_RECEIVE])
            ]
            self._sqs.change_message_visibility_batch(QueueUrl=self._url, Entries=entries)
        self.tally.batches += 1
        self.tally.messages += len(messages)
        self.tally.deleted += len(done)
        self.tally.failed += len(failed)
        return len(messages)

    def drain(self, *, idle_polls: int = 2, stop: threading.Event | None = None) -> Tally:
        """Poll until the queue gives nothing `idle_polls` times in a row (or `stop` is set)."""
        idle = 0
        while idle < idle_polls and not (stop and stop.is_set()):
            idle = 0 if self.poll_once() else idle + 1
        return self.tally


def main() -> None:
    """A worker process: one function host fed by one poller until the queue stays empty."""
    import boto3  # noqa: PLC0415

    from devkit.function_host import FunctionHost  # noqa: PLC0415
    from devkit.template import FunctionSpec  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--spec", type=Path, required=True, help="FunctionSpec as JSON (the stand-in writes it)"
    )
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--queue-arn", required=True)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--window", type=float, default=0.5)
    parser.add_argument("--visibility", type=int, default=None)
    parser.add_argument("--retry-delay", type=int, default=None)
    parser.add_argument("--idle-polls", type=int, default=3)
    args = parser.parse_args()
    raw = json.loads(args.spec.read_text(encoding="utf-8"))
    spec = FunctionSpec(**{**raw, "code_root": Path(raw["code_root"])})
    host = FunctionHost(spec)
    env = spec.environment
    sqs = boto3.client("sqs", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"])
    poller = QueuePoller(
        sqs,
        queue_url=args.queue_url,
        queue_arn=args.queue_arn,
        invoke=host.invoke,
        batch_size=args.batch_size,
        window_s=args.window,
        visibility_timeout_s=args.visibility,
        retry_delay_s=args.retry_delay,
        region=env["AWS_DEFAULT_REGION"],
    )
    tally = poller.drain(idle_polls=args.idle_polls)
    counts = {k: v for k, v in tally.__dict__.items() if k != "invoke_s"}
    print("TALLY " + json.dumps(counts | {"busy_s": round(sum(tally.invoke_s), 3)}), flush=True)


if __name__ == "__main__":
    main()
