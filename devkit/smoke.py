"""Smoke test of a deployed stack: POST the shipped sample invoice to `/infer?fields=1` and check
that its key values come back right. The deploy workflow runs it after each `sam deploy`; a
non-zero exit fails that deploy, so prod never follows a broken dev.

    python -m devkit.smoke --stack-name invoice-yolo-dev --region eu-north-1
    python -m devkit.smoke --api-url https://<id>.execute-api.<region>.amazonaws.com/dev --api-key KEY

With `--stack-name` the API's URL and key come from the stack's Outputs (`ApiUrl`, `ApiKeyId`; the
key's value through API Gateway), so the key is never printed or passed on a command line.
`--api-key` may also come from `SMOKE_API_KEY`. Exit status: 0 every value right, 1 a value wrong
or missing (one line per checked value says which), 3 no usable answer (HTTP error after the
retries, timeout, not JSON, stack or key not found). Only the standard library, plus boto3 for
`--stack-name`: the deploy job runs this with the SAM CLI's virtual environment, which has boto3.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import ipaddress
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# The sample: the JPEG of the API Gateway event the unit tests and `sam local invoke` use. Its
# bytes are pinned because TRUTH below was read off this very image: `make events` regenerates the
# file from the current generator (another page), and then TRUTH must be read again.
SAMPLE = ROOT / "events" / "infer_jpeg.json"
SAMPLE_SHA256 = "9fb844a2411ff47df123adf9283cd1ae1f1140467aa402845090fbb72b9bd07c"

Expected = str | float | bool


@dataclass(frozen=True)
class Check:
    """One value of the answer: `field` (its `value`) or `field.attribute`, and what it must be."""

    key: str
    expected: Expected

    @property
    def field(self) -> str:
        return self.key.partition(".")[0]

    @property
    def attribute(self) -> str:
        return self.key.partition(".")[2] or "value"


# What the sample prints (Swedish layout, day-first dates, space thousands, decimal comma):
# "Fakturanr: 22-3899", "Datum: 28/01/2022", "Förfallodatum: 14/03/2022",
# "ATT BETALA: EUR 21 819,34", "OCR 483435269" (a valid mod-10 reference).
TRUTH: tuple[Check, ...] = (
    Check("invoice_number", "22-3899"),
    Check("invoice_date", "2022-01-28"),
    Check("due_date", "2022-03-14"),
    Check("total_amount", 21819.34),
    Check("total_amount.currency", "EUR"),
    Check("payment_reference", "483435269"),
    Check("payment_reference.valid", True),
)
AMOUNT_TOLERANCE = 0.005  # amounts are numbers in JSON: compare to the cent, not bit for bit

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})  # cold start, throttling, API Gateway's 29 s
AUTH_STATUSES = frozenset({401, 403})
EXIT_OK, EXIT_MISMATCH, EXIT_NO_ANSWER = 0, 1, 3


class SmokeError(Exception):
    """No usable answer: the report's one line and exit status 3."""


@dataclass(frozen=True)
class Result:
    """One line of the report."""

    key: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


# --------------------------------------------------------------------------- comparison


def parse_expected(key: str, text: str, default: Expected) -> Check:
    """`--expect key=text`, typed like the value it replaces (so `total_amount=12.5` is a number)."""
    if isinstance(default, bool):
        if text.lower() not in {"true", "false"}:
            raise ValueError(f"{key} takes true or false, not {text!r}")
        return Check(key, text.lower() == "true")
    if isinstance(default, float):
        return Check(key, float(text))
    return Check(key, text)


def _same(got: Any, expected: Expected) -> bool:
    if isinstance(expected, bool):
        return got is expected
    if isinstance(expected, float):
        # bool is an int in Python: `true` must never pass for an amount.
        number = isinstance(got, int | float) and not isinstance(got, bool)
        return number and abs(got - expected) <= AMOUNT_TOLERANCE
    return isinstance(got, str) and got == expected


def compare(answer: Mapping[str, Any], checks: Sequence[Check] = TRUTH) -> list[Result]:
    """One result per check, then one for `needs_review` (no checked field may be flagged)."""
    fields = answer.get("fields")
    fields = fields if isinstance(fields, Mapping) else {}
    results = []
    for check in checks:
        entry = fields.get(check.field)
        if not isinstance(entry, Mapping):
            why = "no 'fields' in the answer" if "fields" not in answer else "field not returned"
            results.append(Result(check.key, False, f"missing ({why}); expected {check.expected!r}"))
        elif check.attribute not in entry:
            results.append(Result(check.key, False, f"missing; expected {check.expected!r}"))
        elif _same(got := entry[check.attribute], check.expected):
            results.append(Result(check.key, True, repr(got)))
        else:
            results.append(Result(check.key, False, f"got {got!r}, expected {check.expected!r}"))
    checked = list(dict.fromkeys(check.field for check in checks))
    flagged = [name for name in checked if name in (answer.get("needs_review") or [])]
    results.append(
        Result("needs_review", not flagged, f"flags {', '.join(flagged)}" if flagged else "no checked field")
    )
    return results


