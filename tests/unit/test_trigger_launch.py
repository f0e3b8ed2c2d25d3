"""Launcher rules that moto does not enforce (duplicate job names) and the job status shape."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws
from trigger_setup import SETTINGS

from launcher import status
from launcher.errors import JobNameConflict
from launcher.launch import Launcher
from launcher.source_bundle import SourceBundle, SourcePublisher

pytestmark = pytest.mark.unit

REGION = "eu-north-1"


def test_a_duplicate_job_name_is_refused_before_create(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        s3.create_bucket(Bucket="iy-models", CreateBucketConfiguration={"LocationConstraint": REGION})
        creates: list[str] = []
        sagemaker.meta.events.register(
            "provide-client-params.sagemaker.CreateTrainingJob",
            lambda params, **_: creates.append(params["TrainingJobName"]),
        )
        publisher = SourcePublisher(s3, "iy-models", "code", SourceBundle(b"bundle"))
        fixed = Launcher(  # the same second and token twice: the same name
            SETTINGS,
            sagemaker,
            s3,
            publisher,
            clock=lambda: datetime(2026, 11, 22, 10, 15, tzinfo=UTC),
            token=lambda: "a1b2c3",
        )
        body = {"requester": "alice", "body": {"dataset": "s3://iy-data/d/"}}
        request = fixed.parse(body["body"])

        first = fixed.launch(launch=body, request=request)
        assert first["job_name"] == "invoice-yolo-dev-20261122101500-a1b2c3"
        with pytest.raises(JobNameConflict):  # moto itself would accept a second job of that name
            fixed.launch(launch=body, request=request)
        assert creates == ["invoice-yolo-dev-20261122101500-a1b2c3"]


DESCRIBED = {  # the fields of a real DescribeTrainingJob answer for a finished Spot job
    "TrainingJobName": "invoice-yolo-dev-20261122101500-a1b2c3",
    "TrainingJobStatus": "Completed",
    "SecondaryStatus": "Completed",
    "SecondaryStatusTransitions": [
        {"Status": "Training", "StatusMessage": "Training image download completed."},
        {"Status": "Completed", "StatusMessage": "Training job completed"},
    ],
    "CreationTime": datetime(2026, 11, 22, 10, 15, tzinfo=UTC),
    "TrainingStartTime": datetime(2026, 11, 22, 10, 19, tzinfo=UTC),
    "TrainingEndTime": datetime(2026, 11, 22, 11, 19, tzinfo=UTC),
    "TrainingTimeInSeconds": 3600,
    "BillableTimeInSeconds": 1150,
    "EnableManagedSpotTraining": True,
    "ResourceConfig": {"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
    "StoppingCondition": {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 14400},
    "HyperParameters": {"epochs": "50", "model": '"yolo26n"'},
    "InputDataConfig": [
        {"ChannelName": "training", "DataSource": {"S3DataSource": {"S3Uri": "s3://iy-data/d/"}}},
    ],
    "FinalMetricDataList": [
        {"MetricName": "final:mAP50-95", "Value": 0.55},
        {"MetricName": "final:mAP50", "Value": 0.8},
    ],
    "ModelArtifacts": {"S3ModelArtifacts": "s3://iy-models/training-output/j/output/model.tar.gz"},
    "CheckpointConfig": {"S3Uri": "s3://iy-checkpoints/checkpoints/j/"},
}


def test_status_of_a_finished_spot_job() -> None:
    shaped = status.describe(DESCRIBED)
    assert shaped["spot_saving_pct"] == 68.1  # 1 - 1150/3600
    assert (shaped["training_seconds"], shaped["billable_seconds"]) == (3600, 1150)
    assert shaped["metrics"] == {"final:mAP50-95": 0.55, "final:mAP50": 0.8}
    assert shaped["status_message"] == "Training job completed"
    assert shaped["started_at"] == "2026-11-22T10:19:00+00:00"
    assert shaped["epochs"] == 50
    assert shaped["dataset"] == "s3://iy-data/d/"
    assert shaped["model_artifact"] == "s3://iy-models/training-output/j/output/model.tar.gz"


def test_status_of_a_job_that_has_not_started() -> None:
    shaped = status.describe(
        {"TrainingJobName": "j", "TrainingJobStatus": "InProgress", "SecondaryStatus": "Starting"}
    )
    assert shaped["spot_saving_pct"] is None
    assert shaped["metrics"] == {}
    assert shaped["model_artifact"] is None
    assert shaped["ended_at"] is None


@pytest.mark.parametrize(
    ("training", "billable", "saving"),
    [(3600, 3600, 0.0), (3600, 360, 90.0), (None, None, None), (0, 0, None), (100, None, None)],
)
def test_spot_saving(training: int | None, billable: int | None, saving: float | None) -> None:
    assert status.spot_saving_pct(training, billable) == saving
