"""How `training/` reaches SageMaker: a content-addressed `sourcedir.tar.gz` the function uploads once.

Why this way: the PyTorch training container runs `sagemaker_program` from the tarball at
`sagemaker_submit_directory`, so the entrypoint must be in S3 before a job starts. `sam build`
(functions/trigger_training/Makefile) writes the tarball into the function's artefact, byte for
byte reproducible (sorted entries, fixed mtimes/owners, gzip without a timestamp), and the
function uploads it under `code/sourcedir/<sha256>/` on its first launch if that key is absent.
So `sam deploy` is the only step: no bucket to seed, no custom resource, no second deploy tool;
the key changes exactly when the training code changes (a job's tarball is never overwritten
under it), and redeploying unchanged code reuses the same object. The same builder runs from a
source checkout when no built tarball exists (tests, the local stack).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUNDLE_NAME = "sourcedir.tar.gz"
BUILT_BUNDLE = Path(__file__).with_name(BUNDLE_NAME)  # written by `sam build` into the artefact
SOURCE_CHECKOUT_TRAINING = Path(__file__).resolve().parents[3] / "training"
_SKIP_DIRS = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache", "tests"})
_SKIP_SUFFIXES = (".pyc", ".pyo")


def _included(path: Path, root: Path) -> bool:
    parts = path.relative_to(root).parts
    return (
        path.is_file()
        and not any(p in _SKIP_DIRS or p.startswith(".") for p in parts)
        and not path.name.endswith(_SKIP_SUFFIXES)
    )


def build_sourcedir(training_dir: Path) -> bytes:
    """Deterministic tar.gz of the training code (same files and contents -> same bytes)."""
    training_dir = training_dir.resolve()
    if not (training_dir / "train.py").is_file():
        raise FileNotFoundError(f"{training_dir} has no train.py (the sagemaker_program)")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in training_dir.rglob("*") if _included(p, training_dir)):
            info = tarfile.TarInfo(path.relative_to(training_dir).as_posix())
            data = path.read_bytes()
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


@dataclass(frozen=True)
class SourceBundle:
    """The tarball and where it lives in S3 (its key is its sha256)."""

    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def key(self, code_prefix: str) -> str:
        return f"{code_prefix}/sourcedir/{self.sha256}/{BUNDLE_NAME}"

    @classmethod
    def load(cls, built: Path = BUILT_BUNDLE, training_dir: Path = SOURCE_CHECKOUT_TRAINING) -> SourceBundle:
        """The built tarball in a deployed function, else one built from the source checkout."""
        if built.is_file():
            return cls(built.read_bytes())
        return cls(build_sourcedir(training_dir))


class SourcePublisher:
    """Uploads the bundle only if S3 lacks its key (so once per code version, for all containers)."""

    def __init__(self, s3: Any, bucket: str, code_prefix: str, bundle: SourceBundle) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._key = bundle.key(code_prefix)
        self._bundle = bundle

    @property
    def uri(self) -> str:
        return f"s3://{self._bucket}/{self._key}"

    def ensure(self) -> str:
        """The bundle's S3 URI, uploading it first if it is not there yet.

        One HEAD per launch (launches are rare and throttled) rather than a per-container memo:
        an object removed from S3 by hand is put back by the next launch instead of failing a job.
        """
        if not self._exists():
            self._s3.put_object(
                Bucket=self._bucket,
                Key=self._key,
                Body=self._bundle.data,
                ContentType="application/gzip",
                Metadata={"sha256": self._bundle.sha256},
            )
        return self.uri

    def _exists(self) -> bool:
        # Imported here: the build step runs this module's CLI with a bare interpreter (no botocore).
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            self._s3.head_object(Bucket=self._bucket, Key=self._key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True


def main(argv: list[str] | None = None) -> None:
    """`python -m launcher.source_bundle TRAINING_DIR OUT`: what the build step runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("training_dir", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    data = build_sourcedir(args.training_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"{args.out}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
