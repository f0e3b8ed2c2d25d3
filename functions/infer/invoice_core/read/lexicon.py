"""The label words that say which field a printed value is, in Swedish and English.

Look-alikes (customer number, order number, delivery date, organisation number, phone, VAT
registration number, our/your reference, ...) are labels too, of no field (`IGNORE`): they claim their
values so that nothing else takes them. Where labels overlap the longest wins ("Summa att betala"
over "Att betala", "Att betala senast" over "Att betala", "Momsreg.nr" over "Moms", "Kundnummer" over
"Kund"), so one lexicon serves both languages.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from invoice_contracts import fields as registry
from invoice_core.read.normalise import clean

IGNORE = "-"  # the field of a look-alike label: it claims its value
TEXT = "~"  # words that read like a label but are a value themselves ("30 dagar netto"): claim nothing

# "inkl. moms", "(excl. VAT)" after a sum's label: part of the label, and what tells a total from a subtotal
_INCL = r"(?:[\s,]*\(?\s*(?:inkl|incl|including|inklusive)[\s.]*(?:moms|vat|tax|mva)\s*\)?)"
_EXCL = r"(?:[\s,]*\(?\s*(?:exkl|excl|excluding|exklusive|ex)[\s.]*(?:moms|vat|tax|mva)\s*\)?)"
_RATE = r"(?:\s*@?\s*\(?\s*\d{1,2}(?:[.,]\d{1,2})?\s*%\s*\)?)?"  # "Moms 25%", "VAT (20 %)", "VAT @ 20%"


@dataclass(frozen=True)
class Label:
    """One label: the field it names, its pattern, how specific it is, whether it heads a cell below."""

    field: str
    pattern: re.Pattern[str]
    strong: bool = True
    heads_column: bool = True  # False: also heads line-item columns ("Total"): one cell below only
    glued: re.Pattern[str] | None = None  # the pattern without its word boundaries (see _BOUNDARY_FREE)


def _base_letter(ch: str) -> str:
    base = unicodedata.normalize("NFD", ch)[0]
    return base if base.isascii() and base.isalpha() else ch


# OCR drops or swaps diacritics ("Utstalld", "Forfallodatum", "Förfallodalum" aside): labels match
# without them. One character for one, so spans found in the plain text index the original.
_PLAIN = str.maketrans({chr(c): _base_letter(chr(c)) for c in range(0xC0, 0x180) if chr(c).isalpha()})


# The letters a degraded scan (fax) reads for one another: "Involce", "Faktureringsdatun". Only in
# labels of LOOSE_MIN letters or more, where one such slip still leaves no other word.
CONFUSED = {"i": "[il1|!]", "l": "[li1|]", "m": "[mn]", "n": "[nm]"}
LOOSE_MIN = 7


def _rx(text: str) -> str:
    """'Invoice No.' -> a pattern: any case, flexible spaces, optional dots and hyphens, no accents;
    a long label also with the letters OCR confuses (`CONFUSED`)."""
    out = []
    loose = sum(c.isalpha() for c in text) >= LOOSE_MIN
    for ch in text.translate(_PLAIN):
        if loose and ch.lower() in CONFUSED:
            out.append(CONFUSED[ch.lower()])
            continue
        if ch == " ":
            out.append(r"[\s\-]*")
        elif ch == ".":
            out.append(r"[\s.]*")
        elif ch == "-":
            out.append(r"[\s\-]*")
        else:
            out.append(re.escape(ch.lower()))
    return "".join(out)


def _labels(
    field: str, phrases: str, *, strong: bool = True, heads_column: bool = True, suffix: str = ""
) -> list[Label]:
    cores = [f"{_rx(p.strip())}{suffix}" for p in phrases.split("|")]
    return [
        Label(field, re.compile(rf"(?<![\w]){core}(?![^\W\d_])"), strong, heads_column, re.compile(core))
        for core in cores
    ]


LABELS: tuple[Label, ...] = (
    *_labels(
        "invoice_number",
        "Fakturanr|Fakturanummer|Faktura nr|Faktura-nr|Fakturanr.|Invoice No.|Invoice number|Invoice #|"
        "Invoice nr|Invoice ID|Inv. no.|Inv #|Inv. #|Invoice ref.|Faktura nummer|Bill number|Bill no.|Bill #|"
        "Document no.|Document number",
    ),
    *_labels(
        "invoice_date",
        "Fakturadatum|Invoice date|Date of issue|Issue date|Date issued|Utskriftsdatum|Faktureringsdatum|"
        "Fakturans datum|Utställd|Utställningsdatum|Billing date|Invoiced on|Bill date",
    ),
    *_labels("invoice_date", "Datum|Date", strong=False),
    *_labels(
        "due_date",
        "Förfallodatum|Förfallodag|Förfaller|Att betala senast|Betala senast|Betalas senast|"
        "Sista betalningsdag|Due date|Payment due|Payment due date|Date due|Pay by|Due by|Payable by",
    ),
    *_labels(
        "subtotal",
        "Netto|Nettobelopp|Nettosumma|Delsumma|Subtotal|Sub-total|Sub total|Net amount|Net total|Total net|"
        "Exkl. moms|Excl. VAT|Exklusive moms",
        suffix=_EXCL + "?",
    ),
    *_labels("subtotal", "Summa|Belopp|Totalt|Total|Amount|Totalbelopp", suffix=_EXCL),
    *_labels(
        "vat",
        "Moms|Momsbelopp|Summa moms|Varav moms|Mervärdesskatt|VAT|VAT amount|Total VAT|Sales tax",
        suffix=_RATE,
    ),
    *_labels("vat", "Tax", strong=False, suffix=_RATE),
    *_labels(
        "total_amount",
        "Att betala|Summa att betala|Belopp att betala|Totalbelopp|Totalt att betala|Att betala totalt|"
        "Total due|Amount due|Balance due|Amount payable|Total amount|Grand total|Total to pay|"
        "Inkl. moms|Incl. VAT",
        suffix=_INCL + "?",
    ),
    *_labels("total_amount", "Summa|Belopp|Totalt|Total|Amount", suffix=_INCL),
    *_labels("total_amount", "Total|Totalt|Summa", strong=False, heads_column=False),
    *_labels(
        "payment_reference",
        "OCR|OCR-nummer|OCR-nr|OCR nr|OCR-referens|OCR/Referens|OCR/Ref.|Betalningsreferens|"
        "Payment reference",
    ),
    *_labels("payment_reference", "Referens|Referensnummer|Reference|Reference number|Ref.", strong=False),
    *_labels("bankgiro", "Bankgiro|Bankgironr|Bankgironummer|Bg|Bg-nr|BG nr"),
    *_labels("plusgiro", "Plusgiro|Plusgironr|Postgiro|Pg|PG nr"),
    *_labels("iban", "IBAN|IBAN-nummer"),
    *_labels("bic", "BIC|SWIFT|BIC/SWIFT|SWIFT/BIC|SWIFT code|BIC code|Swift-adress"),
    *_labels("currency", "Valuta|Currency"),
    *_labels(
        "customer_address",
        "Faktureringsadress|Fakturamottagare|Fakturaadress|Kund|Köpare|Bill to|Billed to|Invoice to|"
        "Customer|Sold to|Invoice address|Bill-to party|Mottagare",
    ),
    # payment terms: "30 dagar netto", "Netto 30 dagar", "14 days net" ("netto" alone is a subtotal)
    Label(
        TEXT, re.compile(r"(?<!\w)(?:\d+\s*(?:dagar|days)(?:\s*(?:netto|net))?|netto\s*\d+\s*dagar)(?!\w)")
    ),
    *_labels(
        IGNORE,
        # customer / order numbers
        "Kundnummer|Kundnr|Kund-ID|Kund nr|Customer no.|Customer number|Customer ID|Account no.|"
        "Account number|Ordernummer|Ordernr|Order no.|Order number|Beställningsnr|Beställningsnummer|"
        "PO number|PO no.|"
        "Purchase order|Er ordernr|Ert ordernr|Projektnr|Avtalsnr|"
        # dates that are not the invoice's
        "Leveransdatum|Leveransvecka|Orderdatum|Beställningsdatum|Delivery date|Ship date|Order date|"
        "Service period|Period|"
        # organisation, VAT registration, contact numbers
        "Org.nr|Org. nr|Org nr|Organisationsnummer|Org.no.|Organisation number|Company no.|Company reg. no.|"
        "Reg. no.|Registration no.|Momsreg.nr|Momsreg. nr|Momsregistreringsnummer|Moms reg nr|Momsnr|"
        "VAT reg. no.|VAT registration number|VAT registration no.|VAT no.|VAT number|VAT ID|VAT reg.|"
        "Tel|Tel.|Telefon|Telefax|Tfn|Phone|Mobil|Mobile|Fax|E-post|Email|E-mail|Webb|Web|Hemsida|"
        # references that are people, terms and bank details that are not a payment target
        "Er referens|Vår referens|Your reference|Our reference|Your ref.|Our ref.|Er ref.|Vår ref.|"
        "Kontaktperson|Handläggare|Sales contact|Contact|Attn.|Att:|"
        "Betalningsvillkor|Payment terms|Terms|Villkor|"
        "Dröjsmålsränta|Sort code|Clearingnr|Clearingnummer|Kontonr|Kontonummer|"
        "Moms %|VAT %|Momssats|VAT rate|"
        # another party's address: its heading claims the name under it
        "Ship to|Deliver to|Delivery address|Leveransadress|Leverans till|Godsmottagare",
    ),
    *_labels(TEXT, "F-skatt|Godkänd för F-skatt|Innehar F-skattsedel"),
)


@dataclass(frozen=True)
class Found:
    """A label at [start, end) of some text."""

    label: Label
    start: int
    end: int


def fold(text: str) -> str:
    """Lower case of the same length (spans found in it index the original text)."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in clean(text))


