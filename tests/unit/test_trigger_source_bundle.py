"""How training/ reaches SageMaker, and what the function's build artefact holds."""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from launcher.source_bundle import SourceBundle, SourcePublisher, build_sourcedir

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
TRAINING = ROOT / "training"
FUNCTION = ROOT / "functions" / "trigger_training"


def _members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: m for m in tar.getmembers()}


def test_the_tarball_holds_the_entrypoint_and_nothing_else(tmp_path: Path) -> None:
    data = build_sourcedir(TRAINING)
    members = _members(data)
    assert {"train.py", "requirements.txt", "yolo_train/__init__.py", "yolo_train/metric_defs.py"} <= set(
        members
    )
    assert not [n for n in members if "__pycache__" in n or n.endswith(".pyc")]
    assert {m.mtime for m in members.values()} == {0}
    assert {(m.uid, m.gid, m.uname) for m in members.values()} == {(0, 0, "")}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        extracted = tar.extractfile("yolo_train/metric_defs.py")
        assert extracted is not None
        assert extracted.read() == (TRAINING / "yolo_train" / "metric_defs.py").read_bytes()


def test_the_tarball_is_reproducible_and_changes_with_the_code(tmp_path: Path) -> None:
    copy = tmp_path / "training"
    subprocess.run(["cp", "-R", str(TRAINING), str(copy)], check=True)
    (copy / "yolo_train" / "__pycache__").mkdir(exist_ok=True)
    (copy / "yolo_train" / "__pycache__" / "junk.cpython-311.pyc").write_bytes(b"\0junk")
    assert build_sourcedir(copy) == build_sourcedir(TRAINING)  # caches, paths and mtimes do not count
    assert gzip.decompress(build_sourcedir(TRAINING))  # a valid gzip stream
    (copy / "train.py").write_text((copy / "train.py").read_text() + "\n# changed\n")
    assert build_sourcedir(copy) != build_sourcedir(TRAINING)


def test_a_directory_without_the_entrypoint_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"train\.py"):
        build_sourcedir(tmp_path)


def test_the_bundle_is_uploaded_once_under_its_hash() -> None:
    bundle = SourceBundle(build_sourcedir(TRAINING))
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-north-1")
        s3.create_bucket(Bucket="iy-models", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
        puts: list[str] = []
        s3.meta.events.register(
            "provide-client-params.s3.PutObject", lambda params, **_: puts.append(params["Key"])
        )

        first = SourcePublisher(s3, "iy-models", "code", bundle)
        uri = first.ensure()
        assert (
            uri == f"s3://iy-models/code/sourcedir/{hashlib.sha256(bundle.data).hexdigest()}/sourcedir.tar.gz"
        )
        assert first.ensure() == uri  # already there: no second upload
        cold = SourcePublisher(s3, "iy-models", "code", bundle)  # a new container finds it in S3
        assert cold.ensure() == uri
        assert puts == [bundle.key("code")]
        stored = s3.get_object(Bucket="iy-models", Key=bundle.key("code"))
        assert stored["Body"].read() == bundle.data
        assert stored["Metadata"] == {"sha256": bundle.sha256}

        s3.delete_object(Bucket="iy-models", Key=bundle.key("code"))  # removed by hand: put back
        assert first.ensure() == uri
        assert len(puts) == 2


def test_a_source_checkout_builds_the_bundle_when_none_was_built(tmp_path: Path) -> None:
    built = tmp_path / "sourcedir.tar.gz"
    assert SourceBundle.load(built=built, training_dir=TRAINING).data == build_sourcedir(TRAINING)
    built.write_bytes(b"prebuilt")
    assert SourceBundle.load(built=built, training_dir=TRAINING).data == b"prebuilt"


def test_the_shipped_training_modules_import_without_ml_libraries() -> None:
    # The Lambda artefact carries yolo_train/{metric_defs,hp_rules}.py with no torch, Ultralytics or numpy.
    code = (
        "import sys\n"
        "for name in ('torch', 'ultralytics', 'numpy', 'cv2', 'onnx', 'yaml', 'pydantic'):\n"
        "    sys.modules[name] = None\n"
        "from yolo_train.metric_defs import METRIC_DEFINITIONS\n"
        "from yolo_train.hp_rules import RULES\n"
        "assert METRIC_DEFINITIONS and RULES\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=TRAINING)


def test_the_makefile_build_gives_a_self_contained_artefact(tmp_path: Path) -> None:
    """What `sam build TriggerTrainingFunction` runs, checked without SAM or a 3.12 interpreter."""
    artefact = tmp_path / "artefact"
    artefact.mkdir()
    subprocess.run(
        [
            "make",
            "-s",
            "-f",
            str(FUNCTION / "Makefile"),
            "build-TriggerTrainingFunction",
            f"ARTIFACTS_DIR={artefact}",
        ],
        check=True,
        cwd=tmp_path,  # SAM runs make in a scratch copy; paths must not depend on the working dir
        capture_output=True,
        env={"PATH": "/usr/bin:/bin:" + str(Path(sys.executable).parent), "BUNDLE_PYTHON": sys.executable},
    )
    assert (artefact / "launcher" / "handler.py").is_file()
    assert sorted(p.name for p in (artefact / "yolo_train").iterdir()) == [
        "__init__.py",
        "hp_rules.py",
        "metric_defs.py",
    ]
    assert not list(artefact.rglob("__pycache__"))
    bundle = (artefact / "launcher" / "sourcedir.tar.gz").read_bytes()
    assert bundle == build_sourcedir(TRAINING)

    # Import from the artefact alone (the source checkout's roots removed from sys.path), as Lambda would.
    code = (
        "import sys\n"
        "keep = [p for p in sys.path if p and ('site-packages' in p or p.startswith(sys.base_prefix))]\n"
        # /opt/python of the layer holds apiedge (layers/yolo_deps/Makefile); here, its source dir.
        f"sys.path = [{str(artefact)!r}, {str(FUNCTION.parent / 'common')!r}, *keep]\n"
        "import launcher.jobs, launcher.source_bundle, yolo_train.metric_defs, yolo_train.hp_rules\n"
        f"assert launcher.jobs.__file__.startswith({str(artefact)!r}), launcher.jobs.__file__\n"
        f"assert yolo_train.metric_defs.__file__.startswith({str(artefact)!r})\n"
        f"assert yolo_train.hp_rules.__file__.startswith({str(artefact)!r})\n"
        "from launcher.source_bundle import BUILT_BUNDLE, SourceBundle\n"
        "assert SourceBundle.load().data == BUILT_BUNDLE.read_bytes()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
