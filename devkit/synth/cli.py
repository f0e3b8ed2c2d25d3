"""Command line: `python -m devkit.synth --out DIR --train N --val N`, or `... sample --out X.jpg`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from devkit.synth.dataset import generate_dataset, jpeg_quality_for, page_record, save_page
from devkit.synth.families import POLICIES
from devkit.synth.layout import LAYOUTS, PAYMENTS
from devkit.synth.render import render_invoice


def _size_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--width", type=int, default=1240, help="page width in pixels (default: A4 at 150 DPI)")
    p.add_argument("--height", type=int, default=1754, help="page height in pixels")


def _quality(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition(",")
    return int(lo), int(hi or lo)


def _generate(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m devkit.synth", description="Render a YOLO dataset of invoices."
    )
    p.add_argument("--out", required=True, type=Path, help="dataset root (gets data.yaml, images/, labels/)")
    p.add_argument("--train", type=int, required=True, help="training pages")
    p.add_argument("--val", type=int, required=True, help="validation pages (same families as train)")
    p.add_argument(
        "--held-out",
        type=int,
        default=0,
        help="pages of held-out families, payments, wordings, fonts (images/held_out; data.yaml test:)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--jpeg-quality", type=_quality, default=(60, 95), help="LO,HI (inclusive)")
    _size_args(p)
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    yaml_path = generate_dataset(
        a.out,
        n_train=a.train,
        n_val=a.val,
        seed=a.seed,
        width=a.width,
        height=a.height,
        workers=a.workers,
        jpeg_quality=a.jpeg_quality,
        n_held_out=a.held_out,
    )
    dt = time.perf_counter() - t0
    n = a.train + a.val + a.held_out
    print(
        f"{n} pages ({a.train} train, {a.val} val, {a.held_out} held_out) {a.width}x{a.height} "
        f"in {dt:.1f} s, "
        f"{n / dt if dt > 0 else 0:.2f} pages/s, workers={a.workers} -> {yaml_path}"
    )
    return 0


def _sample(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python -m devkit.synth sample", description="Render one page + its boxes."
    )
    p.add_argument("--out", required=True, type=Path, help="FILE.jpg; boxes go to FILE.json")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scanned", choices=("yes", "no", "random"), default="random")
    p.add_argument("--policy", choices=POLICIES, default="train", help="which families' pool to draw from")
    p.add_argument("--layout", choices=LAYOUTS, default=None, help="force a header family")
    p.add_argument("--payment", choices=PAYMENTS, default=None, help="force a payment variant")
    _size_args(p)
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    scanned = {"yes": True, "no": False, "random": None}[a.scanned]
    page = render_invoice(
        a.seed,
        width=a.width,
        height=a.height,
        scanned=scanned,
        policy=a.policy,
        layout=a.layout,
        payment=a.payment,
    )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    save_page(page, a.out, None, jpeg_quality_for(a.seed, (60, 95)))
    meta = {
        "seed": a.seed,
        "width": a.width,
        "height": a.height,
        **page_record(page, "sample", a.out.stem),
        "scanned": page.scanned,
        "boxes": [
            {"class_id": b.class_id, "name": b.name, "box": [round(v, 2) for v in (b.x1, b.y1, b.x2, b.y2)]}
            for b in page.boxes
        ],
    }
    json_path = a.out.with_suffix(".json")
    json_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    dt = time.perf_counter() - t0
    print(
        f"1 page {a.width}x{a.height} ({page.layout}, {page.lang}, scanned={page.scanned}) in {dt:.2f} s, "
        f"{1 / dt:.2f} pages/s -> {a.out}, {json_path}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; `sample` as the first argument renders one page, anything else a dataset."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "sample":
        return _sample(args[1:])
    if args and args[0] == "generate":
        args = args[1:]
    return _generate(args)
