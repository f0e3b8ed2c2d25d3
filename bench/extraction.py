"""Reading accuracy, honestly: field values on invoices whose layouts the detector never saw.

    python -m bench extraction            # make bench-extraction: about ten minutes on 2 cores
    python -m bench extraction --quick    # a quarter of the pages

Three sets, each page made by `devkit.synth` with the truth it printed:
- held-out scans: layout families, payment variants, wordings and fonts held out of the
  detector's training (`devkit.synth.families`), through every scan profile (150/200 DPI scans,
  phone photos, faxes, clean renders), sent as JPEG like a client would;
- in-family scans: the training families, on seeds no training set uses (the comparison);
- born-digital PDFs: read through their text layer.

Each page goes through serving's own core (decode or render, detect, read: `invoice_core`), with
serving's default settings and the shipped model. A value counts as right only when it equals the
truth after normalisation (amounts within half a cent); a value the page does not print is
spurious. Writes docs/extraction.md and build/extraction/extraction.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from invoice_contracts import fields as registry

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "extraction.md"
WORK = REPO / "build" / "extraction"
MODEL = REPO / "models" / "demo" / "model.onnx"
KEY_FIELDS = registry.key_fields()
OTHER_FIELDS = ("subtotal", "vat", "currency", "bankgiro", "plusgiro", "iban", "bic", "supplier")
TARGET_KEY_ACCURACY = 0.97
SPEED_SECTION = "## Speed, side by side"  # bench.read_speed writes it
SEED_BASE = {"held_out": 700_000, "in_family": 800_000, "pdf": 900_000}  # no training set uses these
FULL = {"held_out": 120, "in_family": 40, "pdf": 40}


@dataclass
class Sample:
    """One document, its kind, its truth, and what it is (for the breakdowns)."""

    name: str
    data: bytes
    kind: str  # image | pdf
    truth: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """What reading one document gave."""

    sample: Sample
    got: dict[str, Any]
    ms: float
    sources: list[str]
    needs_review: list[Any]
    error: str | None = None


# ----------------------------------------------------------------------------------- the documents


def _jpeg(image: Any, quality: int = 88) -> bytes:
    import io  # noqa: PLC0415

    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def scans(policy: str, count: int, seed0: int) -> Iterator[Sample]:
    """Rendered pages of one policy's pool ("held_out" or "train")."""
    from devkit.synth.render import render_invoice  # noqa: PLC0415

    for index in range(count):
        yield sample_of(render_invoice(seed0 + index, policy=policy))


def sample_of(page: Any) -> Sample:
    """A rendered page as the bench sends it: JPEG bytes, the printed truth, the page's choices."""
    tags = {k: str(getattr(page, k)) for k in ("layout", "payment", "wording", "font", "degradation", "lang")}
    return Sample(f"{page.policy}-{page.seed}", _jpeg(page.image), "image", truth_of(page.content), tags)


def pdfs(count: int, seed0: int) -> Iterator[Sample]:
    """Born-digital one-page invoice PDFs (held-out families)."""
    from devkit.synth.pdf import born_digital_invoice  # noqa: PLC0415

    for index in range(count):
        seed = seed0 + index
        data, inv = born_digital_invoice(seed, policy="held_out")
        yield Sample(f"pdf-{seed}", data, "pdf", truth_of(inv), {"layout": str(getattr(inv, "layout", "?"))})


# A payment block's "Reference" line (English pages) is the reference to quote with the payment, as
# the OCR number is on a Swedish slip: both are the page's payment_reference (the OCR number first).
PAYMENT_FIELDS = {
    "ocr": "payment_reference",
    "reference": "payment_reference",
    "bankgiro": "bankgiro",
    "plusgiro": "plusgiro",
    "iban": "iban",
    "bic": "bic",
}


def truth_of(inv: Any) -> dict[str, Any]:
    """The values the page prints, as a reader should return them: the generator's own truth (ISO
    dates, amounts as numbers, ISO 4217 currency, payment numbers compact), never re-parsed text."""
    truth: dict[str, Any] = {
        "invoice_number": inv.number.lstrip("#"),
        "invoice_date": inv.issued_iso or None,
        "due_date": inv.due_iso or None,
        "subtotal": inv.subtotal_value,
        "vat": inv.vat_value,
        "total_amount": inv.total_value,
        "currency": inv.currency,
        "supplier": inv.supplier.name,
    }
    for kind, number in inv.payment_truth().items():
        if kind in PAYMENT_FIELDS and PAYMENT_FIELDS[kind] not in truth:
            truth[PAYMENT_FIELDS[kind]] = number
    return {name: value for name, value in truth.items() if value is not None}


# ----------------------------------------------------------------------------------- reading


