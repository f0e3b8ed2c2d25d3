"""Reading accuracy on real invoices: the corpus under corpus/real-invoices, scored field by field.

    python -m bench.realeval [--corpus corpus/real-invoices] [--out FILE] [--model models/demo/model.onnx]

Each document of the corpus's `truth.json` goes through the reader (serving's core, in process)
and its `fields` answer is compared with the values the page prints (`same_value`). A truth
field is right, wrong (answered with another value) or missed; a key field answered where the
truth lists none is spurious (the truth leaves a field out when the page does not print it or
it is ambiguous). Prints a progress line per document and the "Real invoices" markdown section.
"""

from __future__ import annotations

import argparse
import json
import math
import mimetypes
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from invoice_contracts import fields as registry

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus" / "real-invoices"
MODEL = REPO / "models" / "demo" / "model.onnx"
KEY_FIELDS = registry.key_fields()
# The order of the per-field table after the key fields (others follow alphabetically).
OTHER_FIELDS = (
    "subtotal",
    "vat",
    "currency",
    "iban",
    "bic",
    "bankgiro",
    "plusgiro",
    "supplier",
    "customer_address",
)
DATE_FIELDS = frozenset({"invoice_date", "due_date"})
AMOUNT_FIELDS = frozenset({"total_amount", "subtotal", "vat"})
COMPACT_FIELDS = frozenset({"iban", "bic", "payment_reference", "bankgiro", "plusgiro"})
AMOUNT_TOLERANCE = 0.005
# Legal-form words a supplier name may end with or leave out ("Contoso, Ltd." is "CONTOSO"). Dotted
# forms are matched with their dots dropped ("B.V." -> "bv", "Pvt." -> "pvt").
LEGAL_FORMS = frozenset(
    {
        "ab", "ag", "as", "asa", "bv", "bvba", "co", "company", "corp", "corporation", "eurl", "gmbh",
        "inc", "incorporated", "kb", "kg", "limited", "llc", "llp", "lp", "ltd", "nv", "oy", "oyj",
        "plc", "pte", "pty", "pvt", "sa", "sarl", "sas", "sasu", "se", "spa", "srl", "ug",
    }
)  # fmt: skip
MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".gif": "image/gif",
    ".xml": "application/xml",
}

Reader = Callable[[bytes, str], dict[str, Any]]


# ----------------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class TruthDoc:
    """One document of the corpus: its file, where it comes from and the values its page prints."""

    file: Path
    layout: str  # its source (invoice2data, azure-samples, ...): the per-source breakdown
    lang: str
    kind: str  # pdf_text | image
    fields: dict[str, Any]


def load_truth(corpus_dir: Path) -> list[TruthDoc]:
    """The documents of `corpus_dir/truth.json`, in its order, with paths under `corpus_dir/files`."""
    pages = json.loads((corpus_dir / "truth.json").read_text(encoding="utf-8"))["pages"]
    return [
        TruthDoc(
            file=corpus_dir / "files" / page["file"],
            layout=page.get("layout", "unknown"),
            lang=page.get("lang", ""),
            kind=page.get("kind", ""),
            fields=dict(page.get("fields", {})),
        )
        for page in pages
    ]


