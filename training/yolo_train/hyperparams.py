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

import contextlib
import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from yolo_train import hp_rules
from yolo_train.errors import Problem

SAGEMAKER_PREFIX = "sagemaker_"
MODEL_ARCH = re.compile(rf"^(?:{'|'.join(hp_rules.ARCH_FAMILIES)})[{hp_rules.ARCH_SIZES}]$")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
STRIDE = hp_rules.STRIDE


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
# The training knobs' types and bounds come from `hp_rules` (shared with POST /train); the string
# forms are turned into typed values here and the rule decides.

_INT = re.compile(r"[-+]?\d+")
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueProblem(f"expected true or false, got {value!r}")


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueProblem(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not _INT.fullmatch(text):
        raise ValueProblem(f"expected an integer, got {value!r}")
    return int(text)


def _typed(rule: hp_rules.Rule, value: Any) -> Any:
    """A command-line or JSON-decoded string as the typed value JSON would have carried."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if rule.kind == "int" and _INT.fullmatch(text):
        return int(text)
    if rule.kind == "float":
        with contextlib.suppress(ValueError):
            return float(text)
    elif rule.kind in {"bool", "cache"}:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE or (rule.kind == "cache" and lowered == "none"):
            return False
    return value


def _from_rule(rule: hp_rules.Rule) -> Coerce:
    def coerce(value: Any) -> Any:
        try:
            return rule.check(_typed(rule, value))
        except ValueError as exc:
            raise ValueProblem(str(exc)) from None

    return coerce


def _choice(options: Iterable[str]) -> Coerce:
    """One of `options` (case-insensitive), returned as spelled there."""
    allowed = tuple(options)

    def coerce(value: Any) -> str:
        text = str(value).strip()
        for option in allowed:
            if text.lower() == option.lower():
                return option
        raise ValueProblem(f"expected one of {', '.join(allowed)}, got {value!r}")

    return coerce


def _imgsz(value: Any) -> int:
    number = _as_int(value)
    if number < STRIDE or number % STRIDE:
        raise ValueProblem(f"must be a positive multiple of {STRIDE}, got {number}")
    return number


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
    if max(height, width) > hp_rules.MAX_IMGSZ:
        raise ValueProblem(f"expected 'auto' or 'H,W' of at most {hp_rules.MAX_IMGSZ}, got {value!r}")
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
# The allowlist: the training knobs of `hp_rules.RULES`, then this entrypoint's own.

_P = Param
PARAMS: tuple[Param, ...] = (
    *(_P(r.name, _from_rule(r), r.default, f"{r.help}; {r.expected()}") for r in hp_rules.RULES),
    _P("device", _device, None, "auto, cpu, or one CUDA index"),
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
    _P(
        "weights_uri",
        _path,
        None,
        "S3 URI the weights channel was filled from (set by the training API; checked on SageMaker)",
        False,
        False,
        "none",
    ),
    _P(
        "trusted_weights_prefixes",
        _path,
        None,
        "comma-separated s3:// prefixes weights may come from (set by the training API)",
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
# Names a bare `--flag` sets to true.
BOOLEANS: frozenset[str] = frozenset(
    {r.name for r in hp_rules.RULES if r.kind == "bool"} | {p.name for p in PARAMS if p.coerce is _as_bool}
)


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
            if name in BOOLEANS:
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
        for name in hp_rules.NEED_EXPLICIT_OPTIMIZER:
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
