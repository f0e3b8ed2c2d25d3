"""Born-digital invoice PDFs: the synthetic invoice's texts written as real PDF text (Helvetica,
WinAnsi), no image, so a reader must take them from the text layer. Same content and layout as
`render_invoice(seed, scanned=False)` draws.

    pdf, invoice = born_digital_invoice(seed)
"""

from __future__ import annotations

import random

import numpy as np

from devkit.synth.compose import compose
from devkit.synth.content import Invoice, make_invoice

A4_POINTS = (595.0, 842.0)
PAGE_PX = (1240, 1754)  # the renderer's A4 page at 150 DPI
_PX_TO_PT = 72.0 / 150.0
_EM_PER_INK = 1.35  # a line's glyph box is about 0.74 em tall (ascender to descender of real text)


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


def text_op(x: float, y: float, text: str, *, size: float = 12, mode: int = 0) -> bytes:
    """Show `text` with its baseline starting at (x, y) points (PDF space: y up from the bottom)."""
    raw = (
        text.encode("cp1252", errors="replace")
        .replace(b"\\", b"\\\\")
        .replace(b"(", b"\\(")
        .replace(b")", b"\\)")
    )
    return b"BT %d Tr /F1 %g Tf %g %g Td (%s) Tj ET" % (mode, size, x, y, raw)


def born_digital_invoice(
    seed: int, *, layout: str | None = None, policy: str = "train", payment: str | None = None
) -> tuple[bytes, Invoice]:
    """The invoice of `seed` as a one-page born-digital PDF, and what it prints (the arguments as
    `render_invoice` takes them)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible documents, not secrets
    np.random.default_rng(rng.getrandbits(64))  # the renderer's draws, in the same order
    inv = make_invoice(rng, policy=policy)
    sheet = compose(inv, rng, *PAGE_PX, layout, policy=policy, payment=payment)
    ops = []
    for text, (x1, y1, _, y2), _ in sheet.texts():
        if not text.strip():
            continue
        height_pt = (y2 - y1) * _PX_TO_PT
        baseline = A4_POINTS[1] - y2 * _PX_TO_PT + 0.2 * height_pt
        ops.append(text_op(x1 * _PX_TO_PT, baseline, text, size=max(4.0, height_pt * _EM_PER_INK)))
    return write_pdf([ops]), inv
