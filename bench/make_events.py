"""Write `events/infer_*.json`: API Gateway REST proxy events for `sam local invoke` and the tests.

Built by the same translator the local API server uses (`devkit.local_api.build_event`) with the
template's own BinaryMediaTypes, so the files are what API Gateway would send. Deterministic:
fixed pages, request ids and times, so regenerating gives the same files.

    python -m bench.make_events            # writes events/infer_*.json
"""

from __future__ import annotations

import argparse
import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import samples
from devkit.local_api import build_event, load_template
from devkit.synth.pdf import born_digital_invoice

UPLOAD_BUCKET = "invoice-yolo-uploads-local"  # tests set UPLOAD_BUCKET to this
HOST = "abcdef1234.execute-api.eu-north-1.amazonaws.com"
WHEN = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
DPI = 100  # small pages keep the event files small; the benchmark uses 150-200 DPI
BOUNDARY = "----invoiceyoloBoundary7MA4YWxkTrZu0gW"
GIF_1PX = (  # a valid 1x1 GIF: a real image in a format the endpoint does not take
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"
    b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def _headers(content_type: str | None, accept: str = "*/*") -> list[tuple[str, str]]:
    headers = [
        ("Accept", accept),
        ("Host", HOST),
        ("User-Agent", "curl/8.5.0"),
        ("X-Amzn-Trace-Id", "Root=1-6740a3c0-0123456789abcdef01234567"),
        ("X-Forwarded-For", "203.0.113.10"),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Proto", "https"),
        ("x-api-key", "local-test-api-key"),
    ]
    return [*headers, ("Content-Type", content_type)] if content_type else headers


def _multipart(fields: dict[str, str], filename: str, content_type: str, data: bytes) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def scenarios() -> dict[str, dict[str, Any]]:
    """name -> keyword arguments of build_event (method, path, headers, query, body)."""
    page = samples.invoice_page(seed=3, dpi=DPI)
    jpeg = samples.encode(page, "jpeg", quality=80)
    png = samples.png_document(samples.invoice_page(seed=4, dpi=DPI))
    pdf = samples.pdf([samples.invoice_page(seed=5, dpi=DPI), samples.invoice_page(seed=6, dpi=DPI)], dpi=DPI)
    text_pdf, _ = born_digital_invoice(2026, layout="meta_right")  # labelled header, text layer
    b64 = base64.b64encode(jpeg).decode()
    post = {"method": "POST", "path": "/infer"}
    json_type = "application/json"
    return {
        "infer_jpeg": {**post, "headers": _headers("image/jpeg"), "body": jpeg},
        "infer_png_query_options": {
            **post,
            "headers": _headers("image/png"),
            "query": [("conf", "0.05"), ("max_det", "20"), ("classes", "total_amount,invoice_number")],
            "body": png,
        },
        "infer_json_base64": {
            **post,
            "headers": _headers(json_type),
            "body": json.dumps({"image": b64, "conf": 0.05, "max_det": 50}).encode(),
        },
        "infer_multipart": {
            **post,
            "headers": _headers(f"multipart/form-data; boundary={BOUNDARY}"),
            "body": _multipart({"conf": "0.05"}, "invoice.jpg", "image/jpeg", jpeg),
        },
        "infer_s3_reference": {
            **post,
            "headers": _headers(json_type),
            "body": json.dumps(
                {"s3_uri": f"s3://{UPLOAD_BUCKET}/uploads/0123456789abcdef0123456789abcdef/invoice.jpg"}
            ).encode(),
        },
        "infer_pdf": {**post, "headers": _headers("application/pdf"), "body": pdf},
        "infer_annotated_jpeg": {
            **post,
            "headers": _headers("image/jpeg", accept="image/jpeg"),
            "query": [("conf", "0.05")],
            "body": jpeg,
        },
        "infer_browser_accept": {
            **post,
            "headers": _headers("image/jpeg", accept="text/html,application/xhtml+xml,image/webp,*/*;q=0.8"),
            "body": jpeg,
        },
        "infer_upload_url": {
            "method": "POST",
            "path": "/infer/upload-url",
            "headers": _headers(json_type),
            "body": json.dumps({"content_type": "application/pdf", "filename": "scan 2026-11.pdf"}).encode(),
        },
        "infer_bad_empty_body": {**post, "headers": _headers("image/jpeg"), "body": None},
        "infer_bad_not_an_image": {
            **post,
            "headers": _headers("image/png"),
            "body": b"Hello! This is a text file pretending to be a PNG.\n" * 4,
        },
        "infer_bad_truncated_jpeg": {
            **post,
            "headers": _headers("image/jpeg"),
            "body": jpeg[: len(jpeg) // 2],
        },
        "infer_bad_unsupported_type": {
            **post,
            "headers": _headers("image/gif"),
            "body": GIF_1PX,
        },
        "infer_bad_base64": {
            **post,
            "headers": _headers(json_type),
            "body": json.dumps({"image": "this is not base64 at all!"}).encode(),
        },
        "infer_bad_json": {**post, "headers": _headers(json_type), "body": b'{"image": "abc",'},
        "infer_bad_option": {
            **post,
            "headers": _headers("image/jpeg"),
            "query": [("conf", "1.5"), ("colour", "red")],
            "body": jpeg,
        },
        "infer_bad_s3_bucket": {
            **post,
            "headers": _headers(json_type),
            "body": json.dumps({"s3_uri": "s3://someone-elses-bucket/secret.jpg"}).encode(),
        },
        "infer_bad_decompression_bomb": {
            **post,
            "headers": _headers("image/png"),
            "body": samples.png_bomb_header(100_000, 100_000),
        },
        # Added later, at the end so the earlier events keep their request ids.
        # The default answer reads the values; a born-digital PDF reads them from its text layer.
        "infer_pdf_text_layer": {**post, "headers": _headers("application/pdf"), "body": text_pdf},
        "infer_detections_only": {
            **post,
            "headers": _headers("image/jpeg"),
            "query": [("fields", "0")],
            "body": jpeg,
        },
        "infer_bad_fields_option": {
            **post,
            "headers": _headers("image/jpeg"),
            "query": [("fields", "sometimes")],
            "body": jpeg,
        },
    }


def write_events(out_dir: Path, template: Path) -> list[Path]:
    """Write every scenario; returns the paths."""
    api = template_api(template)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for number, (name, spec) in enumerate(scenarios().items(), start=1):
        event = build_event(
            spec["method"],
            spec["path"],
            headers=spec.get("headers", ()),
            query=spec.get("query", ()),
            body=spec.get("body"),
            binary_media_types=api["binary_media_types"],
            stage=api["stage"],
            source_ip="203.0.113.10",
            request_id=f"00000000-0000-4000-8000-{number:012d}",
            now=WHEN,
        )
        path = out_dir / f"{name}.json"
        path.write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def template_api(template: Path) -> dict[str, Any]:
    """BinaryMediaTypes and stage of the API that serves /infer, read from the template."""
    resources = load_template(template)["Resources"]
    event = resources["InferFunction"]["Properties"]["Events"]["Infer"]["Properties"]
    api = resources[event["RestApiId"]["Ref"]]["Properties"]
    stage = api.get("StageName")
    if isinstance(stage, dict):  # !Ref Stage -> its default
        stage = load_template(template)["Parameters"][stage["Ref"]].get("Default", "dev")
    return {
        "binary_media_types": [t.replace("~1", "/") for t in api.get("BinaryMediaTypes", [])],
        "stage": str(stage),
    }


def main() -> None:
    """CLI."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("events"))
    parser.add_argument("--template", type=Path, default=Path("template.yaml"))
    args = parser.parse_args()
    for path in write_events(args.out, args.template):
        print(f"{path}  ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