def media_type_of(path: Path | str) -> str:
    """The media type a client would send the file as, from its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in MEDIA_TYPES:
        return MEDIA_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(str(path))
    return guessed or "application/octet-stream"


# ----------------------------------------------------------------------------------- comparing


def same_value(field: str, got: Any, want: Any) -> bool:
    """Whether the value read (`got`) is the truth (`want`) for `field`, normalised fairly.

    Strings are NFKC-normalised and trimmed first; an absent or empty `got` is never right.
    - invoice_date, due_date: the same calendar date, both read as ISO 8601 (a time part is dropped).
    - total_amount, subtotal, vat (and any field whose truth is a number): float(got) differs from
      the truth by less than 0.005 (half a cent); a value float() refuses is wrong.
    - currency: equal upper-cased ("eur" is "EUR").
    - iban, bic, payment_reference, bankgiro, plusgiro: equal compact: spaces and hyphens removed,
      case-folded ("FR76 1010 ..." is "FR761010...", "123-4567" is "1234567").
    - invoice_number: case-folded with whitespace removed ("inv 100" is "INV100": OCR splits
      tokens, and a payer types the number without spaces); every other character counts, so
      "INV-100" is not "INV100" and "INV/2023/03/0008" not "INV2023030008": hyphens, slashes,
      underscores and dots are part of how the supplier matches a payment, and a reader that drops
      or adds one (or a "#" or "No." from the label) gave another number.
    - supplier, customer_address: case-folded, dots and apostrophes dropped, other punctuation
      read as spaces, spaces collapsed. Right when the got value equals the truth (also with
      all spaces removed: "Quality Hosting AG" is "QualityHosting AG") or contains it as whole
      words (a supplier line that carries the address or a "Sold by" still names the supplier).
      For supplier, trailing legal-form words are dropped before the equality ("CONTOSO LTD."
      is "Contoso Ltd" is "Contoso, Ltd." is "CONTOSO"), and the name without its legal form may
      be the contained part too when it keeps two words or more ("Amazon Web Services, Inc." is
      in "sold by Amazon Web Services"); a one-word name must then be contained with its legal form,
      so "Free Service Abonné" is not "Free SAS" and "Contoso Headquarters" is not "CONTOSO
      LTD." (but is "Contoso"). A got value that is only part of the name ("amazon") is wrong.
    - anything else: equal after normalisation.
    """
    if got is None or (isinstance(got, str) and not got.strip()):
        return False
    if field in DATE_FIELDS:
        got_date, want_date = _iso_date(got), _iso_date(want)
        return got_date is not None and got_date == want_date
    if field in AMOUNT_FIELDS or _is_number(want):
        got_amount, want_amount = _amount(got), _amount(want)
        return (
            got_amount is not None
            and want_amount is not None
            and abs(got_amount - want_amount) < AMOUNT_TOLERANCE
        )
    if field == "currency":
        return _text(got).upper() == _text(want).upper()
    if field in COMPACT_FIELDS:
        return _compact(got) == _compact(want)
    if field == "invoice_number":
        return "".join(_text(got).split()).casefold() == "".join(_text(want).split()).casefold()
    if field == "supplier":
        got_words, want_words = _words(got), _words(want)
        got_name, want_name = _without_legal_form(got_words), _without_legal_form(want_words)
        return (
            _same_words(got_name, want_name)
            or _contains(got_words, want_words)
            or (len(want_name) > 1 and _contains(got_words, want_name))
        )
    if field == "customer_address":
        got_words, want_words = _words(got), _words(want)
        return _same_words(got_words, want_words) or _contains(got_words, want_words)
    return _text(got) == _text(want)


def _text(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _amount(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _iso_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def _compact(value: Any) -> str:
    return re.sub(r"[\s\-]+", "", _text(value)).casefold()


def _words(value: Any) -> list[str]:
    text = re.sub(r"[.'’]", "", _text(value).casefold())
    return re.sub(r"[\W_]+", " ", text).split()


def _without_legal_form(words: list[str]) -> list[str]:
    kept = list(words)
    while len(kept) > 1 and kept[-1] in LEGAL_FORMS:
        kept.pop()
    return kept


def _same_words(got: list[str], want: list[str]) -> bool:
    return bool(got) and bool(want) and (got == want or "".join(got) == "".join(want))


def _contains(got: list[str], want: list[str]) -> bool:
    return bool(got) and bool(want) and f" {' '.join(want)} " in f" {' '.join(got)} "


# ----------------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class DocScore:
    """One document's fields: each truth field's outcome (right | wrong | missed), what was read,
    the truth, and the key fields answered that the truth does not list (spurious)."""

    outcome: dict[str, str]
    got: dict[str, Any]
    want: dict[str, Any]
    spurious: dict[str, Any]

    def names(self, outcome: str) -> list[str]:
        """The truth fields with that outcome."""
        return [name for name, result in self.outcome.items() if result == outcome]

    @property
    def key_total(self) -> int:
        """Key fields the page prints."""
        return sum(1 for name in self.outcome if name in KEY_FIELDS)

    @property
    def key_right(self) -> int:
        """Key fields read right."""
        return sum(1 for name, result in self.outcome.items() if name in KEY_FIELDS and result == "right")

    @property
    def complete(self) -> bool:
        """Every key field the page prints read right (and it prints at least one)."""
        return self.key_total > 0 and self.key_right == self.key_total


def _value_of(entry: Any) -> Any:
    value = entry.get("value") if isinstance(entry, dict) else entry
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def score(answer_fields: dict[str, dict], truth_fields: dict[str, Any]) -> DocScore:
    """Score the reader's `fields` object (`{name: {"value": ...}}`) against one document's truth."""
    outcome: dict[str, str] = {}
    got: dict[str, Any] = {}
    want: dict[str, Any] = {}
    for name, truth in truth_fields.items():
        if truth is None:
            continue
        value = _value_of(answer_fields.get(name))
        want[name] = truth
        if value is None:
            outcome[name] = "missed"
            continue
        got[name] = value
        outcome[name] = "right" if same_value(name, value, truth) else "wrong"
    spurious = {
        name: value
        for name in KEY_FIELDS
        if name not in want and (value := _value_of(answer_fields.get(name))) is not None
    }
    return DocScore(outcome=outcome, got=got, want=want, spurious=spurious)


@dataclass(frozen=True)
class DocResult:
    """One document read and scored; `error` is the read's exception (all its fields then missed)."""

    doc: TruthDoc
    score: DocScore
    seconds: float
    error: str | None = None


