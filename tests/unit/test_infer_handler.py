"""The inference handler end to end, driven by the API Gateway events in events/infer_*.json.

These tests are about the transport, the options, the guards and the detections: every request
asks for detections only (`fields=0`, added by `call` unless the event names `fields`), since
reading a scan's values costs seconds of OCR. The values are tested in test_infer_fields.py.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import cv2
import numpy as np
import pytest
import requests
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

from bench import guards, samples
from bench.make_events import UPLOAD_BUCKET
from serving.storage import TOKEN_META

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("pillow_unpatched")]

REGION = "eu-north-1"
EVENT_PAGE = (827, 1169)  # (width, height) of the A4 page at 100 DPI in the event files


@dataclass
class Context:
    """What Powertools reads from Lambda's context."""

    function_name: str = "InferFunction"
    memory_limit_in_mb: int = 2048
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:InferFunction"
    aws_request_id: str = "11111111-2222-4333-8444-555555555555"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    stdout: str

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture(scope="module")
def handler(serving_model: Path) -> Iterator[ModuleType]:
    """serving.handler imported fresh under a test environment (settings are read at import)."""
    env = {
        "MODEL_PATH": str(serving_model),
        "UPLOAD_BUCKET": UPLOAD_BUCKET,
        "POWERTOOLS_SERVICE_NAME": "infer",
        "POWERTOOLS_METRICS_NAMESPACE": "InvoiceYoloTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        # Small render limits keep the PDF-bomb probes quick; every legitimate test PDF is far below.
        "PDF_RENDER_CPU_S": "2",
        "PDF_RENDER_TIMEOUT_S": "30",
    }
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        sys.modules.pop("serving.handler", None)
        module = importlib.import_module("serving.handler")
        yield module
        sys.modules.pop("serving.handler", None)


@pytest.fixture
def call(handler: ModuleType) -> Callable[[dict[str, Any]], Answer]:
    def invoke(event: dict[str, Any]) -> Answer:
        if "fields" not in (event.get("queryStringParameters") or {}):
            event = _with_query(event, fields="0")  # detections only: no OCR (see the module's doc)
        out = io.StringIO()
        log_stream = handler.logger.registered_handler
        previous = log_stream.setStream(out)  # Powertools' handler holds the stdout of import time
        try:
            with contextlib.redirect_stdout(out):  # EMF metrics are printed
                result = handler.lambda_handler(event, Context())
        finally:
            log_stream.setStream(previous)
        headers = {k.lower(): v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}
        headers.update({k.lower(): v for k, v in (result.get("headers") or {}).items()})
        raw = result["body"] or ""
        body = base64.b64decode(raw) if result["isBase64Encoded"] else raw.encode()
        return Answer(result["statusCode"], headers, body, out.getvalue())

    return invoke


@pytest.fixture
def uploads(handler: ModuleType) -> Iterator[Any]:
    """moto S3 with the upload bucket; the handler's cached client is rebuilt inside the mock."""
    with mock_aws():
        handler.s3_client.cache_clear()
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=UPLOAD_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client
    handler.s3_client.cache_clear()


def _with_query(event: dict[str, Any], **params: str) -> dict[str, Any]:
    event["queryStringParameters"] = {**(event.get("queryStringParameters") or {}), **params}
    multi = event.get("multiValueQueryStringParameters") or {}
    event["multiValueQueryStringParameters"] = {**multi, **{k: [v] for k, v in params.items()}}
    return event


def _assert_detections_well_formed(page: dict[str, Any], names: tuple[str, ...]) -> None:
    width, height = page["image"]["width"], page["image"]["height"]
    for det in page["detections"]:
        box, norm = det["box"], det["box_norm"]
        assert 0 <= box["x1"] <= box["x2"] <= width and 0 <= box["y1"] <= box["y2"] <= height
        assert norm["x2"] == pytest.approx(box["x2"] / width, abs=1e-4)
        assert norm["y1"] == pytest.approx(box["y1"] / height, abs=1e-4)
        assert names[det["class_id"]] == det["label"]
        assert 0.0 <= det["confidence"] <= 1.0


def test_jpeg_body_gives_json_with_model_sizes_and_timings(call, api_event, handler):
    answer = call(_with_query(api_event("infer_jpeg"), conf="0.05"))
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    info = handler.MODELS.current.info
    assert body["model"]["name"] == info.name and body["model"]["version"] == info.version
    assert answer.headers["x-model-version"] == info.version
    assert (body["image"]["width"], body["image"]["height"]) == EVENT_PAGE
    assert body["image"]["format"] == "jpeg"
    assert set(body["timings_ms"]) >= {"decode", "preprocess", "inference", "postprocess", "total"}
    assert body["timings_ms"]["inference"] > 0
    assert body["timings_ms"]["total"] >= body["timings_ms"]["inference"]
    _assert_detections_well_formed(body, info.names)


