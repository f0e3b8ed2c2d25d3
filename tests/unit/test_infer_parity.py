"""Parity: the served detections match Ultralytics' own `predict` of the same model.

Same classes, boxes within 2 px, confidences within 0.01, on generated invoice JPEGs (A4 at
150 DPI). The model is the shipped one (`models/demo/best.pt` + `model.onnx`) when present,
else the untrained dev export with its `best.pt` (a weaker check: random weights, low conf).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import samples
from invoice_core.detect.model import load_model
from invoice_core.front import read_document
from invoice_core.respond.render import render_json
from serving.inputs import InferInput
from serving.schemas import InferOptions
from serving.settings import Settings

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("pillow_unpatched")]

SEEDS = (0, 1, 2)
BOX_PX = 2.0
CONF = 0.01


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("parity-pages")
    paths = []
    for seed in SEEDS:
        path = folder / f"invoice-{seed}.jpg"
        path.write_bytes(samples.encode(samples.invoice_page(seed=seed, dpi=150), "jpeg", quality=95))
        paths.append(path)
    return paths


def _iou(a: dict[str, float], b: dict[str, float]) -> float:
    ix = max(0.0, min(a["x2"], b["x2"]) - max(a["x1"], b["x1"]))
    iy = max(0.0, min(a["y2"], b["y2"]) - max(a["y1"], b["y1"]))
    inter = ix * iy
    union = (a["x2"] - a["x1"]) * (a["y2"] - a["y1"]) + (b["x2"] - b["x1"]) * (b["y2"] - b["y1"]) - inter
    return inter / union if union > 0 else 0.0


def _ultralytics(
    weights: Path, paths: list[Path], *, imgsz: tuple[int, int], conf: float, end2end: bool
) -> list[Any]:
    from yolo_train import offline  # noqa: PLC0415 - the reference, imported after the offline switch

    offline.configure()
    from ultralytics import YOLO  # noqa: PLC0415

    results = YOLO(str(weights)).predict(
        [str(p) for p in paths],
        imgsz=list(imgsz),
        conf=conf,
        iou=0.7,
        max_det=300,
        rect=False,  # the ONNX model has a static input: letterbox to it, as serving does
        nms=False if end2end else None,  # the head the ONNX export carries
        device="cpu",
        verbose=False,
    )
    out = []
    for result in results:
        boxes = result.boxes
        out.append(
            [
                {
                    "class_id": int(c),
                    "confidence": float(s),
                    "box": dict(zip(("x1", "y1", "x2", "y2"), map(float, b), strict=True)),
                }
                for b, s, c in zip(boxes.xyxy.numpy(), boxes.conf.numpy(), boxes.cls.numpy(), strict=True)
                if b[2] > b[0] and b[3] > b[1]  # serving drops area-less boxes (untrained models make them)
            ]
        )
    return out


def test_served_detections_match_ultralytics_predict(serving_model, pages):
    weights = serving_model.parent / "best.pt"
    if not weights.is_file():
        pytest.skip(f"no {weights} beside the ONNX model")
    model = load_model(serving_model, intra_op_threads=2)
    shipped = serving_model.parent.name == "demo"
    conf = 0.25 if shipped else 0.05
    settings = Settings()
    served = []
    for path in pages:
        request = InferInput(path.read_bytes(), "image", "body", InferOptions(conf=conf))
        options = request.core_options(read_default=False)  # the detector's own answer
        result = read_document(request.data, model, options, kind=request.kind, limits=settings.limits)
        served.append(render_json(result)["detections"])
    reference = _ultralytics(weights, pages, imgsz=model.info.imgsz, conf=conf, end2end=model.info.end2end)

    compared = 0
    for ours, theirs in zip(served, reference, strict=True):
        unmatched = list(ours)
        for det in sorted(theirs, key=lambda d: -d["confidence"]):
            candidates = [o for o in unmatched if o["class_id"] == det["class_id"]]
            best = max(candidates, key=lambda o: _iou(o["box"], det["box"]), default=None)
            if best is None or _iou(best["box"], det["box"]) < 0.5:
                assert det["confidence"] - conf <= CONF, f"served lacks {det}"  # only at the threshold
                continue
            unmatched.remove(best)
            diffs = [abs(best["box"][k] - det["box"][k]) for k in ("x1", "y1", "x2", "y2")]
            assert max(diffs) <= BOX_PX, (best, det)
            assert abs(best["confidence"] - det["confidence"]) <= CONF, (best, det)
            compared += 1
        for extra in unmatched:
            assert extra["confidence"] - conf <= CONF, f"Ultralytics lacks {extra}"
    assert compared > 0, "no detections to compare: the check would be empty"
    assert np.isfinite(compared)
