"""One rulebook (yolo_train.hp_rules): POST /train and the entrypoint accept and refuse the same values."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from pydantic import ValidationError

from launcher.schemas import TrainRequest, UltralyticsArgs
from launcher.settings import Settings
from yolo_train import hp_rules, hyperparams

pytestmark = pytest.mark.unit

SETTINGS = Settings.from_env(
    {
        "STAGE": "dev",
        "STACK_NAME": "invoice-yolo-dev",
        "DATA_BUCKET": "iy-data",
        "MODELS_BUCKET": "iy-models",
        "CHECKPOINTS_BUCKET": "iy-checkpoints",
        "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/iy-sagemaker",
        "TRAINING_IMAGE_URI": "763104351884.dkr.ecr.eu-north-1.amazonaws.com/pytorch-training:2.10.0",
        "TRAINING_INSTANCE_TYPES": "ml.g4dn.xlarge",
        "DEFAULT_INSTANCE_TYPE": "ml.g4dn.xlarge",
        "TRAINING_JOB_PREFIX": "invoice-yolo-dev",
        "IDEMPOTENCY_TABLE": "iy-idempotency",
    }
)


def _probes(rule: hp_rules.Rule) -> list[Any]:
    """Values on and around every bound of the rule, and of the wrong JSON types."""
    values: list[Any] = [True, False, None, "x", "auto", "ram", "disk", [], {}, math.nan, math.inf]
    values += [o for c in rule.choices for o in (c, c.lower())]
    step = 1 if rule.kind == "int" else 1e-9
    for bound in (rule.ge, rule.gt, rule.le):
        if bound is not None:
            values += [bound, bound - step, bound + step, int(bound), float(bound)]
    if rule.multiple_of:
        values += [rule.multiple_of * 10, rule.multiple_of * 10 + 1, rule.multiple_of * 10.0]
    values += [0, 1, -1, 0.5, 2.5, 10**6]
    return [v for v in values if v is not None]


def _api_accepts(rule: hp_rules.Rule, value: Any) -> bool:
    extra = {"optimizer": "SGD"} if rule.name in hp_rules.NEED_EXPLICIT_OPTIMIZER else {}
    if rule.name in hp_rules.TOP_LEVEL:
        body = {"dataset": "s3://iy-data/d/", rule.name: value, "hyperparameters": extra}
    else:
        body = {"dataset": "s3://iy-data/d/", "hyperparameters": {rule.name: value, **extra}}
    try:
        TrainRequest.model_validate(body, context={"settings": SETTINGS}, strict=True)
    except ValidationError:
        return False
    return True


def _entrypoint_accepts(rule: hp_rules.Rule, value: Any) -> bool:
    """The launcher JSON-encodes each value; the job reads it back from hyperparameters.json typed."""
    extra = {"optimizer": "SGD"} if rule.name in hp_rules.NEED_EXPLICIT_OPTIMIZER else {}
    decoded = hyperparams.decode_json_value(json.dumps(value))
    _, problems, _ = hyperparams.parse([("hyperparameters.json", {rule.name: decoded, **extra})])
    return not problems


def _entrypoint_accepts_argv(rule: hp_rules.Rule, value: Any) -> bool:
    """The framework container's command line: str() of the decoded value (True, 0.5, auto)."""
    extra = {"optimizer": "SGD"} if rule.name in hp_rules.NEED_EXPLICIT_OPTIMIZER else {}
    cli, problems = hyperparams.split_argv(
        [f"--{rule.name}", str(value), *(f"--{k}={v}" for k, v in extra.items())]
    )
    _, more, _ = hyperparams.parse([("command line", cli)])
    return not problems and not more


@pytest.mark.parametrize("rule", hp_rules.API_RULES, ids=lambda r: r.name)
def test_the_api_and_the_entrypoint_accept_the_same_values(rule: hp_rules.Rule) -> None:
    probes = _probes(rule)
    disagree = [v for v in probes if _api_accepts(rule, v) != _entrypoint_accepts(rule, v)]
    assert disagree == []
    # The command line is untyped (0 and false read alike there), so it may accept more, never less.
    lost = [v for v in probes if _api_accepts(rule, v) and not _entrypoint_accepts_argv(rule, v)]
    assert lost == []
    # Each rule both accepts and refuses something (the probes reach both sides of its bounds).
    verdicts = {_api_accepts(rule, v) for v in probes}
    assert verdicts == {True, False}


def test_every_api_rule_is_a_request_field_and_nothing_else_is() -> None:
    nested = {r.name for r in hp_rules.API_RULES} - set(hp_rules.TOP_LEVEL)
    assert set(UltralyticsArgs.model_fields) == nested
    assert set(hp_rules.TOP_LEVEL) <= set(TrainRequest.model_fields)


def test_every_rule_is_an_entrypoint_hyperparameter_with_its_default() -> None:
    for rule in hp_rules.RULES:
        assert hyperparams.BY_NAME[rule.name].default == rule.default
        assert rule.name in hyperparams.ULTRALYTICS_KEYS


@pytest.mark.parametrize(("name", "value"), [("epochs", 1001), ("imgsz", 128), ("imgsz", 1568)])
def test_the_bounds_that_used_to_drift_now_hold_on_both_sides(name: str, value: int) -> None:
    rule = hp_rules.BY_NAME[name]
    assert not _api_accepts(rule, value)
    assert not _entrypoint_accepts(rule, value)


def test_the_lr0_optimizer_rule_is_shared() -> None:
    with pytest.raises(ValidationError, match="explicit optimizer"):
        TrainRequest.model_validate(
            {"dataset": "s3://iy-data/d/", "hyperparameters": {"lr0": 0.01}},
            context={"settings": SETTINGS},
            strict=True,
        )
    _, problems, _ = hyperparams.parse([("probe", {"lr0": "0.01"})])
    assert [p.kind for p in problems] == ["ignored_by_optimizer_auto"]
