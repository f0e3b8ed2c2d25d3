"""The detector's regions: what a proposed box adds to the label words.

A labelled value inside a region of the same class, or of a class only the label words tell apart
from it (the two dates, the field registry's row `shape`: a date under "Förfallodatum" in an
`invoice_date` box is the due date), gains the detector's support; inside a region of another
class the label decides and the region adds nothing. A region with no labelled value in it
proposes its own words for its class (weaker than any labelled value). A line of the supplier's
or customer's address block is never the value of a label outside that block (unless it is the
whole cell on the label's own line: a value column the detector took for an address).
A payment block proposes only numbers that prove what they are: an IBAN (mod 97), a Bankgiro
(123-4567, Luhn), a BIC beside an IBAN of its country, and as the payment reference an RF
reference or the block's one plain number with a Luhn check digit (never an IBAN's first group).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from invoice_contracts.fields import shape_of
from invoice_core.read import checks
from invoice_core.read.candidates import AGREE, REGION_ONLY, TEXT_FIELDS, Candidate, parser_for
from invoice_core.read.lexicon import find_labels
from invoice_core.read.normalise import Parsed, clean, parse_alnum, parse_date
from invoice_core.read.words import Region, Run, Word, lines_of


def apply_regions(
    candidates: list[Candidate], regions: Sequence[Region], words: Sequence[Word], *, day_first: bool
) -> list[Candidate]:
    """Regions support labelled values of their class, or propose their own words when none is labelled."""
    out = [c for c in candidates if not _across_blocks(c, regions)]
    for region in regions:
        if region.name in TEXT_FIELDS:
            continue
        inside = [w for w in words if region.holds(w)]
        if not inside:
            continue
        ids = {id(w) for w in inside}
        labelled = [c for c in out if c.region is None and any(id(w) in ids for w in c.words)]
        for cand in labelled:
            if shape_of(cand.field) == shape_of(region.name):
                cand.score += AGREE
                cand.region = region
        if region.name == "payment_reference":
            out += _payment_numbers(region, inside, out)
            # a payment block's labelled IBAN or look-alike ("Account no.") says what those numbers
            # are, not what the block's unlabelled number is: only a labelled reference decides that
            if any(c.field == "payment_reference" for c in labelled):
                continue
            own = _block_reference(region, inside, out)
            if own is not None:
                out.append(own)
            continue
        if labelled:
            continue  # the label words decide what this region's words are
        own = _region_value(region, inside, day_first=day_first)
        if own is not None:
            out.append(own)
    return out


BANKGIRO_SHAPE = re.compile(r"\d{3,4}-\d{4}")  # as Bankgirot prints them; Plusgiro ends "-N"


def _payment_numbers(region: Region, inside: list[Word], claimed: list[Candidate]) -> list[Candidate]:
    """Payment numbers that prove what they are, in a payment block whose label beside them was not
    read: an IBAN (country format and mod 97), a Bankgiro number (123-4567, Luhn), and a BIC of the
    IBAN's country. Only for a field no label found, and only words no label claimed."""
    have = {c.field for c in claimed}
    found: dict[str, Candidate] = {}
    for run in _free_runs(inside, claimed):
        text = clean(run.text).strip(" :")
        start = clean(run.text).index(text) if text else 0
        compact = text.replace(" ", "").upper()
        value: Parsed | None = None
        name = ""
        if checks.looks_like_iban(compact) and checks.iban_number(compact):
            name, value = "iban", Parsed(compact, start, start + len(text), {})
        elif BANKGIRO_SHAPE.fullmatch(text) and checks.bankgiro(text.replace("-", "")):
            digits = text.replace("-", "")
            name, value = (
                "bankgiro",
                Parsed(checks.show_bankgiro(digits), start, start + len(text), {"digits": digits}),
            )
        elif checks.looks_like_bic(compact) and " " not in text and checks.bic_code(compact):
            name, value = "bic", Parsed(compact, start, start + len(text), {})
        if value is None or name in have or name in found:
            continue
        found[name] = _region_only(name, value, run, region)
    if "bic" in found:
        iban = found.get("iban") or next((c for c in claimed if c.field == "iban"), None)
        if iban is None or iban.parsed.value[:2] != found["bic"].parsed.value[4:6]:
            del found["bic"]  # a word of eight capitals is a BIC only beside an IBAN of its country
    return list(found.values())


