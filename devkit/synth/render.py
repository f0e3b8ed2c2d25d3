"""Render one synthetic invoice page with its ground-truth field boxes."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from devkit.synth.canvas import Canvas
from devkit.synth.compose import compose
from devkit.synth.content import Invoice, make_invoice
from devkit.synth.degrade import Geometry, add_noise, fax, field_ink, ink_mask, phone, scan
from devkit.synth.fields import CLASS_NAMES
from devkit.synth.layout import Sheet

SCANNED_FRACTION = 0.4  # share of pages scanned, photographed or faxed when `scanned=None`
# Degradation profiles. "Scanned" ones and their shares among scanned pages: most are office scans at
# 150 DPI, some at 200 DPI (a page 4/3 the size in pixels), phone photos and faxes.
DEGRADATIONS: tuple[str, ...] = ("born_digital", "print", "scan_150", "scan_200", "phone", "fax")
SCANNED_PROFILES: dict[str, float] = {"scan_150": 0.5, "scan_200": 0.2, "phone": 0.18, "fax": 0.12}
DPI_SCALE = {"scan_200": 200 / 150}  # page pixels relative to the 150-DPI `width` x `height`


def page_size(width: int, height: int, degradation: str | None) -> tuple[int, int]:
    """The image size of a `width` x `height` (150 DPI) page through `degradation`: 1240x1754 at
    200 DPI is 1654x2339, A4 at 200 DPI (rounded up, as scanners do)."""
    scale = DPI_SCALE.get(degradation or "", 1.0)
    return math.ceil(width * scale - 1e-9), math.ceil(height * scale - 1e-9)


@dataclass(frozen=True)
class FieldBox:
    """One field's box in pixels of the page image (x2, y2 exclusive edges, continuous coordinates)."""

    class_id: int
    name: str
    x1: float
    y1: float
    x2: float
    y2: float

    def yolo(self, width: int, height: int) -> tuple[int, float, float, float, float]:
        """(class, cx, cy, w, h) normalised to the page."""
        return (
            self.class_id,
            (self.x1 + self.x2) / 2 / width,
            (self.y1 + self.y2) / 2 / height,
            (self.x2 - self.x1) / width,
            (self.y2 - self.y1) / height,
        )


@dataclass
class Page:
    """A rendered page: the RGB image, its field boxes and, when asked for, each box's ink mask."""

    image: Image.Image
    boxes: list[FieldBox]
    seed: int
    scanned: bool
    layout: str
    lang: str
    masks: dict[int, np.ndarray] = field(default_factory=dict)
    content: Invoice | None = None  # what is printed (the truth a reader is checked against)
    # What the page is made of, by families.py's names, so an evaluation can break results down.
    policy: str = "train"
    payment: str = ""
    wording: str = ""
    font: str = ""  # the body text's family (headings use `head_font`)
    head_font: str = ""
    degradation: str = ""

    @property
    def family(self) -> str:
        """The header layout family (same as `layout`)."""
        return self.layout


def _print(
    image: Image.Image, rng: random.Random, nrng: np.random.Generator, *, paper: tuple, force: bool
) -> tuple[Image.Image, Geometry]:
    """The page as printed: maybe slightly askew, maybe a little grain (at least one when `force`)."""
    skew = rng.random() < 0.3
    noisy = rng.random() < 0.5
    if force and not (skew or noisy):
        skew = True
    geom = Geometry.random(nrng, *image.size, max_deg=0.4, max_shear=0.002) if skew else Geometry.identity()
    if not (noisy or skew):
        return image, geom
    arr = geom.apply(np.asarray(image), paper)
    if noisy:
        arr = add_noise(arr, nrng, sigma=float(nrng.uniform(0, 3)), specks=int(nrng.integers(0, 40)))
    return Image.fromarray(arr, "RGB"), geom


def _degrade(
    image: Image.Image, rng: random.Random, nrng: np.random.Generator, profile: str, *, paper: tuple, u: float
) -> tuple[Image.Image, Geometry]:
    """The page through one degradation profile (DEGRADATIONS); returns it and its geometry."""
    if profile == "born_digital":
        return image, Geometry.identity()
    if profile == "print":
        return _print(image, rng, nrng, paper=paper, force=True)
    w, h = image.size
    if profile == "phone":
        geom = Geometry.perspective(nrng, w, h, max_inset=0.07, max_deg=0.6)
        surface = tuple(int(v) for v in nrng.integers(40, 150, size=3))  # the table under the page
        return Image.fromarray(phone(geom.apply(np.asarray(image), surface), nrng, u), "RGB"), geom
    geom = Geometry.random(nrng, w, h, max_deg=1.5, max_shear=0.006)
    fill = tuple(int(v) for v in nrng.integers(225, 256, size=3))
    arr = geom.apply(np.asarray(image), fill)
    arr = fax(arr, nrng, u) if profile == "fax" else scan(arr, nrng, u)
    return Image.fromarray(arr, "RGB"), geom


