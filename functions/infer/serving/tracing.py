"""A Powertools Tracer provider that keeps the X-Ray SDK out of the cold path.

Importing `aws_xray_sdk.core` costs about 0.35 s here (botocore, wrapt, and two X-Ray clients its
sampler builds at import), more than the rest of the handler's imports. Lambda's active tracing
records every invocation without the SDK (the AWS::Lambda and AWS::Lambda::Function segments with
Initialization / Invocation / Overhead), so a container's first invocation runs without SDK
subsegments, and the SDK is loaded when the second one starts: from then on Tracer's subsegments,
annotations and botocore patching are the stock ones. See docs/performance.md ("What was traded").
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment


class NoSegment(BaseSegment):
    """What Tracer's decorators get while the SDK is not loaded: accepts everything, records nothing."""

    def close(self, end_time: int | None = None) -> None:
        """Nothing to close."""

    def add_subsegment(self, subsegment: Any) -> None:
        """Dropped."""

    def remove_subsegment(self, subsegment: Any) -> None:
        """Dropped."""

    def put_annotation(self, key: str, value: Any) -> None:
        """Dropped."""

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        """Dropped."""

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        """Dropped."""


class DeferredXRay(BaseProvider):
    """X-Ray through Powertools, with the SDK imported at the start of the `load_at`-th outermost
    subsegment (Tracer's `## lambda_handler`: one per invocation). Patches asked for earlier are
    applied then. With the SDK disabled (Tracer disabled, or AWS_XRAY_SDK_ENABLED=false) it never loads."""

    def __init__(self, *, load_at: int = 2) -> None:
        self.load_at = load_at
        self.recorder: Any = None
        self._outermost = 0
        self._depth = threading.local()
        self._pending: list[str] = []
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self.recorder is not None

    def _enter(self) -> None:
        depth = getattr(self._depth, "value", 0)
        if depth == 0:
            self._outermost += 1
            if self._outermost >= self.load_at and not self.loaded:
                self.load()
        self._depth.value = depth + 1

    def _leave(self) -> None:
        self._depth.value -= 1

    def load(self) -> None:
        """Import the SDK (if enabled) and set it up as Powertools' own X-Ray provider does."""
        import aws_xray_sdk  # noqa: PLC0415 - the package root is light; `core` is the cost

        if not aws_xray_sdk.global_sdk_config.sdk_enabled():
            return
        with self._lock:
            if self.loaded:
                return
            from aws_xray_sdk.core import patch, xray_recorder  # noqa: PLC0415 - deferred on purpose

            xray_recorder.configure(streaming_threshold=0)  # Powertools' setting: send each subsegment
            if self._pending:
                patch(self._pending)
            self.recorder = xray_recorder

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[BaseSegment]:
        self._enter()
        try:
            if self.loaded:
                with self.recorder.in_subsegment(name=name, **kwargs) as subsegment:
                    yield subsegment
            else:
                yield NoSegment()
        finally:
            self._leave()

    @contextlib.asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        self._enter()
        try:
            if self.loaded:
                async with self.recorder.in_subsegment_async(name=name, **kwargs) as subsegment:
                    yield subsegment
            else:
                yield NoSegment()
        finally:
            self._leave()

    def put_annotation(self, key: str, value: Any) -> None:
        if self.loaded:
            self.recorder.put_annotation(key=key, value=value)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        if self.loaded:
            self.recorder.put_metadata(key=key, value=value, namespace=namespace)

    def patch(self, modules: Sequence[str]) -> None:
        if self.loaded:
            from aws_xray_sdk.core import patch  # noqa: PLC0415

            patch(list(modules))
        else:
            self._pending.extend(m for m in modules if m not in self._pending)

    def patch_all(self) -> None:
        self.load()
        if self.loaded:
            from aws_xray_sdk.core import patch_all  # noqa: PLC0415

            patch_all()
