"""The local API server on 127.0.0.1: real HTTP requests (as curl sends them) for every body kind.

The server runs as its own process (`python -m devkit.local_api`) from template.yaml, with moto's
server standing in for S3 so the presigned-upload path works end to end. Loopback only.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import cv2
import numpy as np
import pytest
from moto.server import ThreadedMotoServer

from bench import samples

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("pillow_unpatched")]

REPO = Path(__file__).resolve().parents[2]
BUCKET = "invoice-yolo-uploads-it"
REGION = "eu-north-1"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield endpoint
    server.stop()


@pytest.fixture(scope="module")
def api(serving_model: Path, moto_s3: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m devkit.local_api` on a free loopback port; yields its base URL."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("local-api") / "server.log").open("w")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_S3": moto_s3,
    }
    overrides = {
        "MODEL_PATH": str(serving_model),
        "UPLOAD_BUCKET": BUCKET,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    argv = [sys.executable, "-m", "devkit.local_api", "--port", str(port)]
    for key, value in overrides.items():
        argv += ["--env", f"{key}={value}"]
    process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"local API exited: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("local API did not start in 60 s")
    yield base
    process.terminate()
    process.wait(timeout=10)
    log.close()


def request(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None, method: str = "POST"
) -> Reply:
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with OPENER.open(req, timeout=60) as resp:
            return Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    return samples.encode(samples.invoice_page(seed=21, dpi=100), "jpeg", quality=85)


def test_raw_jpeg_like_curl_data_binary(api, jpeg):
    reply = request(f"{api}/infer", jpeg, {"Content-Type": "image/jpeg"})  # the default answer: values too
    assert reply.status == 200, reply.body[:500]
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["x-model-version"] and reply.headers["x-amzn-requestid"]
    body = reply.json()
    assert (body["image"]["width"], body["image"]["height"]) == samples.a4_size(100)
    assert body["model"]["version"] == reply.headers["x-model-version"]
    assert body["read"]["sources"] == ["ocr"] and {"fields", "checks", "needs_review"} <= set(body)


def test_the_demo_page_has_every_field_found_and_each_date_named_by_its_words(api):
    """`make demo`'s sample page with the shipped model: the detector alone (fields=0) scores both
    date rows under 0.25; the default answer proposes them as pooled date rows and the label words
    name each, so every field has a detection of its class on its box."""
    import io  # noqa: PLC0415

    from devkit.demo import missed_fields, sample_page  # noqa: PLC0415

    page = sample_page()  # the demo's own page (its default seed)
    buf = io.BytesIO()
    page.image.save(buf, "JPEG", quality=90)
    alone = request(f"{api}/infer?fields=0", buf.getvalue(), {"Content-Type": "image/jpeg"}).json()
    assert "detector_label" not in json.dumps(alone)  # unpooled: the detector's own classes
    reply = request(f"{api}/infer", buf.getvalue(), {"Content-Type": "image/jpeg"})
    assert reply.status == 200, reply.body[:500]
    body = reply.json()
    assert missed_fields(body["detections"], page.boxes) == []
    named = {d["label"]: d["detector_label"] for d in body["detections"] if "detector_label" in d}
    assert set(named) == {"invoice_date", "due_date"}
    assert body["fields"]["invoice_date"]["value"] < body["fields"]["due_date"]["value"]


# The other requests ask for detections only (fields=0): they test the transport, not the reading,
# and reading a scan costs seconds of OCR.


def test_png_with_query_options(api):
    png = samples.png_document(samples.invoice_page(seed=22, dpi=100))
    reply = request(
        f"{api}/infer?conf=0.02&max_det=3&classes=total_amount,vat&fields=0",
        png,
        {"Content-Type": "image/png"},
    )
    assert reply.status == 200
    detections = reply.json()["detections"]
    assert len(detections) <= 3 and {d["label"] for d in detections} <= {"total_amount", "vat"}


def test_base64_json_and_multipart_agree_with_raw(api, jpeg):
    raw = request(f"{api}/infer?conf=0.02&fields=0", jpeg, {"Content-Type": "image/jpeg"}).json()
    as_json = request(
        f"{api}/infer?fields=0",
        json.dumps({"image": base64.b64encode(jpeg).decode(), "conf": 0.02}).encode(),
        {"Content-Type": "application/json"},
    ).json()
    boundary = uuid.uuid4().hex
    form = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="conf"\r\n\r\n0.02\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="invoice.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + jpeg
        + f"\r\n--{boundary}--\r\n".encode()
    )
    multipart = request(
        f"{api}/infer?fields=0", form, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    ).json()
    assert raw["detections"] == as_json["detections"] == multipart["detections"]


def test_pdf_pages(api):
    pdf = samples.pdf([samples.invoice_page(seed=s, dpi=72) for s in (23, 24)], dpi=72)
    reply = request(f"{api}/infer?fields=0", pdf, {"Content-Type": "application/pdf"})
    assert reply.status == 200
    assert [p["page"] for p in reply.json()["pages"]] == [1, 2]


def test_accept_image_jpeg_returns_binary_jpeg(api, jpeg):
    headers = {"Content-Type": "image/jpeg", "Accept": "image/jpeg"}
    reply = request(f"{api}/infer?conf=0.05&fields=0", jpeg, headers)
    assert reply.status == 200 and reply.headers["content-type"] == "image/jpeg"
    picture = cv2.imdecode(np.frombuffer(reply.body, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None and (picture.shape[1], picture.shape[0]) == samples.a4_size(100)


def test_annotate_with_accept_any_stays_base64_as_api_gateway_does(api, jpeg):
    """API Gateway decodes a base64 response only if the request's first Accept type is binary."""
    reply = request(f"{api}/infer?annotate=1&fields=0", jpeg, {"Content-Type": "image/jpeg", "Accept": "*/*"})
    assert reply.status == 200 and reply.headers["content-type"] == "image/jpeg"
    assert reply.body[:2] != b"\xff\xd8"
    assert base64.b64decode(reply.body)[:2] == b"\xff\xd8"


