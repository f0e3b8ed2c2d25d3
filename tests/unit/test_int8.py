"""INT8: the quantiser (yolo_train.quantize), the export step's call, and serving's MODEL_PRECISION.

Quantisation runs on the serving model (the shipped demo model when present, else the untrained
dev export) with a few calibration pages: seconds on 2 cores. Detection parity of the shipped
FP32/INT8 pair is in test_int8_parity.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from aws_lambda_powertools import Metrics, Tracer

from bench import samples
from invoice_core.detect.model import load_model
from invoice_core.detect.preprocess import prepare
from serving.runtime import baked_in_path, load_models
from serving.settings import Settings
from yolo_train import quantize
from yolo_train import settings as train_settings

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("pillow_unpatched")]

CALIBRATION_PAGES = 3


class _Log:
    """Stands in for the Powertools Logger: records (level, message, extra)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def _add(self, level: str, message: str, extra: dict[str, Any] | None = None, **_: Any) -> None:
        self.lines.append((level, message, extra or {}))

    def info(self, message: str, **kw: Any) -> None:
        self._add("info", message, **kw)

    def warning(self, message: str, **kw: Any) -> None:
        self._add("warning", message, **kw)

    def error(self, message: str, **kw: Any) -> None:
        self._add("error", message, **kw)


