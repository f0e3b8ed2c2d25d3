"""Promotion use cases: a finished training job (event), promote a version, roll back, list.

Order of every change, so that a failure at any step leaves the served model as it was:
1. read and validate everything (metrics, gate, the current pointer at parameter version v,
   the caller's expected version);
2. copy model.onnx, then metrics.json, to `models/<version>/` (not served until 4.);
3. check the model the pointer will name: this stack's `models/<version>/model.onnx`, and its
   stored bytes hash to the sha256 recorded when it was published;
4. write the pointer if it is still at v (PointerStore.move: a lease, a version check, one
   PutParameter: the commit point); else 409 `conflict`. Nothing is written after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from apiedge.aws import is_not_found, translate, translate_botocore
from promotion import gate
from promotion.artifact import ModelArchive, S3Object
from promotion.errors import (
    ArtifactInvalid,
    InvalidRequest,
    NothingToRollBack,
    PointerConflict,
    PreviousModelMissing,
    VersionNotFound,
)
from promotion.pointer import PointerStore, PointerVersion
from promotion.schemas import VERSION_PATTERN, Action, ModelMetrics, ModelPointer, ModelRef, TrainingJobState
from promotion.settings import Settings
from promotion.store import ModelStore

EVENTBRIDGE_ACTOR = "eventbridge"
_VERSION = re.compile(VERSION_PATTERN)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _metrics(content: dict[str, Any], where: str) -> ModelMetrics:
    try:
        return ModelMetrics.model_validate(content)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise ArtifactInvalid(f"{where}: metrics.json is not usable ({problems})") from exc


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """What `GET /models` shows of a metrics.json (per-class numbers stay in the file)."""
    keys = ("mAP50-95", "mAP50", "precision", "recall", "epochs", "epochs_completed", "imgsz", "architecture")
    return {k: metrics[k] for k in keys if k in metrics}


class Promoter:
    def __init__(
        self,
        settings: Settings,
        s3: Any,
        sagemaker: Any,
        store: ModelStore,
        pointers: PointerStore,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._settings = settings
        self._s3 = s3
        self._sagemaker = sagemaker
        self._store = store
        self._pointers = pointers
        self._clock = clock

    # ------------------------------------------------------------------ the EventBridge path

    def on_state_change(self, job: TrainingJobState) -> dict[str, Any]:
        """Gate and promote a job that finished; returns the outcome (never raises for a bad model)."""
        name = job.TrainingJobName
        if job.TrainingJobStatus != "Completed" or not name.startswith(self._settings.job_name_prefix + "-"):
            return {"outcome": "ignored", "job_name": name, "status": job.TrainingJobStatus}
        current = self._pointers.current()
        if current.pointer.version == name or any(
            e.pointer.version == name for e in self._pointers.history()
        ):
            # EventBridge delivers at least once: a replay must not promote an old model again.
            return {"outcome": "already_promoted", "job_name": name}
        archive = ModelArchive(self._s3, self._artifact(name, job.artifact_uri))
        content, raw = archive.metrics()
        candidate = _metrics(content, archive.location.uri)
        decision = gate.evaluate(
            candidate,
            self._baseline(current),
            min_map50_95=self._settings.min_map50_95,
            max_regression=self._settings.max_regression,
        )
        if not decision.passed:
            return {"outcome": "rejected", "job_name": name, "gate": decision.as_json()}
        pointer, written = self._publish_and_point(
            name, archive, raw, candidate, current, action="gate", actor=EVENTBRIDGE_ACTOR, reason=None
        )
        return {
            "outcome": "promoted",
            "job_name": name,
            "gate": decision.as_json(),
            "parameter_version": written,
            "pointer": pointer.as_json(),
        }

    def _baseline(self, current: PointerVersion) -> ModelMetrics | None:
        """What a candidate must not fall behind: the served model's metrics; for the baked-in model
        (whose metrics no pointer carries) the template's figure, so a fresh stack never trades
        its shipped model for a worse one."""
        if current.pointer.metrics is not None:
            return current.pointer.metrics
        if current.pointer.baked_in and self._settings.baked_in_map50_95 > 0:
            return ModelMetrics(map50_95=self._settings.baked_in_map50_95)
        return None

    # ------------------------------------------------------------------ the API

    def promote(
        self, version: str, *, actor: str, reason: str | None, expected_version: int | None = None
    ) -> dict[str, Any]:
        """Serve `version` (a published model, or a finished job of this stack, copied now).

        A person's decision: the gate does not apply, the caller overrides it.
        """
        self._check_version(version)
        current = self._pointers.current()
        _expect(current, expected_version)
        if current.pointer.version == version:
            return {
                "changed": False,
                "parameter_version": current.parameter_version,
                "current": current.pointer.as_json(),
            }
        published = self._store.published(version)
        if published is not None:
            model = self._store.model_object(version)
            self._store.verify(model, published.sha256, what=f"version {version}")
            pointer, written = self._point(
                version,
                model.uri,
                _metrics(published.metrics, version),
                current,
                sha256=published.sha256,
                action="promote",
                actor=actor,
                reason=reason,
            )
        else:
            archive = ModelArchive(self._s3, self._artifact(version, None))
            content, raw = archive.metrics()
            candidate = _metrics(content, archive.location.uri)
            pointer, written = self._publish_and_point(
                version, archive, raw, candidate, current, action="promote", actor=actor, reason=reason
            )
        return {
            "changed": True,
            "parameter_version": written,
            "current": pointer.as_json(),
            "previous": current.pointer.ref().model_dump(by_alias=True),
        }

    def rollback(
        self, *, actor: str, reason: str | None, expected_version: int | None = None
    ) -> dict[str, Any]:
        """Serve the model that was served before the current one, as it was then."""
        current = self._pointers.current()
        _expect(current, expected_version)
        target = current.pointer.previous
        if target is None:
            raise NothingToRollBack("the current model has no previous version to roll back to")
        # The pointer as it was when the target was last served (so its own `previous` comes back
        # too: rolling back again walks further back instead of toggling between two versions).
        then = next(
            (
                e.pointer
                for e in self._pointers.history()
                if e.parameter_version != current.parameter_version and e.pointer.version == target.version
            ),
            None,
        )
        restored = then or ModelPointer(
            version=target.version, model_uri=target.model_uri, metrics=target.metrics
        )
        if not (target.model_uri is None and restored.model_uri is None):  # the baked-in model: no file
            self._check_served_before(target, restored)
        pointer = restored.model_copy(
            update={"promoted_at": self._clock(), "action": "rollback", "actor": actor, "reason": reason}
        )
        written = self._write(pointer, current)
        return {
            "changed": True,
            "parameter_version": written,
            "current": pointer.as_json(),
            "rolled_back_from": current.pointer.ref().model_dump(by_alias=True),
        }

    def _check_served_before(self, target: ModelRef, restored: ModelPointer) -> None:
        """The rollback target is this stack's model (whatever the old documents say) and still
        the file that was served: its sha256 as that pointer recorded it, else as published."""
        what = f"the previous model {target.version}"
        model = self._store.pinned(target.model_uri, target.version, what=what)
        if restored.model_uri != target.model_uri:
            self._store.pinned(restored.model_uri, restored.version, what=what)
        sha256 = restored.sha256
        if sha256 is None and target.version is not None:
            published = self._store.published(target.version)
            sha256 = published.sha256 if published is not None else None
        self._store.verify(model, sha256, what=what, missing=PreviousModelMissing)

    def listing(self, limit: int) -> dict[str, Any]:
        """`GET /models`: the pointer, the published versions with metrics, the pointer's history."""
        if not 1 <= limit <= 100:
            raise InvalidRequest("limit must be 1-100")
        current = self._pointers.current()
        versions = [
            {**v, "metrics": _summary(v["metrics"]), "current": v["version"] == current.pointer.version}
            for v in self._store.versions(limit)
        ]
        history = self._pointers.history()[: self._settings.history_limit]
        return {
            "current": {"parameter_version": current.parameter_version, **current.pointer.as_json()},
            "baked_in": current.pointer.baked_in,
            "versions": versions,
            "history": [e.as_json() for e in history],
        }

    # ------------------------------------------------------------------ steps

    def _check_version(self, version: str) -> None:
        if not _VERSION.match(version):
            raise InvalidRequest(f"{version!r} is not a model version (a training job name)")

    def _artifact(self, job_name: str, uri: str | None) -> S3Object:
        """The job's model.tar.gz; only this stack's training output is ever read."""
        if uri is None:
            uri = self._describe_artifact(job_name)
        try:
            location = S3Object.parse(uri)
        except ValueError as exc:
            raise ArtifactInvalid(f"job {job_name}: {exc}") from exc
        if location.bucket != self._settings.models_bucket or not location.key.startswith(
            self._settings.output_prefix + "/"
        ):
            raise ArtifactInvalid(f"job {job_name}: {uri} is outside this stack's training output")
        return location

    def _describe_artifact(self, job_name: str) -> str:
        if not job_name.startswith(self._settings.job_name_prefix + "-"):
            raise VersionNotFound(f"no model version or training job {job_name} in this stack")
        try:
            job = self._sagemaker.describe_training_job(TrainingJobName=job_name)
        except ClientError as exc:
            if is_not_found(exc):
                raise VersionNotFound(f"no model version or training job {job_name} in this stack") from exc
            raise translate(exc, f"describing training job {job_name}") from exc
        except BotoCoreError as exc:
            raise translate_botocore(exc, f"describing training job {job_name}") from exc
        if job.get("TrainingJobStatus") != "Completed":
            raise VersionNotFound(f"training job {job_name} is {job.get('TrainingJobStatus')}, not Completed")
        uri = (job.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
        if not uri:
            raise ArtifactInvalid(f"training job {job_name} has no model artefact")
        return str(uri)

    def _publish_and_point(
        self,
        version: str,
        archive: ModelArchive,
        metrics_raw: bytes,
        metrics: ModelMetrics,
        current: PointerVersion,
        *,
        action: Action,
        actor: str,
        reason: str | None,
    ) -> tuple[ModelPointer, int]:
        """Copy the job's model out, check the stored copy is what was hashed, then point at it."""
        model_uri, sha256 = self._store.publish(version, archive, metrics_raw)
        self._store.verify(S3Object.parse(model_uri), sha256, what=f"version {version}")
        return self._point(
            version, model_uri, metrics, current, sha256=sha256, action=action, actor=actor, reason=reason
        )

    def _point(
        self,
        version: str,
        model_uri: str,
        metrics: ModelMetrics,
        current: PointerVersion,
        *,
        sha256: str | None,
        action: Action,
        actor: str,
        reason: str | None,
    ) -> tuple[ModelPointer, int]:
        self._store.pinned(model_uri, version, what=f"version {version}")
        pointer = ModelPointer(
            version=version,
            model_uri=model_uri,
            metrics=metrics,
            job_name=version,
            sha256=sha256,
            promoted_at=self._clock(),
            action=action,
            actor=actor,
            reason=reason,
            previous=current.pointer.ref(),
        )
        return pointer, self._write(pointer, current)

    def _write(self, pointer: ModelPointer, current: PointerVersion) -> int:
        """Commit, if the pointer is still as `current` (else 409 conflict, nothing written)."""
        return self._pointers.move(pointer, base=current)


def _expect(current: PointerVersion, expected_version: int | None) -> None:
    """The caller's precondition (If-Match / expected_version): the pointer version it last saw."""
    if expected_version is not None and expected_version != current.parameter_version:
        raise PointerConflict(
            f"the model pointer is at version {current.parameter_version}, not the expected "
            f"{expected_version}; nothing was changed: re-read GET /models and retry",
            details=[
                {
                    "field": "expected_version",
                    "problem": f"stale: the pointer is at {current.parameter_version}",
                }
            ],
        )