@dataclass
class Tally:
    """Counts over a set of documents (one source, or all)."""

    documents: int = 0
    key_right: int = 0
    key_total: int = 0
    supplier_right: int = 0
    supplier_total: int = 0
    complete: int = 0
    spurious: int = 0
    errors: int = 0
    seconds: float = 0.0

    def add(self, result: DocResult) -> None:
        """Count one document in."""
        s = result.score
        self.documents += 1
        self.key_right += s.key_right
        self.key_total += s.key_total
        if "supplier" in s.outcome:
            self.supplier_total += 1
            self.supplier_right += s.outcome["supplier"] == "right"
        self.complete += s.complete
        self.spurious += len(s.spurious)
        self.errors += result.error is not None
        self.seconds += result.seconds

    @property
    def key_share(self) -> float | None:
        """Key fields right, as a share of those printed."""
        return self.key_right / self.key_total if self.key_total else None

    @property
    def supplier_share(self) -> float | None:
        """Suppliers right, as a share of those printed."""
        return self.supplier_right / self.supplier_total if self.supplier_total else None

    @property
    def seconds_per_document(self) -> float | None:
        """Mean read time."""
        return self.seconds / self.documents if self.documents else None


@dataclass
class FieldTally:
    """One field's outcomes over the corpus."""

    right: int = 0
    wrong: int = 0
    missed: int = 0
    spurious: int = 0

    @property
    def total(self) -> int:
        """Documents whose truth has the field."""
        return self.right + self.wrong + self.missed


@dataclass(frozen=True)
class Failure:
    """A field not read right: `kind` is wrong, missed or spurious (want None: not printed)."""

    file: str
    field: str
    kind: str
    want: Any
    got: Any


@dataclass
class Report:
    """The corpus's results: overall, per source (layout), per field, and every failure."""

    results: list[DocResult]
    overall: Tally
    by_source: dict[str, Tally]
    by_field: dict[str, FieldTally]
    failures: list[Failure] = field(default_factory=list)

    @property
    def errors(self) -> list[tuple[str, str]]:
        """(file, error) of each document whose read raised."""
        return [(r.doc.file.name, r.error) for r in self.results if r.error is not None]


def _field_order(names: set[str]) -> list[str]:
    known = KEY_FIELDS + OTHER_FIELDS
    return [n for n in known if n in names] + sorted(names - set(known))


def report_of(results: list[DocResult]) -> Report:
    """Tally scored documents into a Report."""
    overall = Tally()
    by_source: dict[str, Tally] = {}
    by_field: dict[str, FieldTally] = {}
    failures: list[Failure] = []
    for result in results:
        overall.add(result)
        by_source.setdefault(result.doc.layout, Tally()).add(result)
        s = result.score
        for name in _field_order(set(s.outcome) | set(s.spurious)):
            tally = by_field.setdefault(name, FieldTally())
            if name in s.spurious:
                tally.spurious += 1
                failures.append(Failure(result.doc.file.name, name, "spurious", None, s.spurious[name]))
                continue
            kind = s.outcome[name]
            setattr(tally, kind, getattr(tally, kind) + 1)
            if kind != "right":
                failures.append(Failure(result.doc.file.name, name, kind, s.want[name], s.got.get(name)))
    ordered = {name: by_field[name] for name in _field_order(set(by_field))}
    return Report(results, overall, dict(sorted(by_source.items())), ordered, failures)


def evaluate(read: Reader, corpus_dir: Path, *, progress: Callable[[str], None] | None = None) -> Report:
    """Read every document of the corpus with `read(data, media_type)` (the reader's JSON answer,
    with "fields") and score it; a read that raises counts with all its fields missed."""
    docs = load_truth(corpus_dir)
    results: list[DocResult] = []
    for number, doc in enumerate(docs, start=1):
        data = doc.file.read_bytes()
        started = time.perf_counter()
        error = None
        try:
            answer = read(data, media_type_of(doc.file))
            fields = answer.get("fields") or {}
        except Exception as exc:  # a failure is a result here, reported per document
            fields, error = {}, f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - started
        result = DocResult(doc, score(fields, doc.fields), seconds, error)
        results.append(result)
        if progress is not None:
            progress(_progress_line(number, len(docs), result))
    return report_of(results)


def _progress_line(number: int, count: int, result: DocResult) -> str:
    s = result.score
    supplier = {"right": "ok", None: "-"}.get(s.outcome.get("supplier"), "no")
    line = (
        f"[{number:>2}/{count}] {result.doc.file.name:<34} key {s.key_right}/{s.key_total}"
        f"  supplier {supplier}  spurious {len(s.spurious)}  {result.seconds:.1f} s"
    )
    return f"{line}  ERROR {result.error}" if result.error else line


