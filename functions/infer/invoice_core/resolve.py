"""Which printed value is which field: the detector proposes, the label words decide.

1. Label search over every line of the page (so a field the detector missed is still found): a
   label's value is read from the rest of its own run ("Invoice No. 12345"), the next run on its
   line (a column 200+ px away; on a skewed scan, a run a few px off the line sharing most of the
   label's height), or a cell below (bordered header cells): on the next lines within
   reach, the words that start under the label, cut where a word stands under a neighbouring header
   label. A weak "Total" heads one cell, never a table column. Look-alike labels (customer number,
   delivery date, Org.nr, ...) claim their values too, so nothing else takes them.
2. Each candidate value is parsed by its field's parser; a value that does not parse is no value.
   Per label, the best-scored of its parsed places wins (own run > beside > below).
3. Competing claims on the same characters: the stronger label and the closer relation win.
4. Detector regions: a labelled value inside a region of the same class, or of a class only the
   label words tell apart from it (the two dates, `postprocess.shape_of`: a date under
   "Förfallodatum" in an `invoice_date` box is the due date), gains the detector's support; inside
   a region of another class the label decides and the region adds nothing. A region with no
   labelled value in it proposes its own words for its class (weaker than any labelled value). A
   line of the supplier's or customer's address block is never the value of a label outside that
   block (unless it is the whole cell on the label's own line: a value column the detector took for
   an address).
   A payment block proposes only numbers that prove what they are: an IBAN (mod 97), a Bankgiro
   (123-4567, Luhn), a BIC beside an IBAN of its country, and as the payment reference an RF
   reference or the block's one plain number with a Luhn check digit (never an IBAN's first group).
5. Per field the best-scored candidate; a field with no candidate is absent (never guessed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from invoice_core import checks
from invoice_core.lexicon import IGNORE, Found, find_labels, fold
from invoice_core.normalise import (
    DATE_LIKE,
    Parsed,
    clean,
    currency_code,
    parse_alnum,
    parse_amount,
    parse_date,
    parse_digits,
    parse_identifier,
)
from invoice_core.postprocess import shape_of
from invoice_core.words import Box, Line, Region, Run, Word, lines_of

BELOW_REACH = 2.5  # a value below its label starts within this many label heights of it

# Scores: label strength + relation (own run > next cell on the line > cell below); the detector's
# agreement adds AGREE; a region alone scores REGION_ONLY.
STRONG, WEAK = 2.0, 1.0
INLINE, RIGHT, BELOW = 3.0, 2.0, 1.0
AGREE = 3.0
REGION_ONLY = 1.0

AMOUNT_FIELDS = ("subtotal", "vat", "total_amount")
DATE_FIELDS = ("invoice_date", "due_date")
TEXT_FIELDS = ("supplier", "customer_address", "line_items")  # regions read as text, not parsed


@dataclass
class Candidate:
    """A parsed value at `run.text[start:end]`, why it is thought to be `field`, and how strongly."""

    field: str
    parsed: Parsed
    run: Run
    start: int
    end: int
    score: float
    relation: str  # inline | right | below | region
    label: str | None = None  # the label as printed
    label_box: Box | None = None
    region: Region | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def words(self) -> list[Word]:
        return self.run.words_in(self.start, self.end)

    @property
    def text(self) -> str:
        return self.run.text[self.start : self.end]

    @property
    def box(self) -> Box:
        return self.run.box_of(self.start, self.end)

    def overlaps(self, other: Candidate) -> bool:
        return self.run is other.run and self.start < other.end and other.start < self.end


# --- field parsers --------------------------------------------------------------------------------------


def _reference(text: str, label: str) -> Parsed | None:
    """OCR number under an OCR label; otherwise an RF reference, grouped digits or an identifier."""
    if "ocr" in fold(label):
        found = parse_digits(text, max_len=25)
        return Parsed(found.value, found.start, found.end, {"kind": "ocr"}) if found else None
    alnum = parse_alnum(text, max_len=25)
    if alnum and alnum.value.startswith("RF") and alnum.value[2:4].isdigit():
        return Parsed(alnum.value, alnum.start, alnum.end, {"kind": "rf"})
    found = parse_digits(text, max_len=25) or parse_identifier(text)
    return Parsed(found.value, found.start, found.end, {"kind": "reference"}) if found else None


def _giro(text: str, shown: Callable[[str], str], low: int, high: int) -> Parsed | None:
    found = parse_digits(text, max_len=12)
    if not found or not low <= len(found.value) <= high:
        return None
    return Parsed(shown(found.value), found.start, found.end, {"digits": found.value})


def _iban(text: str) -> Parsed | None:
    """An IBAN in groups; a trailing word that is not part of it ("... 7466 Bank") is dropped when
    the shorter reading passes mod 97 and the longer does not."""
    found = parse_alnum(text, max_len=40)
    if not found or not checks.looks_like_iban(found.value):
        return None
    if not checks.iban_number(found.value):
        groups = clean(text)[found.start : found.end].split(" ")
        for k in range(len(groups) - 1, 1, -1):
            compact = "".join(groups[:k]).upper()
            if checks.iban_number(compact):
                return Parsed(compact, found.start, found.start + len(" ".join(groups[:k])), {})
    return found if len(found.value) <= 34 else None


def _bic(text: str) -> Parsed | None:
    found = parse_alnum(text, max_len=11)
    return found if found and checks.looks_like_bic(found.value) else None


def _currency(text: str) -> Parsed | None:
    token = text.strip().lstrip(":").split()
    code = currency_code(token[0]) if token else None
    if code is None:
        return None
    start = text.index(token[0])
    return Parsed(code, start, start + len(token[0]), {})


def _claim(text: str) -> Parsed | None:
    """A look-alike label takes whatever follows it."""
    stripped = text.strip(" :")
    if not stripped:
        return None
    start = text.index(stripped)
    return Parsed(stripped, start, start + len(stripped), {})


def parser_for(name: str, label: str, day_first: bool) -> Callable[[str], Parsed | None] | None:
    """The parser of a field's printed value; None for fields read as text blocks."""
    if name in DATE_FIELDS:
        return lambda text: parse_date(text, day_first=day_first)
    if name in AMOUNT_FIELDS:
        return parse_amount
    table: dict[str, Callable[[str], Parsed | None]] = {
        "invoice_number": parse_identifier,
        "payment_reference": lambda text: _reference(text, label),
        "bankgiro": lambda text: _giro(text, checks.show_bankgiro, 7, 8),
        "plusgiro": lambda text: _giro(text, checks.show_plusgiro, 2, 8),
        "iban": _iban,
        "bic": _bic,
        "currency": _currency,
        IGNORE: _claim,
    }
    return table.get(name)


