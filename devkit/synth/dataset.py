"""A YOLO dataset of synthetic invoices: images/{train,val}/*.jpg, labels/{train,val}/*.txt, data.yaml.

train and val pages come from the TRAIN pools of families.py (val is the in-family figure); an
optional held_out split (images/held_out, labels/held_out) comes from the HELD_OUT pools: header
families, payment variants, wordings and fonts no training page uses. data.yaml names it `test:`
(Ultralytics: `val(split="test")`), and held_out.yaml is the same dataset with held_out as its `val`.
pages.jsonl says what each page is made of (family, payment, wording, font, degradation, ...), so
results can be broken down.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import random
from pathlib import Path

import cv2

from devkit.synth.fields import CLASS_NAMES
from devkit.synth.render import Page, render_invoice

SPLITS = ("train", "val", "held_out")
SPLIT_POLICY = {"train": "train", "val": "train", "held_out": "held_out"}


def page_seed(seed: int, split: str, index: int) -> int:
    """The seed of one page, from (dataset seed, split, index) only: independent of workers and order."""
    digest = hashlib.blake2b(f"{seed}/{split}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def jpeg_quality_for(page_seed_: int, quality: tuple[int, int]) -> int:
    """The JPEG quality of a page, drawn from its own seed within `quality` (inclusive)."""
    lo, hi = quality
    return random.Random(page_seed_ ^ 0x5EED).randint(lo, hi)  # noqa: S311 - data, not secrets


def yolo_lines(page: Page) -> list[str]:
    """The page's boxes as YOLO label lines: `cls cx cy w h`, normalised, 6 decimals."""
    w, h = page.image.size
    out = []
    for box in page.boxes:
        cls, cx, cy, bw, bh = box.yolo(w, h)
        vals = (min(1.0, max(0.0, v)) for v in (cx, cy, bw, bh))
        out.append(f"{cls} " + " ".join(f"{v:.6f}" for v in vals))
    return out


def save_page(page: Page, image_path: Path, label_path: Path | None, quality: int) -> None:
    """Write the JPEG (no EXIF, fixed settings, so bytes depend on pixels and quality only) and its labels."""
    page.image.save(image_path, format="JPEG", quality=quality, optimize=False, subsampling=2)
    if label_path is not None:
        label_path.write_text("\n".join(yolo_lines(page)) + "\n", encoding="utf-8")


def _worker_init() -> None:
    """Pool workers are the parallelism: keep OpenCV to one thread each so they do not fight for cores."""
    cv2.setNumThreads(1)


def page_record(page: Page, split: str, name: str) -> dict[str, object]:
    """What one page is made of (pages.jsonl): enough to break a result down by any of it."""
    inv = page.content
    return {
        "split": split,
        "name": name,
        "seed": page.seed,
        "policy": page.policy,
        "family": page.family,
        "payment": page.payment,
        "wording": page.wording,
        "font": page.font,
        "head_font": page.head_font,
        "degradation": page.degradation,
        "lang": page.lang,
        "date_format": inv.date_format if inv else "",
        "amount_format": inv.money.name if inv else "",
        "width": page.image.width,
        "height": page.image.height,
    }


def _job(task: tuple[Path, str, int, int, int, int, tuple[int, int]]) -> dict[str, object]:
    root, split, index, seed, width, height, quality = task
    ps = page_seed(seed, split, index)
    page = render_invoice(ps, width=width, height=height, policy=SPLIT_POLICY[split], vary_dpi=True)
    name = f"{split}_{index:06d}"
    save_page(
        page,
        root / "images" / split / f"{name}.jpg",
        root / "labels" / split / f"{name}.txt",
        jpeg_quality_for(ps, quality),
    )
    return page_record(page, split, name)


def data_yaml(
    n_train: int, n_val: int, seed: int, width: int, height: int, *, n_held_out: int = 0, val: str = "val"
) -> str:
    """data.yaml for Ultralytics, without `path` (the training entrypoint resolves the root); the
    held-out split, when there is one, as `test`."""
    counts = f"{n_train} train / {n_val} val" + (f" / {n_held_out} held_out" if n_held_out else "")
    lines = [
        f"# devkit.synth invoices: seed {seed}, {counts} pages, {width}x{height}",
        "train: images/train",
        f"val: images/{val}",
        *(["test: images/held_out"] if n_held_out else []),
        f"nc: {len(CLASS_NAMES)}",
        "names:",
        *(f"  {i}: {name}" for i, name in enumerate(CLASS_NAMES)),
    ]
    return "\n".join(lines) + "\n"


def generate_dataset(
    out_dir: str | Path,
    *,
    n_train: int,
    n_val: int,
    seed: int = 0,
    width: int = 1240,
    height: int = 1754,
    workers: int = 1,
    jpeg_quality: tuple[int, int] = (60, 95),
    n_held_out: int = 0,
) -> Path:
    """Render n_train + n_val (+ n_held_out) pages into a YOLO dataset under `out_dir`; returns the
    data.yaml path.

    Byte-identical output for the same arguments whatever `workers` is; a page's pixels depend only
    on (seed, split, index), so adding a held-out split changes no train or val page. Images and
    labels left in the split folders by an earlier run are removed first, so they hold this dataset only.
    """
    if n_train < 0 or n_val < 0 or n_held_out < 0:
        raise ValueError("page counts must be >= 0")
    lo, hi = jpeg_quality
    if not 1 <= lo <= hi <= 100:
        raise ValueError(f"jpeg_quality must be 1 <= lo <= hi <= 100, got {jpeg_quality}")
    root = Path(out_dir)
    counts = {"train": n_train, "val": n_val, "held_out": n_held_out}
    for split in SPLITS:
        for kind, pattern in (("images", "*.jpg"), ("labels", "*.txt")):
            d = root / kind / split
            if split != "held_out" or n_held_out:  # no empty held_out folders in a dataset without one
                d.mkdir(parents=True, exist_ok=True)
            for stale in d.glob(pattern):
                stale.unlink()
    for cache in (root / "labels").glob("*.cache"):  # Ultralytics' label cache of an older dataset
        cache.unlink()
    tasks = [
        (root, split, i, seed, width, height, (lo, hi)) for split in SPLITS for i in range(counts[split])
    ]
    records: list[dict[str, object]] = []
    if workers > 1 and len(tasks) > 1:
        with mp.get_context("spawn").Pool(min(workers, len(tasks)), initializer=_worker_init) as pool:
            records += pool.imap_unordered(_job, tasks, chunksize=max(1, len(tasks) // (workers * 8)))
    else:
        records += (_job(t) for t in tasks)
    order = {split: k for k, split in enumerate(SPLITS)}
    records.sort(key=lambda r: (order[str(r["split"])], str(r["name"])))
    (root / "pages.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records), encoding="utf-8"
    )
    yaml_path = root / "data.yaml"
    yaml_path.write_text(
        data_yaml(n_train, n_val, seed, width, height, n_held_out=n_held_out), encoding="utf-8"
    )
    held_yaml = root / "held_out.yaml"
    if n_held_out:
        held_yaml.write_text(
            data_yaml(n_train, n_val, seed, width, height, n_held_out=n_held_out, val="held_out"),
            encoding="utf-8",
        )
    elif held_yaml.exists():
        held_yaml.unlink()
    return yaml_path
