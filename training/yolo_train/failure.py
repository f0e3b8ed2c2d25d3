"""Turn errors into one readable message, the FailureReason file and an exit code.

SageMaker shows the text of `/opt/ml/output/failure` as the job's FailureReason (it keeps about
the first 1024 characters), so the message opens with the totals per kind and then lists examples.
Locally the file is `<output-dir>/../failure` (the same relative place as on SageMaker, where the
output dir is `/opt/ml/output/data`) unless `--failure-file` says otherwise.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from yolo_train.errors import Problem, SetupError

log = logging.getLogger(__name__)

MAX_LISTED = 25  # examples in the message; the totals line always counts everything
MAX_PER_KIND = 5
EXIT_INTERRUPTED = 143  # 128 + SIGTERM, what a shell reports for a process that stopped on it


def format_problems(title: str, problems: list[Problem]) -> str:
    """`title: N problem(s) (kind xK, ...)` and then up to MAX_LISTED examples, a few per kind."""
    counts = Counter(p.kind for p in problems)
    totals = ", ".join(f"{kind} x{n}" for kind, n in counts.most_common())
    lines = [f"{title}: {len(problems)} problem(s) ({totals})"]
    shown: Counter[str] = Counter()
    for problem in problems:
        if len(lines) > MAX_LISTED:
            break
        if shown[problem.kind] >= MAX_PER_KIND:
            continue
        shown[problem.kind] += 1
        lines.append(f"- {problem}")
    hidden = len(problems) - sum(shown.values())
    if hidden:
        lines.append(f"... and {hidden} more not listed")
    return "\n".join(lines)


def describe(error: BaseException) -> str:
    """The failure message for any error the entrypoint can end with."""
    if isinstance(error, SetupError):
        return format_problems(error.title, error.problems)
    return f"training failed: {type(error).__name__}: {error}"


def write_failure(path: Path, message: str) -> None:
    """Write the FailureReason file; never let a failure to write it hide the original error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message + "\n", encoding="utf-8")
    except OSError as exc:  # e.g. read-only location: the log still carries the message
        log.error("could not write failure file %s: %s", path, exc)
