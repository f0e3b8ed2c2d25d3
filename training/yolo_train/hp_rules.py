"""The one rulebook for training hyperparameters: names, kinds, bounds, defaults, API exposure.

Pure module (standard library only): the trigger Lambda ships it beside `metric_defs.py`
(functions/trigger_training/Makefile) and builds the pydantic bounds of `POST /train` from it
(`launcher.schemas`); the entrypoint builds its coercers from it (`yolo_train.hyperparams`). A value
one side accepts the other accepts too (tests/unit/test_training_hp_rules.py proves it per rule).

`check` takes a typed value (what JSON gives: int, float, bool, str) and returns the value to
use or raises ValueError; the entrypoint turns its string forms into typed values first.
Ultralytics' own names and meanings; see its docs for what each does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

STRIDE = 32  # the largest stride of the P5 YOLO models this entrypoint trains (yolo26/yolo11/yolov8)
MAX_IMGSZ = 1536
OPTIMIZERS = ("auto", "SGD", "MuSGD", "Adam", "Adamax", "AdamW", "NAdam", "RAdam", "RMSProp")
ARCH_FAMILIES = ("yolo26", "yolo11", "yolov8")
ARCH_SIZES = "nsmlx"
ARCHITECTURES: tuple[str, ...] = tuple(f"{family}{size}" for family in ARCH_FAMILIES for size in ARCH_SIZES)
DEFAULT_ARCHITECTURE = "yolo26n"
# Ultralytics ignores these with optimizer=auto (it picks its own), so both sides refuse them then.
NEED_EXPLICIT_OPTIMIZER = ("lr0", "momentum")
AUTO = "auto"

Kind = Literal["int", "float", "bool", "choice", "cache"]


@dataclass(frozen=True)
class Rule:
    """One allowed hyperparameter. `auto`: also accepts "auto" (None: the entrypoint decides)."""

    name: str
    kind: Kind
    default: Any
    help: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    multiple_of: int | None = None
    choices: tuple[str, ...] = ()
    auto: bool = False
    api: bool = False  # settable through POST /train (top level or its "hyperparameters" object)

    def expected(self) -> str:
        """What the rule accepts, in words (error messages, --help)."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "cache":
            return "false, ram or disk (true means ram)"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        what = "an integer" if self.kind == "int" else "a number"
        parts = [
            f"{sign} {_num(bound)}"
            for sign, bound in ((">=", self.ge), (">", self.gt), ("<=", self.le))
            if bound is not None
        ]
        text = f"{what} {' and '.join(parts)}".strip()
        if self.multiple_of:
            text += f", a multiple of {self.multiple_of}"
        return f"'auto' or {text}" if self.auto else text

    def check(self, value: Any) -> Any:
        """The value to use, or ValueError saying what is expected."""
        if self.auto and isinstance(value, str) and value.strip().lower() == AUTO:
            return None
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
        elif self.kind == "cache":
            return _cache(value, self.expected())
        elif self.kind == "choice":
            if isinstance(value, str):
                for option in self.choices:
                    if value.strip().lower() == option.lower():
                        return option
        elif self.kind == "int":
            if type(value) is int and self._in_bounds(value):
                return value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
            if math.isfinite(number) and self._in_bounds(number):
                return number
        raise ValueError(f"expected {self.expected()}, got {value!r}")

    def _in_bounds(self, number: float) -> bool:
        return not (
            (self.ge is not None and number < self.ge)
            or (self.gt is not None and number <= self.gt)
            or (self.le is not None and number > self.le)
            or (self.multiple_of is not None and number % self.multiple_of)
        )


def _num(value: float | None) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _cache(value: Any, expected: str) -> bool | str:
    """Ultralytics accepts False, True/'ram' and 'disk'; True is 'ram'."""
    if isinstance(value, bool):
        return "ram" if value else False
    if isinstance(value, str) and value.strip().lower() in {"ram", "disk"}:
        return value.strip().lower()
    raise ValueError(f"expected {expected}, got {value!r}")


