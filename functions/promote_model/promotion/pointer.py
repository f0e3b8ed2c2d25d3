"""The model pointer: one SSM parameter whose JSON value names the model `/infer` serves.

Why SSM Parameter Store, and its own version history rather than a second history document:
- every PutParameter makes a new parameter version, so the history is written by the same single
  call that moves the pointer: there is no second write that could fail after the first (nothing
  half-applied) and no history that can disagree with the pointer;
- GetParameterHistory reads it back (SSM keeps the newest 100 versions; older ones drop off
  unlabelled), which is all rollback and `GET /models` need;
- the inference function already reads the parameter (Powertools parameters, cached with a max
  age), and IAM scopes both functions to this one parameter ARN.
A parameter that is missing or holds something unreadable counts as "the baked-in model".

SSM has no conditional PutParameter, so `move` compares and swaps under a lease (promotion/lock.py):
a move commits only if the pointer is still at the parameter version it was prepared from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from apiedge.aws import aws_call, is_not_found, translate, translate_botocore
from promotion.errors import PointerConflict
from promotion.lock import PointerLock
from promotion.schemas import ModelPointer
from promotion.settings import Settings

log = Logger(child=True)  # the handler's structured logger
metrics = Metrics()  # Powertools metrics share one store: these reach the handler's flush

MAX_VALUE_BYTES = 4096  # SSM standard tier


@dataclass(frozen=True)
class PointerVersion:
    """One entry of the parameter's history."""

    parameter_version: int
    modified_at: datetime | None
    pointer: ModelPointer

    def as_json(self) -> dict[str, Any]:
        return {
            "parameter_version": self.parameter_version,
            "modified_at": self.modified_at.isoformat() if self.modified_at else None,
            **self.pointer.as_json(),
        }


def _parse(value: str, where: str) -> ModelPointer:
    try:
        return ModelPointer.model_validate_json(value)
    except ValidationError as exc:
        log.warning("%s is not a model pointer; treating it as the baked-in model: %s", where, exc)
        return ModelPointer()


class PointerStore:
    def __init__(self, ssm: Any, lock: PointerLock, settings: Settings) -> None:
        self._ssm = ssm
        self._lock = lock
        self.name = settings.pointer_parameter

    def current(self) -> PointerVersion:
        """The pointer now (version 0 and a baked-in pointer when the parameter does not exist)."""
        try:
            parameter = self._ssm.get_parameter(Name=self.name)["Parameter"]
        except ClientError as exc:
            if is_not_found(exc):
                return PointerVersion(0, None, ModelPointer())
            raise translate(exc, f"reading {self.name}") from exc
        except BotoCoreError as exc:
            raise translate_botocore(exc, f"reading {self.name}") from exc
        return PointerVersion(
            int(parameter["Version"]),
            parameter.get("LastModifiedDate"),
            _parse(parameter["Value"], f"{self.name} version {parameter['Version']}"),
        )

    def move(self, pointer: ModelPointer, *, base: PointerVersion) -> int:
        """Write `pointer` if the parameter is still as `base` (what the change was prepared from),
        else 409 `conflict` and nothing is written. Returns the new parameter version.

        "Still as" is SSM's version number and its modification time: a parameter deleted and
        created again restarts at version 1, and must not pass for the one that was read."""
        value = pointer.to_parameter()
        if len(value.encode()) > MAX_VALUE_BYTES:  # a programming error: the document is bounded
            raise ValueError(f"pointer document is {len(value.encode())} bytes; SSM allows {MAX_VALUE_BYTES}")
        with self._lock.held() as lease:
            now = self.current()
            if (now.parameter_version, now.modified_at) != (base.parameter_version, base.modified_at):
                raise PointerConflict(
                    f"the model pointer moved (version {base.parameter_version} -> {now.parameter_version}) "
                    "while this change was prepared; nothing was changed: re-read GET /models and retry",
                    details=[{"field": "parameter_version", "problem": f"is {now.parameter_version}"}],
                )
            lease.check()
            with aws_call(f"writing {self.name}"):
                response = self._ssm.put_parameter(Name=self.name, Value=value, Type="String", Overwrite=True)
            lease.committed_version = written = int(response["Version"])
        if written != base.parameter_version + 1 and not self._retried(
            value, base.parameter_version + 1, written
        ):
            # Only a writer that bypassed the lock (or outlived its lease) gets here: see lock.py.
            log.error(
                "model pointer written outside the lock",
                extra={"pointer": self.name, "base_version": base.parameter_version, "written": written},
            )
            metrics.add_metric(name="PointerRaceDetected", unit=MetricUnit.Count, value=1)
        return written

    def _retried(self, value: str, first: int, written: int) -> bool:
        """Whether versions first..written-1 are our own value too: the SDK retried a PutParameter
        that had timed out after SSM applied it (harmless duplicates, not a race)."""
        for version in range(first, written):
            try:
                if self._ssm.get_parameter(Name=f"{self.name}:{version}")["Parameter"]["Value"] != value:
                    return False
            except (ClientError, BotoCoreError):
                return False
        return True

    def history(self) -> list[PointerVersion]:
        """Every version SSM still keeps, newest first."""
        entries: list[PointerVersion] = []
        try:
            for page in self._ssm.get_paginator("get_parameter_history").paginate(Name=self.name):
                for item in page.get("Parameters", []):
                    where = f"{self.name} version {item['Version']}"
                    entries.append(
                        PointerVersion(
                            int(item["Version"]), item.get("LastModifiedDate"), _parse(item["Value"], where)
                        )
                    )
        except ClientError as exc:
            if is_not_found(exc):
                return []
            raise translate(exc, f"reading the history of {self.name}") from exc
        except BotoCoreError as exc:
            raise translate_botocore(exc, f"reading the history of {self.name}") from exc
        return sorted(entries, key=lambda e: e.parameter_version, reverse=True)
