"""Shared pytest fixtures. Keep this file small: fixtures used by more than one test module only."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devkit.synth import generate_dataset

# Tiny pages keep anything that trains on them in the seconds range on 2 CPU cores.
TINY_PAGE = {"width": 320, "height": 452}


@pytest.fixture(scope="session")
def tiny_dataset_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic YOLO dataset (6 train / 2 val pages of 320x452), generated once per session.

    Read-only by convention: tests that change files use `tiny_dataset` (a private copy).
    """
    root = tmp_path_factory.mktemp("tiny-invoices")
    generate_dataset(root, n_train=6, n_val=2, seed=7, **TINY_PAGE)
    return root


@pytest.fixture
def tiny_dataset(tiny_dataset_template: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny dataset that a test may break; returns the dataset root."""
    target = tmp_path / "dataset"
    shutil.copytree(tiny_dataset_template, target)
    return target


# --- inference (serving) fixtures --------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_MODEL = REPO_ROOT / "models" / "demo" / "model.onnx"


def _export_dev_model(out_dir: Path, *, end2end: bool) -> Path:
    """Export in a subprocess: importing Ultralytics patches PIL.Image.open and cv2 threading
    process-wide, which the serving code (and image) never has."""
    argv = [sys.executable, "-m", "bench.dev_model", str(out_dir), *(["--end2end"] if end2end else [])]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def serving_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ONNX model the serving tests use: the shipped demo model when present, else an
    untrained YOLO26n export of the same architecture (640x480, raw head), built once."""
    if SHIPPED_MODEL.is_file():
        return SHIPPED_MODEL
    return _export_dev_model(tmp_path_factory.mktemp("dev-model"), end2end=False)


@pytest.fixture(scope="session")
def serving_model_e2e(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained export with the end-to-end [1, 300, 6] head (always the dev model)."""
    return _export_dev_model(tmp_path_factory.mktemp("dev-model-e2e"), end2end=True)


@pytest.fixture(scope="session")
def model_version(serving_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`model_version("v2")`: a copy of the serving model whose metadata names another version (no
    training: the weights are the same, the bytes and so the SHA-256 differ). One file per version."""
    import onnx  # noqa: PLC0415 - only the tests that build a second model pay for the import

    root = tmp_path_factory.mktemp("model-versions")

    def build(version: str) -> Path:
        target = root / version / "model.onnx"
        if not target.is_file():
            proto = onnx.load(str(serving_model))
            props = {p.key: p.value for p in proto.metadata_props} | {"version": version}
            props.setdefault("ultralytics_version", "unknown")  # so `version` is read as ours
            del proto.metadata_props[:]
            for key, value in props.items():
                entry = proto.metadata_props.add()
                entry.key, entry.value = key, value
            target.parent.mkdir(parents=True)
            onnx.save(proto, str(target))
        return target

    return build


@pytest.fixture
def pillow_unpatched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo Ultralytics' import-time wrap of PIL.Image.open (it retries unknown images through
    a pi-heif install) when another test imported Ultralytics: the serving image has no Ultralytics."""
    patches = sys.modules.get("ultralytics.utils.patches")
    if patches is not None:
        monkeypatch.setattr("PIL.Image.open", patches._image_open)


@pytest.fixture(scope="session")
def api_event() -> Callable[..., dict[str, Any]]:
    """Load `events/<name>.json` (a fresh copy each call, so a test may modify it);
    `api_event(name, fields="0")` adds (or replaces) query parameters."""
    root = REPO_ROOT / "events"

    def load(name: str, **query: str) -> dict[str, Any]:
        event = json.loads((root / f"{name}.json").read_text(encoding="utf-8"))
        if query:
            event["queryStringParameters"] = {**(event.get("queryStringParameters") or {}), **query}
            multi = event.get("multiValueQueryStringParameters") or {}
            event["multiValueQueryStringParameters"] = {**multi, **{k: [v] for k, v in query.items()}}
        return event

    return load


@pytest.fixture(scope="session")
def function_env() -> Callable[..., dict[str, str]]:
    """`function_env("service", KEY=value)`: what a function's environment needs in a unit test
    (moto credentials, Powertools without X-Ray), plus the function's own variables."""

    def build(service: str, **own: str) -> dict[str, str]:
        return {
            "POWERTOOLS_SERVICE_NAME": service,
            "POWERTOOLS_METRICS_NAMESPACE": "InvoiceYoloTest",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_DEFAULT_REGION": "eu-north-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            **own,
        }

    return build
