"""Model output -> detections in the model's input pixels (xyxy, score, class).

Two heads, chosen by the model's metadata:
- raw `[1, 4 + nc, N]` (cx, cy, w, h, class scores): best class per anchor, confidence filter,
  then class-aware NMS with OpenCV's `NMSBoxesBatched` (IoU 0.7, as Ultralytics' predict);
- end-to-end `[1, 300, 6]` (x1, y1, x2, y2, score, class), already de-duplicated and sorted.

Pooled classes (raw head only): when the detections are proposals for the reader, classes that only
their label words tell apart (the two dates: one-line key-value rows of the same shape) are scored
as one proposal where one of them is an anchor's best class: the noisy-or of their scores (the
chance that at least one is right, the members being independent sigmoids), labelled with that
best member and de-duplicated as one class. The reader's words then decide which it is
(`invoice_core.read.values`). The end-to-end head keeps one class per row, so there is nothing to pool.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from invoice_core.errors import InvalidOption

MAX_NMS_CANDIDATES = 30000  # Ultralytics' max_nms: bounds NMS time on a pathological output


@dataclass(frozen=True)
class Detections:
    """Parallel arrays, best first."""

    boxes: np.ndarray  # K x 4 float32 xyxy
    scores: np.ndarray  # K float32
    class_ids: np.ndarray  # K int64
    # Where classes were pooled: each detection's own score for its class (None: nothing pooled)
    own_scores: np.ndarray | None = None
    # The detector's own classes, set by the reader once its words named the pooled proposals
    proposed_ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.scores)


def resolve_classes(requested: Iterable[int | str] | None, names: Sequence[str]) -> frozenset[int] | None:
    """Class ids from ids or names; an unknown one is an option error, not an empty result."""
    if requested is None:
        return None
    ids: set[int] = set()
    for item in requested:
        # ASCII digits only: str.isdigit() is also true of "²" and "٣", which int() refuses or reads.
        if isinstance(item, int) or (isinstance(item, str) and item.isascii() and item.isdigit()):
            class_id = int(item)
            if not 0 <= class_id < len(names):
                raise InvalidOption(f"classes: id {class_id} is not in 0..{len(names) - 1}")
            ids.add(class_id)
        elif item in names:
            ids.add(names.index(item))
        else:
            raise InvalidOption(f"classes: unknown class {item!r}; known: {', '.join(names)}")
    return frozenset(ids)


def postprocess(
    output: np.ndarray,
    *,
    end2end: bool,
    conf: float,
    iou: float,
    max_det: int,
    classes: frozenset[int] | None = None,
    pooled: Sequence[frozenset[int]] = (),
) -> Detections:
    """Dispatch on the head type; `pooled`: groups of class ids scored as one proposal (raw head)."""
    if end2end:
        return _end2end(output[0], conf=conf, max_det=max_det, classes=classes)
    return _raw(output[0], conf=conf, iou=iou, max_det=max_det, classes=classes, pooled=pooled)


def pooled_ids(
    groups: Iterable[Iterable[str]], names: Sequence[str], classes: frozenset[int] | None = None
) -> tuple[frozenset[int], ...]:
    """Class-name groups -> id groups of this model, each cut to the requested `classes`; a group
    with fewer than two of them left (a model without those classes) pools nothing."""
    out = []
    for group in groups:
        ids = frozenset(names.index(n) for n in group if n in names)
        if classes is not None:
            ids &= classes
        if len(ids) > 1:
            out.append(ids)
    return tuple(out)


def _end2end(rows: np.ndarray, *, conf: float, max_det: int, classes: frozenset[int] | None) -> Detections:
    keep = (rows[:, 4] > conf) & (rows[:, 2] > rows[:, 0]) & (rows[:, 3] > rows[:, 1])  # no empty boxes
    if classes is not None:
        keep &= np.isin(rows[:, 5].astype(np.int64), list(classes))
    rows = rows[keep][:max_det]
    return Detections(
        rows[:, :4].astype(np.float32), rows[:, 4].astype(np.float32), rows[:, 5].astype(np.int64)
    )


def _raw(
    pred: np.ndarray,
    *,
    conf: float,
    iou: float,
    max_det: int,
    classes: frozenset[int] | None,
    pooled: Sequence[frozenset[int]] = (),
) -> Detections:
    scores_all = pred[4:]  # nc x N
    class_ids = scores_all.argmax(axis=0)
    scores = scores_all[class_ids, np.arange(scores_all.shape[1])]
    nms_ids = class_ids  # de-duplicated per class, a pooled group as one
    if pooled:
        scores, nms_ids = _pool(scores_all, scores, class_ids, pooled)
    keep = (scores > conf) & (pred[2] > 0) & (pred[3] > 0)  # a box with no area is not a detection
    if classes is not None:
        keep &= np.isin(class_ids, list(classes))
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return _empty()
    if idx.size > MAX_NMS_CANDIDATES:
        idx = idx[np.argsort(-scores[idx], kind="stable")[:MAX_NMS_CANDIDATES]]
    cx, cy, w, h = pred[0, idx], pred[1, idx], pred[2, idx], pred[3, idx]
    xywh = np.stack([cx - w / 2, cy - h / 2, w, h], axis=1).astype(np.float32)
    kept = cv2.dnn.NMSBoxesBatched(
        xywh, scores[idx].astype(np.float32), nms_ids[idx].astype(np.int32), conf, iou
    )
    kept = np.asarray(kept, dtype=np.int64).reshape(-1)
    if kept.size == 0:
        return _empty()
    kept = kept[np.argsort(-scores[idx][kept], kind="stable")][:max_det]
    boxes = xywh[kept].copy()
    boxes[:, 2] += boxes[:, 0]
    boxes[:, 3] += boxes[:, 1]
    picked = class_ids[idx][kept].astype(np.int64)
    own = None
    if pooled:
        own = scores_all[picked, idx[kept]].astype(np.float32)
    return Detections(boxes, scores[idx][kept].astype(np.float32), picked, own_scores=own)


def _pool(
    scores_all: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, pooled: Sequence[frozenset[int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Per anchor whose best class is in a group: the group's noisy-or as its score, and the group's
    lowest id as the class NMS sees. An anchor whose best class is another keeps its class and score
    (a pool never outvotes a class the detector preferred)."""
    scores, nms_ids = scores.copy(), class_ids.copy()
    for group in pooled:
        members = np.array(sorted(group), dtype=np.int64)
        either = 1.0 - np.prod(1.0 - scores_all[members].astype(np.float64), axis=0)
        wins = np.isin(class_ids, members)
        scores[wins] = either[wins].astype(scores.dtype)
        nms_ids[wins] = members[0]
    return scores, nms_ids


def _empty() -> Detections:
    return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
