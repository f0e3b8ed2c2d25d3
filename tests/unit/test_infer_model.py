"""The ONNX model: metadata contract, both heads, atomic swap, MODEL_URI with fallback, threads."""

from __future__ import annotations

import threading
from pathlib import Path

import boto3
import numpy as np
import onnx
import pytest
from moto import mock_aws
from pydantic import ValidationError

from bench import samples
from invoice_contracts.fields import CLASS_NAMES
from invoice_core.detect.decode import decode_image
from invoice_core.detect.model import ModelHolder, load_configured, load_model
from invoice_core.detect.preprocess import prepare
from invoice_core.errors import ModelUnavailable
from invoice_core.front import read_document
from serving.inputs import InferInput
from serving.schemas import InferOptions
from serving.settings import Settings
from serving.storage import fetch_model

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("pillow_unpatched")]

REGION = "eu-north-1"


def _with_metadata(source: Path, target: Path, **changes: str | None) -> Path:
    """Copy an ONNX file with metadata keys changed (None removes a key)."""
    proto = onnx.load(str(source))
    props = {p.key: p.value for p in proto.metadata_props}
    for key, value in changes.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(target))
    return target


def test_metadata_contract_of_the_serving_model(serving_model):
    model = load_model(serving_model, intra_op_threads=1)
    meta = model.session.get_modelmeta().custom_metadata_map
    shape = model.session.get_inputs()[0].shape
    assert model.info.imgsz == (shape[2], shape[3])  # (height, width) from the metadata matches the input
    assert len(model.info.names) >= 1 and model.info.names[0]
    assert model.info.end2end == (meta.get("end2end") == "True")
    assert model.info.version and model.info.name


def test_dev_models_raw_and_end_to_end(serving_model_e2e, tmp_path):
    e2e = load_model(serving_model_e2e, intra_op_threads=1)
    assert e2e.info.end2end is True and e2e.info.imgsz == (640, 480)
    assert e2e.info.version == "dev-untrained-0-e2e"
    assert e2e.info.names[-1] == "payment_reference" and len(e2e.info.names) == 10
    assert e2e.session.get_outputs()[0].shape == [1, 300, 6]


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"names": repr(list(reversed(CLASS_NAMES)))}, lambda i: i.names[9] == CLASS_NAMES[0]),  # list form
        ({"imgsz": None}, lambda i: i.imgsz == (640, 480)),  # from the static input shape
        ({"end2end": None}, lambda i: i.end2end is True),  # from the [1, 300, 6] output
        ({"version": None, "model_name": None}, lambda i: len(i.version) == 12),  # file digest
    ],
)
def test_metadata_variants(serving_model_e2e, tmp_path, changes, check):
    info = load_model(
        _with_metadata(serving_model_e2e, tmp_path / "m.onnx", **changes), intra_op_threads=1
    ).info
    assert check(info)


@pytest.mark.parametrize(
    "changes",
    [
        {"names": "{0: 'a'"},  # malformed literal
        {"names": None},
        {"end2end": "False"},  # contradicts the [1, 300, 6] output
        {"names": "['invoice_number', 'due_date', 'vat']", "end2end": None},  # e2e: no class count; raw does
        {"names": repr(["logo", *CLASS_NAMES[1:]])},  # a class the field registry does not know
    ],
)
def test_broken_metadata_is_refused(serving_model_e2e, serving_model, tmp_path, changes):
    source = serving_model if "'vat'" in str(changes.get("names")) else serving_model_e2e
    if source == serving_model and load_model(serving_model, intra_op_threads=1).info.end2end:
        pytest.skip("the shipped model has the end-to-end head")
    with pytest.raises(ModelUnavailable):
        load_model(_with_metadata(source, tmp_path / "bad.onnx", **changes), intra_op_threads=1)


def test_not_an_onnx_file_is_model_unavailable(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelUnavailable):
        load_model(bad, intra_op_threads=1)


def test_both_heads_serve_a_page(serving_model, serving_model_e2e):
    data = samples.encode(samples.invoice_page(seed=1, dpi=100), "jpeg")
    request = InferInput(data, "image", "body", InferOptions(conf=0.02, max_det=40))
    settings = Settings()
    for path in (serving_model, serving_model_e2e):
        model = load_model(path, intra_op_threads=1)
        options = request.core_options(read_default=False)
        analysis = read_document(request.data, model, options, kind=request.kind, limits=settings.limits)
        page = analysis.pages[0]
        boxes = page.detections.boxes
        assert 0 < len(page.detections) <= 40
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
        assert boxes[:, [0, 2]].max() <= page.image.bgr.shape[1] and boxes.min() >= 0
        assert (np.diff(page.detections.scores) <= 0).all()  # best first


