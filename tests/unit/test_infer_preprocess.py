"""Letterbox and NMS checked against Ultralytics' own implementations (the training contract).

Ultralytics is imported here only as the reference; the serving code never imports it.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from invoice_core.detect.postprocess import Detections, pooled_ids, postprocess, resolve_classes
from invoice_core.detect.preprocess import letterbox, prepare, to_tensor, unletterbox
from invoice_core.errors import InvalidOption
from invoice_core.respond import draw as annotate

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("pillow_unpatched")]

# (source height, width) x (model height, width): portrait, landscape, square, odd, tiny, thin.
SHAPES = [
    ((1754, 1240), (640, 480)),
    ((1240, 1754), (640, 480)),
    ((700, 700), (640, 480)),
    ((333, 517), (480, 640)),
    ((20, 13), (640, 480)),
    ((3000, 90), (640, 480)),
    ((1169, 827), (640, 640)),
]


@pytest.fixture(scope="module")
def ultralytics_refs():
    """Imported here, after the offline switch, and only for this module."""
    from yolo_train import offline  # noqa: PLC0415

    offline.configure()
    torch = pytest.importorskip("torch")
    from ultralytics.data.augment import LetterBox  # noqa: PLC0415
    from ultralytics.utils import nms, ops  # noqa: PLC0415

    return LetterBox, ops, nms, torch


def _image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize(("source", "model"), SHAPES)
def test_letterbox_equals_ultralytics(ultralytics_refs, source, model):
    letterbox_ref = ultralytics_refs[0](new_shape=model, auto=False, stride=32)
    image = _image(*source)
    ours, _ = letterbox(image, model)
    assert ours.shape == (*model, 3)
    assert np.array_equal(ours, letterbox_ref(image=image))


@pytest.mark.parametrize(("source", "model"), SHAPES)
def test_boxes_map_back_like_ultralytics_scale_boxes(ultralytics_refs, source, model):
    ops, torch = ultralytics_refs[1], ultralytics_refs[3]
    _, transform = letterbox(_image(*source), model)
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, min(model), (20, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + rng.uniform(1, 60, (20, 2)).astype(np.float32)], axis=1)
    ours = unletterbox(boxes, transform, source)
    theirs = ops.scale_boxes(model, torch.from_numpy(boxes.copy()), source).numpy()
    assert np.allclose(ours, theirs, atol=1e-3)


def test_letterbox_round_trip_recovers_source_boxes():
    source, model = (2339, 1654), (640, 480)
    _, transform = letterbox(_image(*source), model)
    boxes = np.array([[100, 200, 900, 260], [0, 0, 1654, 2339], [1500, 2300, 1650, 2338]], np.float32)
    forward = boxes.copy()
    forward[:, [0, 2]] = forward[:, [0, 2]] * transform.gain_x + transform.pad_x
    forward[:, [1, 3]] = forward[:, [1, 3]] * transform.gain_y + transform.pad_y
    assert np.allclose(unletterbox(forward, transform, source), boxes, atol=1e-2)


def test_tensor_is_rgb_nchw_unit_range():
    image = np.zeros((64, 48, 3), np.uint8)
    image[..., 0] = 255  # blue in BGR
    tensor = to_tensor(image)
    assert tensor.shape == (1, 3, 64, 48) and tensor.dtype == np.float32
    assert tensor[0, 2].min() == pytest.approx(1.0) and tensor[0, 0].max() == 0.0  # blue is channel 2 in RGB
    padded, _ = prepare(_image(100, 300), (640, 480))
    assert padded.shape == (1, 3, 640, 480) and padded.min() >= 0.0 and padded.max() <= 1.0


def _raw_predictions(nc: int, n: int, seed: int) -> np.ndarray:
    """A plausible raw head output [1, 4 + nc, n]: clustered boxes so NMS has work to do."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(50, 400, (12, 2))
    pick = rng.integers(0, len(centres), n)
    cxcy = centres[pick] + rng.normal(0, 4, (n, 2))
    wh = rng.uniform(20, 120, (12, 2))[pick] * rng.uniform(0.9, 1.1, (n, 2))
    scores = rng.uniform(0, 1, (n, nc)) ** 4
    return np.concatenate([cxcy, wh, scores], axis=1).T[None].astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("classes", [None, frozenset({1, 3})])
