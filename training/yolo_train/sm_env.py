"""What the SageMaker training container provides, read once from the environment.

SageMaker mounts everything under `/opt/ml`: channels at `input/data/<channel>` (also in
`SM_CHANNEL_<NAME>`), hyperparameters in `input/config/hyperparameters.json`, the model dir
`model` (`SM_MODEL_DIR`, becomes model.tar.gz), `output/data` (`SM_OUTPUT_DATA_DIR`, becomes
output.tar.gz), `output/failure` (FailureReason) and, with CheckpointConfig, `checkpoints`
(synced to S3 while the job runs and restored on a Spot restart).

`YOLO_TRAIN_OPT_ML` moves that root (a local stand-in with the same layout); without an
`input/config` dir under it, the process is "local" and the flags' local defaults apply.
Pure module: no torch, no Ultralytics.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_OPT_ML = Path("/opt/ml")
LOCAL_ROOT = Path("artifacts") / "training"  # local defaults, relative to the working directory
LOCAL_DATA = Path("build") / "invoices"  # what `make dataset` writes


@dataclass(frozen=True)
class SageMakerEnv:
    """Locations and identity the platform gives the job (None where it gives nothing)."""

    on_sagemaker: bool
    opt_ml: Path
    training_channel: Path | None
    validation_channel: Path | None
    weights_channel: Path | None
    model_dir: Path | None
    output_data_dir: Path | None
    output_dir: Path | None
    checkpoint_dir: Path | None
    hyperparameters_file: Path | None
    job_name: str | None
    cpu_count: int

    def default_paths(self) -> dict[str, Path | None]:
        """Per-flag defaults: SageMaker's locations, or local ones under ./artifacts/training."""
        if self.on_sagemaker:
            return {
                "data": self.training_channel or self.opt_ml / "input" / "data" / "training",
                "validation": self.validation_channel,
                "weights_dir": self.weights_channel,
                "model_dir": self.model_dir or self.opt_ml / "model",
                "output_dir": self.output_data_dir or self.opt_ml / "output" / "data",
                "checkpoint_dir": self.checkpoint_dir,
                "hyperparameters_file": self.hyperparameters_file,
            }
        return {
            "data": self.training_channel or LOCAL_DATA,
            "validation": self.validation_channel,
            "weights_dir": self.weights_channel,
            "model_dir": self.model_dir or LOCAL_ROOT / "model",
            "output_dir": self.output_data_dir or LOCAL_ROOT / "output" / "data",
            "checkpoint_dir": LOCAL_ROOT / "checkpoints",
            "hyperparameters_file": None,
        }


def _path(environ: Mapping[str, str], key: str) -> Path | None:
    value = environ.get(key, "").strip()
    return Path(value) if value else None


def _job_name(environ: Mapping[str, str]) -> str | None:
    name = environ.get("TRAINING_JOB_NAME", "").strip()
    if name:
        return name
    try:
        training_env = json.loads(environ.get("SM_TRAINING_ENV", "") or "{}")
    except ValueError:
        return None
    value = training_env.get("job_name") if isinstance(training_env, dict) else None
    return str(value) if value else None


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours the container's CPU set
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def read(environ: Mapping[str, str] | None = None) -> SageMakerEnv:
    """Read the platform's environment (os.environ unless given)."""
    env = os.environ if environ is None else environ
    opt_ml = Path(env.get("YOLO_TRAIN_OPT_ML", "").strip() or DEFAULT_OPT_ML)
    on_sagemaker = (opt_ml / "input" / "config").is_dir()
    hp_file = opt_ml / "input" / "config" / "hyperparameters.json"
    checkpoints = opt_ml / "checkpoints"
    return SageMakerEnv(
        on_sagemaker=on_sagemaker,
        opt_ml=opt_ml,
        training_channel=_path(env, "SM_CHANNEL_TRAINING"),
        validation_channel=_path(env, "SM_CHANNEL_VALIDATION"),
        weights_channel=_path(env, "SM_CHANNEL_WEIGHTS"),
        model_dir=_path(env, "SM_MODEL_DIR"),
        output_data_dir=_path(env, "SM_OUTPUT_DATA_DIR"),
        output_dir=_path(env, "SM_OUTPUT_DIR") or (opt_ml / "output" if on_sagemaker else None),
        checkpoint_dir=checkpoints if on_sagemaker else None,
        hyperparameters_file=hp_file if on_sagemaker and hp_file.is_file() else None,
        job_name=_job_name(env),
        cpu_count=_cpu_count(),
    )
