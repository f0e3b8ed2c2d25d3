"""Hot swap in the inference function: the model pointer (SSM, moto) names the model; S3 (moto) holds it.

Most tests import the real handler as a fresh container (settings are read at import) and drive it
with the API Gateway events in events/; SSM GetParameter calls are counted on boto3's default
session, which the handler's clients come from.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib
import io
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import numpy as np
import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from moto import mock_aws

from invoice_core.detect.model import ModelHolder, load_model
from serving.errors import PointerMissing, PointerUnreadable
from serving.pointer import BAKED_IN, PointerReader, ssm_provider
from serving.runtime import pointer_model_loader
from serving.settings import Settings
from serving.storage import fetch_verified
from serving.swap import HotSwap

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("pillow_unpatched")]

REGION = "eu-north-1"
BUCKET = "invoice-yolo-models-unit"
POINTER = "/invoice-yolo-unit/model-pointer"
INITIAL = '{"model_uri": null, "version": null, "action": "initial"}'  # the template's value


@dataclass
class Aws:
    s3: Any
    ssm: Any
    get_parameter_calls: list[str] = field(default_factory=list)

    def publish(self, path: Path, version: str) -> dict[str, Any]:
        """Put a model where promotion does; returns the pointer document promotion would write."""
        data = path.read_bytes()
        key = f"models/{version}/model.onnx"
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        return {
            "model_uri": f"s3://{BUCKET}/{key}",
            "version": version,
            "job_name": version,
            "sha256": hashlib.sha256(data).hexdigest(),
            "metrics": {"mAP50-95": 0.5},
            "action": "promote",
        }

    def point(self, value: dict[str, Any] | str) -> None:
        text = value if isinstance(value, str) else json.dumps(value)
        self.ssm.put_parameter(Name=POINTER, Value=text, Type="String", Overwrite=True)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for key, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.setup_default_session(region_name=REGION)  # the handler's clients are built from it
        ours = boto3.Session(region_name=REGION)  # the test's own calls are not counted
        state = Aws(ours.client("s3"), ours.client("ssm"))
        count = lambda params, **_: state.get_parameter_calls.append(params["Name"])  # noqa: E731
        boto3.DEFAULT_SESSION.events.register("provide-client-params.ssm.GetParameter", count)
        state.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield state
    boto3.DEFAULT_SESSION = None
    Metrics().clear_metrics()  # Powertools keeps metrics process-wide until a flush


@dataclass
class Context:
    function_name: str = "InferFunction"
    memory_limit_in_mb: int = 2048
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:InferFunction"
    aws_request_id: str = "11111111-2222-4333-8444-555555555555"


@dataclass
class Container:
    """One imported handler (a Lambda container) and everything it printed (logs, EMF metrics)."""

    module: ModuleType
    out: io.StringIO
    event: dict[str, Any]

    def infer(self) -> tuple[int, dict[str, str], dict[str, Any]]:
        with contextlib.redirect_stdout(self.out):  # EMF metrics are printed
            result = self.module.lambda_handler(json.loads(json.dumps(self.event)), Context())
        raw = result["body"] or ""
        body = base64.b64decode(raw) if result["isBase64Encoded"] else raw.encode()
        headers = {k.lower(): v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}
        headers.update({k.lower(): v for k, v in (result.get("headers") or {}).items()})
        return result["statusCode"], headers, json.loads(body)

    def version(self) -> str:
        status, headers, body = self.infer()
        assert status == 200, body
        assert headers["x-model-version"] == body["model"]["version"]
        return body["model"]["version"]

    def printed(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.getvalue().splitlines() if line.startswith("{")]

    def metric(self, name: str) -> float:
        """Sum of a metric over every EMF document printed so far."""
        values = [doc[name] for doc in self.printed() if "_aws" in doc and name in doc]
        return sum(sum(v) if isinstance(v, list) else v for v in values)


@pytest.fixture
def container(
    aws: Aws,
    serving_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    api_event: Callable[[str], dict[str, Any]],
) -> Iterator[Callable[..., Container]]:
    """`container(max_age_s=0, **env)`: import serving.handler afresh (a cold start) with a pointer."""

    def start(max_age_s: int = 0, **env: str) -> Container:
        settings = {
            "MODEL_PATH": str(serving_model),
            "MODEL_CACHE_DIR": str(tmp_path / "model-cache"),
            "MODEL_POINTER_PARAMETER": POINTER,
            "MODEL_POINTER_MAX_AGE_S": str(max_age_s),
            "POWERTOOLS_SERVICE_NAME": "infer",
            "POWERTOOLS_METRICS_NAMESPACE": "InvoiceYoloTest",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "ORT_INTRA_OP_THREADS": "1",  # the machine is shared
            **env,
        }
        for key, value in settings.items():
            monkeypatch.setenv(key, value)
        Metrics().clear_metrics()
        out = io.StringIO()
        # Powertools keeps the first stream it was given per service: point it (and stdout) at ours.
        for handler in logging.getLogger("infer").handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(out)
        sys.modules.pop("serving.handler", None)
        with contextlib.redirect_stdout(out):
            module = importlib.import_module("serving.handler")
        module.logger.registered_handler.setStream(out)
        return Container(module, out, api_event("infer_jpeg", fields="0"))  # detections only: no OCR

    yield start
    sys.modules.pop("serving.handler", None)


@pytest.fixture(scope="module")
def baked_in_version(serving_model: Path) -> str:
    return load_model(serving_model, intra_op_threads=1).info.version


# ----------------------------------------------------------------------------- which model


def test_no_pointer_parameter_serves_the_baked_in_model_with_the_reason(container, aws, baked_in_version):
    box = container(max_age_s=60)  # the parameter was never created

    status, _, body = box.infer()

    assert status == 200
    assert body["model"]["version"] == baked_in_version
    reason = f"model pointer {POINTER} does not exist; serving the baked-in model"
    assert body["model"]["fallback_reason"] == reason
    assert box.metric("ModelPointerFailures") == 1 and box.metric("FallbackModelResponses") == 1
    [logged] = [d for d in box.printed() if d.get("message", "").startswith("model pointer unusable")]
    assert logged["level"] == "ERROR" and logged["reason"] == reason


def test_the_initial_pointer_means_the_baked_in_model_and_is_no_fallback(container, aws, baked_in_version):
    aws.point(INITIAL)
    box = container()

    _, _, body = box.infer()

    assert body["model"]["version"] == baked_in_version and "fallback_reason" not in body["model"]
    assert box.metric("ModelPointerFailures") == 0 and box.metric("FallbackModelResponses") == 0


def test_a_cold_start_serves_the_promoted_model_and_keeps_no_file(container, aws, model_version, tmp_path):
    pointer = aws.publish(model_version("job-2"), "job-2")
    aws.point(pointer)

    box = container()
    _, _, body = box.infer()

    assert body["model"] == {"name": "invoice-fields", "version": "job-2", "source": pointer["model_uri"]}
    assert list((tmp_path / "model-cache").iterdir()) == []  # downloaded, loaded, deleted


def test_model_uri_pins_the_model_and_the_pointer_is_never_read(container, aws, model_version):
    aws.point(aws.publish(model_version("job-2"), "job-2"))
    pinned = aws.publish(model_version("pinned"), "pinned")

    box = container(MODEL_URI=pinned["model_uri"])

    assert box.version() == "pinned"
    assert isinstance(box.module.MODELS, ModelHolder)
    assert aws.get_parameter_calls == []


# ----------------------------------------------------------------------------- swapping


def test_a_new_pointer_is_served_by_the_next_request_after_max_age(
    container, aws, model_version, baked_in_version
):
    aws.point(INITIAL)
    box = container(max_age_s=1)
    assert box.version() == baked_in_version
    pointer = aws.publish(model_version("job-2"), "job-2")
    aws.point(pointer)

    within = box.version()  # Powertools' cached pointer is still fresh
    time.sleep(1.1)  # past max age
    after = box.version()

    assert (within, after) == (baked_in_version, "job-2")
    assert box.metric("ModelSwaps") == 1
    [swapped] = [d for d in box.printed() if d.get("message") == "model swapped"]
    assert swapped["previous_version"] == baked_in_version
    assert swapped["model"]["source"] == pointer["model_uri"]
    # Rollback is the same move: the pointer names the previous model again.
    aws.point(INITIAL)
    time.sleep(1.1)
    assert box.version() == baked_in_version


def test_max_age_bounds_the_ssm_calls(container, aws, model_version):
    aws.point(aws.publish(model_version("job-2"), "job-2"))
    box = container(max_age_s=60)
    assert aws.get_parameter_calls == [POINTER]  # the cold start's read

    versions = {box.version() for _ in range(5)}

    assert versions == {"job-2"}
    assert aws.get_parameter_calls == [POINTER]  # no call within the window


def test_a_failed_read_is_retried_once_per_max_age(aws, serving_model):
    """A failure is not cached by Powertools: the swap spaces out the retries itself (fake clock)."""
    now = [0.0]
    reader = PointerReader(POINTER, max_age_s=60, provider=lambda: ssm_provider(boto3.client("ssm")))
    swap = HotSwap(
        reader,
        load=lambda _: pytest.fail("nothing to download"),
        load_baked_in=lambda: load_model(serving_model, intra_op_threads=1),
        metrics=Metrics(namespace="InvoiceYoloTest"),
        logger=Logger(service="infer-test"),
        clock=lambda: now[0],
    ).start()
    assert swap.current.info.fallback_reason  # missing pointer

    for now[0] in (1.0, 30.0, 59.9):
        swap.for_request()
    calls_in_window = len(aws.get_parameter_calls)
    aws.point(INITIAL)
    now[0] = 60.0
    model = swap.for_request()

    assert calls_in_window == 1
    assert len(aws.get_parameter_calls) == 2
    assert model.info.fallback_reason is None  # the pointer exists again: no fallback any more


# ----------------------------------------------------------------------------- failures keep serving


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{not json", "is not a pointer document"),
        ('["s3://x/y.onnx"]', "is not a pointer document"),
        ('{"model_uri": "s3://b/k.onnx", "sha256": "abc"}', "sha256"),
    ],
    ids=["not-json", "not-an-object", "bad-sha-field"],
)
def test_an_unreadable_pointer_keeps_the_current_model(container, aws, model_version, value, expected):
    aws.point(aws.publish(model_version("job-2"), "job-2"))
    box = container()
    session = box.module.MODELS.current.session

    aws.point(value)
    status, _, body = box.infer()

    assert status == 200 and body["model"]["version"] == "job-2"
    assert expected in body["model"]["fallback_reason"]
    assert box.metric("ModelPointerFailures") == 1 and box.metric("FallbackModelResponses") == 1
    # Readable again and naming the same model: the note goes, the session stays (no reload).
    aws.point(aws.publish(model_version("job-2"), "job-2"))
    _, _, body = box.infer()
    assert "fallback_reason" not in body["model"] and box.module.MODELS.current.session is session


def _corrupt(aws: Aws, pointer: dict[str, Any]) -> dict[str, Any]:
    """The object replaced by bytes that are not ONNX (the pointer's hash updated to match)."""
    bad = b"not an onnx model"
    aws.s3.put_object(Bucket=BUCKET, Key=pointer["model_uri"].split("/", 3)[3], Body=bad)
    return pointer | {"sha256": hashlib.sha256(bad).hexdigest()}


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (lambda aws, p: p | {"model_uri": f"s3://{BUCKET}/models/gone/model.onnx"}, "cannot download"),
        (lambda aws, p: p | {"model_uri": "https://example.com/model.onnx"}, "not an S3 URI"),
        (lambda aws, p: p | {"sha256": "0" * 64}, "the pointer says 0000"),
        (_corrupt, "cannot load ONNX model"),
    ],
    ids=["missing-object", "not-s3", "sha-mismatch", "not-onnx"],
)
def test_an_unusable_new_model_keeps_the_current_one(
    container, aws, model_version, tmp_path, broken, expected
):
    aws.point(aws.publish(model_version("job-2"), "job-2"))
    box = container()
    assert box.version() == "job-2"

    aws.point(broken(aws, aws.publish(model_version("job-3"), "job-3")))
    status, headers, body = box.infer()

    assert status == 200 and headers["x-model-version"] == body["model"]["version"] == "job-2"
    assert body["model"]["fallback_reason"].startswith("model job-3 not loaded: ")
    assert expected in body["model"]["fallback_reason"]
    assert box.metric("ModelPointerFailures") == 1
    assert list((tmp_path / "model-cache").iterdir()) == []  # a rejected download is not kept


