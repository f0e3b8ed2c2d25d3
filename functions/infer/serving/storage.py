"""S3: objects referenced by `s3_uri` (uploads this API issued only), presigned uploads, model files
(MODEL_URI's, and the pointer's for the hot swap).

An upload is single-use and private to the route that issued it:
- `POST /infer/upload-url` answers a presigned POST for `<prefix><token>/<name>.<ext>`, where the
  token is 128 random bits; its policy fixes the key, the Content-Type, an `x-amz-meta-upload-token`
  equal to the token, and a content-length-range of 1..MAX_OBJECT_BYTES (S3 refuses anything else);
- `s3_uri` is read only when the key has that shape under the prefix AND the object carries the
  token it was issued with, and it is deleted once read (the bucket's lifecycle rule removes what
  is never read). The bucket policy lets no other principal write there.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from apiedge.aws import aws_call
from apiedge.errors import ApiError, Conflict
from invoice_core.errors import ModelUnavailable
from serving.errors import (
    BadRequest,
    FeatureDisabled,
    ForbiddenSource,
    PayloadTooLarge,
    SourceNotFound,
    UnsupportedMediaType,
)

_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>.+)$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
UPLOAD_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/tiff": ".tiff",
    "image/bmp": ".bmp",
    "application/pdf": ".pdf",
}
# S3 user metadata (x-amz-meta-upload-token) the presigned POST sets and the read checks.
TOKEN_META = "upload-token"  # noqa: S105 - a metadata key, not a secret
_TOKEN_HEX = 32  # 128 bits
_NAME = r"[A-Za-z0-9._-]{1,80}"
_EXTENSIONS = "|".join(re.escape(ext) for ext in sorted(set(UPLOAD_TYPES.values())))
logger = Logger(child=True)


@dataclass(frozen=True)
class S3Location:
    """A parsed `s3://bucket/key`."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        """Strict parse; anything else (http://, s3:/x, no key) is a 400."""
        match = _S3_URI.match(uri.strip())
        if not match:
            raise BadRequest(f"not an S3 URI of the form s3://bucket/key: {uri[:200]!r}")
        return cls(match["bucket"], match["key"])


def upload_key_pattern(prefix: str) -> re.Pattern[str]:
    """The keys `presign_upload` issues: `<prefix><32 hex token>/<safe name><known extension>`."""
    return re.compile(rf"^{re.escape(prefix)}(?P<token>[0-9a-f]{{{_TOKEN_HEX}}})/{_NAME}(?:{_EXTENSIONS})$")


def fetch_upload(client: Any, uri: str, *, bucket: str | None, prefix: str, max_bytes: int) -> bytes:
    """Bytes of an upload this API issued, refusing anything else, then delete it (single use)."""
    if not bucket:
        raise FeatureDisabled("S3 input is not configured on this deployment (no UPLOAD_BUCKET)")
    location = S3Location.parse(uri)
    if location.bucket != bucket:
        raise ForbiddenSource(f"only objects in s3://{bucket}/ can be referenced")
    issued = upload_key_pattern(prefix).match(location.key)
    if not issued:
        raise ForbiddenSource(
            f"only objects uploaded through POST /infer/upload-url (s3://{bucket}/{prefix}...) can be read"
        )

    def refusal(code: str, _message: str, _action: str) -> ApiError | None:
        if code in {"NoSuchKey", "404", "NotFound"}:
            return SourceNotFound(
                f"no object at {uri}: uploads are read once, then deleted; ask for a new upload URL"
            )
        if code in {"403", "AccessDenied"}:
            return ForbiddenSource(f"access denied to {uri}")
        if code in {"412", "PreconditionFailed"}:  # IfMatch: replaced between HEAD and GET
            return Conflict(f"{uri} changed while it was being read; send the request again")
        return None

    with aws_call("reading the upload", refusal):
        head = client.head_object(Bucket=location.bucket, Key=location.key)
        if (head.get("Metadata") or {}).get(TOKEN_META) != issued["token"]:
            raise ForbiddenSource(f"{uri} was not uploaded through POST /infer/upload-url")
        size = int(head["ContentLength"])
        if size > max_bytes:
            raise PayloadTooLarge(f"object is {size:,} bytes; the limit is {max_bytes:,}")
        # IfMatch: the object read is the one just checked, not one written in between.
        body = client.get_object(Bucket=location.bucket, Key=location.key, IfMatch=head["ETag"])["Body"]
        data = body.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"object is larger than the limit of {max_bytes:,} bytes")
    discard_upload(client, location)
    return data


