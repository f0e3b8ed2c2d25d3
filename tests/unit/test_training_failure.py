"""The one error path: a readable capped message, the FailureReason file, the exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from yolo_train import failure, main
from yolo_train.errors import DatasetError, Problem

pytestmark = pytest.mark.unit


def test_message_counts_everything_and_lists_a_capped_sample() -> None:
    problems = [Problem("missing_label", f"img{i}.jpg", "no label") for i in range(40)]
    problems.append(Problem("orphan_label", "ghost.txt", "label file without an image"))

    message = failure.format_problems("invalid dataset", problems)

    lines = message.splitlines()
    assert lines[0] == "invalid dataset: 41 problem(s) (missing_label x40, orphan_label x1)"
    assert sum("[missing_label]" in line for line in lines) == failure.MAX_PER_KIND
    assert any("ghost.txt" in line for line in lines)
    assert lines[-1] == f"... and {40 - failure.MAX_PER_KIND} more not listed"


def test_describe_unexpected_error() -> None:
    assert (
        failure.describe(RuntimeError("CUDA out of memory"))
        == "training failed: RuntimeError: CUDA out of memory"
    )


def test_failure_file_is_written_even_into_a_new_directory(tmp_path: Path) -> None:
    target = tmp_path / "output" / "failure"
    failure.write_failure(target, failure.describe(DatasetError([Problem("no_boxes", "train", "none")])))
    assert target.read_text().startswith("invalid dataset: 1 problem(s) (no_boxes x1)")


def _local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("YOLO_TRAIN_OPT_ML", str(tmp_path / "not-sagemaker"))
    for key in ("SM_CHANNEL_TRAINING", "SM_MODEL_DIR", "SM_OUTPUT_DATA_DIR", "TRAINING_JOB_NAME"):
        monkeypatch.delenv(key, raising=False)


def test_main_bad_hyperparameters_exit_2_and_failure_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _local_env(monkeypatch, tmp_path)
    output = tmp_path / "out" / "data"

    code = main.main(["--epochs", "-1", "--imgsz", "333", "--output-dir", str(output)])

    assert code == 2
    reason = (tmp_path / "out" / "failure").read_text()
    assert reason.startswith("invalid hyperparameters: 2 problem(s)")
    assert "epochs" in reason and "imgsz" in reason


def test_main_bad_dataset_exit_3_before_importing_ultralytics(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_dataset: Path
) -> None:
    _local_env(monkeypatch, tmp_path)
    for name in ("ultralytics", "yolo_train.runner", "yolo_train.artifacts"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    sorted((tiny_dataset / "labels" / "train").glob("*.txt"))[0].unlink()
    failure_file = tmp_path / "reason.txt"

    code = main.main(
        ["--data", str(tiny_dataset), "--failure-file", str(failure_file), "--output-dir", str(tmp_path)]
    )

    assert code == 3
    assert failure_file.read_text().startswith("invalid dataset: 1 problem(s) (missing_label x1)")
    assert "ultralytics" not in sys.modules  # no GPU time, not even the import, for a broken dataset
