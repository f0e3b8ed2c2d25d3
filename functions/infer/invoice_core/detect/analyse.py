"""One document's detection: decode or render, letterbox, run, post-process, map boxes back; timed.

`invoice_core.front.read_document` is the door to it; `Document` says what to detect and how.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from invoice_core.detect.decode import DecodedImage, decode_image
from invoice_core.detect.model import LoadedModel
from invoice_core.detect.pdf import render_pdf
from invoice_core.detect.postprocess import Detections, pooled_ids, postprocess, resolve_classes
from invoice_core.detect.preprocess import prepare, unletterbox
from invoice_core.knobs import MAX_DET_LIMIT, Limits

STAGES = ("decode", "preprocess", "inference", "postprocess")

Kind = Literal["image", "pdf"]


@dataclass(frozen=True)
class Document:
    """What to analyse: the bytes, their kind, and the detection options."""

    data: bytes
    kind: Kind
    conf: float  # the threshold (resolved once, by invoice_core.front)
    max_det: int = MAX_DET_LIMIT
    classes: tuple[int | str, ...] | None = None  # ids or names to keep; None: all
    # Groups of class names scored as one proposal (the reader's row shapes, `invoice_core.read.pooling`);
    # empty: the detector's own classes and scores, as a detections-only answer reports them.
    pools: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Page:
    """One analysed image or PDF page; `detections` boxes are in decoded-image pixels."""

    image: DecodedImage
    detections: Detections


@dataclass
class Analysis:
    """One document's detections, page by page, and what each stage cost."""

    model: LoadedModel
    kind: str
    pages: list[Page]
    timings_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))


class _Clock:
    """Adds elapsed milliseconds to named stages."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.mark = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] += (now - self.mark) * 1000.0
        self.mark = now


def analyse(document: Document, model: LoadedModel, limits: Limits) -> Analysis:
    """Run the model on every page of the document."""
    started = time.perf_counter()
    info = model.info
    classes = resolve_classes(document.classes, info.names)  # refuse bad options before any decoding
    pooled = pooled_ids(document.pools, info.names, classes)
    analysis = Analysis(model=model, kind=document.kind, pages=[])
    clock = _Clock(analysis.timings_ms)
    if document.kind == "pdf":
        images = render_pdf(
            document.data,
            dpi=limits.pdf_dpi,
            max_pages=limits.pdf_max_pages,
            max_pixels=limits.max_pixels,
            max_side=limits.pdf_max_side(info.imgsz),
            budget=limits.pdf_render,
        )
    else:
        reduce_to = info.imgsz if limits.reduced_decode else None
        images = [decode_image(document.data, max_pixels=limits.max_pixels, reduce_to=reduce_to)]
    clock.lap("decode")
    for image in images:
        tensor, transform = prepare(image.bgr, info.imgsz)
        clock.lap("preprocess")
        output = model.run(tensor)
        clock.lap("inference")
        found = postprocess(
            output,
            end2end=info.end2end,
            conf=document.conf,
            iou=limits.nms_iou,
            max_det=document.max_det,
            classes=classes,
            pooled=pooled,
        )
        boxes = unletterbox(found.boxes, transform, image.bgr.shape[:2])
        inside = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])  # not wholly in the padding
        own = None if found.own_scores is None else found.own_scores[inside]
        page = Detections(boxes[inside], found.scores[inside], found.class_ids[inside], own_scores=own)
        analysis.pages.append(Page(image, page))
        clock.lap("postprocess")
    analysis.timings_ms["total"] = (time.perf_counter() - started) * 1000.0
    return analysis
