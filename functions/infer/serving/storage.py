"""S3: objects referenced by `s3_uri` (upload bucket only), presigned uploads, model files (MODEL_URI's,
and the pointer's for the hot swap)."""

from __future__ import annotations

import hashlib
import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

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
_MISSING = {"NoSuchKey", "404", "NotFound", "NoSuchBucket"}
UPLOAD_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/tiff": ".tiff",
    "image/bmp": ".bmp",
    "application/pdf": ".pdf",
}


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


def fetch_upload(client: Any, uri: str, *, bucket: str | None, max_bytes: int) -> bytes:
    """Bytes of an object in the upload bucket, refusing other buckets and oversized objects."""
    if not bucket:
        raise FeatureDisabled("S3 input is not configured on this deployment (no UPLOAD_BUCKET)")
    location = S3Location.parse(uri)
    if location.bucket != bucket:
        raise ForbiddenSource(f"only objects in s3://{bucket}/ can be referenced")
    try:
        head = client.head_object(Bucket=location.bucket, Key=location.key)
        size = int(head["ContentLength"])
        if size > max_bytes:
            raise PayloadTooLarge(f"object is {size:,} bytes; the limit is {max_bytes:,}")
        body = client.get_object(Bucket=location.bucket, Key=location.key)["Body"]
        return body.read(max_bytes + 1)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _MISSING:
            raise SourceNotFound(f"no object at {uri}") from exc
        if code in {"403", "AccessDenied"}:
            raise ForbiddenSource(f"access denied to {uri}") from exc
        raise


def presign_upload(
    client: Any, *, bucket: str | None, prefix: str, content_type: str, filename: str | None, expires_s: int
) -> dict[str, Any]:
    """A presigned PUT for one new object, and the `s3_uri` to send to POST /infer afterwards."""
    if not bucket:
        raise FeatureDisabled("uploads are not configured on this deployment (no UPLOAD_BUCKET)")
    media_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    if media_type not in UPLOAD_TYPES:
        raise UnsupportedMediaType(f"content_type must be one of {', '.join(UPLOAD_TYPES)}")
    stem = _SAFE_NAME.sub("-", PurePosixPath(filename).stem)[:80] if filename else "upload"
    key = f"{prefix}{uuid.uuid4().hex}/{stem or 'upload'}{UPLOAD_TYPES[media_type]}"
    url = client.generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": key, "ContentType": media_type},
        ExpiresIn=expires_s,
        HttpMethod="PUT",
    )
    return {
        "url": url,
        "method": "PUT",
        "headers": {"Content-Type": media_type},
        "s3_uri": f"s3://{bucket}/{key}",
        "expires_in": expires_s,
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
