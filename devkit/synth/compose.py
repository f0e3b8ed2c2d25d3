"""One invoice page, composed top to bottom: header (one of the header families), table, totals,
payment (one of the payment variants), footer. Family names and their train/held-out split: families.py."""

from __future__ import annotations

import random

from devkit.synth import families
from devkit.synth.canvas import Block
from devkit.synth.content import Invoice
from devkit.synth.layout import (
    CLS,
    Sheet,
    footer_block,
    grid_block,
    header_cells_block,
    inline_lines,
    label_column_block,
    make_style,
    meta_cells,
    meta_items,
    meta_list,
    no_label_block,
    notes_block,
    page_number,
    party_block,
    payment_block,
    payment_kinds,
    payment_params,
    refs_block,
    supplier_block,
    table_block,
    table_params,
    table_row_height,
    title_block,
    totals_block,
    totals_params,
)


def compose(
    inv: Invoice,
    rng: random.Random,
    width: int,
    height: int,
    layout: str | None = None,
    *,
    policy: str = "train",
    payment: str | None = None,
) -> Sheet:
    """Lay out one invoice on a width×height page; returns the sheet with every block placed.

    The header family (`layout`), payment variant and fonts are drawn from `policy`'s pools unless
    given; `sheet.layout`, `sheet.payment` and `sheet.st` say which were used."""
    u = min(width / 1240, height / 1754)
    st = make_style(rng, u, policy)
    margin = (rng.uniform(55, 120), rng.uniform(55, 120), rng.uniform(45, 100), rng.uniform(35, 80))
    s = Sheet(
        width=width,
        height=height,
        st=st,
        rng=rng,
        inv=inv,
        left=st.px(margin[0]),
        right=width - st.px(margin[1]),
        top=st.px(margin[2]),
        bottom=height - st.px(margin[3]),
    )
    layout = layout or rng.choice(families.pool(families.HEADER_FAMILIES, policy))
    s.payment = payment or rng.choice(families.pool(families.PAYMENT_VARIANTS, policy))
    if layout not in families.HEADER_FAMILIES or s.payment not in families.PAYMENT_VARIANTS:
        raise ValueError(f"unknown header family {layout!r} or payment variant {s.payment!r}")
    s.layout = layout
    if rng.random() < 0.2:  # a coloured band across the top, as some templates have
        band = Block()
        band.rect((0, 0, width, st.px(rng.uniform(12, 30))), fill=st.accent)
        s.place(band, 0, 0, pad=0)
        s.top = max(s.top, band.h + st.px(20))
    _HEADERS[layout](s)
    _body(s)
    return s


def _customer(s: Sheet, align: str = "left") -> Block:
    heading = s.inv.labels["bill_to"] if s.rng.random() < 0.75 else None
    return party_block(s, heading, s.inv.customer, CLS["customer_address"], align)


def _ship_to(s: Sheet, y: float, x_min: float, x_max: float) -> None:
    """A delivery address (not a field) where there is room; it looks like the customer block on purpose."""
    if s.inv.ship_to is None:
        return
    b = party_block(s, s.inv.distractor_labels["ship_to"], s.inv.ship_to, None)
    if x_max - x_min >= b.w:
        s.place(b, x_min + s.rng.uniform(0, x_max - x_min - b.w), y)


def _meta_right(s: Sheet) -> None:
    st, rng = s.st, s.rng
    sup = supplier_block(s, "left")
    sup_y = s.top + s.jit(10)
    s.place(sup, s.left + s.jit(10), sup_y, force=True)
    title = title_block(s)
    ty = s.top + s.jit(8)
    s.place(title, s.right - title.w, ty)
    meta = meta_list(s, meta_items(s))
    my = max(ty + title.h, s.top) + st.px(rng.uniform(20, 60))
    s.place_down(meta, s.right - meta.w - st.px(rng.uniform(0, 40)), my)
    cust = _customer(s)
    cy = sup_y + sup.h + st.px(rng.uniform(40, 110))
    cx = s.left + st.px(rng.uniform(0, 70))
    s.place_down(cust, cx, cy)
    _ship_to(s, cy, cx + cust.w + st.px(60), s.right - meta.w - st.px(60))


