"""Bytes -> BGR uint8 image, refusing what is too big from the header alone.

Pillow reads the header (format, size, EXIF orientation) without decoding pixels, so a
decompression bomb is refused before any bitmap exists. OpenCV then decodes the pixels: it is
~2.5x faster than Pillow for JPEG here and can decode JPEG at 1/2, 1/4, 1/8 scale in the DCT
domain when the page is much larger than the model input. Orientation, alpha, 16-bit, grey and
CMYK are normalised here so later stages only ever see 3-channel 8-bit BGR.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from invoice_core.errors import EmptyInput, TooManyPixels, UndecodableInput, UnsupportedInput

# Pillow format name -> what we accept. MPO is how Pillow names many phone-camera JPEGs (its JPEG
# opener returns them), so it is a result to map, not a format to ask for.
_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "WEBP": "webp", "TIFF": "tiff", "BMP": "bmp"}
_OPEN_AS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP")
_EXIF_ORIENTATION = 0x0112
_REDUCED_FLAGS = {8: cv2.IMREAD_REDUCED_COLOR_8, 4: cv2.IMREAD_REDUCED_COLOR_4, 2: cv2.IMREAD_REDUCED_COLOR_2}
_OPAQUE = 255  # alpha of opaque pixels, and the white of paper: transparent areas of a document are paper
_STRIPE_PIXELS = 1 << 20  # ~1 Mpx per stripe: a few MB of uint16 temporaries whatever the image size

# Our own limit (max_pixels) is checked right after the header is read, with the dimensions in
# the message; Pillow's global guard would fire first with a vaguer one.
Image.MAX_IMAGE_PIXELS = None
cv2.utils.logging.setLogLevel(
    cv2.utils.logging.LOG_LEVEL_SILENT
)  # corrupt input becomes our 422, not stderr noise


@dataclass(frozen=True)
class DecodedImage:
    """A page ready for the model, plus what is needed to map boxes back to the original."""

    bgr: np.ndarray  # H x W x 3 uint8, orientation applied; may be a reduced-scale decode
    width: int  # original (oriented) width in pixels: boxes are reported in this frame
    height: int
    format: str  # jpeg, png, webp, tiff, bmp, pdf

    @property
    def scale(self) -> tuple[float, float]:
        """(x, y) factors from decoded pixels to original pixels (1.0 unless reduced-decoded)."""
        return self.width / self.bgr.shape[1], self.height / self.bgr.shape[0]


@dataclass(frozen=True)
class ImageHeader:
    """What the header says, before any pixel is decoded."""

    format: str
    width: int  # as stored, before EXIF orientation
    height: int
    orientation: int


def read_header(data: bytes, *, max_pixels: int) -> ImageHeader:
    """Identify the format and size from the header and enforce the pixel limit."""
    if not data:
        raise EmptyInput("empty image")
    try:
        with Image.open(io.BytesIO(data), formats=_OPEN_AS) as probe:
            width, height = probe.size
            fmt = _FORMATS[probe.format or ""]
            if width * height > max_pixels:  # before anything else touches the image
                raise TooManyPixels(
                    f"image is {width}x{height} = {width * height:,} pixels; the limit is {max_pixels:,}"
                )
            orientation = _orientation(probe)
    except UnidentifiedImageError as exc:
        raise UnsupportedInput("not a supported image: send JPEG, PNG, WebP, TIFF, BMP or PDF bytes") from exc
    except (OSError, ValueError, SyntaxError, KeyError) as exc:  # Pillow's ways of saying "corrupt header"
        raise UndecodableInput(f"corrupt image header: {exc}") from exc
    if width < 1 or height < 1:
        raise UndecodableInput("image has no pixels")
    return ImageHeader(fmt, width, height, orientation)


def decode_image(data: bytes, *, max_pixels: int, reduce_to: tuple[int, int] | None = None) -> DecodedImage:
    """Decode to BGR uint8 with orientation applied.

    `reduce_to` = (height, width) the model will resize to: a JPEG at least twice that size in
    both directions is decoded at 1/2, 1/4 or 1/8 scale, never below it.
    """
    header = read_header(data, max_pixels=max_pixels)
    buffer = np.frombuffer(data, dtype=np.uint8)
    flags = cv2.IMREAD_IGNORE_ORIENTATION
    if header.format == "jpeg":
        factor = _reduction(header, reduce_to) if reduce_to else 1
        flags |= _REDUCED_FLAGS.get(factor, cv2.IMREAD_COLOR)
    else:
        flags |= cv2.IMREAD_UNCHANGED  # keep alpha and 16-bit so they are converted properly below
    pixels = cv2.imdecode(buffer, flags)
    if pixels is None:
        raise UndecodableInput(f"{header.format.upper()} data is corrupt or truncated")
    bgr = orient(to_bgr8(pixels), header.orientation)
    swap = header.orientation in (5, 6, 7, 8)
    width, height = (header.height, header.width) if swap else (header.width, header.height)
    return DecodedImage(bgr=bgr, width=width, height=height, format=header.format)


def _orientation(probe: Image.Image) -> int:
    """EXIF orientation from the header only. The base-class `getexif` reads what `open` found (JPEG
    APP1, WebP/PNG chunks before the pixels, TIFF tags); PNG's own override would decode the whole
    image to look for an eXIf chunk after the pixels, which is exactly what a bomb wants."""
    try:
        value = int(Image.Image.getexif(probe).get(_EXIF_ORIENTATION, 1))
    except (OSError, ValueError, TypeError, SyntaxError):  # malformed EXIF is ignored, not fatal
        return 1
    return value if 1 <= value <= 8 else 1


def _reduction(header: ImageHeader, reduce_to: tuple[int, int]) -> int:
    """Largest DCT scale-down (8, 4, 2) after which the letterbox still shrinks, never enlarges."""
    target_h, target_w = reduce_to
    swap = header.orientation in (5, 6, 7, 8)
    height, width = (header.width, header.height) if swap else (header.height, header.width)
    gain = min(target_h / height, target_w / width)  # the letterbox's resize ratio
    for factor in (8, 4, 2):
        if factor * gain <= 1.0:
            return factor
    return 1


def to_bgr8(pixels: np.ndarray) -> np.ndarray:
    """Grey, grey+alpha, BGRA, 16-bit -> 3-channel uint8 BGR (alpha composited on white paper).

    Integer arithmetic only, in place or in row stripes: a float32 copy of a 50 Mpx BGRA page is
    800 MB, several of them were past the function's memory. The peak is the input plus the output.
    """
    if pixels.dtype == np.uint16:
        pixels = _to_uint8(pixels)  # what OpenCV's own IMREAD_COLOR does with 16-bit
    elif pixels.dtype != np.uint8:
        raise UndecodableInput(f"unsupported sample format {pixels.dtype} (use 8- or 16-bit integer images)")
    if pixels.ndim == 2:
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    channels = pixels.shape[2]
    if channels == 3:
        return pixels
    if channels == 1:
        return cv2.cvtColor(pixels[:, :, 0], cv2.COLOR_GRAY2BGR)
    if channels in (2, 4):
        pixels = np.ascontiguousarray(pixels)
        if not pixels.flags.writeable:
            pixels = pixels.copy()
        _composite_on_white(pixels)
        if channels == 2:
            return cv2.cvtColor(pixels[:, :, 0], cv2.COLOR_GRAY2BGR)
        return cv2.cvtColor(pixels, cv2.COLOR_BGRA2BGR)
    raise UndecodableInput(f"unsupported channel count {channels}")


def _stripe_rows(pixels: np.ndarray) -> int:
    """Rows per stripe so that a stripe's temporaries stay near _STRIPE_PIXELS pixels."""
    return max(1, _STRIPE_PIXELS // max(1, pixels.shape[1]))


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    """16-bit -> 8-bit (the high byte), written stripe by stripe into the 8-bit result."""
    out = np.empty(pixels.shape, dtype=np.uint8)
    rows = _stripe_rows(pixels)
    for top in range(0, pixels.shape[0], rows):
        out[top : top + rows] = pixels[top : top + rows] >> 8
    return out


def _composite_on_white(pixels: np.ndarray) -> None:
    """Blend the colour channels of a uint8 H x W x (C+1) image on white, in place, by rows.

    colour' = round((colour * a + 255 * (255 - a)) / 255), exactly, in uint16: the numerator is at
    most 65025, and (x + 128 + ((x + 128) >> 8)) >> 8 is round(x / 255) for x in that range.
    """
    rows = _stripe_rows(pixels)
    for top in range(0, pixels.shape[0], rows):
        stripe = pixels[top : top + rows]
        alpha = stripe[:, :, -1:].astype(np.uint16)
        mixed = stripe[:, :, :-1].astype(np.uint16)
        mixed *= alpha
        mixed += (_OPAQUE - alpha) * _OPAQUE  # white paper where transparent
        mixed += 128
        mixed += mixed >> 8
        mixed >>= 8
        stripe[:, :, :-1] = mixed


# EXIF orientation -> the transform that makes the image upright (as Pillow's exif_transpose).
_ORIENT = {
    2: lambda im: cv2.flip(im, 1),
    3: lambda im: cv2.rotate(im, cv2.ROTATE_180),
    4: lambda im: cv2.flip(im, 0),
    5: cv2.transpose,
    6: lambda im: cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE),
    7: lambda im: cv2.rotate(cv2.transpose(im), cv2.ROTATE_180),
    8: lambda im: cv2.rotate(im, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def orient(bgr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) so the image is upright, as a viewer would show it."""
    transform = _ORIENT.get(orientation)
    return bgr if transform is None else transform(bgr)
