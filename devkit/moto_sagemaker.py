"""Every touch of moto's SageMaker internals the local training backend needs, in one place.

moto (5.2.5; /work/shared/field-notes.md, "AWS tools") stores a CreateTrainingJob request and
echoes it in DescribeTrainingJob, but it marks the job Completed at once, replaces the request's
MetricDefinitions with its own, has no billable seconds and does not implement StopTrainingJob.
`devkit.local_training` really runs the job, so it takes over creating and stopping jobs and keeps
the stored job true to the run: through this module only. None of this is moto's public API: when
moto changes, this is the one file to adapt.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any


class JobRejected(Exception):
    """A request SageMaker refuses; moto answers it as a 400 ValidationException."""


class TrainingJob:
    """One training job as moto stores it, read and changed only in the ways the backend needs.

    moto's stored job is the one record of the job: the trigger's CreateTrainingJob lands there and
    DescribeTrainingJob (the trigger's `GET /train/{job}`) answers from it, so the run reads its
    request from it and writes its progress into it; no second copy can drift.
    """

    def __init__(self, job: Any) -> None:
        self._job = job  # moto's FakeTrainingJob

    # ------------------------------------------------------------------ the request (as created)

    @property
    def name(self) -> str:
        return str(self._job.training_job_name)

    @property
    def arn(self) -> str:
        return str(self._job.arn)

    @property
    def hyperparameters(self) -> dict[str, str]:
        return dict(self._job.hyper_parameters or {})

    @property
    def channels(self) -> list[dict[str, Any]]:
        """InputDataConfig."""
        return list(self._job.input_data_config or [])

    @property
    def output_path(self) -> str:
        return str(self._job.output_data_config["S3OutputPath"])

    @property
    def checkpoint_uri(self) -> str | None:
        return (self._job.checkpoint_config or {}).get("S3Uri") or None

    @property
    def max_runtime_s(self) -> float | None:
        limit = (self._job.stopping_condition or {}).get("MaxRuntimeInSeconds")
        return float(limit) if limit else None

    @property
    def metric_definitions(self) -> list[dict[str, str]]:
        return list(self._job.algorithm_specification.get("MetricDefinitions", []))

    # ------------------------------------------------------------------ state

    @property
    def status(self) -> str:
        return str(self._job.training_job_status)

    @property
    def training_started(self) -> datetime | None:
        return self._job.training_start_time

    def describe(self) -> dict[str, Any]:
        """What moto answers DescribeTrainingJob with: a state-change event's detail is that document."""
        return dict(self._job.response_object)

    def restart(self, algorithm_specification: Mapping[str, Any], at: datetime) -> None:
        """Undo what moto's create did: it stores the job Completed, with made-up times and metrics,
        and with its own MetricDefinitions in place of the request's."""
        self._update(
            algorithm_specification=dict(algorithm_specification),
            training_job_status="InProgress",
            secondary_status="Starting",
            secondary_status_transitions=[
                _transition("Starting", at, "Preparing the instances for training")
            ],
            training_start_time=None,
            training_end_time=None,
            final_metric_data_list=[],
            failure_reason=None,
            training_time_in_seconds=None,
            billable_time_in_seconds=None,
            last_modified_time=at,
        )

    def set_secondary(self, status: str, message: str, at: datetime) -> None:
        """A new SecondaryStatus (the last transition ends, a new one starts): moto never moves a job
        on by itself, so each step of the run is written in for DescribeTrainingJob to show."""
        transitions = [dict(t) for t in self._job.secondary_status_transitions]
        if transitions:
            transitions[-1]["EndTime"] = at
        self._update(
            secondary_status=status,
            secondary_status_transitions=[*transitions, _transition(status, at, message)],
            last_modified_time=at,
        )

    def set_stopping(self) -> None:
        """StopTrainingJob accepted (moto has none): Stopping until the program has exited."""
        self._update(training_job_status="Stopping", secondary_status="Stopping")

    def mark_training_started(self, at: datetime) -> None:
        """TrainingStartTime, cleared by `restart`: when the program really starts."""
        self._update(training_start_time=at)

    def record_metrics(self, values: Mapping[str, float], at: datetime) -> None:
        """FinalMetricDataList, the latest value of each of the job's own metrics parsed from its log:
        moto's list is made up (its own `train:progress`)."""
        latest = {m["MetricName"]: m for m in self._job.final_metric_data_list}
        latest |= {
            name: {"MetricName": name, "Value": value, "Timestamp": at} for name, value in values.items()
        }
        self._update(final_metric_data_list=list(latest.values()), last_modified_time=at)

    def set_model_artifact(self, uri: str) -> None:
        """ModelArtifacts: moto names a path at creation; this is the archive really uploaded."""
        self._update(model_artifacts={"S3ModelArtifacts": uri})

    def finish(
        self,
        status: str,
        failure_reason: str | None,
        at: datetime,
        training_s: int | None,
        billable_s: int | None,
    ) -> None:
        """The end state: status, FailureReason, end time, training and billable seconds (moto
        has no billable seconds at all)."""
        self._update(
            training_job_status=status,
            failure_reason=failure_reason,
            training_end_time=at,
            training_time_in_seconds=training_s,
            billable_time_in_seconds=billable_s,
            last_modified_time=at,
        )

    def _update(self, **changes: Any) -> None:
        # One atomic swap of the attribute dict: moto's server threads serialise the job from it
        # (DescribeTrainingJob iterates it) while the backend's thread changes it.
        self._job.__dict__ = {**self._job.__dict__, **changes}


def _transition(status: str, at: datetime, message: str) -> dict[str, Any]:
    return {"Status": status, "StartTime": at, "StatusMessage": message}


class MotoSageMaker:
    """moto's SageMaker of one account and region (the stand-in's), taken over for local runs."""

    def __init__(self, account_id: str, region: str) -> None:
        self._account_id = account_id
        self._region = region
        self._backend: Any = None
        self._added_response_method = False

    def take_over(self, on_create: Callable[[TrainingJob], None], on_stop: Callable[[str], None]) -> None:
        """CreateTrainingJob stores the job as moto does (its validation, ARN and echo stay
        moto's), `restart`s it, then `on_create` runs it; StopTrainingJob (moto has none) calls
        `on_stop(name)`, whose JobRejected becomes moto's ValidationError, the caller's 400."""
        from moto.sagemaker.exceptions import ValidationError  # noqa: PLC0415 - dev dependency
        from moto.sagemaker.models import sagemaker_backends  # noqa: PLC0415

        backend = sagemaker_backends[self._account_id][self._region]
        original_create = backend.create_training_job

        def create_training_job(**kwargs: Any) -> Any:
            requested = copy.deepcopy(kwargs.get("algorithm_specification") or {})  # moto rewrites it
            stored = original_create(**kwargs)
            job = TrainingJob(stored)
            job.restart(requested, datetime.now(UTC))
            on_create(job)
            return stored

        def stop_training_job(name: str) -> None:
            try:
                on_stop(name)
            except JobRejected as exc:
                raise ValidationError(message=str(exc)) from exc

        # Instance attributes: only this account/region's backend changes (unit tests' moto is untouched).
        backend.create_training_job = create_training_job
        backend.stop_training_job = stop_training_job
        self._backend = backend
        self._add_stop_route()

    def _add_stop_route(self) -> None:
        """moto's SageMaker responses have no StopTrainingJob: one that calls the backend's."""
        from moto.core.responses import EmptyResult  # noqa: PLC0415
        from moto.sagemaker.responses import SageMakerResponse  # noqa: PLC0415

        if hasattr(SageMakerResponse, "stop_training_job"):
            return

        def stop_training_job(response: Any) -> Any:
            stop = getattr(response.sagemaker_backend, "stop_training_job", None)
            if stop is None:
                raise NotImplementedError("StopTrainingJob needs devkit.local_training attached")
            stop(response._get_param("TrainingJobName"))
            return EmptyResult()

        SageMakerResponse.stop_training_job = stop_training_job  # type: ignore[attr-defined]
        self._added_response_method = True

    def release(self) -> None:
        """Give moto back its own CreateTrainingJob and no StopTrainingJob."""
        if self._backend is not None:
            for name in ("create_training_job", "stop_training_job"):
                self._backend.__dict__.pop(name, None)
            self._backend = None
        if self._added_response_method:
            from moto.sagemaker.responses import SageMakerResponse  # noqa: PLC0415

            with contextlib.suppress(AttributeError):
                delattr(SageMakerResponse, "stop_training_job")
            self._added_response_method = False

    def job(self, name: str) -> TrainingJob | None:
        """The stored job of that name, from moto's backend dict: its describe call answers with
        a copy, and StopTrainingJob must change the job itself."""
        if self._backend is None:
            raise RuntimeError("take_over() first")
        stored = self._backend.training_jobs.get(name)
        return TrainingJob(stored) if stored is not None else None
