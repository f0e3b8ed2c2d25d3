"""The deploy smoke test's logic (devkit.smoke): the pinned sample, the comparison and its report,
the retry policy (a fake transport and clock), the URL rules and reading a stack's Outputs (moto).
The real runs against the local system are in tests/integration/test_embedded_smoke.py."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devkit import smoke
from devkit.smoke import Check, Reply, SmokeError

pytestmark = pytest.mark.unit

# The answer the system gives for the sample today (trimmed to what the check reads).
GOOD: dict[str, Any] = {
    "model": {"version": "demo-3"},
    "fields": {
        "invoice_number": {"value": "22-3899", "text": "22-3899", "source": "ocr"},
        "invoice_date": {"value": "2022-01-28", "text": "28/01/2022"},
        "due_date": {"value": "2022-03-14", "text": "14/03/2022"},
        "total_amount": {"value": 21819.34, "text": "EUR 21 819,34", "currency": "EUR"},
        "payment_reference": {"value": "483435269", "kind": "ocr", "valid": True},
        "bankgiro": {"value": "9264-8475", "valid": False},
    },
    "checks": {"amounts_add_up": True, "due_after_issue": True, "line_items_add_up": True},
    "needs_review": ["bankgiro"],
}


def _answer(**fields: Mapping[str, Any] | None) -> dict[str, Any]:
    """GOOD with some fields replaced (a mapping is merged in) or removed (None)."""
    answer = copy.deepcopy(GOOD)
    for name, change in fields.items():
        if change is None:
            del answer["fields"][name]
        else:
            answer["fields"][name].update(change)
    return answer


def _failed(answer: Mapping[str, Any]) -> dict[str, str]:
    return {r.key: r.detail for r in smoke.compare(answer) if not r.ok}


# --------------------------------------------------------------------------- the sample


def test_the_shipped_sample_is_the_page_the_truth_was_read_from() -> None:
    body, content_type = smoke.load_sample()
    assert content_type == "image/jpeg"
    assert body[:3] == b"\xff\xd8\xff" and len(body) < 100_000  # a small JPEG


def test_a_regenerated_sample_is_refused_rather_than_compared(tmp_path: Path) -> None:
    event = json.loads(smoke.SAMPLE.read_text(encoding="utf-8"))
    event["body"] = base64.b64encode(b"\xff\xd8\xff another page").decode()
    path = tmp_path / "infer_jpeg.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    with pytest.raises(SmokeError, match="sha256 changed"):
        smoke.load_sample(path)


# --------------------------------------------------------------------------- comparison


def test_the_answer_of_today_passes_every_check() -> None:
    results = smoke.compare(GOOD)
    assert [r.key for r in results] == [c.key for c in smoke.TRUTH] + ["needs_review"]
    assert all(r.ok for r in results), results
    # bankgiro fails its check digit on this page (it is printed so) but is no key value.
    assert results[-1].detail == "no checked field"


@pytest.mark.parametrize(
    ("change", "key", "detail"),
    [
        ({"invoice_number": {"value": "22-3898"}}, "invoice_number", "got '22-3898', expected '22-3899'"),
        ({"invoice_date": {"value": "2022-28-01"}}, "invoice_date", "got '2022-28-01'"),
        ({"due_date": None}, "due_date", "missing (field not returned); expected '2022-03-14'"),
        ({"total_amount": {"value": 21819.35}}, "total_amount", "got 21819.35, expected 21819.34"),
        ({"total_amount": {"value": "21819.34"}}, "total_amount", "got '21819.34'"),
        ({"total_amount": {"currency": "SEK"}}, "total_amount.currency", "got 'SEK', expected 'EUR'"),
        ({"payment_reference": {"value": "483435296"}}, "payment_reference", "got '483435296'"),
        ({"payment_reference": {"valid": False}}, "payment_reference.valid", "got False, expected True"),
    ],
)
def test_each_wrong_value_fails_its_own_line(change: dict[str, Any], key: str, detail: str) -> None:
    failed = _failed(_answer(**change))
    assert key in failed and detail in failed[key]
    # A wrong value fails its line only (a missing field fails each of its lines).
    assert set(failed) <= {key, f"{key}.currency", f"{key}.valid"}


def test_amounts_compare_to_the_cent_and_never_accept_a_boolean() -> None:
    assert not _failed(_answer(total_amount={"value": 21819.3449}))
    assert "total_amount" in _failed(_answer(total_amount={"value": 21819.3451}))
    assert smoke.compare({"fields": {"f": {"value": True}}}, [Check("f", 1.0)])[0].ok is False
    assert smoke.compare({"fields": {"f": {"value": 1}}}, [Check("f", 1.0)])[0].ok is True


def test_a_missing_attribute_is_a_failure_not_a_pass() -> None:
    answer = _answer()
    del answer["fields"]["payment_reference"]["valid"]
    del answer["fields"]["total_amount"]["currency"]
    assert set(_failed(answer)) == {"payment_reference.valid", "total_amount.currency"}


def test_an_answer_without_fields_fails_every_value_and_says_why() -> None:
    failed = _failed({"detections": [], "model": {}})
    assert set(failed) == {c.key for c in smoke.TRUTH}
    assert all("no 'fields' in the answer" in detail for detail in failed.values())


def test_a_key_field_flagged_for_review_fails_even_with_the_right_value() -> None:
    answer = _answer()
    answer["needs_review"] = ["bankgiro", "due_date"]
    assert _failed(answer) == {"needs_review": "flags due_date"}


def test_the_report_has_one_line_per_check_and_a_verdict() -> None:
    lines = smoke.report(smoke.compare(_answer(due_date={"value": "2022-03-15"})))
    assert len(lines) == len(smoke.TRUTH) + 2
    assert lines[2].split() == ["FAIL", "due_date", "got", "'2022-03-15',", "expected", "'2022-03-14'"]
    assert lines[0].split()[:2] == ["ok", "invoice_number"]
    assert lines[-1] == "smoke: FAILED: 7/8 right"
    assert smoke.report(smoke.compare(GOOD))[-1] == "smoke: PASSED: 8/8 right"


# --------------------------------------------------------------------------- CLI arguments


def test_expect_replaces_a_value_typed_like_the_truth() -> None:
    args = smoke._arguments(
        ["--api-url", "https://x", "--api-key", "k", "--expect", "total_amount=12.5", "--expect",
         "payment_reference.valid=false", "--expect", "invoice_number=A-1"]
    )  # fmt: skip
    checks = {c.key: c.expected for c in args.checks}
    assert checks["total_amount"] == 12.5 and checks["payment_reference.valid"] is False
    assert checks["invoice_number"] == "A-1" and checks["due_date"] == "2022-03-14"
    assert [c.key for c in args.checks] == [c.key for c in smoke.TRUTH]


@pytest.mark.parametrize(
    "argv",
    [
        ["--api-url", "https://x", "--api-key", "k", "--expect", "supplier=Acme"],  # not a key value
        ["--api-url", "https://x", "--api-key", "k", "--expect", "total_amount=lots"],
        ["--api-url", "https://x", "--api-key", "k", "--expect", "payment_reference.valid=yes"],
        ["--api-url", "https://x"],  # no key
        ["--api-url", "https://x", "--api-key", "k", "--stack-name", "s"],
    ],
)
def test_bad_arguments_are_usage_errors(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMOKE_API_KEY", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        smoke._arguments(argv)
    assert exit_info.value.code == 2


def test_the_key_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMOKE_API_KEY", "from-env")
    assert smoke._arguments(["--api-url", "https://x"]).api_key == "from-env"


@pytest.mark.parametrize(
    ("api_url", "url"),
    [
        ("https://a.execute-api.eu-north-1.amazonaws.com/dev", "https://a.execute-api.eu-north-1.amazonaws.com/dev/infer?fields=1"),
        ("https://a.example/prod/", "https://a.example/prod/infer?fields=1"),
        ("https://a.example/prod/infer", "https://a.example/prod/infer?fields=1"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000/infer?fields=1"),
    ],
)  # fmt: skip
def test_infer_url(api_url: str, url: str) -> None:
    assert smoke.infer_url(api_url) == url


@pytest.mark.parametrize("api_url", ["http://a.example/dev", "file:///etc/passwd", "a.example/dev"])
def test_the_key_never_travels_in_clear_or_to_a_non_http_url(api_url: str) -> None:
    with pytest.raises(SmokeError):
        smoke.infer_url(api_url)


# --------------------------------------------------------------------------- retries


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _transport(replies: list[Reply | Exception], time: FakeTime, cost_s: float = 1.0) -> Any:
    calls: list[float] = []

    def send(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> Reply:
        calls.append(timeout_s)
        time.now += cost_s
        reply = replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    send.calls = calls  # type: ignore[attr-defined]
    return send


def _post(transport: Any, time: FakeTime, **kwargs: Any) -> Reply:
    options = {"total_timeout_s": 300, "request_timeout_s": 60, "auth_grace_s": 60} | kwargs
    return smoke.post_with_retries(
        "https://x/infer?fields=1", b"jpeg", {}, transport=transport, clock=time.clock, sleep=time.sleep,
        log=lambda _: None, **options,
    )  # fmt: skip


def test_cold_start_and_throttling_are_retried_with_backoff() -> None:
    time = FakeTime()
    replies: list[Reply | Exception] = [
        ConnectionResetError("reset"),
        Reply(504, {}, b'{"message": "Endpoint request timed out"}'),
        Reply(429, {"Retry-After": "7"}, b"{}"),
        Reply(502, {}, b"{}"),
        Reply(200, {}, b"{}"),
    ]
    assert _post(_transport(replies, time), time).status == 200
    assert time.sleeps == [2.0, 4.0, 7.0, 16.0]  # doubling, except where the API says how long


def test_a_client_error_is_answered_at_once() -> None:
    time = FakeTime()
    assert _post(_transport([Reply(400, {}, b"bad")], time), time).status == 400
    assert time.sleeps == []


def test_a_refused_key_is_retried_only_in_its_grace_period() -> None:
    time = FakeTime()
    replies: list[Reply | Exception] = [Reply(403, {}, b'{"message":"Forbidden"}')] * 10
    assert _post(_transport(replies, time, cost_s=10), time, auth_grace_s=30).status == 403
    assert time.sleeps == [2.0, 4.0]  # at 10, 22, then 36 s: past the grace, answered
    time = FakeTime()
    assert _post(_transport([Reply(403, {}, b"")], time), time, auth_grace_s=0).status == 403


def test_the_total_timeout_bounds_every_attempt_and_the_whole_call() -> None:
    time = FakeTime()
    send = _transport([Reply(503, {}, b"down")] * 20, time, cost_s=30)
    with pytest.raises(SmokeError, match=r"within 100 s; last: HTTP 503 down"):
        _post(send, time, total_timeout_s=100)
    assert send.calls[0] == 60 and all(t <= 100 for t in send.calls)
    assert time.now <= 100


# --------------------------------------------------------------------------- the stack


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


def _stack(name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name="eu-north-1").create_stack(
        StackName=name, TemplateBody=json.dumps(template)
    )


def test_the_url_and_key_come_from_the_stacks_outputs(aws: None) -> None:
    key = boto3.client("apigateway", region_name="eu-north-1").create_api_key(
        name="infer", value="s3cr3t-key-value-0123456789", enabled=True
    )
    _stack("invoice-yolo-dev", {"ApiUrl": "https://abc.example/dev", "ApiKeyId": key["id"]})
    assert smoke.stack_target("invoice-yolo-dev", "eu-north-1") == (
        "https://abc.example/dev",
        "s3cr3t-key-value-0123456789",
    )


def test_a_stack_without_the_outputs_or_no_stack_at_all_is_no_answer(aws: None) -> None:
    _stack("half", {"ApiUrl": "https://abc.example/dev"})
    with pytest.raises(SmokeError, match="no output ApiKeyId"):
        smoke.stack_target("half", "eu-north-1")
    with pytest.raises(SmokeError, match="cannot read stack absent"):
        smoke.stack_target("absent", "eu-north-1")
