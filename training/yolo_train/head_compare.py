"""Measure the two ONNX heads of one trained model on its val split (the --end2end decision).

    python -m yolo_train.head_compare --weights best.pt --data DATASET_DIR [--export-imgsz H,W]

Exports the raw head ([1, 4+nc, N], NMS at serving) and the end-to-end head ([1, 300, 6]) with
the same static input, validates each ONNX file with Ultralytics (ONNX Runtime, CPU) on the val
split, and prints one JSON object per head: mAP50, mAP50-95, precision, recall, ms per image.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from yolo_train import dataset_check, export, hyperparams, offline


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m yolo_train.head_compare", allow_abbrev=False)
    parser.add_argument("--weights", type=Path, required=True, help="trained best.pt")
    parser.add_argument("--data", type=Path, required=True, help="dataset dir (data.yaml) or the yaml")
    parser.add_argument("--export-imgsz", default="auto", help="'H,W' or auto (median page aspect)")
    parser.add_argument("--out", type=Path, default=None, help="keep the ONNX files here")
    return parser.parse_args(argv)


def compare(
    weights: Path, data: Path, export_imgsz: str = "auto", out: Path | None = None
) -> list[dict[str, Any]]:
    """Export and validate both heads; return one result dict per head."""
    offline.configure()
    import torch  # noqa: PLC0415 - after offline.configure()
    from ultralytics import YOLO  # noqa: PLC0415

    offline.disable_sync()
    data_yaml = data / "data.yaml" if data.is_dir() else data
    report = dataset_check.check(data_yaml)
    out = out or Path(tempfile.mkdtemp(prefix="head-compare-"))
    runtime_yaml = dataset_check.write_runtime_yaml(report, out / "data.yaml")
    ckpt = torch.load(weights, map_location="cpu", weights_only=False)
    imgsz = int(ckpt["train_args"]["imgsz"])
    size = hyperparams.BY_NAME["export_imgsz"].coerce(export_imgsz) or export.export_size(
        imgsz, report.median_aspect
    )
    results = []
    for end2end in (False, True):
        target = out / ("model-end2end.onnx" if end2end else "model-raw.onnx")
        info = export.export_onnx(
            weights, target, size, end2end=end2end, opset=None, simplify=True, metadata={"version": "compare"}
        )
        metrics = YOLO(str(target), task="detect").val(
            data=str(runtime_yaml),
            imgsz=list(size),
            batch=1,
            device="cpu",
            plots=False,
            verbose=False,
            project=str(out),
            name=target.stem,
            exist_ok=True,
        )
        results.append(
            {
                "head": "end2end" if end2end else "raw+nms",
                "output_shape": info.output_shape,
                "imgsz": list(size),
                "mAP50": round(float(metrics.box.map50), 4),
                "mAP50-95": round(float(metrics.box.map), 4),
                "precision": round(float(metrics.box.mp), 4),
                "recall": round(float(metrics.box.mr), 4),
                "ms_per_image": {k: round(float(v), 2) for k, v in metrics.speed.items()},
                "val_images": report.val.images,
            }
        )
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    for row in compare(args.weights, args.data, args.export_imgsz, args.out):
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
