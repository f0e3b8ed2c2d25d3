"""E-invoices read exactly (invoice_core.read.einvoice): OpenPEPPOL BIS 3 and CEN examples, two written
here, a Factur-X PDF built here, damaged PDFs and hostile XML. The fixtures and their sources are listed
in fixtures/einvoice/NOTICE.md; factur-x's own EN 16931 parser (lxml) is the independent second reader."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import facturx
import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader, PdfWriter

from invoice_core.errors import EmptyInput, InputTooLarge, UndecodableInput, UnsupportedInput
from invoice_core.read.einvoice import (
    MAX_XML_BYTES,
    EInvoice,
    looks_like_xml,
    parse_einvoice,
    sniff,
    xml_from_pdf,
)

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).parent / "fixtures" / "einvoice"
OWN_CII = "own-cii-facturx-en16931.xml"
OWN_UBL = "own-ubl-se-bankgiro.xml"
UBL_NS = 'xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"'
CII_NS = 'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"'

# What each document states, read off the XML by hand. None: the field must be absent.
EXPECTED: dict[str, dict[str, Any]] = {
    "peppol-base-example.xml": {
        "syntax": "ubl",
        "document_type": "invoice",
        "invoice_number": "Snippet1",
        "invoice_date": "2017-11-13",
        "due_date": "2017-12-01",
        "currency": "EUR",
        "subtotal": 1325.0,
        "vat": 331.25,
        "total_amount": 1656.25,
        "payment_reference": ("Snippet1", "reference", None),
        "iban": None,  # "IBAN32423940" is no IBAN, so not read as one
        "bic": ("BIC324098", False),
        "bankgiro": None,
        "lines": 2,
        "first_amount": 2800.0,
    },
    "peppol-base-creditnote-correction.xml": {
        "syntax": "ubl",
        "document_type": "credit_note",
        "invoice_number": "Snippet1",
        "invoice_date": "2017-11-13",
        "due_date": None,
        "currency": "EUR",
        "subtotal": 1325.0,
        "vat": 331.25,
        "total_amount": 1656.25,  # as printed: positive
        "payment_reference": ("Snippet1", "reference", None),
        "iban": None,
        "bic": ("BIC324098", False),
        "bankgiro": None,
        "lines": 2,
        "first_amount": 2800.0,
    },
    "peppol-Allowance-example.xml": {
        "syntax": "ubl",
        "document_type": "invoice",
        "invoice_number": "Snippet1",
        "invoice_date": "2017-11-13",
        "due_date": "2017-12-01",
        "currency": "EUR",
        "subtotal": 5900.0,
        "vat": 1225.0,  # the EUR total, not the second TaxTotal of 9324.00 SEK (BT-111)
        "total_amount": 6125.0,  # amount due: 7125 less 1000 prepaid
        "payment_reference": ("Snippet1", "reference", None),
        "iban": None,
        "bic": ("BIC324098", False),
        "bankgiro": None,
        "lines": 3,
        "first_amount": 4000.0,
    },
    "peppol-Norwegian-example-1.xml": {
        "syntax": "ubl",
        "document_type": "invoice",
        "invoice_number": "TOSL108",
        "invoice_date": "2013-06-30",
        "due_date": "2013-07-20",
        "currency": "NOK",
        "subtotal": 1436.5,
        "vat": 365.28,
        "total_amount": 802.0,  # after 1000 prepaid and 0.22 rounding
        "payment_reference": ("0003434323213231", "reference", None),  # a KID, not a Swedish OCR number
        "iban": ("NO9386011117947", True),
        "bic": ("DNBANOKK", True),
        "bankgiro": None,
        "lines": 5,
        "first_amount": 1273.0,
    },
    OWN_UBL: {
        "syntax": "ubl",
        "document_type": "invoice",
        "invoice_number": "2025-0042",
        "invoice_date": "2025-09-12",
        "due_date": "2025-10-12",
        "currency": "SEK",
        "subtotal": 6700.0,
        "vat": 1454.0,
        "total_amount": 8154.0,
        "payment_reference": ("20250042171", "ocr", True),
        "iban": None,
        "bic": None,  # SE:BANKGIRO names the giro, not a bank
        "bankgiro": ("5050-1055", True),
        "lines": 2,
        "first_amount": 5000.0,
    },
    "cen-CII_business_example_Z.xml": {
        "syntax": "cii",
        "document_type": "invoice",
        "invoice_number": "2016166",
        "invoice_date": "2015-01-09",
        "due_date": "2015-01-09",
        "currency": "EUR",
        "subtotal": 11693.87,
        "vat": 0.0,
        "total_amount": 11693.87,
        "payment_reference": ("2016166", "reference", None),
        "iban": ("DE12500105170648489890", True),
        "bic": None,
        "bankgiro": None,
        "lines": 3,
        "first_amount": 12122.59,
    },
    OWN_CII: {
        "syntax": "cii",
        "document_type": "invoice",
        "invoice_number": "FX-2025-117",
        "invoice_date": "2025-11-03",
        "due_date": "2025-12-03",
        "currency": "EUR",
        "subtotal": 809.0,
        "vat": 147.83,
        "total_amount": 956.83,
        "payment_reference": ("RF18539007547034", "rf", True),
        "iban": ("DE89370400440532013000", True),
        "bic": ("COBADEFFXXX", True),
        "bankgiro": None,
        "lines": 2,
        "first_amount": 760.0,
    },
}


def _read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _value(invoice: EInvoice, name: str) -> Any:
    field = invoice.fields.get(name)
    return None if field is None else field["value"]


def _first(term: Any) -> Any:
    """factur-x gives a list where a term repeats (one per payment means)."""
    return term[0] if isinstance(term, list) else term


def _blank_pdf(pages: int = 1) -> bytes:
    document = pdfium.PdfDocument.new()
    try:
        for _ in range(pages):
            document.new_page(595, 842)
        out = io.BytesIO()
        document.save(out)
    finally:
        document.close()
    return out.getvalue()


def _with_attachment(pdf: bytes, name: str, data: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_attachment(name, data)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _billion_laughs(root: str) -> bytes:
    entities = "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    return f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a0 "lol">{entities}]>{root}'.encode()


def test_the_fixtures_are_all_covered() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.xml")) == sorted(EXPECTED)
    notice = (FIXTURES / "NOTICE.md").read_text()
    assert all(name in notice for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reads_each_example_exactly(name: str) -> None:
    want = EXPECTED[name]
    invoice = parse_einvoice(_read(name))
    assert (invoice.syntax, invoice.document_type) == (want["syntax"], want["document_type"])
    for field in (
        "invoice_number",
        "invoice_date",
        "due_date",
        "currency",
        "subtotal",
        "vat",
        "total_amount",
    ):
        assert _value(invoice, field) == want[field], field
    reference = invoice.fields["payment_reference"]
    assert (reference["value"], reference["kind"], reference["valid"]) == want["payment_reference"]
    for field in ("iban", "bic", "bankgiro"):
        got = invoice.fields.get(field)
        assert (None if got is None else (got["value"], got["valid"])) == want[field], field
    rows = invoice.fields["line_items"]["value"]
    assert len(rows) == want["lines"]
    assert rows[0]["amount"] == want["first_amount"]
    assert sniff(_read(name)) == want["syntax"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_agrees_with_factur_x_own_parser(name: str) -> None:
    """factur-x's EN 16931 reader (lxml, its own XPaths) finds the same business terms."""
    other = facturx.parse_ubl_cii_xml(_read(name), check_xsd=False, float_as="float", date_as="string")
    invoice = parse_einvoice(_read(name))
    terms = {"invoice_number": "BT-1", "invoice_date": "BT-2", "due_date": "BT-9", "currency": "BT-5"}
    terms |= {"subtotal": "BT-109", "vat": "BT-110", "total_amount": "BT-115"}
    for field, term in terms.items():
        assert _value(invoice, field) == other.get(term), (field, term)
    assert invoice.type_code == other["BT-3"]
    assert invoice.fields["payment_reference"]["text"] == _first(other["BT-83"])
    account = invoice.fields.get("iban") or invoice.fields.get("bankgiro")
    assert (account is None) == (EXPECTED[name]["iban"] is None and EXPECTED[name]["bankgiro"] is None)
    assert account is None or account["text"] == _first(other["BT-84"])
    rows = invoice.fields["line_items"]["value"]
    assert [(r["description"], r["quantity"], r["amount"]) for r in rows] == [
        (line["BT-153"], line["BT-129"], line["BT-131"]) for line in other["BG-25"]
    ]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_field_has_the_answer_shape(name: str) -> None:
    invoice = parse_einvoice(_read(name))
    assert {"invoice_number", "invoice_date", "supplier", "total_amount", "line_items"} <= set(invoice.fields)
    for field_name, field in invoice.fields.items():
        assert field["confidence"] == 1.0 and field["page"] == 1, field_name
        assert field["source"] == field["evidence"] == "e_invoice", field_name
        assert "box" not in field and isinstance(field["text"], str) and field["text"], field_name
    for amount in ("subtotal", "vat", "total_amount"):
        assert isinstance(_value(invoice, amount), float)
        assert invoice.fields[amount]["currency"] == _value(invoice, "currency")
    for row in _value(invoice, "line_items"):
        assert set(row) == {"description", "quantity", "unit_price", "amount"} and row["description"]
    assert (
        invoice.fields["line_items"]["text"].split("\n")[0] == _value(invoice, "line_items")[0]["description"]
    )