def discard_upload(client: Any, location: S3Location) -> None:
    """Delete a read upload. A failure is logged, not raised: the lifecycle rule removes it anyway."""
    try:
        client.delete_object(Bucket=location.bucket, Key=location.key)
    except (ClientError, BotoCoreError) as exc:
        logger.warning("upload not deleted after reading", extra={"key": location.key, "error": str(exc)})


def presign_upload(
    client: Any,
    *,
    bucket: str | None,
    prefix: str,
    content_type: str,
    filename: str | None,
    expires_s: int,
    max_bytes: int,
) -> dict[str, Any]:
    """A presigned POST for one new object of 1..`max_bytes` bytes, and the `s3_uri` to send to
    POST /infer afterwards. The client sends `fields` then the file (field `file`) as multipart."""
    if not bucket:
        raise FeatureDisabled("uploads are not configured on this deployment (no UPLOAD_BUCKET)")
    media_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    if media_type not in UPLOAD_TYPES:
        raise UnsupportedMediaType(f"content_type must be one of {', '.join(UPLOAD_TYPES)}")
    stem = _SAFE_NAME.sub("-", PurePosixPath(filename).stem)[:80] if filename else "upload"
    token = secrets.token_hex(_TOKEN_HEX // 2)
    key = f"{prefix}{token}/{stem or 'upload'}{UPLOAD_TYPES[media_type]}"
    fields = {"Content-Type": media_type, f"x-amz-meta-{TOKEN_META}": token}
    conditions: list[Any] = [{name: value} for name, value in fields.items()]
    conditions.append(["content-length-range", 1, max_bytes])
    with aws_call("presigning the upload"):
        post = client.generate_presigned_post(
            Bucket=bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_s
        )
    return {
        "url": post["url"],
        "method": "POST",
        "fields": post["fields"],
        "file_field": "file",
        "s3_uri": f"s3://{bucket}/{key}",
        "expires_in": expires_s,
        "max_bytes": max_bytes,
    }


def fetch_model(client: Any, uri: str, cache_dir: Path) -> Path:
    """Download MODEL_URI once per container into /tmp (named by the URI) and reuse it."""
    try:
        location = S3Location.parse(uri)
    except BadRequest as exc:
        raise ModelUnavailable(exc.message) from exc
    target = cache_dir / f"{hashlib.sha256(uri.encode()).hexdigest()[:16]}.onnx"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    try:
        client.download_file(location.bucket, location.key, str(partial))
    except (ClientError, BotoCoreError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise ModelUnavailable(f"cannot download {uri}: {exc}") from exc
    partial.replace(target)  # atomic: a half-written file is never taken for the model
    return target


def fetch_verified(client: Any, uri: str, directory: Path, *, sha256: str | None) -> Path:
    """Download a promoted model to a new file in `directory` (/tmp) and check it against the
    pointer's SHA-256 when it has one. The caller loads the file, then deletes it: the session keeps
    the graph in memory, and /tmp (512 MB by default) never fills with past versions."""
    try:
        location = S3Location.parse(uri)
    except BadRequest as exc:
        raise ModelUnavailable(exc.message) from exc
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix="swap-", suffix=".onnx", delete=False) as file:
            target = Path(file.name)
    except OSError as exc:
        raise ModelUnavailable(f"cannot write to {directory}: {exc}") from exc
    try:
        client.download_file(location.bucket, location.key, str(target))
        actual = file_sha256(target) if sha256 else None
    except (ClientError, BotoCoreError, OSError) as exc:
        target.unlink(missing_ok=True)
        raise ModelUnavailable(f"cannot download {uri}: {exc}") from exc
    if sha256 and actual != sha256.lower():
        target.unlink(missing_ok=True)
        raise ModelUnavailable(f"{uri} has SHA-256 {actual}, the pointer says {sha256}")
    return target


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
