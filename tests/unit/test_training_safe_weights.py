"""Weights are data: a pickle that would run code is refused by name, a real checkpoint loads.

The entrypoint runs in a subprocess (as SageMaker starts it): importing Ultralytics patches
process-wide state the serving tests must not see, and the forced weights_only environment
must not leak into other tests.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch

from yolo_train import settings
from yolo_train.errors import HyperparameterError

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
TRAIN_PY = ROOT / "training" / "train.py"
DEMO_WEIGHTS = ROOT / "models" / "demo" / "best.pt"


class Payload:
    """What an attacker puts in a .pt: unpickling it calls exec, which creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def _evil_checkpoint(path: Path, marker: Path) -> Path:
    """A torch.save archive shaped like an Ultralytics checkpoint, with the payload as its model."""
    torch.save({"model": Payload(marker), "epoch": -1, "train_args": {}}, path)
    return path


def _entrypoint(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("SM_", "TORCH_FORCE", "ULTRALYTICS_"))
    }
    environ |= {"YOLO_TRAIN_OPT_ML": str(tmp_path / "not-sagemaker"), **env}
    return subprocess.run(
        [sys.executable, str(TRAIN_PY), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=environ,
        timeout=300,
    )


def _outputs(tmp_path: Path, failure: Path) -> list[str]:
    """Where an entrypoint run under test writes its failure file and artefacts."""
    return [
        "--failure-file",
        str(failure),
        "--output-dir",
        str(tmp_path / "out"),
        "--model-dir",
        str(tmp_path / "m"),
    ]


def test_a_pickle_payload_as_base_weights_never_runs_and_fails_clearly(
    tmp_path: Path, tiny_dataset: Path
) -> None:
    marker = tmp_path / "marker"
    evil = _evil_checkpoint(tmp_path / "base.pt", marker)
    failure = tmp_path / "failure"

    outputs = _outputs(tmp_path, failure)
    args = ["--data", str(tiny_dataset), "--weights", str(evil), "--epochs", "1", "--imgsz", "160", *outputs]
    done = _entrypoint(args, tmp_path)

    assert not marker.exists()  # the payload never ran
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    reason = failure.read_text()
    assert reason.startswith("unsafe weights refused: 1 problem(s) (unsafe_weights x1)")
    assert "builtins.exec" in reason and "base.pt" in reason
    assert not (tmp_path / "m" / "model.onnx").exists()  # nothing trained


@pytest.mark.parametrize("how", ["torch.load weights_only=False", "YOLO()"])
def test_the_forced_environment_alone_refuses_the_payload(tmp_path: Path, how: str) -> None:
    # The second layer, without the allowlist check: any load in the job process is weights_only,
    # even a caller's explicit weights_only=False (Ultralytics' torch_load passes exactly that).
    marker = tmp_path / "marker"
    evil = _evil_checkpoint(tmp_path / "evil.pt", marker)
    load = (
        f"torch.load({str(evil)!r}, weights_only=False)"
        if how.startswith("torch")
        else f"from ultralytics import YOLO; YOLO({str(evil)!r})"
    )
    code = (
        "from yolo_train import offline, safe_weights\n"
        "offline.configure()\n"
        "safe_weights.force_weights_only_env()\n"
        "import torch\n"
        f"try:\n    {load}\nexcept Exception as exc:\n    print('refused', type(exc).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path, timeout=300
    )

    assert not marker.exists()
    assert "refused" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]


