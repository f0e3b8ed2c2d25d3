"""Text blocks and tables read from the detector's regions: the supplier (its region's first line,
a logo's initials dropped; the rest its address), the customer address (its region's lines less
the heading and look-alike lines, or without a region the lines under a heading such as
"Faktureringsadress" or "Bill to") and the line items (rows of the line_items region)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from invoice_core.read.items import read_items
from invoice_core.read.labels import PageText, is_heading, run_labels
from invoice_core.read.lexicon import IGNORE, find_labels, fold
from invoice_core.read.words import Box, Line, Region, Word, lines_of

TITLES = frozenset({"faktura", "invoice", "tax invoice", "kreditfaktura", "credit note", "kvitto", "receipt"})
MAX_ADDRESS_LINES = 6


def evidence_json(words: Sequence[Word], box: Box, page: int, text: str, confidence: float) -> dict[str, Any]:
    """What every field carries besides its value: the text, confidence, page, box and source."""
    return {
        "text": text,
        "confidence": round(confidence, 4),
        "page": page,
        "box": box.as_dict(),
        "source": "ocr" if any(w.source == "ocr" for w in words) else "pdf_text",
    }


def outside_items(words: list[Word], regions: Sequence[Region]) -> list[Word]:
    """A page's words less the line-item table's (its column headers are not field labels)."""
    tables = [r for r in regions if r.name == "line_items"]
    others = [r for r in regions if r.name != "line_items"]
    return [w for w in words if not any(t.holds(w) for t in tables) or any(o.holds(w) for o in others)]


def _keep_line(name: str, text: str) -> bool:
    if is_heading(text) or fold(text).strip(" :") in TITLES:
        return False
    return not any(f.label.field == IGNORE for f in find_labels(text))  # "Org.nr ...", "Tel ..."


def _block_json(name: str, lines: list[Line], base_confidence: float, evidence: str) -> dict[str, Any] | None:
    texts = [" ".join(r.text for r in line.runs) for line in lines]
    kept = [(line, text) for line, text in zip(lines, texts, strict=True) if _keep_line(name, text)]
    if not kept:
        return None
    words = [w for line, _ in kept for run in line.runs for w in run.words]
    confidence = min(w.confidence for w in words) * base_confidence
    text = "\n".join(t for _, t in kept)
    out: dict[str, Any] = {"value": text if name == "customer_address" else kept[0][1]}
    out |= evidence_json(words, Box.union(w.box for w in words), words[0].page, text, confidence)
    if name == "supplier" and len(kept) > 1:
        out["address"] = "\n".join(t for _, t in kept[1:])
    out["evidence"] = evidence
    return out


def _initials(text: str) -> str:
    return "".join(t[0] for t in text.split() if t[0].isalnum()).upper()


def _without_logo(words: list[Word]) -> list[Word]:
    """A logo's initials are text too ("NS" before or above "Nordic Supplies AB"), but not the name;
    nor is a mark OCR reads off a logo's drawing ("山", "@"): a short line of no ASCII letter."""
    out: list[Word] = []
    lines = lines_of(words)
    for index, line in enumerate(lines):
        row = [w for run in line.runs for w in run.words]
        first = row[0].text.strip()
        rest = " ".join(w.text for w in row[1:]).split()
        initials = "".join(t[0] for t in rest).upper()
        if (
            len(first) <= 3
            and first.isalpha()
            and first.isupper()
            and (not rest or initials.startswith(first))
        ):
            row = row[1:]
        text = " ".join(w.text for w in row).strip()
        below = " ".join(r.text for r in lines[index + 1].runs) if index + 1 < len(lines) else ""
        compact = "".join(c for c in text if c.isalnum())
        if (
            len(compact) <= 3
            and below
            and (
                not any(c.isascii() and c.isalpha() for c in compact)
                or _initials(below).startswith(compact.upper())
            )
        ):
            continue  # a logo on its own line above the name
        out += row
    return out


def text_block(
    name: str, regions: Sequence[Region], by_page: dict[int, list[Word]], texts: dict[int, PageText]
) -> dict[str, Any] | None:
    """The best region's lines; for the customer address without a region, the lines under its heading."""
    for region in sorted((r for r in regions if r.name == name), key=lambda r: -r.confidence):
        inside = [w for w in by_page.get(region.page, []) if region.holds(w)]
        if name == "supplier":
            inside = _without_logo(inside)
        block = _block_json(name, lines_of(inside), region.confidence, "detector")
        if block:
            return block
    if name != "customer_address":
        return None  # a supplier has no label: without the detector's region it is not guessed
    for page_text in texts.values():
        for index, line in enumerate(page_text.lines):
            for run in line.runs:
                if is_heading(run.text):
                    block = _below_heading(page_text.lines, index, run.box)
                    if block:
                        return _block_json(name, block, 1.0, "label")
    return None


def _below_heading(lines: list[Line], index: int, heading: Box) -> list[Line]:
    """Consecutive lines under a heading, each reduced to the run in the heading's column."""
    out: list[Line] = []
    bottom = heading.y2
    for line in lines[index + 1 : index + 1 + MAX_ADDRESS_LINES]:
        cells = [
            r for r in line.runs if r.box.x_overlaps(heading) or abs(r.box.x1 - heading.x1) < heading.height
        ]
        if not cells or cells[0].box.y1 - bottom > 1.5 * heading.height or run_labels(cells[0].text):
            break
        out.append(Line([cells[0]]))
        bottom = cells[0].box.y2
    return out


def line_items(regions: Sequence[Region], by_page: dict[int, list[Word]]) -> dict[str, Any] | None:
    tables = sorted((r for r in regions if r.name == "line_items"), key=lambda r: (r.page, r.box.y1))
    rows: list[dict[str, Any]] = []
    words: list[Word] = []
    for table in tables:
        inside = [w for w in by_page.get(table.page, []) if table.holds(w)]
        for item in read_items(inside):
            rows.append(item.as_dict() | {"page": table.page})
            words += item.words
    if not rows:
        return None
    confidence = min(w.confidence for w in words) * max(t.confidence for t in tables)
    text = "\n".join(r["description"] for r in rows)
    out: dict[str, Any] = {"value": rows}
    out |= evidence_json(
        words, Box.union(w.box for w in words if w.page == words[0].page), words[0].page, text, confidence
    )
    out["evidence"] = "detector"
    return out