class Reader:
    """Serving's core, in process, with serving's default settings and the shipped model."""

    def __init__(self, model: Path) -> None:
        from invoice_core.detect.model import load_model  # noqa: PLC0415
        from serving.settings import Settings  # noqa: PLC0415

        self.settings = Settings()
        self.model = load_model(model, intra_op_threads=self.settings.intra_op_threads)

    def read(self, sample: Sample) -> Outcome:
        from invoice_core import Options, read_document  # noqa: PLC0415

        started = time.perf_counter()
        try:
            result = read_document(
                sample.data,
                self.model,
                Options(values=True),
                kind=sample.kind,  # type: ignore[arg-type]
                limits=self.settings.limits,
                policy=self.settings.policy,
            )
            answer = result.values or {}
        except Exception as exc:  # a failure is a result here, reported per page
            return Outcome(
                sample, {}, (time.perf_counter() - started) * 1000, [], [], f"{type(exc).__name__}: {exc}"
            )
        ms = (time.perf_counter() - started) * 1000
        got = {name: f.get("value") for name, f in answer["fields"].items()}
        return Outcome(
            sample, got, ms, answer.get("read", {}).get("sources", []), answer.get("needs_review", [])
        )


# ----------------------------------------------------------------------------------- scoring


def same(name: str, got: Any, want: Any) -> bool:
    """Whether a read value is the truth after normalisation."""
    if got is None:
        return False
    if isinstance(want, float):
        return isinstance(got, int | float) and abs(float(got) - want) < 0.005
    if name in ("payment_reference", "iban", "bankgiro", "plusgiro", "bic"):  # compared compact
        return _compact(got) == _compact(want)
    if name == "supplier":
        return " ".join(str(got).split()).casefold() == " ".join(str(want).split()).casefold()
    return str(got) == str(want)


def _compact(value: Any) -> str:
    return "".join(ch for ch in str(value) if ch.isalnum()).upper()


def score(outcomes: list[Outcome]) -> dict[str, Any]:
    """Per-field accuracy, pages with every key field right, spurious values, failures."""
    fields = KEY_FIELDS + OTHER_FIELDS
    right: Counter[str] = Counter()
    printed: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    missing: Counter[str] = Counter()
    spurious: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    pages_all_key = 0
    for o in outcomes:
        all_key = True
        for name in fields:
            want, got = o.sample.truth.get(name), o.got.get(name)
            if want is None:
                if got is not None:
                    spurious[name] += 1
                    failures.append(
                        {"page": o.sample.name, "field": name, "want": None, "got": got, **o.sample.tags}
                    )
                continue
            printed[name] += 1
            if same(name, got, want):
                right[name] += 1
                continue
            (missing if got is None else wrong)[name] += 1
            if name in KEY_FIELDS:
                all_key = False
            failures.append({"page": o.sample.name, "field": name, "want": want, "got": got, **o.sample.tags})
        pages_all_key += all_key and o.error is None
    per_field = {
        name: {
            "printed": printed[name],
            "right": right[name],
            "wrong": wrong[name],
            "missing": missing[name],
            "spurious": spurious[name],
            "accuracy": right[name] / printed[name] if printed[name] else None,
        }
        for name in fields
    }
    key_printed = sum(printed[n] for n in KEY_FIELDS)
    ms = [o.ms for o in outcomes]
    return {
        "pages": len(outcomes),
        "errors": [{"page": o.sample.name, "error": o.error} for o in outcomes if o.error],
        "per_field": per_field,
        "key_accuracy": sum(right[n] for n in KEY_FIELDS) / key_printed if key_printed else None,
        "pages_all_key_right": pages_all_key,
        "spurious": sum(spurious.values()),
        "failures": failures,
        "ms_p50": statistics.median(ms) if ms else None,
        "sources": dict(Counter(s for o in outcomes for s in o.sources)),
        "by_tag": _by_tag(outcomes),
    }


def _by_tag(outcomes: list[Outcome]) -> dict[str, dict[str, list[int]]]:
    """Key fields right / printed, by layout, degradation, font... (where the misses cluster)."""
    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for o in outcomes:
        for tag, value in o.sample.tags.items():
            for name in KEY_FIELDS:
                if o.sample.truth.get(name) is None:
                    continue
                cell = table[tag][value]
                cell[1] += 1
                cell[0] += same(name, o.got.get(name), o.sample.truth[name])
    return {tag: dict(values) for tag, values in table.items()}


