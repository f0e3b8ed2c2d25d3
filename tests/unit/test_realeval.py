"""bench/realeval's scoring rules, tallies and report, on small in-memory truth (no OCR, no model)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import realeval
from bench.realeval import (
    KEY_FIELDS,
    DocResult,
    TruthDoc,
    evaluate,
    load_truth,
    media_type_of,
    report_of,
    same_value,
    score,
    to_markdown,
)

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.unit


def answer(**values: Any) -> dict[str, dict[str, Any]]:
    """A reader's `fields` object: {name: {"value": v, "confidence": ...}}."""
    return {name: {"value": value, "confidence": 0.9} for name, value in values.items()}


# ----------------------------------------------------------------------------------- same_value

BILL_TO = "Microsoft Finance\n123 Bill St\nRedmond WA, 98052"


@pytest.mark.parametrize(
    ("field", "got", "want", "expected"),
    [
        # dates: the same ISO calendar date
        ("invoice_date", "2014-08-03", "2014-08-03", True),
        ("due_date", "2014-08-03T00:00:00", "2014-08-03", True),
        ("invoice_date", "2014-08-04", "2014-08-03", False),
        ("due_date", "03/08/2014", "2014-08-03", False),  # not ISO: the reader must normalise
        ("invoice_date", "2014-03-08", "2014-08-03", False),  # day and month swapped
        # amounts: float() within half a cent
        ("total_amount", 4.11, 4.11, True),
        ("total_amount", "4.11", 4.11, True),
        ("vat", 0.0, 0.0, True),
        ("subtotal", 262.904, 262.9, True),
        ("total_amount", 4.12, 4.11, False),
        ("total_amount", 1278.61, 319.0, False),
        ("total_amount", "4,11", 4.11, False),  # float() refuses it
        ("total_amount", True, 1.0, False),  # a bool is not an amount
        # currency: upper-case equal
        ("currency", "usd", "USD", True),
        ("currency", " EUR ", "EUR", True),
        ("currency", "EUR", "USD", False),
        ("currency", "$", "USD", False),
        # compact fields: spaces and hyphens removed, case-folded
        ("iban", "FR76 1010 7002 4500 6170 5231 739", "FR7610107002450061705231739", True),
        ("iban", "nl50ingb0683251309", "NL50INGB0683251309", True),
        ("iban", "NL50INGB0683251308", "NL50INGB0683251309", False),
        ("bic", "ingb nl2a", "INGBNL2A", True),
        ("bic", "INGBNL2X", "INGBNL2A", False),
        ("bankgiro", "123-4567", "1234567", True),
        ("bankgiro", "123-4568", "1234567", False),
        ("plusgiro", "12 34 56-7", "1234567", True),
        ("payment_reference", "2023 0909 7001", "202309097001", True),
        ("payment_reference", "CUSTREF123", "202309097001", False),
        # invoice_number: case-folded, whitespace removed; every other character counts
        ("invoice_number", "inv-100", "INV-100", True),
        ("invoice_number", "INV / 2023 / 03 / 0008", "INV/2023/03/0008", True),
        ("invoice_number", "4218 3017", "42183017", True),
        ("invoice_number", "INV100", "INV-100", False),
        ("invoice_number", "INV2023030008", "INV/2023/03/0008", False),
        ("invoice_number", "#42183017", "42183017", False),
        ("invoice_number", "invoice_number1", "invoice_number_1", False),
        # supplier: case, punctuation and legal-form tolerant; containing the name counts
        ("supplier", "CONTOSO LTD.", "Contoso Ltd", True),
        ("supplier", "Contoso, Ltd.", "CONTOSO LTD.", True),
        ("supplier", "CONTOSO", "Contoso, Ltd.", True),
        ("supplier", "e-Luscious Nederland BV", "e-Luscious Nederland B.V.", True),
        ("supplier", "WS Retail Services Pvt. Ltd.,", "WS Retail Services Pvt. Ltd.", True),
        ("supplier", "Quality Hosting AG", "QualityHosting AG", True),
        ("supplier", "Amazon Web Services, Inc. 410 Terry Ave North", "Amazon Web Services, Inc.", True),
        ("supplier", "Sold By : WS Retail Services Pvt. Ltd.", "WS Retail Services Pvt. Ltd.", True),
        ("supplier", "amazon", "Amazon Web Services, Inc.", False),  # part of the name only
        ("supplier", "Invoice Summary", "Amazon Web Services, Inc.", False),
        ("supplier", "Contosoville Traders", "Contoso", False),  # whole words only
        ("supplier", "Free Service Abonné", "Free SAS", False),  # a one-word name must be whole
        ("supplier", "free", "Free SAS", True),
        ("supplier", "Contoso Headquarters", "CONTOSO LTD.", False),  # "contoso" alone is one word
        ("supplier", "Contoso Headquarters", "Contoso", True),  # the name as printed, whole
        ("supplier", "Contoso Ltd Headquarters", "Contoso Ltd", True),
        ("supplier", "sold by Amazon Web Services", "Amazon Web Services, Inc.", True),
        ("supplier", "Ltd", "Contoso Ltd", False),
        # customer_address: lenient the same way (lines or commas, case)
        ("customer_address", "Microsoft Finance, 123 Bill St, Redmond WA 98052", BILL_TO, True),
        ("customer_address", "BILL TO:\nMICROSOFT FINANCE\n123 BILL ST\nREDMOND WA, 98052", BILL_TO, True),
        ("customer_address", "Microsoft Delivery\n123 Ship St\nRedmond WA, 98052", BILL_TO, False),
        ("customer_address", "Microsoft Finance\n123 Bill St", BILL_TO, False),  # part of it
        # nothing read is never right
        ("invoice_number", None, "42183017", False),
        ("supplier", "  ", "Contoso", False),
    ],
)  # fmt: skip
def test_same_value_rules(field: str, got: Any, want: Any, expected: bool) -> None:
    assert same_value(field, got, want) is expected