def test_a_bare_pickle_renamed_pt_is_refused_without_unpickling(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "bare.pt"
    path.write_bytes(pickle.dumps(Payload(marker)))
    code = (
        "from pathlib import Path\n"
        "from yolo_train import offline, safe_weights\n"
        "offline.configure()\n"
        "try:\n"
        f"    safe_weights.check(Path({str(path)!r}))\n"
        "except safe_weights.UnsafeWeights as exc:\n"
        "    print('refused', sorted(exc.kinds))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path, timeout=300
    )

    assert "refused ['unsafe_weights']" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    assert not marker.exists()


def _model_tarball(path: Path, best: Path) -> Path:
    """What SageMaker uploads for a finished job: the model dir as model.tar.gz."""
    with tarfile.open(path, "w:gz") as tar:
        tar.add(best, arcname="best.pt")
    return path


def test_an_earlier_jobs_model_tarball_is_unpacked_and_checked_like_any_weights(
    tmp_path: Path, tiny_dataset: Path
) -> None:
    # Fine-tuning from training-output/<job>/output/model.tar.gz: its best.pt is the base, and a
    # payload inside the tarball is refused the same way.
    marker = tmp_path / "marker"
    channel = tmp_path / "weights"
    channel.mkdir()
    _model_tarball(channel / "model.tar.gz", _evil_checkpoint(tmp_path / "best.pt", marker))
    failure = tmp_path / "failure"
    outputs = _outputs(tmp_path, failure)
    args = [
        "--data",
        str(tiny_dataset),
        "--weights-dir",
        str(channel),
        "--epochs",
        "1",
        "--imgsz",
        "160",
        *outputs,
    ]

    done = _entrypoint(args, tmp_path)

    assert not marker.exists()
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert "builtins.exec" in failure.read_text()
    assert (tmp_path / "out" / "base-weights" / "best.pt").is_file()  # unpacked, then refused


def test_the_weights_channel_may_hold_a_model_tarball(tmp_path: Path) -> None:
    channel = tmp_path / "weights"
    channel.mkdir()
    _model_tarball(channel / "model.tar.gz", DEMO_WEIGHTS)
    built = settings.build(
        [], {"YOLO_TRAIN_OPT_ML": str(tmp_path / "local"), "SM_CHANNEL_WEIGHTS": str(channel)}
    )
    assert built.paths.weights == channel / "model.tar.gz"


def test_the_shipped_checkpoint_passes_and_loads_through_ultralytics(tmp_path: Path) -> None:
    code = (
        "import json\n"
        "from pathlib import Path\n"
        "from yolo_train import offline, safe_weights\n"
        "offline.configure()\n"
        "safe_weights.force_weights_only_env()\n"
        "from ultralytics import YOLO\n"
        f"path = Path({str(DEMO_WEIGHTS)!r})\n"
        "safe_weights.check(path)\n"
        "ckpt = safe_weights.load(path)\n"
        "import tarfile\n"
        f"tarball = Path({str(tmp_path / 'model.tar.gz')!r})\n"
        "with tarfile.open(tarball, 'w:gz') as tar:\n"
        "    tar.add(path, arcname='best.pt')\n"
        f"unpacked = safe_weights.unpack_best(tarball, Path({str(tmp_path / 'u')!r}))\n"
        "safe_weights.check(unpacked)\n"
        "model = YOLO(str(path))\n"
        "print(json.dumps({'model': type(ckpt['model']).__name__, 'names': len(model.names)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path, timeout=300
    )

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["model"] == "DetectionModel" and result["names"] > 0


# --- origin (defence in depth beside POST /train's own check) ----------------------------------


def _sagemaker_with_weights(tmp_path: Path, hp: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    root = tmp_path / "opt_ml"
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "data" / "training").mkdir(parents=True)
    channel = root / "input" / "data" / "weights"
    channel.mkdir(parents=True)
    (channel / "best.pt").write_bytes(b"x")
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hp))
    return [], {"YOLO_TRAIN_OPT_ML": str(root), "SM_CHANNEL_WEIGHTS": str(channel)}


TRUSTED = '"s3://iy-models/models/,s3://iy-models/training-output/"'


@pytest.mark.parametrize(
    ("hp", "problem"),
    [
        ({}, "needs --weights-uri and --trusted-weights-prefixes"),
        ({"weights-uri": '"s3://iy-data/w/best.pt"', "trusted-weights-prefixes": TRUSTED}, "is not under"),
        (
            {"weights-uri": '"s3://iy-models/models/../x.pt"', "trusted-weights-prefixes": TRUSTED},
            "is not under",
        ),
        (
            {"weights-uri": '"s3://iy-models/models/best.pt"', "trusted-weights-prefixes": '"iy-models"'},
            "not s3://",
        ),
    ],
)
def test_on_sagemaker_weights_need_a_trusted_origin(tmp_path: Path, hp: dict[str, str], problem: str) -> None:
    argv, env = _sagemaker_with_weights(tmp_path, hp)
    with pytest.raises(HyperparameterError) as info:
        settings.build(argv, env)
    assert info.value.kinds == {"untrusted_weights"}
    assert problem in str(info.value.problems[0])


def test_on_sagemaker_weights_from_the_stacks_models_are_accepted(tmp_path: Path) -> None:
    hp = {
        "weights-uri": '"s3://iy-models/training-output/job-1/best.pt"',
        "trusted-weights-prefixes": TRUSTED,
    }
    argv, env = _sagemaker_with_weights(tmp_path, hp)
    built = settings.build(argv, env)
    assert built.paths.weights is not None and built.paths.weights.name == "best.pt"


def test_on_sagemaker_a_weights_flag_outside_the_weights_channel_is_refused(tmp_path: Path) -> None:
    hp = {"weights-uri": '"s3://iy-models/models/best.pt"', "trusted-weights-prefixes": TRUSTED}
    _, env = _sagemaker_with_weights(tmp_path, hp)
    planted = tmp_path / "opt_ml" / "input" / "data" / "training" / "evil.pt"  # the data bucket's channel
    planted.write_bytes(b"x")
    with pytest.raises(HyperparameterError) as info:
        settings.build(["--weights", str(planted)], env)
    assert "is not in the weights channel" in str(info.value.problems[0])
