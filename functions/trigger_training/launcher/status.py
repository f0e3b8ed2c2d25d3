"""Shape DescribeTrainingJob / ListTrainingJobs answers into the API's JSON (pure functions)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def spot_saving_pct(training_s: int | None, billable_s: int | None) -> float | None:
    """Managed Spot's saving: 1 - billable/training, in % (SageMaker's own formula in its console).

    None until both are known (they appear when the job ends) or when nothing ran.
    """
    if not training_s or billable_s is None:
        return None
    return round(100.0 * (1.0 - billable_s / training_s), 1)


def _hyperparameter(job: dict[str, Any], key: str) -> Any:
    raw = job.get("HyperParameters", {}).get(key)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _dataset(job: dict[str, Any]) -> str | None:
    for channel in job.get("InputDataConfig", []):
        if channel.get("ChannelName") == "training":
            return channel["DataSource"]["S3DataSource"]["S3Uri"]
    return None


def describe(job: dict[str, Any]) -> dict[str, Any]:
    """What `GET /train/{job_name}` answers."""
    training_s = job.get("TrainingTimeInSeconds")
    billable_s = job.get("BillableTimeInSeconds")
    transitions = job.get("SecondaryStatusTransitions") or []
    stopping = job.get("StoppingCondition", {})
    return {
        "job_name": job["TrainingJobName"],
        "status": job["TrainingJobStatus"],
        "secondary_status": job.get("SecondaryStatus"),
        "status_message": transitions[-1].get("StatusMessage") if transitions else None,
        "failure_reason": job.get("FailureReason"),
        "created_at": _iso(job.get("CreationTime")),
        "started_at": _iso(job.get("TrainingStartTime")),
        "ended_at": _iso(job.get("TrainingEndTime")),
        "training_seconds": training_s,
        "billable_seconds": billable_s,
        "spot": bool(job.get("EnableManagedSpotTraining", False)),
        "spot_saving_pct": spot_saving_pct(training_s, billable_s),
        "instance_type": job.get("ResourceConfig", {}).get("InstanceType"),
        "max_runtime_s": stopping.get("MaxRuntimeInSeconds"),
        "max_wait_s": stopping.get("MaxWaitTimeInSeconds"),
        "dataset": _dataset(job),
        "epochs": _hyperparameter(job, "epochs"),
        "metrics": {m["MetricName"]: m["Value"] for m in job.get("FinalMetricDataList") or []},
        "model_artifact": (job.get("ModelArtifacts") or {}).get("S3ModelArtifacts"),
        "checkpoints": (job.get("CheckpointConfig") or {}).get("S3Uri"),
    }


def summary(item: dict[str, Any]) -> dict[str, Any]:
    """One entry of `GET /train`."""
    return {
        "job_name": item["TrainingJobName"],
        "status": item["TrainingJobStatus"],
        "secondary_status": item.get("SecondaryStatus"),
        "created_at": _iso(item.get("CreationTime")),
        "ended_at": _iso(item.get("TrainingEndTime")),
    }
