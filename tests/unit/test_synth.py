"""The synthetic invoice generator: determinism, box/ink agreement, YOLO files, data.yaml and the CLI."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from devkit.synth import CLASS_NAMES, generate_dataset, page_seed, render_invoice
from devkit.synth.cli import main
from devkit.synth.families import HEADER_FAMILIES, pool
from devkit.synth.fonts import REQUIRED_CHARS, covers, families
from devkit.synth.layout import LAYOUTS

pytestmark = pytest.mark.unit

SMALL = {"width": 320, "height": 452}
REPO = Path(__file__).resolve().parents[2]


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _check_boxes_cover_ink(page, tol: float = 2.0) -> None:
    """Every box holds all of its field's ink, and the ink reaches each of the box's four edges."""
    h, w = page.image.height, page.image.width
    assert set(page.masks) == set(range(len(page.boxes)))
    for i, box in enumerate(page.boxes):
        mask = page.masks[i]
        assert mask.shape == (h, w)
        ys, xs = np.nonzero(mask)
        assert xs.size > 0, box.name
        # Ink pixel (x, y) spans [x, x+1) × [y, y+1).
        ink = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        assert box.x1 <= ink[0] + tol and box.y1 <= ink[1] + tol, (box, ink)
        assert box.x2 >= ink[2] - tol and box.y2 >= ink[3] - tol, (box, ink)
        # Tight: the ink touches every edge of the box.
        assert ink[0] - box.x1 <= tol and ink[1] - box.y1 <= tol, (box, ink)
        assert box.x2 - ink[2] <= tol and box.y2 - ink[3] <= tol, (box, ink)
        # Nothing of the field's ink lies outside its box (give or take one pixel: the reference warps
        # the whole layer, the generator a window of it, and under a phone's perspective PIL's float
        # sampling can put a pixel that sits exactly at the ink threshold on either side of it).
        outside = mask.copy()
        outside[
            max(0, int(np.floor(box.y1)) - 1) : int(np.ceil(box.y2)) + 1,
            max(0, int(np.floor(box.x1)) - 1) : int(np.ceil(box.x2)) + 1,
        ] = False
        assert not outside.any(), box.name
        assert 0 <= box.x1 < box.x2 <= w and 0 <= box.y1 < box.y2 <= h


def test_fonts_cover_swedish_letters() -> None:
    fams = families()
    assert len(fams) >= 3
    for fam in fams:
        assert covers(fam.regular) and covers(fam.bold), fam
    assert "å" in REQUIRED_CHARS and "ö" in REQUIRED_CHARS
    # Computer Modern ships with matplotlib but has no å: it must have been filtered out.
    assert all("cm" not in fam.regular.name for fam in fams)


def test_same_seed_same_page_different_seed_different_page() -> None:
    a = render_invoice(7, **SMALL)
    b = render_invoice(7, **SMALL)
    c = render_invoice(8, **SMALL)
    assert a.image.size == (320, 452) and a.image.mode == "RGB"
    assert _png(a.image) == _png(b.image)
    assert a.boxes == b.boxes
    assert _png(a.image) != _png(c.image)
    assert a.boxes != c.boxes


@pytest.mark.parametrize("scanned", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_boxes_tightly_cover_field_ink_small_page(seed: int, scanned: bool) -> None:
    page = render_invoice(seed, **SMALL, scanned=scanned, with_masks=True)
    _check_boxes_cover_ink(page)


def test_boxes_tightly_cover_field_ink_default_page() -> None:
    page = render_invoice(11, scanned=True, with_masks=True)
    assert page.image.size == (1240, 1754)
    _check_boxes_cover_ink(page)


def test_every_layout_gives_all_ten_classes_without_overlaps() -> None:
    for i, layout in enumerate(LAYOUTS):
        page = render_invoice(100 + i, **SMALL, layout=layout, scanned=False)
        assert page.layout == layout
        assert sorted(b.class_id for b in page.boxes) == list(range(len(CLASS_NAMES)))
        assert [b.name for b in page.boxes] == [CLASS_NAMES[b.class_id] for b in page.boxes]
        for j, a in enumerate(page.boxes):
            for b in page.boxes[j + 1 :]:
                overlap_w = min(a.x2, b.x2) - max(a.x1, b.x1)
                overlap_h = min(a.y2, b.y2) - max(a.y1, b.y1)
                assert overlap_w <= 0 or overlap_h <= 0, (layout, a.name, b.name)


def test_pages_vary_in_layout_language_and_scan() -> None:
    pages = [render_invoice(s, width=160, height=226) for s in range(40)]
    assert {p.layout for p in pages} == set(pool(HEADER_FAMILIES, "train"))
    assert {p.lang for p in pages} == {"en", "sv"}
    assert {p.scanned for p in pages} == {True, False}


@pytest.mark.parametrize("seed", [5, 6])
def test_small_page_is_a_shrunken_invoice(seed: int) -> None:
    big = render_invoice(seed, scanned=False)
    small = render_invoice(seed, **SMALL, scanned=False)
    assert big.layout == small.layout and big.lang == small.lang
    assert [b.class_id for b in big.boxes] == [b.class_id for b in small.boxes]
    # Boxes sit at the same relative place (pixel rounding may flip one layout decision, hence "most").
    close = [
        abs((bb.x1 + bb.x2) / 2 / 1240 - (sb.x1 + sb.x2) / 2 / 320) < 0.02
        and abs((bb.y1 + bb.y2) / 2 / 1754 - (sb.y1 + sb.y2) / 2 / 452) < 0.02
        and abs((bb.x2 - bb.x1) / 1240 - (sb.x2 - sb.x1) / 320) < 0.02
        for bb, sb in zip(big.boxes, small.boxes, strict=True)
    ]
    assert sum(close) >= 8, close


def test_page_seed_depends_on_seed_split_and_index() -> None:
    seeds = {page_seed(s, split, i) for s in (0, 1) for split in ("train", "val") for i in range(50)}
    assert len(seeds) == 200
    assert page_seed(3, "train", 4) == page_seed(3, "train", 4)


def test_dataset_layout_labels_and_yaml(tmp_path: Path) -> None:
    yaml_path = generate_dataset(tmp_path / "ds", n_train=3, n_val=2, seed=4, **SMALL)
    root = tmp_path / "ds"
    assert yaml_path == root / "data.yaml"
    for split, n in (("train", 3), ("val", 2)):
        images = sorted((root / "images" / split).glob("*.jpg"))
        labels = sorted((root / "labels" / split).glob("*.txt"))
        assert len(images) == n and [p.stem for p in images] == [p.stem for p in labels]
        for img_path, lbl_path in zip(images, labels, strict=True):
            with Image.open(img_path) as im:  # 200-DPI scans are 4/3 the size
                assert im.format == "JPEG" and im.size in ((320, 452), (427, 603)) and im.mode == "RGB"
            lines = lbl_path.read_text().splitlines()
            classes = set()
            for line in lines:
                parts = line.split()
                assert len(parts) == 5, line
                assert parts[0].isdigit() and 0 <= int(parts[0]) < len(CLASS_NAMES)
                classes.add(int(parts[0]))
                for v in parts[1:]:
                    assert len(v.split(".")[1]) == 6, line
                    assert 0.0 <= float(v) <= 1.0, line
                assert float(parts[3]) > 0 and float(parts[4]) > 0
            assert classes == set(range(len(CLASS_NAMES)))
    data = yaml.safe_load(yaml_path.read_text())
    assert "path" not in data
    assert data["train"] == "images/train" and data["val"] == "images/val"
    assert data["nc"] == len(CLASS_NAMES)
    assert data["names"] == dict(enumerate(CLASS_NAMES))


def test_labels_match_rendered_boxes(tmp_path: Path) -> None:
    generate_dataset(tmp_path, n_train=1, n_val=0, seed=9, **SMALL)
    page = render_invoice(page_seed(9, "train", 0), **SMALL, vary_dpi=True)
    w, h = page.image.size
    rows = [line.split() for line in (tmp_path / "labels/train/train_000000.txt").read_text().splitlines()]
    assert len(rows) == len(page.boxes)
    for row, box in zip(rows, page.boxes, strict=True):
        assert int(row[0]) == box.class_id
        assert float(row[1]) == pytest.approx((box.x1 + box.x2) / 2 / w, abs=1e-6)
        assert float(row[4]) == pytest.approx((box.y2 - box.y1) / h, abs=1e-6)


def test_dataset_is_deterministic_across_worker_counts(tmp_path: Path) -> None:
    kw = {"n_train": 3, "n_val": 1, "seed": 2, **SMALL}
    generate_dataset(tmp_path / "a", workers=1, **kw)
    generate_dataset(tmp_path / "b", workers=2, **kw)
    generate_dataset(tmp_path / "c", workers=1, **{**kw, "seed": 3})
    a, b, c = _tree(tmp_path / "a"), _tree(tmp_path / "b"), _tree(tmp_path / "c")
    assert a == b
    assert len(a) == 4 * 2 + 2  # images, labels, data.yaml, pages.jsonl
    assert {k: v for k, v in a.items() if k.endswith(".jpg")} != {
        k: v for k, v in c.items() if k.endswith(".jpg")
    }


def test_a_larger_dataset_of_the_same_seed_holds_the_smaller_ones_pages(tmp_path: Path) -> None:
    """The demo-model stages train on 300, 1200, 3000 pages of one seed: same val pages, train extended."""
    kw = {"n_val": 1, "seed": 1, **SMALL}
    generate_dataset(tmp_path / "small", n_train=2, **kw)
    generate_dataset(tmp_path / "large", n_train=3, **kw)
    small, large = _tree(tmp_path / "small"), _tree(tmp_path / "large")
    pages = {k: v for k, v in small.items() if k.startswith(("images/", "labels/"))}
    assert len(pages) == 2 * 3
    assert pages.items() <= large.items()
    assert "images/train/train_000002.jpg" in large


def test_regenerating_replaces_older_pages(tmp_path: Path) -> None:
    generate_dataset(tmp_path, n_train=3, n_val=1, seed=0, **SMALL)
    generate_dataset(tmp_path, n_train=1, n_val=1, seed=0, **SMALL)
    assert len(list((tmp_path / "images/train").glob("*.jpg"))) == 1
    assert len(list((tmp_path / "labels/train").glob("*.txt"))) == 1


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="jpeg_quality"):
        generate_dataset(tmp_path, n_train=1, n_val=0, jpeg_quality=(90, 60))
    with pytest.raises(ValueError, match="too small"):
        render_invoice(0, width=10, height=10)


def test_cli_dataset_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "devkit.synth",
            "--out",
            str(out),
            "--train",
            "2",
            "--val",
            "1",
            "--seed",
            "5",
            "--width",
            "320",
            "--height",
            "452",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "pages/s" in proc.stdout and "3 pages" in proc.stdout
    assert len(list((out / "images/train").glob("*.jpg"))) == 2
    assert (out / "data.yaml").is_file()


def test_cli_sample_writes_image_and_boxes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "one.jpg"
    assert main(["sample", "--out", str(out), "--seed", "3", "--width", "320", "--height", "452"]) == 0
    assert "pages/s" in capsys.readouterr().out
    meta = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    page = render_invoice(3, **SMALL)
    assert meta["seed"] == 3 and meta["width"] == 320
    assert [b["name"] for b in meta["boxes"]] == [b.name for b in page.boxes]
    assert meta["boxes"][0]["box"] == [
        round(v, 2) for v in (page.boxes[0].x1, page.boxes[0].y1, page.boxes[0].x2, page.boxes[0].y2)
    ]
    with Image.open(out) as im:
        assert im.size == (320, 452)
