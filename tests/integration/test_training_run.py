"""A tiny real training through train.py: SIGTERM after a checkpointed epoch, resume, artefacts,
ONNX metadata, MetricDefinitions against the real log, a finished run, and no network use.

One module-scoped fixture runs train.py three times on one checkpoint dir (seconds each):
  1. `--epochs 2`, SIGTERM as soon as an epoch line appears (its checkpoint is on disk by then);
  2. the same command again: resumes at the next epoch and finishes, writing the artefacts;
  3. the same command with a new model dir and `--end2end true`: the run is finished, so no
     training, only the artefacts again (with the NMS-free head).
Every process runs with an audit hook that refuses and records any network attempt.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from devkit.synth import CLASS_NAMES
from yolo_train import metric_defs

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 2
IMGSZ = 160
VERSION = "it-20261122"
EPOCH_LINE = re.compile(r"^epoch=(\d+)/(\d+) ")

# Loaded by every Python process of the run (PYTHONPATH): refuse and record network use.
NETWORK_GUARD = """
import os, sys

_LOG = os.environ["NETWORK_ATTEMPTS_LOG"]

def _refuse(what):
    with open(_LOG, "a", encoding="utf-8") as f:
        f.write(what + "\\n")
    raise OSError("network disabled in this test: " + what)

def _hook(event, args):
    if event in ("socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"):
        _refuse(f"{event} {args[0]!r}")
    elif event == "socket.connect" and isinstance(args[1], tuple):
        _refuse(f"{event} {args[1]!r}")
    elif event == "subprocess.Popen" and any(x in str(args[1]) for x in ("curl", "pip")):
        _refuse(f"{event} {args[1]!r}")

