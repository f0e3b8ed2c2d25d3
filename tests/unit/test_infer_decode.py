"""Image decoding: header-first limits, EXIF orientation, pixel formats, corrupt input."""

from __future__ import annotations

import io
import tracemalloc

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from bench import guards, samples
from invoice_core.detect import decode
from invoice_core.detect.decode import decode_image, read_header
from invoice_core.errors import EmptyInput, TooManyPixels, UndecodableInput, UnsupportedInput

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("pillow_unpatched")]

LIMIT = 50_000_000


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    """A small invoice page (BGR); small keeps the many decodes fast."""
    return samples.invoice_page(seed=11, dpi=50)


@pytest.fixture(scope="module")
def asymmetric() -> np.ndarray:
    """Distinct corners and a gradient, so any wrong flip or rotation shows."""
    image = np.zeros((90, 140, 3), np.uint8)
    image[..., 0] = np.linspace(0, 255, 140, dtype=np.uint8)[None, :]
    image[..., 1] = np.linspace(0, 255, 90, dtype=np.uint8)[:, None]
    image[:20, :30] = (0, 0, 255)
    image[-15:, -40:] = (255, 255, 255)
    return image


def _close(a: np.ndarray, b: np.ndarray, tolerance: float) -> bool:
    return a.shape == b.shape and float(np.abs(a.astype(int) - b.astype(int)).mean()) <= tolerance


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(asymmetric, orientation):
    data = samples.jpeg_with_orientation(asymmetric, orientation)
    decoded = decode_image(data, max_pixels=LIMIT)
    assert _close(decoded.bgr, asymmetric, 3.0)
    reference = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    assert _close(decoded.bgr, cv2.cvtColor(np.asarray(reference), cv2.COLOR_RGB2BGR), 1.0)
    assert (decoded.width, decoded.height) == (asymmetric.shape[1], asymmetric.shape[0])


@pytest.mark.parametrize(
    ("name", "encode", "tolerance"),
    [
        ("jpeg", lambda p: samples.encode(p, "jpeg", quality=95), 3.0),
        ("png", lambda p: samples.encode(p, "png"), 0.0),
        ("webp", lambda p: samples.encode(p, "webp", lossless=True), 0.0),
        ("tiff", lambda p: samples.encode(p, "tiff"), 0.0),
        ("bmp", lambda p: samples.encode(p, "bmp"), 0.0),
        ("cmyk-jpeg", samples.cmyk_jpeg, 6.0),
        ("16-bit-png", samples.png16, 0.0),
    ],
)
def test_colour_formats_decode_to_the_same_page(page, name, encode, tolerance):
    decoded = decode_image(encode(page), max_pixels=LIMIT)
    assert decoded.bgr.dtype == np.uint8 and decoded.bgr.shape == page.shape, name
    assert _close(decoded.bgr, page, tolerance), name


def test_cmyk_tiff_decodes(page):
    image = Image.fromarray(cv2.cvtColor(page, cv2.COLOR_BGR2RGB)).convert("CMYK")
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF", compression="tiff_lzw")
    decoded = decode_image(buffer.getvalue(), max_pixels=LIMIT)
    assert decoded.format == "tiff" and _close(decoded.bgr, page, 6.0)


@pytest.mark.parametrize(
    "encode",
    [
        lambda p: samples.png16(p, gray=True),
        lambda p: samples.encode(
            cv2.cvtColor(p, cv2.COLOR_BGR2GRAY)[..., None].repeat(3, 2), "jpeg", quality=95
        ),
        samples.png_document,
    ],
    ids=["gray16-png", "gray-jpeg", "gray8-png"],
)
def test_grey_images_become_three_equal_channels(page, encode):
    decoded = decode_image(encode(page), max_pixels=LIMIT)
    assert decoded.bgr.shape == page.shape
    assert np.array_equal(decoded.bgr[..., 0], decoded.bgr[..., 1])
    assert np.array_equal(decoded.bgr[..., 1], decoded.bgr[..., 2])


def test_transparent_png_is_composited_on_white_paper(page):
    decoded = decode_image(samples.png_rgba_transparent(page), max_pixels=LIMIT)
    gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY).astype(int)
    out = cv2.cvtColor(decoded.bgr, cv2.COLOR_BGR2GRAY).astype(int)
    # Ink (alpha high) stays dark; paper (alpha 0, RGB black underneath) becomes white, not black.
    assert np.abs(out - gray).max() <= 2
    assert out.mean() > 200


