"""Request parsing: body kinds, multipart, options, content negotiation, S3 limits, PDFs."""

from __future__ import annotations

import base64
import json
import threading

import boto3
import numpy as np
import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from moto import mock_aws

from bench import samples
from devkit.local_api import build_event
from invoice_core.errors import InputTooLarge, InvalidOption, TooManyPixels, UndecodableInput
from invoice_core.pdf import render_pdf
from serving.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from serving.inputs import prefers_jpeg, read_request
from serving.schemas import parse_options
from serving.storage import fetch_upload

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("pillow_unpatched")]

BINARY = ("image/*", "application/pdf", "application/octet-stream", "multipart/form-data")
MB = 1024 * 1024


def _no_s3(uri: str) -> bytes:
    raise AssertionError(f"unexpected S3 read of {uri}")


def _event(
    content_type: str | None, body: bytes | None, query: list[tuple[str, str]] = ()
) -> APIGatewayProxyEvent:
    headers = [("Content-Type", content_type)] if content_type else []
    raw = build_event("POST", "/infer", headers=headers, query=query, body=body, binary_media_types=BINARY)
    return APIGatewayProxyEvent(raw)


def _form(parts: list[tuple[str, str | None, bytes]], boundary: str = "XyZ") -> tuple[str, bytes]:
    chunks = []
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        chunks.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n")
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks) + f"--{boundary}--\r\n".encode()


def test_multipart_keeps_binary_bytes_exact():
    """CR, LF, CRLF and near-boundary bytes inside the file must survive byte for byte."""
    payload = bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8))
    payload += b"\r\n--XyY\r\n\n\r\r\n--xyz--\r\n" + payload[:100]
    content_type, body = _form([("conf", None, b"0.4"), ("file", "scan.jpg", payload)])
    request = read_request(_event(content_type, body), max_bytes=6 * MB, fetch_s3=_no_s3)
    assert request.data == payload and request.source == "multipart"
    assert request.options.conf == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("parts", "needle"),
    [
        ([("conf", None, b"0.4")], "no file part"),
        ([("a", "a.jpg", b"1"), ("b", "b.jpg", b"2")], "2 file parts"),
        ([("file", "empty.jpg", b"")], "empty"),
        ([("file", "x.jpg", b"x"), ("conf", None, b"0.1"), ("conf", None, b"0.2")], "more than once"),
    ],
)
def test_multipart_shape_errors(parts, needle):
    content_type, body = _form(parts)
    with pytest.raises(BadRequest, match=needle):
        read_request(_event(content_type, body), max_bytes=MB, fetch_s3=_no_s3)


def test_multipart_without_boundary_or_malformed():
    with pytest.raises(BadRequest, match="boundary"):
        read_request(_event("multipart/form-data", b"--x\r\n"), max_bytes=MB, fetch_s3=_no_s3)
    with pytest.raises(BadRequest, match="malformed multipart"):
        read_request(
            _event("multipart/form-data; boundary=XyZ", b"garbage without parts"),
            max_bytes=MB,
            fetch_s3=_no_s3,
        )


def test_multipart_form_field_and_query_option_clash():
    content_type, body = _form([("file", "x.jpg", b"x"), ("conf", None, b"0.1")])
    with pytest.raises(InvalidOption, match="more than once"):
        read_request(_event(content_type, body, [("conf", "0.2")]), max_bytes=MB, fetch_s3=_no_s3)


def test_octet_stream_is_sniffed():
    pdf = samples.pdf([samples.invoice_page(0, 50)], dpi=50)
    assert read_request(_event("application/octet-stream", pdf), max_bytes=MB, fetch_s3=_no_s3).kind == "pdf"
    jpeg = samples.encode(samples.invoice_page(0, 50))
    assert (
        read_request(_event("application/octet-stream", jpeg), max_bytes=MB, fetch_s3=_no_s3).kind == "image"
    )


def test_json_image_accepts_data_urls_and_options():
    jpeg = samples.encode(samples.invoice_page(0, 50))
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    body = json.dumps({"image": data_url, "classes": ["vat", 2], "annotate": True}).encode()
    request = read_request(_event("application/json", body), max_bytes=MB, fetch_s3=_no_s3)
    assert request.data == jpeg and request.source == "json"
    assert request.options.classes == ("vat", 2) and request.options.annotate is True


@pytest.mark.parametrize(
    ("payload", "error", "needle"),
    [
        ([1, 2], BadRequest, "must be an object"),
        ({"image": "aGk=", "s3_uri": "s3://b/k"}, BadRequest, "exactly one"),
        ({}, BadRequest, "exactly one"),
        ({"image": ""}, BadRequest, "image"),
        ({"image": "aGk=", "confidence": 0.3}, InvalidOption, "confidence: unknown option"),
    ],
)
def test_json_shape_errors(payload, error, needle):
    with pytest.raises(error, match=needle):
        read_request(_event("application/json", json.dumps(payload).encode()), max_bytes=MB, fetch_s3=_no_s3)