# ----------------------------------------------------------------------------------- report


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def render(results: dict[str, Any], command: str) -> str:
    """docs/extraction.md."""
    sets = results["sets"]
    names = list(sets)
    head = "| field | " + " | ".join(names) + " |\n| --- |" + " --- |" * len(names)
    rows = []
    for name in KEY_FIELDS + OTHER_FIELDS:
        cells = []
        for s in names:
            f = sets[s]["per_field"][name]
            cells.append("-" if not f["printed"] else f"{_pct(f['accuracy'])} ({f['right']}/{f['printed']})")
        key = " **(key)**" if name in KEY_FIELDS else ""
        rows.append(f"| {name}{key} | " + " | ".join(cells) + " |")
    summary = []
    for s in names:
        r = sets[s]
        verdict = (
            "meets"
            if r["key_accuracy"] is not None
            and r["key_accuracy"] >= TARGET_KEY_ACCURACY
            and not r["spurious"]
            else "misses"
        )
        summary.append(
            f"| {s} | {r['pages']} | {_pct(r['key_accuracy'])} | {r['pages_all_key_right']}/{r['pages']} |"
            f" {r['spurious']} | {len(r['errors'])} | {r['ms_p50']:.0f} | {verdict} |"
        )
    failures = []
    for s in names:
        for f in sets[s]["failures"][:12]:
            extra = ", ".join(f"{k}={v}" for k, v in f.items() if k not in ("page", "field", "want", "got"))
            failures.append(f"| {s} | {f['page']} | {f['field']} | `{f['want']}` | `{f['got']}` | {extra} |")
    tags = []
    held = sets.get("held_out", {}).get("by_tag", {})
    for tag, values in held.items():
        cells = ", ".join(f"{v} {r}/{n}" for v, (r, n) in sorted(values.items()))
        tags.append(f"- **{tag}**: {cells}")
    return f"""# Reading invoices: how often each value comes out right

Produced by `{command}` on {results["machine"]} ({results["date"]}); {results["seconds"]:.0f} s in all.
The shipped model (`models/demo`, version `{results["model_version"]}`) and serving's default
settings; each page goes through the same core as `POST /infer` (decode or render, detect, read).

A value is **right** when it equals the truth the generator printed, after normalisation (dates ISO
8601, amounts as numbers within half a cent, references without spaces). **Spurious**: a value for a
field the page does not print. Key fields: {", ".join(KEY_FIELDS)}; target >= {TARGET_KEY_ACCURACY:.0%}
right on layouts the detector never trained on, and no spurious value.

- **held_out**: layout families, payment variants, wordings and fonts held out of the detector's
  training (`devkit/synth/families.py`), in every scan profile, sent as JPEG.
- **in_family**: the training families on seeds no training set uses.
- **pdf**: born-digital PDFs of the held-out families, read through their text layer.

| set | pages | key fields right | pages, all key fields right | spurious | errors | p50 ms/page | target |
| --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(summary)}

## Per field

{head}
{chr(10).join(rows)}

## Where the held-out misses are (key fields right / printed)

{chr(10).join(tags) or "-"}

## What still fails (first examples per set)

| set | page | field | truth | read | page traits |
| --- | --- | --- | --- | --- | --- |
{chr(10).join(failures) or "| - | - | - | - | - | - |"}

Latency per page here is a note (this machine is shared and noisy): the side-by-side timings are
the next section's (`python -m bench.read_speed`).
"""


def run(quick: bool = False) -> dict[str, Any]:
    """Make the sets, read them, score, write the report."""
    started = time.monotonic()
    counts = {k: max(4, v // 4) if quick else v for k, v in FULL.items()}
    reader = Reader(MODEL)
    sources: dict[str, Callable[[], Iterator[Sample]]] = {
        "held_out": lambda: scans("held_out", counts["held_out"], SEED_BASE["held_out"]),
        "in_family": lambda: scans("train", counts["in_family"], SEED_BASE["in_family"]),
        "pdf": lambda: pdfs(counts["pdf"], SEED_BASE["pdf"]),
    }
    sets: dict[str, Any] = {}
    for name, make in sources.items():
        outcomes = []
        for i, sample in enumerate(make(), start=1):
            outcomes.append(reader.read(sample))
            if i % 10 == 0 or i == counts[name]:
                print(f"  {name}: {i}/{counts[name]} pages", flush=True)
        sets[name] = score(outcomes)
        print(f"  {name}: key fields right {_pct(sets[name]['key_accuracy'])}", flush=True)
    results = {
        "sets": sets,
        "counts": counts,
        "model_version": reader.model.info.version,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPU cores",
        "date": time.strftime("%Y-%m-%d"),
        "seconds": time.monotonic() - started,
    }
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "extraction.json").write_text(json.dumps(results, indent=1, default=str))
    command = "make bench-extraction" + (" (--quick)" if quick else "")
    # The speed section is bench.read_speed's: keep it when the accuracy part is rewritten.
    before = DOC.read_text(encoding="utf-8") if DOC.is_file() else ""
    speed = before[before.find(SPEED_SECTION) :] if SPEED_SECTION in before else ""
    DOC.write_text(render(results, command) + ("\n" + speed if speed else ""), encoding="utf-8")
    print(f"extraction -> {DOC.relative_to(REPO)}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    run(quick=parser.parse_args().quick)


if __name__ == "__main__":
    main()
