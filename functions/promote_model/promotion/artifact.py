"""Read a training job's model.tar.gz straight from S3, as a stream: nothing is extracted to disk.

SageMaker tars `/opt/ml/model` in whatever order the files were written, so metrics.json may come
after model.onnx (and best.pt). Two sequential reads keep memory flat whatever the order: the
first stops at metrics.json (the gate needs it before anything is copied), the second streams
model.onnx into a (multipart) upload while hashing it, and stops there.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tarfile
import zlib
from dataclasses import dataclass
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from apiedge.aws import aws_call, is_not_found, translate, translate_botocore
from promotion.errors import ArtifactInvalid

MODEL_MEMBER = "model.onnx"
METRICS_MEMBER = "metrics.json"
MAX_METRICS_BYTES = 1024 * 1024  # metrics.json is a few KB; anything bigger is not ours


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @classmethod
    def parse(cls, uri: str) -> S3Object:
        if not uri.startswith("s3://"):
            raise ValueError(f"{uri!r} is not an s3:// URI")
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if not bucket or not key:
            raise ValueError(f"{uri!r} names no object")
        return cls(bucket, key)


class _HashingReader:
    """A read()-only view of a stream that hashes and counts what passes through."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self.sha256.update(chunk)
        self.size += len(chunk)
        return chunk


def _member_name(member: tarfile.TarInfo) -> str:
    return member.name.removeprefix("./")


class ModelArchive:
    """One model.tar.gz in S3."""

    def __init__(self, s3: Any, location: S3Object) -> None:
        self._s3 = s3
        self.location = location

    def _open(self) -> Any:
        try:
            return self._s3.get_object(Bucket=self.location.bucket, Key=self.location.key)["Body"]
        except ClientError as exc:
            if is_not_found(exc):
                raise ArtifactInvalid(f"{self.location.uri} does not exist") from exc
            raise translate(exc, f"reading {self.location.uri}") from exc
        except BotoCoreError as exc:
            raise translate_botocore(exc, f"reading {self.location.uri}") from exc

    def _stream(self, wanted: str, use: Any) -> Any:
        body = self._open()
        try:
            with tarfile.open(fileobj=body, mode="r|gz") as tar:
                for member in tar:
                    if member.isfile() and _member_name(member) == wanted:
                        handle = tar.extractfile(member)
                        assert handle is not None  # a regular file always has one
                        return use(member, handle)
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise ArtifactInvalid(f"{self.location.uri} is not a readable tar.gz: {exc}") from exc
        except BotoCoreError as exc:  # the download broke off or timed out: worth a retry
            raise translate_botocore(exc, f"reading {self.location.uri}") from exc
        finally:
            body.close()  # stop downloading the rest of the archive
        raise ArtifactInvalid(f"{self.location.uri} has no {wanted}")

    def metrics(self) -> tuple[dict[str, Any], bytes]:
        """metrics.json, parsed and raw (the raw bytes are published unchanged)."""

        def read(member: tarfile.TarInfo, handle: IO[bytes]) -> tuple[dict[str, Any], bytes]:
            if member.size > MAX_METRICS_BYTES:
                raise ArtifactInvalid(f"{METRICS_MEMBER} is {member.size} bytes; not a metrics file")
            raw = handle.read()
            try:
                content = json.loads(raw)
            except ValueError as exc:
                raise ArtifactInvalid(f"{METRICS_MEMBER} is not JSON: {exc}") from exc
            if not isinstance(content, dict):
                raise ArtifactInvalid(f"{METRICS_MEMBER} is not a JSON object")
            return content, raw

        return self._stream(METRICS_MEMBER, read)

    def copy_model(self, destination: S3Object, metadata: dict[str, str]) -> tuple[str, int]:
        """Stream model.onnx to `destination`; returns its sha256 and size."""

        def upload(member: tarfile.TarInfo, handle: IO[bytes]) -> tuple[str, int]:
            if member.size == 0:
                raise ArtifactInvalid(f"{MODEL_MEMBER} in {self.location.uri} is empty")
            reader = _HashingReader(handle)
            with aws_call(f"writing {destination.uri}"):
                self._s3.upload_fileobj(
                    reader,
                    destination.bucket,
                    destination.key,
                    ExtraArgs={"ContentType": "application/octet-stream", "Metadata": metadata},
                )
            return reader.sha256.hexdigest(), reader.size

        return self._stream(MODEL_MEMBER, upload)
