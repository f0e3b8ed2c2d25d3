"""Judging a detector against labelled pages: Ultralytics' own validator in a fresh process, and the
box overlap the demo, family-eval and the INT8 bench count a field found by.

`python -m devkit.validation MODEL DATA [--batch N]` is the worker: it prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "build" / "validation"


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two xyxy boxes (0 when either has no area)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def validate(model: Path, data: Path, *, batch: int = 4, timeout_s: int = 3600) -> dict[str, Any]:
    """Ultralytics' validator on `model` (ONNX or .pt) and the dataset `data` (its YAML), in a fresh
    process (it patches PIL and cv2 at import): precision, recall, mAP50, mAP50-95 and per class."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "training")])}
    done = subprocess.run(
        [sys.executable, "-m", "devkit.validation", str(model), str(data), "--batch", str(batch)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"validation of {model} on {data} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _worker(model: str, data: str, batch: int) -> None:
    from yolo_train import offline  # noqa: PLC0415 - before Ultralytics

    offline.configure(os.environ.get("YOLO_CONFIG_DIR") or WORK / "ultralytics-config")
    from ultralytics import YOLO  # noqa: PLC0415

    offline.disable_sync()
    metrics = YOLO(model, task="detect").val(
        data=data,
        batch=batch,
        device="cpu",
        plots=False,
        verbose=False,
        project=str(WORK / "val"),
        name="run",
    )
    box = metrics.box
    per_class = {}
    for i, class_id in enumerate(box.ap_class_index):
        p, r, ap50, ap = box.class_result(i)
        per_class[metrics.names[int(class_id)]] = {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "mAP50": round(float(ap50), 4),
            "mAP50-95": round(float(ap), 4),
        }
    summary = {
        "precision": float(box.mp),
        "recall": float(box.mr),
        "mAP50": float(box.map50),
        "mAP50-95": float(box.map),
    }
    print(json.dumps({**summary, "per_class": per_class}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    _worker(args.model, args.data, args.batch)