def test_nms_matches_ultralytics(ultralytics_refs, seed, classes):
    nms, torch = ultralytics_refs[2], ultralytics_refs[3]
    pred = _raw_predictions(nc=5, n=2000, seed=seed)
    ours = postprocess(pred, end2end=False, conf=0.25, iou=0.7, max_det=300, classes=classes)
    theirs = nms.non_max_suppression(
        torch.from_numpy(pred), 0.25, 0.7, sorted(classes) if classes else None, max_det=300
    )[0].numpy()
    assert len(ours) == len(theirs) > 0
    order = np.argsort(-theirs[:, 4], kind="stable")
    assert np.allclose(ours.boxes, theirs[order, :4], atol=1e-3)
    assert np.allclose(ours.scores, theirs[order, 4], atol=1e-6)
    assert np.array_equal(ours.class_ids, theirs[order, 5].astype(np.int64))


def test_end_to_end_head_filters_and_caps():
    rows = np.array(
        [
            [10, 10, 50, 50, 0.9, 2],
            [20, 20, 60, 80, 0.8, 1],
            [30, 30, 30, 90, 0.7, 1],  # no width: dropped
            [40, 40, 90, 95, 0.3, 2],
            [40, 40, 90, 95, 0.1, 2],  # under conf
        ],
        np.float32,
    )[None]
    found = postprocess(rows, end2end=True, conf=0.25, iou=0.7, max_det=300)
    assert found.scores.tolist() == pytest.approx([0.9, 0.8, 0.3])
    only_two = postprocess(rows, end2end=True, conf=0.25, iou=0.7, max_det=300, classes=frozenset({2}))
    assert only_two.class_ids.tolist() == [2, 2]
    assert len(postprocess(rows, end2end=True, conf=0.25, iou=0.7, max_det=1)) == 1


def test_raw_head_drops_boxes_without_area():
    pred = np.zeros((1, 6, 3), np.float32)
    pred[0, :, 0] = [100, 100, 50, 40, 0.9, 0.1]
    pred[0, :, 1] = [300, 300, 0, 40, 0.95, 0.1]  # zero width
    pred[0, :, 2] = [300, 100, 50, -3, 0.1, 0.97]  # negative height
    found = postprocess(pred, end2end=False, conf=0.25, iou=0.7, max_det=300)
    assert len(found) == 1 and found.boxes[0].tolist() == pytest.approx([75, 80, 125, 120])


def test_classes_resolve_from_ids_and_names():
    names = ("invoice_number", "invoice_date", "total_amount")
    assert resolve_classes(None, names) is None
    assert resolve_classes(["total_amount", 0, "1"], names) == frozenset({0, 1, 2})
    with pytest.raises(InvalidOption, match="unknown class 'vat'"):
        resolve_classes(["vat"], names)
    with pytest.raises(InvalidOption, match="id 3"):
        resolve_classes([3], names)


@pytest.mark.parametrize(
    "item", ["\u00b2", "\u0663", "1\u00b2", "\uff11"]
)  # ², Arabic-Indic 3, 1², fullwidth 1
def test_non_ascii_digits_are_names_not_ids(item):
    with pytest.raises(InvalidOption, match="unknown class"):
        resolve_classes([item], ("a", "b", "c", "d"))


# --- the annotated answer: bounded before anything is drawn


def test_annotated_sheet_scales_pages_before_drawing_and_stays_within_max_side(monkeypatch):
    pages = []
    for _ in range(10):
        bgr = np.full((2000, 1400, 3), 255, np.uint8)
        boxes = np.array([[100, 200, 700, 400]], np.float32)
        pages.append((bgr, Detections(boxes, np.array([0.9], np.float32), np.array([1]))))
    drawn: list[tuple[tuple[int, ...], np.ndarray]] = []
    real_draw = annotate.draw

    def spy(bgr, detections, names):
        drawn.append((bgr.shape, detections.boxes.copy()))
        return real_draw(bgr, detections, names)

    monkeypatch.setattr(annotate, "draw", spy)
    jpeg = annotate.sheet(pages, ("a", "b"), max_side=1024, quality=80)
    picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert max(picture.shape[:2]) <= 1024
    assert len(drawn) == 10
    for shape, boxes in drawn:  # each page drawn at its share, ~1/20 of its size, never full size
        assert shape[0] <= 1024 // 10 + 1 and shape[0] < 2000
        ratio = shape[0] / 2000
        assert boxes[0] == pytest.approx(np.array([100, 200, 700, 400]) * ratio, rel=0.05)


