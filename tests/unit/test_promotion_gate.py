"""The promotion gate: the threshold, the regression margin against the current model, boundaries."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from promotion.gate import evaluate
from promotion.schemas import ModelMetrics

pytestmark = pytest.mark.unit


def metrics(value: float) -> ModelMetrics:
    return ModelMetrics.model_validate({"mAP50-95": value, "mAP50": min(1.0, value + 0.2)})


def test_against_the_baked_in_model_only_the_threshold_applies() -> None:
    passed = evaluate(metrics(0.31), None, min_map50_95=0.3, max_regression=0.02)
    failed = evaluate(metrics(0.29), None, min_map50_95=0.3, max_regression=0.02)

    assert passed.passed and passed.reasons == () and passed.floor is None
    assert not failed.passed
    assert failed.reasons == ("mAP50-95 0.2900 is below the minimum 0.3000",)


def test_a_small_regression_within_the_margin_passes_a_larger_one_fails() -> None:
    current = metrics(0.60)

    within = evaluate(metrics(0.59), current, min_map50_95=0.3, max_regression=0.02)
    beyond = evaluate(metrics(0.57), current, min_map50_95=0.3, max_regression=0.02)

    assert within.passed and within.floor == pytest.approx(0.58)
    assert not beyond.passed
    assert "worse than the current model's 0.6000 by more than the allowed 0.0200" in beyond.reasons[0]


def test_the_threshold_and_the_floor_are_inclusive() -> None:
    assert evaluate(metrics(0.3), None, min_map50_95=0.3, max_regression=0.0).passed
    assert evaluate(metrics(0.5), metrics(0.5), min_map50_95=0.3, max_regression=0.0).passed


def test_both_reasons_are_reported_together() -> None:
    decision = evaluate(metrics(0.1), metrics(0.6), min_map50_95=0.3, max_regression=0.05)

    assert not decision.passed
    assert len(decision.reasons) == 2
    assert decision.as_json()["current_map50_95"] == 0.6


@pytest.mark.parametrize("bad", [math.nan, -0.1, 1.5, "high"])
def test_metrics_outside_0_1_or_not_numbers_are_refused_before_the_gate(bad: object) -> None:
    with pytest.raises(ValidationError):
        ModelMetrics.model_validate({"mAP50-95": bad})
