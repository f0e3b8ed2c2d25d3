"""E-invoices, read exactly: UBL 2.1 Invoice and CreditNote (Peppol BIS Billing 3) and UN/CEFACT CII
CrossIndustryInvoice (Factur-X, ZUGFeRD 2, XRechnung CII) into the reader's field shape.

An e-invoice states its values, so nothing is guessed: every field has confidence 1.0, page 1 and
source/evidence "e_invoice"; the caller adds boxes. The EN 16931 business terms (BT-n) in the comments
name the element each field is read from. The XML is parsed with defusedxml and refused when it has a
DTD at all (no entity expansion, no external fetch); nothing here touches the network.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from invoice_core.errors import EmptyInput, InputTooLarge, UndecodableInput, UnsupportedInput
from invoice_core.read import checks

MAX_XML_BYTES = 10 * 1024 * 1024  # real e-invoices are tens of kB; a larger one is an attack or a mistake
SNIFF_BYTES = 64 * 1024  # the root element follows at most a prolog and some comments

_UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "rsm": _CII,
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
# (namespace, local name) of the root -> syntax
ROOTS = {
    (_UBL_INVOICE, "Invoice"): "ubl",
    (_UBL_CREDIT_NOTE, "CreditNote"): "ubl",
    (_CII, "CrossIndustryInvoice"): "cii",
}
# UNCL1001 credit-note codes (Peppol BIS 3 code list for BT-3 of a CreditNote); every other code bills
CREDIT_NOTE_CODES = frozenset({"81", "83", "381", "396", "532"})
# Peppol BIS 3 (rules SE-R-007..011): a Swedish giro number is an account whose institution is one of these
GIRO = {"SE:BANKGIRO": "bankgiro", "SE:PLUSGIRO": "plusgiro"}
SHOW_GIRO = {"bankgiro": checks.show_bankgiro, "plusgiro": checks.show_plusgiro}  # as the reader prints them

_RF_SHAPE = re.compile(r"RF\d{2}[A-Z0-9]{1,21}")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")  # xs:decimal; float() would also take "nan", "1e9"
_UBL_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:Z|[+-]\d{2}:\d{2})?")  # xs:date
_CII_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")  # format 102
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_SPECIFICATION = {  # BT-24
    "ubl": "cbc:CustomizationID",
    "cii": "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
}

_CII_INSTITUTION = "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID"
_CII_PRICE = "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice"
_CII_LINE_TOTAL = (
    "ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
)

Fields = dict[str, dict[str, Any]]
Party = tuple[str | None, list[str], str | None, str | None]  # name, address lines, VAT id, org id


@dataclass(frozen=True)
class EInvoice:
    """One e-invoice: its syntax, whether it bills or credits, and its fields in the answer's shape."""

    syntax: str  # "ubl" | "cii"
    document_type: str  # "invoice" | "credit_note"
    fields: Fields
    type_code: str | None = None  # BT-3 as written: 380, 381, ...
    specification: str | None = None  # BT-24: the Peppol BIS / XRechnung / Factur-X profile URN


# --- cheap checks before parsing ------------------------------------------------------------------


def looks_like_xml(data: bytes) -> bool:
    """After an optional byte-order mark and whitespace, the bytes start with `<`."""
    head, codec = data[:256], "utf-8"
    for bom, name in _BOMS:
        if head.startswith(bom):
            head, codec = head[len(bom) :], name
            break
    # "replace", not "ignore": a binary byte before the "<" must not vanish and let it through
    return head.decode(codec, errors="replace").lstrip(" \t\r\n").startswith("<")


class _Stop(Exception):
    """Stops the sniffing parser at the first element (or DTD)."""


