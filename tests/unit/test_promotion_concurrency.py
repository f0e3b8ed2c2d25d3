"""Pointer moves are compare-and-swap: concurrent promotions and rollbacks never lose an update.

Concurrency in Lambda is between containers, each running one invocation at a time with its own
clients. Here a "container" is a Promoter wired as the handler wires it, with its own boto3
clients, all against the same moto state; threads call it and turn the outcome into the HTTP
answer with the shared edge (Powertools keeps the current event on the resolver class, so one
process cannot resolve two API events at once; the single-thread tests go through the handler).

moto evaluates a DynamoDB condition and writes the item without a lock, where DynamoDB makes
every conditional write atomic; `atomic_dynamodb` gives moto that guarantee for these tests.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import test_promotion_handler as promotion_world
from moto.dynamodb.models import DynamoDBBackend
from test_promotion_handler import (  # the handler tests' helpers
    LOCK_TABLE,
    POINTER,
    REGION,
    USER,
    Context,
    World,
    fail_call,
    job_name,
    tarball,
    unreachable,
)

from apiedge.http import as_api_error, error_response

pytestmark = pytest.mark.unit

# The handler tests' fixtures, shared (moto and the handler once per module, fresh AWS per test).
aws_and_handler, world = promotion_world.aws_and_handler, promotion_world.world

TRIALS, CALLS = 10, 3


@pytest.fixture(autouse=True)
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = threading.Lock()
    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def atomic(self: Any, *args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, atomic)


@pytest.fixture(autouse=True)
def _no_metrics_left(world: World) -> Iterator[None]:
    yield
    world.handler.metrics.clear_metrics()  # containers add metrics that no handler flushes


@dataclass
class Container:
    """One Lambda container of the promotion function: its own clients, the handler's wiring."""

    promoter: Any
    dynamodb: Any

    @classmethod
    def start(cls, world: World) -> Container:
        h = world.handler
        s3, ssm, sagemaker, dynamodb = (
            boto3.client(name, region_name=REGION) for name in ("s3", "ssm", "sagemaker", "dynamodb")
        )
        lock = h.PointerLock(dynamodb, h.settings)
        store = h.ModelStore(s3, h.settings)
        return cls(
            h.Promoter(h.settings, s3, sagemaker, store, h.PointerStore(ssm, lock, h.settings)), dynamodb
        )

    def call(self, action: str, actor: str) -> tuple[int, dict[str, Any]]:
        """`promote:<version>` or `rollback`, answered as the API would answer it."""
        try:
            if action == "rollback":
                result = self.promoter.rollback(actor=actor, reason=None)
            else:
                result = self.promoter.promote(action.split(":", 1)[1], actor=actor, reason=None)
        except Exception as exc:
            error = as_api_error(exc)
            if error is None:
                raise
            response = error_response(error, None)
            return response.status_code, response.body
        return 200, result

    def before_lock(self, hook: Callable[[], None]) -> None:
        """Run `hook` when this container is about to take the pointer's lease."""

        def run(**_: Any) -> None:  # returns None: the call then goes ahead
            hook()

        self.dynamodb.meta.events.register("before-call.dynamodb.PutItem", run)


