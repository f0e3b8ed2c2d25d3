"""template.yaml's inference wiring: every setting it passes is one `Settings` reads, and the
hardening of issue 9 (reserved concurrency, binary types, uploads) is what the code relies on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from serving.settings import Settings

pytestmark = pytest.mark.unit

TEMPLATE, _ = decode(str(Path(__file__).resolve().parents[2] / "template.yaml"))
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
INFER = RESOURCES["InferFunction"]["Properties"]
ENV: dict[str, Any] = INFER["Environment"]["Variables"]
ALIASES = {field.alias for field in Settings.model_fields.values()}
RUNTIME_SET = {"POWERTOOLS_SERVICE_NAME"}  # read by Powertools itself


def test_every_environment_variable_is_a_setting() -> None:
    assert set(ENV) - RUNTIME_SET <= ALIASES


def test_the_render_limits_and_the_pixel_budget_reach_the_function() -> None:
    for name in ("PDF_RENDER_MULTIPLE", "PDF_RENDER_CPU_S", "PDF_RENDER_TIMEOUT_S", "PDF_RENDER_MEMORY_MB"):
        assert name in ENV
    assert ENV["MAX_PIXELS"] == {"Ref": "InferMaxPixels"}
    plain = {k: v for k, v in ENV.items() if isinstance(v, str)}
    Settings.model_validate(plain)  # the template's literal values are all valid settings
    timeout = TEMPLATE["Parameters"]["InferTimeout"]["MaxValue"]
    assert float(ENV["PDF_RENDER_TIMEOUT_S"]) < timeout  # a killed render still gets its 422 out


def test_reserved_concurrency_is_a_parameter_that_can_be_left_unreserved() -> None:
    param = TEMPLATE["Parameters"]["InferReservedConcurrency"]
    assert param["Default"] == ""
    assert INFER["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReserveInferConcurrency", {"Ref": "InferReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    condition = TEMPLATE["Conditions"]["ReserveInferConcurrency"]
    compared = {str(eq["Fn::Equals"][1]) for eq in condition["Fn::Not"][0]["Fn::Or"]}
    assert compared == {"", "0"}


def test_octet_stream_is_a_binary_media_type() -> None:
    types = RESOURCES["Api"]["Properties"]["BinaryMediaTypes"]
    assert {"application~1octet-stream", "application~1pdf", "multipart~1form-data"} <= set(types)


def test_uploads_are_written_only_by_the_function_and_expire_under_the_prefix() -> None:
    prefix = ENV["UPLOAD_PREFIX"]
    rule = RESOURCES["UploadsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"][0]
    assert rule["Prefix"] == prefix and rule["ExpirationInDays"] == {"Ref": "UploadRetentionDays"}
    statements = RESOURCES["UploadsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s.get("Sid") == "OnlyPresignedUploadsWrite"]
    assert deny["Effect"] == "Deny" and deny["Action"] == "s3:PutObject"
    assert deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == {
        "Fn::GetAtt": ["InferFunctionRole", "Arn"]
    }
    grants = [s for p in INFER["Policies"] for s in p.get("Statement", [])]
    (uploads,) = [s for s in grants if s["Sid"] == "ReadPresignAndDeleteUploads"]
    assert set(uploads["Action"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    assert uploads["Resource"] == {"Fn::Sub": f"${{UploadsBucket.Arn}}/{prefix}*"}
