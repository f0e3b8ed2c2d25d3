"""What a page can look like, by name, and which names are trained on and which are held out.

An honest evaluation leaves whole kinds of page out of training: a header layout family the model
has never seen, a payment block it has never seen, label wordings it has never read, and fonts it
has never seen. `render_invoice(seed, policy=...)` draws only from one policy's pool:

- "train": the TRAIN names (train and in-family validation pages);
- "held_out": the HELD_OUT names where a choice is held out, and the shared ones elsewhere
  (a held-out page has a held-out header family, payment variant, wording and, where installed, font);
- "any": everything.

Why these are held out:
- header families `label_column` and `inline`: each has a near relative in training (meta_list's
  columns 14-150 design px apart, its inline rows, its two pairs a row), so the held-out score says
  whether the model learnt "label, then value" rather than one template's spacing; label_column's
  200-340 px lie beyond the trained gaps, and inline's 1-3 pairs a line flow with separators;
  `no_label` stays in training because it is the one family whose box holds the value alone (a
  convention a model cannot guess),
  and `header_cells` because bordered label-over-value cells are what many real templates print.
- payment `boxed_footer`: its relatives `slip` (boxed fields) and `lines` are trained on.
- wording `alternate`: label synonyms (e.g. "Fakturanummer", "Bill number", "Payable by") no
  training page prints; the model must go by layout and value shape, as with an unknown template.
- fonts "Nimbus Sans" and "FreeSerif": a Helvetica clone and a Times-like serif, when installed.

Date and amount formats are SHARED (both pools): they are what a reader parses; the detector sees
them only as value shapes, and holding them out would mostly test the reader, not the layout.
"""

from __future__ import annotations

from collections.abc import Mapping

from devkit.synth import fonts

TRAIN = "train"
HELD_OUT = "held_out"
SHARED = "shared"
POLICIES: tuple[str, ...] = ("train", "held_out", "any")

# Header/meta layouts (compose.py draws each).
HEADER_FAMILIES: dict[str, str] = {
    "meta_right": TRAIN,
    "meta_left": TRAIN,
    "meta_under": TRAIN,
    "meta_grid": TRAIN,
    "header_cells": TRAIN,
    "no_label": TRAIN,
    "label_column": HELD_OUT,
    "inline": HELD_OUT,
}

# How the payment details are printed (layout.py `payment_block`).
PAYMENT_VARIANTS: dict[str, str] = {
    "lines": TRAIN,  # label/value rows under a heading, at the bottom or beside the totals
    "strip": TRAIN,  # one row of label-over-value cells across the page
    "slip": TRAIN,  # a Swedish payment slip under a cut line: boxed Bankgiro / OCR / amount fields
    "iban_block": TRAIN,  # a framed bank-details block: account holder, bank, IBAN, BIC
    "multi_ref": TRAIN,  # payment rows beside a block of look-alike numbers (customer, order, org no.)
    "boxed_footer": HELD_OUT,  # a row of small framed cells (label top-left, value) above the footer
}

# Label synonym sets (content.py FIELD_LABELS / ALT_FIELD_LABELS); no phrase is in both.
WORDINGS: dict[str, str] = {"common": TRAIN, "alternate": HELD_OUT}

# How dates and amounts are printed (content.py DATE_FORMATS / AMOUNT_FORMATS).
DATE_FORMATS: dict[str, str] = {
    "iso": SHARED,  # 2026-04-22
    "dmy_dot": SHARED,  # 22.04.2026
    "dmy_slash": SHARED,  # 22/04/2026
    "mdy_slash": SHARED,  # 04/22/2026 (English pages only)
    "month_day_year": SHARED,  # April 22, 2026 (English pages only)
    "day_mon_year": SHARED,  # 22 Apr 2026, 22 apr 2026
    "day_month_year": SHARED,  # 22 april 2026 (Swedish pages only)
    "yymmdd": SHARED,  # 260422
}
AMOUNT_FORMATS: dict[str, str] = {
    "space_comma": SHARED,  # 212 880,00 kr
    "code_prefix": SHARED,  # SEK 212,880.00
    "dot_comma": SHARED,  # 1.234,50 EUR
    "symbol_prefix": SHARED,  # €1,234.50
    "plain": SHARED,  # 212880.00 (the currency printed on its own line)
}

# Font families by the names fonts.families() gives them; any other installed family is TRAIN.
HELD_OUT_FONTS: tuple[str, ...] = ("Nimbus Sans", "FreeSerif")


def pool(registry: Mapping[str, str], policy: str) -> tuple[str, ...]:
    """The names of `registry` a page of `policy` may use, in registry order (part of determinism).

    "held_out" gives the HELD_OUT names when the registry has any, else the shared ones."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if policy == "any":
        return tuple(registry)
    wanted = TRAIN if policy == "train" else HELD_OUT
    own = tuple(k for k, v in registry.items() if v == wanted)
    return own or tuple(k for k, v in registry.items() if v == SHARED)


def font_pool(policy: str) -> tuple[fonts.FontFamily, ...]:
    """The installed font families a page of `policy` may use.

    Never empty: when no held-out font is installed, held-out pages fall back to the others (the
    page records the family it used, so an evaluation can tell)."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    fams = fonts.families()
    if policy == "any":
        return fams
    held = tuple(f for f in fams if f.name in HELD_OUT_FONTS)
    trained = tuple(f for f in fams if f.name not in HELD_OUT_FONTS)
    chosen = held if policy == "held_out" else trained
    return chosen or fams
