"""The dataset check: a good generator dataset passes; each kind of broken dataset has its own error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from devkit.synth import CLASS_NAMES
from yolo_train import dataset_check
from yolo_train.errors import DatasetError

pytestmark = pytest.mark.unit


def _problems(root: Path, validation: Path | None = None) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        dataset_check.check(root / "data.yaml", validation)
    return info.value


def _first_label(root: Path, split: str = "train") -> Path:
    return sorted((root / "labels" / split).glob("*.txt"))[0]


def _edit_yaml(root: Path, **changes: object) -> None:
    path = root / "data.yaml"
    content = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            content.pop(key, None)
        else:
            content[key] = value
    path.write_text(yaml.safe_dump(content))


def test_generator_dataset_passes_with_stats(tiny_dataset_template: Path) -> None:
    report = dataset_check.check(tiny_dataset_template / "data.yaml")

    assert report.names == dict(enumerate(CLASS_NAMES))
    assert (report.train.images, report.val.images) == (6, 2)
    assert report.train.boxes > 0 and report.val.boxes > 0
    assert report.median_aspect == pytest.approx(452 / 320)
    assert report.train_dirs == (tiny_dataset_template / "images" / "train",)


def test_missing_data_yaml(tiny_dataset: Path) -> None:
    (tiny_dataset / "data.yaml").unlink()
    assert _problems(tiny_dataset).kinds == {"missing_data_yaml"}


def test_unparsable_data_yaml(tiny_dataset: Path) -> None:
    (tiny_dataset / "data.yaml").write_text("train: [images/train\nnames: {")
    assert _problems(tiny_dataset).kinds == {"bad_data_yaml"}


def test_names_missing(tiny_dataset: Path) -> None:
    _edit_yaml(tiny_dataset, names=None, nc=None)
    assert "names_missing" in _problems(tiny_dataset).kinds


def test_nc_inconsistent_with_names(tiny_dataset: Path) -> None:
    _edit_yaml(tiny_dataset, nc=len(CLASS_NAMES) + 1)
    error = _problems(tiny_dataset)
    assert error.kinds == {"nc_mismatch"}
    assert f"nc={len(CLASS_NAMES) + 1}" in str(error.problems[0])


def test_duplicate_names(tiny_dataset: Path) -> None:
    _edit_yaml(tiny_dataset, names=["a", "a", *CLASS_NAMES[2:]])
    assert _problems(tiny_dataset).kinds == {"invalid_names"}


def test_split_entry_missing(tiny_dataset: Path) -> None:
    _edit_yaml(tiny_dataset, val=None)
    assert _problems(tiny_dataset).kinds == {"split_missing"}


def test_split_dir_missing(tiny_dataset: Path) -> None:
    _edit_yaml(tiny_dataset, val="images/validation")
    assert _problems(tiny_dataset).kinds == {"split_dir_missing"}


def test_split_dir_empty(tiny_dataset: Path) -> None:
    for image in (tiny_dataset / "images" / "val").iterdir():
        image.unlink()
    for label in (tiny_dataset / "labels" / "val").iterdir():
        label.unlink()
    assert _problems(tiny_dataset).kinds == {"split_empty"}


def test_missing_label_file_is_an_error(tiny_dataset: Path) -> None:
    _first_label(tiny_dataset).unlink()
    error = _problems(tiny_dataset)
    assert error.kinds == {"missing_label"}
    assert "empty file = background" in error.problems[0].detail


def test_empty_label_file_is_a_background_page(tiny_dataset: Path) -> None:
    _first_label(tiny_dataset).write_text("")
    report = dataset_check.check(tiny_dataset / "data.yaml")
    assert report.train.backgrounds == 1


def test_label_without_image(tiny_dataset: Path) -> None:
    (tiny_dataset / "labels" / "train" / "ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    error = _problems(tiny_dataset)
    assert error.kinds == {"orphan_label"}
    assert error.problems[0].where.endswith("ghost.txt")


@pytest.mark.parametrize(
    "line", ["0 0.5 0.5 0.1", "0 0.5 0.5 0.1 0.1 0.2", "0 0.5 half 0.1 0.1", "0 nan 0.5 0.1 0.1"]
)
def test_bad_label_syntax(tiny_dataset: Path, line: str) -> None:
    _first_label(tiny_dataset).write_text(line + "\n")
    assert _problems(tiny_dataset).kinds == {"bad_label_syntax"}


@pytest.mark.parametrize("cls", [str(len(CLASS_NAMES)), "-1", "1.5"])
def test_class_out_of_range_or_not_integer(tiny_dataset: Path, cls: str) -> None:
    _first_label(tiny_dataset).write_text(f"{cls} 0.5 0.5 0.1 0.1\n")
    assert _problems(tiny_dataset).kinds == {"class_out_of_range"}


@pytest.mark.parametrize("box", ["0.95 0.5 0.2 0.1", "0.5 0.02 0.1 0.1", "1.2 0.5 0.1 0.1"])
def test_box_outside_the_page(tiny_dataset: Path, box: str) -> None:
    _first_label(tiny_dataset).write_text(f"0 {box}\n")
    assert _problems(tiny_dataset).kinds == {"box_out_of_bounds"}


@pytest.mark.parametrize("box", ["0.5 0.5 0 0.1", "0.5 0.5 0.1 -0.1", "0.5 0.5 0.001 0.1"])
def test_degenerate_box(tiny_dataset: Path, box: str) -> None:
    _first_label(tiny_dataset).write_text(f"0 {box}\n")  # 0.001 x 320 px is under one pixel
    assert _problems(tiny_dataset).kinds == {"degenerate_box"}


def test_unreadable_image(tiny_dataset: Path) -> None:
    sorted((tiny_dataset / "images" / "train").glob("*.jpg"))[0].write_bytes(b"not a jpeg")
    assert _problems(tiny_dataset).kinds == {"unreadable_image"}


def test_training_split_without_any_box(tiny_dataset: Path) -> None:
    for label in (tiny_dataset / "labels" / "train").glob("*.txt"):
        label.write_text("")
    assert _problems(tiny_dataset).kinds == {"no_boxes"}


def test_every_problem_is_reported_at_once(tiny_dataset: Path) -> None:
    labels = sorted((tiny_dataset / "labels" / "train").glob("*.txt"))
    for label in labels[:3]:
        label.unlink()
    labels[3].write_text("99 0.5 0.5 0.1 0.1\n")
    (tiny_dataset / "labels" / "val" / "ghost.txt").write_text("")

    error = _problems(tiny_dataset)

    counts = {kind: sum(p.kind == kind for p in error.problems) for kind in error.kinds}
    assert counts == {"missing_label": 3, "class_out_of_range": 1, "orphan_label": 1}


def test_validation_channel_replaces_val(tiny_dataset: Path, tmp_path: Path) -> None:
    channel = tmp_path / "validation"
    channel.mkdir()
    (tiny_dataset / "images" / "val").rename(channel / "images")
    (tiny_dataset / "labels" / "val").rename(channel / "labels")
    _edit_yaml(tiny_dataset, val=None)  # the channel provides it

    report = dataset_check.check(tiny_dataset / "data.yaml", channel)

    assert report.val_dirs == (channel / "images",)
    assert report.val.images == 2


def test_runtime_yaml_has_absolute_paths(tiny_dataset_template: Path, tmp_path: Path) -> None:
    report = dataset_check.check(tiny_dataset_template / "data.yaml")
    written = dataset_check.write_runtime_yaml(report, tmp_path / "out" / "data.yaml")

    content = yaml.safe_load(written.read_text())
    assert content["path"] == str(tiny_dataset_template)
    assert Path(content["train"]).is_absolute() and Path(content["train"]).is_dir()
    assert Path(content["val"]) == tiny_dataset_template / "images" / "val"
    assert content["nc"] == len(CLASS_NAMES)
    assert content["names"] == dict(enumerate(CLASS_NAMES))


@pytest.mark.parametrize(
    ("image", "label"),
    [
        ("/d/images/train/a.jpg", "/d/labels/train/a.txt"),
        ("/images/d/images/train/a.b.png", "/images/d/labels/train/a.b.txt"),
        ("/d/pages/a.jpg", "/d/pages/a.txt"),
    ],
)
def test_label_path_follows_ultralytics_rule(image: str, label: str) -> None:
    assert dataset_check.label_path(Path(image)) == Path(label)
