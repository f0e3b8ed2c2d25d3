"""One frozen Settings object, built once from the command line, hyperparameters.json and the env.

Precedence for every key: command line > hyperparameters.json > SageMaker environment > default.
All problems are collected and raised together as one HyperparameterError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from yolo_train import hyperparams, sm_env
from yolo_train.errors import HyperparameterError, Problem

MODEL_TARBALL = "model.tar.gz"  # SageMaker's output of an earlier job; its best.pt is the base


@dataclass(frozen=True)
class Paths:
    """Every location the job reads or writes, absolute."""

    data_yaml: Path
    validation: Path | None
    weights: Path | None  # fine-tuning checkpoint (flag, or the single .pt in the weights channel)
    model_dir: Path
    output_dir: Path
    checkpoint_dir: Path
    failure_file: Path

    @property
    def runtime_data_yaml(self) -> Path:
        """The data.yaml Ultralytics reads: the channel's, with an absolute `path`."""
        return self.output_dir / "data.yaml"


@dataclass(frozen=True)
class Settings:
    """Everything the job needs to know, decided before any import of torch or Ultralytics."""

    paths: Paths
    train_args: Mapping[str, Any]  # validated Ultralytics overrides (read-only)
    model: str  # architecture stem (yolo26n) or a named .pt (only with allow_downloads)
    allow_downloads: bool
    run_name: str
    model_name: str
    model_version: str
    export_imgsz: tuple[int, int] | None  # None: derive from the median page aspect
    end2end: bool
    opset: int | None
    simplify: bool
    on_sagemaker: bool
    cpu_count: int
    job_name: str | None = None
    ignored_keys: tuple[str, ...] = field(default=())
    int8: bool = True  # also write model.int8.onnx beside model.onnx
    int8_calibration: str = "minmax"

    @property
    def run_dir(self) -> Path:
        """Ultralytics' project/name: lives under the checkpoint dir so Spot restarts find it."""
        return self.paths.checkpoint_dir / self.run_name

    @property
    def last_checkpoint(self) -> Path:
        return self.run_dir / "weights" / "last.pt"


