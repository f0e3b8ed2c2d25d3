"""POST /infer?fields=1: field values read from the text layer of a born-digital PDF or by OCR
around the detections of a scan, in the answer next to the detections; off by default."""

from __future__ import annotations

import base64
import importlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devkit.synth.pdf import born_digital_invoice
from invoice_core.answer import Answer

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("pillow_unpatched")]


class Context:
    function_name = "InferFunction"
    memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:eu-north-1:123456789012:function:InferFunction"
    aws_request_id = "fields-test"


@pytest.fixture(scope="module")
def handler(serving_model: Path, function_env: Callable[..., dict[str, str]]) -> Iterator[ModuleType]:
    env = function_env("infer", MODEL_PATH=str(serving_model))
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        sys.modules.pop("serving.handler", None)
        yield importlib.import_module("serving.handler")
        sys.modules.pop("serving.handler", None)


def _with_fields(event: dict[str, Any]) -> dict[str, Any]:
    event["queryStringParameters"] = {**(event.get("queryStringParameters") or {}), "fields": "1"}
    event["multiValueQueryStringParameters"] = {
        **(event.get("multiValueQueryStringParameters") or {}),
        "fields": ["1"],
    }
    return event


def _answer(handler: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    result = handler.lambda_handler(event, Context())
    assert result["statusCode"] == 200, result["body"][:300]
    return json.loads(result["body"])


def test_a_born_digital_pdf_is_read_from_its_text_layer(
    handler: ModuleType, api_event: Callable[[str], dict[str, Any]]
) -> None:
    # A labelled header (the reader needs a label to take an invoice number; no_label pages have none).
    pdf, printed = born_digital_invoice(2026, layout="meta_right")
    event = _with_fields(api_event("infer_pdf"))
    event["body"], event["isBase64Encoded"] = base64.b64encode(pdf).decode(), True
    body = _answer(handler, event)
    Answer.model_validate({k: body[k] for k in ("fields", "checks", "needs_review")})
    fields = body["fields"]
    assert body["read"]["sources"] == ["pdf_text"]
    assert fields["invoice_number"]["value"] == printed.number.lstrip("#")
    assert fields["invoice_number"]["source"] == "pdf_text"
    assert fields["total_amount"]["text"].replace(" ", "") in printed.total.replace(" ", "")
    assert body["pages"][0]["page"] == 1 and "detections" in body["pages"][0]
    assert body["timings_ms"]["read"] > 0


def test_a_scan_is_read_by_ocr_around_its_detections(
    handler: ModuleType, api_event: Callable[[str], dict[str, Any]]
) -> None:
    body = _answer(handler, _with_fields(api_event("infer_jpeg")))
    Answer.model_validate({k: body[k] for k in ("fields", "checks", "needs_review")})
    assert body["read"]["sources"] == ["ocr"]
    assert body["fields"], "a scanned sample invoice gives some values"
    assert {f["source"] for f in body["fields"].values()} == {"ocr"}
    assert body["detections"]


def test_detections_only_by_default(handler: ModuleType, api_event: Callable[[str], dict[str, Any]]) -> None:
    body = _answer(handler, api_event("infer_jpeg"))
    assert "fields" not in body and "read" not in body and "read" not in body["timings_ms"]
