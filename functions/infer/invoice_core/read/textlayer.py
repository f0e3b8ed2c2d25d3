"""Born-digital PDF pages -> words, from the text layer (PDFium), in the renderer's page pixels.

A PDF that was typeset (not scanned) carries its text: every character with its Unicode value and
its box in PDF points (origin bottom-left, y up). Characters are grouped into words (at spaces,
PDFium's generated breaks and wide gaps) and words into lines; boxes are taken into the pixel frame
that rendering the page at `scale` (= dpi / 72) gives: y down from the top-left, the crop box and
the page's /Rotate applied. The transform is PDFium's own display matrix (`FPDF_PageToDevice`), so
the frame is exactly the rendered bitmap's, `ceil(points * scale)` pixels a side, as pypdfium2 draws.

`usable` decides whether a page's text layer is worth reading or the page needs OCR: enough visible
characters with real Unicode values. Invisible text (render mode 3, a scanner's own OCR layer) is
not counted and not returned: what a reader of the page cannot see is no evidence of its content.

PDFium is not thread-safe: all calls here hold one lock (in a process that also renders, calls are
serialised per request anyway; see the report on sharing pdf.py's lock).
"""

from __future__ import annotations

import ctypes
import math
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from invoice_core.knobs import TextPolicy
from invoice_core.read.words import Box, Word

if TYPE_CHECKING:
    import pypdfium2 as pdfium

POINTS_PER_INCH = 72.0
INVISIBLE = 3  # FPDF_TEXTRENDERMODE_INVISIBLE
WORD_GAP = 0.25  # a gap wider than this share of the text height starts a new word
LINE_OVERLAP = 0.5  # two boxes share a line when they overlap by half the smaller one's height
_AFFINE_K = 1024  # FPDF_PageToDevice answers whole pixels: map on a 1024x larger device, divide
_LOCK = threading.Lock()


@dataclass(frozen=True)
class TextLayer:
    """One page's text: words in page pixels grouped into lines (top to bottom, left to right)."""

    page: int  # from 1
    width: int  # pixels of the page at the scale it was read for (the rendered bitmap's size)
    height: int
    lines: list[list[Word]] = field(default_factory=list)
    chars: int = 0  # visible characters with a Unicode value (what `usable` counts)
    unmapped: int = 0  # visible characters without one (a font with no ToUnicode map)
    invisible: int = 0  # characters in render mode 3

    @property
    def words(self) -> list[Word]:
        return [word for line in self.lines for word in line]

    @property
    def text(self) -> str:
        return "\n".join(" ".join(w.text for w in line) for line in self.lines)


def usable(layer: TextLayer, policy: TextPolicy = TextPolicy()) -> bool:
    """Whether the text layer should be read instead of OCR'ing the page."""
    seen = layer.chars + layer.unmapped
    if layer.chars < policy.min_chars or seen == 0:
        return False
    return layer.unmapped / seen <= policy.max_unmapped_share


def read_text_layer(pdf: bytes, index: int, *, scale: float) -> TextLayer:
    """The text layer of page `index` (from 0) for a render at `scale` pixels per point."""
    import pypdfium2 as pdfium  # noqa: PLC0415 - loaded only for PDFs

    with _LOCK:
        document = pdfium.PdfDocument(pdf)
        try:
            return _read_page(document, index, scale)
        finally:
            document.close()


def read_text_layers(pdf: bytes, *, scale: float, max_pages: int | None = None) -> list[TextLayer]:
    """Every page's text layer (the first `max_pages`), the document opened once."""
    import pypdfium2 as pdfium  # noqa: PLC0415

    with _LOCK:
        document = pdfium.PdfDocument(pdf)
        try:
            count = len(document) if max_pages is None else min(len(document), max_pages)
            return [_read_page(document, index, scale) for index in range(count)]
        finally:
            document.close()


@dataclass
class _Char:
    text: str
    box: Box  # page pixels
    turn: int  # quarter turns of the text's reading direction in the pixel frame (0: left to right)
    cbox: Box  # the box turned back so that the text reads left to right (where words are found)