# --- label search ---------------------------------------------------------------------------------------


def is_heading(text: str) -> bool:
    """A run that is only a customer-address heading ("Faktureringsadress", "Bill to:")."""
    found = find_labels(text)
    rest = fold(text).strip().rstrip(":").strip()
    return (
        len(found) == 1
        and found[0].label.field == "customer_address"
        and found[0].end - found[0].start >= len(rest)
    )


def run_labels(text: str) -> tuple[Found, ...]:
    """A run's labels; an address heading counts only alone ("Kund AB" is a name, "Kund" a heading)."""
    found = find_labels(text)
    if is_heading(text):
        return found
    return tuple(f for f in found if f.label.field != "customer_address")


@dataclass
class PageText:
    """One page's lines and the labels found in each run."""

    lines: list[Line]
    labels: dict[int, tuple[Found, ...]]  # id(run) -> labels

    @classmethod
    def of(cls, words: Sequence[Word]) -> PageText:
        lines = lines_of(words)
        labels = {id(run): run_labels(run.text) for line in lines for run in line.runs}
        return cls(lines, labels)

    def runs_labels(self, run: Run) -> tuple[Found, ...]:
        return self.labels[id(run)]


@dataclass
class Unreadable:
    """A label whose printed value looks like its field but is not one (`31.02.2026`)."""

    field: str
    text: str


