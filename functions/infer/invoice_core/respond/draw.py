"""Draw detections (and the values read) on the page and encode a JPEG (the `Accept: image/jpeg` answer)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from invoice_core.detect.postprocess import Detections

_PALETTE = (  # BGR, distinct on white paper
    (56, 56, 255), (151, 157, 255), (31, 112, 255), (29, 178, 255), (49, 210, 207),
    (10, 249, 72), (23, 204, 146), (134, 219, 61), (52, 147, 26), (187, 212, 0),
    (168, 153, 44), (255, 194, 0), (147, 69, 52), (255, 115, 100), (236, 24, 0),
)  # fmt: skip
_PAGE_GAP = 16
_OK, _FLAGGED, _WHITE = (
    (40, 120, 0),
    (0, 0, 215),
    (255, 255, 255),
)  # BGR: green for a value that passed, red for review
_MAX_TAG_CHARS = 40  # a value tag is a reminder of what was read; the JSON has the whole text


@dataclass(frozen=True)
class ValueTag:
    """A value read, drawn beside its box (xyxy in the page image's pixels, like the detections)."""

    box: tuple[float, float, float, float]
    text: str
    flagged: bool  # invalid check digit or in needs_review: red, with a "!" marker


def draw(bgr: np.ndarray, detections: Detections, names: Sequence[str]) -> np.ndarray:
    """A copy of `bgr` with boxes and `label 0.87` tags; line width follows the page size."""
    canvas = bgr.copy()
    thickness = max(1, round(max(canvas.shape[:2]) / 600))
    font_scale = thickness / 2.5
    for box, score, class_id in zip(detections.boxes, detections.scores, detections.class_ids, strict=True):
        colour = _PALETTE[int(class_id) % len(_PALETTE)]
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness, cv2.LINE_AA)
        tag = f"{names[int(class_id)]} {float(score):.2f}"
        (tw, th), base = cv2.getTextSize(tag, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        top = max(y1 - th - base - 2, 0)
        cv2.rectangle(canvas, (x1, top), (x1 + tw + 2, top + th + base + 2), colour, cv2.FILLED)
        origin = (x1 + 1, top + th + 1)
        cv2.putText(
            canvas, tag, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, (255, 255, 255), thickness, cv2.LINE_AA
        )
    return canvas


def draw_values(canvas: np.ndarray, tags: Sequence[ValueTag]) -> np.ndarray:
    """Each value beside its box, in place, in a smaller type than the detections' tags: right of
    the box, else under or over it, moved down past tags already drawn, always inside the page;
    red with a "!" marker when flagged."""
    height, width = canvas.shape[:2]
    line = max(1, round(max(height, width) / 600))  # the detections' line width (`draw`)
    font_scale, thickness = line / 3.5, max(1, line // 2)
    taken: list[tuple[int, int, int, int]] = []
    for tag in tags:
        colour = _FLAGGED if tag.flagged else _OK
        x1, y1, x2, y2 = (round(float(v)) for v in tag.box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness, cv2.LINE_AA)
        text = f"! {tag.text}" if tag.flagged else tag.text
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        w, h = tw + 4, th + base + 4
        left, top = _place((x1, y1, x2, y2), (w, h), (width, height), taken)
        taken.append((left, top, left + w, top + h))
        cv2.rectangle(canvas, (left, top), (left + w, top + h), colour, cv2.FILLED)
        origin = (left + 2, top + th + 2)
        cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, _WHITE, thickness)
    return canvas


def _place(
    box: tuple[int, int, int, int],
    size: tuple[int, int],
    page: tuple[int, int],
    taken: Sequence[tuple[int, int, int, int]],
) -> tuple[int, int]:
    """Top-left of a tag of `size` (w, h) near `box` on a `page` (width, height) overlapping no tag
    in `taken`: beside, under, over, then further down (every one taken: the first, clamped)."""
    (x1, y1, x2, y2), (w, h), (width, height) = box, size, page
    beside = [(x2 + 3, y1)] if x2 + 3 + w <= width else []
    rows = [y2 + 2, y1 - h - 2, *(y2 + 2 + k * (h + 1) for k in range(1, 8))]
    spots = beside + [(min(max(x1, 0), max(width - w, 0)), y) for y in rows]  # shifted left to fit
    for x, y in spots:
        inside = 0 <= y <= height - h
        if inside and not any(x < b[2] and b[0] < x + w and y < b[3] and b[1] < y + h for b in taken):
            return x, y
    x, y = spots[0]
    return x, min(max(y, 0), max(height - h, 0))


def value_tags(reading: Mapping[str, Any], scales: Sequence[tuple[float, float]]) -> list[list[ValueTag]]:
    """One list of tags per page from the reader's answer. Its boxes are in the reporting frame;
    `scales` (each page's reporting pixels per image pixel) bring them back to the image."""
    pages: list[list[ValueTag]] = [[] for _ in scales]
    review = set(reading.get("needs_review") or ())
    for name, spec in (reading.get("fields") or {}).items():
        page, box = spec.get("page"), spec.get("box")
        if not isinstance(page, int) or not 1 <= page <= len(scales) or not isinstance(box, Mapping):
            continue
        sx, sy = scales[page - 1]
        xyxy = (box["x1"] / sx, box["y1"] / sy, box["x2"] / sx, box["y2"] / sy)
        flagged = name in review or spec.get("valid") is False
        pages[page - 1].append(ValueTag(xyxy, f"{name}: {_shown(spec)}", flagged))
    return pages


def _shown(spec: Mapping[str, Any]) -> str:
    """The normalised value as Hershey fonts can draw it (ASCII: "Malmö" -> "Malmo")."""
    value = spec.get("value")
    if isinstance(value, list):  # line items
        text = f"{len(value)} rows"
    elif isinstance(value, float | int) and not isinstance(value, bool):
        text = f"{value:,.2f} {spec.get('currency') or ''}".strip()
    else:
        text = str(value)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TAG_CHARS else text[: _MAX_TAG_CHARS - 3] + "..."


def sheet(
    pages: Sequence[tuple[np.ndarray, Detections]],
    names: Sequence[str],
    *,
    max_side: int,
    quality: int,
    values: Sequence[Sequence[ValueTag]] | None = None,
) -> bytes:
    """Pages one under the other on white, boxes (and `values`, per page) drawn, as one JPEG at most
    `max_side` long.

    The output size is decided first from the page sizes; every page is scaled down to its share
    before it is drawn on, so no full-size copy of any page (or of the stack) ever exists. The values
    are drawn on that scaled page too: they never make the sheet larger.
    """
    heights = [bgr.shape[0] for bgr, _ in pages]
    widths = [bgr.shape[1] for bgr, _ in pages]
    gaps = _PAGE_GAP * (len(pages) - 1)
    ratio = min(1.0, max_side / max(widths), max_side / (sum(heights) + gaps))
    drawn = []
    for number, (bgr, detections) in enumerate(pages):
        small = scale(bgr, ratio)
        sx, sy = small.shape[1] / bgr.shape[1], small.shape[0] / bgr.shape[0]
        boxes = detections.boxes * np.array([sx, sy, sx, sy], dtype=np.float32)
        canvas = draw(small, Detections(boxes, detections.scores, detections.class_ids), names)
        if values and values[number]:
            tags = [
                ValueTag((t.box[0] * sx, t.box[1] * sy, t.box[2] * sx, t.box[3] * sy), t.text, t.flagged)
                for t in values[number]
            ]
            draw_values(canvas, tags)
        drawn.append(canvas)
    stacked = stack_pages(drawn, gap=max(1, round(_PAGE_GAP * ratio)))
    return encode_jpeg(fit(stacked, max_side), quality)  # fit: at most rounding's few pixels


def stack_pages(pages: Sequence[np.ndarray], *, gap: int = _PAGE_GAP) -> np.ndarray:
    """Pages one under the other on white, for a multi-page PDF answered as one JPEG."""
    if len(pages) == 1:
        return pages[0]
    width = max(page.shape[1] for page in pages)
    height = sum(page.shape[0] for page in pages) + gap * (len(pages) - 1)
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    y = 0
    for page in pages:
        out[y : y + page.shape[0], : page.shape[1]] = page
        y += page.shape[0] + gap
    return out


def scale(bgr: np.ndarray, ratio: float) -> np.ndarray:
    """Scale down by `ratio` (area averaging); the image itself when ratio >= 1."""
    if ratio >= 1.0:
        return bgr
    size = (max(1, round(bgr.shape[1] * ratio)), max(1, round(bgr.shape[0] * ratio)))
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)


def fit(bgr: np.ndarray, max_side: int) -> np.ndarray:
    """Scale down (area averaging) so the longer side is at most `max_side`."""
    return scale(bgr, max_side / max(bgr.shape[:2]))


def encode_jpeg(bgr: np.ndarray, quality: int) -> bytes:
    """JPEG bytes at `quality`."""
    ok, buffer = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV fails only on an empty image, which cannot reach here
        raise RuntimeError("JPEG encoding failed")
    return buffer.tobytes()