def _unturn(box: Box, turn: int) -> Box:
    """The box in a frame turned by -turn quarter turns (y down), where the text reads left to right."""
    corners = ((box.x1, box.y1), (box.x2, box.y2))
    mapped = [{0: (x, y), 1: (y, -x), 2: (-x, -y), 3: (-y, x)}[turn] for x, y in corners]
    xs, ys = [m[0] for m in mapped], [m[1] for m in mapped]
    return Box(min(xs), min(ys), max(xs), max(ys))


def _read_page(document: pdfium.PdfDocument, index: int, scale: float) -> TextLayer:
    from pypdfium2 import raw  # noqa: PLC0415

    page = document[index]
    try:
        width = max(1, math.ceil(page.get_width() * scale))
        height = max(1, math.ceil(page.get_height() * scale))
        to_pixels = _display_affine(page, width, height)
        textpage = page.get_textpage()
        try:
            counts = {"chars": 0, "unmapped": 0, "invisible": 0}
            words: list[list[_Char]] = [[]]
            for item in _chars(raw, textpage, to_pixels, (width, height), counts):
                if item is None:  # a break: whitespace or a generated space / line end
                    if words[-1]:
                        words.append([])
                    continue
                last = words[-1][-1] if words[-1] else None
                if last is not None and (last.turn != item.turn or _starts_word(last.cbox, item.cbox)):
                    words.append([])
                words[-1].append(item)
        finally:
            textpage.close()
    finally:
        page.close()
    page_words = [
        (
            Word(
                text="".join(c.text for c in chars),
                box=Box.union(c.box for c in chars),
                page=index + 1,
                confidence=1.0,
                source="pdf_text",
            ),
            chars[0].turn,
            Box.union(c.cbox for c in chars),
        )
        for chars in words
        if chars
    ]
    return TextLayer(page=index + 1, width=width, height=height, lines=_lines(page_words), **counts)


def _chars(
    raw: Any, textpage: Any, to_pixels: _Affine, size: tuple[int, int], counts: dict[str, int]
) -> Iterator[_Char | None]:
    """The page's characters in content order, None at each break; counts what it sees."""
    width, height = size
    modes: dict[int | None, int] = {}  # text object address -> render mode
    rect = raw.FS_RECTF()
    for i in range(textpage.count_chars()):
        code = raw.FPDFText_GetUnicode(textpage, i)
        text = chr(code) if 0 < code < 0x110000 else ""
        if raw.FPDFText_IsGenerated(textpage, i) == 1 or not text.strip():
            yield None
            continue
        obj = raw.FPDFText_GetTextObject(textpage, i)
        address = ctypes.cast(obj, ctypes.c_void_p).value
        if address not in modes:
            modes[address] = raw.FPDFTextObj_GetTextRenderMode(obj) if address else 0
        if modes[address] == INVISIBLE:
            counts["invisible"] += 1
            yield None
            continue
        if not raw.FPDFText_GetLooseCharBox(textpage, i, rect):
            continue
        box = to_pixels(rect.left, rect.bottom, rect.right, rect.top)
        if box.x2 <= 0 or box.y2 <= 0 or box.x1 >= width or box.y1 >= height:
            continue  # outside the crop box: not on the rendered page
        if raw.FPDFText_HasUnicodeMapError(textpage, i) == 1 or _garbage(text):
            counts["unmapped"] += 1
            yield None
            continue
        counts["chars"] += 1
        turn = to_pixels.turn(raw.FPDFText_GetCharAngle(textpage, i))
        yield _Char(unicodedata.normalize("NFKC", text), box, turn, _unturn(box, turn))


def _garbage(text: str) -> bool:
    """U+FFFD, private-use and control characters: what fonts without a real mapping extract as."""
    category = unicodedata.category(text[0])
    return text == "\ufffd" or category in ("Co", "Cc", "Cs", "Cn")


