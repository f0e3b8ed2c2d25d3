"""Export size from the page aspect, and the ONNX metadata we add to Ultralytics' own."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from yolo_train import export

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("imgsz", "aspect", "expected"),
    [
        (640, 297 / 210, (640, 480)),  # portrait A4: 452.5 rounds up to 480
        (640, 1754 / 1240, (640, 480)),  # the generator's default page
        (160, 452 / 320, (160, 128)),  # the tests' tiny page
        (640, 210 / 297, (480, 640)),  # landscape
        (640, 1.0, (640, 640)),
        (320, 4.5, (320, 96)),  # a receipt strip: 71.1 rounds up to 96
        (320, 5.0, (320, 64)),  # already a multiple: unchanged
        (320, 100.0, (320, 32)),  # never below one stride
    ],
)
def test_export_size(imgsz: int, aspect: float, expected: tuple[int, int]) -> None:
    assert export.export_size(imgsz, aspect) == expected


def _tiny_model(path: Path) -> None:
    node = helper.make_node("Identity", ["images"], ["output0"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 3, 32, 32])],
    )
    model = helper.make_model(graph)
    for key, value in {"version": "8.4.190", "imgsz": "[32, 32]", "names": "{0: 'a'}"}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def test_add_metadata_keeps_ultralytics_keys_and_moves_its_version(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    _tiny_model(path)

    export.add_metadata(path, {"version": "2026-11-22", "model_name": "invoice-fields"})

    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props == {
        "version": "2026-11-22",
        "ultralytics_version": "8.4.190",
        "model_name": "invoice-fields",
        "imgsz": "[32, 32]",
        "names": "{0: 'a'}",
    }


def test_add_metadata_twice_keeps_the_original_ultralytics_version(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    _tiny_model(path)
    export.add_metadata(path, {"version": "v1"})
    export.add_metadata(path, {"version": "v2"})
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert (props["version"], props["ultralytics_version"]) == ("v2", "8.4.190")