def _screens(
    labels: tuple[Label, ...],
) -> tuple[re.Pattern[str], tuple[re.Pattern[str], ...], re.Pattern[str]]:
    """One pattern for any label (most text has none), the labels without their word boundaries,
    and one pattern for any of those.

    A text layer may run a label into its neighbour with no space: "FakturanummerINV-2025-8061",
    "Amount payableGBP 84,563.71", "Tove ÅbergBETALAS SENAST". The same patterns without their word
    boundaries find them, kept only where the joint is one a printed word never has (see `_glued`)."""
    unbounded = tuple(label.glued or label.pattern for label in labels)
    return (
        re.compile("|".join(f"(?:{label.pattern.pattern})" for label in labels)),
        unbounded,
        re.compile("|".join(f"(?:{p.pattern})" for p in unbounded)),
    )


def _check_fields(labels: tuple[Label, ...]) -> None:
    """Every label names a field of the registry (or claims a look-alike's value)."""
    unknown = {label.field for label in labels} - set(registry.names()) - {IGNORE, TEXT}
    if unknown:
        raise ValueError(f"labels of fields the field registry does not have: {sorted(unknown)}")


_check_fields(LABELS)
_ANY, _BOUNDARY_FREE, _ANY_GLUED = _screens(LABELS)


def add_labels(field: str, phrases: str, *, strong: bool = True, heads_column: bool = True) -> None:
    """Teach the lexicon a field's label words ("Contract number|Avtalsnummer"): the hook for a
    field added to the registry (`invoice_contracts.fields`) without editing this table."""
    global LABELS, _ANY, _BOUNDARY_FREE, _ANY_GLUED  # noqa: PLW0603 - the one table, extended once at start-up
    added = tuple(_labels(field, phrases, strong=strong, heads_column=heads_column))
    _check_fields(added)
    LABELS = (*LABELS, *added)
    _ANY, _BOUNDARY_FREE, _ANY_GLUED = _screens(LABELS)
    find_labels.cache_clear()


