"""API Gateway REST proxy event -> the bytes to analyse, their kind, and the options.

Body kinds on `POST /infer`, chosen by Content-Type:
- `image/jpeg|png|webp|tiff|bmp`, `application/pdf`, `application/octet-stream` (sniffed): raw bytes,
  base64-encoded by API Gateway (`isBase64Encoded`) when the type is in the API's BinaryMediaTypes;
- `application/json`: `{"image": "<base64>"}` or `{"s3_uri": "s3://<upload bucket>/<key>"}`;
- `multipart/form-data`: one file part (any field name; `file` by convention), other fields are options.
Options come from the query string and, for JSON and multipart, from the body too.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import multipart

from apiedge.http import loads_json
from invoice_core.detect.pdf import is_pdf
from invoice_core.front import Options
from serving.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from serving.schemas import InferOptions, parse_json_request, parse_options

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

IMAGE_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/webp", "image/tiff", "image/bmp"})
PDF_TYPE = "application/pdf"
OCTET_STREAM = "application/octet-stream"
JSON_TYPE = "application/json"
MULTIPART_TYPE = "multipart/form-data"
ACCEPTED = ", ".join(sorted({*IMAGE_TYPES, PDF_TYPE, OCTET_STREAM, JSON_TYPE, MULTIPART_TYPE}))
MAX_FORM_PARTS = 16

Kind = Literal["image", "pdf"]


@dataclass(frozen=True)
class InferInput:
    """What one request asks to analyse."""

    data: bytes
    kind: Kind
    source: Literal["body", "json", "multipart", "s3"]
    options: InferOptions

    def core_options(self, *, read_default: bool) -> Options:
        """What the core is asked for (`read_default`: the deployment's READ_FIELDS)."""
        opts = self.options
        return Options(
            conf=opts.conf,
            max_det=opts.max_det,
            classes=opts.classes,
            values=opts.read_fields(read_default),
            line_items=opts.items,
        )


def read_request(
    event: APIGatewayProxyEvent, *, max_bytes: int, fetch_s3: Callable[[str], bytes]
) -> InferInput:
    """Parse a REST proxy event (Powertools' event object: case-insensitive headers)."""
    media_type, params = multipart.parse_options_header(event.headers.get("content-type") or "")
    media_type = media_type.lower()
    query = query_options(event)
    if not media_type:
        raise UnsupportedMediaType(f"Content-Type header is required; accepted: {ACCEPTED}")
    binary = media_type in IMAGE_TYPES or media_type in (PDF_TYPE, OCTET_STREAM, MULTIPART_TYPE)
    if not binary and media_type != JSON_TYPE and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"unsupported Content-Type {media_type!r}; accepted: {ACCEPTED}")
    body = raw_body(event, max_bytes=max_bytes, binary=binary, media_type=media_type)
    if media_type == MULTIPART_TYPE:
        return _multipart(body, params.get("boundary"), query, max_bytes)
    if binary:
        kind: Kind = (
            "pdf" if media_type == PDF_TYPE or (media_type == OCTET_STREAM and is_pdf(body)) else "image"
        )
        return InferInput(body, kind, "body", parse_options(query))
    return _json(body, query, max_bytes, fetch_s3)


def query_options(event: APIGatewayProxyEvent) -> dict[str, Any]:
    """Query parameters; a repeated one (`classes=1&classes=2`) becomes a list."""
    multi = event.multi_value_query_string_parameters
    single = event.query_string_parameters
    merged: dict[str, Any] = {}
    for key in {*multi, *single}:
        values = multi.get(key) or [single.get(key, "")]
        merged[key] = values[0] if len(values) == 1 else list(values)
    return merged


