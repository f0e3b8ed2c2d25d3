"""The deploy smoke test (`python -m devkit.smoke`) run for real, as the deploy job runs it, against
the whole system on this machine: the embedded stand-in (moto's server holding what template.yaml
declares) and the local API serving /infer with the production handler and the shipped model.

The local API does not check API keys (API Gateway does): what the program does with a refused
key, and with an API that answers 5xx, is run against a small stub API on loopback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devkit.local_api import make_server
from devkit.stand_in import StandIn

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("pillow_unpatched")]

REPO = Path(__file__).resolve().parents[2]
STACK = "invoice-yolo-smoke"


@dataclass
class Local:
    aws: StandIn
    url: str


@pytest.fixture(scope="module")
def local() -> Iterator[Local]:
    """The stand-in and the local API over HTTP on a free loopback port (what `make demo` runs)."""
    with StandIn(stack_name=STACK) as aws:
        server = make_server(port=0, api=aws.local_api())
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        host, port = server.server_address[:2]
        try:
            yield Local(aws, f"http://{host}:{port}")
        finally:
            server.shutdown()
            server.server_close()


def smoke(*argv: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    """`python -m devkit.smoke ...` in its own process; the stand-in's AWS variables are inherited."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("SMOKE_API_KEY", None)
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, "-m", "devkit.smoke", *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _lines(done: subprocess.CompletedProcess[str]) -> dict[str, list[str]]:
    """Report lines by key: {'invoice_number': ['ok', "'22-3899'"], ...}."""
    rows = [line.split(None, 2) for line in done.stdout.splitlines() if line.startswith("  ")]
    return {row[1]: [row[0], row[2] if len(row) > 2 else ""] for row in rows}


def test_the_local_system_passes_the_smoke_test(local: Local) -> None:
    done = smoke("--api-url", local.url, "--api-key", "local-key")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = _lines(done)
    assert {key: status for key, (status, _) in lines.items()} == {
        "invoice_number": "ok",
        "invoice_date": "ok",
        "due_date": "ok",
        "total_amount": "ok",
        "total_amount.currency": "ok",
        "payment_reference": "ok",
        "payment_reference.valid": "ok",
        "needs_review": "ok",
    }
    assert lines["total_amount"][1] == "21819.34"
    assert "smoke: PASSED: 8/8 right" in done.stdout
    shipped = json.loads((REPO / "models" / "demo" / "metrics.json").read_text())["version"]
    assert f"model {shipped}" in done.stdout  # the shipped model answered


def test_a_wrong_value_fails_with_one_line_per_field_through_the_stacks_outputs(local: Local) -> None:
    # As the deploy job calls it: --stack-name, the URL and key read from CloudFormation and
    # API Gateway (here moto's, inside the stand-in), then two values that are not what the page says.
    apigateway = local.aws.client("apigateway")
    key = apigateway.create_api_key(name="smoke", value="smoke-key-0123456789abcdef", enabled=True)
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ApiUrl": {"Value": local.url}, "ApiKeyId": {"Value": key["id"]}},
    }
    local.aws.client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(template))

    done = smoke(
        "--stack-name", STACK, "--region", local.aws.region,
        "--expect", "invoice_number=22-3898", "--expect", "total_amount=21819.43",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    lines = _lines(done)
    assert lines["invoice_number"] == ["FAIL", "got '22-3899', expected '22-3898'"]
    assert lines["total_amount"] == ["FAIL", "got 21819.34, expected 21819.43"]
    # The other lines are judged on their own (an override changes only its line).
    assert lines["total_amount.currency"] == ["ok", "'EUR'"]
    assert len(lines) == 8 and "smoke: FAILED: " in done.stdout
    assert f"POST {local.url}/infer?fields=1" in done.stdout
    assert "smoke-key-0123456789abcdef" not in done.stdout + done.stderr  # the key is never printed


# --------------------------------------------------------------------------- a stub API


class StubApi:
    """A loopback API Gateway stand-in: 403 for a wrong key, else the queued statuses, then an answer."""

    KEY = "right-key"

    def __init__(self, statuses: list[int], answer: dict) -> None:
        self.statuses, self.answer, self.seen = list(statuses), answer, []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server dispatches on this name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stub.seen.append(
                    (self.path, self.headers.get("x-api-key"), self.headers["Content-Type"], body)
                )
                if self.headers.get("x-api-key") != stub.KEY:
                    status, out = 403, {"message": "Forbidden"}
                elif stub.statuses:
                    status, out = stub.statuses.pop(0), {"message": "Internal server error"}
                else:
                    status, out = 200, stub.answer
                data = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/dev"

    def __enter__(self) -> StubApi:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


GOOD_ANSWER = {
    "model": {"version": "stub"},
    "fields": {
        "invoice_number": {"value": "22-3899"},
        "invoice_date": {"value": "2022-01-28"},
        "due_date": {"value": "2022-03-14"},
        "total_amount": {"value": 21819.34, "currency": "EUR"},
        "payment_reference": {"value": "483435269", "valid": True},
    },
    "needs_review": [],
}


def test_a_cold_start_5xx_is_retried_and_the_sample_is_sent_with_the_key() -> None:
    with StubApi([502], GOOD_ANSWER) as api:
        done = smoke("--api-url", api.url, "--api-key", StubApi.KEY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "attempt 1: HTTP 502" in done.stdout and "smoke: PASSED" in done.stdout
    path, key, content_type, body = api.seen[-1]
    assert (path, key, content_type) == ("/dev/infer?fields=1", StubApi.KEY, "image/jpeg")
    assert body[:3] == b"\xff\xd8\xff" and len(api.seen) == 2


def test_a_wrong_key_fails_at_once_with_the_reason() -> None:
    with StubApi([], GOOD_ANSWER) as api:
        done = smoke("--api-url", api.url, "--api-key", "wrong-key", "--auth-grace", "0")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "smoke: FAILED: HTTP 403 (is the API key right?)" in done.stdout
    assert len(api.seen) == 1


def test_an_api_that_keeps_failing_fails_within_the_total_timeout() -> None:
    with StubApi([500] * 50, GOOD_ANSWER) as api:
        done = smoke("--api-url", api.url, "--api-key", StubApi.KEY, "--timeout", "5", timeout_s=30)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "no usable answer within 5 s; last: HTTP 500" in done.stdout
    assert len(api.seen) == 2  # tried at 0 and 2 s; the next wait (4 s) would pass the deadline