Segment = tuple[str, float, Run, int, int]  # relation, its score, run, start, end


def _segments(page: PageText, line_no: int, run: Run, found: Found) -> list[Segment]:
    """Where a label's value may be: (relation, closeness score, run, start, end)."""
    labels = page.runs_labels(run)
    after = [f for f in labels if f.start >= found.end]
    inline_end = after[0].start if after else len(run.text)
    out = []
    if run.text[found.end : inline_end].strip(" :;#.-–"):
        out.append(("inline", INLINE, run, found.end, inline_end))
    line = page.lines[line_no]
    label_box = run.box_of(found.start, found.end)
    if not after:  # the last label of its run: the next run on the line may be its value
        index = line.runs.index(run)
        nxt = line.runs[index + 1] if index + 1 < len(line.runs) else None
        beside = _beside(page, line_no, label_box, nxt.box.x1 if nxt is not None else float("inf"))
        for cell in (beside, nxt):
            if cell is None:
                continue
            first = page.runs_labels(cell)
            end = first[0].start if first else len(cell.text)
            if end > 0:
                out.append(("right", RIGHT, cell, 0, end))
    below = _cells_below(page, line_no, label_box)
    if not found.label.heads_column:  # "Total" heads one cell, but also a line-item column: not that
        below = below[:1] if below and not _column_goes_on(page, below[0][2], label_box) else []
    return out + below


def _beside(page: PageText, line_no: int, label_box: Box, before: float) -> Run | None:
    """The nearest run right of a label, nearer than `before`, on a neighbouring line that shares
    most of the label's height: a skewed scan puts a value a few pixels off its label's line, and
    the line grouping may give it to the line above or below. A cell of a value column starts
    within a label height of the next run on the label's own line ("PAYABLE BY 09.03.2021" over
    "INVOICED ON 07.02.2021" at x 1078 and 1075): that one is the label's, not a neighbour's."""
    before -= label_box.height
    best: Run | None = None
    for other in page.lines[max(0, line_no - 2) : line_no + 3]:
        if other is page.lines[line_no]:
            continue
        for cell in other.runs:
            shared = min(cell.box.y2, label_box.y2) - max(cell.box.y1, label_box.y1)
            if (
                label_box.x2 <= cell.box.x1 < before
                and shared >= 0.5 * min(cell.box.height, label_box.height)
                and (best is None or cell.box.x1 < best.box.x1)
            ):
                best = cell
    return best


def _column_goes_on(page: PageText, cell: Run, label_box: Box) -> bool:
    """Whether the line after `cell` has a cell under the label too: a table column, not one value."""
    index = next(i for i, line in enumerate(page.lines) if cell in line.runs)
    if index + 1 >= len(page.lines):
        return False
    nxt = page.lines[index + 1]
    near = nxt.box.y1 - cell.box.y2 <= 2 * BELOW_REACH * label_box.height
    return near and any(r.box.x_overlaps(label_box) for r in nxt.runs)