def test_an_unusable_model_at_cold_start_falls_back_to_the_baked_in_one(
    container, aws, model_version, baked_in_version
):
    aws.point(aws.publish(model_version("job-2"), "job-2") | {"sha256": "f" * 64})

    status, _, body = container().infer()

    assert status == 200 and body["model"]["version"] == baked_in_version
    assert "model job-2 not loaded" in body["model"]["fallback_reason"]


def test_reader_errors_are_typed(aws):
    reader = PointerReader(POINTER, max_age_s=0, provider=lambda: ssm_provider(boto3.client("ssm")))
    with pytest.raises(PointerMissing):
        reader.read()
    aws.point("{}")
    assert reader.read().key == BAKED_IN
    aws.point("null")
    with pytest.raises(PointerUnreadable, match="not a pointer document"):
        reader.read()
    broken = PointerReader(POINTER, max_age_s=0, provider=lambda: ssm_provider(object()))
    with pytest.raises(PointerUnreadable, match="cannot read model pointer"):
        broken.read()


def test_fetch_verified_accepts_the_right_hash_only(aws, model_version, tmp_path):
    pointer = aws.publish(model_version("job-2"), "job-2")
    path = fetch_verified(aws.s3, pointer["model_uri"], tmp_path, sha256=pointer["sha256"].upper())
    assert path.read_bytes() == model_version("job-2").read_bytes()
    with pytest.raises(Exception, match="SHA-256"):
        fetch_verified(aws.s3, pointer["model_uri"], tmp_path, sha256="1" * 64)
    assert list(tmp_path.iterdir()) == [path]


