"""Check a YOLO detection dataset before any GPU time is spent, and write the runtime data.yaml.

Every problem is collected (not just the first) and raised as one DatasetError. Rules:

- `data.yaml` exists, parses to a mapping, has `names` (list, or dict with keys 0..n-1) of
  unique non-empty strings, and `nc` (if present) equals the number of names.
- `train` and `val` name existing directories (relative to `path`, or to the yaml's directory
  when there is no `path`, as the generator writes it) that contain images. A validation
  channel, when given, replaces `val`.
- Labels live where Ultralytics looks for them (the last `images` path component becomes
  `labels`, suffix `.txt`). A label file without its image is an error.
- A **missing** label file is an error; an **empty** label file is a background page.
  Ultralytics would treat both as background, but every annotated invoice page has fields, so a
  missing file almost always means a broken upload or a renamed image; an empty file is the
  explicit way to say "no fields on this page".
- Each label line is `class x_center y_center width height`: five numbers, an integer class in
  [0, nc), a box inside the page ([0, 1] with 1e-4 slack for rounding) at least one pixel wide
  and high.

Pure module (PyYAML and Pillow only, both Ultralytics dependencies): it runs in seconds.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from PIL import Image, UnidentifiedImageError

from yolo_train.errors import DatasetError, Problem

IMAGE_SUFFIXES = frozenset({".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"})
EDGE_SLACK = 1e-4
_INT_LIKE = re.compile(r"^[-+]?\d+(?:\.0*)?$")


@dataclass(frozen=True)
class SplitStats:
    images: int
    boxes: int
    backgrounds: int


@dataclass(frozen=True)
class DatasetReport:
    """What the check learned; `raw` is the parsed data.yaml."""

    data_yaml: Path
    root: Path
    names: dict[int, str]
    train_dirs: tuple[Path, ...]
    val_dirs: tuple[Path, ...]
    train: SplitStats
    val: SplitStats
    median_aspect: float  # page height / width over the training images
    raw: dict[str, Any]


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last `images` directory component becomes `labels`, suffix `.txt`."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _label_dir(image_dir: Path) -> Path:
    return label_path(image_dir / "x.png").parent


def _load_yaml(data_yaml: Path, problems: list[Problem]) -> dict[str, Any] | None:
    if not data_yaml.is_file():
        problems.append(Problem("missing_data_yaml", str(data_yaml), "no data.yaml in the dataset"))
        return None
    try:
        content = yaml.safe_load(data_yaml.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(Problem("bad_data_yaml", str(data_yaml), f"does not parse: {exc}".splitlines()[0]))
        return None
    if not isinstance(content, dict):
        problems.append(Problem("bad_data_yaml", str(data_yaml), "expected a mapping at the top level"))
        return None
    return content


def _names(content: dict[str, Any], where: str, problems: list[Problem]) -> dict[int, str]:
    raw = content.get("names")
    if raw is None:
        problems.append(Problem("names_missing", where, "no 'names' list of class names"))
        return {}
    if isinstance(raw, list):
        names = dict(enumerate(raw))
    elif isinstance(raw, dict) and all(isinstance(k, int) for k in raw):
        names = dict(sorted(raw.items()))
        if list(names) != list(range(len(names))):
            problems.append(Problem("invalid_names", where, f"'names' keys must be 0..{len(names) - 1}"))
    else:
        problems.append(Problem("invalid_names", where, "'names' must be a list or a {index: name} mapping"))
        return {}
    if not names:
        problems.append(Problem("names_missing", where, "'names' is empty"))
    bad = [k for k, v in names.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        problems.append(
            Problem("invalid_names", where, f"class names must be non-empty strings (ids {bad[:5]})")
        )
    texts = [str(v) for v in names.values()]
    duplicates = sorted({t for t in texts if texts.count(t) > 1})
    if duplicates:
        problems.append(Problem("invalid_names", where, f"duplicate class names {duplicates[:5]}"))
    nc = content.get("nc")
    if nc is not None and (isinstance(nc, bool) or not isinstance(nc, int) or nc != len(names)):
        problems.append(Problem("nc_mismatch", where, f"nc={nc!r} but {len(names)} names"))
    return {int(k): str(v) for k, v in names.items()}


def _split_dirs(
    content: dict[str, Any], key: str, root: Path, where: str, problems: list[Problem]
) -> tuple[Path, ...]:
    value = content.get(key)
    if value in (None, ""):
        problems.append(Problem("split_missing", where, f"no '{key}' entry"))
        return ()
    entries = value if isinstance(value, list) else [value]
    dirs: list[Path] = []
    for entry in entries:
        path = Path(str(entry))
        path = path if path.is_absolute() else root / path
        if path.is_file():
            problems.append(Problem("unsupported_split", str(path), f"'{key}' must name image directories"))
        elif not path.is_dir():
            problems.append(Problem("split_dir_missing", str(path), f"'{key}' directory does not exist"))
        else:
            dirs.append(path)
    return tuple(dirs)


def _validation_dirs(channel: Path, problems: list[Problem]) -> tuple[Path, ...]:
    """A validation channel: its own data.yaml's `val`, else its `images/` dir, else itself."""
    for name in ("data.yaml", "data.yml"):
        if (channel / name).is_file():
            content = _load_yaml(channel / name, problems) or {}
            root = Path(str(content.get("path") or channel))
            root = root if root.is_absolute() else channel / root
            return _split_dirs(content, "val", root, str(channel / name), problems)
    images = channel / "images"
    return (images if images.is_dir() else channel,)