def test_one_bit_and_palette_pngs(page):
    for mode in ("1", "P"):
        image = Image.fromarray(cv2.cvtColor(page, cv2.COLOR_BGR2RGB)).convert(mode)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        decoded = decode_image(buffer.getvalue(), max_pixels=LIMIT)
        expected = cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2BGR)
        assert np.array_equal(decoded.bgr, expected), mode


def test_decompression_bomb_is_refused_from_the_header(monkeypatch):
    def no_decoding(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    bomb = samples.png_bomb_header(100_000, 100_000)
    assert len(bomb) < 2000
    with pytest.raises(TooManyPixels, match="100000x100000"):
        decode_image(bomb, max_pixels=LIMIT)


def test_pixel_limit_applies_to_real_images_too(page, monkeypatch):
    monkeypatch.setattr(cv2, "imdecode", lambda *_: pytest.fail("decoded"))
    data = samples.encode(page, "jpeg")
    with pytest.raises(TooManyPixels):
        decode_image(data, max_pixels=page.shape[0] * page.shape[1] - 1)


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "bmp"])
def test_truncated_images_are_refused(page, fmt):
    data = samples.encode(page, fmt, **({"quality": 90} if fmt in ("jpeg", "webp") else {}))
    with pytest.raises((UndecodableInput, UnsupportedInput)):
        decode_image(data[: len(data) // 2], max_pixels=LIMIT)


def test_corrupt_middle_of_png_is_refused(page):
    data = bytearray(samples.encode(page, "png"))
    data[len(data) // 2 : len(data) // 2 + 64] = b"\x00" * 64
    with pytest.raises(UndecodableInput):
        decode_image(bytes(data), max_pixels=LIMIT)


def test_not_an_image_and_empty():
    with pytest.raises(UnsupportedInput):
        read_header(b"%!PS-Adobe-3.0 this is PostScript", max_pixels=LIMIT)
    with pytest.raises(EmptyInput):
        read_header(b"", max_pixels=LIMIT)


def test_float_tiff_is_refused_clearly():
    buffer = io.BytesIO()
    Image.fromarray(np.full((20, 30), 0.5, np.float32)).save(buffer, format="TIFF")
    with pytest.raises(UndecodableInput):
        decode_image(buffer.getvalue(), max_pixels=LIMIT)


def test_large_jpeg_is_decoded_reduced_but_reports_original_size():
    page = samples.invoice_page(seed=2, dpi=200)  # 1654 x 2339 (w x h)
    decoded = decode_image(samples.encode(page, "jpeg"), max_pixels=LIMIT, reduce_to=(640, 480))
    assert (decoded.width, decoded.height) == (page.shape[1], page.shape[0])
    # 640/2339 = 0.27: a 1/2 decode (1170 high) still shrinks into 640; 1/4 (585) would not.
    assert decoded.bgr.shape[:2] == ((page.shape[0] + 1) // 2, (page.shape[1] + 1) // 2)
    sx, sy = decoded.scale
    assert sx == pytest.approx(2.0, abs=0.01) and sy == pytest.approx(2.0, abs=0.01)
    assert decoded.bgr.shape[0] >= 640 and decoded.bgr.shape[1] >= 480


def test_reduction_follows_exif_rotation():
    page = samples.invoice_page(seed=2, dpi=200)
    data = samples.jpeg_with_orientation(page, 6)  # stored landscape, shown portrait
    decoded = decode_image(data, max_pixels=LIMIT, reduce_to=(640, 480))
    assert (decoded.width, decoded.height) == (page.shape[1], page.shape[0])
    assert decoded.bgr.shape[0] > decoded.bgr.shape[1]  # upright portrait after orientation


def test_small_jpeg_is_not_reduced(page):
    decoded = decode_image(samples.encode(page, "jpeg"), max_pixels=LIMIT, reduce_to=(640, 480))
    assert decoded.bgr.shape == page.shape and decoded.scale == (1.0, 1.0)


def test_header_probe_never_decodes_pixels(page, asymmetric, monkeypatch):
    """Pillow's PNG `getexif` would load the whole image; the probe must not (a bomb's way in)."""
    from PIL import ImageFile  # noqa: PLC0415 - patched only here

    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail(f"{self.format} pixels loaded"))
    with pytest.raises(TooManyPixels):
        read_header(samples.png_bomb_header(100_000, 100_000), max_pixels=LIMIT)
    with pytest.raises(TooManyPixels):
        read_header(samples.png_bomb_header(7_072, 7_072), max_pixels=LIMIT)
    for fmt in ("png", "jpeg", "tiff", "webp", "bmp"):
        header = read_header(samples.encode(page, fmt), max_pixels=LIMIT)
        assert (header.width, header.height) == (page.shape[1], page.shape[0])
    assert read_header(samples.jpeg_with_orientation(asymmetric, 6), max_pixels=LIMIT).orientation == 6


def test_png_exif_orientation_before_the_pixels_is_honoured(asymmetric):
    stored = np.ascontiguousarray(np.rot90(asymmetric, 1))  # shown upright with orientation 6
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB)).save(buffer, format="PNG", exif=exif.tobytes())
    decoded = decode_image(buffer.getvalue(), max_pixels=LIMIT)
    assert np.array_equal(decoded.bgr, asymmetric)


# --- alpha and 16-bit without float copies (issue 9: a 7000x7000 RGBA WebP took 2.2-2.6 GB)


def _float_reference(pixels: np.ndarray) -> np.ndarray:
    """What the conversion computed before, in float: colour * a + white * (1 - a), rounded."""
    if pixels.dtype == np.uint16:
        pixels = (pixels >> 8).astype(np.uint8)
    alpha = pixels[:, :, -1:].astype(np.float64) / 255.0
    blended = np.clip(pixels[:, :, :-1] * alpha + 255.0 * (1.0 - alpha) + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(blended[:, :, 0], cv2.COLOR_GRAY2BGR) if pixels.shape[2] == 2 else blended


@pytest.mark.parametrize(
    ("channels", "dtype"), [(4, np.uint8), (2, np.uint8), (4, np.uint16), (2, np.uint16)]
)
def test_alpha_is_composited_in_integers_within_one_grey_level(monkeypatch, channels, dtype):
    monkeypatch.setattr(decode, "_STRIPE_PIXELS", 1000)  # many stripes, and a short last one
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, np.iinfo(dtype).max + 1, (123, 77, channels), dtype=dtype)
    pixels[0, :3, -1] = (0, np.iinfo(dtype).max, np.iinfo(dtype).max // 2)  # transparent, opaque, half
    out = decode.to_bgr8(pixels.copy())
    assert out.dtype == np.uint8 and out.shape == (123, 77, 3)
    assert np.abs(out.astype(int) - _float_reference(pixels).astype(int)).max() <= 1
    assert (out[0, 0] == 255).all()  # fully transparent is paper


def test_every_colour_and_alpha_pair_matches_the_float_blend():
    colour, alpha = np.meshgrid(np.arange(256), np.arange(256))
    pixels = np.dstack([colour, colour, colour, alpha]).astype(np.uint8)
    out = decode.to_bgr8(pixels.copy())
    assert np.abs(out.astype(int) - _float_reference(pixels).astype(int)).max() <= 1


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_alpha_conversion_allocates_no_full_size_temporaries(dtype):
    """Python-side allocations while converting a 4 Mpx BGRA image: the 12 MB BGR result and
    stripe temporaries; one float32 copy of the image alone would be 64 MB."""
    pixels = np.full((2000, 2000, 4), np.iinfo(dtype).max // 2, dtype=dtype)
    tracemalloc.start()
    try:
        out = decode.to_bgr8(pixels)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    result = out.nbytes + (pixels.size if dtype == np.uint16 else 0)  # + the 8-bit copy of 16-bit
    assert out.nbytes <= peak < result + 16 * 1024 * 1024  # (the lower bound: numpy is traced)


def test_transparent_webp_decodes_to_white_paper():
    decoded = decode_image(guards.rgba_webp(side=300), max_pixels=LIMIT)
    assert decoded.bgr.shape == (300, 300, 3) and (decoded.bgr == 255).all()
