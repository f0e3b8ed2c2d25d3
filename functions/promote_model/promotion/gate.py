"""The promotion gate: is a candidate good enough, and not worse than what is served now? Pure."""

from __future__ import annotations

from dataclasses import dataclass

from promotion.schemas import ModelMetrics


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    reasons: tuple[str, ...]
    candidate: float
    current: float | None
    threshold: float
    floor: float | None  # the lowest mAP50-95 the regression margin accepts (None: no current model)

    def as_json(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "reasons": list(self.reasons),
            "candidate_map50_95": self.candidate,
            "current_map50_95": self.current,
            "min_map50_95": self.threshold,
            "regression_floor": self.floor,
        }


def evaluate(
    candidate: ModelMetrics, current: ModelMetrics | None, *, min_map50_95: float, max_regression: float
) -> GateDecision:
    """Pass when mAP50-95 >= min_map50_95 and >= current - max_regression (absolute points).

    The baked-in model has no metrics in the stack, so against it only the threshold applies.
    """
    reasons = []
    value = candidate.map50_95
    if value < min_map50_95:
        reasons.append(f"mAP50-95 {value:.4f} is below the minimum {min_map50_95:.4f}")
    floor = None
    if current is not None:
        floor = round(current.map50_95 - max_regression, 6)
        if value < floor:
            reasons.append(
                f"mAP50-95 {value:.4f} is worse than the current model's {current.map50_95:.4f} "
                f"by more than the allowed {max_regression:.4f}"
            )
    return GateDecision(
        passed=not reasons,
        reasons=tuple(reasons),
        candidate=value,
        current=current.map50_95 if current is not None else None,
        threshold=min_map50_95,
        floor=floor,
    )