def _images(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _check_label_line(
    line: str, nc: int, size: tuple[int, int] | None, where: str, problems: list[Problem]
) -> None:
    fields = line.split()
    if len(fields) != 5:
        problems.append(
            Problem("bad_label_syntax", where, f"expected 5 numbers, got {len(fields)}: {line!r}")
        )
        return
    try:
        numbers = [float(f) for f in fields]
    except ValueError:
        problems.append(Problem("bad_label_syntax", where, f"not numbers: {line!r}"))
        return
    if not all(math.isfinite(n) for n in numbers):
        problems.append(Problem("bad_label_syntax", where, f"not finite: {line!r}"))
        return
    if not _INT_LIKE.match(fields[0]) or not 0 <= int(numbers[0]) < nc:
        problems.append(
            Problem("class_out_of_range", where, f"class {fields[0]!r} not an integer in [0, {nc})")
        )
    x, y, w, h = numbers[1:]
    if w <= 0 or h <= 0 or (size is not None and (w * size[0] < 1 or h * size[1] < 1)):
        problems.append(Problem("degenerate_box", where, f"box {w:g}x{h:g} is empty or under one pixel"))
        return
    low, high = -EDGE_SLACK, 1 + EDGE_SLACK
    if not (low <= x - w / 2 and x + w / 2 <= high and low <= y - h / 2 and y + h / 2 <= high):
        problems.append(Problem("box_out_of_bounds", where, f"box {line.strip()!r} leaves the page"))


def _image_size(image: Path, problems: list[Problem]) -> tuple[int, int] | None:
    try:
        with Image.open(image) as im:  # reads the header only
            return im.size
    except (OSError, UnidentifiedImageError, ImportError) as exc:
        # ImportError: once Ultralytics is imported it patches Image.open to retry unidentified
        # files as HEIF, which needs pi_heif; the file is unreadable either way.
        problems.append(Problem("unreadable_image", str(image), str(exc).splitlines()[0]))
        return None


def _check_split(
    dirs: Iterable[Path], nc: int, split: str, problems: list[Problem], sizes: list[tuple[int, int]]
) -> SplitStats:
    n_images = n_boxes = n_background = 0
    for directory in dirs:
        images = _images(directory)
        if not images:
            problems.append(Problem("split_empty", str(directory), f"no images in the '{split}' directory"))
            continue
        n_images += len(images)
        for image in images:
            size = _image_size(image, problems)
            if size is not None:
                sizes.append(size)
            label = label_path(image)
            if not label.is_file():
                problems.append(
                    Problem(
                        "missing_label", str(image), f"no label file {label.name} (empty file = background)"
                    )
                )
                continue
            lines = [
                ln for ln in label.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()
            ]
            if not lines:
                n_background += 1
            for number, line in enumerate(lines, start=1):
                _check_label_line(line, nc, size, f"{label}:{number}", problems)
            n_boxes += len(lines)
        _check_orphans(directory, images, problems)
    return SplitStats(images=n_images, boxes=n_boxes, backgrounds=n_background)


def _check_orphans(image_dir: Path, images: list[Path], problems: list[Problem]) -> None:
    label_dir = _label_dir(image_dir)
    if not label_dir.is_dir():
        return
    expected = {label_path(image) for image in images}
    for label in sorted(label_dir.rglob("*.txt")):
        if label not in expected:
            problems.append(Problem("orphan_label", str(label), "label file without an image"))


def check(data_yaml: Path, validation: Path | None = None) -> DatasetReport:
    """Check the dataset at `data_yaml` (and a separate validation channel); raise DatasetError."""
    problems: list[Problem] = []
    data_yaml = data_yaml.absolute()
    content = _load_yaml(data_yaml, problems)
    if content is None:
        raise DatasetError(problems)
    where = str(data_yaml)
    names = _names(content, where, problems)
    root = Path(str(content.get("path") or data_yaml.parent))
    root = root if root.is_absolute() else data_yaml.parent / root
    train_dirs = _split_dirs(content, "train", root, where, problems)
    if validation is not None:
        val_dirs = _validation_dirs(validation.absolute(), problems)
    else:
        val_dirs = _split_dirs(content, "val", root, where, problems)

    nc = len(names) or 1
    train_sizes: list[tuple[int, int]] = []
    train = _check_split(train_dirs, nc, "train", problems, train_sizes)
    val = _check_split(val_dirs, nc, "val", problems, [])
    if train_dirs and train.images and not train.boxes:
        problems.append(Problem("no_boxes", "train", "the training split has no labelled boxes"))
    if problems:
        raise DatasetError(problems)
    aspects = [h / w for w, h in train_sizes]
    return DatasetReport(
        data_yaml=data_yaml,
        root=root,
        names=names,
        train_dirs=train_dirs,
        val_dirs=val_dirs,
        train=train,
        val=val,
        median_aspect=statistics.median(aspects) if aspects else 1.0,
        raw=content,
    )


def write_runtime_yaml(report: DatasetReport, target: Path) -> Path:
    """A copy of data.yaml with absolute paths: Ultralytics resolves relative ones under its own
    DATASETS_DIR otherwise, and the generator writes no `path` key."""
    content = dict(report.raw)
    content["path"] = str(report.root)

    def listed(dirs: tuple[Path, ...]) -> str | list[str]:
        return str(dirs[0]) if len(dirs) == 1 else [str(d) for d in dirs]

    content["train"] = listed(report.train_dirs)
    content["val"] = listed(report.val_dirs)
    content["names"] = dict(report.names)
    content["nc"] = len(report.names)
    content.pop("test", None)  # not validated here; Ultralytics would check it if present
    content.pop("download", None)  # never let Ultralytics fetch a dataset
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target
