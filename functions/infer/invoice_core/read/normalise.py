"""Printed text -> values: dates (ISO 8601), amounts (number + ISO 4217 currency), identifiers.

Each parser looks for its value at the start of a candidate text (after punctuation such as ":" or
"#", and, for amounts, a currency word) and returns a `Parsed` with the span it read, or None.

Date rules (the issue leaves them to us):
- ISO `2026-04-22` (also with `/` or `.`), compact `20260422` / `260422` (Swedish forms), numeric
  `22.04.2026`, `22/04/2026`, `22-04-2026` (two-digit years are 20YY), month names in English and
  Swedish, short or long, with or without a dot (`22 april 2026`, `22 Apr. 2026`, `April 22, 2026`,
  `22 maj 2026`, `3 okt. 2026`).
- Numeric day/month order is day-first (Swedish/European invoices) unless `day_first=False` or the
  day-first reading is not a real date and the month-first one is (`04/22/2026` -> 2026-04-22).
  The reader switches a whole document to month-first when one of its dates can only be month-first,
  or when both its dates read either way and only month-first puts the due date on or after the
  invoice date. Otherwise an ambiguous date stays day-first and says `ambiguous: true`.
- A date that does not exist (`31.02.2026`) is not a value; years outside 1900-2199 are refused.

Amount rules: thousands in groups of three with one kind of separator (space, no-break/thin space,
dot, comma or apostrophe); a final `,` or `.` followed by one or two digits is the decimal mark, so
`1,234` and `1.234` are 1234 while `12,5` is 12.5 (three-decimal prices such as `0,125` would read as
thousands: invoices print money with two). Negative: leading minus (also U+2212), trailing minus
or parentheses. Currency: ISO code or symbol before or after (`kr`/`:-` -> SEK, `€`, `$`, `£`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

SPACES = "\u00a0\u202f\u2009\u2007\u2008\u200a"  # no-break, narrow no-break, thin, figure, ... spaces
# OCR reads a speck between two words as a middle dot or bullet ("Invoiced·on", "·GBP"): a space
DOTS = "\u00b7\u2022\u2219\u22c5"
_SPACE_TABLE = str.maketrans(
    dict.fromkeys(SPACES + DOTS, " ") | {"\u2212": "-", "\u2013": "-", "\u2014": "-"}
)
_LEAD = re.compile(r"^[\s:;#.,=\-–—|>(\[*]*")  # what may stand between a label and its value (OCR's "*")


@dataclass(frozen=True)
class Parsed:
    """A value read from `text[start:end]`; `extra` holds what the field reports beside the value."""

    value: Any
    start: int
    end: int
    extra: dict[str, Any]


def clean(text: str) -> str:
    """One space character, one minus; same length as `text` so spans still map to boxes."""
    return text.translate(_SPACE_TABLE)


# --- dates ------------------------------------------------------------------------------------------

MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "jan january januari",
        "feb february februari",
        "mar march mars",
        "apr april",
        "may maj",
        "jun june juni",
        "jul july juli",
        "aug august augusti",
        "sep sept september",
        "oct okt october oktober",
        "nov november",
        "dec december",
    ),
    start=1,
):
    for _name in _names.split():
        MONTHS[_name] = _number

_MONTH = "(?P<mon>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS = (
    ("ymd", re.compile(r"(?P<y>(?:19|20|21)\d\d)(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})(?!\d)")),
    ("num", re.compile(r"(?P<a>\d{1,2})(?P<s>[./-])(?P<b>\d{1,2})(?P=s)(?P<y>\d{4}|\d{2})(?!\d)")),
    (
        "dmy_name",
        re.compile(rf"(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\.?[\s-]*{_MONTH}[\s,-]*(?P<y>\d{{4}})(?!\d)"),
    ),
    ("mdy_name", re.compile(rf"{_MONTH}\s*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s*(?P<y>\d{{4}})(?!\d)")),
    ("compact", re.compile(r"(?P<y>(?:19|20|21)\d\d|\d\d)(?P<m>\d\d)(?P<d>\d\d)(?!\d)")),
)
DATE_LIKE = re.compile(r"\d{1,4}\s*[./-]\s*\d{1,2}\s*[./-]\s*\d{2,4}")


def _make(year: int, month: int, day: int) -> dt.date | None:
    if year < 100:
        year += 2000
    if not 1900 <= year <= 2199:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_date(text: str, *, day_first: bool = True, compact: bool = True) -> Parsed | None:
    """The date at the start of `text`; `extra["order"]` is "dmy"/"mdy" for numeric dates."""
    text = clean(text)
    lead = _LEAD.match(text)
    offset = lead.end() if lead else 0
    for kind, pattern in _DATE_PATTERNS:
        if kind == "compact" and not compact:
            continue
        m = pattern.match(text.casefold(), offset)
        if not m or (kind == "compact" and len(m.group(0)) not in (6, 8)):
            continue
        g = m.groupdict()
        extra: dict[str, Any] = {}
        if kind == "num":
            a, b, y = int(g["a"]), int(g["b"]), int(g["y"])
            first, second = (
                (_make(y, b, a), _make(y, a, b)) if day_first else (_make(y, a, b), _make(y, b, a))
            )
            value = first or second
            # only the other reading is a real date: record it so the page can follow
            mdy = (value is second) if day_first else (value is first)
            extra["order"] = "mdy" if mdy else "dmy"
            extra["ambiguous"] = bool(first and second and first != second)
        elif kind in ("dmy_name", "mdy_name"):
            value = _make(int(g["y"]), MONTHS[g["mon"]], int(g["d"]))
        else:
            value = _make(int(g["y"]), int(g["m"]), int(g["d"]))
        if value is None:
            return None  # a date-shaped text that is no date is not a value
        return Parsed(value.isoformat(), m.start(), m.end(), extra)
    return None


# --- amounts ----------------------------------------------------------------------------------------

CURRENCIES: dict[str, str] = {
    "kr": "SEK",  # "kr" alone on an invoice read here is Swedish crowns (NOK/DKK print their code)
    "kr.": "SEK",
    ":-": "SEK",
    "sek": "SEK",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "$": "USD",
    "usd": "USD",
    "£": "GBP",
    "gbp": "GBP",
    "nok": "NOK",
    "dkk": "DKK",
    "chf": "CHF",
}
_CUR = "|".join(re.escape(c) for c in sorted(CURRENCIES, key=len, reverse=True))
_CURRENCY = re.compile(rf"(?<![a-z])(?:{_CUR})(?![a-z])")
_AMOUNT_LEAD = re.compile(r"^[\s:;#=|>(\[]*")  # as _LEAD, but a minus belongs to the amount
# thousands groups of three with one separator kind, then 1-2 decimals after the other mark
_NUMBER = re.compile(
    r"(?P<neg>-\s?)?(?P<num>(?P<int>\d{1,3}(?P<sep>[ ,.'])\d{3}(?:(?P=sep)\d{3})*|\d+)"
    r"(?:(?P<dec>[.,])(?P<frac>\d{1,2}))?)(?!\d)"
)


def _number_value(m: re.Match[str]) -> float | None:
    """'212 880,00' / '212,880.00' / '1.234,50' / '212880.00' -> float; None if not a money amount.

    Every group after the first is three digits (phone numbers and dates are refused), one kind of
    thousands separator, and the decimal mark (1-2 digits after it) differs from it.
    """
    if m.group("dec") and m.group("dec") == m.group("sep"):
        return None
    digits = re.sub(r"\D", "", m.group("int"))
    return float(digits + ("." + m.group("frac") if m.group("frac") else ""))


def parse_amount(text: str) -> Parsed | None:
    """The amount at the start of `text`, with `extra["currency"]` (ISO 4217) when one is printed.

    Negative amounts: a leading minus (also U+2212), a trailing minus (`1 234,50-`) or parentheses.
    A percentage is not an amount.
    """
    text = clean(text)
    folded = text.casefold()
    lead = _AMOUNT_LEAD.match(folded)
    pos = lead.end() if lead else 0
    currency = None
    negative = False
    if folded.startswith("-", pos):
        negative, pos = True, pos + 1
        pos = len(folded) - len(folded[pos:].lstrip())
    cur = _CURRENCY.match(folded, pos)
    if cur:
        currency = CURRENCIES[cur.group(0)]
        pos = cur.end()
        pos = len(folded) - len(folded[pos:].lstrip(" )]"))
    m = _NUMBER.match(folded, pos)
    if not m:
        return None
    value = _number_value(m)
    end = m.end("num")
    rest = folded[end:]
    if (
        value is None
        or rest.lstrip().startswith("%")
        or (rest[:1] and rest[0] not in " -)" and not _CURRENCY.match(rest))  # "880,00kr" is fine
    ):
        return None
    if rest[:1] == " " and rest.lstrip()[:1].isdigit():
        return None  # "12 34,00": a broken digit group, not 12
    if rest.startswith("-") and rest[1:2].isdigit():
        return None  # "2026-04-22" is no amount
    negative = negative or bool(m.group("neg")) or folded[:pos].rstrip().endswith("(")
    if rest.startswith("-") and not rest[1:2].isdigit():
        negative, end = True, end + 1
    if currency is None:
        after = _CURRENCY.match(folded, len(folded) - len(rest.lstrip()) if rest.strip() else len(folded))
        if after:
            currency, end = CURRENCIES[after.group(0)], after.end()
    if folded[end:].startswith(")"):
        end += 1
    extra = {"currency": currency} if currency else {}
    start = lead.end() if lead else 0
    return Parsed(-value if negative else value, start, end, extra)


def currency_code(text: str) -> str | None:
    """ISO 4217 code of a currency word or symbol printed alone ("kr", "€", "SEK")."""
    m = _CURRENCY.fullmatch(clean(text).strip().casefold())
    return CURRENCIES[m.group(0)] if m else None


# --- identifiers ------------------------------------------------------------------------------------

_IDENT = re.compile(r"#?(?=[\w/.\-]*\d)[a-z0-9][\w/.\-]*[a-z0-9]|#?\d", re.IGNORECASE)


def parse_identifier(text: str) -> Parsed | None:
    """An invoice number: one token with at least one digit (`INV-2026-0412`, `F2026001`, `#00123`)."""
    text = clean(text)
    lead = _LEAD.match(text)
    pos = lead.end() if lead else 0
    if pos and text[pos - 1] == "#":
        pos -= 1
    m = _IDENT.match(text, pos)
    if not m or len(m.group(0)) > 40 or (m.end() < len(text) and not text[m.end()].isspace()):
        return None
    return Parsed(m.group(0).lstrip("#"), m.start(), m.end(), {})


def parse_digits(text: str, *, max_len: int = 30) -> Parsed | None:
    """Digits printed in groups (`9947 0208 3930`, `116-5206`, `12 34 56-7`) -> the digit string."""
    text = clean(text)
    lead = _LEAD.match(text)
    pos = lead.end() if lead else 0
    m = re.compile(r"\d(?:[ \-]?\d)*").match(text, pos)
    if not m or (m.end() < len(text) and text[m.end()].isalnum()):
        return None
    digits = re.sub(r"\D", "", m.group(0))
    if len(digits) > max_len:
        return None
    return Parsed(digits, m.start(), m.end(), {})


def parse_alnum(text: str, *, max_len: int = 40) -> Parsed | None:
    """Letters and digits in groups (`SE45 5000 0000 0583 9825 7466`, `ESSESESS`) -> compact, upper."""
    text = clean(text)
    lead = _LEAD.match(text)
    pos = lead.end() if lead else 0
    m = re.compile(r"[A-Za-z0-9]+(?: [A-Za-z0-9]{1,4}(?![A-Za-z0-9]))*").match(text, pos)
    if not m:
        return None
    compact = m.group(0).replace(" ", "").upper()
    if len(compact) > max_len:
        return None
    return Parsed(compact, m.start(), m.end(), {})