def report(results: Sequence[Result]) -> list[str]:
    """The report's lines: one per check, then the verdict."""
    width = max(len(r.key) for r in results)
    lines = [f"  {'ok' if r.ok else 'FAIL':<4}  {r.key:<{width}}  {r.detail}" for r in results]
    failed = sum(not r.ok for r in results)
    lines.append(
        f"smoke: {'PASSED' if not failed else 'FAILED'}: {len(results) - failed}/{len(results)} right"
    )
    return lines


# --------------------------------------------------------------------------- the sample


def load_sample(path: Path = SAMPLE, sha256: str | None = SAMPLE_SHA256) -> tuple[bytes, str]:
    """The sample's bytes and Content-Type, from an API Gateway event file; checks the pinned hash."""
    event = json.loads(path.read_text(encoding="utf-8"))
    body = base64.b64decode(event["body"]) if event.get("isBase64Encoded") else event["body"].encode()
    content_type = next((v for k, v in event["headers"].items() if k.lower() == "content-type"), None)
    if not content_type:
        raise SmokeError(f"{path}: the event has no Content-Type header")
    if sha256 is not None and hashlib.sha256(body).hexdigest() != sha256:
        # A regenerated events file is another page: comparing it with TRUTH would only mislead.
        raise SmokeError(f"{path}: not the sample TRUTH describes (sha256 changed); read its values again")
    return body, content_type


# --------------------------------------------------------------------------- HTTP


def infer_url(api_url: str) -> str:
    """`/infer?fields=1` under the stage URL (Outputs: ApiUrl); an `.../infer` URL is taken as is."""
    parts = urlsplit(api_url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise SmokeError(f"not an http(s) URL: {api_url!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise SmokeError(f"refusing to send the API key over plain http to {parts.hostname}")
    base = api_url.split("?", 1)[0].rstrip("/")
    return (base if base.endswith("/infer") else base + "/infer") + "?fields=1"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def send(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> Reply:
    """One POST; an HTTP error status is a Reply, a network failure raises OSError."""
    # A local API must never go through a proxy from the environment (a developer's, CI's).
    handlers = [urllib.request.ProxyHandler({})] if _loopback(urlsplit(url).hostname or "") else []
    opener = urllib.request.build_opener(*handlers)
    # The scheme is http(s) only: infer_url checked it.
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
    try:
        with opener.open(request, timeout=timeout_s) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers or {}), error.read())


def post_with_retries(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    total_timeout_s: float,
    request_timeout_s: float = 60,
    auth_grace_s: float = 60,
    transport: Callable[[str, bytes, Mapping[str, str], float], Reply] = send,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = print,
) -> Reply:
    """POST until an answer that is not worth retrying, with exponential backoff.

    Retried: network errors and timeouts, 408/429/5xx (a cold start with OCR can pass API
    Gateway's 29 s: the next call finds the function warm) and, for the first `auth_grace_s`
    only, 401/403 (a usage plan's new key can take a moment to be accepted after a deploy).
    Raises SmokeError when `total_timeout_s` runs out.
    """
    start = clock()
    delay, attempt = 2.0, 0
    while True:
        attempt += 1
        remaining = total_timeout_s - (clock() - start)
        if remaining <= 0:
            raise SmokeError(f"no answer within {total_timeout_s:.0f} s ({attempt - 1} attempts)")
        try:
            reply = transport(url, body, headers, min(request_timeout_s, remaining))
        except (OSError, http.client.HTTPException) as error:  # URLError, refused, reset, timeout
            why = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
            retry_after = None
        else:
            auth_retry = reply.status in AUTH_STATUSES and clock() - start < auth_grace_s
            if reply.status not in RETRY_STATUSES and not auth_retry:
                return reply
            why = f"HTTP {reply.status} {_snippet(reply.body)}"
            retry_after = _retry_after(reply.headers)
        wait = min(retry_after or delay, 30.0)
        remaining = total_timeout_s - (clock() - start)
        if wait >= remaining:
            raise SmokeError(f"no usable answer within {total_timeout_s:.0f} s; last: {why}")
        log(f"smoke: attempt {attempt}: {why}; retrying in {wait:.0f} s")
        sleep(wait)
        delay = min(delay * 2, 30.0)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return max(float(value), 1.0) if value is not None else None
    except ValueError:  # an HTTP date: fall back to our own backoff
        return None


def _snippet(body: bytes, limit: int = 200) -> str:
    return body[:limit].decode("utf-8", "replace").replace("\n", " ")


# --------------------------------------------------------------------------- the stack


def stack_target(stack_name: str, region: str | None) -> tuple[str, str]:
    """(ApiUrl, the API key's value) of a deployed stack, from its Outputs and API Gateway."""
    import boto3  # noqa: PLC0415 - only --stack-name needs it; --api-url runs on the standard library
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        stack = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack_name)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0].get("Outputs", [])}
        missing = [key for key in ("ApiUrl", "ApiKeyId") if key not in outputs]
        if missing:
            raise SmokeError(f"stack {stack_name} has no output {', '.join(missing)}")
        key = boto3.client("apigateway", region_name=region).get_api_key(
            apiKey=outputs["ApiKeyId"], includeValue=True
        )
    except (BotoCoreError, ClientError) as error:
        raise SmokeError(f"cannot read stack {stack_name}: {error}") from error
    if not key.get("value"):
        raise SmokeError(f"API key {outputs['ApiKeyId']} has no value")
    return outputs["ApiUrl"], key["value"]


