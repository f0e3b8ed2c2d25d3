"""Synthetic invoice pages with ground-truth field boxes, and YOLO datasets made of them.

    page = render_invoice(seed, width=1240, height=1754, scanned=None, with_masks=False, policy="train")
    data_yaml = generate_dataset(out_dir, n_train=400, n_val=100, n_held_out=100, seed=0, workers=2)
    python -m devkit.synth --out DIR --train N --val N [--held-out N --seed S --width W --workers K]
    python -m devkit.synth sample --out page.jpg --seed S [--policy held_out --layout F --payment P]

Header layout families, payment variants, label wordings and fonts have names, and each is TRAIN or
HELD_OUT (families.py): train/val pages use the TRAIN pools, the held-out split the HELD_OUT ones, so
an evaluation can report figures on layouts the model never saw. A `Page` records its `family`,
`payment`, `wording`, `font` and `degradation`; `page.content` (an `Invoice`) has what is printed and
its truth (ISO dates, float amounts, ISO 4217 currency, payment numbers with valid check digits).

Pages are A4-shaped (1240×1754 is A4 at 150 DPI) and everything scales with the page, so 320×452 is
the same invoice shrunk. Classes and their order are `CLASS_NAMES` (fields.py).

Box semantics (what a detector is taught to find):
- Key-value fields (invoice_number, invoice_date, due_date, subtotal, vat, total_amount): the box
  covers the label and its value as drawn, on one line ("Invoice no. 10423"), in columns however far
  apart (label_column: 200+ px, the gap inside the box) or stacked ("Fakturanr" above "10423", in a
  bordered cell or not; the borders are outside the field). The label is inside the box wherever one
  is printed; where none is (the no_label family's bare number and date) the box is the value alone.
- supplier: logo (when there is one), company name and postal address lines, as one block.
- customer_address: the recipient's heading when printed ("Bill to", "Kund"), name and address lines.
- line_items: the whole table, header row and all item rows, with the table's own rules and shading.
- payment_reference: the payment block, its heading when printed and every line of it (bankgiro,
  OCR, IBAN, BIC, sort code, reference), or the payment strip across the page; for a payment slip,
  boxed footer cells or a framed bank-details block, also its frames, fill and the amount box in it.
- Lookalikes are not fields: the "INVOICE" title, customer no., order no., org. no., references
  (also the block of them beside a payment block), delivery date, payment terms, a delivery address,
  rounding, discount or currency lines, notes, footer, page number, a slip's cut line.

Boxes are exact: each field's drawing is painted a second time onto its own greyscale layer, the
layer is warped with the page's rotation/skew, and the box is the extent of the warped pixels with
at least a quarter of full anti-aliased coverage. `with_masks=True` gives those masks per box, so a
test can check that a box holds all of its field's ink and that the ink touches all four edges.
Rotation stays within ±1.5° so axis-aligned boxes stay tight.
"""

from __future__ import annotations

from devkit.synth.dataset import generate_dataset, page_seed
from devkit.synth.fields import CLASS_NAMES
from devkit.synth.render import FieldBox, Page, render_invoice

__all__ = ["CLASS_NAMES", "FieldBox", "Page", "generate_dataset", "page_seed", "render_invoice"]
