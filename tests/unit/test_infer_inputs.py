"""Request parsing: body kinds, multipart, options, content negotiation, S3 limits, PDFs."""

from __future__ import annotations

import base64
import json
import threading

import boto3
import numpy as np
import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

from apiedge.errors import Conflict, UpstreamUnavailable
from bench import samples
from bench.guards import count_lie, huge_pages, operator_bomb
from devkit.local_api import build_event
from invoice_core.detect.pdf import RenderBudget, render_pdf
from invoice_core.errors import (
    InputTooLarge,
    InvalidOption,
    RenderLimitExceeded,
    TooManyPixels,
    UndecodableInput,
)
from serving.errors import BadRequest, ForbiddenSource, PayloadTooLarge, SourceNotFound, UnsupportedMediaType
from serving.inputs import prefers_jpeg, read_request
from serving.schemas import parse_options
from serving.storage import TOKEN_META, fetch_upload, presign_upload, upload_key_pattern

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


TOKEN = "0123456789abcdef0123456789abcdef"
KEY = f"uploads/{TOKEN}/scan.pdf"


@pytest.fixture
def bucket():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-north-1")
        client.create_bucket(Bucket="uploads", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
        yield client


def _fetch(client, uri: str, max_bytes: int = 4096) -> bytes:
    return fetch_upload(client, uri, bucket="uploads", prefix="uploads/", max_bytes=max_bytes)


def test_s3_object_over_the_limit_is_413(bucket):
    bucket.put_object(Bucket="uploads", Key=KEY, Body=b"\x00" * 2048, Metadata={TOKEN_META: TOKEN})
    with pytest.raises(PayloadTooLarge, match="2,048"):
        _fetch(bucket, f"s3://uploads/{KEY}", max_bytes=1024)
    assert _fetch(bucket, f"s3://uploads/{KEY}") == b"\x00" * 2048


def test_an_upload_is_read_once_then_deleted(bucket):
    bucket.put_object(Bucket="uploads", Key=KEY, Body=b"%PDF-1.7", Metadata={TOKEN_META: TOKEN})
    assert _fetch(bucket, f"s3://uploads/{KEY}") == b"%PDF-1.7"
    assert bucket.list_objects_v2(Bucket="uploads").get("KeyCount") == 0
    with pytest.raises(SourceNotFound, match="read once"):
        _fetch(bucket, f"s3://uploads/{KEY}")


@pytest.mark.parametrize(
    "key",
    [
        "elsewhere/secret.jpg",  # outside the prefix
        "uploads/secret.jpg",  # no token
        "uploads/sample/invoice.jpg",  # not a token
        f"uploads/{TOKEN.upper()}/scan.pdf",  # not the shape issued
        f"uploads/{TOKEN}/scan.exe",
        f"uploads/{TOKEN}/../../x.pdf",
        f"uploads/{TOKEN}/a/b.pdf",
    ],
)
def test_s3_keys_not_issued_by_the_route_are_refused_before_any_read(bucket, key):
    bucket.put_object(Bucket="uploads", Key=key, Body=b"x", Metadata={TOKEN_META: TOKEN})
    with pytest.raises(ForbiddenSource, match="upload-url"):
        _fetch(bucket, f"s3://uploads/{key}")


@pytest.mark.parametrize("metadata", [{}, {TOKEN_META: "f" * 32}])
def test_an_object_without_its_upload_token_is_refused(bucket, metadata):
    """The right key shape is not enough: the object must carry the token the route issued."""
    bucket.put_object(Bucket="uploads", Key=KEY, Body=b"x", Metadata=metadata)
    with pytest.raises(ForbiddenSource, match="not uploaded through"):
        _fetch(bucket, f"s3://uploads/{KEY}")
    assert bucket.list_objects_v2(Bucket="uploads")["KeyCount"] == 1  # refused, not deleted


def test_s3_input_needs_a_configured_bucket(bucket):
    from serving.errors import FeatureDisabled  # noqa: PLC0415 - only here

    with pytest.raises(FeatureDisabled):
        fetch_upload(bucket, "s3://uploads/x.jpg", bucket=None, prefix="uploads/", max_bytes=1024)


class _Unreachable:
    """An S3 client whose endpoint cannot be reached."""

    def __getattr__(self, name):
        def call(**_kwargs):
            raise EndpointConnectionError(endpoint_url="https://s3.eu-north-1.amazonaws.com")

        return call


def test_s3_connectivity_fault_is_a_503_with_retry_after():
    with pytest.raises(UpstreamUnavailable) as caught:
        _fetch(_Unreachable(), f"s3://uploads/{KEY}")
    assert caught.value.status == 503 and caught.value.retry_after_s


def test_presigned_post_bounds_the_upload(bucket):
    grant = presign_upload(
        bucket,
        bucket="uploads",
        prefix="uploads/",
        content_type="application/pdf",
        filename="../scan 2026.pdf",
        expires_s=900,
        max_bytes=5000,
    )
    assert grant["method"] == "POST" and grant["max_bytes"] == 5000
    key = grant["s3_uri"].removeprefix("s3://uploads/")
    token = upload_key_pattern("uploads/").match(key)["token"]
    assert key == f"uploads/{token}/scan-2026.pdf"
    fields = grant["fields"]
    assert fields["key"] == key and fields["Content-Type"] == "application/pdf"
    assert fields[f"x-amz-meta-{TOKEN_META}"] == token
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert ["content-length-range", 1, 5000] in policy["conditions"]
    assert {f"x-amz-meta-{TOKEN_META}": token} in policy["conditions"]
    assert {"Content-Type": "application/pdf"} in policy["conditions"]
    assert {"key": key} in policy["conditions"]
    other = presign_upload(
        bucket, bucket="uploads", prefix="uploads/", content_type="image/png", filename=None, expires_s=60,
        max_bytes=5000,
    )  # fmt: skip
    assert other["fields"][f"x-amz-meta-{TOKEN_META}"] != token  # one token per upload


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
    with pytest.raises(TooManyPixels, match="pixels in all"):
        render_pdf(huge, dpi=150, max_pages=3, max_pixels=50_000_000)


def test_pdf_pages_render_near_the_model_size_but_report_the_dpi_frame():
    data = samples.pdf([samples.invoice_page(1, 50)], dpi=50)
    (page,) = render_pdf(data, dpi=150, max_pages=2, max_pixels=10**8, max_side=640)
    width, height = samples.a4_size(50)  # the page, in points: its pixels at 50 DPI x 72 / 50
    assert max(page.bgr.shape[:2]) == 640
    assert abs(page.width - width * 3) <= 3 and abs(page.height - height * 3) <= 3  # boxes: at 150 DPI
    sx, sy = page.scale
    assert sx == pytest.approx(sy, rel=0.01) and sx == pytest.approx(height * 3 / 640, rel=0.01)
    (fine,) = render_pdf(data, dpi=50, max_pages=2, max_pixels=10**8, max_side=4000)  # never above dpi
    assert fine.bgr.shape[:2] == (fine.height, fine.width)
    assert abs(fine.width - width) <= 1 and abs(fine.height - height) <= 1


def test_one_pixel_budget_for_all_pages_together():
    """10 pages of 49.9 Mpx each (under a 50 Mpx per-image cap): at the DPI the sum is refused from
    the page sizes, before anything is drawn; near the model size they are cheap and accepted."""
    data = huge_pages(pages=10, megapixels=49.9, dpi=150)
    assert len(data) < 4096
    with pytest.raises(TooManyPixels, match="10 page"):
        render_pdf(data, dpi=150, max_pages=10, max_pixels=50_000_000)
    with pytest.raises(TooManyPixels):  # a budget below one page's share of the model-size render
        render_pdf(data, dpi=150, max_pages=10, max_pixels=640 * 640 * 9, max_side=640)
    pages = render_pdf(data, dpi=150, max_pages=10, max_pixels=50_000_000, max_side=640)
    assert len(pages) == 10 and all(p.bgr.shape[:2] == (640, 640) for p in pages)
    assert all(abs(p.width * p.height - 49_900_000) < 20_000 for p in pages)


def test_a_page_count_that_lies_is_422_not_a_crash():
    with pytest.raises(UndecodableInput, match="says it has 5 pages"):
        render_pdf(count_lie(pages=1, count=5), dpi=72, max_pages=10, max_pixels=10**8)


def test_an_operator_bomb_is_stopped_at_the_cpu_limit():
    data = operator_bomb(20_000)  # ~1.3 KB; tens of seconds of drawing at 150 DPI
    assert len(data) < 2048
    with pytest.raises(RenderLimitExceeded, match="1 s of CPU"):
        render_pdf(data, dpi=150, max_pages=2, max_pixels=10**8, budget=RenderBudget(cpu_s=1, wall_s=60))


def test_a_slow_render_is_killed_at_the_wall_clock_limit():
    with pytest.raises(RenderLimitExceeded, match=r"longer than 0\.3 s"):
        render_pdf(
            operator_bomb(20_000), dpi=150, max_pages=2, max_pixels=10**8, budget=RenderBudget(wall_s=0.3)
        )


def test_a_render_past_its_memory_is_stopped_and_the_next_one_works():
    data = samples.pdf([samples.invoice_page(1, 50)], dpi=50)
    with pytest.raises(RenderLimitExceeded, match="16 MB"):  # A4 at 600 DPI: a 100 MB bitmap
        render_pdf(data, dpi=600, max_pages=2, max_pixels=10**8, budget=RenderBudget(memory_mb=16))
    assert len(render_pdf(data, dpi=72, max_pages=2, max_pixels=10**8)) == 1


def test_the_render_child_gives_the_pixels_of_an_in_process_render():
    data = samples.pdf([samples.invoice_page(seed, 50) for seed in (1, 2)], dpi=50)
    child = render_pdf(data, dpi=100, max_pages=2, max_pixels=10**8, max_side=500)
    here = render_pdf(data, dpi=100, max_pages=2, max_pixels=10**8, max_side=500, budget=None)
    assert [(p.width, p.height) for p in child] == [(p.width, p.height) for p in here]
    assert all(np.array_equal(a.bgr, b.bgr) for a, b in zip(child, here, strict=True))


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


def test_an_upload_replaced_between_head_and_get_is_409(bucket, monkeypatch):
    bucket.put_object(Bucket="uploads", Key=KEY, Body=b"x", Metadata={TOKEN_META: TOKEN})
    real_get = bucket.get_object

    def replaced_meanwhile(**kwargs):
        bucket.put_object(Bucket="uploads", Key=KEY, Body=b"other", Metadata={TOKEN_META: TOKEN})
        return real_get(**kwargs)

    monkeypatch.setattr(bucket, "get_object", replaced_meanwhile)
    with pytest.raises(Conflict, match="changed while"):
        _fetch(bucket, f"s3://uploads/{KEY}")