def sniff(xml: bytes) -> str | None:
    """The syntax ("ubl" or "cii") the root element's namespace and name claim, else None. Reads at most
    64 kB with expat, builds no tree and stops at the root's start tag, or at a DTD (None: refused)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    found: list[str] = []

    def start(name: str, *_: object) -> None:
        found.append(name)
        raise _Stop

    parser.StartElementHandler = start
    # A doctype's name has no namespace, so it maps to None, and the internal subset is never read
    parser.StartDoctypeDeclHandler = start
    try:
        parser.Parse(xml[:SNIFF_BYTES], False)
    except _Stop:
        pass
    except (expat.ExpatError, ValueError, LookupError):
        return None
    if not found:
        return None
    namespace, _, local = found[0].rpartition(" ")
    return ROOTS.get((namespace, local))


# --- small XPath-like helpers ---------------------------------------------------------------------


def _at(node: Element | None, path: str) -> Element | None:
    return None if node is None else node.find(path, NS)


def _all(node: Element | None, path: str) -> list[Element]:
    return [] if node is None else node.findall(path, NS)


def _raw(node: Element | None, path: str | None = None) -> str | None:
    """The text of `node` (or of the element at `path` below it) as written; None when absent or blank."""
    if path is not None:
        node = _at(node, path)
    if node is None or node.text is None or not node.text.strip():
        return None
    return node.text


def _clean(raw: str) -> str:
    return " ".join(raw.split())


def _val(node: Element | None, path: str | None = None) -> str | None:
    """As `_raw`, whitespace collapsed: for codes and identifiers."""
    raw = _raw(node, path)
    return _clean(raw) if raw is not None else None


def _number(raw: str | None) -> float | None:
    text = raw.strip() if raw else ""
    return float(text) if _DECIMAL.fullmatch(text) else None


def _field(value: Any, text: str, **extra: Any) -> dict[str, Any]:
    base = {"value": value, "text": text, "confidence": 1.0, "page": 1}
    return base | {"source": "e_invoice", "evidence": "e_invoice"} | extra


def _lines(*parts: str | None) -> list[str]:
    return [_clean(p) for p in parts if p and p.strip()]


# --- field builders (shared by both syntaxes) -----------------------------------------------------


def _put_text(out: Fields, name: str, raw: str | None) -> None:
    if raw is not None:
        out[name] = _field(_clean(raw), raw)


def _put_date(out: Fields, name: str, node: Element | None, *, cii: bool) -> None:
    raw = _raw(node)
    if raw is None or node is None or (cii and node.get("format", "102") != "102"):
        return  # CII 610 (a month) and 616 (a week) name no day
    match = (_CII_DATE if cii else _UBL_DATE).fullmatch(raw.strip())
    if match is None:
        return
    try:
        day = dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return  # 2025-02-30: not a date, so not a field
    out[name] = _field(day.isoformat(), raw)


def _put_amount(out: Fields, name: str, node: Element | None, currency: str | None) -> None:
    raw = _raw(node)
    value = _number(raw)
    if raw is not None and node is not None and value is not None:
        out[name] = _field(value, raw, currency=node.get("currencyID") or currency)


def _in_currency(nodes: list[Element], currency: str | None) -> Element | None:
    """BT-110 is the VAT total in the document currency; a second total (BT-111) is in the tax currency."""
    return next((n for n in nodes if n.get("currencyID") == currency), nodes[0] if nodes else None)


def _put_parties(out: Fields, seller: Party, buyer: Party) -> None:
    name, address, vat_id, org_id = seller
    if name is not None:
        extra = {"address": "\n".join(address), "vat_id": vat_id, "org_id": org_id}
        out["supplier"] = _field(_clean(name), name) | {k: v for k, v in extra.items() if v}
    buyer_name, buyer_address, _, _ = buyer
    block = _lines(buyer_name, *buyer_address)
    if block:
        out["customer_address"] = _field("\n".join(block), "\n".join(block))


def _put_payment(out: Fields, reference: str | None, accounts: list[tuple[str | None, str | None]]) -> None:
    """Per credit transfer BT-84 (account) and BT-86 (institution), the first of each; then BT-83."""
    for number, institution in accounts:
        giro = GIRO.get(_clean(institution).upper()) if institution else None
        if giro is not None and number is not None and giro not in out:
            digits = re.sub(r"[\s-]", "", number)
            out[giro] = _field(
                SHOW_GIRO[giro](digits) if digits.isdigit() else _clean(number),
                number,
                valid=checks.CHECKS[giro](digits),
            )
        if giro is not None:
            continue
        compact = re.sub(r"[\s-]", "", number or "").upper()
        if number is not None and "iban" not in out and checks.looks_like_iban(compact):
            out["iban"] = _field(compact, number, valid=checks.iban_number(compact))
        if institution is not None and "bic" not in out:
            code = re.sub(r"\s", "", institution).upper()
            out["bic"] = _field(code, institution, valid=checks.bic_code(code))
    if reference is None:
        return
    compact = re.sub(r"\s", "", reference).upper()
    if _RF_SHAPE.fullmatch(compact):
        out["payment_reference"] = _field(compact, reference, kind="rf", valid=checks.rf_reference(compact))
        return
    # Digits are a Swedish OCR number when their Luhn digit holds, or when a giro is paid (there a failed
    # check is a typo to flag); elsewhere (a Norwegian KID, a German invoice number) only a reference.
    ocr = checks.ocr_reference(compact)
    if compact.isdigit() and (ocr or "bankgiro" in out or "plusgiro" in out):
        out["payment_reference"] = _field(compact, reference, kind="ocr", valid=ocr)
    else:
        out["payment_reference"] = _field(_clean(reference), reference, kind="reference", valid=None)


def _put_items(out: Fields, rows: list[dict[str, Any]]) -> None:
    if rows:
        out["line_items"] = _field(rows, "\n".join(r["description"] for r in rows))


def _item(
    description: str | None, quantity: str | None, price: str | None, base: str | None, amount: str | None
) -> dict[str, Any] | None:
    """One row; the net price is per base quantity (BT-149), so divided by it for a unit price."""
    total = _number(amount)
    if total is None:
        return None
    unit, per = _number(price), _number(base)
    if unit is not None and per not in (None, 0.0):
        unit = round(unit / per, 6)
    row = {"description": _clean(description or ""), "quantity": _number(quantity), "unit_price": unit}
    return row | {"amount": total}


# --- UBL ------------------------------------------------------------------------------------------


def _ubl_party(party: Element | None) -> Party:
    """BT-27/44 name (the legal name, else the trading name), postal address, BT-31 VAT id, BT-30 org id."""
    name = _raw(party, "cac:PartyLegalEntity/cbc:RegistrationName") or _raw(party, "cac:PartyName/cbc:Name")
    address = _at(party, "cac:PostalAddress")
    lines = _lines(
        _raw(address, "cbc:StreetName"),
        _raw(address, "cbc:AdditionalStreetName"),
        *(_raw(line) for line in _all(address, "cac:AddressLine/cbc:Line")),
        " ".join(_lines(_raw(address, "cbc:PostalZone"), _raw(address, "cbc:CityName"))),
        _raw(address, "cbc:CountrySubentity"),
        _raw(address, "cac:Country/cbc:IdentificationCode"),
    )
    schemes = _all(party, "cac:PartyTaxScheme")  # BT-31 under scheme VAT; "TAX" is BT-32 (F-skatt)
    vats = [_val(s, "cbc:CompanyID") for s in schemes if _val(s, "cac:TaxScheme/cbc:ID") == "VAT"]
    vat_id = next((v for v in vats if v), None)
    return name, lines, vat_id, _val(party, "cac:PartyLegalEntity/cbc:CompanyID")


def _ubl(root: Element, credit_note: bool) -> tuple[Fields, str | None]:
    out: Fields = {}
    _put_text(out, "invoice_number", _raw(root, "cbc:ID"))  # BT-1
    _put_date(out, "invoice_date", _at(root, "cbc:IssueDate"), cii=False)  # BT-2
    # BT-9: a CreditNote has no cbc:DueDate; Peppol puts it on the payment means
    due = _at(root, "cbc:DueDate")
    if due is None:  # an Element without children is falsy: no `or` here
        due = _at(root, "cac:PaymentMeans/cbc:PaymentDueDate")
    _put_date(out, "due_date", due, cii=False)
    _put_text(out, "currency", _raw(root, "cbc:DocumentCurrencyCode"))  # BT-5
    currency = _val(root, "cbc:DocumentCurrencyCode")
    seller, buyer = (
        _ubl_party(_at(root, f"cac:Accounting{r}Party/cac:Party")) for r in ("Supplier", "Customer")
    )
    _put_parties(out, seller, buyer)
    totals = _at(root, "cac:LegalMonetaryTotal")
    _put_amount(out, "subtotal", _at(totals, "cbc:TaxExclusiveAmount"), currency)  # BT-109
    _put_amount(out, "vat", _in_currency(_all(root, "cac:TaxTotal/cbc:TaxAmount"), currency), currency)
    _put_amount(out, "total_amount", _at(totals, "cbc:PayableAmount"), currency)  # BT-115
    means = _all(root, "cac:PaymentMeans")
    reference = next((r for r in (_raw(m, "cbc:PaymentID") for m in means) if r), None)
    accounts = [
        (_raw(account, "cbc:ID"), _raw(account, "cac:FinancialInstitutionBranch/cbc:ID"))
        for account in (_at(m, "cac:PayeeFinancialAccount") for m in means)
        if account is not None
    ]
    _put_payment(out, reference, accounts)
    tag = "CreditNote" if credit_note else "Invoice"
    rows = [
        _item(
            _raw(line, "cac:Item/cbc:Name") or _raw(line, "cac:Item/cbc:Description"),  # BT-153, BT-154
            _raw(line, f"cbc:{'Credited' if credit_note else 'Invoiced'}Quantity"),  # BT-129
            _raw(line, "cac:Price/cbc:PriceAmount"),  # BT-146
            _raw(line, "cac:Price/cbc:BaseQuantity"),  # BT-149
            _raw(line, "cbc:LineExtensionAmount"),  # BT-131
        )
        for line in _all(root, f"cac:{tag}Line")
    ]
    _put_items(out, [r for r in rows if r is not None])
    return out, _val(root, f"cbc:{tag}TypeCode")  # BT-3


# --- CII ------------------------------------------------------------------------------------------


def _cii_party(party: Element | None) -> Party:
    """BT-27/44 name, postal address, BT-31 VAT id (scheme VA; FC is a tax number), BT-30 org id."""
    address = _at(party, "ram:PostalTradeAddress")
    lines = _lines(
        _raw(address, "ram:LineOne"),
        _raw(address, "ram:LineTwo"),
        _raw(address, "ram:LineThree"),
        " ".join(_lines(_raw(address, "ram:PostcodeCode"), _raw(address, "ram:CityName"))),
        _raw(address, "ram:CountrySubDivisionName"),
        _raw(address, "ram:CountryID"),
    )
    ids = _all(party, "ram:SpecifiedTaxRegistration/ram:ID")
    vat_id = next((_val(i) for i in ids if i.get("schemeID") == "VA" and _raw(i)), None)
    return _raw(party, "ram:Name"), lines, vat_id, _val(party, "ram:SpecifiedLegalOrganization/ram:ID")


def _cii(root: Element) -> tuple[Fields, str | None]:
    out: Fields = {}
    document = _at(root, "rsm:ExchangedDocument")
    trade = _at(root, "rsm:SupplyChainTradeTransaction")
    agreement = _at(trade, "ram:ApplicableHeaderTradeAgreement")
    settlement = _at(trade, "ram:ApplicableHeaderTradeSettlement")
    _put_text(out, "invoice_number", _raw(document, "ram:ID"))  # BT-1
    _put_date(out, "invoice_date", _at(document, "ram:IssueDateTime/udt:DateTimeString"), cii=True)  # BT-2
    due = _at(settlement, "ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString")
    _put_date(out, "due_date", due, cii=True)  # BT-9
    _put_text(out, "currency", _raw(settlement, "ram:InvoiceCurrencyCode"))  # BT-5
    currency = _val(settlement, "ram:InvoiceCurrencyCode")
    seller, buyer = (_cii_party(_at(agreement, f"ram:{role}TradeParty")) for role in ("Seller", "Buyer"))
    _put_parties(out, seller, buyer)
    totals = _at(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _put_amount(out, "subtotal", _at(totals, "ram:TaxBasisTotalAmount"), currency)  # BT-109
    _put_amount(out, "vat", _in_currency(_all(totals, "ram:TaxTotalAmount"), currency), currency)  # BT-110
    _put_amount(out, "total_amount", _at(totals, "ram:DuePayableAmount"), currency)  # BT-115
    # BT-84 is an IBANID, or a ProprietaryID (where a Swedish giro number goes, BICID naming the giro)
    accounts = [
        (_raw(account, "ram:IBANID") or _raw(account, "ram:ProprietaryID"), _raw(m, _CII_INSTITUTION))
        for m in _all(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        for account in [_at(m, "ram:PayeePartyCreditorFinancialAccount")]
    ]
    _put_payment(out, _raw(settlement, "ram:PaymentReference"), accounts)
    rows = [
        _item(
            _raw(line, "ram:SpecifiedTradeProduct/ram:Name"),
            _raw(line, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"),
            _raw(line, f"{_CII_PRICE}/ram:ChargeAmount"),  # BT-146
            _raw(line, f"{_CII_PRICE}/ram:BasisQuantity"),  # BT-149
            _raw(line, _CII_LINE_TOTAL),  # BT-131
        )
        for line in _all(trade, "ram:IncludedSupplyChainTradeLineItem")
    ]
    _put_items(out, [r for r in rows if r is not None])
    return out, _val(document, "ram:TypeCode")  # BT-3


# --- entry points ---------------------------------------------------------------------------------


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."


def parse_einvoice(xml: bytes) -> EInvoice:
    """Read a UBL Invoice/CreditNote or a CII CrossIndustryInvoice. Raises EmptyInput, InputTooLarge,
    UndecodableInput (not well-formed, a DTD or entities, no invoice number) or UnsupportedInput."""
    data = bytes(xml)
    if not data:
        raise EmptyInput("the e-invoice XML is empty")
    if len(data) > MAX_XML_BYTES:
        raise InputTooLarge(f"the e-invoice XML is {len(data)} bytes, above the limit of {MAX_XML_BYTES}")
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise UndecodableInput(
            "the e-invoice XML declares a DTD or entities, which are refused (no DTD is needed)"
        ) from None
    except (ParseError, ValueError, LookupError) as error:
        raise UndecodableInput(f"the e-invoice XML is not well-formed: {_short(str(error))}") from None
    namespace, _, local = root.tag[1:].rpartition("}") if root.tag.startswith("{") else ("", "", root.tag)
    syntax = ROOTS.get((namespace, local))
    if syntax is None:
        where = f" in namespace {_short(namespace, 100)!r}" if namespace else " without a namespace"
        raise UnsupportedInput(
            f"the XML root element {_short(local, 60)!r}{where} is not a UBL 2.1 Invoice or CreditNote "
            "or a UN/CEFACT CII CrossIndustryInvoice"
        )
    credit_root = local == "CreditNote"
    fields, code = _ubl(root, credit_root) if syntax == "ubl" else _cii(root)
    if "invoice_number" not in fields:
        raise UndecodableInput(f"the {syntax.upper()} {local} has no invoice number (BT-1)")
    credit = credit_root or code in CREDIT_NOTE_CODES
    return EInvoice(
        syntax=syntax,
        document_type="credit_note" if credit else "invoice",
        fields=fields,
        type_code=code,
        specification=_val(root, _SPECIFICATION[syntax]),
    )


def xml_from_pdf(pdf: bytes) -> bytes | None:
    """The Factur-X / ZUGFeRD / XRechnung XML embedded in a PDF, or None (none there, or a PDF too
    damaged to read). pypdf reads only the catalog's embedded-file tree, not the pages, and caps what a
    stream may inflate to; the caller bounds the PDF's size."""
    if b"%PDF-" not in pdf[:1024]:
        return None
    try:
        # lxml and pypdf load only when a PDF may carry an invoice, not for every image request
        import facturx  # noqa: PLC0415

        _name, found = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    except Exception:  # pypdf raises many kinds on a damaged file: no XML is the right answer
        return None
    if not isinstance(found, bytes) or not found or len(found) > MAX_XML_BYTES:
        return None
    return found
