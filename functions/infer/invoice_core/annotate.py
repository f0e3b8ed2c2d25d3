"""Draw detections on the page and encode a JPEG (the `Accept: image/jpeg` answer)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from invoice_core.postprocess import Detections

_PALETTE = (  # BGR, distinct on white paper
    (56, 56, 255), (151, 157, 255), (31, 112, 255), (29, 178, 255), (49, 210, 207),
    (10, 249, 72), (23, 204, 146), (134, 219, 61), (52, 147, 26), (187, 212, 0),
    (168, 153, 44), (255, 194, 0), (147, 69, 52), (255, 115, 100), (236, 24, 0),
)  # fmt: skip
_PAGE_GAP = 16


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


def sheet(
    pages: Sequence[tuple[np.ndarray, Detections]], names: Sequence[str], *, max_side: int, quality: int
) -> bytes:
    """Pages one under the other on white, boxes drawn, as one JPEG at most `max_side` long.

    The output size is decided first from the page sizes; every page is scaled down to its share
    before it is drawn on, so no full-size copy of any page (or of the stack) ever exists.
    """
    heights = [bgr.shape[0] for bgr, _ in pages]
    widths = [bgr.shape[1] for bgr, _ in pages]
    gaps = _PAGE_GAP * (len(pages) - 1)
    ratio = min(1.0, max_side / max(widths), max_side / (sum(heights) + gaps))
    drawn = []
    for bgr, detections in pages:
        small = scale(bgr, ratio)
        sx, sy = small.shape[1] / bgr.shape[1], small.shape[0] / bgr.shape[0]
        boxes = detections.boxes * np.array([sx, sy, sx, sy], dtype=np.float32)
        drawn.append(draw(small, Detections(boxes, detections.scores, detections.class_ids), names))
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
