"""What an invoice says: parties, dates, line items, amounts and labels, in English or Swedish.

Everything is drawn from one `random.Random`, so a page's text depends only on its seed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

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
        "invoice_number": ("Fakturanr", "Fakturanummer", "Faktura nr", "Fakturanr:", "Fakturanummer:"),
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
    },
    "sv": {
        "customer_no": ("Kundnr", "Kundnummer", "Kund-ID"),
        "order_no": ("Ordernr", "Ordernummer", "Beställningsnr"),
        "our_ref": ("Vår referens", "Handläggare", "Kontaktperson"),
        "your_ref": ("Er referens", "Ert ordernr", "Er ref."),
        "delivery_date": ("Leveransdatum", "Leveransvecka", "Period"),
        "terms": ("Betalningsvillkor", "Villkor"),
        "ship_to": ("Leveransadress", "Leverans till", "Godsmottagare"),
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


@dataclass(frozen=True)
class MoneyFormat:
    """How amounts are printed: thousands separator, decimal mark, currency and where it goes."""

    thousands: str
    decimal: str
    currency: str
    symbol: str
    prefix: bool

    def number(self, value: float) -> str:
        """1234.5 -> '1 234,50' (or '1,234.50', ...)."""
        whole, frac = f"{abs(value):,.2f}".split(".")
        sign = "-" if value < 0 else ""
        return sign + whole.replace(",", self.thousands) + self.decimal + frac

    def money(self, value: float) -> str:
        """A number with its currency, where this format puts it."""
        n = self.number(value)
        return f"{self.symbol}{n}" if self.prefix else f"{n} {self.symbol}"


def _money_format(rng: random.Random, lang: str) -> MoneyFormat:
    if lang == "sv":
        currency = rng.choice(("SEK", "SEK", "SEK", "EUR"))
    else:
        currency = rng.choice(("USD", "GBP", "EUR", "SEK"))
    style = rng.choice((" ,", ".,", ",.", " ,") if lang == "sv" or currency == "EUR" else (",.", ",.", " ."))
    thousands, decimal = style[0], style[1]
    if rng.random() < 0.15:
        thousands = ""
    symbols = {"SEK": ("kr", "SEK"), "EUR": ("€", "EUR"), "USD": ("$", "USD"), "GBP": ("£", "GBP")}[currency]
    symbol = rng.choice(symbols)
    prefix = symbol in ("$", "£") or (symbol == "€" and rng.random() < 0.5) or (symbol in ("USD", "GBP"))
    if symbol in ("SEK", "EUR") and rng.random() < 0.3:
        prefix = True
    if prefix and len(symbol) == 3:
        symbol += " "
    return MoneyFormat(thousands, decimal, currency, symbol, prefix)


def _date_formatter(rng: random.Random, lang: str) -> Callable[[dt.date], str]:
    """One of the date styles real invoices use, fixed for the whole page."""
    months, months_long = _MONTHS[lang], _MONTHS_LONG[lang]
    styles: list[Callable[[dt.date], str]] = [
        lambda d: d.isoformat(),
        lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",
        lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
        lambda d: f"{d.day} {months[d.month - 1]} {d.year}",
        lambda d: f"{d.year % 100:02d}{d.month:02d}{d.day:02d}",
    ]
    if lang == "en":
        styles += [
            lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",
            lambda d: f"{months_long[d.month - 1]} {d.day}, {d.year}",
        ]
    else:
        styles += [lambda d: d.isoformat(), lambda d: f"{d.day} {months_long[d.month - 1]} {d.year}"]
    return rng.choice(styles)


def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


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


@dataclass
class Invoice:
    """Everything printed on one invoice, formatted for its language."""

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

    def keep_items(self, n: int) -> None:
        """Keep the first `n` rows (what fits on the page) and recompute the totals so they still add up."""
        self.items = self.items[: max(1, n)]
        subtotal = round(sum(i.value for i in self.items), 2)
        vat = round(subtotal * self.vat_pct / 100, 2)
        fmt = self.money
        self.subtotal = fmt.money(subtotal) if self.currency_on[0] else fmt.number(subtotal)
        self.vat = fmt.money(vat) if self.currency_on[1] else fmt.number(vat)
        self.total = fmt.money(round(subtotal + vat, 2))


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
    org = f"{_digits(rng, 6)}-{_digits(rng, 4)}"
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


def _payment_lines(rng: random.Random, lang: str, inv_number: str) -> list[tuple[str, str]]:
    ocr_core = _digits(rng, rng.randrange(6, 14))
    ocr = ocr_core + _luhn_digit(ocr_core)
    iban_country = "SE" if lang == "sv" else rng.choice(("GB", "DE", "SE", "FI"))
    iban_body = _digits(rng, {"SE": 22, "GB": 18, "DE": 20, "FI": 16}[iban_country])
    if iban_country == "GB":
        iban_body = iban_body[:2] + "NWBK" + iban_body[6:]
    iban = f"{iban_country}{iban_body}"
    iban_spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    options: list[tuple[str, str]] = [
        ("IBAN", iban_spaced if rng.random() < 0.8 else iban),
        (
            "BIC" if rng.random() < 0.5 else "SWIFT",
            rng.choice(("ESSESESS", "HANDSESS", "NWBKGB2L", "DEUTDEFF", "NDEAFIHH")),
        ),
    ]
    if lang == "sv":
        options += [
            ("Bankgiro", f"{_digits(rng, rng.choice((3, 4)))}-{_digits(rng, 4)}"),
            ("Plusgiro", f"{_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)}-{_digits(rng, 1)}"),
            ("OCR", ocr if rng.random() < 0.6 else " ".join(ocr[i : i + 4] for i in range(0, len(ocr), 4))),
        ]
    else:
        options += [
            ("Sort code", f"{_digits(rng, 2)}-{_digits(rng, 2)}-{_digits(rng, 2)}"),
            ("Account no.", _digits(rng, 8)),
            ("Reference", inv_number if rng.random() < 0.5 else ocr),
        ]
    if lang == "sv":
        # Swedish invoices lead with bankgiro + OCR; IBAN/BIC is for foreign payers.
        picks = [options[2], options[4]] if rng.random() < 0.6 else [options[2]]
        if rng.random() < 0.4:
            picks += options[:2]
        if rng.random() < 0.2:
            picks.insert(1, options[3])
    else:
        picks = [options[0], options[1]] if rng.random() < 0.5 else [options[2], options[3]]
        if rng.random() < 0.6:
            picks.append(options[4])
    return picks


def make_invoice(rng: random.Random, lang: str | None = None) -> Invoice:
    """A random, internally consistent invoice (amounts add up)."""
    lang = lang or rng.choice(("en", "sv"))
    money = _money_format(rng, lang)
    date_fmt = _date_formatter(rng, lang)
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
    subtotal = 0.0
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
        subtotal += amount
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
    labels["vat"] = labels["vat"].replace("{rate}", f"{vat_pct}%")
    company_customer = rng.random() < 0.8
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
        payment_lines=_payment_lines(rng, lang, number),
        vat_pct=vat_pct,
        currency_on=(rng.random() < 0.5, rng.random() < 0.5),
        labels=labels,
        distractor_labels={k: rng.choice(v) for k, v in DISTRACTOR_LABELS[lang].items()},
        headers={k: rng.choice(v) for k, v in TABLE_HEADERS[lang].items()},
        notes=rng.sample(NOTES[lang], k=rng.choice((0, 1, 1, 2))),
    )
    inv.keep_items(len(items))
    return inv
