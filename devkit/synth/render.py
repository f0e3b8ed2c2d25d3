"""Render one synthetic invoice page with its ground-truth field boxes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from devkit.synth.canvas import Canvas
from devkit.synth.compose import compose
from devkit.synth.content import Invoice, make_invoice
from devkit.synth.degrade import Geometry, add_noise, field_ink, ink_mask, scan
from devkit.synth.fields import CLASS_NAMES

SCANNED_FRACTION = 0.4  # share of pages with the scanner look when `scanned=None`


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


def _print_and_scan(
    image: Image.Image,
    rng: random.Random,
    nrng: np.random.Generator,
    *,
    scanned: bool,
    paper: tuple,
    u: float,
) -> tuple[Image.Image, Geometry]:
    """The page as printed (maybe slightly askew, a little grain) or scanned; returns it and its geometry."""
    if scanned:
        geom = Geometry.random(nrng, *image.size, max_deg=1.5, max_shear=0.006)
    elif rng.random() < 0.3:
        geom = Geometry.random(nrng, *image.size, max_deg=0.4, max_shear=0.002)
    else:
        geom = Geometry.identity()
    fill = tuple(int(v) for v in nrng.integers(225, 256, size=3)) if scanned else paper
    noisy = not scanned and rng.random() < 0.5
    if not (scanned or noisy or not geom.is_identity):
        return image, geom
    arr = geom.apply(np.asarray(image), fill)
    if scanned:
        arr = scan(arr, nrng, u)
    elif noisy:
        arr = add_noise(arr, nrng, sigma=float(nrng.uniform(0, 3)), specks=int(nrng.integers(0, 40)))
    return Image.fromarray(arr, "RGB"), geom


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
) -> Page:
    """Render the invoice for `seed` (same arguments, same pixels).

    `policy` ("train", "held_out", "any") picks the pools the page's header family, payment variant,
    wording and fonts come from (families.py); `layout`/`payment` force one. `scanned=None` gives the
    scanner look to a fraction of seeds. With `with_masks=True`, `page.masks[i]` is the ink (bool,
    height×width) of the field in `page.boxes[i]`.
    """
    if width < 64 or height < 64:
        raise ValueError(f"page too small: {width}x{height} (need at least 64x64)")
    rng = random.Random(seed)  # noqa: S311 - reproducible pictures, not secrets
    nrng = np.random.default_rng(rng.getrandbits(64))
    if scanned is None:
        scanned = rng.random() < SCANNED_FRACTION
    inv = make_invoice(rng, policy=policy)
    sheet = compose(inv, rng, width, height, layout, policy=policy, payment=payment)
    paper = (255, 255, 255)
    if not scanned and rng.random() < 0.3:  # off-white printer paper: grey or warm, never tinted
        r = rng.randrange(242, 256)
        paper = (r, r - rng.randrange(0, 4), r - rng.randrange(0, 10))
    canvas = Canvas(width, height, paper)
    for p in sheet.placed:
        canvas.paint(p.block, p.dx, p.dy)

    image, geom = _print_and_scan(canvas.image, rng, nrng, scanned=scanned, paper=paper, u=sheet.st.u)
    degradation = "scan" if scanned else ("clean" if image is canvas.image else "print")

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
