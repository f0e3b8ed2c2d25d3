"""MetricDefinitions regexes against the lines the training writes (formatted here; the real log is
checked in tests/integration/test_training_run.py)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from yolo_train import metric_defs
from yolo_train.metric_defs import METRIC_DEFINITIONS, format_epoch_line, format_final_line

pytestmark = pytest.mark.unit

LOSSES = {"box_loss": 1.2345, "cls_loss": 2.5, "l1_loss": 0.0412}
VAL = {"precision": 0.61, "recall": 0.55, "mAP50": 0.41, "mAP50-95": 0.22}


def _by_name() -> dict[str, re.Pattern[str]]:
    return {d["Name"]: re.compile(d["Regex"]) for d in METRIC_DEFINITIONS}


def _epoch_line(lr: float = 0.00123) -> str:
    return format_epoch_line(epoch=3, epochs=50, losses=LOSSES, val=VAL, lr=lr, epoch_time_s=5.1)


def test_definitions_have_unique_names_and_sagemaker_shape() -> None:
    names = [d["Name"] for d in METRIC_DEFINITIONS]
    assert len(names) == len(set(names))
    assert all(set(d) == {"Name", "Regex"} and len(d["Regex"]) <= 500 for d in METRIC_DEFINITIONS)
    assert {"val:mAP50", "val:mAP50-95", "val:precision", "val:recall", "final:mAP50"} <= set(names)


@pytest.mark.parametrize("lr", [0.00123, 1.5e-05, 0.0])
def test_each_epoch_metric_matches_once_with_its_value(lr: float) -> None:
    line = _epoch_line(lr)
    expected = {
        "train:epoch": 3.0,
        **{f"train:{k}": v for k, v in LOSSES.items()},
        **{f"val:{k}": v for k, v in VAL.items()},
        "train:lr": lr,
        "train:epoch_time_s": 5.1,
    }
    for name, pattern in _by_name().items():
        matches = pattern.findall(line)
        if name in expected:
            assert len(matches) == 1, name
            assert float(matches[0]) == pytest.approx(expected[name], rel=1e-3), name
        else:  # dfl_loss (not a YOLO26 loss) and the final-line metrics
            assert matches == [], name


def test_map50_does_not_read_the_map50_95_value() -> None:
    line = format_epoch_line(
        epoch=1, epochs=2, losses=LOSSES, val={**VAL, "mAP50": 0.9, "mAP50-95": 0.3}, lr=0.01, epoch_time_s=1
    )
    assert float(_by_name()["val:mAP50"].search(line).group(1)) == 0.9
    assert float(_by_name()["val:mAP50-95"].search(line).group(1)) == 0.3


def test_final_line_matches_only_final_definitions() -> None:
    line = format_final_line(epochs_done=50, epochs=50, val=VAL, version="v1")
    for name, pattern in _by_name().items():
        found = pattern.findall(line)
        if name.startswith("final:"):
            assert [float(v) for v in found] == [pytest.approx(VAL[name.split(":", 1)[1]])]
        else:
            assert found == [], name


def test_ultralytics_table_and_args_lines_do_not_match() -> None:
    noise = [
        "      Epoch    GPU_mem   box_loss   cls_loss    l1_loss  Instances       Size",
        "        1/3         0G      5.217      4.936    0.06322         18        160: 100%",
        "Class Images Instances Box(P R mAP50 mAP50-95): 100%",
        "engine/trainer: epochs=3, patience=100, batch=16, imgsz=160, lr0=0.01, box=7.5",
        "Resuming training last.pt from epoch 2 to 3 total epochs",
    ]
    assert [line for line in noise for pattern in _by_name().values() if pattern.search(line)] == []


def test_key_with_regex_characters_is_refused() -> None:
    with pytest.raises(ValueError, match="must be letters"):
        metric_defs._definition("x", metric_defs._EPOCH_ANCHOR, "mAP(50)")


def test_importable_without_torch_or_ultralytics() -> None:
    # The trigger Lambda imports this module; it must not pull in the training stack.
    code = (
        "import sys, yolo_train.metric_defs as m; "
        "assert m.METRIC_DEFINITIONS; "
        "print(sorted(k for k in ('torch', 'ultralytics', 'cv2', 'numpy') if k in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