def _across_blocks(cand: Candidate, regions: Sequence[Region]) -> bool:
    """A value inside the supplier's or customer's address block, its label outside: a line of the
    address that happens to sit beside (or under) a label of another column."""
    if cand.label_box is None:
        return False
    if cand.relation in ("inline", "right") and cand.text.strip(" :#") == cand.run.text.strip(" :#"):
        return False  # a value that is its whole cell, on its label's line: a value column, not an address
    return any(
        region.name in ("supplier", "customer_address")
        and all(region.holds(w) for w in cand.words)
        and not (region.page == cand.run.page and region.box.contains_centre(cand.label_box))
        for region in regions
    )


PLAIN_NUMBER = re.compile(r"\d[\d ]*\d")  # digits, maybe grouped by spaces: no hyphen, letter or mark


def _unlabelled_reference(
    runs: list[Run], invoice_digits: frozenset[str], region: Region
) -> Candidate | None:
    """A payment block's number with no label read beside it is the payment reference only when it
    carries its own proof and nothing else could be it: an RF reference (mod 97), or the block's one
    number printed as plain digits (a Bankgiro 123-4567 or Plusgiro 12345-6 is hyphenated, an IBAN
    has letters, an amount a decimal mark) when its last digit is a Luhn check digit. Or the block's
    one plain number that repeats the digits of the labelled invoice number (F2021558 -> 2021558):
    many suppliers ask for the invoice number as the payment's reference, and the label proves it."""
    plain: list[tuple[Run, str]] = []
    for run in runs:
        text = clean(run.text).strip(" :#")
        alnum = parse_alnum(text, max_len=25)
        if alnum and alnum.value.startswith("RF") and checks.rf_reference(alnum.value):
            return _whole(run, text, alnum.value, "rf", region)
        if PLAIN_NUMBER.fullmatch(text) and len(text.replace(" ", "")) >= 4 and parse_date(text) is None:
            plain.append((run, text))
    repeated = [(run, text) for run, text in plain if text.replace(" ", "") in invoice_digits]
    if len(repeated) == 1:
        run, text = repeated[0]
        return _whole(run, text, text.replace(" ", ""), "reference", region)
    plain = [(run, text) for run, text in plain if len(text.replace(" ", "")) >= 5]
    if len(plain) != 1:
        return None  # two plain numbers (a Bankgiro read without its hyphen, say): which is which?
    run, text = plain[0]
    digits = text.replace(" ", "")
    return _whole(run, text, digits, "ocr", region) if checks.ocr_reference(digits) else None


def _free_runs(inside: list[Word], claimed: list[Candidate]) -> list[Run]:
    """A block's runs that no label names and no candidate claims (a labelled IBAN, a look-alike's
    number): what the block may still say about itself."""
    taken = {id(w) for c in claimed for w in c.words}
    return [
        run
        for line in lines_of(inside)
        for run in line.runs
        if not find_labels(run.text) and not any(id(w) in taken for w in run.words)
    ]


def _block_reference(region: Region, inside: list[Word], claimed: list[Candidate]) -> Candidate | None:
    """The payment reference a payment block proves by itself (see `_unlabelled_reference`), from
    its runs that no label names or claims (an IBAN, an "Account no." look-alike's number)."""
    runs = _free_runs(inside, claimed)
    numbers = [c for c in claimed if c.field == "invoice_number" and c.label is not None]
    digits = frozenset(
        d for c in numbers if len(d := "".join(ch for ch in c.parsed.value if ch.isdigit())) >= 4
    )
    return _unlabelled_reference(runs, digits, region)


def _whole(run: Run, text: str, value: str, kind: str, region: Region) -> Candidate:
    start = clean(run.text).index(text)
    return _region_only(
        "payment_reference", Parsed(value, start, start + len(text), {"kind": kind}), run, region
    )


def _region_value(region: Region, inside: list[Word], *, day_first: bool) -> Candidate | None:
    parse = parser_for(region.name, "", day_first)
    if parse is None:
        return None
    for line in lines_of(inside):
        for run in line.runs:
            if find_labels(run.text):
                continue  # a label that named no parsable value: not ours to guess
            parsed = parse(run.text)
            if parsed is not None:
                return _region_only(region.name, parsed, run, region)
    return None


def _region_only(name: str, parsed: Parsed, run: Run, region: Region) -> Candidate:
    """A value found by its region and its shape alone (no label named it)."""
    return Candidate(
        name,
        parsed,
        run,
        parsed.start,
        parsed.end,
        REGION_ONLY,
        "region",
        region=region,
        extra=dict(parsed.extra),
    )