def test_parties_of_a_ubl_invoice() -> None:
    invoice = parse_einvoice(_read("peppol-base-example.xml"))
    supplier = invoice.fields["supplier"]
    assert supplier["value"] == "SupplierOfficialName Ltd"  # BT-27, the legal name, not the trading name
    assert supplier["address"] == "Main street 1\nPostbox 123\nGB 123 EW London\nGB"
    assert (supplier["vat_id"], supplier["org_id"]) == ("GB1232434", "GB983294")
    customer = invoice.fields["customer_address"]["value"]
    assert customer == "Buyer Official Name\nHovedgatan 32\nPo box 878\n456 34 Stockholm\nSE"
    swedish = parse_einvoice(_read(OWN_UBL)).fields
    assert swedish["supplier"]["vat_id"] == "SE556677889901"  # the VAT scheme, not "Godkänd för F-skatt"
    assert swedish["customer_address"]["value"].split("\n")[0] == "Kontorshotellet i Uppsala AB"


def test_parties_of_a_cii_invoice() -> None:
    fields = parse_einvoice(_read(OWN_CII)).fields
    assert fields["supplier"]["value"] == "Beispiel Software GmbH"
    assert fields["supplier"]["vat_id"] == "DE123456789"  # scheme VA; the FC tax number is not BT-31
    assert fields["supplier"]["org_id"] == "HRB 12345"
    assert fields["supplier"]["address"] == "Hauptstraße 5\n10115 Berlin\nDE"
    assert (
        fields["customer_address"]["value"]
        == "Kunde & Partner KG\nMarktplatz 1\nEingang B\n80331 München\nDE"
    )
    assert (fields["invoice_date"]["text"], fields["invoice_date"]["value"]) == ("20251103", "2025-11-03")


