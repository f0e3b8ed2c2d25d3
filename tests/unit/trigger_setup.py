"""The training API's settings and caller as the trigger tests use them (one place, not a copy each)."""

from __future__ import annotations

from launcher.settings import Settings

SETTINGS = Settings(
    stage="dev",
    stack_name="invoice-yolo-dev",
    data_bucket="iy-data",
    models_bucket="iy-models",
    checkpoints_bucket="iy-checkpoints",
    sagemaker_role_arn="arn:aws:iam::123456789012:role/iy-sagemaker",
    training_image_uri="763104351884.dkr.ecr.eu-north-1.amazonaws.com/pytorch-training:2.10.0-gpu-py313",
    instance_types=("ml.g4dn.xlarge", "ml.g5.xlarge"),
    default_instance_type="ml.g4dn.xlarge",
    job_name_prefix="invoice-yolo-dev",
    idempotency_table="iy-idempotency",
)
REQUESTER = "arn:aws:sts::123456789012:assumed-role/ml-engineer/alice"
