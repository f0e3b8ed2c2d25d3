"""The number the project steers by: the detector on layout families it never trained on.

    python -m devkit family-eval [--model models/demo/best.pt] [--pages 120]

Ultralytics' own validator (in a fresh process, offline) on two sets drawn by `devkit.synth`:
the in-family val pages (the training families, never trained on) and the held-out families
(layouts, payment variants, wordings and fonts kept out of training: `devkit.synth.families`).
Per class: precision, recall, mAP50, mAP50-95. Writes models/demo/families.json and the
"In-family and held-out families" section of models/demo/MODEL_CARD.md and docs/training.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from devkit.doc_sections import replace_section
from devkit.validation import box_iou, validate

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "models" / "demo"
WORK = REPO / "build" / "family-eval"
SECTION = "## In-family and held-out families"
END = "<!-- /families -->"
KEY_CLASSES = ("invoice_number", "invoice_date", "due_date", "total_amount", "payment_reference")
TARGET_RECALL = 0.95
TARGET_MAP50 = 0.85
DATA_SEED = 1  # the model card's val pages


def datasets(pages: int, workers: int) -> dict[str, Path]:
    """data.yaml of each set (its val split is what gets scored), generated once: the in-family val
    pages are the model card's (seed 1, split "val"); the held-out pages are that seed's held_out split."""
    from devkit.synth import generate_dataset  # noqa: PLC0415

    root = WORK / f"seed{DATA_SEED}-{pages}"
    if not (root / "held_out.yaml").is_file():
        generate_dataset(root, n_train=0, n_val=pages, n_held_out=pages, seed=DATA_SEED, workers=workers)
    return {"in_family": root / "data.yaml", "held_out": root / "held_out.yaml"}


def proposals(onnx_model: Path, data: Path, *, conf: float = 0.25) -> dict[str, dict[str, int]]:
    """What the reader gets, per key class: of the true boxes in `data`'s val split, how many have a
    serving detection as the reader gets it (conf >= `conf`, the two dates pooled) of the same class
    with IoU >= 0.5 ("right"), else a detection of another key class or of the same class with
    IoU < 0.5 covering at least half of the true box ("near": the reader still reads there and the
    label words decide), else none ("missed").

    Ultralytics' per-class recall counts only the first; the reader needs the region, not the class
    (the two dates are one-line key-value rows that differ only in their label words)."""
    import numpy as np  # noqa: PLC0415
    import yaml  # noqa: PLC0415

    from invoice_core.detect.model import load_model  # noqa: PLC0415 - serving's own path

    spec = yaml.safe_load(data.read_text())
    names = {int(k): v for k, v in spec["names"].items()}
    key_ids = {i for i, n in names.items() if n in KEY_CLASSES}
    model = load_model(onnx_model, intra_op_threads=1)
    counts = {name: {"right": 0, "near": 0, "missed": 0} for name in KEY_CLASSES}
    for image_path in sorted((data.parent / spec["val"]).glob("*.jpg")):
        label_path = data.parent / "labels" / image_path.parent.name / f"{image_path.stem}.txt"
        # as serving detects for its reader: the page's own bytes, the row shapes pooled
        boxes, class_ids, (width, height) = _detect(model, image_path.read_bytes(), conf, pool=True)
        for row in label_path.read_text().split("\n"):
            if not row.strip():
                continue
            cls, cx, cy, w, h = (float(v) for v in row.split())
            if int(cls) not in key_ids:
                continue
            true = np.array(
                [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height]
            )
            verdict = _verdict(boxes, class_ids, true, int(cls), key_ids)
            counts[names[int(cls)]][verdict] += 1
    return counts


def _detect(model: Any, data: bytes, conf: float, *, pool: bool = False) -> tuple[Any, Any, tuple[int, int]]:
    """Serving's detections on one page image, through the core's front door: boxes in page pixels,
    their class ids and the page's (width, height) (`pool`: the row shapes pooled, as the reader
    gets them; else the detector alone)."""
    from invoice_core import Options, read_document  # noqa: PLC0415 - serving's own path

    result = read_document(data, model, Options(conf=conf, values=False, pool_rows=pool), kind="image")
    page = result.pages[0]
    return page.detections.boxes, page.detections.class_ids, (page.image.width, page.image.height)


def _verdict(boxes: Any, class_ids: Any, true: Any, cls: int, key_ids: set[int]) -> str:
    """The verdict on one true box: "right", "near" or "missed" (see `proposals`)."""
    verdict = "missed"
    area_t = (true[2] - true[0]) * (true[3] - true[1])
    for box, cid in zip(boxes, class_ids, strict=True):
        if int(cid) == cls and box_iou(box, true) >= 0.5:
            return "right"
        ix = max(0.0, min(box[2], true[2]) - max(box[0], true[0]))
        iy = max(0.0, min(box[3], true[3]) - max(box[1], true[1]))
        if int(cid) in key_ids and area_t > 0 and ix * iy / area_t >= 0.5:
            verdict = "near"
    return verdict


# Which held-out choice costs the recall: (title, page policy, header-family policy). The page
# policy picks wording, fonts and payment variant; the header family is drawn from its own pool.
FACTOR_SETS: tuple[tuple[str, str, str], ...] = (
    ("nothing held out", "train", "train"),
    ("header layout held out", "train", "held_out"),
    ("wording, fonts, payment held out", "held_out", "train"),
    ("all held out", "held_out", "held_out"),
)
FACTOR_SEED = 900_000  # pages of their own, apart from the datasets' seeds


def factors(onnx_model: Path, pages: int, *, conf: float = 0.25) -> dict[str, dict[str, float]]:
    """Per factor set (FACTOR_SETS), the share of each key class's true boxes with a serving
    detection of its class at IoU >= 0.5: which part of "held out" the detector fails on."""

    from devkit.synth import families, render_invoice  # noqa: PLC0415
    from invoice_core.detect.model import load_model  # noqa: PLC0415

    model = load_model(onnx_model, intra_op_threads=1)
    ids = {name: i for i, name in enumerate(model.info.names)}
    key_ids = {ids[n] for n in KEY_CLASSES if n in ids}
    out: dict[str, dict[str, float]] = {}
    for title, policy, layout_policy in FACTOR_SETS:
        layouts = families.pool(families.HEADER_FAMILIES, layout_policy)
        right = dict.fromkeys(KEY_CLASSES, 0)
        total = dict.fromkeys(KEY_CLASSES, 0)
        for i in range(pages):
            page = render_invoice(FACTOR_SEED + i, policy=policy, layout=layouts[i % len(layouts)])
            png = io.BytesIO()
            page.image.save(png, format="PNG")  # lossless: the drawn pixels reach the detector
            boxes, class_ids, _ = _detect(model, png.getvalue(), conf)
            for field in page.boxes:
                if field.name not in right:
                    continue
                total[field.name] += 1
                true = (field.x1, field.y1, field.x2, field.y2)
                if _verdict(boxes, class_ids, true, field.class_id, key_ids) == "right":
                    right[field.name] += 1
        out[title] = {n: round(right[n] / total[n], 3) for n in KEY_CLASSES if total[n]}
    return out


def verdict(held_out: dict[str, Any]) -> list[str]:
    """The issue's targets on the held-out families, each met or missed with its figure."""
    lines = []
    for name in KEY_CLASSES:
        recall = held_out["per_class"].get(name, {}).get("recall", 0.0)
        ok = "met" if recall >= TARGET_RECALL else "**missed**"
        lines.append(f"- recall of {name} >= {TARGET_RECALL}: {ok} ({recall:.3f})")
    ok = "met" if held_out["mAP50"] >= TARGET_MAP50 else "**missed**"
    lines.append(f"- mAP50 over all classes >= {TARGET_MAP50}: {ok} ({held_out['mAP50']:.3f})")
    return lines


