"""Hyperparameters and flags: SageMaker's two channels for them, the allowlist, one error per kind."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from yolo_train import hyperparams, settings
from yolo_train.errors import HyperparameterError

pytestmark = pytest.mark.unit


def _local(tmp_path: Path) -> dict[str, str]:
    """An environment that is not SageMaker (no input/config under the opt_ml root)."""
    return {"YOLO_TRAIN_OPT_ML": str(tmp_path / "no-opt-ml")}


def _sagemaker(tmp_path: Path, hyperparameters: dict[str, str] | None = None, **env: str) -> dict[str, str]:
    """A stand-in /opt/ml: input/config/hyperparameters.json (JSON-encoded strings) and a channel."""
    root = tmp_path / "opt_ml"
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "data" / "training").mkdir(parents=True)
    if hyperparameters is not None:
        (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    return {"YOLO_TRAIN_OPT_ML": str(root), **env}


def _error(argv: list[str], environ: dict[str, str]) -> HyperparameterError:
    with pytest.raises(HyperparameterError) as info:
        settings.build(argv, environ)
    return info.value


def test_defaults_locally(tmp_path: Path) -> None:
    built = settings.build([], _local(tmp_path))

    assert not built.on_sagemaker
    assert built.train_args["epochs"] == 100 and built.train_args["imgsz"] == 640
    assert built.train_args["fliplr"] == 0.0  # documents are never mirrored
    assert built.model == "yolo26n" and not built.allow_downloads and not built.end2end
    assert built.paths.checkpoint_dir == (Path("artifacts") / "training" / "checkpoints").absolute()
    assert built.paths.failure_file == (Path("artifacts") / "training" / "output" / "failure").absolute()
    assert built.run_dir == built.paths.checkpoint_dir / "train"


def test_sagemaker_json_hyperparameters_are_decoded_and_own_keys_ignored(tmp_path: Path) -> None:
    hp = {
        "epochs": "5",
        "imgsz": "320",
        "cos_lr": "true",
        "model_version": '"v7"',
        "export_imgsz": "[320, 256]",
        "sagemaker_program": '"train.py"',
        "sagemaker_submit_directory": '"s3://bucket/source.tar.gz"',
        "sagemaker_region": '"eu-north-1"',
        "sagemaker_container_log_level": "20",
        "sagemaker_job_name": '"job-1"',
    }
    built = settings.build([], _sagemaker(tmp_path, hp))

    assert built.on_sagemaker
    assert (built.train_args["epochs"], built.train_args["imgsz"], built.train_args["cos_lr"]) == (
        5,
        320,
        True,
    )
    assert built.model_version == "v7"
    assert built.export_imgsz == (320, 256)
    assert "sagemaker_program" in built.ignored_keys and "sagemaker_job_name" in built.ignored_keys
    opt_ml = tmp_path / "opt_ml"
    assert built.paths.data_yaml == opt_ml / "input" / "data" / "training" / "data.yaml"
    assert built.paths.checkpoint_dir == opt_ml / "checkpoints"
    assert built.paths.model_dir == opt_ml / "model"
    assert built.paths.failure_file == opt_ml / "output" / "failure"


def test_sagemaker_command_line_form_and_precedence(tmp_path: Path) -> None:
    # What the framework container runs: str() of each decoded value, keys sorted.
    argv = ["--cos_lr", "True", "--epochs", "7", "--model-version", "v8", "--sagemaker_program", "train.py"]
    built = settings.build(argv, _sagemaker(tmp_path, {"epochs": "5"}))

    assert built.train_args["epochs"] == 7  # the command line wins over hyperparameters.json
    assert built.train_args["cos_lr"] is True
    assert built.model_version == "v8"


def test_sagemaker_env_channels_and_dirs(tmp_path: Path) -> None:
    channel, model, output = tmp_path / "train-ch", tmp_path / "m", tmp_path / "o" / "data"
    channel.mkdir()
    env = _sagemaker(
        tmp_path,
        SM_CHANNEL_TRAINING=str(channel),
        SM_MODEL_DIR=str(model),
        SM_OUTPUT_DATA_DIR=str(output),
        TRAINING_JOB_NAME="invoice-yolo-2026-11-22",
    )
    built = settings.build([], env)

    assert built.paths.data_yaml == channel / "data.yaml"
    assert (built.paths.model_dir, built.paths.output_dir) == (model, output)
    assert built.model_version == "invoice-yolo-2026-11-22"  # stable across Spot restarts of one job


def test_flags_override_every_location(tmp_path: Path) -> None:
    data = tmp_path / "ds"
    data.mkdir()
    argv = [f"--data={data}", "--model-dir", "m", "--output-dir", "o/data", "--checkpoint-dir", "c"]
    built = settings.build(argv, _sagemaker(tmp_path))

    assert built.paths.data_yaml == data / "data.yaml"
    assert built.paths.checkpoint_dir == Path("c").absolute()
    assert built.paths.runtime_data_yaml == Path("o/data/data.yaml").absolute()


def test_local_failure_file_sits_beside_the_output_dir(tmp_path: Path) -> None:
    built = settings.build(["--output-dir", str(tmp_path / "out" / "data")], _local(tmp_path))
    assert built.paths.failure_file == tmp_path / "out" / "failure"


@pytest.mark.parametrize("epochs", ["0", "-3", "1001"])
def test_epochs_must_be_in_the_shared_range(tmp_path: Path, epochs: str) -> None:
    error = _error(["--epochs", epochs], _local(tmp_path))
    assert error.kinds == {"invalid_hyperparameter"}
    assert "expected an integer >= 1 and <= 1000" in str(error.problems[0])


@pytest.mark.parametrize("imgsz", ["300", "0", "16"])
def test_imgsz_must_be_a_multiple_of_32(tmp_path: Path, imgsz: str) -> None:
    error = _error(["--imgsz", imgsz], _local(tmp_path))
    assert error.kinds == {"invalid_hyperparameter"}
    assert "multiple of 32" in str(error.problems[0])


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--epochs", "ten"], "expected an integer"),
        (["--epochs", "2.5"], "expected an integer"),
        (["--cos-lr", "maybe"], "expected true or false"),
        (["--lr0", "fast", "--optimizer", "SGD"], "expected a number"),
        (["--cache", "gpu"], "expected false, ram or disk"),
        (["--optimizer", "Lion"], "expected one of"),
        (["--export-imgsz", "640,500"], "multiples of 32"),
        (["--model", "resnet50"], "expected a model like yolo26n"),
        (["--batch", "0"], "'auto' or an integer >= 1"),
        (["--device", "0,1"], "multi-GPU (DDP) is not supported"),
    ],
)
def test_wrong_types_and_values(tmp_path: Path, argv: list[str], expected: str) -> None:
    error = _error(argv, _local(tmp_path))
    assert error.kinds == {"invalid_hyperparameter"}
    assert expected in str(error.problems[0])


def test_unknown_key_on_command_line_suggests_the_name(tmp_path: Path) -> None:
    error = _error(["--epoch", "3"], _local(tmp_path))  # no prefix matching: 'epoch' is not 'epochs'
    assert error.kinds == {"unknown_hyperparameter"}
    assert "did you mean 'epochs'" in str(error.problems[0])


def test_unknown_key_in_hyperparameters_json(tmp_path: Path) -> None:
    error = _error([], _sagemaker(tmp_path, {"learning_rate": "0.1"}))
    assert error.kinds == {"unknown_hyperparameter"}
    assert "hyperparameters.json" in error.problems[0].where


def test_malformed_hyperparameters_json(tmp_path: Path) -> None:
    env = _sagemaker(tmp_path)
    (tmp_path / "opt_ml" / "input" / "config" / "hyperparameters.json").write_text("{not json")
    assert _error([], env).kinds == {"bad_hyperparameters_file"}


def test_missing_value_and_stray_argument(tmp_path: Path) -> None:
    error = _error(["stray", "--epochs"], _local(tmp_path))
    assert error.kinds == {"unexpected_argument", "missing_value"}


def test_lr0_without_an_optimizer_would_be_ignored(tmp_path: Path) -> None:
    error = _error(["--lr0", "0.002"], _local(tmp_path))
    assert error.kinds == {"ignored_by_optimizer_auto"}
    built = settings.build(["--lr0", "0.002", "--optimizer", "sgd"], _local(tmp_path))
    assert (built.train_args["lr0"], built.train_args["optimizer"]) == (0.002, "SGD")


def test_named_pretrained_weights_need_allow_downloads(tmp_path: Path) -> None:
    assert _error(["--model", "yolo26n.pt"], _local(tmp_path)).kinds == {"downloads_not_allowed"}
    built = settings.build(["--model", "yolo26n.pt", "--allow-downloads"], _local(tmp_path))
    assert built.model == "yolo26n.pt" and built.allow_downloads


def test_weights_flag_must_exist(tmp_path: Path) -> None:
    error = _error(["--weights", str(tmp_path / "nope.pt")], _local(tmp_path))
    assert error.kinds == {"missing_weights"}


def test_weights_channel_single_pt(tmp_path: Path) -> None:
    channel = tmp_path / "weights"
    channel.mkdir()
    (channel / "base.pt").write_bytes(b"x")
    built = settings.build([], {**_local(tmp_path), "SM_CHANNEL_WEIGHTS": str(channel)})
    assert built.paths.weights == channel / "base.pt"

    (channel / "other.pt").write_bytes(b"x")
    assert _error([], {**_local(tmp_path), "SM_CHANNEL_WEIGHTS": str(channel)}).kinds == {"missing_weights"}


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    error = _error(
        ["--epochs", "0", "--imgsz", "100", "--colour", "red", "--rect", "sometimes"], _local(tmp_path)
    )
    assert len(error.problems) == 4
    assert error.kinds == {"invalid_hyperparameter", "unknown_hyperparameter"}


def test_bare_boolean_flag_and_negative_number_value() -> None:
    values, problems = hyperparams.split_argv(["--rect", "--degrees", "-5", "--end2end"])
    assert problems == []
    assert values == {"rect": "true", "degrees": "-5", "end2end": "true"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("auto", None),
        ("640,480", (640, 480)),
        ("[640, 480]", (640, 480)),
        ("640x480", (640, 480)),
        ("320", (320, 320)),
    ],
)
def test_export_imgsz_forms(raw: str, expected: tuple[int, int] | None) -> None:
    assert hyperparams.BY_NAME["export_imgsz"].coerce(raw) == expected


def test_every_ultralytics_key_is_a_real_ultralytics_argument() -> None:
    # Read Ultralytics' default.yaml as text: this test must not import ultralytics itself.
    spec = importlib.util.find_spec("ultralytics")
    assert spec is not None and spec.origin is not None
    defaults = yaml.safe_load((Path(spec.origin).parent / "cfg" / "default.yaml").read_text())
    assert set(hyperparams.ULTRALYTICS_KEYS) <= set(defaults)


def test_help_lists_every_parameter() -> None:
    text = hyperparams.help_text()
    assert all(f"--{p.name.replace('_', '-')}" in text for p in hyperparams.PARAMS)
