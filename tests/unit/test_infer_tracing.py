"""serving.tracing: Powertools' Tracer without the X-Ray SDK on a container's first invocation."""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator
from typing import Any

import aws_xray_sdk
import pytest
from aws_lambda_powertools import Tracer

from serving.tracing import DeferredXRay, NoSegment

pytestmark = pytest.mark.unit


class FakeSegment:
    def __init__(self, name: str, log: list[tuple[str, Any]]) -> None:
        self.name, self.log = name, log

    def put_annotation(self, key: str, value: Any) -> None:
        self.log.append(("annotation", (self.name, key, value)))

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.log.append(("metadata", (self.name, key)))


class FakeRecorder:
    """Stands in for aws_xray_sdk.core.xray_recorder: records what Tracer asks of it."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []

    def configure(self, **kwargs: Any) -> None:
        self.log.append(("configure", kwargs))

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **_: Any) -> Iterator[FakeSegment]:
        self.log.append(("subsegment", name))
        yield FakeSegment(str(name), self.log)

    def put_annotation(self, key: str, value: Any) -> None:
        self.log.append(("annotation", ("current", key, value)))

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.log.append(("metadata", ("current", key)))


@pytest.fixture
def fake_sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeRecorder, list[list[str]]]]:
    """`aws_xray_sdk.core` replaced by a fake module; Tracer's class-wide config reset after."""
    Tracer._reset_config()  # Tracer caches `disabled` and the provider class-wide across tests
    recorder, patched = FakeRecorder(), []
    module = types.ModuleType("aws_xray_sdk.core")
    module.xray_recorder = recorder  # type: ignore[attr-defined]
    module.patch = lambda modules: patched.append(list(modules))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aws_xray_sdk.core", module)
    # Other tests' handlers disable the SDK process-wide (POWERTOOLS_TRACE_DISABLED): enable it here.
    monkeypatch.setattr(type(aws_xray_sdk.global_sdk_config), "_SDKConfig__SDK_ENABLED", True)
    yield recorder, patched
    Tracer._reset_config()


def _traced(provider: DeferredXRay) -> tuple[Tracer, Any]:
    tracer = Tracer(service="infer", disabled=False, auto_patch=False, provider=provider)

    @tracer.capture_method
    def inner() -> str:
        tracer.put_annotation("model", "demo")
        return "ok"

    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: Any) -> str:
        return inner()

    return tracer, handler


def test_first_invocation_has_no_sdk_subsegments_and_the_second_loads_it(fake_sdk):
    recorder, patched = fake_sdk
    provider = DeferredXRay()
    tracer, handler = _traced(provider)
    tracer.patch(["botocore"])  # as the lazy S3 client does before the SDK is loaded

    assert handler({}, None) == "ok"
    assert not provider.loaded
    assert recorder.log == []
    assert patched == []

    assert handler({}, None) == "ok"
    assert provider.loaded
    assert recorder.log[0] == ("configure", {"streaming_threshold": 0})  # as Powertools sets it
    assert patched == [["botocore"]]  # the deferred patch, applied on load
    subsegments = [value for kind, value in recorder.log if kind == "subsegment"]
    assert subsegments[0] == "## handler"
    assert subsegments[1].endswith("inner")
    assert ("annotation", ("current", "model", "demo")) in recorder.log
    assert ("annotation", ("## handler", "ColdStart", False)) in recorder.log

    tracer.patch(["requests"])  # once loaded, patches go straight to the SDK
    assert patched[-1] == ["requests"]


def test_nested_subsegments_do_not_count_as_invocations(fake_sdk):
    recorder, _ = fake_sdk
    provider = DeferredXRay(load_at=2)
    with provider.in_subsegment("## outer") as outer, provider.in_subsegment("## nested") as nested:
        assert isinstance(outer, NoSegment)
        assert isinstance(nested, NoSegment)
    assert not provider.loaded
    with provider.in_subsegment("## second"):
        pass
    assert provider.loaded
    assert ("subsegment", "## second") in recorder.log


def test_a_disabled_sdk_is_never_loaded(fake_sdk, monkeypatch):
    recorder, _ = fake_sdk
    monkeypatch.setattr(type(aws_xray_sdk.global_sdk_config), "_SDKConfig__SDK_ENABLED", False)
    assert not aws_xray_sdk.global_sdk_config.sdk_enabled()
    provider = DeferredXRay()
    _, handler = _traced(provider)
    for _ in range(3):
        assert handler({}, None) == "ok"
    assert not provider.loaded
    assert recorder.log == []


def test_no_segment_accepts_what_tracer_writes():
    segment = NoSegment()
    segment.put_annotation("ColdStart", True)
    segment.put_metadata("response", {"a": 1}, namespace="infer")
    segment.add_exception(ValueError("x"), [])
    segment.close()
    assert isinstance(segment, NoSegment)