def run_together(calls: list[tuple[Container, str, str]]) -> list[tuple[int, dict[str, Any]]]:
    """Start every call at the same moment, one thread each; their answers in call order."""
    start = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(i: int, container: Container, action: str, actor: str) -> None:
        start.wait(timeout=60)
        try:
            answers[i] = container.call(action, actor)
        except Exception as exc:  # re-raised below, in the test's thread
            answers[i] = exc

    threads = [threading.Thread(target=run, args=(i, *c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for answer in answers:
        if isinstance(answer, Exception):
            raise answer
    return answers


def history(world: World) -> dict[int, dict[str, Any]]:
    pages = world.ssm.get_paginator("get_parameter_history").paginate(Name=POINTER)
    return {int(p["Version"]): json.loads(p["Value"]) for page in pages for p in page["Parameters"]}


def lost_updates(world: World, answers: list[tuple[int, dict[str, Any]]], first_version: int) -> list[str]:
    """What the history contradicts: a "changed" answer whose pointer is not at its version, a
    version no call answered for, a pointer whose `previous` is not the version before it."""
    written = {v: p for v, p in history(world).items() if v > first_version}
    problems = []
    changed = [body for status, body in answers if status == 200 and body["changed"]]
    for body in changed:
        entry = written.get(body["parameter_version"])
        if entry != body["current"]:
            problems.append(f"{body['current']['actor']} answered changed at {body['parameter_version']}")
    if len(written) != len(changed):
        problems.append(f"{len(written)} versions written for {len(changed)} changed answers")
    everything = history(world)
    for version, pointer in written.items():
        before = everything[version - 1]  # each move must be computed from the version right before it
        built_on = (before["previous"] or {}).get("version") if pointer["action"] == "rollback" else None
        expected = built_on if pointer["action"] == "rollback" else pointer["previous"]["version"]
        if (pointer["version"] if pointer["action"] == "rollback" else before["version"]) != expected:
            problems.append(f"version {version} was not built on version {version - 1}")
    return problems


def test_concurrent_promote_and_rollback_calls_lose_no_update(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    for n, value in ((1, 0.50), (2, 0.55), (3, 0.60), (4, 0.61)):
        assert world.deliver(world.finished_job(n, tarball(value)))["outcome"] == "promoted"
    containers = [Container.start(world) for _ in range(CALLS)]
    actions = [f"promote:{job_name(1)}", f"promote:{job_name(2)}", "rollback"]
    totals = {"calls": 0, "changed": 0, "conflict": 0, "lost": 0}

    for trial in range(TRIALS):
        # Each trial starts with 3 served and 4 before it: the three calls aim at 1, 2 and 4, so
        # whichever commits first, each of the others would still change the pointer on its own.
        for version in (4, 3):
            assert containers[0].call(f"promote:{job_name(version)}", "setup")[0] == 200
        first = world.pointer()[0]
        answers = run_together(
            [(c, a, f"{USER}#{trial}.{i}") for i, (c, a) in enumerate(zip(containers, actions, strict=True))]
        )

        statuses = [(status, body.get("error")) for status, body in answers]
        changed = sum(1 for status, body in answers if status == 200 and body["changed"])
        conflicts = statuses.count((409, "conflict"))
        assert changed + conflicts == CALLS, statuses  # nothing else: no 5xx, no unchanged answer
        assert changed >= 1  # somebody always wins
        problems = lost_updates(world, answers, first)
        assert problems == []
        totals["calls"] += CALLS
        totals["changed"] += changed
        totals["conflict"] += conflicts
        totals["lost"] += len(problems)
    with capsys.disabled():
        print(f"\nconcurrent pointer moves: {TRIALS} trials x {CALLS} calls: {totals}")
    assert totals["changed"] + totals["conflict"] == totals["calls"] == TRIALS * CALLS


def test_calls_that_read_the_same_version_commit_exactly_once(world: World) -> None:
    """All four read version v, then all reach for the lease at once (a barrier on the lease's
    PutItem): one commits, three get 409, whichever order the threads run in."""
    for n, value in ((1, 0.50), (2, 0.55), (3, 0.60)):
        world.deliver(world.finished_job(n, tarball(value)))
    world.create_job(4)
    world.finished_job(4, tarball(0.4))  # a finished job not yet published: promote copies it first
    containers = [Container.start(world) for _ in range(4)]
    everyone_read = threading.Barrier(len(containers))
    for container in containers:
        container.before_lock(lambda: everyone_read.wait(timeout=60))
    before = world.pointer()[0]

    answers = run_together(
        [
            (containers[0], f"promote:{job_name(1)}", "a"),
            (containers[1], f"promote:{job_name(2)}", "b"),
            (containers[2], "rollback", "c"),
            (containers[3], f"promote:{job_name(4)}", "d"),
        ]
    )

    assert sorted(status for status, _ in answers) == [200, 409, 409, 409]
    assert all(body["error"] == "conflict" for status, body in answers if status == 409)
    [winner] = [body for status, body in answers if status == 200]
    version, pointer = world.pointer()
    assert version == before + 1 and winner["parameter_version"] == version
    assert pointer == winner["current"]
    assert lost_updates(world, answers, before) == []


def test_a_move_prepared_before_another_commit_is_refused_though_the_lock_is_free(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))
    slow, fast = Container.start(world), Container.start(world)
    fast_answer: list[tuple[int, dict[str, Any]]] = []
    # `slow` read version 3 and copied; before it locks, `fast` reads, locks, writes and unlocks.
    slow.before_lock(lambda: fast_answer.append(fast.call("rollback", "fast")) if not fast_answer else None)

    status, body = slow.call(f"promote:{job_name(1)}", "slow")

    assert fast_answer[0][0] == 200
    assert (status, body["error"]) == (409, "conflict")
    assert "moved (version 3 -> 4)" in body["message"]
    assert world.pointer()[1]["actor"] == "fast"
    # Nothing is left locked: the loser's retry (a fresh read) goes through.
    assert slow.call(f"promote:{job_name(2)}", "slow")[0] == 200


def lease(world: World) -> dict[str, Any]:
    item = world.dynamodb.get_item(TableName=LOCK_TABLE, Key={"pointer": {"S": POINTER}}).get("Item", {})
    return {k: next(iter(v.values())) for k, v in item.items()}


def hold_lease(world: World, expires_at: float) -> None:
    item = {"pointer": {"S": POINTER}, "holder": {"S": "crashed"}, "expires_at": {"N": str(int(expires_at))}}
    world.dynamodb.put_item(TableName=LOCK_TABLE, Item=item)


def test_a_move_in_progress_elsewhere_is_a_409_with_retry_after(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))
    hold_lease(world, time.time() + 30)
    before = world.pointer()

    response = world.handler.lambda_handler(world.promote_event(job_name(1)), Context())

    body = json.loads(response["body"])
    assert (response["statusCode"], body["error"]) == (409, "conflict")
    assert "in progress" in body["message"]
    assert response["multiValueHeaders"]["Retry-After"] == ["1"]
    assert world.pointer() == before
    assert lease(world)["holder"] == "crashed"  # not ours to release


def test_a_crashed_holders_lease_expires_and_moves_resume(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))
    hold_lease(world, time.time() - 1)

    status, body = world.api(world.promote_event(job_name(1)))

    assert status == 200 and body["changed"] is True
    after = lease(world)
    assert after["expires_at"] == "0" and after["pointer_version"] == str(body["parameter_version"])


def test_a_failed_write_releases_the_lease_at_once(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))
    undo = fail_call(world.handler.ssm, "PutParameter")
    try:
        status, _ = world.api(world.promote_event(job_name(1)))
    finally:
        undo()

    assert status == 502
    assert lease(world)["expires_at"] == "0"  # released, not left to expire
    assert world.api(world.promote_event(job_name(1)))[0] == 200


