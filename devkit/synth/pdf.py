"""Born-digital invoice PDFs: the synthetic invoice's texts written as real PDF text (Helvetica,
WinAnsi), no image, so a reader must take them from the text layer. Same content and layout as
`render_invoice(seed, scanned=False)` draws. The layout was measured in the page's own font, so
each string is stretched (`Tz`) to the width it was laid out at: Helvetica at the layout's
positions would otherwise run into the next word (a label into its value).

    pdf, invoice = born_digital_invoice(seed)
"""

from __future__ import annotations

import functools

from PIL import ImageFont

from devkit.synth import fonts
from devkit.synth.content import Invoice
from devkit.synth.render import lay_out

A4_POINTS = (595.0, 842.0)
PAGE_PX = (1240, 1754)  # the renderer's A4 page at 150 DPI
_PX_TO_PT = 72.0 / 150.0
_EM_PER_INK = 1.35  # a line's glyph box is about 0.74 em tall (ascender to descender of real text)
_MEASURE_PT = 100.0  # Helvetica widths are measured at this size and scaled


def write_pdf(pages: list[list[bytes]], *, rotate: int = 0, size: tuple[float, float] = A4_POINTS) -> bytes:
    """A PDF written by hand: each page a list of content-stream operations, Helvetica as /F1
    (a standard font, WinAnsi: å, ä, ö and € are single bytes)."""
    count = len(pages)
    objs: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count)), count),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, ops in enumerate(pages):
        stream = b"\n".join(ops)
        objs.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Rotate %d"
            b" /Resources << /Font << /F1 3 0 R >> >>"
            b" /Contents %d 0 R >>" % (size[0], size[1], rotate, 5 + 2 * i)
        )
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def text_op(x: float, y: float, text: str, *, size: float = 12, mode: int = 0, stretch: float = 100) -> bytes:
    """Show `text` with its baseline starting at (x, y) points (PDF space: y up from the bottom),
    its glyphs `stretch` percent of their natural width (PDF's horizontal scaling, `Tz`)."""
    raw = (
        text.encode("cp1252", errors="replace")
        .replace(b"\\", b"\\\\")
        .replace(b"(", b"\\(")
        .replace(b")", b"\\)")
    )
    scale = b"" if stretch == 100 else b"%g Tz " % round(stretch, 2)
    return b"BT %s%d Tr /F1 %g Tf %g %g Td (%s) Tj ET" % (scale, mode, size, x, y, raw)


@functools.cache
def _helvetica() -> ImageFont.FreeTypeFont | None:
    """A metric clone of Helvetica (Liberation Sans, then Nimbus Sans) at _MEASURE_PT, or None when
    neither is installed (then strings keep Helvetica's own widths)."""
    family = fonts.by_name("Liberation Sans") or fonts.by_name("Nimbus Sans")
    return None if family is None else ImageFont.truetype(str(family.regular), _MEASURE_PT)


def fit_stretch(text: str, width_pt: float, size_pt: float) -> float:
    """The `Tz` percentage that makes `text` in Helvetica at `size_pt` as wide as `width_pt` (the ink
    width it was laid out at), within 50-200 %; 100 without a Helvetica clone to measure with."""
    font = _helvetica()
    if font is None or width_pt <= 0:
        return 100.0
    x1, _, x2, _ = font.getbbox(text)
    natural = (x2 - x1) * size_pt / _MEASURE_PT
    return 100.0 if natural <= 0 else min(200.0, max(50.0, 100.0 * width_pt / natural))


def born_digital_invoice(
    seed: int, *, layout: str | None = None, policy: str = "train", payment: str | None = None
) -> tuple[bytes, Invoice]:
    """The invoice of `seed` as a one-page born-digital PDF, and what it prints (the arguments as
    `render_invoice` takes them)."""
    *_, inv, sheet = lay_out(
        seed,
        width=PAGE_PX[0],
        height=PAGE_PX[1],
        scanned=False,
        layout=layout,
        policy=policy,
        payment=payment,
    )
    ops = []
    for text, (x1, y1, x2, y2), _ in sheet.texts():
        if not text.strip():
            continue
        height_pt = (y2 - y1) * _PX_TO_PT
        baseline = A4_POINTS[1] - y2 * _PX_TO_PT + 0.2 * height_pt
        size = max(4.0, height_pt * _EM_PER_INK)
        stretch = fit_stretch(text, (x2 - x1) * _PX_TO_PT, size)
        ops.append(text_op(x1 * _PX_TO_PT, baseline, text, size=size, stretch=stretch))
    return write_pdf([ops]), inv
