"""The one local 'container' of a Lambda function, used by the local API server and the stand-in.

A `FunctionSpec` says how to import a handler and with which environment (the template reader,
`devkit.template`, builds it); a `FunctionHost` imports it once and calls it with that environment
applied, for any event (API Gateway proxy event, EventBridge event, ...).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

ACCOUNT_ID = "123456789012"  # moto's default account: ARNs built here match the ones moto returns


@dataclass(frozen=True)
class FunctionSpec:
    """One function: how to import its handler and with which environment."""

    logical_id: str
    handler: str  # module.attr
    code_root: Path
    environment: dict[str, str]
    memory_mb: int
    timeout_s: int


@dataclass
class LocalContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    aws_request_id: str
    timeout_s: int
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


# Environment variables are process-wide and each function has its own: one invocation (or
# import) at a time in this process, with that function's environment applied while it runs.
# Re-entrant: nested use in one thread (an invocation that reaches another function) cannot deadlock.
_INVOKE_LOCK = threading.RLock()


@contextlib.contextmanager
def applied_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set `values` in os.environ for the block, then restore what was there."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


class FunctionHost:
    """One local 'container' of a function: imported once, called with its environment applied
    (module-level settings read it at import, boto3 at client creation), one invocation at a time.

    Its package is imported afresh: a module imported earlier in this process (another stand-in,
    a unit test) holds clients bound to another endpoint and settings read from another
    environment. `restore()` puts the earlier modules back, so whoever imported them before
    (a test module holding its exception classes) finds the same objects afterwards.
    """

    def __init__(self, spec: FunctionSpec, *, log_stream: TextIO | None = None) -> None:
        self.spec = spec  # replaceable before the first invocation (a test lowering a setting)
        # Where the function's stdout goes (its Powertools logs and EMF metrics, as CloudWatch
        # would get them): None keeps this process's stdout.
        self.log_stream = log_stream
        self._package = spec.handler.split(".", 1)[0]
        self._handler: Any = None
        self._displaced: dict[str, Any] | None = None

    def _own_modules(self) -> list[str]:
        return [m for m in sys.modules if m == self._package or m.startswith(self._package + ".")]

    def _load(self) -> Any:
        if self._handler is None:
            if self._displaced is None:
                self._displaced = {name: sys.modules.pop(name) for name in self._own_modules()}
            module_name, _, attr = self.spec.handler.rpartition(".")
            root = str(self.spec.code_root)
            if root not in sys.path:
                sys.path.insert(0, root)
            self._handler = getattr(importlib.import_module(module_name), attr)
        return self._handler

    def restore(self) -> None:
        """Drop this container's modules and put back what was imported before it."""
        with _INVOKE_LOCK:
            if self._displaced is not None:
                for name in self._own_modules():
                    del sys.modules[name]
                sys.modules.update(self._displaced)
                self._displaced = None
                self._handler = None

    def invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler with a Lambda-like context, as Lambda would with this event."""
        request_id = (
            (event.get("requestContext") or {}).get("requestId") or event.get("id") or str(uuid.uuid4())
        )
        output = contextlib.redirect_stdout(self.log_stream) if self.log_stream else contextlib.nullcontext()
        # Imported under the redirect too: Powertools' log handler keeps the stream of import time.
        with _INVOKE_LOCK, applied_environment(self.spec.environment), output:
            handler = self._load()
            context = LocalContext(
                self.spec.logical_id, self.spec.memory_mb, str(request_id), self.spec.timeout_s
            )
            return handler(event, context)
