"""The extraction benchmark's scoring: what counts as right, wrong, missing and spurious."""

from __future__ import annotations

from bench.extraction import KEY_FIELDS, Outcome, Sample, render, same, score


def _outcome(truth: dict, got: dict, name: str = "p") -> Outcome:
    return Outcome(Sample(name, b"", "image", truth, {"layout": "inline"}), got, 10.0, ["ocr"], [])


TRUTH = {
    "invoice_number": "INV-1",
    "invoice_date": "2026-04-22",
    "due_date": "2026-05-22",
    "total_amount": 212880.0,
    "payment_reference": "994702083938",
}


def test_same_normalises_amounts_references_and_names() -> None:
    assert same("total_amount", 212880.004, 212880.0)
    assert not same("total_amount", 212880.01, 212880.0)
    assert not same("total_amount", "212880.00", 212880.0)  # a string is not a number
    assert same("payment_reference", "9947 0208 3938", "994702083938")
    assert same("supplier", "Nordic  supplies AB", "Nordic Supplies AB")
    assert not same("invoice_date", "2026-04-23", "2026-04-22")
    assert not same("invoice_number", None, "INV-1")


def test_score_counts_right_wrong_missing_and_spurious() -> None:
    perfect = _outcome(TRUTH, dict(TRUTH), "a")
    wrong_date = _outcome(TRUTH, {**TRUTH, "due_date": "2026-04-22", "bankgiro": "116-5206"}, "b")
    missing_ref = _outcome(TRUTH, {k: v for k, v in TRUTH.items() if k != "payment_reference"}, "c")
    result = score([perfect, wrong_date, missing_ref])
    assert result["pages"] == 3
    assert result["pages_all_key_right"] == 1
    assert result["per_field"]["due_date"] == {
        "printed": 3,
        "right": 2,
        "wrong": 1,
        "missing": 0,
        "spurious": 0,
        "accuracy": 2 / 3,
    }
    assert result["per_field"]["payment_reference"]["missing"] == 1
    assert result["per_field"]["bankgiro"]["spurious"] == 1
    assert result["spurious"] == 1
    assert result["key_accuracy"] == (3 * len(KEY_FIELDS) - 2) / (3 * len(KEY_FIELDS))
    assert {(f["page"], f["field"]) for f in result["failures"]} == {
        ("b", "due_date"),
        ("b", "bankgiro"),
        ("c", "payment_reference"),
    }
    assert result["by_tag"]["layout"]["inline"] == [13, 15]


def test_report_names_the_sets_and_the_verdict() -> None:
    sets = {"held_out": score([_outcome(TRUTH, dict(TRUTH))]), "pdf": score([_outcome(TRUTH, {})])}
    text = render(
        {"sets": sets, "machine": "x", "date": "d", "seconds": 1.0, "model_version": "v"},
        "make bench-extraction",
    )
    assert "| held_out | 1 | 100.0% | 1/1 | 0 | 0 | 10 | meets |" in text
    assert "| pdf | 1 | 0.0% | 0/1 | 0 | 0 | 10 | misses |" in text
    assert "`make bench-extraction`" in text
