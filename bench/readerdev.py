"""The reader's dev loop: read bench/extraction's pages once, then score the resolver in seconds.

    python -m bench.readerdev cache [--held-out 40] [--in-family 10]   # decode, detect, OCR: minutes
    python -m bench.readerdev score [--exact] [--true-boxes] [--no-regions] [--show] [--count-reference]
    python -m bench.readerdev pages held_out-700009 pdf-900026 ...   # serving's read, cached: minutes
    python -m bench.readerdev replay [--show] [--only NAME]          # extract's decision on them: seconds

`cache` runs each page (bench.extraction's seeds and generation) through serving's core up to the
words (decode, detect, OCR around the detections) and pickles words, regions, the true field boxes
and the truth under build/readerdev/. `score` runs `read_invoice` on the cached words, with the
detector's regions, the true boxes (a perfect detector) or none (the label words alone), scored as
bench/extraction scores. `--exact`: the generator's own words (each drawn text with its glyph box,
as tests/unit/test_reading_synth.py makes them) instead of OCR's, which isolates the resolver.
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path
from typing import Any

from bench.extraction import SEED_BASE

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "build" / "readerdev"
SETS = {"held_out": ("held_out", SEED_BASE["held_out"]), "in_family": ("train", SEED_BASE["in_family"])}


def _cache(count: dict[str, int]) -> None:
    from bench.extraction import MODEL, Reader, sample_of  # noqa: PLC0415
    from devkit.synth.render import render_invoice  # noqa: PLC0415
    from invoice_core import Options, read_document  # noqa: PLC0415

    reader = Reader(MODEL)
    options = Options(line_items=True, trace=True)  # every region read, as the reader decides on them
    CACHE.mkdir(parents=True, exist_ok=True)
    for name, (policy, seed0) in SETS.items():
        for seed in range(seed0, seed0 + count[name]):
            out = CACHE / f"{policy}-{seed}.pkl"
            if out.exists():
                continue
            started = time.perf_counter()
            page = render_invoice(seed, policy=policy)
            sample = sample_of(page)
            result = read_document(
                sample.data,
                reader.model,
                options,
                limits=reader.settings.limits,
                policy=reader.settings.policy,
            )
            true_boxes = [(b.name, (b.x1, b.y1, b.x2, b.y2)) for b in page.boxes]
            record = {
                "name": sample.name,
                "seed": seed,
                "policy": policy,
                "truth": sample.truth,
                "tags": sample.tags,
                "words": result.trace["words"],
                "regions": result.trace["regions"],
                "true_boxes": true_boxes,
                "model": reader.model.info.version,
            }
            out.write_bytes(pickle.dumps(record))
            words = len(result.trace["words"])
            print(f"{sample.name}: {words} words, {time.perf_counter() - started:.1f} s", flush=True)


# `pages`: serving's read of named pages (bench.extraction's names), as the front door traces it
# (a folder of its own: the caches before the front door held other keys)
PAGES = CACHE / "traced-pages"


def _sample(name: str) -> Any:
    """bench.extraction's sample called `name` (held_out-700009, train-800003, pdf-900026)."""
    from bench.extraction import pdfs, scans  # noqa: PLC0415

    kind, seed = name.rsplit("-", 1)
    if kind == "pdf":
        return next(pdfs(1, int(seed)))
    return next(scans(kind, 1, int(seed)))


def _cache_pages(names: list[str]) -> None:
    """For each page, what serving's reader decided its answer on (the front door's trace: the words,
    after any whole-page read, and the regions), so that a change to the decision rules can be
    replayed on them without OCR."""
    from bench.extraction import MODEL, Reader  # noqa: PLC0415
    from invoice_core import Options, read_document  # noqa: PLC0415

    reader = Reader(MODEL)
    PAGES.mkdir(parents=True, exist_ok=True)
    for name in names:
        out = PAGES / f"{name}.pkl"
        if out.exists():
            continue
        started = time.perf_counter()
        sample = _sample(name)
        result = read_document(
            sample.data,
            reader.model,
            Options(trace=True),
            kind=sample.kind,
            limits=reader.settings.limits,
            policy=reader.settings.policy,
        )
        record = {
            "name": name,
            "truth": sample.truth,
            "tags": sample.tags,
            "sources": result.values["read"]["sources"],
            "words": result.trace["words"],
            "regions": result.trace["regions"],
            "model": reader.model.info.version,
        }
        out.write_bytes(pickle.dumps(record))
        print(f"{name}: {len(record['words'])} words, {time.perf_counter() - started:.1f} s", flush=True)


def replay(rec: dict[str, Any]) -> dict[str, Any]:
    """The answer decided again on a cached page's words and regions (serving's `read_invoice`)."""
    from invoice_core.read.decide import read_invoice  # noqa: PLC0415

    return read_invoice(rec["words"], rec["regions"])


