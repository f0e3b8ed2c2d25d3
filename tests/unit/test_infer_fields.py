"""POST /infer answers the field values by default: read from the text layer of a born-digital PDF
or by OCR around the detections of a scan, next to the detections; `fields=0` (query, JSON body
or form field) asks for detections only, and READ_FIELDS=false turns the default off."""

from __future__ import annotations

import base64
import importlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
import pytest

from bench.make_events import BOUNDARY
from devkit.synth.pdf import born_digital_invoice
from invoice_core.read import ocr
from invoice_core.read import values as reader
from invoice_core.respond.schema import Answer
from serving.settings import Settings

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


@pytest.fixture(scope="module")
def digital() -> tuple[bytes, Any]:
    """A labelled born-digital invoice (its text layer reads in milliseconds) and what it prints."""
    return born_digital_invoice(2026, layout="meta_right")


@pytest.fixture
def no_reading(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts calls of the reader and of the OCR engine's construction (a detections-only answer
    must make none)."""
    calls = {"read_fields": 0, "ocr_engine": 0}
    real_read, real_init = reader.read_values, ocr.OcrEngine.__init__

    def read_fields(*args: Any, **kwargs: Any) -> Any:
        calls["read_fields"] += 1
        return real_read(*args, **kwargs)

    def engine_init(self: Any, *args: Any, **kwargs: Any) -> None:
        calls["ocr_engine"] += 1
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(reader, "read_values", read_fields)
    monkeypatch.setattr(ocr.OcrEngine, "__init__", engine_init)
    monkeypatch.setattr(ocr, "get_engine", lambda **_: pytest.fail("an OCR engine was asked for"))
    return calls


def _with_pdf(event: dict[str, Any], pdf: bytes) -> dict[str, Any]:
    event["body"], event["isBase64Encoded"] = base64.b64encode(pdf).decode(), True
    return event


def _result(handler: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    result = handler.lambda_handler(event, Context())
    raw = result["body"] or ""
    result["bytes"] = base64.b64decode(raw) if result["isBase64Encoded"] else raw.encode()
    return result


def _answer(handler: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    result = _result(handler, event)
    assert result["statusCode"] == 200, result["body"][:300]
    return json.loads(result["bytes"])


def test_a_born_digital_pdf_is_read_from_its_text_layer(
    handler: ModuleType, api_event: Callable[..., dict[str, Any]], digital: tuple[bytes, Any]
) -> None:
    # A labelled header (the reader needs a label to take an invoice number; no_label pages have none).
    pdf, printed = digital
    body = _answer(handler, _with_pdf(api_event("infer_pdf", fields="1"), pdf))  # the old opt-in still works
    Answer.model_validate({k: body[k] for k in ("fields", "checks", "needs_review")})
    fields = body["fields"]
    assert body["read"]["sources"] == ["pdf_text"]
    assert fields["invoice_number"]["value"] == printed.number.lstrip("#")
    assert fields["invoice_number"]["source"] == "pdf_text"
    assert fields["total_amount"]["text"].replace(" ", "") in printed.total.replace(" ", "")
    assert body["pages"][0]["page"] == 1 and "detections" in body["pages"][0]
    assert body["timings_ms"]["read"] > 0


def test_a_scan_is_read_by_ocr_around_its_detections_by_default(
    handler: ModuleType, api_event: Callable[..., dict[str, Any]]
) -> None:
    body = _answer(handler, api_event("infer_jpeg"))  # no option: the default answer reads the values
    Answer.model_validate({k: body[k] for k in ("fields", "checks", "needs_review")})
    assert body["read"]["sources"] == ["ocr"]
    assert body["fields"], "a scanned sample invoice gives some values"
    assert {f["source"] for f in body["fields"].values()} == {"ocr"}
    assert body["detections"]
    assert body["timings_ms"]["read"] > 0


def _form(fields: dict[str, str], pdf: bytes) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
    file = (head + "Content-Type: application/pdf\r\n\r\n").encode() + pdf + b"\r\n"
    return b"".join(parts) + file + f"--{BOUNDARY}--\r\n".encode()


def _detections_only_request(
    kind: str, api_event: Callable[..., dict[str, Any]], pdf: bytes
) -> dict[str, Any]:
    if kind == "query":
        return _with_pdf(api_event("infer_pdf", fields="0"), pdf)
    if kind == "query-false":
        return _with_pdf(api_event("infer_pdf", fields="false"), pdf)
    if kind == "json":
        event = api_event("infer_json_base64")
        event["body"] = json.dumps({"image": base64.b64encode(pdf).decode(), "fields": False})
        return event
    event = api_event("infer_multipart")
    return _with_pdf(event, _form({"fields": "0"}, pdf)) | {"isBase64Encoded": True}


@pytest.mark.parametrize("kind", ["query", "query-false", "json", "form"])
def test_fields_0_gives_detections_only_without_reading(
    handler: ModuleType,
    api_event: Callable[..., dict[str, Any]],
    digital: tuple[bytes, Any],
    no_reading: dict[str, int],
    kind: str,
) -> None:
    body = _answer(handler, _detections_only_request(kind, api_event, digital[0]))
    assert body["pages"][0]["detections"], "the detections are still answered"
    assert not {"fields", "checks", "needs_review", "read"} & set(body)
    assert "read" not in body["timings_ms"]
    assert no_reading == {"read_fields": 0, "ocr_engine": 0}


def test_a_scan_with_fields_0_builds_no_ocr_engine(
    handler: ModuleType, api_event: Callable[..., dict[str, Any]], no_reading: dict[str, int]
) -> None:
    body = _answer(handler, api_event("infer_jpeg", fields="0"))
    assert body["detections"] and "fields" not in body
    assert no_reading == {"read_fields": 0, "ocr_engine": 0}


def test_read_fields_false_makes_detections_only_the_default(
    handler: ModuleType,
    api_event: Callable[..., dict[str, Any]],
    digital: tuple[bytes, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings.from_env({"READ_FIELDS": "false"}).read_fields is False
    assert Settings.from_env({}).read_fields is True
    monkeypatch.setattr(handler, "SETTINGS", handler.SETTINGS.model_copy(update={"read_fields": False}))
    assert "fields" not in _answer(handler, _with_pdf(api_event("infer_pdf"), digital[0]))
    asked = _answer(handler, _with_pdf(api_event("infer_pdf", fields="1"), digital[0]))
    assert asked["fields"]["invoice_number"]["source"] == "pdf_text"


@pytest.mark.parametrize("value", ["maybe", "2", "detections"])
def test_a_bad_fields_value_is_a_422_in_the_query_and_the_body(
    handler: ModuleType, api_event: Callable[..., dict[str, Any]], value: str
) -> None:
    event = api_event("infer_json_base64")
    event["body"] = json.dumps({**json.loads(event["body"]), "fields": value})
    for request in (api_event("infer_jpeg", fields=value), event):
        result = _result(handler, request)
        assert result["statusCode"] == 422
        error = json.loads(result["bytes"])
        assert error["error"] == "invalid_option" and error["message"].startswith("fields: ")


def test_items_asks_for_a_scans_line_items_and_a_bad_value_is_a_422(
    handler: ModuleType, api_event: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    policies: list[Any] = []

    def spy(*args: Any, **kwargs: Any) -> Any:  # no OCR: only which policy the handler asks for
        policies.append(kwargs.get("policy"))
        return {"fields": {}, "checks": {}, "needs_review": [], "read": {"sources": ["ocr"]}}

    monkeypatch.setattr(reader, "read_values", spy)
    _answer(handler, api_event("infer_jpeg"))
    _answer(handler, api_event("infer_jpeg", items="1"))
    assert [p.ocr_line_items for p in policies] == [False, True]
    bad = _result(handler, api_event("infer_jpeg", items="rows"))
    assert bad["statusCode"] == 422 and json.loads(bad["bytes"])["message"].startswith("items: ")


def _jpeg(result: dict[str, Any]) -> np.ndarray:
    headers = {k.lower(): v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}
    assert result["statusCode"] == 200 and headers["content-type"] == "image/jpeg"
    return cv2.imdecode(np.frombuffer(result["bytes"], np.uint8), cv2.IMREAD_COLOR).astype(int)


def test_the_annotated_jpeg_shows_the_values_read(
    handler: ModuleType, api_event: Callable[..., dict[str, Any]], digital: tuple[bytes, Any]
) -> None:
    """The same page with and without values: same size; the values' tags change the pixels near
    each field's box (the detections-only sheet has no such change)."""
    pdf = digital[0]
    answer = _answer(handler, _with_pdf(api_event("infer_pdf"), pdf))
    with_values = _jpeg(_result(handler, _with_pdf(api_event("infer_pdf", annotate="1"), pdf)))
    boxes_only = _jpeg(_result(handler, _with_pdf(api_event("infer_pdf", annotate="1", fields="0"), pdf)))
    assert with_values.shape == boxes_only.shape  # the tags are drawn inside the page's budget
    page = answer["pages"][0]["image"]
    ratio = with_values.shape[1] / page["width"]  # sheet pixels per reported (150 DPI) pixel
    changed = np.abs(with_values - boxes_only).max(axis=2) > 80
    assert answer["fields"]
    for name, field in answer["fields"].items():
        box = field["box"]
        x1, y1 = max(0, round(box["x1"] * ratio) - 40), max(0, round(box["y1"] * ratio) - 40)
        x2, y2 = round(box["x2"] * ratio) + 300, round(box["y2"] * ratio) + 60
        assert changed[y1:y2, x1:x2].sum() > 50, f"no value drawn near {name}"


def test_the_sample_events_give_the_default_and_the_detections_only_answers(
    handler: ModuleType, api_event: Callable[..., dict[str, Any]], no_reading: dict[str, int]
) -> None:
    """events/infer_pdf_text_layer.json: values by default, from the text layer (no OCR engine);
    events/infer_detections_only.json: `fields=0`, no reading at all."""
    values = _answer(handler, api_event("infer_pdf_text_layer"))
    assert values["read"]["sources"] == ["pdf_text"] and values["fields"]["invoice_number"]["value"]
    assert no_reading == {"read_fields": 1, "ocr_engine": 0}
    detections = _answer(handler, api_event("infer_detections_only"))
    assert detections["detections"] and "fields" not in detections
    assert no_reading == {"read_fields": 1, "ocr_engine": 0}
