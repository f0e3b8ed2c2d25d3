"""Words + the detector's regions -> checked field values: the JSON-ready answer of POST /infer.

`read_invoice(words, regions)` is the one entry point. The text step (OCR or a PDF's text layer)
supplies `Word`s in page pixels; the detector's boxes become `Region`s in the same pixels (see
`invoice_core.read.words.regions_from`). The answer:

    {"fields": {name: {"value", "text", "confidence", "page", "box", "source", "evidence", ...}},
     "checks": {"amounts_add_up", "due_after_issue", "line_items_add_up"},
     "needs_review": [field names]}

- A field the page does not print is absent. `confidence`: the lowest recogniser confidence of the
  value's words, times the region's score when only the detector (no label) vouches for it (and for
  the text blocks read from a region: supplier, customer_address, line_items).
- `evidence`: "label+detector", "label" or "detector" ("from total_amount" for a derived currency).
- supplier: the first line of its region (a logo's initials dropped), `address` the rest; with no
  region it is absent (no label names it). customer_address: its region's lines less the heading
  and look-alike lines, or without a region the lines under a heading ("Faktureringsadress", "Bill
  to"). line_items: rows of the line_items region(s); that region's words are left out of the label
  search (its column headers "Total", "Moms" are not field labels) unless another region holds them.
- currency: a "Valuta"/"Currency" label, else the total's (then subtotal's, VAT's) currency; amounts
  printed without one inherit it. "kr" alone is SEK.
- `valid` (references, giro numbers, IBAN, BIC): the check digit holds; null where the kind has no
  check (a free-text reference). A value that fails is kept with `valid: false`.
- A check is null when a part of it is not printed: amounts_add_up needs subtotal, VAT and total;
  due_after_issue both dates; line_items_add_up rows and a subtotal.
- needs_review: fields that fail their own check, the fields of a failed cross-check, and date fields
  whose label is printed with a date that does not exist (the field itself is then absent).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from invoice_contracts.fields import names, spec
from invoice_core.read import checks
from invoice_core.read.blocks import evidence_json, line_items, outside_items, text_block
from invoice_core.read.candidates import AMOUNT_FIELDS, DATE_FIELDS, Candidate, best, deconflict
from invoice_core.read.labels import PageText, Unreadable, label_candidates
from invoice_core.read.lexicon import fold
from invoice_core.read.normalise import parse_date
from invoice_core.read.regions import apply_regions
from invoice_core.read.words import Region, Word


def read_invoice(words: Sequence[Word], regions: Sequence[Region] = ()) -> dict[str, Any]:
    """The answer for one document's words (all pages) and detections."""
    # NFKC: a text layer's ligatures ("ﬁ"), decomposed letters ("o" + U+0308) and odd spaces read as typed
    words = [replace(w, text=unicodedata.normalize("NFKC", w.text)) for w in words]
    pages = sorted({w.page for w in words})
    by_page = {p: [w for w in words if w.page == p] for p in pages}
    texts = {p: PageText.of(outside_items(by_page[p], regions)) for p in pages}

    def collect(day_first: bool) -> tuple[list[Candidate], list[Unreadable]]:
        found: list[Candidate] = []
        lost: list[Unreadable] = []
        for p in pages:
            cands, unreadable = label_candidates(texts[p], day_first=day_first)
            page_regions = [r for r in regions if r.page == p]
            found += apply_regions(deconflict(cands), page_regions, by_page[p], day_first=day_first)
            lost += unreadable
        return found, lost

    candidates, unreadable = collect(day_first=True)
    day_first = not any(c.field in DATE_FIELDS and c.extra.get("order") == "mdy" for c in candidates)
    if not day_first:  # one of the document's dates can only be month-first (04/22/2026): read them all so
        candidates, unreadable = collect(day_first=False)
    chosen = best(candidates)
    if (
        day_first
        and all(name in chosen and _either_way(chosen[name]) for name in DATE_FIELDS)
        and any(chosen[name].extra.get("ambiguous") for name in DATE_FIELDS)
    ):
        # both dates read either way: month-first when day-first puts the due date first, or when
        # only month-first gives the printed payment terms ("60 days net") or a plausible term
        other, other_unreadable = collect(day_first=False)
        other_chosen = best(other)
        if _month_first_fits(chosen, other_chosen, _terms_days(texts.values())):
            candidates, unreadable, chosen = other, other_unreadable, other_chosen

    fields: dict[str, dict[str, Any]] = {name: _value_json(c) for name, c in chosen.items()}
    for name in ("supplier", "customer_address"):
        block = text_block(name, regions, by_page, texts)
        if block:
            fields[name] = block
    items = line_items(regions, by_page)
    if items:
        fields["line_items"] = items
    _currency(fields)

    review: set[str] = {name for name, f in fields.items() if f.get("valid") is False}
    review |= {u.field for u in unreadable if u.field not in fields}
    value = {name: f["value"] for name, f in fields.items() if name != "line_items"}
    result = {
        "amounts_add_up": checks.amounts_add_up(
            value.get("subtotal"), value.get("vat"), value.get("total_amount")
        ),
        "due_after_issue": checks.due_after_issue(value.get("invoice_date"), value.get("due_date")),
        "line_items_add_up": checks.items_add_up(
            [row["amount"] for row in fields["line_items"]["value"]] if items else [], value.get("subtotal")
        ),
    }
    if result["amounts_add_up"] is False:
        review |= set(AMOUNT_FIELDS)
    if result["due_after_issue"] is False:
        review |= set(DATE_FIELDS)
    if result["line_items_add_up"] is False:
        review |= {"line_items", "subtotal"}
    order = names()  # the field registry's order
    ordered = {name: fields[name] for name in order if name in fields}
    return {"fields": ordered, "checks": result, "needs_review": [n for n in order if n in review]}


