"""Where things go on the page: page styles, header blocks, table, totals, payment variants and footer.

Every size is in "design pixels" of a 1240×1754 page (A4 at 150 DPI) times `Style.u`, so a smaller
page is the same invoice shrunk. Blocks are placed through `Sheet.place`, which refuses overlaps, so a
field's box never holds another block's ink.

Box convention (what each field's ink is, hence its box): a key-value field is its label and its
value as drawn, whatever the gap between them (inline, in columns 200+ px apart, stacked in a cell);
cell borders around them are not part of it. Where no label is printed (the `no_label` family) the
box is the value alone. The payment field is the whole payment block: heading, every line, and the
frames and fill of a slip's or block's boxes.
"""

from __future__ import annotations

import colorsys
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import ImageFont

from devkit.synth import families, fonts
from devkit.synth.canvas import Block, Color
from devkit.synth.content import Invoice, LineItem
from devkit.synth.fields import CLASS_NAMES

CLS = {name: i for i, name in enumerate(CLASS_NAMES)}
LAYOUTS: tuple[str, ...] = tuple(families.HEADER_FAMILIES)  # every header family, trained or held out
PAYMENTS: tuple[str, ...] = tuple(families.PAYMENT_VARIANTS)
Font = ImageFont.FreeTypeFont


@dataclass
class Style:
    """One page's typography and colours."""

    u: float
    body: fonts.FontFamily
    head: fonts.FontFamily
    size: float
    ink: Color
    muted: Color
    accent: Color
    accent_light: Color
    label_color: Color
    label_bold: bool
    colon: bool
    upper: bool
    spacing: float

    def f(self, scale: float = 1.0, *, bold: bool = False, head: bool = False) -> Font:
        family = self.head if head else self.body
        return fonts.load(family.bold if bold else family.regular, self.size * scale * self.u)

    def px(self, v: float) -> float:
        return v * self.u

    def label(self, s: str, *, colon: bool = True) -> str:
        """A label as this page prints labels: in capitals on some pages, with a colon on some."""
        if self.upper:
            s = s.upper()
        return s + ":" if colon and self.colon and not s.endswith((":", "#", ".")) else s


def _color(h: float, lightness: float, sat: float) -> Color:
    r, g, b = colorsys.hls_to_rgb(h, lightness, sat)
    return (round(r * 255), round(g * 255), round(b * 255))


def make_style(rng: random.Random, u: float, policy: str = "train") -> Style:
    """Random typography and colours for one page, its fonts from `policy`'s pool (families.py)."""
    fams = families.font_pool(policy)
    body = rng.choice(fams)
    head = body if rng.random() < 0.6 else rng.choice(fams)
    g = rng.randrange(0, 55)
    ink = (g, g, min(255, g + rng.choice((0, 0, 10, 35))))
    hue = rng.random()
    accent = _color(hue, rng.uniform(0.22, 0.45), rng.uniform(0.35, 0.85)) if rng.random() < 0.75 else ink
    m = rng.randrange(85, 135)
    muted = (m, m, m)
    return Style(
        u=u,
        body=body,
        head=head,
        size=rng.uniform(17.0, 23.5),
        ink=ink,
        muted=muted,
        accent=accent,
        accent_light=_color(hue, rng.uniform(0.86, 0.95), rng.uniform(0.2, 0.6)),
        label_color=rng.choice((ink, ink, muted, accent)),
        label_bold=rng.random() < 0.45,
        colon=rng.random() < 0.45,
        upper=rng.random() < 0.15,
        spacing=rng.uniform(1.02, 1.3),
    )


# --- block builders -----------------------------------------------------------------------------------


def line_height(font: Font, spacing: float = 1.0) -> float:
    asc, desc = fonts.metrics(font)
    return (asc + desc) * spacing


def text_lines(
    lines: list[tuple[str, Font, Color]],
    *,
    align: str = "left",
    spacing: float = 1.2,
    field: int | None = None,
) -> Block:
    """Lines stacked on baselines; x=0 is the left edge, right edge or centre per `align`."""
    b = Block()
    anchor = {"left": "ls", "right": "rs", "center": "ms"}[align]
    y = 0.0
    for i, (s, font, color) in enumerate(lines):
        asc, desc = fonts.metrics(font)
        y += asc if i == 0 else asc * spacing
        b.text(0, y, s, font, color, anchor=anchor, field=field)
        y += desc
    return b


def kv(
    label: str,
    value: str,
    *,
    style: str,
    lf: Font,
    vf: Font,
    lc: Color,
    vc: Color,
    gap: float,
    col: float = 0.0,
    right: float = 0.0,
    field: int | None = None,
) -> Block:
    """A label and its value: 'inline' (same line), 'columns' (value at x=col, or right-aligned at
    x=right when right>0) or 'stacked' (label above value)."""
    b = Block()
    if style == "stacked":
        asc_l, desc_l = fonts.metrics(lf)
        asc_v, _ = fonts.metrics(vf)
        b.text(0, asc_l, label, lf, lc, field=field)
        b.text(0, asc_l + desc_l + gap + asc_v, value, vf, vc, field=field)
        return b
    base = max(fonts.metrics(lf)[0], fonts.metrics(vf)[0])
    b.text(0, base, label, lf, lc, field=field)
    if style == "inline":
        b.text(lf.getlength(label) + gap, base, value, vf, vc, field=field)
    elif right > 0:
        b.text(right, base, value, vf, vc, anchor="rs", field=field)
    else:
        b.text(col, base, value, vf, vc, field=field)
    return b


def stack(blocks: list[Block], gap: float, *, align: str = "left") -> Block:
    """Blocks one under another, `gap` apart, aligned on their left or right edges."""
    out = Block()
    y = 0.0
    for b in blocks:
        if b.empty:
            continue
        x = -b.x1 if align == "left" else -b.x2
        out.add(b, x, y - b.y1)
        y += b.h + gap
    return out


def wrap(text: str, font: Font, width: float) -> list[str]:
    """Greedy word wrap to a pixel width."""
    lines: list[str] = []
    cur = ""
    for word in text.split():
        trial = f"{cur} {word}".strip()
        if cur and font.getlength(trial) > width:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    if cur:
        lines.append(cur)
    return lines


