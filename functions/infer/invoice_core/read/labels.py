"""Label geometry: where a label's value is printed on the page.

A label search over every line of the page (so a field the detector missed is still found): a
label's value is read from the rest of its own run ("Invoice No. 12345"), the next run on its line
(a column 200+ px away; on a skewed scan, a run a few px off the line sharing most of the label's
height), or a cell below (bordered header cells): on the next lines within reach, the words that
start under the label, cut where a word stands under a neighbouring header label. A weak "Total"
heads one cell, never a table column. Look-alike labels (customer number, delivery date, Org.nr,
...) claim their values too, so nothing else takes them. Each candidate value is parsed by its
field's parser (`invoice_core.read.candidates`); a value that does not parse is no value. Per
label, the best-scored of its parsed places wins (own run > beside > below).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from invoice_core.read.candidates import (
    AMOUNT_FIELDS,
    BELOW,
    DATE_FIELDS,
    INLINE,
    RIGHT,
    STRONG,
    WEAK,
    Candidate,
    parser_for,
)
from invoice_core.read.lexicon import Found, find_labels, fold
from invoice_core.read.normalise import DATE_LIKE, currency_code, parse_date
from invoice_core.read.words import Box, Line, Run, Word, lines_of

BELOW_REACH = 2.5  # a value below its label starts within this many label heights of it


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