def test_same_image_gives_same_detections_whatever_the_body_kind(call, api_event):
    """Raw bytes, base64 JSON and multipart carry the same JPEG (conf 0.05 in each)."""
    raw = call(_with_query(api_event("infer_jpeg"), conf="0.05", max_det="50")).json()
    as_json = call(api_event("infer_json_base64")).json()  # conf 0.05, max_det 50 in the body
    form = call(_with_query(api_event("infer_multipart"), max_det="50")).json()  # conf 0.05 as a form field
    assert raw["detections"] == as_json["detections"] == form["detections"]


def test_png_with_query_options_filters_classes_and_caps_count(call, api_event, handler):
    body = call(api_event("infer_png_query_options")).json()  # classes=total_amount,invoice_number max_det=20
    assert body["image"]["format"] == "png"
    assert len(body["detections"]) <= 20
    assert {d["label"] for d in body["detections"]} <= {"total_amount", "invoice_number"}
    _assert_detections_well_formed(body, handler.MODELS.current.info.names)


def test_pdf_gives_one_entry_per_page(call, api_event):
    body = call(api_event("infer_pdf")).json()
    assert [page["page"] for page in body["pages"]] == [1, 2]
    for page in body["pages"]:
        assert page["image"]["format"] == "pdf"
        # A4 rendered at the default 150 DPI.
        assert abs(page["image"]["width"] - 1240) <= 1 and abs(page["image"]["height"] - 1754) <= 1


@pytest.mark.parametrize(
    ("event", "status", "code", "needle"),
    [
        ("infer_bad_empty_body", 400, "invalid_request", "empty body"),
        ("infer_bad_not_an_image", 415, "unsupported_media_type", "not a supported image"),
        ("infer_bad_truncated_jpeg", 422, "undecodable_input", "corrupt or truncated"),
        ("infer_bad_unsupported_type", 415, "unsupported_media_type", "image/gif"),
        ("infer_bad_base64", 400, "invalid_request", "not valid base64"),
        ("infer_bad_json", 400, "invalid_request", "not valid JSON"),
        ("infer_bad_option", 422, "invalid_option", "colour: unknown option"),
        ("infer_bad_fields_option", 422, "invalid_option", "fields: Input should be a valid boolean"),
        ("infer_bad_s3_bucket", 403, "forbidden_source", UPLOAD_BUCKET),
        ("infer_bad_decompression_bomb", 413, "too_many_pixels", "100000x100000"),
    ],
)
def test_bad_input_is_a_clear_4xx(call, api_event, event, status, code, needle):
    answer = call(api_event(event))
    assert answer.status == status
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["error"] == code and body["status"] == status
    assert needle in body["message"]
    assert body["request_id"] == api_event(event)["requestContext"]["requestId"]


def test_bad_option_message_names_the_range(call, api_event):
    body = call(api_event("infer_bad_option")).json()
    assert "conf: Input should be less than or equal to 1" in body["message"]


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"max_det": "0"}, "max_det"),
        ({"classes": "no_such_field"}, "unknown class 'no_such_field'"),
        ({"classes": "99"}, "id 99"),
        ({"conf": "high"}, "conf"),
        ({"annotate": "maybe"}, "annotate"),
        ({"fields": "maybe"}, "fields: Input should be a valid boolean"),
        ({"fields": "2"}, "fields"),
    ],
)
def test_out_of_range_options_are_422(call, api_event, query, needle):
    answer = call(_with_query(api_event("infer_jpeg"), **query))
    assert answer.status == 422
    assert needle in answer.json()["message"]


def test_option_in_query_and_body_is_refused(call, api_event):
    answer = call(_with_query(api_event("infer_json_base64"), conf="0.3"))
    assert answer.status == 422
    assert "more than once" in answer.json()["message"]


def test_body_over_the_limit_is_413_before_decoding(call, api_event):
    event = api_event("infer_jpeg")
    event["body"] = base64.b64encode(b"\xff" * (6 * 1024 * 1024 + 1024)).decode()
    answer = call(event)
    assert answer.status == 413
    assert answer.json()["error"] == "payload_too_large"


def test_binary_body_delivered_as_text_names_binary_media_types(call, api_event):
    event = api_event("infer_jpeg")
    event["isBase64Encoded"] = False
    event["body"] = "\ufffd\ufffdJFIF mangled by a text pass-through"
    answer = call(event)
    assert answer.status == 400
    assert "BinaryMediaTypes" in answer.json()["message"]