# ----------------------------------------------------------------------------------- the report


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "-"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    text = " ".join(str(value).split())
    text = text if len(text) <= 60 else text[:57] + "..."
    return text.replace("|", "\\|")


def to_markdown(report: Report, *, max_failures: int = 15) -> str:
    """The "Real invoices" section: headline figures, per-source and per-field tables, failures."""
    o = report.overall
    key_pct = f"{100 * o.key_share:.0f}%" if o.key_share is not None else "-"
    supplier_pct = f"{100 * o.supplier_share:.0f}%" if o.supplier_share is not None else "-"
    spd = f"{o.seconds_per_document:.1f} s" if o.seconds_per_document is not None else "-"
    lines = [
        "## Real invoices",
        "",
        f"- Key fields right: **{key_pct}** ({o.key_right} of {o.key_total}; {', '.join(KEY_FIELDS)})",
        f"- Supplier right: {supplier_pct} ({o.supplier_right} of {o.supplier_total})",
        f"- Documents complete (every key field printed read right): {o.complete} of {o.documents}",
        f"- Spurious key values (answered where the truth lists none): {o.spurious}",
        f"- Reads that raised: {o.errors}; seconds per document: {spd}",
        "",
        "### Per source",
        "",
        "| Source | Docs | Key fields | Supplier | Complete | Spurious | s/doc |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, t in report.by_source.items():
        lines.append(
            f"| {name} | {t.documents} | {_share(t.key_right, t.key_total)} | "
            f"{_share(t.supplier_right, t.supplier_total)} | {t.complete}/{t.documents} | {t.spurious} | "
            f"{t.seconds_per_document or 0:.1f} |"
        )
    lines += [
        "",
        "### Per field",
        "",
        "| Field | Right | Wrong | Missed | Spurious |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, f in report.by_field.items():
        label = f"**{name}**" if name in KEY_FIELDS else name
        lines.append(f"| {label} | {_share(f.right, f.total)} | {f.wrong} | {f.missed} | {f.spurious} |")
    if report.errors:
        lines += ["", "### Reads that raised", ""]
        lines += [f"- `{file}`: {_cell(error)}" for file, error in report.errors]
    shown = report.failures[:max_failures]
    lines += ["", f"### Failures (first {len(shown)} of {len(report.failures)})", ""]
    if shown:
        lines += ["| File | Field | Kind | Want | Got |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {f.file} | {f.field} | {f.kind} | {_cell(f.want)} | {_cell(f.got)} |" for f in shown]
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------- the reader


def default_reader(model_path: Path) -> tuple[Reader, str]:
    """Serving's core, in process, as `read(data, media_type) -> answer`: the front door
    (`invoice_core.read_document`) with serving's default settings; and a line saying so."""
    import platform  # noqa: PLC0415

    from invoice_core import Options, read_document, render_json  # noqa: PLC0415
    from invoice_core.detect.model import load_model  # noqa: PLC0415
    from serving.settings import Settings  # noqa: PLC0415

    settings = Settings()
    model = load_model(model_path, intra_op_threads=settings.intra_op_threads)

    def read(data: bytes, media_type: str) -> dict[str, Any]:
        del media_type  # the core tells a PDF by its bytes, as the queue worker does
        result = read_document(data, model, Options(), limits=settings.limits, policy=settings.policy)
        return render_json(result)

    provenance = (
        f"read by `invoice_core.read_document` with model `{model_path.name}` "
        f"({model.info.version}), {settings.intra_op_threads} ONNX threads, "
        f"{settings.policy.ocr_threads} OCR threads, on {platform.machine()} "
        f"(Python {platform.python_version()})"
    )
    return read, provenance


def main(argv: list[str] | None = None) -> int:
    """The CLI: read the corpus, print progress and the markdown, optionally write it to --out."""
    parser = argparse.ArgumentParser(prog="python -m bench.realeval", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="corpus folder (truth.json, files/)")
    parser.add_argument("--out", type=Path, default=None, help="write the markdown here too")
    parser.add_argument("--model", type=Path, default=MODEL, help="ONNX model")
    parser.add_argument("--max-failures", type=int, default=15, help="failures listed in the markdown")
    args = parser.parse_args(argv)
    read, provenance = default_reader(args.model)
    report = evaluate(read, args.corpus, progress=lambda line: print(line, file=sys.stderr, flush=True))
    markdown = to_markdown(report, max_failures=args.max_failures)
    markdown += f"\n_{len(report.results)} documents {provenance}._\n"
    print(markdown)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(markdown, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