def test_swap_is_atomic_and_in_flight_requests_keep_their_model(serving_model, serving_model_e2e):
    first = load_model(serving_model, intra_op_threads=1)
    second = load_model(serving_model_e2e, intra_op_threads=1)
    holder = ModelHolder(first)
    in_flight = holder.current
    assert holder.swap(second) is first
    assert holder.current is second
    tensor = np.zeros((1, 3, *first.info.imgsz), np.float32)
    assert in_flight.run(tensor).shape == first.run(tensor).shape  # the old session still answers

    seen: list[str] = []

    def reader() -> None:
        for _ in range(200):
            seen.append(holder.current.info.version)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(50):
        holder.swap(first)
        holder.swap(second)
    for thread in threads:
        thread.join()
    assert set(seen) <= {first.info.version, second.info.version}


@pytest.fixture
def models_bucket():
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="models", CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


def test_model_uri_is_downloaded_once_and_used(serving_model, serving_model_e2e, models_bucket, tmp_path):
    models_bucket.upload_file(str(serving_model_e2e), "models", "jobs/job-1/model.onnx")
    uri = "s3://models/jobs/job-1/model.onnx"
    fetch = lambda u: fetch_model(models_bucket, u, tmp_path / "cache")  # noqa: E731
    model = load_configured(serving_model, intra_op_threads=1, model_uri=uri, fetch=fetch)
    assert model.info.source == uri and model.info.end2end and model.info.fallback_reason is None
    models_bucket.delete_object(Bucket="models", Key="jobs/job-1/model.onnx")
    again = load_configured(serving_model, intra_op_threads=1, model_uri=uri, fetch=fetch)
    assert again.info.version == model.info.version  # served from the /tmp cache
    assert list((tmp_path / "cache").glob("*.part")) == []


@pytest.mark.parametrize("uri", ["s3://models/missing.onnx", "https://example.com/model.onnx"])
def test_unusable_model_uri_falls_back_to_the_baked_in_model(serving_model, models_bucket, tmp_path, uri):
    reasons: list[str] = []
    model = load_configured(
        serving_model,
        intra_op_threads=1,
        model_uri=uri,
        fetch=lambda u: fetch_model(models_bucket, u, tmp_path / "cache"),
        on_fallback=reasons.append,
    )
    assert model.info.source == str(serving_model)
    assert model.info.fallback_reason and uri in model.info.fallback_reason
    assert reasons == [model.info.fallback_reason]
    assert "fallback_reason" in model.info.describe()


@pytest.mark.parametrize(
    ("memory", "cpus", "threads"), [(1769, 2, 1), (2048, 2, 2), (10240, 2, 2), (10240, 8, 6)]
)
def test_threads_follow_lambda_vcpus(monkeypatch, memory, cpus, threads):
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: set(range(cpus)))
    settings = Settings.from_env({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory)})
    assert settings.intra_op_threads == threads
    assert Settings.from_env({"ORT_INTRA_OP_THREADS": "3"}).intra_op_threads == 3


def test_settings_from_environment_are_validated():
    settings = Settings.from_env({"MODEL_URI": " ", "UPLOAD_BUCKET": "b", "PDF_DPI": "200"})
    assert settings.model_uri is None and settings.upload_bucket == "b" and settings.pdf_dpi == 200
    with pytest.raises(ValueError, match="PDF_DPI"):
        Settings.from_env({"PDF_DPI": "5"})
    with pytest.raises(ValidationError, match="frozen"):
        settings.pdf_dpi = 300  # type: ignore[misc]


def test_decode_then_model_input_size_is_the_metadata_size(serving_model):
    model = load_model(serving_model, intra_op_threads=1)
    decoded = decode_image(samples.encode(samples.invoice_page(0, 100), "png"), max_pixels=10**8)
    tensor, _ = prepare(decoded.bgr, model.info.imgsz)
    assert tensor.shape[2:] == model.info.imgsz
