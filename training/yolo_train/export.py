"""ONNX export: static input size from the page aspect, head choice, and the serving metadata.

Ultralytics writes `names`, `imgsz` ([h, w]), `stride`, `task`, `end2end`, `args`, ... into the
ONNX metadata. We add `model_name` and `version` (the model version; Ultralytics' own `version`,
its package version, moves to `ultralytics_version`) with the onnx package.

Heads (YOLO26): `end2end=False` exports the raw head `[1, 4+nc, N]` (serving runs NMS);
`end2end=True` exports the one-to-one head `[1, 300, 6]` (x1, y1, x2, y2, score, class), no NMS.

Ultralytics is imported inside the functions so `export_size` stays importable without torch.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OnnxInfo:
    path: Path
    input_shape: list[int]
    output_shape: list[Any]
    metadata: dict[str, str]
    opset: int


def export_size(train_imgsz: int, median_aspect: float, stride: int = 32) -> tuple[int, int]:
    """(height, width): the training size on the long side, the median page aspect on the other,
    rounded up to a multiple of the stride. Portrait A4 (297/210) at 640 -> (640, 480)."""
    if median_aspect >= 1:  # portrait: height is the long side
        return train_imgsz, _round_up(train_imgsz / median_aspect, stride, train_imgsz)
    return _round_up(train_imgsz * median_aspect, stride, train_imgsz), train_imgsz


def _round_up(value: float, stride: int, cap: int) -> int:
    return min(cap, max(stride, math.ceil(value / stride - 1e-9) * stride))


def add_metadata(path: Path, extra: dict[str, str]) -> dict[str, str]:
    """Merge `extra` into the model's metadata_props (Ultralytics' `version` -> `ultralytics_version`)."""
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    if "version" in props and "ultralytics_version" not in props:
        props["ultralytics_version"] = props["version"]
    props.update(extra)
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return props


def export_onnx(
    weights: Path,
    target: Path,
    imgsz: tuple[int, int],
    *,
    end2end: bool,
    opset: int | None,
    simplify: bool,
    metadata: dict[str, str],
) -> OnnxInfo:
    """Export `weights` to `target` with a static [1, 3, h, w] input; add `metadata`; verify it loads."""
    import onnxruntime as ort  # noqa: PLC0415 - heavy, only needed here
    from ultralytics import YOLO  # noqa: PLC0415 - after offline.configure()

    exported = YOLO(str(weights)).export(
        format="onnx",
        imgsz=list(imgsz),
        nms=False if end2end else None,  # False: the NMS-free one-to-one head; None: the raw head
        opset=opset,
        simplify=simplify,
        dynamic=False,
        batch=1,
        device="cpu",
    )
    Path(exported).replace(target)
    props = add_metadata(target, metadata)
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    opset_used = next(
        (o.version for o in onnx.load(str(target)).opset_import if o.domain in {"", "ai.onnx"}), 0
    )
    info = OnnxInfo(
        path=target,
        input_shape=list(session.get_inputs()[0].shape),
        output_shape=list(session.get_outputs()[0].shape),
        metadata=props,
        opset=opset_used,
    )
    log.info(
        "export: %s input=%s output=%s opset=%d", target, info.input_shape, info.output_shape, info.opset
    )
    return info