def test_line_items_read_price_per_base_quantity() -> None:
    rows = parse_einvoice(_read("peppol-Allowance-example.xml")).fields["line_items"]["value"]
    assert rows[1] == {"description": "item name", "quantity": 10.0, "unit_price": 100.0, "amount": 1000.0}
    norwegian = parse_einvoice(_read("peppol-Norwegian-example-1.xml")).fields["line_items"]["value"]
    assert [r["amount"] for r in norwegian][:2] == [1273.0, -3.96]
    assert norwegian[0]["description"] == "Laptop computer"  # Item/Name, not AdditionalItemProperty/Name


def test_credit_notes_by_root_or_type_code() -> None:
    credit = parse_einvoice(_read("peppol-base-creditnote-correction.xml"))
    assert credit.document_type == "credit_note" and credit.type_code == "381"
    assert credit.fields["line_items"]["value"][0]["quantity"] == 7.0  # CreditedQuantity
    assert credit.fields["total_amount"]["value"] > 0
    ubl = _read("peppol-base-example.xml").replace(
        b">380</cbc:InvoiceTypeCode>", b">381</cbc:InvoiceTypeCode>"
    )
    assert parse_einvoice(ubl).document_type == "credit_note"
    cii = _read(OWN_CII).replace(b"<ram:TypeCode>380</ram:TypeCode>", b"<ram:TypeCode>381</ram:TypeCode>")
    assert parse_einvoice(cii).document_type == "credit_note"
    assert parse_einvoice(_read(OWN_CII)).document_type == "invoice"


def test_swedish_giro_numbers_and_their_check_digits() -> None:
    fields = parse_einvoice(_read(OWN_UBL)).fields
    assert (fields["plusgiro"]["value"], fields["plusgiro"]["valid"]) == ("4123456-8", True)
    assert fields["bankgiro"]["text"] == "50501055"
    broken = _read(OWN_UBL).replace(b">50501055<", b">50501056<").replace(b">20250042171<", b">20250042172<")
    fields = parse_einvoice(broken).fields
    assert (fields["bankgiro"]["value"], fields["bankgiro"]["valid"]) == ("5050-1056", False)
    # paid to a giro, digits that fail the Luhn check are a mistyped OCR number, flagged
    assert (fields["payment_reference"]["kind"], fields["payment_reference"]["valid"]) == ("ocr", False)


