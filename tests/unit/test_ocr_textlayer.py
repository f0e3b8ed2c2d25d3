"""Born-digital PDFs (invoice_core.read.textlayer) and the text-or-OCR choice per page (read.pagewords)."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest

from bench.samples import invoice_page
from bench.samples import pdf as image_pdf
from devkit.synth.pdf import text_op as _text
from devkit.synth.pdf import write_pdf as _pdf
from invoice_core.knobs import ReadPolicy, TextPolicy
from invoice_core.read.ocr import TextLine
from invoice_core.read.pagewords import page_words
from invoice_core.read.textlayer import TextLayer, read_text_layer, read_text_layers, usable
from invoice_core.read.words import Box, Word

SCALE = 150 / 72  # 150 DPI
A4 = (595.0, 842.0)  # points
REQUIREMENTS = Path(__file__).resolve().parents[2] / "functions" / "infer" / "requirements.txt"


INVOICE = [
    _text(72, 770, "Fakturanr: 10423"),
    _text(330, 770, "Förfallodatum: 2025-09-26"),
    _text(72, 700, "Städtjänst, kontor (år 2025)"),
    _text(330, 100, "Att betala: 1 234,50 €", size=14),
]


def _ink(pdf: bytes, index: int = 0) -> np.ndarray:
    """Where the rendered page (at SCALE, as pdf.py renders it) is dark."""
    document = pdfium.PdfDocument(pdf)
    try:
        bitmap = document[index].render(scale=SCALE)
        gray = bitmap.to_numpy().mean(axis=2)
    finally:
        document.close()
    return gray < 128


def _ink_inside(ink: np.ndarray, box: Box, pad: float = 2.0) -> bool:
    """Box holds ink and the ink around it (within a word's reach) stays inside the box."""
    x1, y1 = max(0, int(box.x1 - pad)), max(0, int(box.y1 - pad))
    x2, y2 = int(box.x2 + pad) + 1, int(box.y2 + pad) + 1
    inner = ink[int(box.y1) + 1 : int(box.y2), int(box.x1) + 1 : int(box.x2)]
    ring = ink[y1:y2, x1:x2].sum() - ink[int(box.y1) : int(box.y2) + 1, int(box.x1) : int(box.x2) + 1].sum()
    return bool(inner.any()) and ring == 0


def test_words_and_lines_with_boxes_in_page_pixels() -> None:
    pdf = _pdf([INVOICE])
    layer = read_text_layer(pdf, 0, scale=SCALE)
    assert (layer.width, layer.height) == (1240, 1755)  # ceil(points * scale), the rendered bitmap
    assert [" ".join(w.text for w in line) for line in layer.lines] == [
        "Fakturanr: 10423 Förfallodatum: 2025-09-26",
        "Städtjänst, kontor (år 2025)",
        "Att betala: 1 234,50 €",
    ]
    words = {w.text: w for w in layer.words}
    assert all(w.source == "pdf_text" and w.page == 1 and w.confidence == 1.0 for w in layer.words)
    # x: points * scale; y: flipped, the baseline at 770 pt from the bottom is 72 pt from the top
    number = words["Fakturanr:"].box
    assert number.x1 == pytest.approx(72 * SCALE, abs=1.5)
    baseline = (842 - 770) * SCALE
    assert number.y1 < baseline < number.y2 and number.y2 - baseline < 0.3 * 12 * SCALE
    assert words["Att"].box.y1 > 1500  # near the bottom of the page: y grows downwards
    ink = _ink(pdf)
    for word in layer.words:
        assert _ink_inside(ink, word.box), word


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_rotated_pages_use_the_rendered_frame(rotate: int) -> None:
    pdf = _pdf([INVOICE], rotate=rotate)
    layer = read_text_layer(pdf, 0, scale=SCALE)
    expected = (1755, 1240) if rotate in (90, 270) else (1240, 1755)
    assert (layer.width, layer.height) == expected
    texts = [w.text for w in layer.words]
    assert {"Fakturanr:", "10423", "Förfallodatum:", "234,50", "€"} <= set(texts)  # words, not letters
    ink = _ink(pdf)
    assert ink.shape == (layer.height, layer.width)
    for word in layer.words:
        assert _ink_inside(ink, word.box), word


def test_gaps_without_spaces_split_words_and_invisible_text_is_left_out() -> None:
    page = [
        b"BT /F1 12 Tf 72 500 Td [(Totalt) -3000 (999,00)] TJ ET",  # a kerned gap, no space character
        _text(72, 400, "Att betala 1,00", mode=3),  # a scanner's invisible OCR text
        _text(72, 300, "Moms 25%"),
    ]
    layer = read_text_layer(_pdf([page]), 0, scale=SCALE)
    assert [w.text for w in layer.words] == ["Totalt", "999,00", "Moms", "25%"]
    assert layer.invisible == len("Attbetala1,00")
    assert layer.chars == len("Totalt999,00Moms25%")


def test_every_page_and_its_number() -> None:
    pdf = _pdf([INVOICE, [_text(72, 770, "Sida 2")]])
    layers = read_text_layers(pdf, scale=SCALE)
    assert [layer.page for layer in layers] == [1, 2]
    assert layers[1].text == "Sida 2" and {w.page for w in layers[1].words} == {2}
    assert read_text_layer(pdf, 1, scale=SCALE).text == "Sida 2"
    assert len(read_text_layers(pdf, scale=SCALE, max_pages=1)) == 1


def test_usable_needs_enough_real_characters() -> None:
    born_digital = read_text_layer(_pdf([INVOICE]), 0, scale=SCALE)
    assert usable(born_digital)
    scanned = read_text_layer(image_pdf([invoice_page(0)]), 0, scale=SCALE)
    assert scanned.chars == 0 and not usable(scanned)
    stamp = read_text_layer(_pdf([[_text(72, 800, "Sida 1 av 1")]]), 0, scale=SCALE)
    assert stamp.chars == len("Sida1av1") and not usable(stamp)  # a scan with a printed page number
    assert usable(stamp, TextPolicy(min_chars=5))
    garbage = TextLayer(page=1, width=10, height=10, chars=80, unmapped=20)  # fonts without ToUnicode
    assert not usable(garbage) and usable(garbage, TextPolicy(max_unmapped_share=0.25))
    invisible = read_text_layer(_pdf([[_text(72, 400, "x" * 60, mode=3)]]), 0, scale=SCALE)
    assert invisible.invisible == 60 and not usable(invisible)


class _Engine:
    """Stands in for OCR: says where it was asked to read."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def lines(self, bgr: np.ndarray, options: object = None) -> list[TextLine]:
        self.calls.append(bgr.shape[:2])
        return [TextLine("10423", Box(40, 40, 90, 60), 0.97, ())]


def test_a_page_with_text_is_read_from_its_text_layer_without_ocr() -> None:
    layer = read_text_layer(_pdf([INVOICE]), 0, scale=SCALE)
    engine = _Engine()
    got = page_words(None, page=1, regions=[(0, 0, 10, 10)], text_layer=layer, engine=engine)  # type: ignore[arg-type]
    assert got.source == "pdf_text" and engine.calls == []
    assert "Förfallodatum:" in [w.text for w in got.words]


def test_a_scanned_page_is_ocred_around_its_regions_or_whole() -> None:
    page = invoice_page(0)
    layer = read_text_layer(image_pdf([page]), 0, scale=SCALE)
    engine = _Engine()
    got = page_words(page, page=1, regions=[(600, 600, 700, 640)], text_layer=layer, engine=engine)  # type: ignore[arg-type]
    assert got.source == "ocr" and len(engine.calls) == 1 and engine.calls[0] != page.shape[:2]
    assert [w.text for w in got.words] == ["10423"]
    engine.calls.clear()
    whole = page_words(page, page=3, regions=[], engine=engine)  # type: ignore[arg-type]
    assert engine.calls == [page.shape[:2]] and whole.words[0].page == 3
    engine.calls.clear()
    none = page_words(page, page=1, policy=ReadPolicy(whole_page_without_regions=False), engine=engine)  # type: ignore[arg-type]
    assert none.words == [] and engine.calls == []
    with pytest.raises(ValueError, match="no image"):
        page_words(None, page=1, text_layer=layer)


def test_a_smaller_image_is_mapped_back_to_page_pixels() -> None:
    page = invoice_page(0)
    half = np.ascontiguousarray(page[::2, ::2])
    engine = _Engine()
    got = page_words(half, page=1, image_scale=(2.0, 2.0), engine=engine)  # type: ignore[arg-type]
    assert got.words == [Word("10423", Box(80, 80, 180, 120), 1, 0.97, "ocr")]


def test_requirements_pin_rapidocr_and_its_runtime_dependencies() -> None:
    pins = dict(
        re.match(r"([A-Za-z0-9_.\-\[\]]+)==(\S+)", line).groups()  # type: ignore[union-attr]
        for line in REQUIREMENTS.read_text().splitlines()
        if line and not line.startswith("#")
    )
    names = {re.sub(r"\[.*\]", "", n).lower().replace("_", "-"): v for n, v in pins.items()}
    assert names["rapidocr"] == "3.10.0"
    assert not {"torch", "opencv-python", "rapidocr-onnxruntime", "opencv-contrib-python"} & set(names)
    for requirement in importlib.metadata.requires("rapidocr") or []:
        if "extra ==" in requirement:
            continue
        name = re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0).lower().replace("_", "-")  # type: ignore[union-attr]
        assert name in names, f"rapidocr needs {requirement!r}: pin it in {REQUIREMENTS.name}"
    assert "onnxruntime" in names  # rapidocr runs on it but does not declare it