def _profile(
    rng: random.Random, scanned: bool | None, degradation: str | None, *, vary_dpi: bool
) -> tuple[bool, str | None]:
    """(scanned, profile); the profile of an unscanned page is decided after composing (None here).
    Without `vary_dpi` a drawn scan is never a 200-DPI one (the page keeps the size asked for)."""
    if degradation is not None:
        if degradation not in DEGRADATIONS:
            raise ValueError(f"degradation must be one of {DEGRADATIONS}, got {degradation!r}")
        return degradation in SCANNED_PROFILES, degradation
    if scanned is None:
        scanned = rng.random() < SCANNED_FRACTION
    if not scanned:  # draws nothing more before the invoice: pdf.py replays these draws
        return False, None
    weights = {k: v for k, v in SCANNED_PROFILES.items() if vary_dpi or k not in DPI_SCALE}
    return True, rng.choices(tuple(weights), weights=tuple(weights.values()))[0]


def lay_out(
    seed: int,
    *,
    width: int = 1240,
    height: int = 1754,
    scanned: bool | None = None,
    layout: str | None = None,
    policy: str = "train",
    payment: str | None = None,
    degradation: str | None = None,
    vary_dpi: bool = False,
) -> tuple[random.Random, np.random.Generator, bool, str | None, Invoice, Sheet]:
    """The first half of `render_invoice` (same arguments, same draws): the invoice of `seed` laid
    out on its page, not yet painted. Returns (rng, numpy rng, scanned, degradation, invoice, sheet),
    the generators positioned where painting goes on; the PDF writer and the reader's replay of the
    generator's exact words use the sheet alone."""
    if width < 64 or height < 64:
        raise ValueError(f"page too small: {width}x{height} (need at least 64x64)")
    rng = random.Random(seed)  # noqa: S311 - reproducible pictures, not secrets
    nrng = np.random.default_rng(rng.getrandbits(64))
    scanned, degradation = _profile(rng, scanned, degradation, vary_dpi=vary_dpi)
    width, height = page_size(width, height, degradation)
    inv = make_invoice(rng, policy=policy)
    sheet = compose(inv, rng, width, height, layout, policy=policy, payment=payment)
    return rng, nrng, scanned, degradation, inv, sheet


def render_invoice(
    seed: int,
    *,
    width: int = 1240,
    height: int = 1754,
    scanned: bool | None = None,
    with_masks: bool = False,
    layout: str | None = None,
    policy: str = "train",
    payment: str | None = None,
    degradation: str | None = None,
    vary_dpi: bool = False,
) -> Page:
    """Render the invoice for `seed` (same arguments, same pixels).

    `policy` ("train", "held_out", "any") picks the pools the page's header family, payment variant,
    wording and fonts come from (families.py); `layout`/`payment` force one. `degradation` forces a
    profile (DEGRADATIONS); otherwise `scanned=True` draws one of SCANNED_PROFILES, `scanned=False`
    born_digital or print, and `scanned=None` either, a scanned one for SCANNED_FRACTION of seeds.
    `width` x `height` is the page at 150 DPI and the image's size, except for a "scan_200" page,
    DPI_SCALE times larger (1240x1754 becomes 1654x2339): forced, or drawn when `vary_dpi` (the
    dataset generator's pages; callers that need a fixed size leave it off). With `with_masks=True`,
    `page.masks[i]` is the ink (bool, height×width) of the field in `page.boxes[i]`.
    """
    rng, nrng, scanned, degradation, inv, sheet = lay_out(
        seed,
        width=width,
        height=height,
        scanned=scanned,
        layout=layout,
        policy=policy,
        payment=payment,
        degradation=degradation,
        vary_dpi=vary_dpi,
    )
    width, height = sheet.width, sheet.height
    paper = (255, 255, 255)
    if degradation not in ("born_digital", *SCANNED_PROFILES) and rng.random() < 0.3:
        # off-white printer paper: grey or warm, never tinted
        r = rng.randrange(242, 256)
        paper = (r, r - rng.randrange(0, 4), r - rng.randrange(0, 10))
    canvas = Canvas(width, height, paper)
    for p in sheet.placed:
        canvas.paint(p.block, p.dx, p.dy)

    if degradation is None:  # an unscanned page: printed, or clean as rendered (born digital)
        image, geom = _print(canvas.image, rng, nrng, paper=paper, force=False)
        degradation = "born_digital" if image is canvas.image else "print"
    else:
        image, geom = _degrade(canvas.image, rng, nrng, degradation, paper=paper, u=sheet.st.u)

    boxes: list[FieldBox] = []
    masks: dict[int, np.ndarray] = {}
    for cls in sorted(canvas.layers):
        ink = field_ink(canvas.layers[cls], geom)
        if ink is None:  # drawn entirely off the page: nothing to learn from
            continue
        if with_masks:
            masks[len(boxes)] = ink_mask(canvas.layers[cls], geom)
        boxes.append(FieldBox(cls, CLASS_NAMES[cls], *(float(v) for v in ink.box)))
    return Page(
        image=image,
        boxes=boxes,
        seed=seed,
        scanned=scanned,
        layout=sheet.layout,
        lang=inv.lang,
        masks=masks,
        content=inv,
        policy=policy,
        payment=sheet.payment,
        wording=inv.wording,
        font=sheet.st.body.name,
        head_font=sheet.st.head.name,
        degradation=degradation,
    )
