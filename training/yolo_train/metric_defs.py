"""The log-line contract between the training job and SageMaker MetricDefinitions.

Pure module (no torch, no Ultralytics): the trigger Lambda imports `METRIC_DEFINITIONS` to create
training jobs, and `yolo_train.progress` imports the field names and formatters to write the lines,
so the regexes and the lines they parse cannot drift apart.

One line per epoch and one final line, both `key=value` separated by single spaces:

    epoch=3/50 box_loss=1.2340 cls_loss=2.1000 l1_loss=0.0412 precision=0.6100 recall=0.5500 \
mAP50=0.4100 mAP50-95=0.2200 lr=0.00123 epoch_time_s=5.10
    final epochs=50/50 precision=0.8100 recall=0.7700 mAP50=0.8000 mAP50-95=0.5500 version=v1

The third loss is whatever Ultralytics reports for the model: `l1_loss` for YOLO26 (DFL-free),
`dfl_loss` for YOLO11/YOLOv8. Both have a definition; SageMaker skips one that never matches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

EPOCH_TAG = "epoch"
FINAL_TAG = "final"
LOSS_KEYS: tuple[str, ...] = ("box_loss", "cls_loss", "dfl_loss", "l1_loss")
VAL_KEYS: tuple[str, ...] = ("precision", "recall", "mAP50", "mAP50-95")
EPOCH_EXTRA_KEYS: tuple[str, ...] = ("lr", "epoch_time_s")

# A number as Python formats it (fixed or exponent notation); SageMaker takes the first group.
NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
_KEY_OK = re.compile(r"^[A-Za-z0-9_-]+$")

# The anchors keep a regex on its own line kind: "epoch=3/50 " never occurs in a final line
# ("epochs=50/50"), and "mAP50=" never matches inside "mAP50-95=" (the next character differs).
_EPOCH_ANCHOR = rf"\b{EPOCH_TAG}=[0-9]+/[0-9]+ .*"
_FINAL_ANCHOR = rf"\b{FINAL_TAG} epochs=[0-9]+/[0-9]+ .*"


def _definition(name: str, anchor: str, key: str) -> dict[str, str]:
    if not _KEY_OK.match(key):  # keys go into regexes unescaped; keep them plain
        raise ValueError(f"metric key {key!r} must be letters, digits, '_' or '-'")
    return {"Name": name, "Regex": rf"{anchor}\b{key}={NUMBER}"}


METRIC_DEFINITIONS: list[dict[str, str]] = [
    {"Name": "train:epoch", "Regex": rf"\b{EPOCH_TAG}=([0-9]+)/[0-9]+ "},
    *(_definition(f"train:{key}", _EPOCH_ANCHOR, key) for key in LOSS_KEYS),
    *(_definition(f"val:{key}", _EPOCH_ANCHOR, key) for key in VAL_KEYS),
    *(_definition(f"train:{key}", _EPOCH_ANCHOR, key) for key in EPOCH_EXTRA_KEYS),
    *(_definition(f"final:{key}", _FINAL_ANCHOR, key) for key in VAL_KEYS),
]


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def format_epoch_line(
    *,
    epoch: int,
    epochs: int,
    losses: Mapping[str, float],
    val: Mapping[str, float],
    lr: float,
    epoch_time_s: float,
) -> str:
    """The per-epoch line (1-based `epoch`); losses keep the names the model reports."""
    parts = [f"{EPOCH_TAG}={epoch}/{epochs}"]
    parts += [f"{name}={_fmt(value, 4)}" for name, value in losses.items()]
    parts += [f"{key}={_fmt(val[key], 4)}" for key in VAL_KEYS]
    parts += [f"lr={lr:.6g}", f"epoch_time_s={_fmt(epoch_time_s, 2)}"]
    return " ".join(parts)


def format_final_line(*, epochs_done: int, epochs: int, val: Mapping[str, float], version: str) -> str:
    """The line written once the model artefacts exist."""
    parts = [f"{FINAL_TAG} epochs={epochs_done}/{epochs}"]
    parts += [f"{key}={_fmt(val[key], 4)}" for key in VAL_KEYS]
    parts.append(f"version={version}")
    return " ".join(parts)
