"""The field registry (invoice_contracts.fields): one entry per field, read by every part."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.synth.fields import CLASS_NAMES
from inbox.settings import InboxSettings
from invoice_contracts import fields as registry
from invoice_core.read import candidates, decide
from invoice_core.read.words import Box, Word
from invoice_core.respond.schema import Answer, Fields

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]


def test_the_parts_read_their_fields_from_the_registry() -> None:
    assert registry.class_names() == CLASS_NAMES  # the generator's classes, in class-id order
    assert CLASS_NAMES[5] == "line_items" and len(CLASS_NAMES) == 10  # the shipped model's contract
    assert candidates.AMOUNT_FIELDS == ("subtotal", "vat", "total_amount")
    assert candidates.DATE_FIELDS == ("invoice_date", "due_date")
    assert list(Fields.model_fields) == list(registry.names())  # the answer schema, in answer order
    assert InboxSettings.model_fields["key_fields"].default == registry.key_fields()
    assert registry.expected_proposals() == ("invoice_number", "invoice_date", "due_date", "total_amount")
    assert registry.shape_of("due_date") == ("invoice_date", "due_date")
    assert registry.shape_of("total_amount") == ("total_amount",)


def test_class_ids_must_be_a_run_from_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tuple(
        f if f.name != "vat" else registry.FieldSpec("vat", "amount", class_id=12) for f in registry.FIELDS
    )
    monkeypatch.setattr(registry, "FIELDS", broken)
    with pytest.raises(ValueError, match="class ids"):
        registry.class_names()


def test_a_label_of_an_unknown_field_is_refused() -> None:
    from invoice_core.read import lexicon  # noqa: PLC0415

    with pytest.raises(ValueError, match="registry does not have"):
        lexicon.add_labels("no_such_field", "Nonsense label")


# One page: an invoice number, a contract number and a total, each on its labelled line, as
# (text, x1, y1, x2, y2) words in page pixels.
PAGE = [
    (text, x, y, x + 8 * len(text), y + 14)
    for y, cells in (
        (40, ((40, "Fakturanummer:"), (200, "10423"))),
        (70, ((40, "Avtalsnummer:"), (200, "AV-2026-77"))),
        (100, ((40, "Att betala:"), (200, "1 250,00 SEK"))),
    )
    for x, text in cells
]


# Adding a field: one registry entry, its label words, nothing else. Run in a fresh interpreter so
# that every module derives its tables from the extended registry, as a deployment that adds the
# field would at start-up.
ADD_A_FIELD = r"""
import json, sys
from invoice_contracts import fields as registry
from invoice_core.detect.model import load_model
registry.FIELDS = (*registry.FIELDS, registry.FieldSpec("contract_number", "id"))
from invoice_core.read import lexicon
lexicon.add_labels("contract_number", "Contract number|Avtalsnummer")
from invoice_core.read.decide import read_invoice
from invoice_core.read.words import Box, Word
from invoice_core.respond.schema import Answer
words = [Word(text, Box(*xyxy), 1, 0.98, "ocr") for text, *xyxy in json.loads(sys.argv[1])]
answer = read_invoice(words)
Answer.model_validate(answer)
print(json.dumps({name: f["value"] for name, f in answer["fields"].items()}))
"""


def test_adding_a_field_is_one_registry_entry_and_its_label_words() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(REPO / d) for d in ("functions/infer", "functions/common")),
    }
    done = subprocess.run(
        [sys.executable, "-c", ADD_A_FIELD, json.dumps(PAGE)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    values = json.loads(done.stdout.strip().splitlines()[-1])
    assert values["contract_number"] == "AV-2026-77"
    assert values["invoice_number"] == "10423" and values["total_amount"] == 1250.0
    assert list(values)[-1] == "contract_number"  # the registry's order: appended last


def test_without_the_entry_the_same_page_reads_no_such_field() -> None:
    answer = decide.read_invoice([Word(text, Box(*xyxy), 1, 0.98, "ocr") for text, *xyxy in PAGE])
    assert "contract_number" not in answer["fields"]
    assert answer["fields"]["invoice_number"]["value"] == "10423"  # the unnamed line is no one's value
    assert answer["fields"]["total_amount"]["value"] == 1250.0
    assert "contract_number" not in Answer.model_fields["fields"].annotation.model_fields
