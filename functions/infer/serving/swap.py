"""Hot swap: serve the model the pointer names, change it without a restart, never fail a request.

Which model (decided in `runtime.load_models`): MODEL_URI, when set, pins a model and the pointer is
never read (a deploy-time override must not be undone by the next promotion); otherwise the model
the pointer names; the baked-in file when the pointer names none (`model_uri: null`) or does not
exist. A pointer that cannot be read, or a model that cannot be downloaded, verified or loaded,
changes nothing: the current model keeps serving (the baked-in one if nothing else was ever
loaded), with `fallback_reason` in every response until it is resolved, an error log and a
`ModelPointerFailures` metric.

When: once at cold start, then at the start of a request (Lambda freezes background threads
between requests). A successful read is cached by Powertools for max age; after a failure the
next attempt waits max age too, so a warm container costs SSM (and a failing download) at most
once per max age. A new model is downloaded and its session built beside the current one, then
installed with one reference assignment (`ModelHolder.swap`): a request in flight keeps the model
it started with, and requests never wait for a load (one thread checks, the others go on).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit

from invoice_core.detect.model import LoadedModel, ModelHolder
from serving.errors import PointerMissing, PointerUnreadable
from serving.pointer import BAKED_IN, ModelKey, ModelPointer, PointerReader, one_line


class HotSwap:
    """The model source of a function with a pointer: `for_request()` is the only call on the hot path."""

    def __init__(
        self,
        reader: PointerReader,
        *,
        load: Callable[[ModelPointer], LoadedModel],
        load_baked_in: Callable[[], LoadedModel],
        metrics: Metrics,
        logger: Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._load = load
        self._load_baked_in = load_baked_in
        self._metrics = metrics
        self._logger = logger  # the handler's (a module-level child logger would be named at import)
        self._clock = clock
        self._holder: ModelHolder | None = None
        self._key: ModelKey | None = None  # what the held model was loaded for
        self._retry_at = -math.inf
        self._checking = threading.Lock()

    @property
    def current(self) -> LoadedModel:
        """The model now, without checking the pointer."""
        if self._holder is None:
            raise RuntimeError("HotSwap.start() has not run")
        return self._holder.current

    def start(self) -> HotSwap:
        """Cold start: the pointer's model, else the baked-in one. Raises only if the baked-in
        file itself cannot be loaded (then there is nothing to serve)."""
        self._check()
        return self

    def for_request(self) -> LoadedModel:
        """The model a request starting now uses (after a pointer check, when one is due)."""
        if self._clock() >= self._retry_at and self._checking.acquire(blocking=False):
            try:
                self._check()
            except Exception as exc:  # a swap problem must never fail the request
                self._logger.exception("model check failed")
                self._fall_back(f"model check failed: {type(exc).__name__}")
            finally:
                self._checking.release()
        return self.current

    # ------------------------------------------------------------------ steps

    def _check(self) -> None:
        try:
            pointer = self._reader.read()
        except PointerMissing as exc:
            self._retry_later()
            self._install(BAKED_IN, self._load_baked_in, f"{exc}; serving the baked-in model")
            return
        except PointerUnreadable as exc:
            self._retry_later()
            self._fall_back(str(exc))
            return
        if pointer.key == self._key and self.current.info.fallback_reason is None:
            return  # the common case: nothing changed
        load = self._load_baked_in if pointer.baked_in else lambda: self._load(pointer)
        try:
            self._install(pointer.key, load, None)
        except Exception as exc:  # download, checksum or ONNX load: keep what works
            self._retry_later()
            self._fall_back(f"model {pointer.version or pointer.model_uri} not loaded: {exc}")

    def _install(self, key: ModelKey, load: Callable[[], LoadedModel], reason: str | None) -> None:
        """Make `key`'s model current (loading it unless it already is), noted with `reason`."""
        if reason is not None:
            self._count_failure(reason)
        if self._holder is not None and key == self._key:
            self._holder.swap(self.current.marked(reason))  # same session, only the note changes
            return
        started = time.perf_counter()
        model = load().marked(reason)  # built beside the current one, which keeps serving meanwhile
        if self._holder is None:
            self._holder = ModelHolder(model)
            previous = None
        else:
            previous = self._holder.swap(model).info.version
        self._key = key
        if previous is not None:
            self._metrics.add_metric(name="ModelSwaps", unit=MetricUnit.Count, value=1)
        self._logger.info(
            "model loaded" if previous is None else "model swapped",
            extra={
                "model": model.info.describe(),
                "previous_version": previous,
                "load_ms": round((time.perf_counter() - started) * 1000.0, 1),
            },
        )

    def _fall_back(self, reason: str) -> None:
        """Keep the current model (the baked-in one when there is none yet), marked with `reason`."""
        reason = one_line(reason)
        if self._holder is None:
            self._install(BAKED_IN, self._load_baked_in, reason)
            return
        self._count_failure(reason)
        self._holder.swap(self.current.marked(reason))

    def _count_failure(self, reason: str) -> None:
        self._metrics.add_metric(name="ModelPointerFailures", unit=MetricUnit.Count, value=1)
        serving = self._holder.current.info.version if self._holder is not None else "baked-in"
        self._logger.error(
            "model pointer unusable; serving the fallback",
            extra={"reason": reason, "serving_version": serving, "retry_in_s": self._reader.max_age_s},
        )

    def _retry_later(self) -> None:
        self._retry_at = self._clock() + self._reader.max_age_s
