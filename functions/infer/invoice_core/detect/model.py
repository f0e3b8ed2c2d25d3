"""The ONNX model: loading, its metadata contract, and a holder that can swap it atomically.

Contract (written by the training export into the ONNX custom metadata):
- `names`: Python literal, `{0: 'invoice_number', ...}` (or a list)
- `imgsz`: `[height, width]` (or one int for square)
- `end2end`: `True` for the one-to-one `[1, 300, 6]` head (x1, y1, x2, y2, score, class),
  `False` for the raw `[1, 4 + nc, N]` head that needs NMS
- `model_name` and `version` (the model's version; the training export moves Ultralytics' own
  `version`, its package version, to `ultralytics_version`): what responses report. Without
  them the first 12 hex digits of the file's SHA-256 stand in, so two files never share one.
"""

from __future__ import annotations

import ast
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnxruntime as ort

from invoice_contracts.fields import class_names
from invoice_core.errors import ModelUnavailable

END2END_COLUMNS = 6


@dataclass(frozen=True)
class ModelInfo:
    """What the model says about itself, and where it came from."""

    name: str
    version: str
    names: tuple[str, ...]
    imgsz: tuple[int, int]  # (height, width)
    end2end: bool
    source: str  # file path or s3:// URI
    fallback_reason: str | None = None  # set when a configured model could not be used

    def describe(self) -> dict[str, object]:
        """The `model` block of a response."""
        block: dict[str, object] = {"name": self.name, "version": self.version, "source": self.source}
        if self.fallback_reason:
            block["fallback_reason"] = self.fallback_reason
        return block


@dataclass(frozen=True)
class LoadedModel:
    """An immutable (session, metadata) pair: a request keeps the one it started with."""

    info: ModelInfo
    session: ort.InferenceSession
    input_name: str

    def run(self, tensor: np.ndarray) -> np.ndarray:
        """One forward pass; returns the first output (batch of one)."""
        return self.session.run(None, {self.input_name: tensor})[0]

    def marked(self, fallback_reason: str | None) -> LoadedModel:
        """The same session with another fallback note (self when it is already that note)."""
        if fallback_reason == self.info.fallback_reason:
            return self
        return replace(self, info=replace(self.info, fallback_reason=fallback_reason))


def session_options(intra_op_threads: int) -> ort.SessionOptions:
    """Full graph optimisation, threads sized to the vCPUs, no inter-op pool (one graph at a time)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: ORT warns about a read-only HOME on Lambda
    # No busy-waiting between ops: Lambda below 3,538 MB has a fraction of a second vCPU, and on a
    # shared CPU spinning threads took 2x longer per run here (bench notes in docs/performance.md).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def load_model(path: Path, *, intra_op_threads: int, source: str | None = None) -> LoadedModel:
    """Build the session once; read and check the metadata contract."""
    try:
        session = ort.InferenceSession(
            str(path), sess_options=session_options(intra_op_threads), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # ORT's pybind errors (NoSuchFile, InvalidProtobuf, ...) derive from Exception
        raise ModelUnavailable(f"cannot load ONNX model {path}: {exc}") from exc
    meta = session.get_modelmeta().custom_metadata_map
    model_input = session.get_inputs()[0]
    info = ModelInfo(
        name=meta.get("model_name") or Path(path).stem,
        version=_model_version(meta) or _file_digest(path),
        names=_parse_names(meta.get("names")),
        imgsz=_parse_imgsz(meta.get("imgsz"), model_input.shape),
        end2end=_parse_end2end(meta.get("end2end"), session.get_outputs()[0].shape),
        source=source or str(path),
    )
    model = LoadedModel(info=info, session=session, input_name=model_input.name)
    _check_names(info.names)
    _check_output(model)
    return model


def load_configured(
    baked_in: Path,
    *,
    intra_op_threads: int,
    model_uri: str | None = None,
    fetch: Callable[[str], Path] | None = None,
    on_fallback: Callable[[str], None] | None = None,
) -> LoadedModel:
    """The model at `model_uri` (fetched once to a local file) if set and loadable, else the baked-in
    one, marked with why, so a bad override degrades to the shipped model instead of an outage."""
    if model_uri and fetch is not None:
        try:
            return load_model(fetch(model_uri), intra_op_threads=intra_op_threads, source=model_uri)
        except ModelUnavailable as exc:
            reason = f"MODEL_URI {model_uri} unusable: {exc}"
        if on_fallback is not None:
            on_fallback(reason)
        return load_model(baked_in, intra_op_threads=intra_op_threads).marked(reason)
    return load_model(baked_in, intra_op_threads=intra_op_threads)


class ModelHolder:
    """Holds the current model. Readers take `current` once per request; `swap` replaces it in one
    reference assignment, so requests in flight finish on the model they started with."""

    def __init__(self, model: LoadedModel) -> None:
        self._model = model
        self._swap_lock = threading.Lock()  # serialises writers only; readers never wait

    @property
    def current(self) -> LoadedModel:
        """The model a new request should use."""
        return self._model

    def for_request(self) -> LoadedModel:
        """The model for a request starting now (a fixed model: nothing to check)."""
        return self._model

    def swap(self, model: LoadedModel) -> LoadedModel:
        """Install `model` (already loaded and checked) and return the previous one."""
        with self._swap_lock:
            previous, self._model = self._model, model
        return previous


def _model_version(meta: dict[str, str]) -> str | None:
    """Our `version` key; a plain Ultralytics export's `version` is its package version, not ours."""
    if "ultralytics_version" in meta or "model_name" in meta:
        return meta.get("version") or None
    return None


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def _literal(text: str | None) -> object:
    if text is None:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise ModelUnavailable(f"malformed model metadata value {text!r}") from exc


