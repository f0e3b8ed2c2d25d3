"""Ultralytics callbacks: one stable log line per epoch (parsed by SageMaker MetricDefinitions),
checkpoint bookkeeping, and the protected sections of the graceful stop.

The line format and its regexes live in `yolo_train.metric_defs`.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from yolo_train import metric_defs
from yolo_train.interrupt import GracefulStop

log = logging.getLogger(__name__)

# Ultralytics' validation metric keys for boxes -> our names.
VAL_METRIC_KEYS = {
    "precision": "metrics/precision(B)",
    "recall": "metrics/recall(B)",
    "mAP50": "metrics/mAP50(B)",
    "mAP50-95": "metrics/mAP50-95(B)",
}


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def epoch_line(trainer: Any) -> str:
    """The per-epoch line from a trainer at `on_fit_epoch_end`."""
    losses = {
        key.split("/", 1)[-1]: _number(value)
        for key, value in trainer.label_loss_items(trainer.tloss, prefix="train").items()
    }
    metrics = trainer.metrics or {}
    val = {name: _number(metrics.get(key)) for name, key in VAL_METRIC_KEYS.items()}
    lr_values = list((trainer.lr or {}).values())
    return metric_defs.format_epoch_line(
        epoch=trainer.epoch + 1,
        epochs=trainer.epochs,
        losses=losses,
        val=val,
        lr=_number(lr_values[0]) if lr_values else math.nan,
        epoch_time_s=_number(trainer.epoch_time),
    )


class Progress:
    """Per-run callback state; `attach()` registers it on a YOLO model before `train()`."""

    def __init__(self, stop: GracefulStop) -> None:
        self.stop = stop
        self.in_epoch = False
        self.last_saved_epoch: int | None = None  # 1-based epoch whose checkpoint is on disk
        self.epochs: int | None = None
        self.lines: list[str] = []

    def attach(self, model: Any) -> None:
        model.add_callback("on_pretrain_routine_start", self.on_pretrain_routine_start)
        model.add_callback("on_train_epoch_start", self.on_train_epoch_start)
        model.add_callback("on_model_save", self.on_model_save)
        model.add_callback("on_fit_epoch_end", self.on_fit_epoch_end)
        model.add_callback("on_train_end", self.on_train_end)

    def on_pretrain_routine_start(self, trainer: Any) -> None:
        # Ultralytics writes last.pt/best.pt in save_model(); a signal must not cut that write.
        trainer.save_model = self.stop.guard(trainer.save_model)

    def on_train_epoch_start(self, trainer: Any) -> None:
        self.in_epoch = True
        self.epochs = trainer.epochs

    def on_model_save(self, trainer: Any) -> None:
        self.last_saved_epoch = trainer.epoch + 1

    def on_fit_epoch_end(self, trainer: Any) -> None:
        if not self.in_epoch:
            return  # Ultralytics calls this once more from final_eval (best.pt); the final line covers it
        self.in_epoch = False
        line = epoch_line(trainer)
        self.lines.append(line)
        log.info(line)
        if trainer.stop:
            # The loop ends now; final_eval strips the optimizer from last.pt/best.pt in place.
            self.stop.hold()

    def on_train_end(self, _trainer: Any) -> None:
        self.stop.release()
