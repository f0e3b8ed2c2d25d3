"""The hyperparameter allowlist: names, types, ranges, defaults; parsing that reports every problem.

Values arrive as strings: SageMaker framework containers pass `--key value` on the command line
(`str()` of the JSON-decoded value, so booleans come as `True`/`False`), and
`/opt/ml/input/config/hyperparameters.json` holds JSON-encoded strings (`"50"`, `"\\"yolo26n\\""`).
Keys may use `-` or `_`. SageMaker's own `sagemaker_*` keys are accepted and ignored. Anything
else unknown, mistyped or out of range is an error; nothing falls back to a default silently.

Defaults differ from Ultralytics' only where documents need it: `fliplr=0` (invoices are never
mirrored, and mirrored text teaches the model features that never occur). Pure module.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from yolo_train.errors import Problem

STRIDE = 32  # the largest stride of the P5 YOLO models this entrypoint trains (yolo26/yolo11/yolov8)
SAGEMAKER_PREFIX = "sagemaker_"
MODEL_ARCH = re.compile(r"^(?:yolo26|yolo11|yolov8)[nsmlx]$")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
OPTIMIZERS = ("auto", "SGD", "MuSGD", "Adam", "Adamax", "AdamW", "NAdam", "RAdam", "RMSProp")


class ValueProblem(ValueError):
    """A value that cannot be used; the message says what was expected."""


Coerce = Callable[[Any], Any]


@dataclass(frozen=True)
class Param:
    """One allowed hyperparameter."""

    name: str
    coerce: Coerce
    default: Any
    help: str
    ultralytics: bool = True  # passed to `YOLO.train()` under the same name
    path: bool = False  # a location (flag), not a training knob
    shown_default: str = "auto"  # what --help says when `default` is None


# ---------------------------------------------------------------------------------------------
# Coercers: accept the string forms SageMaker and a shell produce, and the JSON-decoded values.


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise ValueProblem(f"expected true or false, got {value!r}")


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueProblem(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"[-+]?\d+", text):
        raise ValueProblem(f"expected an integer, got {value!r}")
    return int(text)


def _as_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueProblem(f"expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueProblem(f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueProblem(f"expected a finite number, got {value!r}")
    return number


def _int_at_least(low: int) -> Coerce:
    def coerce(value: Any) -> int:
        number = _as_int(value)
        if number < low:
            raise ValueProblem(f"must be >= {low}, got {number}")
        return number

    return coerce


def _float_in(low: float, high: float | None = None, *, low_open: bool = False) -> Coerce:
    def coerce(value: Any) -> float:
        number = _as_float(value)
        too_low = number <= low if low_open else number < low
        if too_low or (high is not None and number > high):
            bracket = "(" if low_open else "["
            raise ValueProblem(f"must be in {bracket}{low}, {'inf' if high is None else high}], got {number}")
        return number

    return coerce


def _choice(options: Iterable[str], *, case_sensitive: bool = False) -> Coerce:
    allowed = tuple(options)

    def coerce(value: Any) -> str:
        text = str(value).strip()
        for option in allowed:
            if text == option or (not case_sensitive and text.lower() == option.lower()):
                return option
        raise ValueProblem(f"expected one of {', '.join(allowed)}, got {value!r}")

    return coerce


def _imgsz(value: Any) -> int:
    number = _as_int(value)
    if number < STRIDE or number % STRIDE:
        raise ValueProblem(f"must be a positive multiple of {STRIDE}, got {number}")
    return number


def _batch(value: Any) -> int | None:
    """`auto` (None: per-device default) or a positive integer."""
    if str(value).strip().lower() == "auto":
        return None
    number = _as_int(value)
    if number < 1:
        raise ValueProblem(f"expected 'auto' or an integer >= 1, got {value!r}")
    return number


def _workers(value: Any) -> int | None:
    if str(value).strip().lower() == "auto":
        return None
    return _int_at_least(0)(value)


def _cache(value: Any) -> bool | str:
    """Ultralytics accepts False, True/'ram' and 'disk'."""
    text = str(value).strip().lower()
    if text in {"false", "0", "no", "off", "none"}:
        return False
    if text in {"true", "1", "yes", "on", "ram"}:
        return "ram"
    if text == "disk":
        return "disk"
    raise ValueProblem(f"expected false, ram or disk, got {value!r}")


def _device(value: Any) -> str | None:
    text = str(value).strip().lower()
    if text == "auto":
        return None
    if text in {"cpu", "mps"} or re.fullmatch(r"\d+", text):
        return text
    if re.fullmatch(r"\d+(,\d+)+", text):
        # Ultralytics runs DDP in child processes that get none of this entrypoint's callbacks
        # (epoch lines, graceful stop), so one job trains on one device.
        raise ValueProblem(f"multi-GPU (DDP) is not supported here; pick one CUDA index, got {value!r}")
    raise ValueProblem(f"expected auto, cpu or one CUDA index like 0, got {value!r}")


def _model(value: Any) -> str:
    text = str(value).strip()
    stem = text.removesuffix(".yaml").removesuffix(".pt")
    if not MODEL_ARCH.match(stem):
        raise ValueProblem(f"expected a model like yolo26n (yolo26/yolo11/yolov8 + n/s/m/l/x), got {value!r}")
    return text if text.endswith(".pt") else stem


def _export_imgsz(value: Any) -> tuple[int, int] | None:
    """`auto` (None) or `H,W` (also `[H, W]`, `HxW`, or one number for a square)."""
    if isinstance(value, (list, tuple)):
        parts = [str(v) for v in value]
    else:
        text = str(value).strip().lower()
        if text == "auto":
            return None
        parts = [p for p in re.split(r"[,x\s]+", text.strip("[]()")) if p]
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2:
        raise ValueProblem(f"expected 'auto' or 'H,W', got {value!r}")
    try:
        height, width = (_imgsz(p) for p in parts)
    except ValueProblem as exc:
        raise ValueProblem(f"expected 'auto' or 'H,W' with multiples of {STRIDE}: {exc}") from None
    return height, width


def _opset(value: Any) -> int | None:
    if str(value).strip().lower() in {"auto", "none", ""}:
        return None
    number = _as_int(value)
    if not 11 <= number <= 23:
        raise ValueProblem(f"expected auto or an ONNX opset in 11..23, got {number}")
    return number


def _safe_name(value: Any) -> str:
    text = str(value).strip()
    if not SAFE_NAME.match(text):
        raise ValueProblem(f"expected letters, digits, '.', '_' or '-' (max 100), got {value!r}")
    return text


def _optional_safe_name(value: Any) -> str | None:
    text = str(value).strip()
    return None if text.lower() in {"", "auto"} else _safe_name(text)


def _path(value: Any) -> str | None:
    text = str(value).strip()
    return text or None


# ---------------------------------------------------------------------------------------------
# The allowlist. Ultralytics' own names and meanings; see its docs for what each does.

_P = Param
PARAMS: tuple[Param, ...] = (
    # Schedule and size
    _P("epochs", _int_at_least(1), 100, "training epochs"),
    _P("imgsz", _imgsz, 640, f"training image size (long side), multiple of {STRIDE}"),
    _P("batch", _batch, None, "batch size or 'auto' (CUDA: AutoBatch to ~60% of memory; CPU: 16)"),
    _P("patience", _int_at_least(0), 100, "early-stop after N epochs without improvement (0: never)"),
    _P(
        "lr0",
        _float_in(0.0, 1.0, low_open=True),
        0.01,
        "initial learning rate (needs --optimizer other than auto)",
    ),
    _P("lrf", _float_in(0.0, 1.0, low_open=True), 0.01, "final LR as a fraction of lr0"),
    _P("momentum", _float_in(0.0, 1.0), 0.937, "SGD momentum / Adam beta1"),
    _P("weight_decay", _float_in(0.0, 0.1), 0.0005, "weight decay"),
    _P("warmup_epochs", _float_in(0.0), 3.0, "warm-up epochs (fractions allowed)"),
    _P("optimizer", _choice(OPTIMIZERS), "auto", "optimizer"),
    _P("cos_lr", _as_bool, False, "cosine LR schedule"),
    _P("close_mosaic", _int_at_least(0), 10, "turn mosaic off for the last N epochs"),
    _P("seed", _int_at_least(0), 0, "random seed"),
    _P("deterministic", _as_bool, True, "deterministic algorithms (slower on GPU)"),
    _P("fraction", _float_in(0.0, 1.0, low_open=True), 1.0, "fraction of the training set to use"),
    _P("freeze", _int_at_least(0), 0, "freeze the first N layers (fine-tuning)"),
    _P("box", _float_in(0.0, low_open=True), 7.5, "box loss gain"),
    _P("cls", _float_in(0.0, low_open=True), 0.5, "class loss gain"),
    _P("dfl", _float_in(0.0, low_open=True), 1.5, "DFL (YOLO11) / L1 (YOLO26) loss gain"),
    _P("nbs", _int_at_least(1), 64, "nominal batch size for gradient accumulation"),
    # Augmentation (document pages: never mirrored, rarely rotated)
    _P("mosaic", _float_in(0.0, 1.0), 1.0, "mosaic probability"),
    _P("mixup", _float_in(0.0, 1.0), 0.0, "mixup probability"),
    _P("fliplr", _float_in(0.0, 1.0), 0.0, "left-right flip probability (0: text is never mirrored)"),
    _P("flipud", _float_in(0.0, 1.0), 0.0, "up-down flip probability"),
    _P("degrees", _float_in(0.0, 180.0), 0.0, "rotation (+/- degrees)"),
    _P("shear", _float_in(0.0, 90.0), 0.0, "shear (+/- degrees)"),
    _P("perspective", _float_in(0.0, 0.001), 0.0, "perspective fraction"),
    _P("scale", _float_in(0.0, 0.99), 0.5, "scale gain (+/-)"),
    _P("translate", _float_in(0.0, 1.0), 0.1, "translation fraction (+/-)"),
    _P("hsv_h", _float_in(0.0, 1.0), 0.015, "hue augmentation fraction"),
    _P("hsv_s", _float_in(0.0, 1.0), 0.7, "saturation augmentation fraction"),
    _P("hsv_v", _float_in(0.0, 1.0), 0.4, "brightness augmentation fraction"),
    # Data loading and device
    _P("rect", _as_bool, False, "rectangular batches (no mosaic, no shuffle)"),
    _P("cache", _cache, False, "cache decoded images: false, ram or disk"),
    _P("workers", _workers, None, "dataloader workers or 'auto' (CUDA: min(8, cores); CPU: 0)"),
    _P("device", _device, None, "auto, cpu, or one CUDA index"),
    _P("amp", _as_bool, True, "mixed precision on CUDA"),
    _P("plots", _as_bool, True, "draw Ultralytics plots (PR curve, confusion matrix, ...)"),
    # This entrypoint's own knobs
    _P("model", _model, "yolo26n", "architecture trained from scratch (yolo26n -> yolo26n.yaml)", False),
    _P(
        "weights",
        _path,
        None,
        "fine-tune from this .pt file (else the weights channel)",
        False,
        False,
        "none",
    ),
    _P("allow_downloads", _as_bool, False, "allow Ultralytics' named weights (--model yolo26n.pt)", False),
    _P("run_name", _safe_name, "train", "run directory under the checkpoint dir", False),
    _P("model_name", _safe_name, "invoice-fields", "model_name in the ONNX metadata", False),
    _P("model_version", _optional_safe_name, None, "version in the ONNX metadata (job name/time)", False),
    _P("export_imgsz", _export_imgsz, None, "ONNX input 'H,W' or 'auto' (median page aspect)", False),
    _P("end2end", _as_bool, False, "export the NMS-free [1,300,6] head instead of the raw head", False),
    _P("opset", _opset, None, "ONNX opset or 'auto' (Ultralytics' choice for the installed onnx)", False),
    _P("simplify", _as_bool, True, "simplify the ONNX graph with onnxslim", False),
    _P(
        "int8",
        _as_bool,
        True,
        "also write model.int8.onnx (static INT8; a failure is logged, not fatal)",
        False,
    ),
    _P(
        "int8_calibration",
        _choice(("minmax", "percentile", "entropy")),
        "minmax",
        "INT8 calibration method (on up to 32 training pages)",
        False,
    ),
    # Locations (flags with SageMaker and local defaults; see sm_env)
    _P("data", _path, None, "dataset dir with data.yaml, or the yaml [SM_CHANNEL_TRAINING]", False, True),
    _P("validation", _path, None, "separate validation split [SM_CHANNEL_VALIDATION]", False, True, "none"),
    _P(
        "weights_dir",
        _path,
        None,
        "dir holding the fine-tuning .pt [SM_CHANNEL_WEIGHTS]",
        False,
        True,
        "none",
    ),
    _P("model_dir", _path, None, "where the model artefacts go [SM_MODEL_DIR]", False, True),
    _P("output_dir", _path, None, "extra outputs, runtime data.yaml [SM_OUTPUT_DATA_DIR]", False, True),
    _P("checkpoint_dir", _path, None, "Ultralytics runs, synced to S3 [/opt/ml/checkpoints]", False, True),
    _P("failure_file", _path, None, "FailureReason file [<output-dir>/../failure]", False, True),
    _P(
        "hyperparameters_file",
        _path,
        None,
        "JSON hyperparameters [input/config/hyperparameters.json]",
        False,
        True,
    ),
)
BY_NAME: dict[str, Param] = {p.name: p for p in PARAMS}
DEFAULTS: dict[str, Any] = {p.name: p.default for p in PARAMS}
ULTRALYTICS_KEYS: tuple[str, ...] = tuple(p.name for p in PARAMS if p.ultralytics)


def canonical(key: str) -> str:
    """`model-version`, `--model_version` -> `model_version`."""
    return key.strip().lstrip("-").replace("-", "_")


def decode_json_value(raw: Any) -> Any:
    """hyperparameters.json values are JSON-encoded strings; plain strings (boto3 callers) pass through."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _unknown(key: str, source: str) -> Problem:
    close = difflib.get_close_matches(key, BY_NAME, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return Problem("unknown_hyperparameter", source, f"{key!r} is not an allowed hyperparameter{hint}")


def split_argv(argv: Iterable[str]) -> tuple[dict[str, str], list[Problem]]:
    """`--key value`, `--key=value` and bare boolean `--flag` -> {key: raw}; later keys win.

    Hand-rolled instead of argparse so every problem is collected (argparse stops at the first)
    and no prefix of a name is ever accepted for it.
    """
    values: dict[str, str] = {}
    problems: list[Problem] = []
    tokens = list(argv)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("-") or token in {"-", "--"}:
            problems.append(Problem("unexpected_argument", "command line", f"{token!r} is not a --key"))
            i += 1
            continue
        key, eq, inline = token.partition("=")
        name = canonical(key)
        if eq:
            raw: str | None = inline
            i += 1
        elif i + 1 < len(tokens) and not _looks_like_key(tokens[i + 1]):
            raw = tokens[i + 1]
            i += 2
        else:
            raw = None
            i += 1
        if name.startswith(SAGEMAKER_PREFIX):
            values[name] = raw or ""  # kept so parse() can report it as ignored
            continue
        if raw is None:
            if BY_NAME.get(name) is not None and BY_NAME[name].coerce is _as_bool:
                raw = "true"  # bare boolean flag
            else:
                problems.append(Problem("missing_value", f"--{name}", "needs a value"))
                continue
        values[name] = raw
    return values, problems


def _looks_like_key(token: str) -> bool:
    """`--epochs` is a key; `-1` or `-0.5` is a value."""
    return token.startswith("-") and not re.fullmatch(r"-\d+(\.\d*)?([eE][-+]?\d+)?", token)


def parse(
    sources: Iterable[tuple[str, Mapping[str, Any]]],
) -> tuple[dict[str, Any], list[Problem], list[str]]:
    """Merge raw values from each (source name, mapping), later sources win; coerce and check all.

    Returns every allowed key (defaults filled in), the full list of problems, and the
    SageMaker keys that were ignored.
    """
    raw: dict[str, tuple[str, Any]] = {}
    problems: list[Problem] = []
    ignored: set[str] = set()
    for source, mapping in sources:
        for key, value in mapping.items():
            name = canonical(str(key))
            if name.startswith(SAGEMAKER_PREFIX):
                ignored.add(name)  # SageMaker's own keys (sagemaker_program, sagemaker_region, ...)
                continue
            if name not in BY_NAME:
                problems.append(_unknown(name, source))
                continue
            raw[name] = (source, value)
    values = dict(DEFAULTS)
    for name, (source, value) in raw.items():
        try:
            values[name] = BY_NAME[name].coerce(value)
        except ValueProblem as exc:
            problems.append(Problem("invalid_hyperparameter", f"{name} ({source})", str(exc)))
    if values["optimizer"] == "auto":  # Ultralytics would drop these with only a log line
        for name in ("lr0", "momentum"):
            if name in raw:
                problems.append(
                    Problem(
                        "ignored_by_optimizer_auto",
                        f"{name} ({raw[name][0]})",
                        "optimizer=auto picks its own lr0 and momentum; set --optimizer too",
                    )
                )
    return values, problems, sorted(ignored)


def help_text() -> str:
    """The allowlist, for `--help` and the README."""
    width = max(len(p.name) for p in PARAMS) + 2
    lines = ["Hyperparameters and flags (--key value; '-' and '_' are interchangeable):"]
    for p in PARAMS:
        default = p.shown_default if p.default is None else p.default
        lines.append(f"  --{p.name.replace('_', '-'):<{width}} {p.help} (default: {default})")
    return "\n".join(lines)
