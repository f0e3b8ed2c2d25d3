"""The core's one front door: bytes in, a read document out.

`read_document` decodes or renders, detects, reads the values and lets the words name the rows the
detector pooled; `invoice_core.respond` turns its `Result` into the wire format. Every adapter (the
API, the queue worker, the benches, the demo) calls these and nothing below them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from invoice_contracts.fields import same_shape_groups
from invoice_core.detect.analyse import Document, Kind, Page, analyse
from invoice_core.detect.model import LoadedModel
from invoice_core.detect.pdf import is_pdf
from invoice_core.knobs import MAX_DET_LIMIT, Limits, ReadPolicy


@dataclass(frozen=True)
class Options:
    """What one request asks for (validated at the edge; the defaults are the deployment's)."""

    conf: float | None = None  # None: Limits.default_conf
    max_det: int = MAX_DET_LIMIT
    classes: tuple[int | str, ...] | None = None  # ids or names to keep; None: all
    values: bool = True  # read the field values; False: the detector's proposals alone
    line_items: bool = False  # OCR the line-item rows of scans too (a text layer gives them anyway)
    trace: bool = False  # keep the words and regions the values were decided on (`Result.trace`)
    # Score the row shapes as one proposal, as for a read (None: when values are read). True with
    # values off: the proposals the reader would get, without reading (family-eval measures them).
    pool_rows: bool | None = None


@dataclass
class Result:
    """A read document: its pages with their detections, the values read, and what each stage cost."""

    model: LoadedModel
    kind: Kind
    pages: list[Page]
    conf: float  # the confidence threshold the detections passed
    timings_ms: dict[str, float] = field(default_factory=dict)
    values: dict[str, Any] | None = None  # fields, checks, needs_review, read (None: not read)
    trace: dict[str, Any] | None = None  # with Options.trace: {"words", "regions"} (read_invoice's input)

    @property
    def detection_count(self) -> int:
        """Detections over all pages (a metric)."""
        return sum(len(page.detections) for page in self.pages)


def read_document(
    data: bytes,
    model: LoadedModel,
    options: Options = Options(),
    *,
    kind: Kind | None = None,
    limits: Limits = Limits(),
    policy: ReadPolicy = ReadPolicy(),
) -> Result:
    """Detect, then (unless `options.values` is off) read and decide the document's values.

    `kind`: what the adapter found the bytes to be (None: by their content, a client's Content-Type
    being only a hint); `limits` and `policy`: the deployment's budgets and how it reads pages."""
    conf = limits.default_conf if options.conf is None else options.conf  # the one place it is resolved
    pool = options.values if options.pool_rows is None else options.pool_rows
    document = Document(
        data,
        kind or ("pdf" if is_pdf(data) else "image"),
        conf=conf,
        max_det=options.max_det,
        classes=options.classes,
        pools=same_shape_groups() if pool else (),
    )
    analysis = analyse(document, model, limits)
    result = Result(model, document.kind, analysis.pages, conf, analysis.timings_ms)
    if options.values:
        from invoice_core.read.pooling import name_rows  # noqa: PLC0415 - the read wing loads on first read
        from invoice_core.read.values import read_values  # noqa: PLC0415 - OCR's imports only when read

        started = time.perf_counter()
        result.trace = {} if options.trace else None
        read_policy = replace(policy, ocr_line_items=options.line_items)
        result.values = read_values(
            analysis, data, pdf_dpi=limits.pdf_dpi, policy=read_policy, trace=result.trace
        )
        result.pages = name_rows(analysis.pages, result.values["fields"], model.info.names, conf=conf)
        result.timings_ms["read"] = (time.perf_counter() - started) * 1000.0
    return result