def test_amount_tolerance_is_half_a_cent() -> None:
    assert same_value("total_amount", 10.004, 10.0)
    assert not same_value("total_amount", 10.006, 10.0)
    assert not same_value("total_amount", 10.01, 10.0)


def test_other_fields_compare_equal_after_normalisation() -> None:
    assert same_value("purchase_order", " PO-3333 ", "PO-3333")
    assert not same_value("purchase_order", "po-3333", "PO-3333")
    assert same_value("quantity", "12", 12)  # a numeric truth compares as an amount
    assert not same_value("quantity", "13", 12)


# ----------------------------------------------------------------------------------- score


def test_score_right_wrong_missed_and_spurious() -> None:
    truth = {
        "invoice_number": "INV-100",
        "invoice_date": "2019-11-15",
        "total_amount": 110.0,
        "supplier": "Contoso",
    }
    got = answer(
        invoice_number="INV-100",
        invoice_date="2019-11-16",
        due_date="2019-12-15",  # a key field the truth does not list: spurious
        payment_reference="",  # empty: not an answer
        bic="CONTUS33",  # not a key field: never spurious
        supplier="CONTOSO LTD.",
    )
    s = score(got, truth)
    assert s.outcome == {
        "invoice_number": "right",
        "invoice_date": "wrong",
        "total_amount": "missed",
        "supplier": "right",
    }
    assert s.names("right") == ["invoice_number", "supplier"]
    assert s.got["invoice_date"] == "2019-11-16"
    assert "total_amount" not in s.got
    assert s.spurious == {"due_date": "2019-12-15"}
    assert (s.key_right, s.key_total, s.complete) == (1, 3, False)


def test_score_entry_without_value_is_missed_not_spurious() -> None:
    s = score({"total_amount": {"value": None}, "due_date": {"confidence": 0.3}}, {"total_amount": 4.11})
    assert s.outcome == {"total_amount": "missed"}
    assert s.spurious == {}


def test_complete_needs_every_printed_key_field_right() -> None:
    truth = {"invoice_number": "1", "total_amount": 5.0, "vat": 1.0}
    assert score(answer(invoice_number="1", total_amount=5.0), truth).complete  # vat is not a key field
    assert not score(answer(invoice_number="1"), truth).complete
    assert not score(answer(vat=1.0), {"vat": 1.0}).complete  # no key field printed: not complete