def test_a_write_that_could_outlive_the_lease_is_not_started(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))
    lock = world.handler.pointers._lock
    ticks = iter([0.0, 31.0])  # acquired at 0 s; 31 s later (past half the 60 s lease) it would write
    monkeypatch.setattr(lock, "_monotonic", lambda: next(ticks))
    before = world.pointer()

    response = world.handler.lambda_handler(world.promote_event(job_name(1)), Context())

    assert response["statusCode"] == 503 and "Retry-After" in response["multiValueHeaders"]
    assert world.pointer() == before


def test_a_writer_that_bypasses_the_lock_is_detected_and_counted(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))
    world.metric_names()

    # Someone writes the parameter by hand between our version check and our PutParameter.
    def sneak(**_: Any) -> None:
        world.ssm.put_parameter(
            Name=POINTER, Value='{"model_uri": null, "action": "initial"}', Type="String", Overwrite=True
        )

    world.handler.ssm.meta.events.register_first("before-call.ssm.PutParameter", sneak)
    try:
        status, body = world.api(world.promote_event(job_name(1)))
    finally:
        world.handler.ssm.meta.events.unregister("before-call.ssm.PutParameter", sneak)

    assert status == 200 and body["parameter_version"] == 5  # 3 read, 4 the sneak, 5 ours
    assert "model pointer written outside the lock" in caplog.text
    assert "PointerRaceDetected" in world.metric_names()


