"""Font families for the invoices: the TTFs matplotlib ships, kept only if they cover Swedish text."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from matplotlib.ft2font import FT2Font
from PIL import ImageFont

# Every character an invoice may print; a font lacking one would draw a box (.notdef) instead.
REQUIRED_CHARS = "åäöÅÄÖéü€£$§@#%&"

# (family, regular file, bold file). Computer Modern (cm*.ttf) lacks å/ä/ö and is filtered out below.
_CANDIDATES: tuple[tuple[str, str, str], ...] = (
    ("DejaVu Sans", "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("DejaVu Serif", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    ("DejaVu Sans Mono", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"),
    ("STIXGeneral", "STIXGeneral.ttf", "STIXGeneralBol.ttf"),
    ("Computer Modern", "cmr10.ttf", "cmb10.ttf"),
)


@dataclass(frozen=True)
class FontFamily:
    """A regular and a bold face of one family."""

    name: str
    regular: Path
    bold: Path


def font_dir() -> Path:
    """Where matplotlib keeps its bundled TTFs."""
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def covers(path: Path, chars: str = REQUIRED_CHARS) -> bool:
    """True when the font maps every character in `chars` to a real glyph."""
    charmap = FT2Font(str(path)).get_charmap()
    return all(ord(c) in charmap for c in chars)


@functools.cache
def families() -> tuple[FontFamily, ...]:
    """The usable families, in a fixed order (the order is part of the generator's determinism)."""
    root = font_dir()
    found = []
    for name, regular, bold in _CANDIDATES:
        paths = (root / regular, root / bold)
        if all(p.is_file() and covers(p) for p in paths):
            found.append(FontFamily(name, *paths))
    if not found:
        raise RuntimeError(f"no font in {root} covers {REQUIRED_CHARS!r}; is matplotlib installed?")
    return tuple(found)


def load(path: Path, size: float) -> ImageFont.FreeTypeFont:
    """A FreeType font at a pixel size, in quarter pixels, so small pages keep the proportions of
    big ones (cached: loading a TTF costs more than drawing with it)."""
    return _load(path, max(12, round(size * 4)))  # 3 px at least: smaller text rasterises to nothing


@functools.lru_cache(maxsize=1024)
def _load(path: Path, quarter_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), quarter_px / 4)


@functools.cache
def _em_metrics(path: str) -> tuple[float, float]:
    asc, desc = ImageFont.truetype(path, 1000).getmetrics()
    return asc / 1000, desc / 1000


def metrics(font: ImageFont.FreeTypeFont) -> tuple[float, float]:
    """(ascent, descent) in pixels, unrounded: FreeType rounds them to whole pixels, which would make
    a shrunken page's lines relatively taller than a full-size page's."""
    asc, desc = _em_metrics(str(font.path))
    return asc * font.size, desc * font.size