def test_key_fields_are_the_five() -> None:
    assert KEY_FIELDS == ("invoice_number", "invoice_date", "due_date", "total_amount", "payment_reference")


# ----------------------------------------------------------------------------------- the corpus


def test_media_type_of() -> None:
    assert media_type_of(Path("a/b.pdf")) == "application/pdf"
    assert media_type_of("x.PNG") == "image/png"
    assert media_type_of("x.jpg") == "image/jpeg"
    assert media_type_of("x.jpeg") == "image/jpeg"
    assert media_type_of("x.tiff") == "image/tiff"
    assert media_type_of("x.xml") == "application/xml"
    assert media_type_of("x.unknownsuffix") == "application/octet-stream"


def write_corpus(root: Path, pages: list[dict[str, Any]]) -> Path:
    (root / "files").mkdir(parents=True)
    for page in pages:
        (root / "files" / page["file"]).write_bytes(page["file"].encode())  # the bytes name the file
    (root / "truth.json").write_text(json.dumps({"pages": pages}), encoding="utf-8")
    return root


PAGES = [
    {
        "file": "a.pdf",
        "layout": "src-a",
        "lang": "en",
        "kind": "pdf_text",
        "fields": {"invoice_number": "A-1", "total_amount": 10.0, "supplier": "Acme Ltd"},
    },
    {
        "file": "b.png",
        "layout": "src-a",
        "lang": "fr",
        "kind": "image",
        "fields": {"invoice_date": "2020-01-02", "total_amount": 20.0, "currency": "EUR"},
    },
    {
        "file": "c.jpg",
        "layout": "src-b",
        "lang": "nl",
        "kind": "image",
        "fields": {"invoice_number": "C-3", "due_date": "2020-02-03", "supplier": "Cee B.V."},
    },
]
ANSWERS = {
    b"a.pdf": answer(invoice_number="a-1", total_amount=10.0, supplier="ACME LTD.", due_date="2020-01-01"),
    b"b.png": answer(invoice_date="2020-01-02", total_amount=21.0),
}


def fake_read(seen: list[tuple[bytes, str]]) -> realeval.Reader:
    def read(data: bytes, media_type: str) -> dict[str, Any]:
        seen.append((data, media_type))
        if data == b"c.jpg":
            raise RuntimeError("OCR exploded")
        return {"model": {}, "fields": ANSWERS[data]}

    return read


def test_load_truth(tmp_path: Path) -> None:
    docs = load_truth(write_corpus(tmp_path, PAGES))
    assert [d.file for d in docs] == [tmp_path / "files" / p["file"] for p in PAGES]
    assert docs[1] == TruthDoc(tmp_path / "files" / "b.png", "src-a", "fr", "image", PAGES[1]["fields"])


