"""`GET /train` and `GET /train/{job_name}`: this stack's jobs only."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from apiedge.aws import aws_call, is_not_found, translate
from launcher import jobs, status
from launcher.errors import InvalidRequest, JobNotFound
from launcher.sagemaker_errors import specific
from launcher.settings import Settings

JOB_STATUSES = frozenset({"InProgress", "Completed", "Failed", "Stopping", "Stopped"})
MAX_LIMIT = 100


class JobLookup:
    def __init__(self, settings: Settings, sagemaker: Any) -> None:
        self._settings = settings
        self._sagemaker = sagemaker
        self._prefix = settings.job_name_prefix + "-"

    def describe(self, job_name: str) -> dict[str, Any]:
        if not jobs.JOB_NAME.match(job_name):
            raise InvalidRequest(f"{job_name!r} is not a training job name")
        if not job_name.startswith(self._prefix):  # another stack's job (and IAM would refuse it)
            raise JobNotFound(f"no training job {job_name} in this stack")
        try:
            job = self._sagemaker.describe_training_job(TrainingJobName=job_name)
        except ClientError as exc:
            if is_not_found(exc):
                raise JobNotFound(f"no training job {job_name} in this stack") from exc
            raise translate(exc, "describing the training job", specific) from exc
        return status.describe(job)

    def recent(
        self, *, limit: int = 20, status_equals: str | None = None, next_token: str | None = None
    ) -> dict:
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidRequest(f"limit must be 1-{MAX_LIMIT}")
        if status_equals is not None and status_equals not in JOB_STATUSES:
            raise InvalidRequest(f"status must be one of {sorted(JOB_STATUSES)}")
        params: dict[str, Any] = {
            "NameContains": self._prefix,
            "SortBy": "CreationTime",
            "SortOrder": "Descending",
            "MaxResults": limit,
        }
        if status_equals is not None:
            params["StatusEquals"] = status_equals
        if next_token:
            params["NextToken"] = next_token
        with aws_call("listing training jobs", specific):
            page = self._sagemaker.list_training_jobs(**params)
        # NameContains matches anywhere in the name: keep only names that start with our prefix.
        items = [
            s for s in page.get("TrainingJobSummaries", []) if s["TrainingJobName"].startswith(self._prefix)
        ]
        return {"jobs": [status.summary(s) for s in items], "next_token": page.get("NextToken")}