def test_a_bankgiro_in_cii_and_a_bad_iban() -> None:
    xml = _read(OWN_CII)
    giro = xml.replace(
        b"<ram:IBANID>DE89370400440532013000</ram:IBANID>", b"<ram:ProprietaryID>50501055</ram:ProprietaryID>"
    )
    fields = parse_einvoice(giro.replace(b">COBADEFFXXX<", b">SE:BANKGIRO<")).fields
    assert (fields["bankgiro"]["value"], fields["bankgiro"]["valid"]) == ("5050-1055", True)
    assert "iban" not in fields and "bic" not in fields
    spaced = xml.replace(b">DE89370400440532013000<", b">DE89 3704 0044 0532 0130 01<")
    iban = parse_einvoice(spaced).fields["iban"]
    assert (iban["value"], iban["text"], iban["valid"]) == (
        "DE89370400440532013001",
        "DE89 3704 0044 0532 0130 01",
        False,
    )


def test_dates_that_name_no_day_are_left_out() -> None:
    xml = _read(OWN_CII)
    month = xml.replace(
        b'<udt:DateTimeString format="102">20251203</udt:DateTimeString>',
        b'<udt:DateTimeString format="610">202512</udt:DateTimeString>',
    )
    assert "due_date" not in parse_einvoice(month).fields
    impossible = xml.replace(b">20251203<", b">20250230<")
    fields = parse_einvoice(impossible).fields
    assert "due_date" not in fields and fields["invoice_date"]["value"] == "2025-11-03"


def test_factur_x_pdf_roundtrip() -> None:
    xml = _read(OWN_CII)
    # check_xsd (the default) also proves the hand-written fixture is a valid Factur-X EN 16931 XML
    pdf = facturx.generate_from_binary(_blank_pdf(), xml, flavor="factur-x", level="en16931")
    assert xml_from_pdf(pdf) == xml
    invoice = parse_einvoice(xml_from_pdf(pdf) or b"")
    assert (invoice.syntax, _value(invoice, "invoice_number"), _value(invoice, "total_amount")) == (
        "cii",
        "FX-2025-117",
        956.83,
    )
    assert invoice.specification == "urn:cen.eu:en16931:2017"


def test_a_large_pdf_is_read_fast() -> None:
    xml = _read(OWN_CII)
    big = _blank_pdf(pages=1500)
    pdf = facturx.generate_from_binary(big, xml, check_xsd=False)
    started = time.perf_counter()
    assert xml_from_pdf(pdf) == xml
    assert xml_from_pdf(big) is None
    assert time.perf_counter() - started < 2.0  # pypdf walks the catalog's file tree, not the pages


def test_pdfs_without_an_invoice_give_none() -> None:
    blank = _blank_pdf()
    assert xml_from_pdf(blank) is None
    assert xml_from_pdf(_with_attachment(blank, "notes.xml", b"<notes><a>1</a></notes>")) is None
    assert xml_from_pdf(_with_attachment(blank, "factur-x.xml", b"not xml at all")) is None
    # an attachment that is an invoice is found whatever its name (factur-x matches *.xml)
    assert xml_from_pdf(_with_attachment(blank, "invoice.xml", _read(OWN_CII))) == _read(OWN_CII)