sys.addaudithook(_hook)
"""


@dataclass(frozen=True)
class Runs:
    root: Path
    interrupted_log: str
    interrupted_rc: int
    seconds_to_exit: float
    epoch_at_signal: int
    checkpoint_after_stop: dict[str, object]
    resumed_log: str
    resumed_rc: int
    finished_log: str
    finished_rc: int
    network_log: Path

    @property
    def checkpoint_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"


def _epoch_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if EPOCH_LINE.match(line)]


def _fields(line: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in line.split()[0:] if "=" in part)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_dataset_template: Path) -> Runs:
    root = tmp_path_factory.mktemp("training-run")
    dataset = root / "dataset"
    shutil.copytree(tiny_dataset_template, dataset)  # Ultralytics writes label caches into it
    guard = root / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(NETWORK_GUARD)
    network_log = root / "network-attempts.log"
    network_log.write_text("")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(root / "home"),
        "PYTHONPATH": str(guard),
        "NETWORK_ATTEMPTS_LOG": str(network_log),
        "YOLO_CONFIG_DIR": str(root / "ultralytics-config"),
        "YOLO_TRAIN_OPT_ML": str(root / "not-sagemaker"),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        str(REPO / "training" / "train.py"),
        *("--data", str(dataset), "--epochs", str(EPOCHS), "--imgsz", str(IMGSZ)),
        *("--checkpoint-dir", str(root / "checkpoints"), "--output-dir", str(root / "output" / "data")),
        *("--model-version", VERSION),
    ]

    # 1. Interrupt right after the first epoch line: its last.pt was written before the line.
    started = time.monotonic()
    process = subprocess.Popen(
        [*command, "--model-dir", str(root / "model")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    lines: list[str] = []
    epoch_at_signal, signalled_at = 0, 0.0
    for line in process.stdout:
        lines.append(line)
        match = EPOCH_LINE.match(line)
        if match and not epoch_at_signal:
            epoch_at_signal = int(match.group(1))
            process.send_signal(signal.SIGTERM)
            signalled_at = time.monotonic()
    interrupted_rc = process.wait()
    seconds_to_exit = time.monotonic() - signalled_at

    from yolo_train import offline  # noqa: PLC0415 - unpickling last.pt imports ultralytics

    offline.configure(root / "ultralytics-config")
    import torch  # noqa: PLC0415

    ckpt = torch.load(root / "checkpoints" / "train" / "weights" / "last.pt", weights_only=False)
    checkpoint = {"epoch": ckpt["epoch"], "has_optimizer": ckpt.get("optimizer") is not None}

    # 2. Same command: resume and finish.  3. Finished run: artefacts only, end-to-end head.
    phase_seconds = [time.monotonic() - started]
    resumed = subprocess.run(
        [*command, "--model-dir", str(root / "model")], capture_output=True, text=True, env=env, check=False
    )
    phase_seconds.append(time.monotonic() - started - sum(phase_seconds))
    finished = subprocess.run(
        [*command, "--model-dir", str(root / "model-e2e"), "--end2end", "true"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    phase_seconds.append(time.monotonic() - started - sum(phase_seconds))
    print(f"\ntrain.py wall seconds: interrupted, resumed, finished = {[round(t, 1) for t in phase_seconds]}")
    return Runs(
        root=root,
        interrupted_log="".join(lines),
        interrupted_rc=interrupted_rc,
        seconds_to_exit=seconds_to_exit,
        epoch_at_signal=epoch_at_signal,
        checkpoint_after_stop=checkpoint,
        resumed_log=resumed.stdout + resumed.stderr,
        resumed_rc=resumed.returncode,
        finished_log=finished.stdout + finished.stderr,
        finished_rc=finished.returncode,
        network_log=network_log,
    )


def test_sigterm_after_a_checkpointed_epoch_stops_with_a_clear_line(runs: Runs) -> None:
    assert 1 <= runs.epoch_at_signal < EPOCHS
    assert runs.interrupted_rc == 143, runs.interrupted_log[-3000:]
    stop_lines = [line for line in runs.interrupted_log.splitlines() if line.startswith("interrupted:")]
    assert len(stop_lines) == 1
    assert "signal=SIGTERM" in stop_lines[0]
    assert f"last_checkpoint_epoch={runs.epoch_at_signal}" in stop_lines[0]
    assert "final " not in runs.interrupted_log
    print(f"\nexit {runs.seconds_to_exit:.2f} s after SIGTERM")  # reported, not asserted


def test_checkpoint_holds_the_last_completed_epoch(runs: Runs) -> None:
    # Ultralytics' epoch is 0-based: epoch k (1-based) is saved as k - 1, with optimizer state.
    assert runs.checkpoint_after_stop == {"epoch": runs.epoch_at_signal - 1, "has_optimizer": True}


def test_restart_resumes_at_the_next_epoch_and_completes_the_plan(runs: Runs) -> None:
    assert runs.resumed_rc == 0, runs.resumed_log[-3000:]
    k = runs.epoch_at_signal
    assert f"run: resuming {runs.checkpoint_dir / 'train'} at epoch {k + 1} of {EPOCHS}" in runs.resumed_log
    numbers = [int(EPOCH_LINE.match(line).group(1)) for line in _epoch_lines(runs.resumed_log)]
    assert numbers == list(range(k + 1, EPOCHS + 1))
    assert f"final epochs={EPOCHS}/{EPOCHS} " in runs.resumed_log


def test_results_csv_has_each_planned_epoch_once(runs: Runs) -> None:
    rows = (runs.model_dir / "results.csv").read_text().splitlines()[1:]
    assert [int(row.split(",")[0]) for row in rows] == list(range(1, EPOCHS + 1))


def test_model_dir_has_every_artefact(runs: Runs) -> None:
    for name in ("best.pt", "model.onnx", "metrics.json", "results.csv"):
        assert (runs.model_dir / name).stat().st_size > 0, name
    plots = {p.name for p in (runs.model_dir / "plots").iterdir()}
    assert {"BoxPR_curve.png", "confusion_matrix.png", "results.png"} <= plots


def test_onnx_has_static_input_raw_head_and_serving_metadata(runs: Runs) -> None:
    import onnxruntime as ort  # noqa: PLC0415

    session = ort.InferenceSession(str(runs.model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    # auto export size: 320x452 pages at imgsz 160 -> height 160, width 113 rounded up to 128
    assert session.get_inputs()[0].shape == [1, 3, 160, 128]
    assert session.get_outputs()[0].shape[:2] == [1, 4 + len(CLASS_NAMES)]
    assert json.loads(meta["imgsz"]) == [160, 128]
    assert meta["names"] == str(dict(enumerate(CLASS_NAMES)))
    assert (meta["version"], meta["model_name"]) == (VERSION, "invoice-fields")
    assert (meta["end2end"], meta["stride"], meta["task"]) == ("False", "32", "detect")
    assert re.fullmatch(r"\d+\.\d+\.\d+", meta["ultralytics_version"])


def test_metrics_json(runs: Runs) -> None:
    metrics = json.loads((runs.model_dir / "metrics.json").read_text())
    assert (metrics["version"], metrics["epochs"], metrics["epochs_completed"]) == (VERSION, EPOCHS, EPOCHS)
    assert (metrics["imgsz"], metrics["export_imgsz"], metrics["end2end"]) == (IMGSZ, [160, 128], False)
    assert metrics["architecture"] == "yolo26n"
    for key in ("mAP50", "mAP50-95", "precision", "recall"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert set(metrics["per_class"]) == set(CLASS_NAMES)
    assert sum(c["instances"] for c in metrics["per_class"].values()) == metrics["dataset"]["val_boxes"]
    final = next(line for line in runs.resumed_log.splitlines() if line.startswith("final "))
    assert float(_fields(final)["mAP50"]) == pytest.approx(metrics["mAP50"], abs=5e-5)


def test_metric_definitions_on_the_real_log(runs: Runs) -> None:
    log = runs.interrupted_log + runs.resumed_log
    epoch_lines = _epoch_lines(log)
    assert len(epoch_lines) == EPOCHS  # epochs 1..k before the stop, k+1..N after
    patterns = {d["Name"]: re.compile(d["Regex"]) for d in metric_defs.METRIC_DEFINITIONS}
    epoch_defs = {n: p for n, p in patterns.items() if not n.startswith("final:") and n != "train:dfl_loss"}
    for line in epoch_lines:
        fields = _fields(line)
        for name, pattern in epoch_defs.items():
            found = pattern.findall(line)
            assert len(found) == 1, (name, line)
            key = name.split(":", 1)[1]
            expected = fields[key].split("/")[0] if key == "epoch" else fields[key]
            assert float(found[0]) == float(expected), (name, line)
    # No other line of the whole log feeds a metric, and the final line feeds only final:*.
    for line in log.splitlines():
        hits = {name for name, pattern in patterns.items() if pattern.search(line)}
        if line in epoch_lines:
            assert hits == set(epoch_defs), line
        elif line.startswith("final "):
            assert hits == {n for n in patterns if n.startswith("final:")}, line
        else:
            assert hits == set(), line


def test_finished_run_only_rebuilds_artefacts_with_the_end2end_head(runs: Runs) -> None:
    import onnxruntime as ort  # noqa: PLC0415

    assert runs.finished_rc == 0, runs.finished_log[-3000:]
    assert "already finished" in runs.finished_log
    assert _epoch_lines(runs.finished_log) == []
    assert "Starting training" not in runs.finished_log
    model_dir = runs.root / "model-e2e"
    session = ort.InferenceSession(str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_outputs()[0].shape == [1, 300, 6]
    assert session.get_modelmeta().custom_metadata_map["end2end"] == "True"
    metrics = json.loads((model_dir / "metrics.json").read_text())
    first = json.loads((runs.model_dir / "metrics.json").read_text())
    assert metrics["end2end"] is True
    assert metrics["mAP50-95"] == first["mAP50-95"]  # the same best.pt validated again


def test_no_network_attempt_in_any_run(runs: Runs) -> None:
    assert runs.network_log.read_text() == ""
