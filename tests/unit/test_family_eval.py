"""devkit.family_eval: what the reader gets per key class, counted from serving's detections."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from devkit import family_eval, synth
from devkit.synth import families
from devkit.synth.render import FieldBox
from invoice_core import front
from invoice_core.detect import model as model_module
from invoice_core.detect.analyse import Analysis, Page
from invoice_core.detect.decode import DecodedImage
from invoice_core.detect.postprocess import Detections

pytestmark = pytest.mark.unit

NAMES = ["invoice_number", "invoice_date", "due_date", "supplier", "total_amount", "payment_reference"]


def _dataset(root: Path, labels: str) -> Path:
    (root / "images" / "val").mkdir(parents=True)
    (root / "labels" / "val").mkdir(parents=True)
    cv2.imwrite(str(root / "images" / "val" / "p0.jpg"), np.full((200, 100, 3), 255, np.uint8))
    (root / "labels" / "val" / "p0.txt").write_text(labels)
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(NAMES))
    (root / "data.yaml").write_text(f"val: images/val\nnames:\n{names}\n")
    return root / "data.yaml"


def test_right_near_and_missed_are_told_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # True boxes on a 100x200 page (YOLO: class cx cy w h, normalised).
    data = _dataset(
        tmp_path,
        "0 0.5 0.1 0.8 0.1\n"  # invoice_number: y 10-30, x 10-90
        "1 0.5 0.3 0.8 0.1\n"  # invoice_date: y 50-70
        "2 0.5 0.5 0.8 0.1\n"  # due_date: y 90-110
        "3 0.5 0.9 0.8 0.1\n",  # supplier: not a key class, not counted
    )
    found = Detections(
        boxes=np.array([[10, 10, 90, 30], [10, 50, 90, 70]], dtype=np.float32),
        scores=np.array([0.9, 0.8], dtype=np.float32),
        class_ids=np.array([0, 2]),  # the number right; the invoice date's row proposed as due_date
    )
    fake = SimpleNamespace(info=SimpleNamespace(imgsz=(200, 100), end2end=False, names=tuple(NAMES)))
    asked: list[Any] = []

    def analyse(document: Any, model: Any, limits: Any) -> Analysis:  # the detector, stubbed
        asked.append(document)
        image = DecodedImage(np.zeros((200, 100, 3), np.uint8), 100, 200, "png")
        return Analysis(model=model, kind="image", pages=[Page(image, found)])

    monkeypatch.setattr(model_module, "load_model", lambda *a, **k: fake)
    monkeypatch.setattr(front, "analyse", analyse)

    counts: dict[str, Any] = family_eval.proposals(tmp_path / "model.onnx", data)

    assert asked[0].pools == (("invoice_date", "due_date"),)  # pooled, as serving's reader gets them

    assert counts["invoice_number"] == {"right": 1, "near": 0, "missed": 0}
    assert counts["invoice_date"] == {"right": 0, "near": 1, "missed": 0}  # the reader still reads it
    assert counts["due_date"] == {"right": 0, "near": 0, "missed": 1}
    assert counts["total_amount"] == {"right": 0, "near": 0, "missed": 0}  # not printed on the page
    assert "supplier" not in counts


def test_factors_hold_out_one_part_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each row draws its pages from the policies its name says; a detector that only finds the number
    on training header layouts scores 1.0 where the layout is trained and 0.0 where it is held out."""
    drawn: list[tuple[str, str]] = []

    def render(seed: int, *, policy: str, layout: str) -> SimpleNamespace:
        drawn.append((policy, layout))
        return SimpleNamespace(
            image=Image.new("RGB", (100, 200), "white"), boxes=[FieldBox(0, "invoice_number", 10, 10, 90, 30)]
        )

    def detect(model: Any, data: bytes, conf: float) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        assert data.startswith(b"\x89PNG")  # the drawn page, losslessly
        trained = families.HEADER_FAMILIES[drawn[-1][1]] == families.TRAIN
        box = [10, 10, 90, 30] if trained else [10, 100, 90, 120]
        return np.array([box], dtype=np.float32), np.array([0]), (100, 200)

    fake = SimpleNamespace(info=SimpleNamespace(names=tuple(NAMES)))
    monkeypatch.setattr(model_module, "load_model", lambda *a, **k: fake)
    monkeypatch.setattr(synth, "render_invoice", render)
    monkeypatch.setattr(family_eval, "_detect", detect)

    got = family_eval.factors(Path("model.onnx"), pages=4)

    assert {t: v["invoice_number"] for t, v in got.items()} == {
        "nothing held out": 1.0,
        "header layout held out": 0.0,
        "wording, fonts, payment held out": 1.0,
        "all held out": 0.0,
    }
    assert "invoice_date" not in got["all held out"]  # not printed on these pages: no share
    rows = [drawn[i : i + 4] for i in range(0, 16, 4)]
    assert {p for p, _ in rows[1]} == {"train"} and {families.HEADER_FAMILIES[lay] for _, lay in rows[1]} == {
        families.HELD_OUT
    }
    assert {p for p, _ in rows[2]} == {"held_out"} and {
        families.HEADER_FAMILIES[lay] for _, lay in rows[2]
    } == {families.TRAIN}