def _starts_word(prev: Box, cur: Box) -> bool:
    """Characters drawn apart (no space in the text) are still two words: a wide gap, a jump back
    to the left, or a different baseline band."""
    size = max(prev.height, cur.height, 1e-6)
    shared = min(prev.y2, cur.y2) - max(prev.y1, cur.y1)
    if shared < LINE_OVERLAP * min(prev.height, cur.height):
        return True
    return cur.x1 - prev.x2 > WORD_GAP * size or cur.x1 < prev.x1 - 0.5 * size


def _lines(words: list[tuple[Word, int, Box]]) -> list[list[Word]]:
    """Words into lines, each reading direction on its own, in the frame where it reads left to
    right: a word joins the line whose band it shares most (among the last few)."""
    rows: list[tuple[int, list[tuple[Word, Box]]]] = []
    for word, turn, cbox in sorted(words, key=lambda w: (w[1], w[2].cy, w[2].x1)):
        best, best_shared = None, 0.0
        for row_turn, row in rows[-4:]:
            if row_turn != turn:
                continue
            band = Box.union(b for _, b in row)
            shared = min(band.y2, cbox.y2) - max(band.y1, cbox.y1)
            if shared >= LINE_OVERLAP * min(band.height, cbox.height) and shared > best_shared:
                best, best_shared = row, shared
        if best is None:
            rows.append((turn, [(word, cbox)]))
        else:
            best.append((word, cbox))
    lines = []
    for _, row in rows:
        row.sort(key=lambda item: item[1].x1)
        lines.append([word for word, _ in row])
    lines.sort(key=lambda line: (min(w.box.y1 for w in line), min(w.box.x1 for w in line)))
    return lines


class _Affine:
    """PDF points -> page pixels: origin + (x - left) * u + (y - bottom) * v."""

    def __init__(
        self,
        origin: tuple[float, float],
        left: float,
        bottom: float,
        u: tuple[float, float],
        v: tuple[float, float],
    ) -> None:
        self.ox, self.oy = origin
        self.left, self.bottom = left, bottom
        self.ux, self.uy = u
        self.vx, self.vy = v

    def __call__(self, x1: float, y1: float, x2: float, y2: float) -> Box:
        """A box (left, bottom, right, top) in points -> its pixel box."""
        xs, ys = [], []
        for x, y in ((x1, y1), (x2, y1), (x1, y2), (x2, y2)):
            dx, dy = x - self.left, y - self.bottom
            xs.append(self.ox + dx * self.ux + dy * self.vx)
            ys.append(self.oy + dx * self.uy + dy * self.vy)
        return Box(min(xs), min(ys), max(xs), max(ys))

    def turn(self, angle: float) -> int:
        """Quarter turns (clockwise on the screen) of a character drawn at `angle` (radians,
        counter-clockwise in PDF space, as PDFium reports it; -1: unknown, taken as upright)."""
        if angle < 0:
            angle = 0.0
        cx, cy = math.cos(angle), math.sin(angle)
        px, py = cx * self.ux + cy * self.vx, cx * self.uy + cy * self.vy
        return round(math.atan2(py, px) / (math.pi / 2)) % 4


def _display_affine(page: pdfium.PdfPage, width: int, height: int) -> _Affine:
    """PDF points -> page pixels exactly as PDFium renders the page into width x height (crop box,
    /Rotate, y flip)."""
    from pypdfium2 import raw  # noqa: PLC0415

    left, bottom, right, top = page.get_bbox()
    probes = ((left, bottom), (right, bottom), (left, top))
    mapped = []
    for px, py in probes:
        dx, dy = ctypes.c_int(), ctypes.c_int()
        ok = raw.FPDF_PageToDevice(page, 0, 0, width * _AFFINE_K, height * _AFFINE_K, 0, px, py, dx, dy)
        if not ok:
            raise ValueError("PDFium could not map page coordinates")
        mapped.append((dx.value / _AFFINE_K, dy.value / _AFFINE_K))
    (ox, oy), (ax, ay), (bx, by) = mapped
    span_x, span_y = (right - left) or 1.0, (top - bottom) or 1.0
    u = ((ax - ox) / span_x, (ay - oy) / span_x)
    v = ((bx - ox) / span_y, (by - oy) / span_y)
    return _Affine((ox, oy), left, bottom, u, v)