# --------------------------------------------------------------------------- CLI


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devkit.smoke",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack-name", help="read ApiUrl and the API key from this stack")
    target.add_argument("--api-url", help="the stage URL (Outputs: ApiUrl) or its /infer URL")
    parser.add_argument("--api-key", default=os.environ.get("SMOKE_API_KEY"), help="default: $SMOKE_API_KEY")
    parser.add_argument("--region", help="for --stack-name (default: boto3's, e.g. $AWS_REGION)")
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds for the whole call, retries included"
    )
    parser.add_argument("--request-timeout", type=float, default=60, help="seconds for one attempt")
    parser.add_argument("--auth-grace", type=float, default=60, help="seconds to retry 401/403 (new keys)")
    keys = ", ".join(check.key for check in TRUTH)
    parser.add_argument(
        "--expect", action="append", default=[], metavar="KEY=VALUE", help=f"replace a known value ({keys})"
    )
    args = parser.parse_args(argv)
    defaults = {check.key: check.expected for check in TRUTH}
    overrides = {}
    for item in args.expect:
        key, sep, text = item.partition("=")
        if not sep or key not in defaults:
            parser.error(f"--expect takes KEY=VALUE with KEY one of {keys}: {item!r}")
        try:
            overrides[key] = parse_expected(key, text, defaults[key])
        except ValueError as error:
            parser.error(f"--expect {item!r}: {error}")
    args.checks = tuple(overrides.get(check.key, check) for check in TRUTH)
    if args.api_url and not args.api_key:
        parser.error("--api-url needs --api-key (or SMOKE_API_KEY)")
    return args


def run(args: argparse.Namespace) -> int:
    """Resolve the target, POST the sample, compare; print the report. Returns the exit status."""
    body, content_type = load_sample()
    api_url, api_key = (
        (args.api_url, args.api_key) if args.api_url else stack_target(args.stack_name, args.region)
    )
    url = infer_url(api_url)
    print(f"smoke: POST {url} ({SAMPLE.relative_to(ROOT)}, {len(body):,} bytes, {content_type})", flush=True)
    headers = {"Content-Type": content_type, "Accept": "application/json", "x-api-key": api_key}
    started = time.monotonic()
    reply = post_with_retries(
        url,
        body,
        headers,
        total_timeout_s=args.timeout,
        request_timeout_s=args.request_timeout,
        auth_grace_s=args.auth_grace,
        log=lambda line: print(line, flush=True),
    )
    if reply.status != 200:
        hint = " (is the API key right?)" if reply.status in AUTH_STATUSES else ""
        raise SmokeError(f"HTTP {reply.status}{hint}: {_snippet(reply.body)}")
    try:
        answer = json.loads(reply.body)
    except ValueError as error:
        raise SmokeError(f"HTTP 200 but not JSON: {_snippet(reply.body)}") from error
    if not isinstance(answer, dict):
        raise SmokeError(f"HTTP 200 but not a JSON object: {_snippet(reply.body)}")
    model = answer.get("model") or {}
    print(f"smoke: HTTP 200 in {time.monotonic() - started:.1f} s; model {model.get('version', '?')}")
    results = compare(answer, args.checks)
    for line in report(results):
        print(line)
    failed = [r.key for r in results if not r.ok]
    if failed:
        _annotate(f"the deployed API misread the sample invoice: {', '.join(failed)}")
        return EXIT_MISMATCH
    return EXIT_OK


def _annotate(message: str) -> None:
    # In GitHub Actions an ::error:: line puts the reason on the run's summary page.
    if os.environ.get("GITHUB_ACTIONS") == "true":
        print(f"::error title=smoke test::{message}")


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    args = _arguments(argv)
    try:
        return run(args)
    except SmokeError as error:
        print(f"smoke: FAILED: {error}")
        _annotate(str(error))
        return EXIT_NO_ANSWER


if __name__ == "__main__":
    sys.exit(main())
