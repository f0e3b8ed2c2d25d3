"""Stop promptly and safely on SIGTERM (Spot interruption, StopTrainingJob) or SIGINT.

SageMaker sends SIGTERM and about two minutes later SIGKILL. The handler raises
TrainingInterrupted at once, so the job stops between two Python bytecodes, except while a
checkpoint is being written (Ultralytics' `save_model`) or the finished run is being finalised
(optimizer stripped from last.pt/best.pt): a half-written last.pt would cost the whole run on the
next start, so there the stop waits for the write to finish. The checkpoint directory is what
SageMaker syncs to S3, so the next start resumes from the last completed epoch.

The handler itself logs nothing: writing to a stream from a signal handler can collide with a
write the main thread was in the middle of. The main loop logs when it catches the exception.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeVar

from yolo_train.errors import TrainingInterrupted

T = TypeVar("T")
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class GracefulStop:
    """Installs the handlers; `protect()` marks the sections a signal must not cut."""

    def __init__(self) -> None:
        self._depth = 0
        self._pending: tuple[int, str] | None = None
        self._held = False
        self._previous: dict[int, Any] = {}
        self.received: str | None = None  # signal name once one arrived
        self.deferred = False  # True when the stop waited for a protected section

    def install(self) -> None:
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        self.received = name
        if self._depth:
            self._pending = (signum, name)
            self.deferred = True
            return
        raise TrainingInterrupted(signum, name)

    def _raise_pending(self) -> None:
        if self._depth == 0 and self._pending is not None:
            signum, name = self._pending
            self._pending = None
            raise TrainingInterrupted(signum, name)

    @contextmanager
    def protect(self) -> Iterator[None]:
        """A section a signal must not interrupt; a signal that arrives meanwhile stops right after."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        self._raise_pending()

    def guard(self, function: Callable[..., T]) -> Callable[..., T]:
        """`function` wrapped in protect()."""

        def guarded(*args: Any, **kwargs: Any) -> T:
            with self.protect():
                return function(*args, **kwargs)

        return guarded

    def hold(self) -> None:
        """Open a protected section that spans callbacks (closed by release())."""
        if not self._held:
            self._held = True
            self._depth += 1

    def release(self) -> None:
        if self._held:
            self._held = False
            self._depth -= 1
            self._raise_pending()