def fit(text: str, font: Font, width: float) -> str:
    """Cut text with an ellipsis so it fits `width`."""
    if font.getlength(text) <= width:
        return text
    while len(text) > 1 and font.getlength(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


# --- the page -----------------------------------------------------------------------------------------


@dataclass
class Placed:
    block: Block
    dx: float
    dy: float


@dataclass
class Sheet:
    """The page being composed: placed blocks and the rectangles they occupy."""

    width: int
    height: int
    st: Style
    rng: random.Random
    inv: Invoice
    left: float
    right: float
    top: float
    bottom: float
    layout: str = ""
    payment: str = ""
    placed: list[Placed] = field(default_factory=list)
    rects: list[tuple[float, float, float, float]] = field(default_factory=list)

    @property
    def content_w(self) -> float:
        return self.right - self.left

    def free(self, rect: tuple[float, float, float, float], pad: float = 0.0) -> bool:
        x1, y1, x2, y2 = rect
        if x1 < 0 or y1 < 0 or x2 > self.width or y2 > self.height:
            return False
        return all(
            x2 + pad <= a1 or a2 + pad <= x1 or y2 + pad <= b1 or b2 + pad <= y1
            for a1, b1, a2, b2 in self.rects
        )

    def texts(self) -> list[tuple[str, tuple[float, float, float, float], int | None]]:
        """Every text drawn on the sheet: (text, its glyph box in page pixels, its field class or
        None), in drawing order: the words a perfect reader would get, without rendering the page."""
        out: list[tuple[str, tuple[float, float, float, float], int | None]] = []
        for placed in self.placed:
            for op in placed.block.ops:
                if op.kind != "text":
                    continue
                x, y = op.xy[0] + placed.dx, op.xy[1] + placed.dy
                x1, y1, x2, y2 = op.kw["font"].getbbox(op.kw["text"], anchor=op.kw["anchor"])
                if x2 > x1 and y2 > y1:
                    out.append((op.kw["text"], (x + x1, y + y1, x + x2, y + y2), op.field))
        return out

    def place(self, b: Block, x: float, y: float, *, pad: float | None = None, force: bool = False) -> bool:
        """Put block `b` with its top-left at (x, y) unless that overlaps something already placed."""
        if b.empty:
            return False
        pad = self.st.px(8) if pad is None else pad
        dx, dy = b.at(x, y)
        rect = (x, y, x + b.w, y + b.h)
        if not force and not self.free(rect, pad):
            return False
        self.placed.append(Placed(b, dx, dy))
        self.rects.append(rect)
        return True

    def place_down(self, b: Block, x: float, y: float, *, step: float | None = None) -> float:
        """Place `b` at x, at `y` or the first free spot below it; returns its bottom edge."""
        step = step or self.st.px(6)
        limit = self.height
        while y + b.h <= limit:
            if self.place(b, x, y):
                return y + b.h
            y += step
        self.place(b, x, max(0.0, self.height - b.h - 1), force=True)
        return self.height

    def bottom_of(self) -> float:
        return max((r[3] for r in self.rects), default=self.top)

    def jit(self, v: float) -> float:
        """A random offset of up to ±v design pixels."""
        return self.st.px(self.rng.uniform(-v, v))


def _logo(s: Sheet, size: float) -> Block:
    rng, st = s.rng, s.st
    b = Block()
    cls = CLS["supplier"]
    name = s.inv.supplier.name
    initials = "".join(w[0] for w in name.split()[:2] if w[0].isalpha()).upper() or "X"
    kind = rng.randrange(5)
    col = st.accent
    if kind == 0:
        b.ellipse((0, 0, size, size), fill=col, field=cls)
        f = fonts.load(st.head.bold, size * 0.42)
        b.text(size / 2, size / 2, initials, f, (255, 255, 255), anchor="mm", field=cls)
    elif kind == 1:
        b.rect((0, 0, size, size), fill=col, field=cls)
        f = fonts.load(st.head.bold, size * 0.6)
        b.text(size / 2, size / 2, initials[0], f, (255, 255, 255), anchor="mm", field=cls)
    elif kind == 2:
        b.polygon(
            (0, size, size * 0.38, size * 0.2, size * 0.62, size * 0.62, size * 0.78, size * 0.4, size, size),
            fill=col,
            field=cls,
        )
    elif kind == 3:
        w = size / 5
        for i in range(3):
            b.rect((i * 1.6 * w, size * (0.5 - 0.18 * i), i * 1.6 * w + w, size), fill=col, field=cls)
    else:
        b.ellipse((0, 0, size, size), outline=col, width=max(2, round(size / 12)), field=cls)
        b.ellipse((size * 0.3, size * 0.3, size * 0.7, size * 0.7), fill=col, field=cls)
    return b


def supplier_block(s: Sheet, align: str) -> Block:
    """Logo (usually), company name and postal address: all of it is the `supplier` field."""
    rng, st, sup = s.rng, s.st, s.inv.supplier
    cls = CLS["supplier"]
    name_font = st.f(rng.uniform(1.25, 2.1), bold=rng.random() < 0.8, head=True)
    name_color = st.accent if rng.random() < 0.4 else st.ink
    body = st.f(rng.uniform(0.85, 1.0))
    lines = [(sup.name, name_font, name_color)] + [(ln, body, st.ink) for ln in sup.lines]
    if rng.random() < 0.3:
        lines.append((sup.phone, body, st.ink))
    text = text_lines(lines, align=align, spacing=st.spacing, field=cls)
    if rng.random() < 0.2:
        return text
    logo = _logo(s, st.px(rng.uniform(55, 110)))
    out = Block()
    gap = st.px(rng.uniform(10, 24))
    if rng.random() < 0.5:  # logo above the name
        x = 0 if align == "left" else -logo.w
        out.add(logo, x, 0)
        out.add(text, 0, logo.h + gap - text.y1)
    elif align == "left":  # logo beside the name
        out.add(logo, 0, 0)
        out.add(text, logo.w + gap - text.x1, -text.y1)
    else:
        out.add(text, -text.x2, -text.y1)
        out.add(logo, -text.w - gap - logo.w, 0)
    return out


def title_block(s: Sheet, align: str = "left") -> Block:
    """'INVOICE' / 'FAKTURA': big, and not a field."""
    st = s.st
    f = st.f(s.rng.uniform(1.8, 3.2), bold=s.rng.random() < 0.8, head=True)
    color = st.accent if s.rng.random() < 0.5 else st.ink
    return text_lines([(s.inv.labels["title"], f, color)], align=align)


def party_block(s: Sheet, heading: str | None, party, cls: int | None, align: str = "left") -> Block:
    """A heading ('Bill to') over a name and address; the customer's is a field, 'Ship to' is not."""
    st, rng = s.st, s.rng
    body = st.f(rng.uniform(0.95, 1.1))
    lines: list[tuple[str, Font, Color]] = []
    if heading:
        lines.append(
            (
                st.label(heading, colon=False),
                st.f(0.85, bold=st.label_bold or rng.random() < 0.5),
                st.label_color,
            )
        )
    lines.append((party.name, st.f(1.05, bold=rng.random() < 0.5), st.ink))
    lines += [(ln, body, st.ink) for ln in party.lines]
    return text_lines(lines, align=align, spacing=st.spacing, field=cls)


def meta_items(s: Sheet) -> list[tuple[str, str, int | None]]:
    """(label, value, class id or None) for the meta block: the three fields plus a few distractors."""
    inv, rng = s.inv, s.rng
    fields = [
        (inv.labels["invoice_number"], inv.number, CLS["invoice_number"]),
        (inv.labels["invoice_date"], inv.issued, CLS["invoice_date"]),
        (inv.labels["due_date"], inv.due, CLS["due_date"]),
    ]
    dl = inv.distractor_labels
    extra = [
        (dl["customer_no"], inv.customer_no, None),
        (dl["order_no"], inv.order_no, None),
        (dl["our_ref"], inv.our_ref, None),
        (dl["your_ref"], inv.your_ref, None),
        (dl["delivery_date"], inv.delivery, None),
        (dl["terms"], inv.terms, None),
    ]
    rng.shuffle(extra)
    items = fields + extra[: rng.choice((0, 1, 2, 2, 3))]
    # Invoice number usually leads; the rest in a page-specific order, as real templates differ.
    head, rest = items[:1], items[1:]
    rng.shuffle(rest)
    return head + rest if rng.random() < 0.7 else rng.sample(items, len(items))


def meta_list(s: Sheet, items: list[tuple[str, str, int | None]]) -> Block:
    """The meta fields as rows of label/value: in columns, inline, or two pairs a row.

    The label-to-value gap varies from 14 to 150 design px (a third of the pages go past 40), so
    the model sees that a field's box may hold white space; the held-out `label_column` family
    (200-340 px) stays outside that range on purpose (families.py)."""
    st, rng = s.st, s.rng
    lf = st.f(rng.uniform(0.9, 1.0), bold=st.label_bold)
    vf = st.f(rng.uniform(0.95, 1.05), bold=rng.random() < 0.35)
    style = rng.choice(("columns", "columns", "columns_right", "inline", "two_up"))
    gap = st.px(rng.uniform(40, 150) if rng.random() < 0.35 else rng.uniform(14, 40))
    if style == "two_up":
        return _two_up(s, items, lf, vf)
    col = max(lf.getlength(st.label(lab)) for lab, _, _ in items) + gap
    right = col + max(vf.getlength(v) for _, v, _ in items) + st.px(rng.uniform(0, 30))
    rows = [
        kv(
            st.label(lab),
            val,
            style="inline" if style == "inline" else "columns",
            lf=lf,
            vf=vf,
            lc=st.label_color,
            vc=st.ink,
            gap=st.px(10),
            col=col,
            right=right if style == "columns_right" else 0,
            field=cls,
        )
        for lab, val, cls in items
    ]
    pitch = max(line_height(lf), line_height(vf)) * st.spacing * rng.uniform(1.0, 1.25)
    return _rows(rows, pitch, max(1.0, st.px(4)))


def _two_up(s: Sheet, items: list[tuple[str, str, int | None]], lf: Font, vf: Font) -> Block:
    """Two 'label value' pairs a row, the second pair in an aligned column 30-120 design px to the
    right: several fields on one line, as many templates print them."""
    st, rng = s.st, s.rng
    pairs = _inline_pairs(s, items, lf, vf, [st.px(rng.uniform(6, 14)) for _ in items])
    second = max(b.w for b in pairs[0::2]) + st.px(rng.uniform(30, 120))
    rows: list[Block] = []
    for i in range(0, len(pairs), 2):
        row = Block()
        row.add(pairs[i], -pairs[i].x1, 0)
        if i + 1 < len(pairs):
            row.add(pairs[i + 1], second - pairs[i + 1].x1, 0)
        rows.append(row)
    pitch = max(line_height(lf), line_height(vf)) * st.spacing * rng.uniform(1.05, 1.35)
    return _rows(rows, pitch, max(1.0, st.px(4)))


def _inline_pairs(
    s: Sheet, items: list[tuple[str, str, int | None]], lf: Font, vf: Font, gaps: list[float]
) -> list[Block]:
    """Each item as 'label value' on one line, `gaps[i]` between item i's label and value."""
    st = s.st
    return [
        kv(st.label(lab), val, style="inline", lf=lf, vf=vf, lc=st.label_color, vc=st.ink, gap=gap, field=cls)
        for (lab, val, cls), gap in zip(items, gaps, strict=True)
    ]


def _rows(rows: list[Block], pitch: float, min_gap: float) -> Block:
    """Rows on a regular baseline pitch, as a text grid is, pushed apart where ink would come closer
    than `min_gap` (tall glyphs, or rounding on tiny pages)."""
    out = Block()
    y, bottom = 0.0, -math.inf
    for i, r in enumerate(rows):
        y = max(i * pitch, y, bottom + min_gap - r.y1)
        out.add(r, 0, y)
        bottom = y + r.y2
    return out


def meta_cells(s: Sheet, items: list[tuple[str, str, int | None]], gap: float) -> list[Block]:
    """Each meta item as a small 'label above value' cell."""
    st, rng = s.st, s.rng
    lf = st.f(rng.uniform(0.75, 0.9), bold=st.label_bold)
    vf = st.f(rng.uniform(0.95, 1.1), bold=rng.random() < 0.5)
    return [
        kv(
            st.label(lab, colon=False),
            val,
            style="stacked",
            lf=lf,
            vf=vf,
            lc=st.label_color,
            vc=st.ink,
            gap=gap,
            field=cls,
        )
        for lab, val, cls in items
    ]


def grid_block(s: Sheet, cells: list[Block], ncols: int) -> Block:
    """Cells in a bordered grid (borders are not part of any field)."""
    st = s.st
    pad = st.px(s.rng.uniform(8, 14))
    cw = max(c.w for c in cells) + 2 * pad
    ch = max(c.h for c in cells) + 2 * pad
    nrows = -(-len(cells) // ncols)
    out = Block()
    color = s.st.muted if s.rng.random() < 0.6 else s.st.ink
    lw = max(1, round(st.px(s.rng.uniform(1, 2.2))))
    shade = s.rng.random() < 0.3
    for i, c in enumerate(cells):
        r, k = divmod(i, ncols)
        x, y = k * cw, r * ch
        if shade:
            out.rect((x, y, x + cw, y + ch), fill=st.accent_light)
        out.add(c, x + pad - c.x1, y + pad - c.y1)
    for r in range(nrows + 1):
        out.line((0, r * ch, ncols * cw, r * ch), fill=color, width=lw)
    for k in range(ncols + 1):
        out.line((k * cw, 0, k * cw, nrows * ch), fill=color, width=lw)
    return out


def label_column_block(s: Sheet, items: list[tuple[str, str, int | None]]) -> Block:
    """Labels in one column, values in another 200-340 design px to their right (left- or right-aligned)."""
    st, rng = s.st, s.rng
    lf = st.f(rng.uniform(0.9, 1.0), bold=st.label_bold)
    vf = st.f(rng.uniform(0.95, 1.05), bold=rng.random() < 0.35)
    col = max(lf.getlength(st.label(lab)) for lab, _, _ in items) + st.px(rng.uniform(200, 340))
    right = col + max(vf.getlength(v) for _, v, _ in items) if rng.random() < 0.4 else 0.0
    rows = [
        kv(
            st.label(lab),
            val,
            style="columns",
            lf=lf,
            vf=vf,
            lc=st.label_color,
            vc=st.ink,
            gap=0,
            col=col,
            right=right,
            field=cls,
        )
        for lab, val, cls in items
    ]
    pitch = max(line_height(lf), line_height(vf)) * st.spacing * rng.uniform(1.05, 1.4)
    return _rows(rows, pitch, max(1.0, st.px(4)))


def header_cells_block(s: Sheet, items: list[tuple[str, str, int | None]], width: float) -> Block:
    """A bordered two-row table: labels in the top cells, each value in the cell under its label.

    A field is its label and its value; the borders and the rule between them are not."""
    st, rng = s.st, s.rng
    lf = st.f(rng.uniform(0.75, 0.9), bold=st.label_bold or rng.random() < 0.5)
    vf = st.f(rng.uniform(0.95, 1.1), bold=rng.random() < 0.3)
    pad = st.px(rng.uniform(7, 14))
    labels = [st.label(lab, colon=False) for lab, _, _ in items]
    need = [
        max(lf.getlength(lab), vf.getlength(v)) + 2 * pad
        for lab, (_, v, _) in zip(labels, items, strict=True)
    ]
    extra = max(0.0, width - sum(need)) / len(need) if rng.random() < 0.6 else 0.0
    widths = [w + extra for w in need]
    la, ld = fonts.metrics(lf)
    va, vd = fonts.metrics(vf)
    head_h = la + ld + 2 * pad * rng.uniform(0.6, 1.0)
    row_h = va + vd + 2 * pad
    out = Block()
    color = st.muted if rng.random() < 0.6 else st.ink
    lw = max(1, round(st.px(rng.uniform(1, 2))))
    shade = rng.random() < 0.5
    total_w = sum(widths)
    if shade:
        out.rect((0, 0, total_w, head_h), fill=st.accent_light)
    x = 0.0
    centred = rng.random() < 0.3
    for lab, (_, val, cls), w in zip(labels, items, widths, strict=True):
        lx = x + (w - lf.getlength(lab)) / 2 if centred else x + pad
        vx = x + (w - vf.getlength(val)) / 2 if centred else x + pad
        out.text(lx, (head_h - la - ld) / 2 + la, lab, lf, st.label_color, field=cls)
        out.text(vx, head_h + pad + va, val, vf, st.ink, field=cls)
        x += w
    for y in (0, head_h, head_h + row_h):
        out.line((0, y, total_w, y), fill=color, width=lw)
    x = 0.0
    for w in [0.0, *widths]:
        x += w
        out.line((x, 0, x, head_h + row_h), fill=color, width=lw)
    return out


def inline_lines(s: Sheet, items: list[tuple[str, str, int | None]], width: float) -> Block:
    """'Invoice No. 12345' on one line, one to three such pairs a line, `width` wide at most."""
    st, rng = s.st, s.rng
    lf = st.f(rng.uniform(0.9, 1.05), bold=st.label_bold)
    vf = st.f(rng.uniform(0.95, 1.05), bold=rng.random() < 0.4)
    pairs = _inline_pairs(s, items, lf, vf, [st.px(rng.uniform(6, 14))] * len(items))
    per_line = rng.choice((1, 2, 2, 3, 3))
    sep_gap = st.px(rng.uniform(30, 80))
    sep = rng.choice(("", "", "|", "·", "•"))
    sep_font = st.f(1.0)
    lines: list[Block] = []
    cur, x, n = Block(), 0.0, 0
    for b in pairs:
        if n and (n >= per_line or x + sep_gap + b.w > width):
            lines.append(cur)
            cur, x, n = Block(), 0.0, 0
        if n:
            if sep:  # a separator mark halfway between two pairs: not a field
                cur.text(x + sep_gap / 2, 0, sep, sep_font, st.muted, anchor="ms")
            x += sep_gap
        cur.add(b, x - b.x1, 0)
        x += b.w
        n += 1
    lines.append(cur)
    pitch = max(line_height(lf), line_height(vf)) * st.spacing * rng.uniform(1.1, 1.5)
    return _rows(lines, pitch, max(1.0, st.px(6)))


def no_label_block(s: Sheet, align: str) -> Block:
    """The title as a heading with the invoice number and date under it, no label at all.

    Their boxes are the values alone (there is no label to include)."""
    st, rng, inv = s.st, s.rng, s.inv
    tf = st.f(rng.uniform(1.8, 3.0), bold=rng.random() < 0.8, head=True)
    vf = st.f(rng.uniform(1.0, 1.3), bold=rng.random() < 0.5)
    title = text_lines([(inv.labels["title"], tf, st.accent if rng.random() < 0.5 else st.ink)], align=align)
    number = inv.number if rng.random() < 0.6 or inv.number.startswith("#") else f"#{inv.number}"
    values = [
        text_lines([(number, vf, st.ink)], align=align, field=CLS["invoice_number"]),
        text_lines([(inv.issued, vf, st.ink)], align=align, field=CLS["invoice_date"]),
    ]
    if rng.random() < 0.3:
        values.reverse()
    return stack([title, *values], st.px(rng.uniform(8, 18)), align=align)


# --- table ----------------------------------------------------------------------------------------------


_CELL: dict[str, Callable[[LineItem], str]] = {
    "sku": lambda it: it.sku,
    "desc": lambda it: it.desc,
    "qty": lambda it: it.qty,
    "unit": lambda it: it.unit,
    "price": lambda it: it.price,
    "vat": lambda it: it.vat,
    "amount": lambda it: it.amount,
}
_LEFT_COLS = frozenset({"sku", "desc", "unit"})


def _table_columns(
    s: Sheet, width: float, items: list[LineItem], wanted: list[str], *, hf: Font, cf: Font, pad: float
) -> tuple[list[str], dict[str, float]]:
    """Columns and their widths: numbers get what they need, the description the rest; optional
    columns go (unit, VAT, SKU, price) until the longest description fits."""
    cols = list(wanted)

    def widths() -> dict[str, float]:
        w = {
            c: max([hf.getlength(s.inv.headers[c])] + [cf.getlength(_CELL[c](it)) for it in items]) + 2 * pad
            for c in cols
            if c != "desc"
        }
        w["desc"] = width - sum(w.values())
        return w

    w = widths()
    need = max(cf.getlength(it.desc) for it in items) + 2 * pad
    for drop in ("unit", "vat", "sku", "price"):
        if w["desc"] >= need:
            break
        if drop in cols:
            cols.remove(drop)
            w = widths()
    return cols, w


def _table_rules(
    b: Block, s: Sheet, params: dict, *, width: float, xs: list[float], head_h: float, row_h: float, n: int
) -> None:
    """The table's lines for its style; they belong to the table's ink."""
    st, style, cls = s.st, params["style"], CLS["line_items"]
    line_c = st.ink if params["dark_rules"] else st.muted
    lw = max(1, round(st.px(params["rule_w"])))
    total_h = head_h + row_h * n
    if style == "grid":
        b.rect((0, 0, width, total_h), outline=line_c, width=lw, field=cls)
        for x in xs[1:-1]:
            b.line((x, 0, x, total_h), fill=line_c, width=lw, field=cls)
        for r in range(n):
            b.line((0, head_h + r * row_h, width, head_h + r * row_h), fill=line_c, width=lw, field=cls)
        return
    if style == "rules" and params["top_rule"]:
        b.line((0, 0, width, 0), fill=line_c, width=lw, field=cls)
    if style != "zebra":
        b.line((0, head_h, width, head_h), fill=line_c, width=lw, field=cls)
    if style in ("rules", "band") and params["row_rules"]:
        row_c = st.accent_light if style == "band" else line_c
        for r in range(1, n):
            b.line((0, head_h + r * row_h, width, head_h + r * row_h), fill=row_c, width=1, field=cls)
    if style != "plain":
        b.line((0, total_h, width, total_h), fill=line_c, width=lw, field=cls)


def table_block(s: Sheet, width: float, n_rows: int, params: dict) -> Block:
    """The line-items table: header row and all rows, with its rules and shading (the `line_items` field)."""
    st, inv = s.st, s.inv
    cls = CLS["line_items"]
    hf = st.f(params["scale"], bold=params["head_bold"])
    cf = st.f(params["scale"])
    pad = st.px(params["pad"])
    items = inv.items[:n_rows]
    cols, w = _table_columns(s, width, items, params["cols"], hf=hf, cf=cf, pad=pad)
    nf = st.f(params["scale"] * 0.8)
    row_h = table_row_height(s, params)
    note_h = line_height(nf) if params["notes"] else 0.0
    head_h = line_height(hf) * params["head_pitch"]
    b = Block()
    head_text = st.ink
    if params["style"] in ("band", "zebra"):
        dark = params["dark_band"]
        b.rect((0, 0, width, head_h), fill=st.accent if dark else st.accent_light, field=cls)
        head_text = (255, 255, 255) if dark else st.ink
    if params["style"] == "zebra":
        for r in range(1, len(items), 2):
            y = head_h + r * row_h
            b.rect((0, y, width, y + row_h), fill=st.accent_light, field=cls)
    xs = [0.0]
    for c in cols:
        xs.append(xs[-1] + w[c])

    def put(text: str, font: Font, color: Color, k: int, y_mid: float) -> None:
        c = cols[k]
        asc, desc = fonts.metrics(font)
        base = y_mid + (asc - desc) / 2
        if c in _LEFT_COLS:
            b.text(xs[k] + pad, base, fit(text, font, w[c] - 2 * pad), font, color, field=cls)
        else:
            b.text(xs[k + 1] - pad, base, text, font, color, anchor="rs", field=cls)

    for k, c in enumerate(cols):
        put(inv.headers[c], hf, head_text, k, head_h / 2)
    for r, it in enumerate(items):
        y_mid = head_h + (r + 0.5) * row_h - note_h / 2
        for k, c in enumerate(cols):
            put(_CELL[c](it), cf, st.ink, k, y_mid)
            if c == "desc" and note_h:  # a second, smaller line under the description
                put(it.note, nf, st.muted, k, y_mid + line_height(cf) * 0.5 + note_h * 0.55)
    _table_rules(b, s, params, width=width, xs=xs, head_h=head_h, row_h=row_h, n=len(items))
    return b


def table_row_height(s: Sheet, params: dict) -> float:
    """Height of one item row (with its note line when the table has them)."""
    h = line_height(s.st.f(params["scale"])) * params["row_pitch"]
    return h + (line_height(s.st.f(params["scale"] * 0.8)) if params["notes"] else 0.0)


def table_params(rng: random.Random) -> dict:
    cols = ["desc"]
    if rng.random() < 0.25:
        cols.insert(0, "sku")
    if rng.random() < 0.85:
        cols.append("qty")
    if rng.random() < 0.3:
        cols.append("unit")
    if rng.random() < 0.8:
        cols.append("price")
    if rng.random() < 0.25:
        cols.append("vat")
    cols.append("amount")
    return {
        "cols": cols,
        "scale": rng.uniform(0.85, 1.0),
        "head_bold": rng.random() < 0.8,
        "pad": rng.uniform(6, 14),
        "row_pitch": rng.uniform(1.3, 2.0),
        "head_pitch": rng.uniform(1.5, 2.3),
        "style": rng.choice(("grid", "rules", "band", "zebra", "plain")),
        "dark_rules": rng.random() < 0.5,
        "rule_w": rng.uniform(1, 2.5),
        "dark_band": rng.random() < 0.4,
        "top_rule": rng.random() < 0.5,
        "row_rules": rng.random() < 0.5,
        "notes": rng.random() < 0.2,
    }


# --- totals, payment, notes, footer ---------------------------------------------------------------------


def totals_block(s: Sheet, params: dict) -> Block:
    """Subtotal, VAT and total (each a field: label + value), right-aligned, boxed or in a row."""
    st, inv = s.st, s.inv
    lf = st.f(params["scale"], bold=params["label_bold"])
    vf = st.f(params["scale"])
    tf = st.f(params["scale"] * params["total_scale"], bold=True)
    rows: list[tuple[str, str, int | None, Font, Font]] = [
        (st.label(inv.labels["subtotal"]), inv.subtotal, CLS["subtotal"], lf, vf),
        (st.label(inv.labels["vat"]), inv.vat, CLS["vat"], lf, vf),
    ]
    if params["extra"]:
        extra = {"en": ("Rounding", "Discount", "Shipping"), "sv": ("Öresavrundning", "Rabatt", "Frakt")}[
            inv.lang
        ]
        label = extra[params["extra_kind"]]
        rows.insert(
            1 if label in ("Discount", "Rabatt", "Shipping", "Frakt") else 2,
            (st.label(label), inv.money.number(params["extra_value"]), None, lf, vf),
        )
    rows.append((st.label(inv.labels["total_amount"]), inv.total, CLS["total_amount"], tf, tf))
    if not inv.money.symbol:  # plain amounts: the currency on a line of its own (not a field)
        rows.insert(
            0, (st.label("Valuta" if inv.lang == "sv" else "Currency"), inv.money.currency, None, lf, vf)
        )
    if params["style"] == "row":
        cells = [
            kv(
                lab,
                val,
                style="stacked",
                lf=st.f(params["scale"] * 0.8, bold=params["label_bold"]),
                vf=v,
                lc=st.label_color,
                vc=st.ink,
                gap=st.px(6),
                field=cls,
            )
            for lab, val, cls, _, v in rows
        ]
        out = Block()
        x = 0.0
        gap = st.px(params["gap"] * 2)
        for c in cells:
            out.add(c, x - c.x1, -c.y1)
            x += c.w + gap
        return out
    gap = st.px(params["gap"])
    label_w = max(f.getlength(lab) for lab, _, _, f, _ in rows)
    value_w = max(f.getlength(val) for _, val, _, _, f in rows)
    right = label_w + gap + value_w
    out = Block()
    y = 0.0
    for i, (lab, val, cls, f_l, f_v) in enumerate(rows):
        is_total = i == len(rows) - 1
        if is_total and params["rule"]:
            y += st.px(8)
            out.line((0, y, right, y), fill=st.ink, width=max(1, round(st.px(1.5))))
            y += st.px(8)
        row = kv(
            lab,
            val,
            style="columns",
            lf=f_l,
            vf=f_v,
            lc=st.label_color,
            vc=st.ink,
            gap=gap,
            right=right,
            field=cls,
        )
        out.add(row, 0, y + (line_height(f_v, st.spacing) - row.y2 if i else -row.y1))
        y = out.y2 + st.px(params["row_gap"])
    if params["style"] == "boxed":
        p = st.px(params["box_pad"])
        boxed = Block()
        fill = st.accent_light if params["box_fill"] else None
        boxed.rect(
            (out.x1 - p, out.y1 - p, out.x2 + p, out.y2 + p),
            fill=fill,
            outline=st.ink if params["box_line"] else None,
            width=max(1, round(st.px(1.5))),
        )
        boxed.add(out)
        return boxed
    return out


def totals_params(rng: random.Random) -> dict:
    return {
        "style": rng.choice(("right", "right", "boxed", "row")),
        "scale": rng.uniform(0.9, 1.05),
        "total_scale": rng.uniform(1.0, 1.35),
        "label_bold": rng.random() < 0.3,
        "gap": rng.uniform(24, 60),
        "row_gap": rng.uniform(6, 14),
        "rule": rng.random() < 0.5,
        "extra": rng.random() < 0.25,
        "extra_kind": rng.randrange(3),
        "extra_value": round(rng.uniform(-0.49, 0.49), 2),
        "box_pad": rng.uniform(10, 22),
        "box_fill": rng.random() < 0.5,
        "box_line": rng.random() < 0.7,
    }


def payment_block(s: Sheet, params: dict) -> Block:
    """The payment details (the `payment_reference` field), drawn as the page's payment variant asks:
    rows under a heading ('bottom'/'side'), a strip of cells, a payment slip, a row of framed cells
    ('boxed') or a framed bank-details block ('iban')."""
    style = params["style"]
    if style == "slip":
        return _slip(s, params)
    if style == "boxed":
        return _boxed_cells(s, params)
    if style == "iban":
        return _iban_block(s, params)
    st, inv = s.st, s.inv
    cls = CLS["payment_reference"]
    lf = st.f(params["scale"], bold=st.label_bold)
    vf = st.f(params["scale"], bold=params["value_bold"])
    heading = inv.labels["payment"] if params["heading"] else None
    hf = st.f(params["scale"] * 1.02, bold=True)
    if style == "strip":
        cells = [
            kv(
                lab,
                val,
                style="stacked",
                lf=st.f(params["scale"] * 0.8),
                vf=vf,
                lc=st.label_color,
                vc=st.ink,
                gap=st.px(5),
                field=cls,
            )
            for lab, val in inv.payment_lines
        ]
        out = Block()
        x = 0.0
        if heading:
            h = text_lines([(heading, hf, st.ink)], field=cls)
            out.add(h, 0, -h.y1)
            x = h.w + st.px(40)
        for c in cells:
            out.add(c, x - c.x1, -c.y1)
            x += c.w + st.px(params["gap"] * 1.5)
        return out
    body = _payment_rows(s, params, inv.payment_lines, lf=lf, vf=vf, cls=cls)
    if not heading:
        return body
    h = text_lines([(heading, hf, st.ink)], field=cls)
    return stack([h, body], st.px(params["head_gap"]))


def _payment_rows(
    s: Sheet, params: dict, lines: list[tuple[str, str]], *, lf: Font, vf: Font, cls: int | None
) -> Block:
    """Label/value rows (columns or inline) on a regular pitch."""
    st = s.st
    col = max(lf.getlength(st.label(lab)) for lab, _ in lines) + st.px(params["gap"])
    rows = [
        kv(
            st.label(lab),
            val,
            style=params["kv"],
            lf=lf,
            vf=vf,
            lc=st.label_color,
            vc=st.ink,
            gap=st.px(10),
            col=col,
            field=cls,
        )
        for lab, val in lines
    ]
    return _rows(rows, max(line_height(lf), line_height(vf)) * st.spacing, max(1.0, st.px(4)))


def _amount_cell(s: Sheet) -> tuple[str, str]:
    """The amount to pay as a payment slip prints it: the total, in its own labelled box."""
    inv = s.inv
    label = s.rng.choice(("Belopp", "Kronor", "Summa") if inv.lang == "sv" else ("Amount", "Amount to pay"))
    if inv.money.currency == "SEK" and inv.lang == "sv" and label == "Kronor":
        return label, inv.money.number(inv.total_value)
    return label, inv.money.money(inv.total_value) if inv.money.symbol else inv.money.number(inv.total_value)


def _framed_cells(
    s: Sheet,
    cells: list[tuple[str, str]],
    widths: list[float],
    *,
    lf: Font,
    vf: Font,
    pad: float,
    lw: int,
    fill: Color | None,
    line: Color,
    cls: int,
    gap: float,
) -> Block:
    """Cells side by side, each a frame with a small label at its top-left and the value under it."""
    st = s.st
    la, ld = fonts.metrics(lf)
    va, vd = fonts.metrics(vf)
    h = pad + la + ld + st.px(4) + va + vd + pad
    out = Block()
    x = 0.0
    for (lab, val), w in zip(cells, widths, strict=True):
        if fill is not None:
            out.rect((x, 0, x + w, h), fill=fill, field=cls)
        out.rect((x, 0, x + w, h), outline=line, width=lw, field=cls)
        out.text(x + pad * 0.6, pad * 0.6 + la, lab, lf, st.label_color, field=cls)
        out.text(x + pad, h - pad - vd, val, vf, st.ink, field=cls)
        x += w + gap
    return out


def _slip(s: Sheet, params: dict) -> Block:
    """A payment slip across the page: a title line, then framed fields (payee, Bankgiro/Plusgiro or
    IBAN, OCR or reference, amount) on a tinted band. All of it is the payment field."""
    st, rng, inv = s.st, s.rng, s.inv
    cls = CLS["payment_reference"]
    width = s.content_w * rng.uniform(0.9, 1.0)
    lf = st.f(params["scale"] * 0.72)
    vf = st.f(params["scale"] * 1.1, bold=params["value_bold"])
    pad = st.px(rng.uniform(8, 14))
    payee = "Betalningsmottagare" if inv.lang == "sv" else "Payee"
    cells = [(lab, val) for lab, val in inv.payment_lines] + [_amount_cell(s)]
    if rng.random() < 0.6:
        cells.insert(0, (payee, inv.supplier.name))
    need = [max(lf.getlength(a), vf.getlength(b)) + 2 * pad for a, b in cells]
    gap = st.px(rng.uniform(6, 16))
    while sum(need) + gap * (len(need) - 1) > width and len(cells) > 2:  # the payee goes first
        del cells[0], need[0]
    spare = max(0.0, width - sum(need) - gap * (len(need) - 1))
    widths = [w + spare / len(need) for w in need]
    band_fill = st.accent_light if params["fill"] else None
    body = _framed_cells(
        s,
        cells,
        widths,
        lf=lf,
        vf=vf,
        pad=pad,
        lw=max(1, round(st.px(1.5))),
        fill=(255, 255, 255) if band_fill else None,
        line=st.ink,
        cls=cls,
        gap=gap,
    )
    title = params["slip_title"][inv.lang]
    tf = st.f(params["scale"] * 0.95, bold=True)
    head = text_lines([(title, tf, st.ink)], field=cls)
    inner = stack([head, body], st.px(rng.uniform(8, 14)))
    if band_fill is None:
        return inner
    out = Block()
    m = st.px(rng.uniform(10, 18))
    out.rect((inner.x1 - m, inner.y1 - m, inner.x2 + m, inner.y2 + m), fill=band_fill, field=cls)
    out.add(inner)
    return out


def _boxed_cells(s: Sheet, params: dict) -> Block:
    """A row of small framed cells sharing their borders, label at the top-left of each, value under
    it: payment lines and the amount, as some footers print them."""
    st, rng, inv = s.st, s.rng, s.inv
    cls = CLS["payment_reference"]
    lf = st.f(params["scale"] * 0.7)
    vf = st.f(params["scale"] * 0.95, bold=params["value_bold"])
    pad = st.px(rng.uniform(6, 10))
    cells = [(st.label(lab, colon=False), val) for lab, val in inv.payment_lines] + [_amount_cell(s)]
    need = [max(lf.getlength(a), vf.getlength(b)) + 2 * pad for a, b in cells]
    spare = max(0.0, s.content_w * rng.uniform(0.6, 1.0) - sum(need))
    widths = [w + spare / len(need) for w in need]
    return _framed_cells(
        s,
        cells,
        widths,
        lf=lf,
        vf=vf,
        pad=pad,
        lw=max(1, round(st.px(1))),
        fill=st.accent_light if params["fill"] else None,
        line=st.muted if rng.random() < 0.5 else st.ink,
        cls=cls,
        gap=0.0,
    )


_BANK_NAMES = {
    "ESSESESS": "SEB",
    "HANDSESS": "Handelsbanken",
    "SWEDSESS": "Swedbank",
    "NDEASESS": "Nordea",
    "DABASESX": "Danske Bank",
    "NWBKGB2L": "NatWest",
    "BARCGB22": "Barclays",
    "HBUKGB4B": "HSBC UK",
    "DEUTDEFF": "Deutsche Bank",
    "COBADEFF": "Commerzbank",
    "NDEAFIHH": "Nordea",
    "OKOYFIHH": "OP",
}


def _iban_block(s: Sheet, params: dict) -> Block:
    """A framed bank-details block: heading, account holder, bank, IBAN, BIC (and a reference)."""
    st, rng, inv = s.st, s.rng, s.inv
    cls = CLS["payment_reference"]
    lf = st.f(params["scale"], bold=st.label_bold)
    vf = st.f(params["scale"], bold=params["value_bold"])
    holder = (
        ("Kontohavare", "Mottagare")
        if inv.lang == "sv"
        else ("Account holder", "Account name", "Beneficiary")
    )
    bank = "Bank"
    lines = [(rng.choice(holder), inv.supplier.name)]
    if inv.bank.get("bic") in _BANK_NAMES:
        lines.append((bank, _BANK_NAMES[inv.bank["bic"]]))
    lines += inv.payment_lines
    body = _payment_rows(s, params, lines, lf=lf, vf=vf, cls=cls)
    hf = st.f(params["scale"] * 1.02, bold=True)
    inner = stack(
        [text_lines([(inv.labels["payment"], hf, st.ink)], field=cls), body], st.px(params["head_gap"])
    )
    out = Block()
    m = st.px(rng.uniform(10, 18))
    out.rect(
        (inner.x1 - m, inner.y1 - m, inner.x2 + m, inner.y2 + m),
        fill=st.accent_light if params["fill"] else None,
        outline=st.muted if rng.random() < 0.6 else st.ink,
        width=max(1, round(st.px(1.5))),
        field=cls,
    )
    out.add(inner)
    return out


def refs_block(s: Sheet) -> Block:
    """Several reference numbers that are not the payment reference (customer, order and
    organisation numbers, your reference): look-alikes printed near the payment block."""
    st, rng, inv = s.st, s.rng, s.inv
    dl = inv.distractor_labels
    rows = [
        (dl["customer_no"], inv.customer_no),
        (dl["order_no"], inv.order_no),
        (dl["org_no"], inv.supplier.org_no),
        (dl["your_ref"], inv.your_ref),
    ]
    rng.shuffle(rows)
    rows = rows[: rng.choice((2, 3, 3, 4))]
    lf = st.f(rng.uniform(0.85, 1.0), bold=st.label_bold)
    vf = st.f(rng.uniform(0.85, 1.0))
    params = {"gap": rng.uniform(20, 40), "kv": rng.choice(("columns", "inline"))}
    return _payment_rows(s, params, rows, lf=lf, vf=vf, cls=None)


# Which payment lines each variant prints (None: the invoice's own choice); drawn per page.
def payment_kinds(rng: random.Random, lang: str, variant: str) -> list[str] | None:
    if variant == "slip":
        if lang == "sv":
            return ["plusgiro" if rng.random() < 0.2 else "bankgiro", "ocr"]
        return ["iban", "bic", "reference"]
    if variant == "iban_block":
        return ["iban", "bic"] + (["ocr" if lang == "sv" else "reference"] if rng.random() < 0.5 else [])
    if variant == "boxed_footer":
        if lang == "sv":
            return ["bankgiro", "ocr"] + (["iban"] if rng.random() < 0.3 else [])
        return ["iban", "bic", "reference"] if rng.random() < 0.6 else ["sort_code", "account", "reference"]
    return None


def payment_params(rng: random.Random, variant: str = "lines") -> dict:
    style = {
        "lines": rng.choice(("bottom", "bottom", "side")),
        "strip": "strip",
        "slip": "slip",
        "iban_block": "iban",
        "multi_ref": "bottom",
        "boxed_footer": "boxed",
    }[variant]
    return {
        "style": style,
        "place": rng.choice(("bottom", "side")) if style == "iban" else style,
        "scale": rng.uniform(0.85, 1.0),
        "value_bold": rng.random() < 0.3,
        "heading": rng.random() < 0.7,
        "kv": rng.choice(("columns", "inline")),
        "gap": rng.uniform(20, 40),
        "head_gap": rng.uniform(6, 16),
        "fill": rng.random() < 0.6,
        "slip_title": {
            "sv": rng.choice(("INBETALNING/GIRERING AVI", "Inbetalningskort", "BANKGIRO", "Betalningsavi")),
            "en": rng.choice(("PAYMENT SLIP", "Giro payment slip", "Remittance slip")),
        },
    }


def notes_block(s: Sheet, width: float) -> Block:
    """Free text that is not a field (terms, thanks)."""
    st = s.st
    f = st.f(s.rng.uniform(0.8, 0.95))
    lines: list[tuple[str, Font, Color]] = []
    for note in s.inv.notes:
        lines += [(ln, f, st.muted if s.rng.random() < 0.5 else st.ink) for ln in wrap(note, f, width)]
    return text_lines(lines, spacing=st.spacing) if lines else Block()


def footer_block(s: Sheet) -> Block:
    """Company details in small print under a rule; not a field (bank details stay out of it)."""
    st, rng, sup, lang = s.st, s.rng, s.inv.supplier, s.inv.lang
    f = st.f(rng.uniform(0.65, 0.8))
    c = st.muted if rng.random() < 0.7 else st.ink
    org = ("Org.nr " if lang == "sv" else "Company no. ") + sup.org_no
    vat = ("Momsreg.nr " if lang == "sv" else "VAT reg. no. ") + sup.vat_no
    cols = [
        [sup.name, *sup.lines[-2:]],
        [("Tel " if lang == "sv" else "Phone ") + sup.phone, sup.email, sup.web],
        [org, vat] + (["Godkänd för F-skatt"] if lang == "sv" and rng.random() < 0.5 else []),
    ]
    rng.shuffle(cols)
    cols = cols[: rng.choice((2, 3, 3))]
    out = Block()
    col_w = s.content_w / len(cols)
    for k, lines in enumerate(cols):
        t = text_lines([(ln, f, c) for ln in lines], spacing=1.15)
        out.add(t, k * col_w - t.x1, -t.y1)
    if rng.random() < 0.7:
        y = out.y1 - st.px(12)
        out.line((0, y, s.content_w, y), fill=c, width=max(1, round(st.px(1))))
    return out


def page_number(s: Sheet) -> Block:
    f = s.st.f(0.8)
    text = (
        s.rng.choice(("Page 1 of 1", "Page 1/1", "1 (1)"))
        if s.inv.lang == "en"
        else s.rng.choice(("Sida 1 (1)", "Sida 1 av 1", "1 (1)"))
    )
    return text_lines([(text, f, s.st.muted)], align="right")
