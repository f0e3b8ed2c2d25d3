"""The POST /train contract and the settings it is checked against (pydantic, no AWS)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from launcher.schemas import TrainRequest
from launcher.settings import Settings

pytestmark = pytest.mark.unit

ENV = {
    "STAGE": "dev",
    "STACK_NAME": "invoice-yolo-dev",
    "DATA_BUCKET": "iy-data",
    "MODELS_BUCKET": "iy-models",
    "CHECKPOINTS_BUCKET": "iy-checkpoints",
    "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/iy-sagemaker",
    "TRAINING_IMAGE_URI": "763104351884.dkr.ecr.eu-north-1.amazonaws.com/pytorch-training:2.10.0-gpu-py313",
    "TRAINING_INSTANCE_TYPES": "ml.g4dn.xlarge, ml.g5.xlarge",
    "DEFAULT_INSTANCE_TYPE": "ml.g4dn.xlarge",
    "TRAINING_JOB_PREFIX": "invoice-yolo-dev",
    "IDEMPOTENCY_TABLE": "iy-idempotency",
    "MAX_RUNTIME_CAP_S": "36000",
    "DEFAULT_MAX_RUNTIME_S": "3600",
}
SETTINGS = Settings.from_env(ENV)


def parse(body: dict) -> TrainRequest:
    return TrainRequest.model_validate(body, context={"settings": SETTINGS}, strict=True)


def refused_fields(body: dict) -> set[str]:
    with pytest.raises(ValidationError) as info:
        parse(body)
    return {".".join(str(p) for p in err["loc"]) for err in info.value.errors()}


def test_settings_from_the_template_environment() -> None:
    assert SETTINGS.instance_types == ("ml.g4dn.xlarge", "ml.g5.xlarge")
    assert SETTINGS.max_runtime_cap_s == 36000
    assert SETTINGS.idempotency_window_s == 86400  # template default when unset


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ({"DEFAULT_INSTANCE_TYPE": "ml.p5.48xlarge"}, "not in the allowlist"),
        ({"TRAINING_INSTANCE_TYPES": "g4dn.xlarge"}, "not SageMaker instance types"),
        ({"TRAINING_JOB_PREFIX": "Invoice_YOLO"}, "job name prefix"),
        ({"SAGEMAKER_ROLE_ARN": "my-role"}, "SAGEMAKER_ROLE_ARN"),  # errors name the variable to fix
        ({"TRAINING_IMAGE_URI": "pytorch:latest"}, "TRAINING_IMAGE_URI"),
        ({"DEFAULT_MAX_RUNTIME_S": "90000"}, "exceeds the max runtime cap"),
        ({"DATA_BUCKET": ""}, "DATA_BUCKET"),
    ],
)
def test_a_misconfigured_stack_fails_at_cold_start(override: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings.from_env(ENV | override)


def test_defaults_are_filled_and_the_dataset_normalised() -> None:
    req = parse({"dataset": "s3://iy-data/sets/v1"})
    assert req.dataset == "s3://iy-data/sets/v1/"
    assert (req.model, req.epochs, req.imgsz, req.batch) == ("yolo26n", 100, 640, "auto")
    assert (req.instance_type, req.spot, req.max_runtime_s, req.max_wait_s) == (
        "ml.g4dn.xlarge",
        True,
        3600,
        7200,
    )


def test_equivalent_bodies_normalise_to_the_same_request() -> None:
    short = parse({"dataset": "s3://iy-data/sets/v1/"}).normalized()
    spelled_out = parse(
        {
            "dataset": "s3://iy-data/sets/v1",
            "model": "yolo26n",
            "epochs": 100,
            "instance_type": "ml.g4dn.xlarge",
            "max_runtime_s": 3600,
            "max_wait_s": 7200,
            "hyperparameters": {},
        }
    ).normalized()
    assert short == spelled_out
    assert parse({"dataset": "s3://iy-data/sets/v1/", "epochs": 99}).normalized() != short


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "dataset"),
        ({"dataset": "s3://other-bucket/sets/v1/"}, "dataset"),
        ({"dataset": "https://iy-data.s3.amazonaws.com/sets/v1/"}, "dataset"),
        ({"dataset": "s3://iy-data/"}, "dataset"),
        ({"dataset": "s3://iy-data"}, "dataset"),
        ({"dataset": "s3://iy-data/sets/../v1/"}, "dataset"),
        ({"dataset": "s3://iy-data/sets//v1/"}, "dataset"),
        ({"dataset": "s3://iy-data/sets/v 1/"}, "dataset"),
        ({"dataset": 42}, "dataset"),
        ({"dataset": "s3://iy-data/d/", "model": "resnet50"}, "model"),
        ({"dataset": "s3://iy-data/d/", "base_weights": "s3://elsewhere/best.pt"}, "base_weights"),
        ({"dataset": "s3://iy-data/d/", "base_weights": "s3://iy-data/weights/best.pt"}, "base_weights"),
        ({"dataset": "s3://iy-data/d/", "base_weights": "s3://iy-models/weights/b.pt"}, "base_weights"),
        ({"dataset": "s3://iy-data/d/", "base_weights": "s3://iy-models/code/x/best.pt"}, "base_weights"),
        ({"dataset": "s3://iy-data/d/", "base_weights": "s3://iy-models/models-evil/b.pt"}, "base_weights"),
        (
            {"dataset": "s3://iy-data/d/", "base_weights": "s3://iy-models/models/j/output/model.tar.gz"},
            "base_weights",
        ),
        (
            {"dataset": "s3://iy-data/d/", "base_weights": "s3://iy-data/j/output/model.tar.gz"},
            "base_weights",
        ),
        ({"dataset": "s3://iy-data/d/", "base_weights": "s3://iy-data/weights/best.onnx"}, "base_weights"),
        ({"dataset": "s3://iy-data/d/", "epochs": 0}, "epochs"),
        ({"dataset": "s3://iy-data/d/", "epochs": 1001}, "epochs"),
        ({"dataset": "s3://iy-data/d/", "epochs": "10"}, "epochs"),
        ({"dataset": "s3://iy-data/d/", "epochs": 10.0}, "epochs"),
        ({"dataset": "s3://iy-data/d/", "imgsz": 650}, "imgsz"),
        ({"dataset": "s3://iy-data/d/", "imgsz": 128}, "imgsz"),
        ({"dataset": "s3://iy-data/d/", "imgsz": 1568}, "imgsz"),
        ({"dataset": "s3://iy-data/d/", "batch": 0}, "batch"),
        ({"dataset": "s3://iy-data/d/", "batch": "big"}, "batch"),
        ({"dataset": "s3://iy-data/d/", "batch": True}, "batch"),
        ({"dataset": "s3://iy-data/d/", "batch": 1025}, "batch"),
        ({"dataset": "s3://iy-data/d/", "hyperparameters": {"cache": "gpu"}}, "hyperparameters.cache"),
        (
            {"dataset": "s3://iy-data/d/", "hyperparameters": {"learning_rate": 0.1}},
            "hyperparameters.learning_rate",
        ),
        ({"dataset": "s3://iy-data/d/", "hyperparameters": {"mosaic": 1.5}}, "hyperparameters.mosaic"),
        (
            {"dataset": "s3://iy-data/d/", "hyperparameters": {"optimizer": "Lion"}},
            "hyperparameters.optimizer",
        ),
        ({"dataset": "s3://iy-data/d/", "hyperparameters": {"cos_lr": "yes"}}, "hyperparameters.cos_lr"),
        ({"dataset": "s3://iy-data/d/", "hyperparameters": {"lr0": 0.01}}, "hyperparameters"),
        ({"dataset": "s3://iy-data/d/", "hyperparameters": [1, 2]}, "hyperparameters"),
        ({"dataset": "s3://iy-data/d/", "instance_type": "ml.p5.48xlarge"}, "instance_type"),
        ({"dataset": "s3://iy-data/d/", "spot": "true"}, "spot"),
        ({"dataset": "s3://iy-data/d/", "max_runtime_s": 30}, "max_runtime_s"),
        ({"dataset": "s3://iy-data/d/", "role_arn": "arn:aws:iam::1:role/admin"}, "role_arn"),
        ({"dataset": "s3://iy-data/d/", "image": "evil:latest"}, "image"),
    ],
)
def test_each_field_is_validated(body: dict, field: str) -> None:
    assert field in refused_fields(body)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"max_runtime_s": 7200, "max_wait_s": 3600}, "at least max_runtime_s"),
        ({"spot": False, "max_wait_s": 7200}, "only to spot"),
        ({"max_runtime_s": 36001}, "at most 36000"),
        ({"max_runtime_s": 3600, "max_wait_s": 72001}, "at most 72000"),
        ({"model": "yolo11s", "base_weights": "s3://iy-models/models/j/best.pt"}, "not both"),
    ],
)
def test_rules_across_fields(body: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        parse({"dataset": "s3://iy-data/d/", **body})


def test_allowed_fine_tuning_sources() -> None:
    for uri in (
        "s3://iy-models/models/j/best.pt",
        "s3://iy-models/training-output/j/best.pt",
        "s3://iy-models/training-output/j/output/model.tar.gz",  # what an earlier job wrote
    ):
        assert parse({"dataset": "s3://iy-data/d/", "base_weights": uri}).base_weights == uri


def test_weights_from_the_data_bucket_are_refused_naming_the_allowed_prefixes() -> None:
    # A .pt is a pickle: the data bucket is written by people and pipelines, not only by this stack.
    with pytest.raises(ValidationError) as info:
        parse({"dataset": "s3://iy-data/d/", "base_weights": "s3://iy-data/w/best.pt"})
    message = str(info.value)
    assert "s3://iy-models/models/" in message and "s3://iy-models/training-output/" in message


def test_lr0_with_an_explicit_optimizer_is_accepted() -> None:
    req = parse({"dataset": "s3://iy-data/d/", "hyperparameters": {"lr0": 0.01, "optimizer": "SGD"}})
    assert req.hyperparameters.given() == {"lr0": 0.01, "optimizer": "SGD"}


@pytest.mark.parametrize(
    "body",
    [
        {"dataset": "s3://iy-data/d"},
        {"dataset": "s3://iy-data/d/", "base_weights": "s3://iy-models/models/j/best.pt", "spot": False},
        {"dataset": "s3://iy-data/d/", "model": "yolo11s", "batch": 8, "hyperparameters": {"cache": "ram"}},
    ],
)
def test_a_normalised_request_validates_to_itself(body: dict) -> None:
    # The idempotent launch re-validates the stored, normalised body: it must mean the same thing.
    once = parse(body)
    assert parse(once.normalized()) == once
