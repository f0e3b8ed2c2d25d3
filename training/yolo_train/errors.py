"""Domain errors of the training entrypoint; `yolo_train.main` maps each to an exit code once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the inputs: a stable `kind` (tests and counts key on it), where, and what."""

    kind: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.where}: {self.detail}" if self.where else f"[{self.kind}] {self.detail}"


class SetupError(Exception):
    """Inputs that make training pointless; raised before any GPU time is spent."""

    title = "training setup failed"
    exit_code = 1

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(f"{self.title}: {len(self.problems)} problem(s)")

    @property
    def kinds(self) -> set[str]:
        return {p.kind for p in self.problems}


class HyperparameterError(SetupError):
    """Unknown keys, wrong types or out-of-range values in the hyperparameters or flags."""

    title = "invalid hyperparameters"
    exit_code = 2


class DatasetError(SetupError):
    """The dataset channel is not a usable YOLO detection dataset."""

    title = "invalid dataset"
    exit_code = 3


class TrainingInterrupted(BaseException):
    """SIGTERM/SIGINT arrived (Spot interruption, StopTrainingJob, Ctrl-C).

    A BaseException like KeyboardInterrupt, so no `except Exception` inside Ultralytics swallows it.
    """

    def __init__(self, signum: int, signame: str) -> None:
        self.signum = signum
        self.signame = signame
        super().__init__(f"interrupted by {signame}")
