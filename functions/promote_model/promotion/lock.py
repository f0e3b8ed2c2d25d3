"""A lease on the model pointer, in DynamoDB: the compare-and-swap that SSM PutParameter lacks.

Without it, two promotions that both read pointer version v both write it, and the first one's
change is silently lost although its caller was told "changed". Every pointer move therefore runs

    read the pointer (version v), prepare (copy, verify the model) ... then, briefly:
    1. take the lease: PutItem {pointer: <parameter name>, holder: <token>, expires_at: now+lease}
       if attribute_not_exists(pointer) OR expires_at < now        else 409 conflict
    2. GetParameter: is the pointer still at version v?            else 409 conflict
    3. PutParameter: the commit point (SSM numbers it v + 1)
    4. release: UpdateItem SET expires_at = 0 if holder = <token>  (also when 2 or 3 failed)

The version compared is SSM's own parameter version, read under the lease: there is no second
counter that could drift from the pointer, so a PutParameter that failed (or whose outcome is
unknown) never wedges anything; the next move simply reads whichever version SSM has.

Failure modes (see also PointerStore.move):
- a holder that dies between 1 and 4 (Lambda timeout, crash) blocks moves for at most the lease
  (`lock_lease_s`, 60 s): they answer 409 with Retry-After until it expires;
- a holder that stalls past its lease could write after a successor's write. Guarded by writing
  only while at least half the lease is left and by the handler's short SSM timeouts (a write
  cannot be in flight for longer than that half); clock skew between Lambda hosts (NTP, ms) is
  far below the lease;
- writers that bypass the lock (the console, a CloudFormation update of the parameter's Value)
  are not serialised, and GetParameter is trusted to return the newest version. Each of these
  (and the stall above) shows as a written version other than v + 1: logged as an error and
  counted (`PointerRaceDetected`); the history keeps both writes;
- the SDK retrying a PutItem or PutParameter that landed but timed out: the lease condition
  accepts its own token again, and duplicate pointer versions of our own value are not a race;
- DynamoDB unreachable: nothing moves (503 with Retry-After), the served model stays.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from apiedge.aws import aws_call, error_code
from promotion.errors import PointerConflict, UpstreamUnavailable
from promotion.settings import Settings

log = Logger(child=True)  # the handler's structured logger


@dataclass
class Lease:
    """A held lease; `check()` before committing."""

    token: str
    acquired_at: float  # monotonic seconds
    lease_s: int
    monotonic: Callable[[], float]
    committed_version: int | None = None

    def check(self) -> None:
        """Refuse to start a write that might still be in flight when the lease runs out."""
        if self.monotonic() - self.acquired_at > self.lease_s / 2:
            raise UpstreamUnavailable("AWS answered too slowly to move the model pointer safely; retry")


class PointerLock:
    """One item per pointer in the lock table, keyed by the parameter name."""

    def __init__(
        self,
        dynamodb: Any,
        settings: Settings,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dynamodb = dynamodb
        self._table = settings.pointer_lock_table
        self._pointer = settings.pointer_parameter
        self._lease_s = settings.lock_lease_s
        self._wall = wall
        self._monotonic = monotonic

    @contextmanager
    def held(self) -> Iterator[Lease]:
        """Hold the pointer's lease for the block; 409 `conflict` if another move holds it."""
        lease = self._acquire()
        try:
            yield lease
        finally:
            self._release(lease)

    def _acquire(self) -> Lease:
        token, now = uuid.uuid4().hex, self._wall()
        started = self._monotonic()
        with aws_call(f"locking {self._pointer}", self._busy):
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "pointer": {"S": self._pointer},
                    "holder": {"S": token},
                    "expires_at": {"N": str(math.ceil(now) + self._lease_s)},
                },
                # ... or our own token: the SDK's retry of a PutItem that landed but timed out.
                ConditionExpression="attribute_not_exists(#k) OR #e < :now OR #h = :token",
                ExpressionAttributeNames={"#k": "pointer", "#e": "expires_at", "#h": "holder"},
                ExpressionAttributeValues={":now": {"N": str(math.floor(now))}, ":token": {"S": token}},
            )
        return Lease(token, started, self._lease_s, self._monotonic)

    def _busy(self, code: str, _message: str, _action: str) -> PointerConflict | None:
        if code != "ConditionalCheckFailedException":
            return None
        return PointerConflict(
            "another change of the model pointer is in progress; re-read GET /models and retry"
        )

    def _release(self, lease: Lease) -> None:
        """Let the next move in now (not after the lease). Best effort: the lease expires anyway,
        and a failed release must not turn a committed move into an error."""
        update = "SET #e = :zero, #r = :now"
        names = {"#h": "holder", "#e": "expires_at", "#r": "released_at"}
        values: dict[str, Any] = {
            ":zero": {"N": "0"},
            ":now": {"N": str(math.floor(self._wall()))},
            ":token": {"S": lease.token},
        }
        if lease.committed_version is not None:  # what the last move wrote, for whoever debugs
            update += ", #v = :version"
            names["#v"] = "pointer_version"
            values[":version"] = {"N": str(lease.committed_version)}
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"pointer": {"S": self._pointer}},
                UpdateExpression=update,
                ConditionExpression="#h = :token",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                log.error(
                    "pointer lease was taken over before it was released", extra={"pointer": self._pointer}
                )
            else:
                log.warning("pointer lease not released; it expires by itself", extra={"error": str(exc)})
        except BotoCoreError as exc:
            log.warning("pointer lease not released; it expires by itself", extra={"error": str(exc)})
