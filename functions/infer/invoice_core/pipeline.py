"""One document's work: decode or render, letterbox, run, post-process, map boxes back; timed.

No Lambda or HTTP here: `Document` and `Limits` are plain values that each adapter builds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from invoice_core.annotate import sheet, value_tags
from invoice_core.decode import DecodedImage, decode_image
from invoice_core.model import LoadedModel
from invoice_core.pdf import RenderBudget, render_pdf
from invoice_core.postprocess import SAME_SHAPE, Detections, pooled_ids, postprocess, resolve_classes
from invoice_core.preprocess import prepare, unletterbox

STAGES = ("decode", "preprocess", "inference", "postprocess")
MAX_DET_LIMIT = 300  # the end-to-end head emits 300 rows; Ultralytics' default max_det

Kind = Literal["image", "pdf"]


@dataclass(frozen=True)
class Document:
    """What to analyse: the bytes, their kind, and the detection options."""

    data: bytes
    kind: Kind
    conf: float | None = None  # None: Limits.default_conf
    max_det: int = MAX_DET_LIMIT
    classes: tuple[int | str, ...] | None = None  # ids or names to keep; None: all
    # The detections are proposals for the reader: SAME_SHAPE classes pooled. False: the detector's
    # own classes and scores, as a detections-only answer reports them.
    for_reading: bool = False


@dataclass(frozen=True)
class Limits:
    """Budgets and defaults of the deployment (the adapters build it from their settings)."""

    max_pixels: int = 50_000_000  # ONE budget per document: decoded or rendered pixels, all pages
    pdf_dpi: int = 150  # the frame boxes are reported in; pages are never rendered finer
    pdf_max_pages: int = 10
    # Pages are drawn with the long side at most this multiple of the model's input side (detection
    # needs no more; a 150-DPI A4 page is 2.7x a 640 input). 0: at pdf_dpi, for a reader (OCR)
    # that needs every pixel.
    pdf_render_multiple: float = 2.0
    pdf_render: RenderBudget = field(default_factory=RenderBudget)  # CPU, wall clock, memory of a render
    default_conf: float = 0.25
    nms_iou: float = 0.7
    reduced_decode: bool = False

    def pdf_max_side(self, imgsz: tuple[int, int]) -> int | None:
        """The long side, in pixels, pages are rendered at most (None: at pdf_dpi)."""
        return max(1, round(self.pdf_render_multiple * max(imgsz))) if self.pdf_render_multiple else None


@dataclass(frozen=True)
class Page:
    """One analysed image or PDF page; `detections` boxes are in decoded-image pixels."""

    image: DecodedImage
    detections: Detections


@dataclass
class Analysis:
    """Everything a response needs."""

    model: LoadedModel
    kind: str
    pages: list[Page]
    timings_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    reading: dict[str, Any] | None = None  # fields, checks, needs_review (invoice_core.extract)
    conf: float = 0.0  # the confidence threshold the detections passed

    @property
    def detection_count(self) -> int:
        """Detections over all pages (a metric)."""
        return sum(len(page.detections) for page in self.pages)


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
    conf = limits.default_conf if document.conf is None else document.conf
    pooled = pooled_ids(SAME_SHAPE, info.names, classes) if document.for_reading else ()
    analysis = Analysis(model=model, kind=document.kind, pages=[], conf=conf)
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
            conf=conf,
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


def to_json(analysis: Analysis, *, request_ms: float | None = None) -> dict[str, Any]:
    """The JSON answer: model, size(s), detections in original pixels and normalised, timings."""
    names = analysis.model.info.names
    pages = [_page_json(page, names) for page in analysis.pages]
    timings = {key: round(value, 2) for key, value in analysis.timings_ms.items()}
    if request_ms is not None:
        timings["request"] = round(request_ms, 2)  # including body parsing and S3 reads
    body: dict[str, Any] = {"model": analysis.model.info.describe()}
    if analysis.kind == "pdf":
        body["pages"] = [{"page": number, **page} for number, page in enumerate(pages, start=1)]
    else:
        body.update(pages[0])
    if analysis.reading is not None:
        body.update(
            {k: analysis.reading[k] for k in ("fields", "checks", "needs_review") if k in analysis.reading}
        )
        body["read"] = analysis.reading.get("read", {})
    body["timings_ms"] = timings
    return body


def to_jpeg(analysis: Analysis, *, quality: int, max_side: int) -> bytes:
    """The annotated page(s) as one JPEG, at most `max_side` pixels long (Lambda answers <= 6 MB):
    the detections and, when they were read, the field values beside their boxes.
    Each page is scaled to its share of that size before anything is drawn or stacked."""
    pages = [(page.image.bgr, page.detections) for page in analysis.pages]
    values = None
    if analysis.reading is not None:
        values = value_tags(analysis.reading, [page.image.scale for page in analysis.pages])
    return sheet(pages, analysis.model.info.names, max_side=max_side, quality=quality, values=values)


def _page_json(page: Page, names: tuple[str, ...]) -> dict[str, Any]:
    image = page.image
    sx, sy = image.scale
    boxes = page.detections.boxes * np.array([sx, sy, sx, sy], dtype=np.float32)
    norm = boxes / np.array([image.width, image.height, image.width, image.height], dtype=np.float32)
    found = page.detections
    proposed = found.class_ids if found.proposed_ids is None else found.proposed_ids
    own_scores = found.scores if found.own_scores is None else found.own_scores
    detections = []
    for box, box_n, score, class_id, own, own_score in zip(
        boxes, norm, found.scores, found.class_ids, proposed, own_scores, strict=True
    ):
        det: dict[str, Any] = {
            "label": names[int(class_id)],
            "class_id": int(class_id),
            "confidence": round(float(score), 4),
            "box": dict(zip(("x1", "y1", "x2", "y2"), (round(float(v), 1) for v in box), strict=True)),
            "box_norm": dict(zip(("x1", "y1", "x2", "y2"), (round(float(v), 5) for v in box_n), strict=True)),
        }
        if found.own_scores is not None and (own != class_id or own_score != score):
            # a pooled proposal the label words confirmed: what the detector itself said of it
            det["detector_label"] = names[int(own)]
            det["detector_confidence"] = round(float(own_score), 4)
        detections.append(det)
    return {
        "image": {"width": image.width, "height": image.height, "format": image.format},
        "detections": detections,
    }
