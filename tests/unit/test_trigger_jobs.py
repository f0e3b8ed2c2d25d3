"""The CreateTrainingJob request the training API builds (pure: no AWS)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from trigger_setup import REQUESTER, SETTINGS

from launcher import jobs
from launcher.schemas import TrainRequest, UltralyticsArgs
from launcher.settings import Settings
from yolo_train import hyperparams, metric_defs

pytestmark = pytest.mark.unit

SOURCE = "s3://iy-models/code/sourcedir/abc/sourcedir.tar.gz"
JOB = "invoice-yolo-dev-20261122101500-a1b2c3"


def parse(body: dict) -> TrainRequest:
    return TrainRequest.model_validate(body, context={"settings": SETTINGS}, strict=True)


def build(body: dict) -> dict:
    return jobs.build_create_request(
        parse(body), SETTINGS, job_name=JOB, source_uri=SOURCE, region="eu-north-1", requester=REQUESTER
    )


def test_exact_request_for_a_spot_job() -> None:
    request = build(
        {
            "dataset": "s3://iy-data/datasets/invoices-v3",
            "epochs": 50,
            "imgsz": 640,
            "batch": 16,
            "hyperparameters": {"optimizer": "AdamW", "lr0": 0.002, "cos_lr": True},
            "instance_type": "ml.g5.xlarge",
            "max_runtime_s": 7200,
            "max_wait_s": 10800,
        }
    )
    assert request == {
        "TrainingJobName": JOB,
        "AlgorithmSpecification": {
            "TrainingImage": SETTINGS.training_image_uri,
            "TrainingInputMode": "FastFile",
            "MetricDefinitions": metric_defs.METRIC_DEFINITIONS,
            "EnableSageMakerMetricsTimeSeries": True,
        },
        "RoleArn": "arn:aws:iam::123456789012:role/iy-sagemaker",
        "HyperParameters": {
            "epochs": "50",
            "imgsz": "640",
            "batch": "16",
            "model-version": json.dumps(JOB),
            "optimizer": '"AdamW"',
            "lr0": "0.002",
            "cos_lr": "true",
            "model": '"yolo26n"',
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": '"/opt/ml/input/data/code/sourcedir.tar.gz"',
            "sagemaker_region": '"eu-north-1"',
            "sagemaker_job_name": json.dumps(JOB),
            "sagemaker_container_log_level": "20",
        },
        "InputDataConfig": [
            {
                "ChannelName": "training",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": "s3://iy-data/datasets/invoices-v3/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            },
            {
                "ChannelName": "code",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": SOURCE,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "InputMode": "File",
            },
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://iy-models/training-output/"},
        "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 10800},
        "EnableManagedSpotTraining": True,
        "EnableNetworkIsolation": True,
        "CheckpointConfig": {
            "S3Uri": f"s3://iy-checkpoints/checkpoints/{JOB}/",
            "LocalPath": "/opt/ml/checkpoints",
        },
        "Environment": {"PYTHONUNBUFFERED": "1", "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        "Tags": [
            {"Key": "Stack", "Value": "invoice-yolo-dev"},
            {"Key": "Stage", "Value": "dev"},
            {"Key": "Dataset", "Value": "s3://iy-data/datasets/invoices-v3/"},
            {"Key": "Requester", "Value": REQUESTER},
        ],
    }


def test_defaults_give_spot_with_wait_twice_the_runtime() -> None:
    request = build({"dataset": "s3://iy-data/d/"})
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 4 * 3600, "MaxWaitTimeInSeconds": 8 * 3600}
    assert request["ResourceConfig"]["InstanceType"] == "ml.g4dn.xlarge"
    assert request["HyperParameters"]["batch"] == '"auto"'


def test_on_demand_job_has_no_wait_time() -> None:
    request = build({"dataset": "s3://iy-data/d/", "spot": False, "max_runtime_s": 3600})
    assert request["EnableManagedSpotTraining"] is False
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}


def test_fine_tuning_mounts_the_weights_channel_instead_of_naming_an_architecture() -> None:
    request = build({"dataset": "s3://iy-data/d/", "base_weights": "s3://iy-models/models/job-1/best.pt"})
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]
    }
    assert channels == {
        "training": "s3://iy-data/d/",
        "weights": "s3://iy-models/models/job-1/best.pt",
        "code": SOURCE,
    }
    hps = request["HyperParameters"]
    assert "model" not in hps
    assert json.loads(hps["weights-uri"]) == "s3://iy-models/models/job-1/best.pt"
    assert (
        json.loads(hps["trusted-weights-prefixes"])
        == "s3://iy-models/models/,s3://iy-models/training-output/"
    )


def test_without_network_isolation_the_container_fetches_the_code_from_s3() -> None:
    open_settings = SETTINGS.model_copy(update={"network_isolation": False})
    request = jobs.build_create_request(
        parse({"dataset": "s3://iy-data/d/"}),
        open_settings,
        job_name=JOB,
        source_uri=SOURCE,
        region="eu-north-1",
        requester=REQUESTER,
    )
    assert request["EnableNetworkIsolation"] is False
    assert request["Environment"] == {"PYTHONUNBUFFERED": "1"}  # pip may use its index
    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["training"]
    assert json.loads(request["HyperParameters"]["sagemaker_submit_directory"]) == SOURCE


def test_network_isolation_is_the_default_and_read_from_the_template_variable() -> None:
    env = {k.upper(): v for k, v in SETTINGS.model_dump().items() if isinstance(v, str)}
    env |= {
        "TRAINING_INSTANCE_TYPES": "ml.g4dn.xlarge",
        "DEFAULT_INSTANCE_TYPE": "ml.g4dn.xlarge",
        "TRAINING_JOB_PREFIX": "invoice-yolo-dev",
        "SAGEMAKER_ROLE_ARN": SETTINGS.sagemaker_role_arn,
        "TRAINING_IMAGE_URI": SETTINGS.training_image_uri,
        "IDEMPOTENCY_TABLE": "t",
    }
    assert Settings.from_env(env).network_isolation is True
    assert Settings.from_env(env | {"TRAINING_NETWORK_ISOLATION": "false"}).network_isolation is False
    assert (
        Settings.from_env(env | {"TRAINING_NETWORK_ISOLATION": ""}).network_isolation is True
    )  # blank: default


def test_checkpoint_prefix_is_per_job() -> None:
    one = jobs.checkpoint_uri(SETTINGS, "invoice-yolo-dev-20261122101500-aaaaaa")
    two = jobs.checkpoint_uri(SETTINGS, "invoice-yolo-dev-20261122101500-bbbbbb")
    assert one != two
    assert not one.startswith(two) and not two.startswith(one)


def _sagemaker_decoded(request: dict) -> dict:
    """What the training toolkit hands the entrypoint: JSON-decoded hyperparameters."""
    return {key: hyperparams.decode_json_value(value) for key, value in request["HyperParameters"].items()}


def test_the_entrypoint_accepts_every_hyperparameter_the_api_sends() -> None:
    body = {
        "dataset": "s3://iy-data/d/",
        "batch": 8,
        "hyperparameters": {
            "lr0": 1.0,
            "lrf": 1.0,
            "optimizer": "SGD",
            "patience": 1000,
            "cos_lr": False,
            "close_mosaic": 0,
            "mosaic": 1.0,
            "degrees": 180.0,
            "scale": 0.99,
            "translate": 1.0,
            "fliplr": 0.0,
            "hsv_h": 1.0,
            "hsv_s": 0.0,
            "hsv_v": 1.0,
            "rect": True,
            "cache": "disk",
            "seed": 2**31 - 1,
            "warmup_epochs": 100.0,
            "workers": 64,
            "nbs": 1024,
        },
    }
    assert set(body["hyperparameters"]) == set(UltralyticsArgs.model_fields)  # every allowlisted key
    values, problems, ignored = hyperparams.parse([("hyperparameters.json", _sagemaker_decoded(build(body)))])
    assert problems == []
    assert values["scale"] == 0.99
    assert values["model_version"] == JOB
    assert "sagemaker_program" in ignored


def test_every_api_hyperparameter_is_an_entrypoint_hyperparameter() -> None:
    assert set(UltralyticsArgs.model_fields) <= set(hyperparams.BY_NAME)


# One per-epoch line and one final line, as the entrypoint logs them (logging prefix included).
EPOCH_LINE = (
    "2026-11-22 10:15:07,312 INFO yolo_train.progress: epoch=3/50 box_loss=1.2340 cls_loss=2.1000 "
    "l1_loss=0.0412 precision=0.6100 recall=0.5500 mAP50=0.4100 mAP50-95=0.2200 lr=0.00123 epoch_time_s=5.10"
)
FINAL_LINE = (
    "2026-11-22 11:02:44,009 INFO yolo_train.main: final epochs=50/50 precision=0.8100 recall=0.7700 "
    "mAP50=0.8000 mAP50-95=0.5500 version=invoice-yolo-dev-20261122101500-a1b2c3"
)


def _scrape(line: str) -> dict[str, float]:
    """What SageMaker does with each log line: the first group of every matching regex."""
    found = {}
    for definition in build({"dataset": "s3://iy-data/d/"})["AlgorithmSpecification"]["MetricDefinitions"]:
        match = re.search(definition["Regex"], line)
        if match:
            found[definition["Name"]] = float(match.group(1))
    return found


def test_metric_definitions_read_the_epoch_line() -> None:
    assert _scrape(EPOCH_LINE) == {
        "train:epoch": 3.0,
        "train:box_loss": 1.234,
        "train:cls_loss": 2.1,
        "train:l1_loss": 0.0412,
        "val:precision": 0.61,
        "val:recall": 0.55,
        "val:mAP50": 0.41,
        "val:mAP50-95": 0.22,
        "train:lr": 0.00123,
        "train:epoch_time_s": 5.1,
    }


def test_metric_definitions_read_the_final_line() -> None:
    assert _scrape(FINAL_LINE) == {
        "final:precision": 0.81,
        "final:recall": 0.77,
        "final:mAP50": 0.8,
        "final:mAP50-95": 0.55,
    }


def test_metric_definitions_read_lines_the_entrypoint_formats() -> None:
    line = metric_defs.format_epoch_line(
        epoch=7,
        epochs=10,
        losses={"box_loss": 0.5, "cls_loss": 0.25, "dfl_loss": 1.0},
        val=dict.fromkeys(metric_defs.VAL_KEYS, 0.125),
        lr=1e-05,
        epoch_time_s=2.0,
    )
    scraped = _scrape(line)
    assert scraped["train:epoch"] == 7
    assert scraped["train:dfl_loss"] == 1.0
    assert scraped["train:lr"] == 1e-05
    assert scraped["val:mAP50-95"] == 0.125
    final = metric_defs.format_final_line(
        epochs_done=10, epochs=10, val=dict.fromkeys(metric_defs.VAL_KEYS, 0.5), version=JOB
    )
    assert _scrape(final) == {f"final:{key}": 0.5 for key in metric_defs.VAL_KEYS}


# CreateTrainingJob rules that moto does not enforce; AWS would reject each of these.
@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda r: r["StoppingCondition"].update(MaxWaitTimeInSeconds=60), "at least MaxRuntimeInSeconds"),
        (lambda r: r["StoppingCondition"].pop("MaxWaitTimeInSeconds"), "needs MaxWaitTimeInSeconds"),
        (lambda r: r.update(EnableManagedSpotTraining=False), "only allowed with Managed Spot"),
        (lambda r: r["AlgorithmSpecification"].update(TrainingInputMode="Streaming"), "TrainingInputMode"),
        (lambda r: r.update(TrainingJobName="bad_name"), "TrainingJobName"),
        (lambda r: r.update(TrainingJobName="a" * 64), "TrainingJobName"),
        (
            lambda r: r["HyperParameters"].update({f"k{i}": "1" for i in range(100)}),
            "at most 100 hyperparameters",
        ),
        (lambda r: r["HyperParameters"].update(big="x" * 2501), "too long"),
        (lambda r: r["Tags"].append({"Key": "Note", "Value": "semi;colon"}), "tag 'Note'"),
        (
            lambda r: r["AlgorithmSpecification"]["MetricDefinitions"].append({"Name": "x", "Regex": "x=1"}),
            "captures",
        ),
        (
            lambda r: r["AlgorithmSpecification"]["MetricDefinitions"].append({"Name": "x", "Regex": "("}),
            "compile",
        ),
        (lambda r: r["InputDataConfig"][0]["DataSource"]["S3DataSource"].update(S3Uri="ftp://x/y"), "S3Uri"),
    ],
)
def test_requests_aws_would_reject_are_refused_before_sending(mutate, problem: str) -> None:
    request = build({"dataset": "s3://iy-data/d/", "max_runtime_s": 3600})
    jobs.check_create_request(request)  # the built request itself is valid
    mutate(request)
    with pytest.raises(jobs.InvalidJobRequest, match=problem):
        jobs.check_create_request(request)


def test_job_names_fit_sagemaker_and_the_iam_pattern() -> None:
    now = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)
    name = jobs.new_job_name("invoice-yolo-dev", now, "a1b2c3")
    assert name == "invoice-yolo-dev-20261122101500-a1b2c3"
    longest = jobs.new_job_name("p" * 30, now, "ffffff")  # the longest prefix settings allow
    assert len(longest) <= 63
    with pytest.raises(jobs.InvalidJobRequest):
        jobs.new_job_name("p" * 45, now, "ffffff")


def test_tag_values_are_made_legal() -> None:
    assert jobs.tag_value("s3://b/it's (new)/") == "s3://b/it_s _new_/"
    assert len(jobs.tag_value("x" * 300)) == 256
