"""SIGTERM handling: stop at once, except while a checkpoint is being written."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from yolo_train.errors import TrainingInterrupted
from yolo_train.interrupt import GracefulStop

pytestmark = pytest.mark.unit


@pytest.fixture
def stop() -> Iterator[GracefulStop]:
    handler = GracefulStop()
    handler.install()
    yield handler
    handler.restore()


def _sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_raises_at_once(stop: GracefulStop) -> None:
    with pytest.raises(TrainingInterrupted) as info:
        _sigterm()
        pytest.fail("the handler should have raised before this line")
    assert info.value.signame == "SIGTERM"
    assert not stop.deferred


def test_sigterm_inside_a_checkpoint_write_waits_for_it(stop: GracefulStop) -> None:
    written: list[str] = []

    def save() -> None:
        _sigterm()
        written.append("last.pt")  # the write completes despite the signal

    with pytest.raises(TrainingInterrupted):
        stop.guard(save)()
    assert written == ["last.pt"]
    assert stop.deferred


def test_hold_spans_callbacks_until_release(stop: GracefulStop) -> None:
    stop.hold()
    _sigterm()  # finalising (optimizer strip): must not be cut
    with pytest.raises(TrainingInterrupted):
        stop.release()


def test_restore_puts_back_the_previous_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM)
    handler = GracefulStop()
    handler.install()
    assert signal.getsignal(signal.SIGTERM) != before
    handler.restore()
    assert signal.getsignal(signal.SIGTERM) == before


def test_interruption_is_not_an_exception_subclass() -> None:
    # Ultralytics has `except Exception` blocks; they must not swallow the stop.
    assert not issubclass(TrainingInterrupted, Exception)