_R = Rule
RULES: tuple[Rule, ...] = (
    # Schedule and size
    _R("epochs", "int", 100, "training epochs", ge=1, le=1000, api=True),
    _R(
        "imgsz",
        "int",
        640,
        "training image size (long side)",
        ge=160,
        le=MAX_IMGSZ,
        multiple_of=STRIDE,
        api=True,
    ),
    _R(
        "batch",
        "int",
        None,
        "batch size or 'auto' (CUDA: AutoBatch to ~60% of memory; CPU: 16)",
        ge=1,
        le=1024,
        auto=True,
        api=True,
    ),
    _R(
        "patience",
        "int",
        100,
        "early-stop after N epochs without improvement (0: never)",
        ge=0,
        le=1000,
        api=True,
    ),
    _R(
        "lr0",
        "float",
        0.01,
        "initial learning rate (needs an optimizer other than auto)",
        gt=0,
        le=1,
        api=True,
    ),
    _R("lrf", "float", 0.01, "final LR as a fraction of lr0", gt=0, le=1, api=True),
    _R(
        "momentum",
        "float",
        0.937,
        "SGD momentum / Adam beta1 (needs an optimizer other than auto)",
        ge=0,
        le=1,
    ),
    _R("weight_decay", "float", 0.0005, "weight decay", ge=0, le=0.1),
    _R("warmup_epochs", "float", 3.0, "warm-up epochs (fractions allowed)", ge=0, le=100, api=True),
    _R("optimizer", "choice", "auto", "optimizer", choices=OPTIMIZERS, api=True),
    _R("cos_lr", "bool", False, "cosine LR schedule", api=True),
    _R("close_mosaic", "int", 10, "turn mosaic off for the last N epochs", ge=0, le=1000, api=True),
    _R("seed", "int", 0, "random seed", ge=0, le=2**31 - 1, api=True),
    _R("deterministic", "bool", True, "deterministic algorithms (slower on GPU)"),
    _R("fraction", "float", 1.0, "fraction of the training set to use", gt=0, le=1),
    _R("freeze", "int", 0, "freeze the first N layers (fine-tuning)", ge=0, le=1000),
    _R("box", "float", 7.5, "box loss gain", gt=0, le=100),
    _R("cls", "float", 0.5, "class loss gain", gt=0, le=100),
    _R("dfl", "float", 1.5, "DFL (YOLO11) / L1 (YOLO26) loss gain", gt=0, le=100),
    # Nominal batch for gradient accumulation: nbs=batch steps the optimiser every batch, which is
    # what made small document datasets converge (models/demo/MODEL_CARD.md).
    _R("nbs", "int", 64, "nominal batch size for gradient accumulation", ge=1, le=1024, api=True),
    # Augmentation (document pages: never mirrored, rarely rotated)
    _R("mosaic", "float", 1.0, "mosaic probability", ge=0, le=1, api=True),
    _R("mixup", "float", 0.0, "mixup probability", ge=0, le=1),
    _R(
        "fliplr",
        "float",
        0.0,
        "left-right flip probability (0: text is never mirrored)",
        ge=0,
        le=1,
        api=True,
    ),
    _R("flipud", "float", 0.0, "up-down flip probability", ge=0, le=1),
    _R("degrees", "float", 0.0, "rotation (+/- degrees)", ge=0, le=180, api=True),
    _R("shear", "float", 0.0, "shear (+/- degrees)", ge=0, le=90),
    _R("perspective", "float", 0.0, "perspective fraction", ge=0, le=0.001),
    _R("scale", "float", 0.5, "scale gain (+/-)", ge=0, le=0.99, api=True),
    _R("translate", "float", 0.1, "translation fraction (+/-)", ge=0, le=1, api=True),
    _R("hsv_h", "float", 0.015, "hue augmentation fraction", ge=0, le=1, api=True),
    _R("hsv_s", "float", 0.7, "saturation augmentation fraction", ge=0, le=1, api=True),
    _R("hsv_v", "float", 0.4, "brightness augmentation fraction", ge=0, le=1, api=True),
    # Data loading and device
    _R("rect", "bool", False, "rectangular batches (no mosaic, no shuffle)", api=True),
    _R("cache", "cache", False, "cache decoded images: false, ram or disk", api=True),
    _R(
        "workers",
        "int",
        None,
        "dataloader workers or 'auto' (CUDA: min(8, cores); CPU: 0)",
        ge=0,
        le=64,
        auto=True,
        api=True,
    ),
    _R("amp", "bool", True, "mixed precision on CUDA"),
    _R("plots", "bool", True, "draw Ultralytics plots (PR curve, confusion matrix, ...)"),
)
BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}
# POST /train carries these three at the top level; the other API rules go in "hyperparameters".
TOP_LEVEL = ("epochs", "imgsz", "batch")
API_RULES: tuple[Rule, ...] = tuple(r for r in RULES if r.api)