def raw_body(event: APIGatewayProxyEvent, *, max_bytes: int, binary: bool, media_type: str) -> bytes:
    """The body as bytes, undoing API Gateway's base64; size checked before decoding."""
    text = event.body
    if not text:
        raise BadRequest("empty body: send the image, PDF or JSON in the request body")
    if event.is_base64_encoded:
        if len(text) * 3 // 4 > max_bytes:
            raise PayloadTooLarge(f"body is larger than the limit of {max_bytes:,} bytes")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest("body is flagged base64 but is not valid base64") from exc
    if binary:
        # API Gateway passes binary as text only when the type is missing from BinaryMediaTypes,
        # and by then the bytes are already mangled: say so instead of failing to decode.
        raise BadRequest(f"binary body arrived as text: the API's BinaryMediaTypes must include {media_type}")
    data = text.encode("utf-8")
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"body is {len(data):,} bytes; the limit is {max_bytes:,}")
    return data


def _json(body: bytes, query: dict[str, Any], max_bytes: int, fetch_s3: Callable[[str], bytes]) -> InferInput:
    request = parse_json_request(loads_json(body))
    options = parse_options(query, request.options())
    if request.s3_uri is not None:
        data = fetch_s3(request.s3_uri)
        return InferInput(data, "pdf" if is_pdf(data) else "image", "s3", options)
    data = decode_base64_field(request.image or "", max_bytes)
    return InferInput(data, "pdf" if is_pdf(data) else "image", "json", options)


def decode_base64_field(value: str, max_bytes: int) -> bytes:
    """`image` may be plain base64 or a data URL (`data:image/png;base64,...`)."""
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    if len(value) * 3 // 4 > max_bytes:
        raise PayloadTooLarge(f"image is larger than the limit of {max_bytes:,} bytes")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest('"image" is not valid base64') from exc
    if not data:
        raise BadRequest('"image" is empty')
    return data


def _multipart(body: bytes, boundary: str | None, query: dict[str, Any], max_bytes: int) -> InferInput:
    if not boundary:
        raise BadRequest("multipart/form-data Content-Type has no boundary")
    parser = multipart.MultipartParser(
        io.BytesIO(body),
        boundary,
        content_length=len(body),
        part_limit=MAX_FORM_PARTS,
        memory_limit=max_bytes + 65536,
        spool_limit=max_bytes + 65536,  # keep every part in memory: /tmp is not for request data
    )
    files: list[bytes] = []
    fields: dict[str, Any] = {}
    try:
        for part in parser:
            if part.filename is not None:
                files.append(part.raw)
            elif part.name in fields:
                raise BadRequest(f"{part.name}: form field given more than once")
            else:
                fields[part.name] = _field_text(part)
    except multipart.MultipartError as exc:
        raise BadRequest(f"malformed multipart body: {exc}") from exc
    if len(files) != 1:
        found = "no file part" if not files else f"{len(files)} file parts"
        raise BadRequest(
            f"multipart body needs exactly one file part (e.g. -F file=@invoice.jpg); found {found}"
        )
    data = files[0]
    if not data:
        raise BadRequest("the uploaded file is empty")
    return InferInput(data, "pdf" if is_pdf(data) else "image", "multipart", parse_options(query, fields))


def _field_text(part: multipart.MultipartPart) -> str:
    """A form field's text; bytes that are not in its charset (UTF-8 by default) are a 400."""
    try:
        return part.value
    except (UnicodeDecodeError, LookupError) as exc:  # LookupError: an unknown charset= name
        raise BadRequest(
            f"form field {part.name!r} is not {part.charset} text; send files with a filename"
        ) from exc


def prefers_jpeg(accept: str | None) -> bool:
    """True when the client ranks image/jpeg strictly above application/json.

    `Accept: image/jpeg` -> JPEG. A browser's `image/webp,*/*;q=0.8` ranks both through `*/*`
    equally -> JSON, the default. Specificity decides which range applies, as in RFC 9110.
    """
    if not accept:
        return False
    return _quality(accept, "image", "jpeg") > _quality(accept, "application", "json")


def _quality(accept: str, main: str, sub: str) -> float:
    best: tuple[int, float] = (-1, 0.0)  # (specificity, q)
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        kind, _, subtype = media.strip().lower().partition("/")
        if (kind, subtype) == (main, sub):
            specificity = 2
        elif kind == main and subtype == "*":
            specificity = 1
        elif (kind, subtype) == ("*", "*"):
            specificity = 0
        else:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if specificity > best[0]:
            best = (specificity, q)
    return best[1]
