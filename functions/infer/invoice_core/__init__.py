"""The invoice-reading core: bytes in, checked field values out. ONNX Runtime + OpenCV + PDFium,
no torch, no Ultralytics, and no knowledge of Lambda, HTTP or queues.

Its one front door is `read_document` (`invoice_core.front`), and `render_json` / `render_jpeg`
(`invoice_core.respond`) give the wire format; the API adapter (`serving`), the queue worker
(`inbox`), the benches and the demo call these and nothing below them. Inside: the detect wing
(`invoice_core.detect`), the read wing (`invoice_core.read`), the knobs (`invoice_core.knobs`) and
the domain errors (`invoice_core.errors`). The map is in the README.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Loaded on first use (PEP 562): `import invoice_core.errors` stays free of numpy, OpenCV and ORT.
_EXPORTS = {
    "Options": "invoice_core.front",
    "Result": "invoice_core.front",
    "read_document": "invoice_core.front",
    "Limits": "invoice_core.knobs",
    "ReadPolicy": "invoice_core.knobs",
    "render_jpeg": "invoice_core.respond.render",
    "render_json": "invoice_core.respond.render",
}
__all__ = [
    "Limits",
    "Options",
    "ReadPolicy",
    "Result",
    "read_document",
    "render_jpeg",
    "render_json",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'invoice_core' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