def test_missing_content_type_is_415(call, api_event):
    event = api_event("infer_jpeg")
    event["headers"].pop("Content-Type")
    event["multiValueHeaders"].pop("Content-Type")
    answer = call(event)
    assert answer.status == 415
    assert "Content-Type header is required" in answer.json()["message"]


def test_unknown_route_is_404_json(call, api_event):
    event = api_event("infer_jpeg")
    event["path"] = event["resource"] = "/nope"
    answer = call(event)
    assert answer.status == 404
    assert answer.json()["error"] == "not_found"


def test_container_keeps_serving_after_every_bad_input(call, api_event):
    before = call(_with_query(api_event("infer_jpeg"), conf="0.05")).json()["detections"]
    bad = sorted(p.stem for p in (Path(__file__).parents[2] / "events").glob("infer_bad_*.json"))
    assert len(bad) >= 10
    for name in bad * 2:
        assert 400 <= call(api_event(name)).status < 500
    after = call(_with_query(api_event("infer_jpeg"), conf="0.05"))
    assert after.status == 200
    assert after.json()["detections"] == before


def test_accept_image_jpeg_gives_annotated_jpeg(call, api_event):
    answer = call(api_event("infer_annotated_jpeg"))
    assert answer.status == 200
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["vary"] == "Accept"
    picture = cv2.imdecode(np.frombuffer(answer.body, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None
    assert (picture.shape[1], picture.shape[0]) == EVENT_PAGE
    assert int(answer.headers["x-detections"]) >= 0


def test_annotated_jpeg_shows_the_boxes(call, api_event):
    """Pixels inside a drawn box outline differ from the page; the count header matches JSON."""
    json_event = _with_query(api_event("infer_jpeg"), conf="0.05", max_det="5")
    detections = call(json_event).json()["detections"]
    jpeg = call(_with_query(api_event("infer_jpeg"), conf="0.05", max_det="5", annotate="1"))
    assert jpeg.headers["content-type"] == "image/jpeg"
    assert int(jpeg.headers["x-detections"]) == len(detections)
    if detections:
        drawn = cv2.imdecode(np.frombuffer(jpeg.body, np.uint8), cv2.IMREAD_COLOR).astype(int)
        page = samples.invoice_page(seed=3, dpi=100).astype(int)
        box = detections[0]["box"]
        x1, y1 = round(box["x1"]), round(box["y1"])
        x1, y1 = min(x1, page.shape[1] - 3), min(y1, page.shape[0] - 3)
        assert np.abs(drawn[y1 : y1 + 3, x1 : x1 + 3] - page[y1 : y1 + 3, x1 : x1 + 3]).max() > 40


@pytest.mark.parametrize(
    "accept",
    [
        "text/html,application/xhtml+xml,image/webp,*/*;q=0.8",  # a browser
        "image/webp,*/*",
        "*/*",
        "application/json",
        "application/json, image/jpeg;q=0.5",
    ],
)
def test_accept_that_does_not_prefer_jpeg_gets_json(call, api_event, accept):
    event = api_event("infer_browser_accept")
    event["headers"]["Accept"] = accept
    event["multiValueHeaders"]["Accept"] = [accept]
    answer = call(event)
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"


@pytest.mark.parametrize("accept", ["image/jpeg", "image/*", "image/jpeg, application/json;q=0.9"])
def test_accept_preferring_jpeg_gets_jpeg(call, api_event, accept):
    event = api_event("infer_browser_accept")
    event["headers"]["Accept"] = accept
    event["multiValueHeaders"]["Accept"] = [accept]
    assert call(event).headers["content-type"] == "image/jpeg"


def _event_upload_key(api_event) -> tuple[str, str]:
    """The key of events/infer_s3_reference.json and its token (the shape the route issues)."""
    key = json.loads(api_event("infer_s3_reference")["body"])["s3_uri"].removeprefix(f"s3://{UPLOAD_BUCKET}/")
    return key, key.split("/")[1]


def test_s3_reference_in_upload_bucket(call, api_event, uploads):
    jpeg = samples.encode(samples.invoice_page(seed=3, dpi=100), "jpeg", quality=80)
    key, token = _event_upload_key(api_event)
    uploads.put_object(Bucket=UPLOAD_BUCKET, Key=key, Body=jpeg, Metadata={TOKEN_META: token})
    body = call(api_event("infer_s3_reference")).json()
    assert (body["image"]["width"], body["image"]["height"]) == EVENT_PAGE
    assert uploads.list_objects_v2(Bucket=UPLOAD_BUCKET)["KeyCount"] == 0  # deleted once read


def test_s3_reference_to_an_object_the_route_did_not_issue_is_403(call, api_event, uploads):
    key, _ = _event_upload_key(api_event)
    uploads.put_object(Bucket=UPLOAD_BUCKET, Key=key, Body=b"x")  # right shape, no upload token
    answer = call(api_event("infer_s3_reference"))
    assert answer.status == 403 and answer.json()["error"] == "forbidden_source"


def test_s3_reference_to_a_missing_object_is_404(call, api_event, uploads):
    answer = call(api_event("infer_s3_reference"))  # nothing uploaded
    assert answer.status == 404
    assert answer.json()["error"] == "object_not_found"


@pytest.mark.parametrize(
    ("uri", "status"),
    [
        ("https://example.com/invoice.jpg", 400),
        ("s3://", 400),
        (f"s3://{UPLOAD_BUCKET}", 400),
        ("s3://other-bucket/uploads/x.jpg", 403),
        (f"s3://{UPLOAD_BUCKET}.evil/uploads/x.jpg", 403),
    ],
)
def test_bad_s3_uris_are_4xx(call, api_event, uploads, uri, status):
    event = api_event("infer_s3_reference")
    event["body"] = json.dumps({"s3_uri": uri})
    assert call(event).status == status


def test_presigned_upload_then_infer(call, api_event, uploads, handler):
    """The large-input path: ask for a URL, POST the PDF there as a form, then POST its s3_uri (once)."""
    grant = call(api_event("infer_upload_url"))
    assert grant.status == 200
    body = grant.json()
    assert body["method"] == "POST" and body["fields"]["Content-Type"] == "application/pdf"
    assert body["max_bytes"] == handler.SETTINGS.max_object_bytes
    assert body["s3_uri"].startswith(f"s3://{UPLOAD_BUCKET}/uploads/") and body["s3_uri"].endswith(".pdf")
    pdf = samples.pdf([samples.invoice_page(seed=8, dpi=100)], dpi=100)
    files = {body["file_field"]: ("scan.pdf", pdf, "application/pdf")}
    posted = requests.post(body["url"], data=body["fields"], files=files, timeout=10)
    assert posted.status_code in (200, 201, 204)
    event = api_event("infer_s3_reference")
    event["body"] = json.dumps({"s3_uri": body["s3_uri"]})
    answer = call(event)
    assert answer.status == 200
    assert len(answer.json()["pages"]) == 1
    again = call(event)  # single use: the object was deleted after the read
    assert again.status == 404 and "read once" in again.json()["message"]


def test_presign_refuses_unsupported_content_type(call, api_event, uploads):
    event = api_event("infer_upload_url")
    event["body"] = json.dumps({"content_type": "text/html"})
    answer = call(event)
    assert answer.status == 415


def test_metrics_and_logs_carry_model_version_and_correlation_id(call, api_event, handler):
    answer = call(_with_query(api_event("infer_jpeg"), conf="0.05"))
    lines = [json.loads(line) for line in answer.stdout.splitlines() if line.startswith("{")]
    emf = [line for line in lines if "_aws" in line and "Latency" in line]
    assert emf, answer.stdout[:500]
    assert emf[-1]["ModelVersion"] == handler.MODELS.current.info.version
    count = emf[-1]["Detections"]
    assert (count[0] if isinstance(count, list) else count) == len(answer.json()["detections"])
    directives = emf[-1]["_aws"]["CloudWatchMetrics"][0]
    assert any("ModelVersion" in dims for dims in directives["Dimensions"])
    logged = [line for line in lines if line.get("message") == "inference"]
    assert logged and logged[-1]["correlation_id"] == api_event("infer_jpeg")["requestContext"]["requestId"]
    assert logged[-1]["model_version"] == handler.MODELS.current.info.version


# --- hardening (issue 9): each attacker probe, built small here, is a 4xx JSON with its code


def _binary(api_event, data: bytes, content_type: str, accept: str = "*/*") -> dict[str, Any]:
    return samples.with_binary_body(api_event("infer_pdf"), data, content_type, accept)


def _refused(answer: Answer, status: int, code: str) -> dict[str, Any]:
    assert answer.status == status, answer.body[:300]
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["error"] == code and body["status"] == status and body["message"]
    return body


def test_a_pdf_whose_page_count_lies_is_422(call, api_event):
    body = _refused(
        call(_binary(api_event, guards.count_lie(pages=1, count=5), "application/pdf")),
        422,
        "undecodable_input",
    )
    assert "5 pages" in body["message"]


def test_a_pdf_operator_bomb_is_422_render_limit_exceeded(call, api_event):
    bomb = guards.operator_bomb(20_000)  # 1.3 KB; ~20 s to draw at 150 DPI, 2 s of CPU allowed here
    body = _refused(call(_binary(api_event, bomb, "application/pdf")), 422, "render_limit_exceeded")
    assert "CPU" in body["message"]
    assert call(api_event("infer_pdf")).status == 200  # and the container goes on serving


def test_a_slow_pdf_is_killed_at_the_wall_clock(call, api_event, handler, monkeypatch):
    monkeypatch.setattr(
        handler, "SETTINGS", handler.SETTINGS.model_copy(update={"pdf_render_timeout_s": 0.3})
    )
    bomb = guards.operator_bomb(20_000)
    body = _refused(call(_binary(api_event, bomb, "application/pdf")), 422, "render_limit_exceeded")
    assert "longer than 0.3 s" in body["message"]


def test_huge_pdf_pages_render_near_model_size_and_report_the_dpi_frame(call, api_event, handler):
    """10 pages of 49.9 Mpx at 150 DPI (2.6 KB): drawn near the model's input, boxes at 150 DPI."""
    data = guards.huge_pages(pages=10, megapixels=49.9, dpi=150)
    body = call(_binary(api_event, data, "application/pdf")).json()
    assert len(body["pages"]) == 10
    for page in body["pages"]:
        assert abs(page["image"]["width"] * page["image"]["height"] - 49_900_000) < 20_000
    max_side = handler.SETTINGS.annotated_max_side
    jpeg = call(_binary(api_event, data, "application/pdf", accept="image/jpeg"))
    assert jpeg.status == 200 and jpeg.headers["content-type"] == "image/jpeg"
    sheet = cv2.imdecode(np.frombuffer(jpeg.body, np.uint8), cv2.IMREAD_COLOR)
    assert max(sheet.shape[:2]) <= max_side


def test_one_pixel_budget_across_all_pdf_pages(call, api_event, handler, monkeypatch):
    full_dpi = handler.SETTINGS.model_copy(update={"pdf_render_multiple": 0.0})  # as an OCR reader would
    monkeypatch.setattr(handler, "SETTINGS", full_dpi)
    data = guards.huge_pages(pages=10, megapixels=49.9, dpi=150)  # each page under 50 Mpx, not all ten
    body = _refused(call(_binary(api_event, data, "application/pdf")), 413, "too_many_pixels")
    assert "in all" in body["message"]


def test_transparent_webp_is_composited_on_white(call, api_event):
    answer = call(_binary(api_event, guards.rgba_webp(side=700), "image/webp", accept="image/jpeg"))
    assert answer.status == 200
    picture = cv2.imdecode(np.frombuffer(answer.body, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape[:2] == (700, 700) and picture.min() >= 250  # paper, not black


def test_multipart_text_field_that_is_not_utf8_is_400(call, api_event):
    event = api_event("infer_multipart")
    body = base64.b64decode(event["body"])
    boundary = event["headers"]["Content-Type"].split("boundary=")[1].encode()
    field = b'--%s\r\nContent-Disposition: form-data; name="conf"\r\n\r\n\xff\xfe\xfa\r\n' % boundary
    event["body"] = base64.b64encode(field + body.replace(b'name="conf"', b'name="max_det"')).decode()
    body = _refused(call(event), 400, "invalid_request")
    assert "conf" in body["message"] and "utf" in body["message"].lower()


@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "1\u00b2"])  # superscript two, Arabic-Indic three
def test_non_ascii_digits_in_classes_are_422(call, api_event, value):
    body = _refused(call(_with_query(api_event("infer_jpeg"), classes=value)), 422, "invalid_option")
    assert "unknown class" in body["message"]


@pytest.mark.parametrize("route", ["infer_json_base64", "infer_upload_url"])
def test_deeply_nested_json_is_400(call, api_event, uploads, route):
    event = api_event(route)
    event["body"] = "[" * 100_000 + "]" * 100_000
    body = _refused(call(event), 400, "invalid_request")
    assert "nested too deeply" in body["message"]


def test_s3_unreachable_while_fetching_an_upload_is_503_with_retry_after(
    call, api_event, handler, monkeypatch
):
    class Unreachable:
        def __getattr__(self, name: str) -> Any:
            def fail(**_kwargs: Any) -> Any:
                raise EndpointConnectionError(endpoint_url="https://s3.eu-north-1.amazonaws.com")

            return fail

    monkeypatch.setattr(handler, "s3_client", Unreachable)
    answer = call(api_event("infer_s3_reference"))
    _refused(answer, 503, "upstream_unavailable")
    assert int(answer.headers["retry-after"]) > 0