def _meta_left(s: Sheet) -> None:
    st, rng = s.st, s.rng
    title = title_block(s)
    ty = s.top + s.jit(8)
    s.place(title, s.left + s.jit(8), ty, force=True)
    sup = supplier_block(s, "right")
    sup_bottom = s.place_down(sup, s.right - sup.w, s.top + s.jit(8))
    meta = meta_list(s, meta_items(s))
    my = ty + title.h + st.px(rng.uniform(25, 60))
    s.place_down(meta, s.left + st.px(rng.uniform(0, 30)), my)
    cust = _customer(s)
    cy = sup_bottom + st.px(rng.uniform(20, 70))
    cx = max(s.left + s.content_w * rng.uniform(0.5, 0.6), s.left + meta.w + st.px(40))
    cx = min(cx, s.right - cust.w)
    s.place_down(cust, cx, cy)


def _meta_under(s: Sheet) -> None:
    st, rng = s.st, s.rng
    sup = supplier_block(s, "left")
    s.place(sup, s.left + s.jit(10), s.top + s.jit(10), force=True)
    title = title_block(s, "right")
    s.place_down(title, s.right - title.w, s.top + s.jit(8))
    y = s.bottom_of() + st.px(rng.uniform(25, 50))
    if rng.random() < 0.6:
        rule = Block()
        rule.line((0, 0, s.content_w, 0), fill=st.muted, width=max(1, round(st.px(1.5))))
        s.place(rule, s.left, y, pad=0)
        y += st.px(rng.uniform(15, 30))
    items = meta_items(s)
    cells = meta_cells(s, items, st.px(rng.uniform(4, 10)))
    # At most five cells, and they must fit one row: drop distractor cells (never a field) until they do.
    while len(cells) > 3 and (
        len(cells) > 5 or sum(c.w for c in cells) + st.px(20) * (len(cells) - 1) > s.content_w
    ):
        k = max(i for i, (_, _, cls) in enumerate(items) if cls is None)
        del items[k], cells[k]
    total_w = sum(c.w for c in cells)
    gap = max(st.px(10), (s.content_w - total_w) / max(1, len(cells) - 1))
    if rng.random() < 0.4:  # not always justified across the page
        gap = min(gap, st.px(rng.uniform(40, 90)))
    x = s.left
    row_bottom = y
    for c in cells:
        s.place_down(c, x, y)
        row_bottom = max(row_bottom, y + c.h)
        x += c.w + gap
    cust = _customer(s)
    cy = row_bottom + st.px(rng.uniform(35, 80))
    cx = s.left + st.px(rng.uniform(0, 60))
    s.place_down(cust, cx, cy)
    _ship_to(s, cy, s.left + s.content_w * 0.5, s.right)


def _meta_grid(s: Sheet) -> None:
    st, rng = s.st, s.rng
    sup_right = rng.random() < 0.35
    sup = supplier_block(s, "right" if sup_right else "left")
    title = title_block(s)
    if sup_right:
        s.place(sup, s.right - sup.w, s.top + s.jit(8), force=True)
        s.place_down(title, s.left, s.top + s.jit(8))
    else:
        s.place(sup, s.left, s.top + s.jit(8), force=True)
        s.place_down(title, s.right - title.w, s.top + s.jit(8))
    items = meta_items(s)
    cells = meta_cells(s, items, st.px(rng.uniform(3, 8)))
    ncols = 2 if len(cells) >= 4 or rng.random() < 0.5 else 1
    grid = grid_block(s, cells, ncols)
    if grid.w > s.content_w * 0.6:
        grid = grid_block(s, cells, 1)
    gy = s.bottom_of() + st.px(rng.uniform(25, 60))
    cust = _customer(s)
    if rng.random() < 0.5:
        s.place_down(grid, s.right - grid.w, gy)
        s.place_down(cust, s.left + st.px(rng.uniform(0, 40)), gy + st.px(rng.uniform(0, 30)))
    else:
        s.place_down(grid, s.left, gy)
        cx = max(s.left + grid.w + st.px(60), s.left + s.content_w * 0.55)
        s.place_down(cust, min(cx, s.right - cust.w), gy)


def _supplier_and_title(s: Sheet) -> None:
    """Supplier at one top corner, the title at the other."""
    sup_right = s.rng.random() < 0.3
    sup = supplier_block(s, "right" if sup_right else "left")
    title = title_block(s)
    if sup_right:
        s.place(sup, s.right - sup.w, s.top + s.jit(8), force=True)
        s.place_down(title, s.left, s.top + s.jit(8))
    else:
        s.place(sup, s.left + s.jit(8), s.top + s.jit(8), force=True)
        s.place_down(title, s.right - title.w, s.top + s.jit(8))