# ----------------------------------------------------------------------------- requests in flight


def test_a_request_in_flight_finishes_on_the_model_it_started_with(container, aws, model_version):
    aws.point(aws.publish(model_version("job-1"), "job-1"))
    box = container()
    handler = box.module
    started, swapped = threading.Event(), threading.Event()
    answers: dict[str, Any] = {}

    def in_flight() -> None:
        model = handler.MODELS.for_request()  # what the /infer route does first
        started.set()
        swapped.wait(30)
        answers["old"] = handler.service.infer(
            APIGatewayProxyEvent(box.event),
            model=model,
            settings=handler.SETTINGS,
            s3=handler.s3_client,
            metrics=handler.metrics,
        )

    worker = threading.Thread(target=in_flight)
    worker.start()
    started.wait(30)
    aws.point(aws.publish(model_version("job-2"), "job-2"))
    new = box.version()  # this request swaps (max age 0) while the other one is still running
    swapped.set()
    worker.join(30)

    old = answers["old"]
    assert old.status_code == 200 and old.headers["X-Model-Version"] == "job-1"
    assert old.body["model"]["version"] == "job-1"  # the resolver serialises it later
    assert new == "job-2"


def test_concurrent_requests_never_fail_while_the_pointer_flips(aws, model_version, serving_model, tmp_path):
    """Threads run the model while another swaps it: every run succeeds on one whole model."""
    pointers = [aws.publish(model_version(v), v) for v in ("job-1", "job-2")]
    aws.point(pointers[0])
    settings = Settings(MODEL_PATH=serving_model, MODEL_CACHE_DIR=tmp_path, ORT_INTRA_OP_THREADS=1)
    swap = HotSwap(
        PointerReader(POINTER, max_age_s=0, provider=lambda: ssm_provider(boto3.client("ssm"))),
        load=pointer_model_loader(settings, lambda: boto3.client("s3")),
        load_baked_in=lambda: load_model(serving_model, intra_op_threads=1),
        metrics=Metrics(namespace="InvoiceYoloTest"),
        logger=Logger(service="infer-test"),
    ).start()
    height, width = swap.current.info.imgsz
    blank = np.zeros((1, 3, height, width), dtype=np.float32)
    seen: list[tuple[str, tuple[int, ...]]] = []
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            for _ in range(6):
                model = swap.for_request()
                seen.append((model.info.version, model.run(blank).shape))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=serve) for _ in range(3)]
    for worker in workers:
        worker.start()
    for pointer in (pointers[1], pointers[0], pointers[1]):
        aws.point(pointer)
        swap.for_request()
    for worker in workers:
        worker.join(120)

    assert errors == []
    assert len(seen) == 18 and {version for version, _ in seen} <= {"job-1", "job-2"}
    assert len({shape for _, shape in seen}) == 1
    assert swap.for_request().info.version == "job-2"