def _parse_names(text: str | None) -> tuple[str, ...]:
    value = _literal(text)
    if isinstance(value, dict):
        return tuple(str(value[key]) for key in sorted(value, key=int))
    if isinstance(value, list | tuple):
        return tuple(str(name) for name in value)
    raise ModelUnavailable("model metadata lacks class `names`")


def _parse_imgsz(text: str | None, input_shape: list[object]) -> tuple[int, int]:
    value = _literal(text)
    if isinstance(value, int):
        return value, value
    if isinstance(value, list | tuple) and len(value) == 2:
        return int(value[0]), int(value[1])
    if len(input_shape) == 4 and all(isinstance(d, int) for d in input_shape[2:]):
        return int(input_shape[2]), int(input_shape[3])  # static NCHW input
    raise ModelUnavailable("model metadata lacks `imgsz` and the input shape is dynamic")


def _parse_end2end(text: str | None, output_shape: list[object]) -> bool:
    value = _literal(text)
    if isinstance(value, bool):
        return value
    return len(output_shape) == 3 and output_shape[-1] == END2END_COLUMNS


def _check_names(names: tuple[str, ...]) -> None:
    """Every class of the model must be a field the registry says the detector proposes: the reader
    names regions by class, so an unknown class would be read as nothing (the training contract)."""
    known = set(class_names())
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ModelUnavailable(
            f"the model's classes {unknown} are not detector fields of the field registry "
            f"(invoice_contracts.fields): {', '.join(sorted(known))}"
        )


def _check_output(model: LoadedModel) -> None:
    """Prove the output layout matches the metadata: from the static output shape when the export
    has one (no inference at load: a warm-up run measured no faster first request, only a slower
    init), else with one pass on a blank input."""
    shape = model.session.get_outputs()[0].shape
    if not all(isinstance(dim, int) for dim in shape):
        height, width = model.info.imgsz
        shape = list(model.run(np.zeros((1, 3, height, width), dtype=np.float32)).shape)
    nc = len(model.info.names)
    if model.info.end2end:
        ok = len(shape) == 3 and shape[2] == END2END_COLUMNS
    else:
        ok = len(shape) == 3 and shape[1] == 4 + nc
    if not ok:
        raise ModelUnavailable(
            f"output shape {shape} does not match the metadata (end2end={model.info.end2end}, {nc} classes)"
        )