def _label_column(s: Sheet) -> None:
    """Labels in one column, values 200+ design px to their right; the customer beside or below."""
    st, rng = s.st, s.rng
    _supplier_and_title(s)
    meta = label_column_block(s, meta_items(s))
    y = s.bottom_of() + st.px(rng.uniform(30, 70))
    cust = _customer(s)
    if rng.random() < 0.5 and meta.w + st.px(80) + cust.w <= s.content_w:
        mx = s.left + st.px(rng.uniform(0, 30))
        s.place_down(meta, mx, y)
        s.place_down(cust, s.right - cust.w - st.px(rng.uniform(0, 40)), y)
    elif meta.w + st.px(80) + cust.w <= s.content_w:
        s.place_down(cust, s.left + st.px(rng.uniform(0, 40)), y)
        s.place_down(meta, s.right - meta.w, y + st.px(rng.uniform(0, 20)))
    else:
        bottom = s.place_down(meta, s.left, y)
        s.place_down(cust, s.left + st.px(rng.uniform(0, 60)), bottom + st.px(rng.uniform(30, 60)))


def _header_cells(s: Sheet) -> None:
    """A bordered row of header cells (label above value) across the page, the customer below."""
    st, rng = s.st, s.rng
    _supplier_and_title(s)
    items = meta_items(s)
    width = s.content_w * rng.uniform(0.7, 1.0)
    cells = header_cells_block(s, items, width)
    # Too wide for the page: drop distractor columns (never a field) until it fits.
    while cells.w > s.content_w and any(cls is None for _, _, cls in items):
        del items[max(i for i, (_, _, cls) in enumerate(items) if cls is None)]
        cells = header_cells_block(s, items, width)
    y = s.bottom_of() + st.px(rng.uniform(30, 60))
    x = s.left if rng.random() < 0.7 else s.right - cells.w
    bottom = s.place_down(cells, max(s.left, x), y)
    cust = _customer(s)
    cy = bottom + st.px(rng.uniform(30, 70))
    s.place_down(cust, s.left + st.px(rng.uniform(0, 60)), cy)
    _ship_to(s, cy, s.left + s.content_w * 0.5, s.right)


def _inline(s: Sheet) -> None:
    """'Invoice No. 12345  Date 2026-04-22' lines under the header, one to three pairs a line."""
    st, rng = s.st, s.rng
    _supplier_and_title(s)
    y = s.bottom_of() + st.px(rng.uniform(25, 60))
    cust = _customer(s)
    if rng.random() < 0.5:  # the lines across the page, the customer below
        lines = inline_lines(s, meta_items(s), s.content_w)
        bottom = s.place_down(lines, s.left + st.px(rng.uniform(0, 20)), y)
        s.place_down(cust, s.left + st.px(rng.uniform(0, 60)), bottom + st.px(rng.uniform(30, 70)))
    else:  # the customer at the left, the lines in the right half
        s.place_down(cust, s.left + st.px(rng.uniform(0, 40)), y)
        lines = inline_lines(s, meta_items(s), s.content_w * 0.48)
        s.place_down(lines, s.right - lines.w, y)


def _no_label(s: Sheet) -> None:
    """The title as a heading with the number and date under it unlabelled; the due date and the
    look-alikes in labelled rows elsewhere."""
    st, rng = s.st, s.rng
    right = rng.random() < 0.6
    sup = supplier_block(s, "left" if right else "right")
    if right:
        s.place(sup, s.left + s.jit(8), s.top + s.jit(8), force=True)
    else:
        s.place(sup, s.right - sup.w, s.top + s.jit(8), force=True)
    head = no_label_block(s, "right" if right else "left")
    head_bottom = s.place_down(head, s.right - head.w if right else s.left, s.top + s.jit(8))
    items = [it for it in meta_items(s) if it[2] not in (CLS["invoice_number"], CLS["invoice_date"])]
    rows = meta_list(s, items)
    y = max(head_bottom, s.bottom_of()) + st.px(rng.uniform(25, 60))
    cust = _customer(s)
    s.place_down(cust, s.left + st.px(rng.uniform(0, 40)), y)
    s.place_down(rows, s.right - rows.w, y + st.px(rng.uniform(0, 20)))


_HEADERS = {
    "meta_right": _meta_right,
    "meta_left": _meta_left,
    "meta_under": _meta_under,
    "meta_grid": _meta_grid,
    "label_column": _label_column,
    "header_cells": _header_cells,
    "inline": _inline,
    "no_label": _no_label,
}


def _payment_setup(s: Sheet) -> dict:
    """The payment variant's drawing parameters; the invoice prints the lines the variant wants."""
    params = payment_params(s.rng, s.payment)
    kinds = payment_kinds(s.rng, s.inv.lang, s.payment)
    if kinds is not None:
        s.inv.set_payment(kinds)
    return params


