"""Sample inputs for the benchmarks, the API event files and the tests.

Invoice pages come from the project's generator (`devkit.synth.render_invoice`); every other
format and oddity (EXIF rotation, CMYK, 16-bit, alpha, PDF, a decompression bomb) is derived from
them here, so all consumers exercise the same bytes.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib
from typing import Any

import cv2
import numpy as np
from PIL import Image

A4_INCHES = (8.27, 11.69)  # (width, height)


def a4_size(dpi: int) -> tuple[int, int]:
    """(width, height) in pixels of an A4 page at `dpi`: 150 -> 1240x1754, 200 -> 1654x2339."""
    return round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi)


def invoice_page(seed: int = 0, dpi: int = 150) -> np.ndarray:
    """A synthetic invoice page as BGR uint8 (portrait A4 at `dpi`)."""
    from devkit.synth import render_invoice  # noqa: PLC0415 - keeps this module light to import

    width, height = a4_size(dpi)
    page = render_invoice(seed, width=width, height=height)
    return cv2.cvtColor(np.asarray(page.image.convert("RGB")), cv2.COLOR_RGB2BGR)


def encode(bgr: np.ndarray, fmt: str = "jpeg", **params: object) -> bytes:
    """Encode with Pillow (`fmt`: jpeg, png, webp, tiff, bmp); `params` go to `Image.save`."""
    image = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    buffer = io.BytesIO()
    defaults = {"jpeg": {"quality": 90}}.get(fmt, {})
    image.save(buffer, format=fmt.upper(), **{**defaults, **params})
    return buffer.getvalue()


def jpeg_with_orientation(bgr: np.ndarray, orientation: int) -> bytes:
    """A JPEG whose pixels are stored so that EXIF `orientation` makes them look like `bgr`.

    The stored pixels are `bgr` with the inverse transform applied; a viewer honouring the tag
    (and our decoder) shows `bgr` again.
    """
    inverse = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, 1),  # stored rotated 90 deg counter-clockwise; tag 6 turns it back
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, -1),
    }[orientation]
    stored = np.ascontiguousarray(inverse(bgr))
    image = Image.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def cmyk_jpeg(bgr: np.ndarray) -> bytes:
    """The page as a CMYK JPEG (what print workflows and some scanners produce)."""
    image = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).convert("CMYK")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def png16(bgr: np.ndarray, *, gray: bool = False) -> bytes:
    """A 16-bit PNG (grey or colour) of the page."""
    pixels = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if gray else bgr
    ok, buffer = cv2.imencode(".png", pixels.astype(np.uint16) * 257)
    assert ok
    return buffer.tobytes()


def png_document(bgr: np.ndarray, levels: int = 4) -> bytes:
    """A greyscale PNG posterised to a few levels, as scanners in 'document' mode write (small)."""
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    step = 256 // levels
    posterised = ((gray // step) * (255 // (levels - 1))).astype(np.uint8)
    ok, buffer = cv2.imencode(".png", posterised, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert ok
    return buffer.tobytes()


def png_rgba_transparent(bgr: np.ndarray) -> bytes:
    """An RGBA PNG whose paper is transparent (ink opaque), RGB under the paper black."""
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    alpha = (255 - gray).astype(np.uint8)  # ink opaque, paper transparent
    rgba = np.dstack([np.zeros_like(gray)] * 3 + [alpha])
    ok, buffer = cv2.imencode(".png", rgba)
    assert ok
    return buffer.tobytes()


def pdf(pages: list[np.ndarray], dpi: int = 150) -> bytes:
    """A PDF with one full-page image per page, sized as A4 at `dpi`."""
    images = [Image.fromarray(cv2.cvtColor(p, cv2.COLOR_BGR2RGB)) for p in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, format="PDF", save_all=True, append_images=images[1:], resolution=float(dpi))
    return buffer.getvalue()


def png_bomb_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares `width` x `height` pixels (10 Gpx by default).

    Decoding would need tens of GB; a server must refuse it from the header. The IDAT holds a
    few compressed rows only: the file is a few hundred bytes.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def with_binary_body(
    event: dict[str, Any], data: bytes, content_type: str, accept: str = "*/*"
) -> dict[str, Any]:
    """`event` (an API Gateway proxy event) carrying `data` as its binary body, as API Gateway
    delivers a BinaryMediaTypes body: base64 with `isBase64Encoded`."""
    for key, value in (("Content-Type", content_type), ("Accept", accept)):
        event["headers"][key] = value
        event["multiValueHeaders"][key] = [value]
    event["body"] = base64.b64encode(data).decode()
    event["isBase64Encoded"] = True
    return event
