"""Promoted models in the models bucket: `models/<version>/model.onnx` and `metrics.json`.

metrics.json is written after model.onnx, so its presence marks a complete version: a copy that
failed half-way is never listed or promoted (and the next attempt simply overwrites it). Its
`model-sha256` metadata records the hash of model.onnx as it was copied out of the training
artefact; `verify` re-hashes the stored file against it (or the pointer's record) before any
pointer is moved to it, and `pinned` refuses any model URI but `s3://<models bucket>/models/
<version>/model.onnx` of this stack, whatever document it comes from.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from apiedge.aws import aws_call, is_not_found, translate, translate_botocore
from promotion.artifact import METRICS_MEMBER, MODEL_MEMBER, ModelArchive, S3Object
from promotion.errors import ApiError, ArtifactInvalid, ChecksumMismatch
from promotion.settings import Settings

CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Published:
    metrics: dict[str, Any]
    sha256: str | None


class ModelStore:
    def __init__(self, s3: Any, settings: Settings) -> None:
        self._s3 = s3
        self._bucket = settings.models_bucket
        self._prefix = settings.models_prefix

    def model_object(self, version: str) -> S3Object:
        return S3Object(self._bucket, f"{self._prefix}/{version}/{MODEL_MEMBER}")

    def _metrics_object(self, version: str) -> S3Object:
        return S3Object(self._bucket, f"{self._prefix}/{version}/{METRICS_MEMBER}")

    def pinned(self, model_uri: str | None, version: str | None, *, what: str) -> S3Object:
        """The model object of `version`, if `model_uri` names exactly it; else 422."""
        if version is None or model_uri != self.model_object(version).uri:
            raise ArtifactInvalid(
                f"{what}: {model_uri!r} is not this stack's model of {version!r} "
                f"(s3://{self._bucket}/{self._prefix}/<version>/{MODEL_MEMBER})"
            )
        return S3Object.parse(model_uri)

    def verify(
        self, obj: S3Object, sha256: str | None, *, what: str, missing: type[ApiError] = ArtifactInvalid
    ) -> None:
        """Stream the stored model and compare its sha256 with the recorded one (422 if it differs;
        `missing` if the object is gone). No record, no check possible: refused too."""
        if not sha256:
            if not self.model_exists(obj.uri):
                raise missing(f"{what}: {obj.uri} no longer exists")
            raise ArtifactInvalid(
                f"{what}: no sha256 is recorded for {obj.uri}; promote its training job again"
            )
        digest = hashlib.sha256()
        try:
            body = self._s3.get_object(Bucket=obj.bucket, Key=obj.key)["Body"]
            try:
                for chunk in iter(lambda: body.read(CHUNK_BYTES), b""):
                    digest.update(chunk)
            finally:
                body.close()
        except ClientError as exc:
            if is_not_found(exc):
                raise missing(f"{what}: {obj.uri} no longer exists") from exc
            raise translate(exc, f"reading {obj.uri}") from exc
        except BotoCoreError as exc:
            raise translate_botocore(exc, f"reading {obj.uri}") from exc
        if digest.hexdigest() != sha256.lower():
            raise ChecksumMismatch(
                f"{what}: {obj.uri} has sha256 {digest.hexdigest()}, but {sha256} was recorded when it "
                "was published; the pointer was not moved"
            )

    def model_exists(self, model_uri: str) -> bool:
        obj = S3Object.parse(model_uri)
        try:
            self._s3.head_object(Bucket=obj.bucket, Key=obj.key)
        except ClientError as exc:
            if is_not_found(exc):
                return False
            raise translate(exc, f"checking {obj.uri}") from exc
        except BotoCoreError as exc:
            raise translate_botocore(exc, f"checking {obj.uri}") from exc
        return True

    def published(self, version: str) -> Published | None:
        """The version's metrics and model hash; None unless both of its files are there."""
        obj = self._metrics_object(version)
        try:
            response = self._s3.get_object(Bucket=obj.bucket, Key=obj.key)
            raw = response["Body"].read()
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise translate(exc, f"reading {obj.uri}") from exc
        except BotoCoreError as exc:
            raise translate_botocore(exc, f"reading {obj.uri}") from exc
        if not self.model_exists(self.model_object(version).uri):
            return None
        try:
            content = json.loads(raw)
        except ValueError as exc:
            raise ArtifactInvalid(f"{obj.uri} is not JSON") from exc
        if not isinstance(content, dict):
            raise ArtifactInvalid(f"{obj.uri} is not a JSON object")
        return Published(content, response.get("Metadata", {}).get("model-sha256"))

    def publish(self, version: str, archive: ModelArchive, metrics_raw: bytes) -> tuple[str, str]:
        """Copy model.onnx out of the archive, then metrics.json; returns (model URI, sha256)."""
        target = self.model_object(version)
        sha256, _ = archive.copy_model(target, {"source": archive.location.uri})
        metrics_obj = self._metrics_object(version)
        with aws_call(f"writing {metrics_obj.uri}"):
            self._s3.put_object(
                Bucket=metrics_obj.bucket,
                Key=metrics_obj.key,
                Body=metrics_raw,
                ContentType="application/json",
                Metadata={"model-sha256": sha256},
            )
        return target.uri, sha256

    def versions(self, limit: int) -> list[dict[str, Any]]:
        """The newest complete versions (job names sort by their timestamp), with their metrics."""
        names: list[str] = []
        with aws_call("listing models"):
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=f"{self._prefix}/", Delimiter="/"
            )
            for page in pages:
                names += [p["Prefix"][len(self._prefix) + 1 : -1] for p in page.get("CommonPrefixes", [])]
        out = []
        for version in sorted(names, reverse=True):
            if len(out) == limit:
                break
            published = self.published(version)
            if published is None:  # an incomplete copy: not a version
                continue
            out.append(
                {
                    "version": version,
                    "model_uri": self.model_object(version).uri,
                    "sha256": published.sha256,
                    "metrics": published.metrics,
                }
            )
        return out