def _timestamp_version(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def _default_version(job_name: str | None) -> str:
    """The job name (stable across Spot restarts of one job), else a UTC timestamp."""
    if job_name:
        try:
            return hyperparams.BY_NAME["model_version"].coerce(job_name) or _timestamp_version()
        except hyperparams.ValueProblem:
            pass
    return _timestamp_version()


def failure_file_for(argv: Sequence[str], env: sm_env.SageMakerEnv) -> Path:
    """Best-known FailureReason location even when the rest of the input is broken."""
    values, _ = hyperparams.split_argv(argv)
    if values.get("failure_file"):
        return Path(values["failure_file"]).absolute()
    if env.on_sagemaker:
        return (env.output_dir or env.opt_ml / "output") / "failure"
    output_dir = values.get("output_dir") or env.default_paths()["output_dir"]
    return Path(str(output_dir)).absolute().parent / "failure"


def _read_hyperparameters_file(path: Path | None) -> tuple[dict[str, Any], list[Problem]]:
    if path is None:
        return {}, []
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {}, [Problem("bad_hyperparameters_file", str(path), f"cannot read JSON: {exc}")]
    if not isinstance(content, dict):
        return {}, [Problem("bad_hyperparameters_file", str(path), "expected a JSON object")]
    return {k: hyperparams.decode_json_value(v) for k, v in content.items()}, []


def _resolve_data_yaml(data: Path) -> Path:
    if data.is_dir():
        for name in ("data.yaml", "data.yml"):
            if (data / name).is_file():
                return data / name
        return data / "data.yaml"  # dataset_check reports it missing, with the other problems
    return data


def _resolve_weights(
    flag: str | None, channel: Path | None, problems: list[Problem]
) -> tuple[Path | None, list[Problem]]:
    if flag:
        path = Path(flag).absolute()
        if not path.is_file():
            problems.append(Problem("missing_weights", "weights", f"{path} is not a file"))
        elif path.suffix != ".pt":
            problems.append(Problem("invalid_hyperparameter", "weights", f"{path} is not a .pt file"))
        return path, problems
    if channel is None:
        return None, problems
    candidates = sorted(channel.glob("*.pt")) if channel.is_dir() else []
    if not candidates and (channel / MODEL_TARBALL).is_file():  # a finished job's model.tar.gz
        return (channel / MODEL_TARBALL).absolute(), problems
    if len(candidates) == 1:
        return candidates[0].absolute(), problems
    preferred = [c for c in candidates if c.name == "best.pt"]
    if preferred:
        return preferred[0].absolute(), problems
    detail = (
        f"no .pt file or {MODEL_TARBALL}" if not candidates else f"{len(candidates)} .pt files and no best.pt"
    )
    problems.append(Problem("missing_weights", str(channel), f"weights channel has {detail}"))
    return None, problems


def _trusted_prefixes(raw: str | None) -> tuple[list[str], list[str]]:
    """(well-formed `s3://bucket/prefix/` entries, malformed ones)."""
    entries = [p.strip() for p in (raw or "").split(",") if p.strip()]
    good = [p for p in entries if p.startswith("s3://") and p.endswith("/") and p.count("/") >= 4]
    return good, [p for p in entries if p not in good]


def _weights_origin(
    values: Mapping[str, Any], weights: Path | None, channel: Path | None, on_sagemaker: bool
) -> list[Problem]:
    """Defence in depth beside the training API's own check (launcher.schemas): on SageMaker,
    weights come only from the weights channel, filled from `--weights-uri`, which must lie under
    one of `--trusted-weights-prefixes` (the stack's models/ and training-output/). So a job
    created around the API cannot hand the entrypoint a pickle unannounced. Locally
    (`--weights PATH` on a developer's machine) nothing is required. The file itself is then
    loaded weights_only against an allowlist whatever its origin (yolo_train.safe_weights)."""
    if weights is None or not on_sagemaker:
        return []
    problems = []
    if channel is None or not weights.resolve().is_relative_to(channel.resolve()):
        problems.append(
            Problem("untrusted_weights", "weights", f"{weights} is not in the weights channel (SageMaker)")
        )
    uri = values.get("weights_uri")
    trusted, malformed = _trusted_prefixes(values.get("trusted_weights_prefixes"))
    if malformed:
        problems.append(
            Problem("untrusted_weights", "trusted_weights_prefixes", f"not s3://bucket/prefix/: {malformed}")
        )
    elif uri is None or not trusted:
        problems.append(
            Problem(
                "untrusted_weights",
                "weights",
                "a weights channel needs --weights-uri and --trusted-weights-prefixes (set by POST /train)",
            )
        )
    elif ".." in uri.split("/") or not any(uri.startswith(p) for p in trusted):
        problems.append(
            Problem("untrusted_weights", "weights_uri", f"{uri} is not under {' or '.join(trusted)}")
        )
    return problems


def build(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> Settings:
    """Parse and check everything once; raise HyperparameterError listing every problem."""
    env = sm_env.read(environ)
    cli, problems = hyperparams.split_argv(argv)
    hp_file_flag = cli.get("hyperparameters_file")
    hp_file = Path(hp_file_flag) if hp_file_flag else env.default_paths()["hyperparameters_file"]
    from_file, file_problems = _read_hyperparameters_file(hp_file)
    problems += file_problems
    values, value_problems, ignored = hyperparams.parse(
        [(f"hyperparameters.json ({hp_file})", from_file), ("command line", cli)]
    )
    problems += value_problems

    defaults = env.default_paths()

    def location(key: str) -> Path | None:
        chosen = values.get(key) or defaults.get(key)
        return Path(chosen).absolute() if chosen else None

    data = location("data")
    assert data is not None  # default_paths always provides one
    model_dir, output_dir = location("model_dir"), location("output_dir")
    checkpoint_dir = location("checkpoint_dir")
    assert model_dir and output_dir and checkpoint_dir
    validation = location("validation")
    if validation is not None and not validation.exists():
        problems.append(Problem("missing_channel", "validation", f"{validation} does not exist"))
    weights, problems = _resolve_weights(values["weights"], location("weights_dir"), problems)
    problems += _weights_origin(values, weights, location("weights_dir"), env.on_sagemaker)

    model = values["model"]
    if model.endswith(".pt") and not values["allow_downloads"]:
        problems.append(
            Problem(
                "downloads_not_allowed",
                "model",
                f"{model!r} names Ultralytics' pretrained weights, a download; pass --allow-downloads true "
                "(jobs with internet) or --weights PATH / a weights channel for a local file",
            )
        )
    if problems:
        raise HyperparameterError(problems)

    train_args = {key: values[key] for key in hyperparams.ULTRALYTICS_KEYS}
    return Settings(
        paths=Paths(
            data_yaml=_resolve_data_yaml(data),
            validation=validation,
            weights=weights,
            model_dir=model_dir,
            output_dir=output_dir,
            checkpoint_dir=checkpoint_dir,
            failure_file=failure_file_for(argv, env),
        ),
        train_args=MappingProxyType(train_args),
        model=model,
        allow_downloads=values["allow_downloads"],
        run_name=values["run_name"],
        model_name=values["model_name"],
        model_version=values["model_version"] or _default_version(env.job_name),
        export_imgsz=values["export_imgsz"],
        end2end=values["end2end"],
        opset=values["opset"],
        simplify=values["simplify"],
        on_sagemaker=env.on_sagemaker,
        cpu_count=env.cpu_count,
        job_name=env.job_name,
        ignored_keys=tuple(ignored),
        int8=values["int8"],
        int8_calibration=values["int8_calibration"],
    )
