"""What an invoice says: parties, dates, line items, amounts and labels, in English or Swedish.

Everything is drawn from one `random.Random`, so a page's text depends only on its seed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from stdnum import iban, luhn

from devkit.synth import families

# --- labels -----------------------------------------------------------------------------------------
# Field labels per language. A field is learnable because of these words, so each list holds only
# phrasings a real invoice uses for that field (and never one used for another field).
FIELD_LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "invoice_number": ("Invoice no.", "Invoice No:", "Invoice number", "Invoice #", "Inv. no."),
        "invoice_date": ("Invoice date", "Date", "Date of issue", "Issue date", "Invoice Date:"),
        "due_date": ("Due date", "Payment due", "Due Date:", "Pay by"),
        "subtotal": ("Subtotal", "Net amount", "Total excl. VAT", "Sub-total"),
        "vat": ("VAT", "VAT {rate}", "Tax", "VAT ({rate})", "Sales tax"),
        "total_amount": ("Total", "Total due", "Amount due", "Balance due", "Total incl. VAT", "TOTAL"),
        "bill_to": ("Bill to", "Invoice to", "Customer", "Billed to", "BILL TO"),
        "payment": ("Payment details", "Payment information", "Bank details", "How to pay"),
        "title": ("INVOICE", "Invoice", "TAX INVOICE", "INVOICE"),
    },
    "sv": {
        "invoice_number": ("Fakturanr", "Faktura nr", "Fakturanr:", "Fakturanr.", "Faktura-nr"),
        "invoice_date": ("Fakturadatum", "Datum", "Fakturadatum:"),
        "due_date": ("Förfallodatum", "Förfallodag", "Att betala senast", "Sista betalningsdag"),
        "subtotal": ("Delsumma", "Summa exkl. moms", "Netto", "Belopp exkl. moms"),
        "vat": ("Moms", "Moms {rate}", "Moms ({rate})", "Mervärdesskatt"),
        "total_amount": ("Att betala", "Summa att betala", "Totalt", "Totalbelopp", "ATT BETALA"),
        "bill_to": ("Faktureringsadress", "Kund", "Fakturamottagare", "Köpare"),
        "payment": ("Betalningsinformation", "Betalning", "Bankuppgifter", "Betalningsuppgifter"),
        "title": ("FAKTURA", "Faktura", "FAKTURA"),
    },
}

# The held-out wording (families.WORDINGS "alternate"): other phrasings real invoices use, none of
# them in FIELD_LABELS, so a model trained on "common" pages has never read them.
ALT_FIELD_LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "invoice_number": ("Bill number", "Bill no.", "Invoice ref.", "Document no."),
        "invoice_date": ("Billing date", "Date issued", "Invoiced on"),
        "due_date": ("Payable by", "Due by", "Payment due date"),
        "subtotal": ("Net total", "Total net", "Amount excl. VAT"),
        "vat": ("VAT amount", "Total VAT", "VAT @ {rate}"),
        "total_amount": ("Grand total", "Amount payable", "Total to pay"),
        "bill_to": ("Sold to", "Invoice address", "Bill-to party"),
        "payment": ("Remittance details", "Payment instructions"),
    },
    "sv": {
        "invoice_number": ("Fakturanummer", "Fakturanummer:", "Faktura nummer"),
        "invoice_date": ("Faktureringsdatum", "Utställd", "Fakturans datum"),
        "due_date": ("Förfaller", "Betalas senast", "Betala senast"),
        "subtotal": ("Nettobelopp", "Nettosumma", "Exkl. moms"),
        "vat": ("Momsbelopp", "Summa moms", "Varav moms"),
        "total_amount": ("Belopp att betala", "Totalt att betala", "Att betala totalt"),
        "bill_to": ("Fakturaadress", "Mottagare"),
        "payment": ("Betalningsinstruktioner", "Så betalar du"),
    },
}
WORDING_LABELS = {"common": FIELD_LABELS, "alternate": ALT_FIELD_LABELS}

# Text that looks like fields but is not one: the hard negatives.
DISTRACTOR_LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "customer_no": ("Customer no.", "Customer ID", "Account no."),
        "order_no": ("Order no.", "PO number", "Purchase order"),
        "our_ref": ("Our reference", "Sales contact", "Contact"),
        "your_ref": ("Your reference", "Your ref.", "Attn."),
        "delivery_date": ("Delivery date", "Ship date", "Service period"),
        "terms": ("Payment terms", "Terms"),
        "ship_to": ("Ship to", "Delivery address", "Deliver to"),
        "org_no": ("Company no.", "Company reg. no.", "Reg. no."),
    },
    "sv": {
        "customer_no": ("Kundnr", "Kundnummer", "Kund-ID"),
        "order_no": ("Ordernr", "Ordernummer", "Beställningsnr"),
        "our_ref": ("Vår referens", "Handläggare", "Kontaktperson"),
        "your_ref": ("Er referens", "Ert ordernr", "Er ref."),
        "delivery_date": ("Leveransdatum", "Leveransvecka", "Period"),
        "terms": ("Betalningsvillkor", "Villkor"),
        "ship_to": ("Leveransadress", "Leverans till", "Godsmottagare"),
        "org_no": ("Org.nr", "Organisationsnummer", "Org. nr"),
    },
}

TABLE_HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "desc": ("Description", "Item", "Product / service", "Details"),
        "qty": ("Qty", "Quantity", "Units", "Hrs"),
        "unit": ("Unit", "UoM"),
        "price": ("Unit price", "Price", "Rate", "Each"),
        "vat": ("VAT", "Tax %", "VAT %"),
        "amount": ("Amount", "Total", "Line total", "Net"),
        "sku": ("Art. no.", "SKU", "Code"),
    },
    "sv": {
        "desc": ("Beskrivning", "Benämning", "Artikel", "Specifikation"),
        "qty": ("Antal", "Ant.", "Kvantitet"),
        "unit": ("Enhet", "Enh."),
        "price": ("À-pris", "Pris", "Á-pris", "Styckpris"),
        "vat": ("Moms", "Moms %"),
        "amount": ("Belopp", "Summa", "Totalt"),
        "sku": ("Art.nr", "Artikelnr", "Kod"),
    },
}

NOTES: dict[str, tuple[str, ...]] = {
    "en": (
        "Thank you for your business!",
        "Payment terms: 30 days net. Late payments incur interest of 8% per annum.",
        "Please quote the invoice number with your payment.",
        "Goods remain our property until paid in full.",
        "Questions about this invoice? Contact our accounts team.",
        "Thank you for choosing us. We look forward to working with you again.",
        "Reverse charge: customer to account for VAT.",
    ),
    "sv": (
        "Tack för ditt köp!",
        "Betalningsvillkor 30 dagar netto. Vid försenad betalning debiteras dröjsmålsränta.",
        "Ange fakturanumret vid betalning.",
        "Varorna förblir vår egendom tills full betalning skett.",
        "Frågor om fakturan? Kontakta vår ekonomiavdelning.",
        "Godkänd för F-skatt.",
        "Tack för att du valde oss. Välkommen åter!",
    ),
}

# --- parties ----------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    """'a|b c|d' -> ('a', 'b c', 'd'): word lists stay compact and formatter-proof."""
    return tuple(w.strip() for w in text.split("|"))


_NAME_A = _words(
    "Nordic|Baltic|Svea|Lind|Berg|Norrland|Acme|Bright|Oak|Atlas|Polar|Granit|Vasa|Åkesson|Öresund|"
    "Mälardalens|Ängby|Fjäll|Skog|Blue Harbour|Northwind|Kestrel|Summit|Riverside|Hansen|Larsson|Björk|"
    "Sjöberg|Crown|Eklund|Solvik|Hav & Land|Greenleaf|Redwood|Västkust"
)
_NAME_B = _words(
    "Consulting|Logistik|Bygg|Tech|Trading|Design|Partners|Solutions|Print|Foods|Data|El & VVS|Måleri|"
    "Systems|Media|Transport|Städ|Engineering|Fastigheter|Redovisning|Interiör|Services|Supplies"
)
_NAME_C = ("AB", "Ltd", "GmbH", "Inc.", "HB", "Oy", "AS", "LLC", "AB", "Ltd.", "& Co", "", "AB", "Limited")
_FIRST = _words(
    "Anna|Erik|Maria|Johan|Karin|Lars|Sofia|Björn|Åsa|Jörgen|Emma|Oliver|James|Sarah|David|Linnéa|Måns|"
    "Chloe|Peter|Ingrid|Göran|Sven|Elin|Tove|Rachel|Tom"
)
_LAST = _words(
    "Andersson|Johansson|Karlsson|Nilsson|Eriksson|Lindqvist|Öberg|Ström|Smith|Jones|Taylor|Brown|Müller|"
    "Virtanen|Hägg|Wallin|Åberg|Sjögren|Evans|Wright"
)
_STREETS_SV = _words(
    "Storgatan|Kungsgatan|Drottninggatan|Sveavägen|Hamngatan|Industrivägen|Järnvägsgatan|Skolgatan|"
    "Östra Långgatan|Björkvägen|Åsgatan|Mölndalsvägen|Norra Vallgatan|Ringvägen|Fabriksgatan"
)
_STREETS_EN = _words(
    "Market Street|High Street|Baker Street|Elm Road|Mill Lane|Station Road|Harbour Way|Church Lane|"
    "King's Road|Victoria Avenue|Bridge Street|Park Lane|Queen Street"
)
_CITIES_SV = tuple(
    tuple(c.rsplit(" ", 1))
    for c in _words(
        "114 35 STOCKHOLM|411 05 Göteborg|211 20 Malmö|753 20 Uppsala|582 24 Linköping|903 26 Umeå|"
        "702 10 Örebro|352 30 Växjö|852 30 Sundsvall|972 31 Luleå|451 50 UDDEVALLA|721 30 Västerås"
    )
)
_CITIES_EN = (("London", "EC1A 1BB"), ("Manchester", "M1 2AB"), ("Leeds", "LS1 4DY"), ("Bristol", "BS1 5TR"))
_CITIES_EN += (("Edinburgh", "EH1 1YZ"), ("Dublin", "D02 X285"), ("Cardiff", "CF10 1EP"))
_CITIES_OTHER = (("10115", "Berlin", "Germany"), ("00100", "Helsinki", "Finland"), ("0150", "Oslo", "Norway"))
_CITIES_OTHER += (("1050", "København K", "Denmark"),)

_ITEMS = {
    "en": _words(
        "Consulting services|Software licence (annual)|Office chairs|Freight|Installation|Support hours|"
        "Printer paper A4, 500 sheets|Website maintenance|Cloud hosting, March|Project management|"
        'Workshop facilitation|Replacement parts|Cleaning service|Travel expenses|Laptop 14"|'
        "Training course, 2 days|Design work|Toner cartridge|Delivery charge|Monthly subscription|"
        "Copywriting|Electrical work|Coffee beans 1 kg|Annual service agreement|Storage rental|Translation"
    ),
    "sv": _words(
        "Konsulttjänster|Programlicens (år)|Kontorsstolar|Frakt|Installation|Supporttimmar|"
        "Kopieringspapper A4, 500 ark|Underhåll webbplats|Molntjänst, mars|Projektledning|Workshop|"
        'Reservdelar|Städtjänst|Resekostnader|Bärbar dator 14"|Utbildning, 2 dagar|Designarbete|'
        "Tonerkassett|Leveransavgift|Månadsabonnemang|Elarbeten|Målning, vägg|Kaffebönor 1 kg|Fönsterputs|"
        "Snöröjning|Serviceavtal, år|Hyra förråd|Översättning|Trädgårdsskötsel"
    ),
}
_UNITS = {"en": ("pcs", "h", "ea", "pkg", "mo"), "sv": ("st", "tim", "h", "förp", "mån")}

_MONTHS = {
    "en": _words("Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"),
    "sv": _words("jan|feb|mar|apr|maj|jun|jul|aug|sep|okt|nov|dec"),
}
_MONTHS_LONG = {
    "en": _words("January|February|March|April|May|June|July|August|September|October|November|December"),
    "sv": _words("januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december"),
}

# --- formats ----------------------------------------------------------------------------------------
# Named as in families.DATE_FORMATS / AMOUNT_FORMATS; a page prints all its dates and amounts one way.

DATE_FORMATS: dict[str, Callable[[dt.date, str], str]] = {
    "iso": lambda d, lang: d.isoformat(),
    "dmy_dot": lambda d, lang: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "dmy_slash": lambda d, lang: f"{d.day:02d}/{d.month:02d}/{d.year}",
    "mdy_slash": lambda d, lang: f"{d.month:02d}/{d.day:02d}/{d.year}",
    "month_day_year": lambda d, lang: f"{_MONTHS_LONG[lang][d.month - 1]} {d.day}, {d.year}",
    "day_mon_year": lambda d, lang: f"{d.day} {_MONTHS[lang][d.month - 1]} {d.year}",
    "day_month_year": lambda d, lang: f"{d.day} {_MONTHS_LONG[lang][d.month - 1]} {d.year}",
    "yymmdd": lambda d, lang: f"{d.year % 100:02d}{d.month:02d}{d.day:02d}",
}
# Formats one language only uses (month-first is American/English; long month names as Swedes write them).
_DATE_LANGS: dict[str, tuple[str, ...]] = {
    "mdy_slash": ("en",),
    "month_day_year": ("en",),
    "day_month_year": ("sv",),
}

# name -> (thousands separator, decimal mark, where the currency goes)
AMOUNT_STYLES: dict[str, tuple[str, str, str]] = {
    "space_comma": (" ", ",", "suffix"),  # 212 880,00 kr
    "code_prefix": (",", ".", "code"),  # SEK 212,880.00
    "dot_comma": (".", ",", "suffix"),  # 1.234,50 EUR
    "symbol_prefix": (",", ".", "symbol"),  # €1,234.50
    "plain": ("", ".", "none"),  # 212880.00
}
_SYMBOL = {"SEK": "kr", "EUR": "€", "USD": "$", "GBP": "£"}
# Which styles are printed for which currency ("kr1,234.50" and "1 234,50 $" are not).
_STYLE_CURRENCIES = {
    "space_comma": ("SEK", "EUR"),
    "code_prefix": ("SEK", "EUR", "USD", "GBP"),
    "dot_comma": ("SEK", "EUR"),
    "symbol_prefix": ("EUR", "USD", "GBP"),
    "plain": ("SEK", "EUR", "USD", "GBP"),
}


@dataclass(frozen=True)
class MoneyFormat:
    """How amounts are printed: thousands separator, decimal mark, currency and where it goes.

    `currency` is the ISO 4217 code whatever is printed; `symbol` is what is printed ("" for none)."""

    thousands: str
    decimal: str
    currency: str
    symbol: str
    prefix: bool
    name: str = "space_comma"

    def number(self, value: float) -> str:
        """1234.5 -> '1 234,50' (or '1,234.50', ...)."""
        whole, frac = f"{abs(value):,.2f}".split(".")
        sign = "-" if value < 0 else ""
        return sign + whole.replace(",", self.thousands) + self.decimal + frac

    def money(self, value: float) -> str:
        """A number with its currency, where this format puts it."""
        n = self.number(value)
        if not self.symbol:
            return n
        return f"{self.symbol}{n}" if self.prefix else f"{n} {self.symbol}"


def _money_format(rng: random.Random, lang: str, styles: tuple[str, ...]) -> MoneyFormat:
    if lang == "sv":
        currency = rng.choice(("SEK", "SEK", "SEK", "EUR"))
    else:
        currency = rng.choice(("USD", "GBP", "EUR", "SEK"))
    allowed = [s for s in styles if currency in _STYLE_CURRENCIES[s]] or ["plain"]
    if lang == "sv" and "space_comma" in allowed:  # the Swedish way, most of the time
        allowed += ["space_comma"] * 3
    name = rng.choice(allowed)
    thousands, decimal, place = AMOUNT_STYLES[name]
    if place != "none" and rng.random() < 0.12:  # "212880,00 kr": no thousands separator
        thousands = ""
    if place == "suffix":
        symbol, prefix = rng.choice((_SYMBOL[currency], currency)), False
    elif place == "code":
        symbol, prefix = currency + " ", True
    elif place == "symbol":
        symbol, prefix = _SYMBOL[currency], True
    else:
        symbol, prefix = "", False
    return MoneyFormat(thousands, decimal, currency, symbol, prefix, name)


def _date_format(rng: random.Random, lang: str, names: tuple[str, ...]) -> str:
    """One of the date styles real invoices use, fixed for the whole page."""
    allowed = [n for n in names if lang in _DATE_LANGS.get(n, (lang,))] or ["iso"]
    if lang == "sv" and "iso" in allowed:  # ISO dates are the commonest on Swedish invoices
        allowed.append("iso")
    return rng.choice(allowed)


# --- numbers with check digits ------------------------------------------------------------------------
# Bankgiro, Plusgiro and OCR references end in a Luhn (mod 10) digit, IBANs carry mod 97 digits: the
# generated ones are valid, so a reader's checks pass on generated pages (python-stdnum computes them).


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def with_luhn(body: str) -> str:
    """`body` with its Luhn check digit appended."""
    return body + luhn.calc_check_digit(body)


def show_bankgiro(digits: str) -> str:
    """1165206 -> 116-5206, 54567890 -> 5456-7890 (as Bankgirot prints them)."""
    return f"{digits[:-4]}-{digits[-4:]}"


def show_plusgiro(digits: str, grouped: bool) -> str:
    """4123456 -> 412345-6, or grouped in pairs from the right: 41 23 45-6."""
    body = digits[:-1]
    if grouped:
        pairs = [body[max(0, i - 2) : i] for i in range(len(body), 0, -2)][::-1]
        body = " ".join(pairs)
    return f"{body}-{digits[-1]}"


# Swedish IBAN bank codes (first 3 BBAN digits) with their BICs; British sort-code banks likewise.
_SE_BANKS = (("500", "ESSESESS"), ("600", "HANDSESS"), ("800", "SWEDSESS"), ("300", "NDEASESS"))
_SE_BANKS += (("120", "DABASESX"),)
_GB_BANKS = (("NWBK", "NWBKGB2L"), ("BARC", "BARCGB22"), ("HBUK", "HBUKGB4B"))
_DE_BICS = ("DEUTDEFF", "COBADEFF")
_FI_BICS = ("NDEAFIHH", "OKOYFIHH")


def _iban_bic(rng: random.Random, country: str) -> tuple[str, str]:
    """A valid IBAN (mod 97) of `country` and a BIC of that country (and bank, where it shows)."""
    if country == "SE":
        code, bic_code = rng.choice(_SE_BANKS)
        bban = code + _digits(rng, 17)
    elif country == "GB":
        code, bic_code = rng.choice(_GB_BANKS)
        bban = code + _digits(rng, 14)
    elif country == "DE":
        bban, bic_code = _digits(rng, 18), rng.choice(_DE_BICS)
    else:
        bban, bic_code = _digits(rng, 14), rng.choice(_FI_BICS)
    return country + iban.calc_check_digits(country + "00" + bban) + bban, bic_code


@dataclass
class Party:
    """A company or person with a postal address."""

    name: str
    lines: list[str]
    phone: str
    email: str
    web: str
    org_no: str
    vat_no: str


@dataclass
class LineItem:
    """One row of the table, already formatted."""

    sku: str
    desc: str
    qty: str
    unit: str
    price: str
    vat: str
    amount: str
    value: float
    note: str = ""


# The payment line labels content.py prints, and what kind of number each carries.
PAYMENT_KINDS: dict[str, str] = {
    "IBAN": "iban",
    "BIC": "bic",
    "SWIFT": "bic",
    "Bankgiro": "bankgiro",
    "Plusgiro": "plusgiro",
    "OCR": "ocr",
    "Sort code": "sort_code",
    "Account no.": "account",
    "Reference": "reference",
}


@dataclass
class Invoice:
    """Everything printed on one invoice, formatted for its language, and the truth behind it.

    The printed strings (`issued`, `total`, `payment_lines`, ...) are what the page shows; the
    `*_iso` dates, `*_value` amounts, `money.currency` (ISO 4217) and `bank` numbers are what a
    correct reader returns for them."""

    lang: str
    money: MoneyFormat
    supplier: Party
    customer: Party
    ship_to: Party | None
    number: str
    issued: str
    due: str
    delivery: str
    customer_no: str
    order_no: str
    our_ref: str
    your_ref: str
    terms: str
    items: list[LineItem]
    subtotal: str
    vat: str
    vat_rate: str
    total: str
    payment_lines: list[tuple[str, str]]
    vat_pct: int = 25
    currency_on: tuple[bool, bool] = (True, True)
    labels: dict[str, str] = field(default_factory=dict)
    distractor_labels: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    issued_iso: str = ""
    due_iso: str = ""
    delivery_iso: str = ""
    date_format: str = "iso"
    wording: str = "common"
    subtotal_value: float = 0.0
    vat_value: float = 0.0
    total_value: float = 0.0
    bank: dict[str, str] = field(default_factory=dict)  # kind -> compact number, printed or not
    bank_printed: dict[str, str] = field(default_factory=dict)  # kind -> as it would be printed

    @property
    def currency(self) -> str:
        return self.money.currency

    def keep_items(self, n: int) -> None:
        """Keep the first `n` rows (what fits on the page) and recompute the totals so they still add up."""
        self.items = self.items[: max(1, n)]
        subtotal = round(sum(i.value for i in self.items), 2)
        vat = round(subtotal * self.vat_pct / 100, 2)
        total = round(subtotal + vat, 2)
        self.subtotal_value, self.vat_value, self.total_value = subtotal, vat, total
        fmt = self.money
        self.subtotal = fmt.money(subtotal) if self.currency_on[0] else fmt.number(subtotal)
        self.vat = fmt.money(vat) if self.currency_on[1] else fmt.number(vat)
        self.total = fmt.money(total)

    def payment_truth(self) -> dict[str, str]:
        """The payment numbers printed on the page, by kind ("bankgiro", "ocr", "iban", "bic", ...),
        compact (no spaces or hyphens)."""
        out: dict[str, str] = {}
        for label, value in self.payment_lines:
            kind = PAYMENT_KINDS.get(label)
            if kind is not None:
                out[kind] = value.replace(" ", "").replace("-", "")
        return out

    def set_payment(self, kinds: list[str]) -> None:
        """Print these kinds of payment line (from `bank`), in this order (a payment variant's choice)."""
        label_of = {"bic": "BIC", **{k: lab for lab, k in PAYMENT_KINDS.items() if k != "bic"}}
        self.payment_lines = [(label_of[k], self.bank_printed[k]) for k in kinds if k in self.bank_printed]


def _party(rng: random.Random, lang: str, company: bool) -> Party:
    if company:
        name = f"{rng.choice(_NAME_A)} {rng.choice(_NAME_B)} {rng.choice(_NAME_C)}".strip()
    else:
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    lines: list[str] = []
    if company and rng.random() < 0.35:
        lines.append(("Attn: " if lang == "en" else "Att: ") + f"{rng.choice(_FIRST)} {rng.choice(_LAST)}")
    where = rng.random()
    if lang == "sv" and where < 0.85:
        if rng.random() < 0.2:
            lines.append(f"Box {rng.randrange(100, 9999)}")
        else:
            lines.append(f"{rng.choice(_STREETS_SV)} {rng.randrange(1, 120)}")
        postcode, city = rng.choice(_CITIES_SV)
        lines.append(f"{postcode} {city}")
        if rng.random() < 0.2:
            lines.append("Sverige" if rng.random() < 0.7 else "SWEDEN")
    elif where < 0.85:
        lines.append(f"{rng.randrange(1, 300)} {rng.choice(_STREETS_EN)}")
        if rng.random() < 0.3:
            lines.append(f"Unit {rng.randrange(1, 40)}")
        city, postcode = rng.choice(_CITIES_EN)
        lines.append(city)
        lines.append(postcode)
        if rng.random() < 0.3:
            lines.append("United Kingdom")
    else:
        postcode, city, country = rng.choice(_CITIES_OTHER)
        lines.append(f"{rng.choice(_STREETS_EN).split()[0]}strasse {rng.randrange(1, 90)}")
        lines.append(f"{postcode} {city}")
        lines.append(country)
    slug = "".join(c for c in name.lower().split()[0] if c.isascii() and c.isalpha()) or "mail"
    tld = "se" if lang == "sv" else rng.choice(("com", "co.uk", "eu"))
    phone = (
        f"+46 {rng.randrange(8, 90)} {_digits(rng, 3)} {_digits(rng, 2)} {_digits(rng, 2)}"
        if lang == "sv"
        else f"+44 {rng.randrange(20, 200)} {_digits(rng, 4)} {_digits(rng, 4)}"
    )
    # Swedish organisation numbers end in a Luhn digit too (companies' start with 5: "556...").
    org_digits = with_luhn("5" + rng.choice(("56", "59", "69")) + _digits(rng, 6))
    org = f"{org_digits[:6]}-{org_digits[6:]}"
    return Party(
        name=name,
        lines=lines,
        phone=phone,
        email=f"{rng.choice(('info', 'invoice', 'billing', 'faktura', 'ekonomi'))}@{slug}.{tld}",
        web=f"www.{slug}.{tld}",
        org_no=org,
        vat_no=f"SE{org.replace('-', '')}01"
        if lang == "sv"
        else f"GB {_digits(rng, 3)} {_digits(rng, 4)} {_digits(rng, 2)}",
    )


def _bank(rng: random.Random, lang: str, inv_number: str) -> tuple[dict[str, str], dict[str, str]]:
    """Every payment number the supplier has: (kind -> compact, kind -> as printed)."""
    number_digits = "".join(c for c in inv_number if c.isdigit())
    if len(number_digits) >= 4 and rng.random() < 0.3:  # OCR built from the invoice number, as many do
        ocr = with_luhn(number_digits)
    else:
        ocr = with_luhn(_digits(rng, rng.randrange(6, 16)))
    iban_country = "SE" if lang == "sv" else rng.choice(("GB", "DE", "SE", "FI"))
    iban_no, bic_no = _iban_bic(rng, iban_country)
    bankgiro = with_luhn(str(rng.randrange(1, 10)) + _digits(rng, rng.choice((5, 6))))
    plusgiro = with_luhn(str(rng.randrange(1, 10)) + _digits(rng, rng.randrange(3, 7)))
    sort_code = f"{_digits(rng, 2)}-{_digits(rng, 2)}-{_digits(rng, 2)}"
    account = _digits(rng, 8)
    reference = number_digits if number_digits and rng.random() < 0.5 else ocr
    compact = {
        "iban": iban_no,
        "bic": bic_no,
        "bankgiro": bankgiro,
        "plusgiro": plusgiro,
        "ocr": ocr,
        "sort_code": sort_code.replace("-", ""),
        "account": account,
        "reference": reference,
    }
    printed = {
        "iban": " ".join(iban_no[i : i + 4] for i in range(0, len(iban_no), 4))
        if rng.random() < 0.8
        else iban_no,
        "bic": bic_no,
        "bankgiro": show_bankgiro(bankgiro),
        "plusgiro": show_plusgiro(plusgiro, grouped=rng.random() < 0.5),
        "ocr": ocr if rng.random() < 0.6 else " ".join(ocr[i : i + 4] for i in range(0, len(ocr), 4)),
        "sort_code": sort_code,
        "account": account,
        "reference": reference,
    }
    return compact, printed


def _payment_kinds(rng: random.Random, lang: str) -> list[str]:
    """Which payment lines a page prints by default (a payment variant may choose others)."""
    if lang == "sv":
        # Swedish invoices lead with bankgiro + OCR; IBAN/BIC is for foreign payers.
        picks = ["bankgiro", "ocr"] if rng.random() < 0.6 else ["bankgiro"]
        if rng.random() < 0.4:
            picks += ["iban", "bic"]
        if rng.random() < 0.2:
            picks.insert(1, "plusgiro")
        return picks
    picks = ["iban", "bic"] if rng.random() < 0.5 else ["sort_code", "account"]
    if rng.random() < 0.6:
        picks.append("reference")
    return picks


def make_invoice(rng: random.Random, lang: str | None = None, *, policy: str = "train") -> Invoice:
    """A random, internally consistent invoice (amounts add up, check digits hold), its wording and
    date/amount formats drawn from `policy`'s pools (families.py)."""
    lang = lang or rng.choice(("en", "sv"))
    money = _money_format(rng, lang, families.pool(families.AMOUNT_FORMATS, policy))
    date_format = _date_format(rng, lang, families.pool(families.DATE_FORMATS, policy))
    wording = rng.choice(families.pool(families.WORDINGS, policy))

    def date_fmt(d: dt.date) -> str:
        return DATE_FORMATS[date_format](d, lang)

    issued = dt.date(2021, 1, 1) + dt.timedelta(days=rng.randrange(0, 1800))
    due = issued + dt.timedelta(days=rng.choice((10, 14, 15, 20, 30, 30, 30, 45, 60)))
    delivery = issued - dt.timedelta(days=rng.randrange(0, 20))
    number = rng.choice(
        (
            str(rng.randrange(1000, 999999)),
            f"INV-{issued.year}-{rng.randrange(1, 9999):04d}",
            f"F{issued.year}{rng.randrange(1, 999):03d}",
            f"{rng.randrange(10, 99)}{rng.randrange(1000, 99999)}",
            f"#{rng.randrange(1, 99999):05d}",
            f"{issued.year % 100}-{rng.randrange(100, 9999)}",
        )
    )
    vat_pct = rng.choice((25, 25, 25, 12, 6)) if lang == "sv" else rng.choice((20, 20, 19, 24, 25, 0))
    items: list[LineItem] = []
    pool = list(_ITEMS[lang])
    rng.shuffle(pool)
    n_items = rng.choice((1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 10, 12, 15))
    for i in range(n_items):
        unit = rng.choice(_UNITS[lang])
        hourly = unit in ("h", "tim")
        scale = rng.choice((1, 1, 1, 10, 100)) if not hourly else 1
        price = round(
            rng.uniform(5, 120) * scale if not hourly else rng.uniform(45, 180) * 10, rng.choice((0, 2))
        )
        qty = (
            rng.choice((0.5, 1.5, 2, 4, 7.5, 8, 16, 40))
            if hourly
            else rng.choice(
                (1, 1, 1, 2, 3, 5, 10) if scale > 10 else (1, 2, 3, 4, 5, 6, 10, 12, 20, 25, 50, 100)
            )
        )
        amount = round(qty * price, 2)
        sku = f"{rng.randrange(100, 99999)}" if rng.random() < 0.7 else f"A-{rng.randrange(10, 999)}"
        note = rng.choice(
            (
                f"Period {delivery.isoformat()} – {issued.isoformat()}",
                f"Order {rng.randrange(1000, 99999)}",
                f"{'Art. no.' if lang == 'en' else 'Art.nr'} {sku}",
                "Incl. delivery" if lang == "en" else "Inkl. leverans",
                f"{'Serial no.' if lang == 'en' else 'Serienr'} {_digits(rng, 8)}",
            )
        )
        qty_s = (f"{qty:g}").replace(".", money.decimal) if isinstance(qty, float) else str(qty)
        items.append(
            LineItem(
                sku=sku,
                desc=pool[i % len(pool)],
                qty=qty_s,
                unit=unit,
                price=money.number(price),
                vat=f"{vat_pct}%",
                amount=money.number(amount),
                value=amount,
                note=note,
            )
        )
    labels = {k: rng.choice(v) for k, v in FIELD_LABELS[lang].items()}
    if wording != "common":
        labels.update({k: rng.choice(v) for k, v in WORDING_LABELS[wording][lang].items()})
    labels["vat"] = labels["vat"].replace("{rate}", f"{vat_pct}%")
    company_customer = rng.random() < 0.8
    bank, bank_printed = _bank(rng, lang, number)
    inv = Invoice(
        lang=lang,
        money=money,
        supplier=_party(rng, lang, company=True),
        customer=_party(rng, lang, company=company_customer),
        ship_to=_party(rng, lang, company=company_customer) if rng.random() < 0.2 else None,
        number=number,
        issued=date_fmt(issued),
        due=date_fmt(due),
        delivery=date_fmt(delivery),
        customer_no=str(rng.randrange(100, 99999)),
        order_no=f"{rng.choice(('PO', '', 'ORD-'))}{rng.randrange(1000, 999999)}",
        our_ref=f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        your_ref=f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        terms=(f"{(due - issued).days} days net" if lang == "en" else f"{(due - issued).days} dagar netto"),
        items=items,
        subtotal="",
        vat="",
        vat_rate=f"{vat_pct}%",
        total="",
        payment_lines=[],
        vat_pct=vat_pct,
        currency_on=(rng.random() < 0.5, rng.random() < 0.5),
        labels=labels,
        distractor_labels={k: rng.choice(v) for k, v in DISTRACTOR_LABELS[lang].items()},
        headers={k: rng.choice(v) for k, v in TABLE_HEADERS[lang].items()},
        notes=rng.sample(NOTES[lang], k=rng.choice((0, 1, 1, 2))),
        issued_iso=issued.isoformat(),
        due_iso=due.isoformat(),
        delivery_iso=delivery.isoformat(),
        date_format=date_format,
        wording=wording,
        bank=bank,
        bank_printed=bank_printed,
    )
    inv.set_payment(_payment_kinds(rng, lang))
    inv.keep_items(len(items))
    return inv