def test_our_own_sdk_retry_is_not_taken_for_a_race(world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))
    world.metric_names()
    state: dict[str, Any] = {}

    def first_attempt_lands_then_times_out(params: dict[str, Any], **_: Any) -> None:
        if not state:  # SSM applied the first attempt, the answer never came: the SDK retries
            state["done"] = world.ssm.put_parameter(
                Name=POINTER, Value=params["Value"], Type="String", Overwrite=True
            )

    world.handler.ssm.meta.events.register_first(
        "before-parameter-build.ssm.PutParameter", first_attempt_lands_then_times_out
    )
    try:
        status, body = world.api(world.promote_event(job_name(1)))
    finally:
        world.handler.ssm.meta.events.unregister(
            "before-parameter-build.ssm.PutParameter", first_attempt_lands_then_times_out
        )

    assert status == 200 and body["parameter_version"] == 5
    assert "outside the lock" not in caplog.text
    assert "PointerRaceDetected" not in world.metric_names()


def test_an_unreachable_lock_table_is_a_503_and_nothing_moves(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))
    before = world.pointer()
    undo = unreachable(world.handler.dynamodb, "PutItem")
    try:
        response = world.handler.lambda_handler(world.promote_event(job_name(1)), Context())
    finally:
        undo()

    body = json.loads(response["body"])
    assert (response["statusCode"], body["error"]) == (503, "upstream_unavailable")
    assert response["multiValueHeaders"]["Retry-After"] == ["5"]
    assert world.pointer() == before


def test_an_event_that_loses_the_race_is_retried_and_gated_against_the_winner(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))
    person = Container.start(world)
    event = world.finished_job(3, tarball(0.53))  # passes against 0.55 (margin 0.02), not against 0.6
    world.finished_job(4, tarball(0.60))
    world.create_job(4)
    committed: list[Any] = []

    def hook(**_: Any) -> None:  # a person promotes 4 just before the event's move takes the lease
        if not committed:
            committed.append(person.call(f"promote:{job_name(4)}", "person"))

    world.handler.dynamodb.meta.events.register("before-call.dynamodb.PutItem", hook)
    try:
        with pytest.raises(Exception, match="moved") as info:
            world.deliver(event)
    finally:
        world.handler.dynamodb.meta.events.unregister("before-call.dynamodb.PutItem", hook)

    assert info.value.status == 409  # propagated: Lambda retries the event
    assert committed[0][0] == 200 and world.pointer()[1]["version"] == job_name(4)
    retried = world.deliver(event)
    assert retried["outcome"] == "rejected"  # measured against what serves now
    assert world.pointer()[1]["version"] == job_name(4)


def test_the_sdks_retry_of_a_lease_that_landed_is_still_ours(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))
    landed: list[bool] = []

    def first_attempt_lands_then_times_out(params: dict[str, Any], **_: Any) -> None:
        if not landed:
            world.dynamodb.put_item(**params)
            landed.append(True)

    event = "before-parameter-build.dynamodb.PutItem"
    world.handler.dynamodb.meta.events.register_first(event, first_attempt_lands_then_times_out)
    try:
        status, body = world.api(world.promote_event(job_name(1)))
    finally:
        world.handler.dynamodb.meta.events.unregister(event, first_attempt_lands_then_times_out)

    assert landed and status == 200 and body["changed"] is True
    assert lease(world)["expires_at"] == "0"