def section(result: dict[str, Any]) -> str:
    """Markdown: per class, in-family next to held-out."""
    sets = result["sets"]
    inf, held = sets["in_family"], sets["held_out"]
    rows = []
    for name in inf["per_class"]:
        a, b = inf["per_class"][name], held["per_class"].get(name, {})
        cells = (a["recall"], b.get("recall", 0.0), a["mAP50"], b.get("mAP50", 0.0))
        rows.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    return f"""{SECTION}

`python -m devkit family-eval` ({result["pages"]} pages per set, seed {DATA_SEED}; model
`{result["model"]}`, version `{result["version"]}`; {result["seconds"]:.0f} s on {result["machine"]}).
In-family: the training families on pages never trained on. Held-out: layout families, payment
variants, wordings and fonts kept out of training (`devkit/synth/families.py`). Ultralytics'
validator, conf 0.001, IoU 0.7 (its defaults).

| | in-family | held-out |
| --- | --- | --- |
| mAP50 | {inf["mAP50"]:.3f} | **{held["mAP50"]:.3f}** |
| mAP50-95 | {inf["mAP50-95"]:.3f} | {held["mAP50-95"]:.3f} |
| precision | {inf["precision"]:.3f} | {held["precision"]:.3f} |
| recall | {inf["recall"]:.3f} | {held["recall"]:.3f} |

| class | recall in-family | recall held-out | mAP50 in-family | mAP50 held-out |
| --- | --- | --- | --- | --- |
{chr(10).join(rows)}

{_proposal_table(result)}{_factor_table(result)}
Targets on the held-out families:
{chr(10).join(verdict(held))}
{END}
"""