@pytest.fixture(scope="module")
def fp32_model(serving_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the serving model, so INT8 files are written beside it, not in models/."""
    target = tmp_path_factory.mktemp("int8-fp32") / "model.onnx"
    shutil.copyfile(serving_model, target)
    return target


@pytest.fixture(scope="module")
def imgsz(fp32_model: Path) -> tuple[int, int]:
    return load_model(fp32_model, intra_op_threads=1).info.imgsz


@pytest.fixture(scope="module")
def quantized(fp32_model: Path, imgsz: tuple[int, int]) -> quantize.QuantizeResult:
    tensors = [
        quantize.letterbox_tensor(samples.invoice_page(seed=50 + i), imgsz) for i in range(CALIBRATION_PAGES)
    ]
    return quantize.quantize_int8(fp32_model, tensors)


def test_int8_file_sits_beside_the_fp32_file() -> None:
    assert quantize.int8_path(Path("/opt/ml/model/model.onnx")) == Path("/opt/ml/model/model.int8.onnx")
    assert quantize.int8_path(Path("m/best.onnx")) == Path("m/best.int8.onnx")


@pytest.mark.parametrize(("height", "width"), [(1754, 1240), (480, 1000), (333, 251), (640, 480)])
def test_calibration_letterbox_is_servings(height: int, width: int) -> None:
    """SageMaker has no invoice_core: the quantiser's own letterbox must stay identical to it."""
    bgr = np.random.default_rng(height).integers(0, 256, (height, width, 3), dtype=np.uint8)
    for size_hw in ((640, 480), (160, 128)):
        expected, _ = prepare(bgr, size_hw)
        assert np.array_equal(quantize.letterbox_tensor(bgr, size_hw), expected)


def test_decode_tail_is_what_follows_the_last_conv(fp32_model: Path) -> None:
    model = onnx.load(str(fp32_model))
    tail = set(quantize.decode_tail(model))
    by_name = {n.name: n for n in model.graph.node}
    output = model.graph.output[0].name
    assert any(output in by_name[name].output for name in tail)  # the final Concat stays FP32
    assert not any(by_name[name].op_type in quantize.COMPUTE_OPS for name in tail)
    assert len(tail) < len(model.graph.node) // 5  # the network itself is quantised


def test_int8_model_loads_and_keeps_the_metadata(
    fp32_model: Path, quantized: quantize.QuantizeResult
) -> None:
    assert quantized.path == fp32_model.with_name("model.int8.onnx") and quantized.path.is_file()
    fp32_meta = ort.InferenceSession(str(fp32_model), providers=["CPUExecutionProvider"])
    fp32_props = fp32_meta.get_modelmeta().custom_metadata_map
    session = ort.InferenceSession(str(quantized.path), providers=["CPUExecutionProvider"])
    props = session.get_modelmeta().custom_metadata_map

    for key in ("names", "imgsz", "end2end", "stride", "task", "model_name", "ultralytics_version"):
        if key in fp32_props:
            assert props[key] == fp32_props[key], key
    assert props["precision"] == "int8"
    assert props["version"] == f"{fp32_props['version']}-int8"
    assert props["fp32_version"] == fp32_props["version"]
    assert "minmax calibration on 3 pages" in props["quantization"]
    assert session.get_inputs()[0].shape == fp32_meta.get_inputs()[0].shape
    assert session.get_outputs()[0].shape == fp32_meta.get_outputs()[0].shape

    served, reference = (
        load_model(quantized.path, intra_op_threads=1),
        load_model(fp32_model, intra_op_threads=1),
    )
    assert served.info.version == reference.info.version + "-int8"  # responses tell them apart
    assert (served.info.names, served.info.imgsz, served.info.end2end) == (
        reference.info.names,
        reference.info.imgsz,
        reference.info.end2end,
    )


def test_int8_graph_is_qdq_with_an_fp32_decode_tail(quantized: quantize.QuantizeResult) -> None:
    model = onnx.load(str(quantized.path))
    ops = [n.op_type for n in model.graph.node]
    convs = ops.count("Conv")
    assert ops.count("QuantizeLinear") >= convs // 2 and ops.count("DequantizeLinear") >= convs
    initializers = {i.name: i for i in model.graph.initializer}
    int8_weights = [
        i for i in initializers.values() if i.data_type == onnx.TensorProto.INT8 and len(i.dims) == 4
    ]
    assert len(int8_weights) >= convs * 0.9  # Conv weights stored as int8 (per channel)
    assert any(
        len(initializers[n.input[1]].dims) == 1
        for n in model.graph.node
        if n.op_type == "DequantizeLinear"
        and n.input[1] in initializers
        and n.input[0] in {w.name for w in int8_weights}
    )
    producers = {out: n for n in model.graph.node for out in n.output}
    final = producers[model.graph.output[0].name]
    assert final.op_type == "Concat"  # not a DequantizeLinear: the output is computed in float


def test_int8_output_is_close_to_fp32(
    fp32_model: Path, quantized: quantize.QuantizeResult, imgsz: tuple[int, int]
) -> None:
    tensor = quantize.letterbox_tensor(samples.invoice_page(seed=3), imgsz)
    fp32 = load_model(fp32_model, intra_op_threads=1).run(tensor)
    int8 = load_model(quantized.path, intra_op_threads=1).run(tensor)
    assert int8.shape == fp32.shape and np.isfinite(int8).all()
    # Box coordinates (rows 0-3, pixels): most anchors within a few pixels.
    assert np.median(np.abs(int8[0, :4] - fp32[0, :4])) < 4.0
    # Scores keep their float resolution (the tail is FP32): more distinct values than the 256 an
    # 8-bit output tensor can hold (demo-6 gives 983 on this page, most of them near zero).
    assert len(np.unique(int8[0, 4:])) > 256


def test_unknown_method_and_no_tensors_are_refused(fp32_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown calibration method"):
        quantize.quantize_int8(fp32_model, [], target=tmp_path / "x.onnx", method="kl")
    with pytest.raises(ValueError, match="no calibration tensors"):
        quantize.quantize_int8(fp32_model, [], target=tmp_path / "x.onnx")


# ------------------------------------------------------------------------------ the export step


def test_export_step_writes_int8_from_training_images(
    fp32_model: Path, tiny_dataset_template: Path, tmp_path: Path, imgsz: tuple[int, int]
) -> None:
    target = tmp_path / "model.onnx"
    shutil.copyfile(fp32_model, target)

    written = quantize.write_beside(target, [tiny_dataset_template / "images" / "train"], imgsz)

    assert written == tmp_path / "model.int8.onnx"
    meta = ort.InferenceSession(str(written), providers=["CPUExecutionProvider"]).get_modelmeta()
    assert meta.custom_metadata_map["precision"] == "int8"
    assert "on 6 pages" in meta.custom_metadata_map["quantization"]  # the tiny set's 6 train pages


def test_export_step_logs_and_continues_when_quantisation_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, tiny_dataset_template: Path
) -> None:
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"not an onnx model")
    (tmp_path / "model.int8.onnx").write_bytes(b"stale")  # a leftover must not survive a failure

    with caplog.at_level("ERROR", logger="yolo_train.quantize"):
        written = quantize.write_beside(broken, [tiny_dataset_template / "images" / "train"], (160, 128))

    assert written is None
    assert not (tmp_path / "model.int8.onnx").exists()
    assert "int8: quantisation failed" in caplog.text


