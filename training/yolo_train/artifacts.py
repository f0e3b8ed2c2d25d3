"""Fill the model dir (model.tar.gz on SageMaker) from a trained run directory.

    best.pt        the best checkpoint (optimizer stripped)
    model.onnx     static input, metadata: names, imgsz [h, w], stride, end2end, version, model_name
    model.int8.onnx  the same detector statically quantised (QDQ INT8, calibrated on training pages),
                   metadata + precision=int8, version=<version>-int8; skipped with a log line if it fails
    metrics.json   mAP50, mAP50-95, precision, recall, per class, epochs, imgsz, version, ...
    results.csv    Ultralytics' per-epoch table
    plots/         the plots Ultralytics drew (PR/F1/P/R curves, confusion matrices, results.png, ...)

Metrics come from validating best.pt on the val split again, so a run that finished before an
interruption gets exactly the same artefacts as one that just finished.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import torch
from ultralytics import YOLO

from yolo_train import export, quantize
from yolo_train.dataset_check import DatasetReport
from yolo_train.runner import device_args, use_all_cores
from yolo_train.settings import Settings

log = logging.getLogger(__name__)

PLOT_SUFFIXES = (".png", ".jpg")
VAL_BATCH = 16


def _round(value: Any) -> float:
    return round(float(value), 6)


def _epochs_completed(results_csv: Path) -> int:
    if not results_csv.is_file():
        return 0
    with results_csv.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def _validate(settings: Settings, weights: Path, imgsz: int) -> Any:
    model = YOLO(str(weights))
    model.add_callback("on_val_start", use_all_cores(settings.cpu_count))
    per_device = device_args(settings, torch.cuda.is_available())
    return model.val(
        data=str(settings.paths.runtime_data_yaml),
        imgsz=imgsz,
        batch=per_device["batch"] if per_device["batch"] > 0 else VAL_BATCH,  # no AutoBatch for val
        device=per_device["device"],
        workers=per_device["workers"],
        plots=False,  # the run's final validation already drew them
        project=str(settings.paths.output_dir),
        name="val",
        exist_ok=True,
        verbose=False,
    )


def _metrics_dict(metrics: Any, names: dict[int, str]) -> dict[str, Any]:
    box = metrics.box
    counts = getattr(metrics, "nt_per_class", None)
    per_class: dict[str, dict[str, Any]] = {}
    for class_id, name in names.items():
        instances = int(counts[class_id]) if counts is not None and class_id < len(counts) else 0
        per_class[name] = {
            "instances": instances,
            "precision": None,
            "recall": None,
            "mAP50": None,
            "mAP50-95": None,
        }
    for i, class_id in enumerate(box.ap_class_index):
        name = names[int(class_id)]
        per_class[name].update(
            precision=_round(box.p[i]),
            recall=_round(box.r[i]),
            mAP50=_round(box.ap50[i]),
            **{"mAP50-95": _round(box.ap[i])},
        )
    return {
        "precision": _round(box.mp),
        "recall": _round(box.mr),
        "mAP50": _round(box.map50),
        "mAP50-95": _round(box.map),
        "per_class": per_class,
    }


def produce(settings: Settings, report: DatasetReport) -> dict[str, Any]:
    """Write every artefact into the model dir; return the metrics.json content."""
    run_dir, model_dir = settings.run_dir, settings.paths.model_dir
    weights_dir = run_dir / "weights"
    source = weights_dir / "best.pt" if (weights_dir / "best.pt").is_file() else weights_dir / "last.pt"
    model_dir.mkdir(parents=True, exist_ok=True)
    best = model_dir / "best.pt"
    shutil.copyfile(source, best)

    ckpt = torch.load(best, map_location="cpu", weights_only=False)
    train_args = ckpt.get("train_args") or {}
    imgsz = int(train_args.get("imgsz") or settings.train_args["imgsz"])
    stride = int(max(ckpt["model"].stride)) if ckpt.get("model") is not None else 32
    export_imgsz = settings.export_imgsz or export.export_size(imgsz, report.median_aspect, stride)

    metrics = _validate(settings, best, imgsz)
    onnx_info = export.export_onnx(
        best,
        model_dir / "model.onnx",
        export_imgsz,
        end2end=settings.end2end,
        opset=settings.opset,
        simplify=settings.simplify,
        metadata={"model_name": settings.model_name, "version": settings.model_version, "precision": "fp32"},
    )
    quantize.int8_path(onnx_info.path).unlink(missing_ok=True)  # never ship one from an earlier export
    int8_file = (
        quantize.write_beside(
            onnx_info.path, report.train_dirs, export_imgsz, method=settings.int8_calibration
        )
        if settings.int8
        else None
    )

    if (run_dir / "results.csv").is_file():
        shutil.copyfile(run_dir / "results.csv", model_dir / "results.csv")
    plots = model_dir / "plots"
    plots.mkdir(exist_ok=True)
    for image in sorted(run_dir.iterdir()):
        if image.suffix in PLOT_SUFFIXES:
            shutil.copyfile(image, plots / image.name)

    content = {
        "model_name": settings.model_name,
        "version": settings.model_version,
        "architecture": Path(str(getattr(ckpt.get("model"), "yaml", {}).get("yaml_file", ""))).stem or None,
        "epochs": int(train_args.get("epochs") or settings.train_args["epochs"]),
        "epochs_completed": _epochs_completed(run_dir / "results.csv"),
        "imgsz": imgsz,
        "export_imgsz": list(export_imgsz),
        "end2end": settings.end2end,
        **_metrics_dict(metrics, report.names),
        "names": report.names,
        "dataset": {
            "train_images": report.train.images,
            "train_boxes": report.train.boxes,
            "val_images": report.val.images,
            "val_boxes": report.val.boxes,
            "median_page_aspect": round(report.median_aspect, 4),
        },
        "onnx": {
            "file": onnx_info.path.name,
            "input_shape": onnx_info.input_shape,
            "output_shape": onnx_info.output_shape,
            "opset": onnx_info.opset,
            "int8_file": int8_file.name if int8_file else None,
        },
        "ultralytics_version": onnx_info.metadata.get("ultralytics_version"),
        "job_name": settings.job_name,
    }
    (model_dir / "metrics.json").write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    log.info("artefacts: %s", ", ".join(sorted(p.name for p in model_dir.iterdir())))
    return content