def test_presigned_upload_then_s3_reference(api):
    grant = request(
        f"{api}/infer/upload-url",
        json.dumps({"content_type": "image/jpeg", "filename": "big scan.jpg"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert grant.status == 200, grant.body
    body = grant.json()
    assert body["url"].startswith("http://127.0.0.1:")  # the stand-in S3 on loopback
    big = samples.encode(samples.invoice_page(seed=25, dpi=150), "jpeg", quality=95)
    boundary = uuid.uuid4().hex
    form = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in body["fields"].items()
    )
    form += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{body["file_field"]}"; filename="big.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + big
        + f"\r\n--{boundary}--\r\n".encode()
    )
    posted = request(body["url"], form, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert posted.status in (200, 201, 204), posted.body
    reply = request(
        f"{api}/infer",
        json.dumps({"s3_uri": body["s3_uri"], "fields": False}).encode(),
        {"Content-Type": "application/json"},
    )
    assert reply.status == 200, reply.body
    assert (reply.json()["image"]["width"], reply.json()["image"]["height"]) == samples.a4_size(150)


def test_bad_requests_are_4xx_and_the_server_keeps_serving(api, jpeg):
    not_image = request(f"{api}/infer", b"hello", {"Content-Type": "image/jpeg"})
    assert not_image.status == 415 and not_image.json()["error"] == "unsupported_media_type"
    bad_json = request(f"{api}/infer", b"{oops", {"Content-Type": "application/json"})
    assert bad_json.status == 400
    bad_option = request(f"{api}/infer?conf=7", jpeg, {"Content-Type": "image/jpeg"})
    assert bad_option.status == 422
    bad_fields = request(f"{api}/infer?fields=perhaps", jpeg, {"Content-Type": "image/jpeg"})
    assert bad_fields.status == 422 and bad_fields.json()["error"] == "invalid_option"
    other_bucket = request(
        f"{api}/infer",
        json.dumps({"s3_uri": "s3://elsewhere/x.jpg"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert other_bucket.status == 403
    bomb = request(f"{api}/infer", samples.png_bomb_header(), {"Content-Type": "image/png"})
    assert bomb.status == 413
    assert request(f"{api}/infer?fields=0", jpeg, {"Content-Type": "image/jpeg"}).status == 200


def test_unknown_routes_get_api_gateways_answer(api):
    for url, method in ((f"{api}/nope", "POST"), (f"{api}/infer", "GET")):
        reply = request(url, None, method=method)
        assert reply.status == 403
        assert reply.json() == {"message": "Missing Authentication Token"}


def test_oversized_body_is_refused_before_it_is_read(api):
    port = int(api.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: 20000000\r\n\r\n"
        )
        reply = b""
        while chunk := sock.recv(4096):  # the server answers, then closes without reading the body
            reply += chunk
    text = reply.decode("latin-1")
    assert text.startswith("HTTP/1.1 413")
    assert text.endswith('{"message": "Request Too Long"}')