def _replay(args: argparse.Namespace) -> None:
    from bench.extraction import Outcome, Sample  # noqa: PLC0415

    by_set: dict[str, list[Outcome]] = {}
    for path in sorted(PAGES.glob("*.pkl")):
        rec = pickle.loads(path.read_bytes())
        if args.only and args.only not in rec["name"]:
            continue
        got = {n: f.get("value") for n, f in replay(rec)["fields"].items()}
        sample = Sample(rec["name"], b"", "image", rec["truth"], rec["tags"])
        by_set.setdefault(rec["name"].rsplit("-", 1)[0], []).append(Outcome(sample, got, 0.0, [], []))
    _print(by_set, args.show)


def exact_words(seed: int, policy: str) -> tuple[list[Any], list[Any], Any]:
    """The generator's words and field extents for bench.extraction's page `seed` (the same draws as
    render_invoice makes before painting), and the invoice."""
    from devkit.synth.fields import CLASS_NAMES  # noqa: PLC0415
    from devkit.synth.render import lay_out  # noqa: PLC0415
    from invoice_core.read.words import Box, Region, Word  # noqa: PLC0415

    *_, inv, sheet = lay_out(seed, policy=policy)  # render_invoice's page, laid out, not painted
    words: list[Word] = []
    extents: dict[int, list[Box]] = {}
    for text, xyxy, cls in sheet.texts():
        box = Box(*xyxy)
        words.append(Word(text, box, 1, 0.99, "pdf_text"))
        if cls is not None:
            extents.setdefault(cls, []).append(box)
    regions = [Region(CLASS_NAMES[c], Box.union(b), 0.9) for c, b in extents.items()]
    return words, regions, inv


def _score(args: argparse.Namespace) -> None:
    from bench.extraction import Outcome, Sample, truth_of  # noqa: PLC0415
    from invoice_core.read.decide import read_invoice  # noqa: PLC0415
    from invoice_core.read.words import Box, Region  # noqa: PLC0415

    records = [pickle.loads(p.read_bytes()) for p in sorted(CACHE.glob("*.pkl"))]
    by_set: dict[str, list[Outcome]] = {}
    for rec in records:
        if args.only and args.only not in rec["name"]:
            continue
        truth = rec["truth"]
        exact = exact_words(rec["seed"], rec["policy"]) if args.exact or args.count_reference else None
        if args.exact:
            words, true_regions, inv = exact
            truth = truth_of(inv)
        else:
            words = rec["words"]
            true_regions = [Region(n, Box(*b), 0.9) for n, b in rec["true_boxes"]]
        if args.count_reference:  # a payment block's "Reference" line as the payment reference too
            printed = exact[2].payment_truth()
            if "reference" in printed:
                truth = {**truth, "payment_reference": printed["reference"]}
        regions = [] if args.no_regions else true_regions if args.true_boxes else rec["regions"]
        started = time.perf_counter()
        answer = read_invoice(words, regions)
        got = {n: f.get("value") for n, f in answer["fields"].items()}
        sample = Sample(rec["name"], b"", "image", truth, rec["tags"])
        by_set.setdefault(rec["policy"], []).append(
            Outcome(sample, got, (time.perf_counter() - started) * 1e3, [], [])
        )
    _print(by_set, args.show)


def _print(by_set: dict[str, list[Any]], show: bool) -> None:
    from bench.extraction import KEY_FIELDS, OTHER_FIELDS, score  # noqa: PLC0415

    for name, outcomes in by_set.items():
        s = score(outcomes)
        print(
            f"== {name}: {s['pages']} pages, key {100 * (s['key_accuracy'] or 0):.1f}%, "
            f"all-key pages {s['pages_all_key_right']}, spurious {s['spurious']}"
        )
        for field in KEY_FIELDS + OTHER_FIELDS:
            f = s["per_field"][field]
            print(
                f"  {field:18s} {f['right']:3d}/{f['printed']:<3d} wrong {f['wrong']:2d} "
                f"missing {f['missing']:2d} spurious {f['spurious']:2d}"
            )
        if show:
            for f in s["failures"]:
                print(
                    f"    {f['page']} {f['field']}: want {f['want']!r} got {f['got']!r} "
                    f"[{f.get('layout')}, {f.get('payment')}, {f.get('wording')}, {f.get('lang')}]"
                )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cache")
    c.add_argument("--held-out", type=int, default=40)
    c.add_argument("--in-family", type=int, default=10)
    s = sub.add_parser("score")
    s.add_argument("--exact", action="store_true")
    s.add_argument("--true-boxes", action="store_true")
    s.add_argument("--no-regions", action="store_true")
    s.add_argument("--show", action="store_true")
    s.add_argument("--count-reference", action="store_true", help="truth: a 'Reference' line is one too")
    s.add_argument("--only", default="")
    p = sub.add_parser("pages")
    p.add_argument("names", nargs="+")
    r = sub.add_parser("replay")
    r.add_argument("--show", action="store_true")
    r.add_argument("--only", default="")
    args = parser.parse_args()
    if args.cmd == "pages":
        _cache_pages(args.names)
    elif args.cmd == "replay":
        _replay(args)
    elif args.cmd == "cache":
        _cache({"held_out": args.held_out, "in_family": args.in_family})
    else:
        _score(args)


if __name__ == "__main__":
    main()