def test_json_sent_base64_encoded_is_read():
    """With BinaryMediaTypes */* API Gateway base64-encodes JSON too; that must still work."""
    jpeg = samples.encode(samples.invoice_page(0, 50))
    body = json.dumps({"image": base64.b64encode(jpeg).decode()}).encode()
    event = build_event(
        "POST",
        "/infer",
        headers=[("Content-Type", "application/json")],
        body=body,
        binary_media_types=["*/*"],
    )
    assert event["isBase64Encoded"] is True
    assert read_request(APIGatewayProxyEvent(event), max_bytes=MB, fetch_s3=_no_s3).data == jpeg


def test_sizes_are_checked_before_decoding():
    big = b"\x00" * (2 * MB)
    with pytest.raises(PayloadTooLarge):
        read_request(_event("image/jpeg", big), max_bytes=MB, fetch_s3=_no_s3)
    body = json.dumps({"image": base64.b64encode(big).decode()}).encode()
    with pytest.raises(PayloadTooLarge):
        read_request(_event("application/json", body), max_bytes=MB, fetch_s3=_no_s3)


def test_query_options_repeated_and_flags():
    options = parse_options({"classes": ["1", "vat"], "annotate": "", "max_det": "7"})
    assert options.classes == ("1", "vat") and options.annotate is True and options.max_det == 7
    assert parse_options({"classes": "total_amount, vat"}).classes == ("total_amount", "vat")
    for bad in ({"max_det": "301"}, {"conf": "-0.1"}, {"classes": ""}, {"iou": "0.5"}):
        with pytest.raises(InvalidOption):
            parse_options(bad)


@pytest.mark.parametrize(
    ("accept", "jpeg"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("image/jpeg", True),
        ("image/*", True),
        ("image/jpeg;q=0.9, application/json", False),
        ("application/json;q=0.5, image/jpeg", True),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", False),
        ("image/webp,*/*", False),
        ("image/jpeg;q=0, */*", False),
        ("image/jpeg;q=junk", False),
    ],
)
def test_content_negotiation(accept, jpeg):
    assert prefers_jpeg(accept) is jpeg


@pytest.fixture
def bucket():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-north-1")
        client.create_bucket(Bucket="uploads", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
        yield client


def test_s3_object_over_the_limit_is_413(bucket):
    bucket.put_object(Bucket="uploads", Key="big.jpg", Body=b"\x00" * 2048)
    with pytest.raises(PayloadTooLarge, match="2,048"):
        fetch_upload(bucket, "s3://uploads/big.jpg", bucket="uploads", max_bytes=1024)
    assert fetch_upload(bucket, "s3://uploads/big.jpg", bucket="uploads", max_bytes=4096) == b"\x00" * 2048


def test_s3_input_needs_a_configured_bucket(bucket):
    from serving.errors import FeatureDisabled  # noqa: PLC0415 - only here

    with pytest.raises(FeatureDisabled):
        fetch_upload(bucket, "s3://uploads/x.jpg", bucket=None, max_bytes=1024)


def test_unsupported_content_types():
    for content_type in ("text/plain", "image/gif", "application/xml", None):
        with pytest.raises(UnsupportedMediaType):
            read_request(_event(content_type, b"x"), max_bytes=MB, fetch_s3=_no_s3)


# --- PDF


def test_pdf_pages_render_at_the_dpi():
    pages = [samples.invoice_page(seed, 50) for seed in (1, 2, 3)]
    rendered = render_pdf(samples.pdf(pages, dpi=50), dpi=100, max_pages=5, max_pixels=10**8)
    assert len(rendered) == 3
    for image in rendered:
        assert (
            abs(image.width - samples.a4_size(100)[0]) <= 1
            and abs(image.height - samples.a4_size(100)[1]) <= 1
        )
        assert image.bgr.dtype == np.uint8 and image.bgr.shape[2] == 3 and image.format == "pdf"


def test_pdf_page_cap_and_pixel_cap_are_checked_before_rendering(monkeypatch):
    pages = [samples.invoice_page(seed, 50) for seed in range(4)]
    with pytest.raises(InputTooLarge, match="4 pages"):
        render_pdf(samples.pdf(pages, dpi=50), dpi=100, max_pages=3, max_pixels=10**8)
    # A 200 x 200 inch page at 150 DPI would be 900 Mpx; refused from its size.
    huge = samples.pdf([np.full((200, 200, 3), 255, np.uint8)], dpi=1)
    import pypdfium2  # noqa: PLC0415 - to make rendering fail loudly if it were reached

    monkeypatch.setattr(pypdfium2.PdfPage, "render", lambda *a, **k: pytest.fail("rendered"))
    with pytest.raises(TooManyPixels, match="page 1"):
        render_pdf(huge, dpi=150, max_pages=3, max_pixels=50_000_000)


@pytest.mark.parametrize(
    "data", [b"%PDF-1.7\n garbage", b"%PDF-", samples.pdf([np.zeros((9, 9, 3), np.uint8)])[:200]]
)
def test_corrupt_pdf_is_422(data):
    with pytest.raises(UndecodableInput):
        render_pdf(data, dpi=100, max_pages=3, max_pixels=10**8)


def test_pdf_rendering_is_safe_from_threads():
    data = samples.pdf([samples.invoice_page(1, 50)], dpi=50)
    results: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                results.append(render_pdf(data, dpi=72, max_pages=2, max_pixels=10**8)[0].width)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 12 and len(set(results)) == 1
