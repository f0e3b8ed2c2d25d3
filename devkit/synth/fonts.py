"""Font families for the invoices: metric clones of the fonts real invoices use, kept only if they
load and draw Swedish text.

Two sources: the TTFs matplotlib ships (DejaVu, STIX; always there) and Debian's font packages
pinned in requirements/fonts.txt (Liberation, URW base35's Nimbus, GNU FreeFont), which `make
setup` unpacks under FONT_ROOT (never a system install, so a missing install step shows). Without
them the generator still works on matplotlib's fonts and logs one warning; CI's font test fails.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from matplotlib.ft2font import FT2Font
from PIL import ImageFont

log = logging.getLogger(__name__)

# Every character an invoice may print; a font lacking one would draw a box (.notdef) instead.
REQUIRED_CHARS = "åäöÅÄÖéü€£$§@#%&"

# Where the Makefile unpacks the Debian packages (the only place this is read; the override exists
# for a font tree unpacked elsewhere, e.g. by hand on a machine without apt).
FONT_ROOT = Path(
    os.environ.get("INVOICE_FONT_ROOT") or Path(__file__).resolve().parents[2] / ".cache" / "fonts" / "root"
)

_MPL = "matplotlib"  # a source: matplotlib's bundled ttf directory
_DEB = "debian"  # a source: FONT_ROOT, the unpacked packages' file tree

# (family, source, directory in it, regular file, bold file), in the order families() returns them.
# The order is part of the generator's determinism: append new families at the end. matplotlib's
# come first so a machine without the Debian fonts gets a prefix of the full list. Computer Modern
# (cm*.ttf) lacks å/ä/ö and is filtered out by the coverage check.
_LIB2 = "truetype/liberation2"
_CANDIDATES: tuple[tuple[str, str, str, str, str], ...] = (
    ("DejaVu Sans", _MPL, "", "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("DejaVu Serif", _MPL, "", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    ("DejaVu Sans Mono", _MPL, "", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"),
    ("STIXGeneral", _MPL, "", "STIXGeneral.ttf", "STIXGeneralBol.ttf"),
    ("Computer Modern", _MPL, "", "cmr10.ttf", "cmb10.ttf"),
    # fonts-liberation2: Arial, Times New Roman and Courier New metrics.
    ("Liberation Sans", _DEB, _LIB2, "LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    ("Liberation Serif", _DEB, _LIB2, "LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf"),
    ("Liberation Mono", _DEB, _LIB2, "LiberationMono-Regular.ttf", "LiberationMono-Bold.ttf"),
    # fonts-urw-base35: Helvetica, Times and Courier metrics (OpenType/CFF, which FreeType draws).
    ("Nimbus Sans", _DEB, "opentype/urw-base35", "NimbusSans-Regular.otf", "NimbusSans-Bold.otf"),
    ("Nimbus Roman", _DEB, "opentype/urw-base35", "NimbusRoman-Regular.otf", "NimbusRoman-Bold.otf"),
    ("Nimbus Mono PS", _DEB, "opentype/urw-base35", "NimbusMonoPS-Regular.otf", "NimbusMonoPS-Bold.otf"),
    # fonts-freefont-ttf: GNU FreeFont, Helvetica/Times/Courier-like.
    ("FreeSans", _DEB, "truetype/freefont", "FreeSans.ttf", "FreeSansBold.ttf"),
    ("FreeSerif", _DEB, "truetype/freefont", "FreeSerif.ttf", "FreeSerifBold.ttf"),
    ("FreeMono", _DEB, "truetype/freefont", "FreeMono.ttf", "FreeMonoBold.ttf"),
)

# The families the Debian packages must provide (CI asserts them; elsewhere they are optional).
DEBIAN_FAMILIES: tuple[str, ...] = tuple(name for name, source, *_ in _CANDIDATES if source == _DEB)


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


def draws(path: Path, chars: str = REQUIRED_CHARS) -> bool:
    """True when Pillow loads the face and every character in `chars` puts ink on the page (a
    charmap entry pointing at an empty glyph would pass `covers` but print nothing)."""
    try:
        font = ImageFont.truetype(str(path), 32)
    except OSError:
        return False
    return all(font.getmask(c).getbbox() is not None for c in chars)


def usable(path: Path) -> bool:
    """A face the generator may draw with: present, complete for REQUIRED_CHARS, drawable."""
    return path.is_file() and covers(path) and draws(path)


def scan(root: Path | None = None) -> tuple[FontFamily, ...]:
    """Every candidate family whose two faces are usable, in _CANDIDATES' order, with the Debian
    packages' files looked up under `root` (default FONT_ROOT; their /usr/share/fonts)."""
    bases = {_MPL: font_dir(), _DEB: (root or FONT_ROOT) / "usr" / "share" / "fonts"}
    found = []
    for name, source, sub, regular, bold in _CANDIDATES:
        paths = (bases[source] / sub / regular, bases[source] / sub / bold)
        if all(usable(p) for p in paths):
            found.append(FontFamily(name, *paths))
    return tuple(found)


@functools.cache
def families() -> tuple[FontFamily, ...]:
    """The usable families, in a fixed, documented order (see _CANDIDATES): the generator's
    determinism depends on it. Warns once when the Debian families are missing."""
    found = scan()
    if not found:
        raise RuntimeError(f"no font covers {REQUIRED_CHARS!r}; is matplotlib installed?")
    missing = [name for name in DEBIAN_FAMILIES if name not in {f.name for f in found}]
    if missing:
        log.warning(
            "fonts missing under %s: %s; drawing with matplotlib's fonts only (run `make fonts`)",
            FONT_ROOT,
            ", ".join(missing),
        )
    return found


def by_name(name: str) -> FontFamily | None:
    """The usable family called `name`, or None when it is not installed (or not usable)."""
    return next((f for f in families() if f.name == name), None)


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