# "30 dagar netto", "Netto 30 dagar", "14 days net", "Net 14 days"; or "N days" on a terms label's line
TERMS = re.compile(r"(?<![\w.,])(?:net(?:to)?\s*)?(\d{1,3})\s*(?:dagar|days|dgr)(\s*net(?:to)?)?(?!\w)", re.I)
TERMS_LABEL = re.compile(r"(?<!\w)(?:(?:payment\s*)?terms|(?:betalnings)?villkor)(?!\w)", re.I)
MAX_TERM_DAYS = 90  # invoices are rarely due more than three months after issue


def _terms_days(pages: Iterable[PageText]) -> set[int]:
    """The payment terms printed on the document, in days (not "Training course, 2 days")."""
    out: set[int] = set()
    for page in pages:
        for line in page.lines:
            text = " ".join(run.text for run in line.runs)
            on_terms_line = TERMS_LABEL.search(text) is not None
            for m in TERMS.finditer(text):
                if on_terms_line or m.group(2) or fold(m.group(0)).startswith("net"):
                    out.add(int(m.group(1)))
    return out


def _either_way(cand: Candidate) -> bool:
    """A numeric date that reads as a date both day- and month-first (03/04/2026, also 03/03/2026);
    not 22/04/2026, which `parse_date` reads day-first whichever order it is asked for."""
    if "order" not in cand.extra:
        return False
    other = parse_date(cand.text, day_first=cand.extra["order"] != "dmy")
    return other is not None and other.extra.get("order") != cand.extra["order"]


def _gap(chosen: dict[str, Candidate]) -> int | None:
    if not all(name in chosen for name in DATE_FIELDS):
        return None
    issued, due = (dt.date.fromisoformat(chosen[name].parsed.value) for name in DATE_FIELDS)
    return (due - issued).days


def _month_first_fits(
    day_first: dict[str, Candidate], month_first: dict[str, Candidate], terms: set[int]
) -> bool:
    """Whether two ambiguous dates read month-first: day-first puts the due date before the invoice
    date and month-first does not; or only month-first gives a printed term; or, no term deciding,
    only month-first is due within MAX_TERM_DAYS (04/11 -> 06/01 is 51 days, not 325)."""
    a, b = _gap(day_first), _gap(month_first)
    if a is None or b is None or b < 0:
        return False
    if a < 0:
        return True
    if (a in terms) != (b in terms):
        return b in terms
    return a > MAX_TERM_DAYS and b <= MAX_TERM_DAYS


# --- value fields -----------------------------------------------------------------------------------------


def _value_json(cand: Candidate) -> dict[str, Any]:
    words = cand.words
    confidence = min(w.confidence for w in words)
    if cand.relation == "region" and cand.region is not None:
        confidence *= cand.region.confidence
    out: dict[str, Any] = {"value": cand.parsed.value}
    out |= evidence_json(words, cand.box, cand.run.page, cand.text, confidence)
    out["evidence"] = (
        "detector" if cand.label is None else "label+detector" if cand.region is not None else "label"
    )
    if cand.label is not None:
        out["label"] = cand.label
    if cand.field in AMOUNT_FIELDS and "currency" in cand.extra:
        out["currency"] = cand.extra["currency"]
    if cand.field in DATE_FIELDS and cand.extra.get("ambiguous"):
        out["ambiguous"] = True  # day and month both <= 12: read by the page's day/month rule
    check = field_spec.check if (field_spec := spec(cand.field)) is not None else None
    if check == "reference":  # which check a reference has depends on its kind (OCR, RF, free text)
        kind = cand.extra.get("kind", "reference")
        out["kind"] = kind
        out["valid"] = checks.CHECKS[kind](cand.parsed.value) if kind in checks.CHECKS else None
    elif check is not None:  # a giro number is checked on its digits, without its hyphen
        out["valid"] = checks.CHECKS[check](cand.extra.get("digits", cand.parsed.value))
    return out


def _currency(fields: dict[str, dict[str, Any]]) -> None:
    """The document's currency: a Valuta/Currency label, else the total's (then subtotal's, VAT's);
    amounts printed without one inherit it."""
    if "currency" not in fields:
        for name in ("total_amount", "subtotal", "vat"):
            if "currency" in fields.get(name, {}):
                source = fields[name]
                fields["currency"] = {
                    "value": source["currency"],
                    **{k: source[k] for k in ("text", "confidence", "page", "box", "source")},
                    "evidence": f"from {name}",
                }
                break
    if "currency" in fields:
        for name in AMOUNT_FIELDS:
            if name in fields:
                fields[name].setdefault("currency", fields["currency"]["value"])