def _cells_below(page: PageText, line_no: int, label_box: Box) -> list[Segment]:
    """Values under a header cell, nearest first: on each line below (within reach), the words that
    start under the label, up to a word under another label of the header line (tight grids put two
    cells' values within word spacing). Stops at a label under the label."""
    # every other header of the line, label or not: a payment row's "Amount" heads its own column
    # even where it names no field, and a value under it is not the end of this label's value
    others = [
        r.box_of(f.start, f.end)
        for r in page.lines[line_no].runs
        for f in page.runs_labels(r)
        if not r.box_of(f.start, f.end).x_overlaps(label_box)
    ] + [w.box for r in page.lines[line_no].runs for w in r.words if w.box.x1 >= label_box.x2]
    out: list[Segment] = []
    for below in page.lines[line_no + 1 :]:
        if below.box.y1 - label_box.y2 > BELOW_REACH * label_box.height:
            break
        for cell in below.runs:
            under = [i for i, w in enumerate(cell.words) if w.box.x_overlaps(label_box)]
            if not under:
                continue
            first = under[0]
            last = first
            while last + 1 < len(cell.words) and not any(
                cell.words[last + 1].box.x_overlaps(o) and not cell.words[last + 1].box.x_overlaps(label_box)
                for o in others
            ):
                last += 1
            start = cell.starts[first]
            end = cell.starts[last] + len(cell.words[last].text)
            labels = [f for f in page.runs_labels(cell) if f.end > start]
            if labels and labels[0].start <= start:
                return out  # a label under a label: the next row of labels
            if labels:
                end = min(end, labels[0].start)
            if cell.text[start:end].strip():
                out.append(("below", BELOW, cell, start, end))
            break
    return out


def label_candidates(page: PageText, *, day_first: bool) -> tuple[list[Candidate], list[Unreadable]]:
    """Every labelled value on the page (look-alikes' included), not yet de-conflicted."""
    out: list[Candidate] = []
    unreadable: list[Unreadable] = []
    for line_no, line in enumerate(page.lines):
        for run in line.runs:
            for found in page.runs_labels(run):
                name = found.label.field
                label_text = run.text[found.start : found.end]
                parse = parser_for(name, label_text, day_first)
                if parse is None:
                    continue
                strength = STRONG if found.label.strong else WEAK
                hint = None  # "Att betala SEK   212 880,00": the label's own run names the currency
                best_here: Candidate | None = None
                for relation, closeness, target, start, end in _segments(page, line_no, run, found):
                    segment = target.text[start:end]
                    parsed = parse(segment)
                    if parsed is not None and name in AMOUNT_FIELDS and parse_date(segment) is not None:
                        parsed = None  # "11 maj 2022" is a date, not the amount 11
                    if parsed is None:
                        if relation == "inline":
                            hint = currency_code(segment.strip(" :()"))
                        if name in DATE_FIELDS and DATE_LIKE.match(segment.strip(" :")):
                            unreadable.append(Unreadable(name, segment.strip(" :")))
                        continue
                    extra = dict(parsed.extra)
                    if name in AMOUNT_FIELDS and hint and "currency" not in extra:
                        extra["currency"] = hint
                    cand = Candidate(
                        name,
                        parsed,
                        target,
                        start + parsed.start,
                        start + parsed.end,
                        strength + closeness,
                        relation,
                        label=label_text,
                        label_box=run.box_of(found.start, found.end),
                        extra=extra,
                    )
                    if best_here is None or cand.score > best_here.score:
                        best_here = cand
                if best_here is not None:
                    out.append(best_here)
    return out, unreadable


def deconflict(candidates: list[Candidate]) -> list[Candidate]:
    """Each printed character belongs to at most one claim: the best-scored keeps it."""
    kept: list[Candidate] = []
    for cand in sorted(candidates, key=lambda c: -c.score):
        if not any(cand.overlaps(k) for k in kept):
            kept.append(cand)
    return kept


# --- the detector's regions -----------------------------------------------------------------------------


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


def best(candidates: list[Candidate]) -> dict[str, Candidate]:
    """The winning candidate per field (look-alikes dropped); ties: the first in reading order, except
    for the total, which is printed last (a table's "Total" row above it is the net sum)."""
    chosen: dict[str, Candidate] = {}
    for cand in candidates:
        if cand.field == IGNORE:
            continue
        held = chosen.get(cand.field)
        later = cand.field == "total_amount" and held is not None and cand.score == held.score
        if held is None or cand.score > held.score or later:
            chosen[cand.field] = cand
    return chosen
