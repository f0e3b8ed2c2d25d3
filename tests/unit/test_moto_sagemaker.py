"""The adapter that owns every touch of moto's SageMaker internals (devkit.moto_sagemaker).

moto in-process: the job's state as the adapter writes it is what DescribeTrainingJob answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devkit.moto_sagemaker import JobRejected, MotoSageMaker, TrainingJob

pytestmark = pytest.mark.unit

REGION = "eu-north-1"
ACCOUNT = "123456789012"  # moto's default account
IMAGE = "763104351884.dkr.ecr.eu-north-1.amazonaws.com/pytorch-training:2.10.0-gpu-py313"
METRICS = [{"Name": "val:mAP50-95", "Regex": r"mAP50-95=([0-9.]+)"}]


def _request(name: str) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": METRICS,
        },
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/training",
        "HyperParameters": {"epochs": "2", "sagemaker_program": '"train.py"'},
        "InputDataConfig": [
            {
                "ChannelName": "training",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/set/"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://models/training-output/"},
        "ResourceConfig": {"InstanceType": "ml.g4dn.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "CheckpointConfig": {"S3Uri": f"s3://checkpoints/{name}/"},
    }


class Recorder:
    """What the adapter handed the backend."""

    def __init__(self) -> None:
        self.created: list[TrainingJob] = []
        self.stopped: list[str] = []
        self.reject: str | None = None

    def create(self, job: TrainingJob) -> None:
        self.created.append(job)

    def stop(self, name: str) -> None:
        if self.reject:
            raise JobRejected(self.reject)
        self.stopped.append(name)


@pytest.fixture
def taken_over() -> Iterator[tuple[MotoSageMaker, Recorder, Any]]:
    with mock_aws():
        adapter, recorder = MotoSageMaker(ACCOUNT, REGION), Recorder()
        adapter.take_over(recorder.create, recorder.stop)
        try:
            yield adapter, recorder, boto3.client("sagemaker", region_name=REGION)
        finally:
            adapter.release()


def test_a_created_job_is_in_progress_with_its_own_metric_definitions(taken_over) -> None:
    adapter, recorder, sagemaker = taken_over

    sagemaker.create_training_job(**_request("job-1"))

    [job] = recorder.created
    assert (job.name, job.status, job.max_runtime_s) == ("job-1", "InProgress", 600.0)
    assert job.hyperparameters == {"epochs": "2", "sagemaker_program": '"train.py"'}
    assert [c["ChannelName"] for c in job.channels] == ["training"]
    assert (job.output_path, job.checkpoint_uri) == (
        "s3://models/training-output/",
        "s3://checkpoints/job-1/",
    )
    assert job.metric_definitions == METRICS  # moto had put its own `test:dcg` there
    described = sagemaker.describe_training_job(TrainingJobName="job-1")
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("InProgress", "Starting")
    assert described["AlgorithmSpecification"]["MetricDefinitions"] == METRICS
    assert "TrainingStartTime" not in described and "BillableTimeInSeconds" not in described
    assert adapter.job("job-1") is not None and adapter.job("job-1").arn == job.arn
    assert adapter.job("no-such-job") is None


def test_what_the_run_writes_is_what_describe_answers(taken_over) -> None:
    _, recorder, sagemaker = taken_over
    sagemaker.create_training_job(**_request("job-2"))
    [job] = recorder.created
    start = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

    job.set_secondary("Training", "Training in progress.", start)
    job.mark_training_started(start)
    job.record_metrics({"val:mAP50-95": 0.25}, start + timedelta(seconds=5))
    job.record_metrics({"val:mAP50-95": 0.5}, start + timedelta(seconds=9))
    job.set_model_artifact("s3://models/training-output/job-2/output/model.tar.gz")
    job.finish("Completed", None, start + timedelta(seconds=10), 10, 10)

    described = sagemaker.describe_training_job(TrainingJobName="job-2")
    assert described["TrainingJobStatus"] == "Completed"
    assert (described["TrainingTimeInSeconds"], described["BillableTimeInSeconds"]) == (10, 10)
    assert [(m["MetricName"], m["Value"]) for m in described["FinalMetricDataList"]] == [
        ("val:mAP50-95", 0.5)
    ]
    assert described["ModelArtifacts"]["S3ModelArtifacts"].endswith("/job-2/output/model.tar.gz")
    starting, training = described["SecondaryStatusTransitions"]
    assert (starting["Status"], training["Status"]) == ("Starting", "Training")
    assert starting["EndTime"] == training["StartTime"]  # one step ends where the next begins
    assert job.training_started == start
    assert job.describe()["TrainingJobName"] == "job-2"


def test_stop_training_job_reaches_the_backend_and_its_refusal_is_a_validation_error(taken_over) -> None:
    _, recorder, sagemaker = taken_over
    sagemaker.create_training_job(**_request("job-3"))

    sagemaker.stop_training_job(TrainingJobName="job-3")
    recorder.reject = "The request was rejected because the training job is in status Stopped."
    with pytest.raises(ClientError, match="in status Stopped") as refused:
        sagemaker.stop_training_job(TrainingJobName="job-3")

    assert recorder.stopped == ["job-3"]
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_release_gives_moto_back_its_own_create_and_no_stop() -> None:
    from moto.sagemaker.responses import SageMakerResponse  # noqa: PLC0415

    with mock_aws():
        adapter, recorder = MotoSageMaker(ACCOUNT, REGION), Recorder()
        adapter.take_over(recorder.create, recorder.stop)
        adapter.release()
        sagemaker = boto3.client("sagemaker", region_name=REGION)

        sagemaker.create_training_job(**_request("job-4"))

        assert recorder.created == []
        assert sagemaker.describe_training_job(TrainingJobName="job-4")["TrainingJobStatus"] == "Completed"
        assert not hasattr(SageMakerResponse, "stop_training_job")