def test_a_single_page_within_max_side_is_drawn_at_full_size():
    bgr = np.full((300, 200, 3), 255, np.uint8)
    detections = Detections(
        np.array([[10, 10, 100, 100]], np.float32), np.array([0.9], np.float32), np.array([0])
    )
    picture = cv2.imdecode(
        np.frombuffer(annotate.sheet([(bgr, detections)], ("a",), max_side=4096, quality=90), np.uint8),
        cv2.IMREAD_COLOR,
    )
    assert picture.shape == (300, 200, 3)
    assert picture[10:12, 10:100].min() < 200  # the box's top edge is drawn


def _anchors(*columns: list[float]) -> np.ndarray:
    """A raw head output [1, 4 + nc, n] from per-anchor columns (cx, cy, w, h, scores...)."""
    return np.array(columns, np.float32).T[None]


def test_pooled_classes_propose_a_row_neither_class_alone_would():
    # classes 1 and 2 are one row shape (the two dates): 0.17 and 0.15 alone are under 0.25
    pred = _anchors([100, 100, 80, 20, 0.0, 0.17, 0.15], [100, 300, 80, 20, 0.6, 0.1, 0.0])
    alone = postprocess(pred, end2end=False, conf=0.25, iou=0.7, max_det=300)
    assert alone.class_ids.tolist() == [0] and alone.own_scores is None
    pooled = postprocess(pred, end2end=False, conf=0.25, iou=0.7, max_det=300, pooled=(frozenset({1, 2}),))
    assert pooled.class_ids.tolist() == [0, 1]  # labelled with the member that scores best there
    assert pooled.scores.tolist() == pytest.approx([0.6, 1 - 0.83 * 0.85])  # noisy-or: 0.2945
    assert pooled.own_scores.tolist() == pytest.approx([0.6, 0.17])  # what the detector said alone


def test_a_pooled_group_is_one_class_for_nms():
    # the same row scored as each date by two anchors: pooled, one proposal survives, not two
    pred = _anchors([100, 100, 80, 20, 0.0, 0.5, 0.1], [101, 100, 80, 20, 0.0, 0.1, 0.45])
    apart = postprocess(pred, end2end=False, conf=0.25, iou=0.7, max_det=300)
    assert sorted(apart.class_ids.tolist()) == [1, 2]
    pooled = postprocess(pred, end2end=False, conf=0.25, iou=0.7, max_det=300, pooled=(frozenset({1, 2}),))
    assert pooled.class_ids.tolist() == [1] and pooled.scores[0] == pytest.approx(1 - 0.5 * 0.9)


def test_a_pool_does_not_outvote_a_class_the_detector_preferred():
    # 0.28 as class 0 against dates of 0.26 and 0.1 (pooled 0.334): still class 0, at 0.28
    pred = _anchors([100, 100, 80, 20, 0.28, 0.26, 0.1])
    found = postprocess(pred, end2end=False, conf=0.25, iou=0.7, max_det=300, pooled=(frozenset({1, 2}),))
    assert found.class_ids.tolist() == [0] and found.scores.tolist() == pytest.approx([0.28])
    assert found.own_scores.tolist() == pytest.approx([0.28])


def test_pooled_ids_follow_the_model_and_the_requested_classes():
    names = ("invoice_number", "invoice_date", "due_date")
    groups = (("invoice_date", "due_date"),)
    assert pooled_ids(groups, names) == (frozenset({1, 2}),)
    assert pooled_ids(groups, names, frozenset({1})) == ()  # one date asked for: nothing to pool
    assert pooled_ids(groups, ("supplier", "invoice_date")) == ()  # a model without both dates