def test_damaged_pdfs_give_none() -> None:
    pdf = facturx.generate_from_binary(_blank_pdf(), _read(OWN_CII))
    for damaged in (
        b"",
        b"%PDF-1.7\n",
        b"%PDF-1.7\n" + bytes(range(256)) * 200,
        pdf[:300],
        pdf[: len(pdf) // 2],
        pdf.replace(b"/EmbeddedFiles", b"/EmbeddedFilez"),
        b"GIF89a" + b"\x00" * 2048 + pdf,
    ):
        assert xml_from_pdf(damaged) is None


def test_a_pdf_with_a_hostile_attachment_is_refused_fast() -> None:
    bomb = _billion_laughs(f"<rsm:CrossIndustryInvoice {CII_NS}>&a9;</rsm:CrossIndustryInvoice>")
    started = time.perf_counter()
    found = xml_from_pdf(_with_attachment(_blank_pdf(), "factur-x.xml", bomb))
    if found is not None:  # whatever factur-x's lxml makes of it, the reader refuses the DTD
        with pytest.raises(UndecodableInput):
            parse_einvoice(found)
    assert time.perf_counter() - started < 2.0


def test_malformed_xml_is_undecodable_and_the_message_is_short() -> None:
    for broken in (b"<Invoice>", b"<a><b></a>", b"\x00\x01 not xml", b"<" + b"x" * 2_000_000):
        with pytest.raises(UndecodableInput, match="not well-formed") as caught:
            parse_einvoice(broken)
        assert len(caught.value.message) < 300 and caught.value.code == "undecodable_input"


@pytest.mark.parametrize(
    "xml",
    [
        _billion_laughs(f"<Invoice {UBL_NS}><cbc:ID>&a9;</cbc:ID></Invoice>"),
        f'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Invoice {UBL_NS}>&x;</Invoice>'.encode(),
        f'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://example.invalid/p.dtd"> %p;]><Invoice {UBL_NS}/>'.encode(),
        f'<!DOCTYPE Invoice SYSTEM "http://example.invalid/x.dtd"><Invoice {UBL_NS}/>'.encode(),
    ],
    ids=["billion-laughs", "external-entity", "parameter-entity", "external-dtd"],
)
def test_entities_and_dtds_are_refused_fast(xml: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(UndecodableInput, match="DTD") as caught:
        parse_einvoice(xml)
    assert time.perf_counter() - started < 1.0
    assert "passwd" not in caught.value.message and "example.invalid" not in caught.value.message
    assert sniff(xml) is None  # the sniffer stops at the DTD too


@pytest.mark.parametrize(
    ("xml", "named"),
    [
        (b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"><ID>1</ID></Order>', "Order"),
        (b"<Invoice><ID>1</ID></Invoice>", "without a namespace"),
        (
            b'<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"/>',
            "CrossIndustryDocument",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "svg"),
        (b'<Invoice xmlns="urn:' + b"x" * 100_000 + b'"/>', "Invoice"),
    ],
)
def test_other_xml_is_unsupported(xml: bytes, named: str) -> None:
    with pytest.raises(UnsupportedInput, match=named) as caught:
        parse_einvoice(xml)
    assert len(caught.value.message) < 400 and caught.value.code == "unsupported_media_type"
    assert sniff(xml) is None


def test_a_document_without_an_invoice_number_is_refused() -> None:
    ubl = _read("peppol-base-example.xml").replace(b"<cbc:ID>Snippet1</cbc:ID>", b"", 1)
    with pytest.raises(UndecodableInput, match=r"no invoice number \(BT-1\)"):
        parse_einvoice(ubl)
    cii = _read(OWN_CII).replace(b"<ram:ID>FX-2025-117</ram:ID>", b"<ram:ID>  </ram:ID>")
    with pytest.raises(UndecodableInput, match="CII CrossIndustryInvoice has no invoice number"):
        parse_einvoice(cii)


def test_size_limits() -> None:
    with pytest.raises(EmptyInput):
        parse_einvoice(b"")
    padded = _read(OWN_CII) + b" " * (MAX_XML_BYTES - len(_read(OWN_CII)) + 1)
    with pytest.raises(InputTooLarge, match="above the limit"):
        parse_einvoice(padded)
    assert _value(parse_einvoice(padded[:MAX_XML_BYTES]), "invoice_number") == "FX-2025-117"


def test_looks_like_xml_and_sniff() -> None:
    xml = _read(OWN_UBL)
    assert looks_like_xml(xml) and looks_like_xml(b"\xef\xbb\xbf \r\n\t" + xml)
    assert looks_like_xml("\ufeff<Invoice/>".encode("utf-16-le")) and looks_like_xml("<a/>".encode("utf-16"))
    for other in (b"", b"%PDF-1.7", b"\xff\xd8\xff\xe0JFIF", b"\xff<Invoice/>", b"   Invoice"):
        assert not looks_like_xml(other)
    assert sniff(b"\xef\xbb\xbf" + xml) == "ubl"
    body = _read(OWN_CII).decode().split("?>", 1)[1]  # its declaration says UTF-8
    assert sniff(("\ufeff" + body).encode("utf-16-le")) == "cii"
    assert sniff(_read("peppol-base-creditnote-correction.xml")) == "ubl"
    assert sniff(b"<!-- note -->\n<Invoice " + UBL_NS.encode() + b">") == "ubl"  # no need for the whole file
    for other in (b"", b"%PDF-1.7", b"<a", b"<html><body/></html>", b"<Invoice/>"):
        assert sniff(other) is None