def test_evaluate_tallies_and_keeps_a_read_error(tmp_path: Path) -> None:
    seen: list[tuple[bytes, str]] = []
    lines: list[str] = []
    report = evaluate(fake_read(seen), write_corpus(tmp_path, PAGES), progress=lines.append)

    assert seen == [(b"a.pdf", "application/pdf"), (b"b.png", "image/png"), (b"c.jpg", "image/jpeg")]
    assert len(lines) == 3
    assert "a.pdf" in lines[0]
    assert "ERROR RuntimeError: OCR exploded" in lines[2]

    failed = report.results[2]
    assert failed.error == "RuntimeError: OCR exploded"
    assert failed.score.outcome == {"invoice_number": "missed", "due_date": "missed", "supplier": "missed"}
    assert report.errors == [("c.jpg", "RuntimeError: OCR exploded")]

    o = report.overall
    # key fields: a 2/2, b 1/2 (total wrong), c 0/2
    assert (o.documents, o.key_right, o.key_total) == (3, 3, 6)
    assert (o.supplier_right, o.supplier_total) == (1, 2)
    assert o.complete == 1  # a.pdf only
    assert o.spurious == 1  # a.pdf's due_date
    assert o.errors == 1
    assert o.key_share == pytest.approx(0.5)
    assert o.seconds_per_document is not None
    assert o.seconds_per_document >= 0

    a, b = report.by_source["src-a"], report.by_source["src-b"]
    assert (a.documents, a.key_right, a.key_total, a.complete, a.spurious) == (2, 3, 4, 1, 1)
    assert (b.documents, b.key_right, b.key_total, b.complete, b.supplier_total) == (1, 0, 2, 0, 1)

    f = report.by_field
    assert list(f)[:4] == ["invoice_number", "invoice_date", "due_date", "total_amount"]
    assert (f["total_amount"].right, f["total_amount"].wrong, f["total_amount"].missed) == (1, 1, 0)
    assert (f["due_date"].missed, f["due_date"].spurious, f["due_date"].total) == (1, 1, 1)
    assert (f["currency"].missed, f["currency"].total) == (1, 1)

    kinds = {(x.file, x.field): (x.kind, x.want, x.got) for x in report.failures}
    assert kinds[("b.png", "total_amount")] == ("wrong", 20.0, 21.0)
    assert kinds[("a.pdf", "due_date")] == ("spurious", None, "2020-01-01")
    assert kinds[("c.jpg", "supplier")] == ("missed", "Cee B.V.", None)
    assert ("a.pdf", "invoice_number") not in kinds  # right: no failure


def test_to_markdown_has_the_figures(tmp_path: Path) -> None:
    report = evaluate(fake_read([]), write_corpus(tmp_path, PAGES))
    md = to_markdown(report)
    assert md.startswith("## Real invoices\n")
    assert "Key fields right: **50%** (3 of 6;" in md
    assert "Supplier right: 50% (1 of 2)" in md
    assert "Documents complete (every key field printed read right): 1 of 3" in md
    assert "Spurious key values (answered where the truth lists none): 1" in md
    assert "| src-a | 2 | 3/4 (75%) | 1/1 (100%) | 1/2 | 1 |" in md
    assert "| src-b | 1 | 0/2 (0%) | 0/1 (0%) | 0/1 | 0 |" in md
    assert "| **total_amount** | 1/2 (50%) | 1 | 0 | 0 |" in md
    assert "| currency | 0/1 (0%) | 0 | 1 | 0 |" in md
    assert "| b.png | total_amount | wrong | 20.0 | 21.0 |" in md
    assert "`c.jpg`: RuntimeError: OCR exploded" in md
    assert f"### Failures (first {len(report.failures)} of {len(report.failures)})" in md

    short = to_markdown(report, max_failures=2)
    assert f"### Failures (first 2 of {len(report.failures)})" in short
    assert short.count("| src-") == 2
    failure_rows = [line for line in short.splitlines() if line.startswith(("| a.pdf", "| b.png", "| c.jpg"))]
    assert len(failure_rows) == 2


def test_to_markdown_escapes_table_cells() -> None:
    doc = TruthDoc(Path("x.pdf"), "s", "en", "pdf_text", {"invoice_number": "A|1"})
    report = report_of([DocResult(doc, score(answer(invoice_number="B|2"), doc.fields), 0.1)])
    md = to_markdown(report)
    assert "| x.pdf | invoice_number | wrong | A\\|1 | B\\|2 |" in md


def test_importing_the_harness_does_not_import_the_core() -> None:
    code = "import sys, bench.realeval; print('invoice_core' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------------- the copy


def test_corpus_copy_matches_its_sources() -> None:
    corpus = REPO / "corpus" / "real-invoices"
    docs = load_truth(corpus)
    assert len(docs) == 24
    rows = (corpus / "sources.tsv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split("\t")
    sources = {r["file"]: r for r in (dict(zip(header, row.split("\t"), strict=True)) for row in rows[1:])}
    assert {d.file.name for d in docs} == set(sources)
    for doc in docs:
        assert hashlib.sha256(doc.file.read_bytes()).hexdigest() == sources[doc.file.name]["sha256"]
        assert doc.layout == sources[doc.file.name]["layout"]
    licenses = (corpus / "LICENSES.md").read_text(encoding="utf-8")
    for name in sources:
        assert f"`{name}`" in licenses