def _proposal_table(result: dict[str, Any]) -> str:
    """The key fields as the reader sees them (see `proposals`), when they were measured."""
    got = result.get("proposals")
    if not got:
        return ""
    rows = []
    for name in KEY_CLASSES:
        cells = []
        for which in ("in_family", "held_out"):
            c = got[which][name]
            total = sum(c.values()) or 1
            cells.append(f"{c['right'] / total:.3f} / {(c['right'] + c['near']) / total:.3f}")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return f"""
What the reader gets (serving's own pre/post-processing as the reader gets it: conf 0.25, the two
dates pooled into one date-row proposal, `invoice_core.detect.postprocess`): the share of true key-field
boxes with a detection of the same class at IoU >= 0.5, and that share plus those where a
detection of any key class covers at least half of the true box (the reader reads there, and
the label words beside the value decide the field, and name a date row).

| key class | in-family: right / region found | held-out: right / region found |
| --- | --- | --- |
{chr(10).join(rows)}
"""


def _factor_table(result: dict[str, Any]) -> str:
    """Recall per key class with one part of "held out" at a time (see `factors`)."""
    got = result.get("factors")
    if not got:
        return ""
    head = " | ".join(KEY_CLASSES)
    rows = [
        f"| {title} | " + " | ".join(_share(got[title].get(n)) for n in KEY_CLASSES) + " |" for title in got
    ]
    return f"""
Which part of "held out" costs the recall (`factors`: {result.get("factor_pages", "?")} pages of their
own per row, seed {FACTOR_SEED}; the share of true boxes with a serving detection of their class at
IoU >= 0.5, conf 0.25). A row holds out only what its name says; the rest comes from training.

| held out | {head} |
| --- | {" | ".join("---" for _ in KEY_CLASSES)} |
{chr(10).join(rows)}
"""


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"  # "-": no page of that row printed the field


def write_section(path: Path, text: str) -> None:
    """Replace this report's section in `path` (or append it)."""
    replace_section(path, text, heading=SECTION, end_marker=END)


def run(model: Path, pages: int, workers: int, version: str) -> dict[str, Any]:
    started = time.monotonic()
    sets = {}
    data_sets = datasets(pages, workers)
    for name, data in data_sets.items():
        print(f"  validating on {name} ({pages} pages)", flush=True)
        sets[name] = validate(model, data)
        print(f"  {name}: mAP50 {sets[name]['mAP50']:.3f}, recall {sets[name]['recall']:.3f}", flush=True)
    onnx_model = model.with_name("model.onnx")
    has_onnx = onnx_model.is_file()
    found = {name: proposals(onnx_model, data) for name, data in data_sets.items()} if has_onnx else None
    factor_pages = max(1, pages // 3)
    by_factor = factors(onnx_model, factor_pages) if has_onnx else None
    return {
        "proposals": found,
        "factors": by_factor,
        "factor_pages": factor_pages,
        "model": str(model.relative_to(REPO)) if model.is_relative_to(REPO) else str(model),
        "version": version,
        "pages": pages,
        "sets": sets,
        "seconds": time.monotonic() - started,
        "machine": f"{os.cpu_count()} CPU cores, no GPU",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit family-eval", description=__doc__)
    parser.add_argument("--model", type=Path, default=DEMO / "best.pt")
    parser.add_argument("--pages", type=int, default=120)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=DEMO, help="where families.json and the card go")
    args = parser.parse_args(argv)
    metrics = (
        json.loads((args.out / "metrics.json").read_text()) if (args.out / "metrics.json").is_file() else {}
    )
    result = run(args.model, args.pages, args.workers, metrics.get("version", "?"))
    (args.out / "families.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    text = section(result)
    write_section(args.out / "MODEL_CARD.md", text)
    if args.out == DEMO:
        write_section(REPO / "docs" / "training.md", text)
    print(f"families -> {args.out / 'families.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