def _body(s: Sheet) -> None:
    """Table, totals, payment, notes and footer below the header, sized to what is left of the page."""
    st, rng, inv = s.st, s.rng, s.inv
    tparams, totparams, payparams = table_params(rng), totals_params(rng), _payment_setup(s)
    if totparams["style"] == "row" and payparams["place"] == "side":
        payparams["place"] = "bottom"
    table_w = s.content_w - st.px(rng.uniform(0, 40))
    y_table = s.bottom_of() + st.px(rng.uniform(40, 90))
    footer = footer_block(s)
    pageno = page_number(s) if rng.random() < 0.6 else Block()
    notes = notes_block(s, s.content_w * rng.uniform(0.45, 0.8))
    refs = refs_block(s) if s.payment == "multi_ref" else Block()
    gap = st.px(rng.uniform(25, 50))
    # What must fit under the table, measured with today's amounts (heights do not depend on them).
    tot = totals_block(s, totparams)
    pay = payment_block(s, payparams)
    below = tot.h + gap + (notes.h + gap if not notes.empty else 0) + footer.h + gap
    if payparams["place"] != "side" or pay.w + st.px(60) + tot.w > s.content_w:
        below += pay.h + gap + st.px(24)  # room for a rule or cut line above it
        if payparams["place"] == "side":
            payparams["place"] = "bottom"
    refs_beside = not refs.empty and pay.w + st.px(60) + refs.w <= s.content_w
    if not refs.empty and not refs_beside:
        below += refs.h + gap
    one_row = table_block(s, table_w, 1, tparams)
    row_h = table_row_height(s, tparams)
    room = s.bottom - below - y_table - one_row.h
    n = max(1, min(len(inv.items), 1 + int(room // row_h)))
    inv.keep_items(n)
    table = table_block(s, table_w, n, tparams)
    s.place_down(table, s.left, y_table)
    y = s.bottom_of() + gap
    tot = totals_block(s, totparams)  # again: amounts changed with the rows kept
    pay = payment_block(s, payparams)
    place = payparams["place"]
    if totparams["style"] == "row":
        s.place_down(tot, s.left + (table_w - tot.w if rng.random() < 0.5 else 0), y)
    else:
        s.place_down(tot, s.left + table_w - tot.w, y)
    if place == "side":
        s.place_down(pay, s.left, y)
    y = s.bottom_of() + gap
    if not notes.empty:
        s.place_down(notes, s.left, y)
        y = s.bottom_of() + gap
    footer_y = s.bottom - footer.h
    if place != "side":
        _place_payment(s, pay, refs, y=y, footer_y=footer_y, gap=gap, place=place, refs_beside=refs_beside)
    s.place_down(footer, s.left, max(footer_y, s.bottom_of() + gap))
    if not pageno.empty:
        s.place(pageno, s.right - pageno.w, s.height - st.px(rng.uniform(20, 40)) - pageno.h)


def _place_payment(
    s: Sheet, pay: Block, refs: Block, *, y: float, footer_y: float, gap: float, place: str, refs_beside: bool
) -> None:
    """The payment block under the totals or down at the footer (slips and boxed cells always are),
    under a rule or a dashed cut line; the look-alike references beside or under it."""
    st, rng = s.st, s.rng
    at_foot = place in ("slip", "boxed") or (place == "strip" and rng.random() >= 0.3)
    refs_h = refs.h + gap if not refs.empty and not refs_beside else 0.0
    py = max(y, footer_y - gap - pay.h - refs_h) if at_foot else y
    if place == "slip" or (place == "strip" and rng.random() < 0.6):
        rule = Block()
        if place == "slip":  # a dashed cut line across the page: not a field
            dash = st.px(rng.uniform(6, 12))
            width = max(1, round(st.px(1.2)))
            for k in range(int(s.content_w // (2 * dash)) + 1):
                x = k * 2 * dash
                rule.line((x, 0, min(s.content_w, x + dash), 0), fill=st.muted, width=width)
        else:
            rule.line((0, 0, s.content_w, 0), fill=st.muted, width=1)
        if s.place(rule, s.left, py, pad=st.px(4)):
            py += st.px(16)
    px = s.left + ((s.content_w - pay.w) / 2 if place == "slip" else st.px(rng.uniform(0, 20)))
    bottom = s.place_down(pay, px, py)
    if refs.empty:
        return
    if refs_beside:
        s.place_down(refs, s.right - refs.w, py)
    else:
        s.place_down(refs, s.left, bottom + gap * 0.6)