GLUED_MIN = 5  # a short label ("Tel", "Bg") inside a word is more often a coincidence than a joint
_CAPS_VALUE = re.compile(r"[A-ZÅÄÖ]{1,5}[-/]?\d")  # "INV-2021", "F2021994": a value's letters, then digits


def _glued(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` is a label run into its neighbours at a joint a word does not have:
    lower case then upper case ("ÅbergBETALAS", "payableGBP"), or an all-capitals label then a
    value of capitals and digits ("NUMMERINV-2021-0012")."""
    if end - start < GLUED_MIN:
        return False
    # a joint before the label: a word of two or more lower-case letters ("Åberg", not the i of "iPhone")
    joint = start >= 2 and text[start - 2 : start].isalpha() and text[start - 2 : start].islower()
    if start > 0 and text[start - 1].isalnum() and not (joint and text[start].isupper()):
        return False
    if end == len(text) or not text[end].isalpha():
        return True
    if text[end - 1].islower() and text[end].isupper():
        return True
    label = text[start:end]
    return label.upper() == label and _CAPS_VALUE.match(text, end) is not None


@lru_cache(maxsize=8192)
def find_labels(text: str) -> tuple[Found, ...]:
    """Non-overlapping labels in `text`, left to right; at an overlap the longest (then strongest) wins."""
    folded = fold(text).translate(_PLAIN)
    original = clean(text)
    # only a capital (or a letter with a diacritic) can show a joint: else the bounded labels alone
    if not (_ANY if original == folded else _ANY_GLUED).search(folded):
        return ()
    hits = [Found(label, m.start(), m.end()) for label in LABELS for m in label.pattern.finditer(folded)]
    if original != folded:  # only a capital shows a joint
        seen = set(hits)
        hits += [
            hit
            for label, pattern in zip(LABELS, _BOUNDARY_FREE, strict=True)
            for m in pattern.finditer(folded)
            if _glued(original, m.start(), m.end()) and (hit := Found(label, m.start(), m.end())) not in seen
        ]
    hits = [h for h in hits if h.end > h.start]
    hits.sort(key=lambda h: (-(h.end - h.start), not h.label.strong, h.start))
    taken: list[Found] = []
    for hit in hits:
        if all(hit.end <= t.start or hit.start >= t.end for t in taken):
            taken.append(hit)
    return tuple(sorted(taken, key=lambda h: h.start))