def test_export_step_flag_defaults_on(tmp_path: Path) -> None:
    env = {"YOLO_TRAIN_OPT_ML": str(tmp_path / "no-opt-ml")}
    default = train_settings.build([], env)
    assert (default.int8, default.int8_calibration) == (True, "minmax")
    off = train_settings.build(["--int8", "false", "--int8-calibration", "Entropy"], env)
    assert (off.int8, off.int8_calibration) == (False, "entropy")


# ------------------------------------------------------------------------------ serving


def _settings(model_dir: Path, **env: str) -> Settings:
    return Settings.from_env(
        {"MODEL_PATH": str(model_dir / "model.onnx"), "ORT_INTRA_OP_THREADS": "1", **env}
    )


@pytest.fixture
def model_dir(fp32_model: Path, quantized: quantize.QuantizeResult, tmp_path: Path) -> Path:
    shutil.copyfile(fp32_model, tmp_path / "model.onnx")
    shutil.copyfile(quantized.path, tmp_path / "model.int8.onnx")
    return tmp_path


def _serve(settings: Settings, log: _Log) -> Any:
    holder = load_models(
        settings, lambda: None, log, tracer=Tracer(disabled=True), metrics=Metrics(namespace="test")
    )
    return holder.current


def test_precision_defaults_to_fp32(model_dir: Path) -> None:
    log = _Log()
    settings = _settings(model_dir)
    assert settings.model_precision == "fp32"
    assert baked_in_path(settings, log) == model_dir / "model.onnx"
    assert _serve(settings, log).info.version.endswith("-int8") is False
    assert not [line for line in log.lines if line[0] == "warning"]


def test_int8_precision_serves_the_int8_file(model_dir: Path) -> None:
    log = _Log()
    model = _serve(_settings(model_dir, MODEL_PRECISION="INT8"), log)
    assert model.info.source == str(model_dir / "model.int8.onnx")
    assert model.info.version.endswith("-int8")
    assert not [line for line in log.lines if line[0] == "warning"]


def test_int8_without_the_file_falls_back_to_fp32_with_a_log_line(model_dir: Path) -> None:
    (model_dir / "model.int8.onnx").unlink()
    log = _Log()
    model = _serve(_settings(model_dir, MODEL_PRECISION="int8"), log)
    assert model.info.source == str(model_dir / "model.onnx")
    warnings = [line for line in log.lines if line[0] == "warning"]
    assert len(warnings) == 1 and "no INT8 file: serving FP32" in warnings[0][1]
    assert warnings[0][2]["missing"] == str(model_dir / "model.int8.onnx")


def test_a_pinned_promoted_model_runs_fp32_with_a_log_line(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import serving.runtime as runtime  # noqa: PLC0415

    monkeypatch.setattr(runtime, "fetch_model", lambda _client, _uri, _dir: model_dir / "model.onnx")
    log = _Log()
    settings = _settings(
        model_dir, MODEL_PRECISION="int8", MODEL_URI="s3://models-bucket/models/v2/model.onnx"
    )
    model = _serve(settings, log)
    assert model.info.source == "s3://models-bucket/models/v2/model.onnx"
    assert not model.info.version.endswith("-int8")
    assert any("promoted model has no INT8 file" in line[1] for line in log.lines if line[0] == "warning")


@pytest.mark.parametrize("value", ["fp16", "int4", "true"])
def test_unknown_precision_is_refused(value: str, model_dir: Path) -> None:
    with pytest.raises(ValueError, match="fp32"):
        _settings(model_dir, MODEL_PRECISION=value)
