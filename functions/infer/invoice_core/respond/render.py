"""A read document -> the wire format: the JSON answer and the annotated JPEG."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from invoice_core.respond.draw import sheet, value_tags

if TYPE_CHECKING:
    from invoice_core.detect.analyse import Page
    from invoice_core.front import Result


def render_json(result: Result, *, request_ms: float | None = None) -> dict[str, Any]:
    """The JSON answer: model, size(s), detections in original pixels and normalised, timings."""
    names = result.model.info.names
    pages = [_page_json(page, names) for page in result.pages]
    timings = {key: round(value, 2) for key, value in result.timings_ms.items()}
    if request_ms is not None:
        timings["request"] = round(request_ms, 2)  # including body parsing and S3 reads
    body: dict[str, Any] = {"model": result.model.info.describe()}
    if result.kind == "pdf":
        body["pages"] = [{"page": number, **page} for number, page in enumerate(pages, start=1)]
    else:
        body.update(pages[0])
    if result.values is not None:
        body.update({k: result.values[k] for k in ("fields", "checks", "needs_review") if k in result.values})
        body["read"] = result.values.get("read", {})
    body["timings_ms"] = timings
    return body


def render_jpeg(result: Result, *, quality: int, max_side: int) -> bytes:
    """The annotated page(s) as one JPEG, at most `max_side` pixels long (Lambda answers <= 6 MB):
    the detections and, when they were read, the field values beside their boxes.
    Each page is scaled to its share of that size before anything is drawn or stacked."""
    pages = [(page.image.bgr, page.detections) for page in result.pages]
    values = None
    if result.values is not None:
        values = value_tags(result.values, [page.image.scale for page in result.pages])
    return sheet(pages, result.model.info.names, max_side=max_side, quality=quality, values=values)


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
