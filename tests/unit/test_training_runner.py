"""What a (re)start does with the run directory it finds, and the per-device defaults."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from yolo_train import runner, settings

pytestmark = pytest.mark.unit


def _checkpoint(path: Path, *, epoch: int, optimizer: object, epochs: int = 5) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": epoch, "optimizer": optimizer, "train_args": {"epochs": epochs}}, path)
    return path


def test_run_state_logic_does_not_import_ultralytics() -> None:
    # Ultralytics patches PIL and cv2 process-wide on import; the serving tests share this process.
    code = "import sys, yolo_train.runner; print('ultralytics' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_no_checkpoint_is_a_fresh_run(tmp_path: Path) -> None:
    assert runner.inspect_run(tmp_path / "last.pt").kind is runner.RunKind.FRESH


def test_mid_run_checkpoint_resumes_at_the_next_epoch(tmp_path: Path) -> None:
    state = runner.inspect_run(_checkpoint(tmp_path / "last.pt", epoch=1, optimizer={"state": {}}))
    assert (state.kind, state.epochs_done, state.epochs) == (runner.RunKind.RESUME, 2, 5)


def test_stripped_checkpoint_is_a_finished_run(tmp_path: Path) -> None:
    state = runner.inspect_run(_checkpoint(tmp_path / "last.pt", epoch=-1, optimizer=None))
    assert state.kind is runner.RunKind.FINISHED


def test_last_planned_epoch_saved_but_not_stripped_is_finished(tmp_path: Path) -> None:
    # A stop between the last save and Ultralytics' final strip: resuming would assert in Ultralytics.
    state = runner.inspect_run(_checkpoint(tmp_path / "last.pt", epoch=4, optimizer={"state": {}}))
    assert state.kind is runner.RunKind.FINISHED


def test_truncated_checkpoint_is_corrupt(tmp_path: Path) -> None:
    path = _checkpoint(tmp_path / "last.pt", epoch=1, optimizer={"state": {}})
    path.write_bytes(path.read_bytes()[:40])
    assert runner.inspect_run(path).kind is runner.RunKind.CORRUPT


def _settings(tmp_path: Path, *argv: str) -> settings.Settings:
    return settings.build(list(argv), {"YOLO_TRAIN_OPT_ML": str(tmp_path / "local")})


def test_device_defaults_cpu(tmp_path: Path) -> None:
    args = runner.device_args(_settings(tmp_path), cuda=False)
    assert args == {"device": "cpu", "batch": runner.CPU_BATCH, "workers": 0}


def test_device_defaults_cuda(tmp_path: Path) -> None:
    built = _settings(tmp_path)
    args = runner.device_args(built, cuda=True)
    assert args == {"device": "0", "batch": runner.CUDA_BATCH, "workers": min(8, built.cpu_count)}


def test_explicit_device_values_win(tmp_path: Path) -> None:
    args = runner.device_args(
        _settings(tmp_path, "--batch", "8", "--workers", "2", "--device", "cpu"), cuda=True
    )
    assert args == {"device": "cpu", "batch": 8, "workers": 2}


def test_fresh_run_source(tmp_path: Path) -> None:
    assert runner.fresh_source(_settings(tmp_path)) == ("yolo26n.yaml", False)  # from scratch, no download
    weights = tmp_path / "base.pt"
    weights.write_bytes(b"checkpoint")
    assert runner.fresh_source(_settings(tmp_path, "--weights", str(weights))) == (str(weights), True)
    named = _settings(tmp_path, "--model", "yolo26s.pt", "--allow-downloads", "true")
    assert runner.fresh_source(named) == ("yolo26s.pt", True)
