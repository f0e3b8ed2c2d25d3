"""Lines, runs and sub-boxes from words."""

from __future__ import annotations

from reading_layout import page

from invoice_core.read.words import Box, Region, Word, lines_of


def test_words_on_one_baseline_form_one_line_even_with_jitter() -> None:
    words = [
        Word("Fakturanr", Box(60, 100, 141, 120)),
        Word("INV-1", Box(400, 104, 445, 124)),  # 4 px lower: still the same line
        Word("Kundnr", Box(60, 132, 114, 152)),
    ]
    lines = lines_of(words)
    assert [[r.text for r in line.runs] for line in lines] == [["Fakturanr", "INV-1"], ["Kundnr"]]


def test_a_wide_gap_starts_a_new_run_word_spacing_does_not() -> None:
    words = page([[(60, "Summa att betala"), (310, "212 880,00 kr")]], ocr=False)
    (line,) = lines_of(words)
    assert [r.text for r in line.runs] == ["Summa att betala", "212 880,00 kr"]


def test_lines_are_ordered_top_to_bottom_and_left_to_right() -> None:
    words = page(["first", [(300, "b"), (60, "a")], "third"])
    assert [" ".join(r.text for r in line.runs) for line in lines_of(list(reversed(words)))] == [
        "first",
        "a b",
        "third",
    ]


def test_sub_box_of_a_span_inside_one_word() -> None:
    words = page(["Invoice No. 12345"])
    (line,) = lines_of(words)
    run = line.runs[0]
    start = run.text.index("12345")
    box = run.box_of(start, start + 5)
    word = words[0].box
    assert box.x1 > word.x1 and box.x2 == word.x2 and box.y1 == word.y1
    assert run.words_in(start, start + 5) == [words[0]]


def test_region_holds_words_by_centre_and_page() -> None:
    word = Word("x", Box(10, 10, 20, 20), page=2)
    assert Region("vat", Box(0, 0, 16, 30), 0.9, page=2).holds(word)
    assert not Region("vat", Box(0, 0, 14, 30), 0.9, page=2).holds(word)
    assert not Region("vat", Box(0, 0, 16, 30), 0.9, page=1).holds(word)


def test_empty_words_are_ignored() -> None:
    assert lines_of([Word("  ", Box(0, 0, 10, 10))]) == []


def test_ocr_boxes_touching_by_a_pixel_are_one_line() -> None:
    # held_out-700009: OCR's "Bill" ends at x 838 and "number:" starts at 837; the old rule put them
    # on two lines ("two words at the same x"), so "Bill number" was never read as a label
    words = [
        Word("Bill", Box(803, 223, 838, 251)),
        Word("number:", Box(837, 223, 903, 253)),
        Word("7926144", Box(912, 225, 986, 254)),
        Word("Order", Box(808, 249, 857, 279)),  # the next line, stacked under "Bill": its own line
    ]
    lines = lines_of(words)
    assert [[r.text for r in line.runs] for line in lines] == [["Bill number: 7926144"], ["Order"]]
