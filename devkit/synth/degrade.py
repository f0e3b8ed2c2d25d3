"""What printing, scanning, photographing and faxing do to a page: rotation/skew or a perspective
warp, tinted paper, uneven light and shadows, blur, grain, binarisation and streaks.

The geometry is one projective map (affine for print and scan, perspective for a phone photo) in
continuous pixel coordinates (a pixel's centre at +0.5). The page is warped with OpenCV (fast); the
fields' ink layers with PIL, whose windowed warps sample exactly the points a whole-layer warp does,
so boxes equal the extent of the warped ink masks. Both are bilinear with the same map, so the ink
they place differs by well under a pixel. All randomness comes from a numpy `Generator` seeded by the
page; all pixel work is vectorised (no per-pixel Python loops).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import cv2
import numpy as np
from PIL import Image

# A layer pixel counts as ink from this coverage on (a quarter of full anti-aliased coverage)...
INK_THRESHOLD = 64


def ink_threshold(layer: Image.Image) -> int:
    """...or from half the darkest coverage, when a tiny page draws text too thin to reach it."""
    return max(1, min(INK_THRESHOLD, layer.getextrema()[1] // 2))


_NORMAL = NormalDist()


def _shift(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=float)


def _warp(
    arr: np.ndarray, inverse: np.ndarray, size: tuple[int, int], border: int | tuple[int, ...]
) -> np.ndarray:
    """Warp with `inverse` (output -> source, in continuous coordinates where a pixel's centre is at
    +0.5, as PIL draws) to an output of `size` (w, h). OpenCV puts centres at integers, hence the shifts."""
    m = _shift(-0.5, -0.5) @ inverse @ _shift(0.5, 0.5)
    if isinstance(border, int):
        border = (border,) * 3
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    value = tuple(float(v) for v in border)
    if _is_affine(m):
        return cv2.warpAffine(
            arr, m[:2], size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=value
        )
    return cv2.warpPerspective(arr, m, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=value)


def _is_affine(m: np.ndarray) -> bool:
    return bool(np.allclose(m[2], (0.0, 0.0, 1.0), atol=1e-12))


@dataclass(frozen=True)
class Geometry:
    """A forward map, page pixel -> output pixel, as a 3×3 matrix (continuous coordinates): affine,
    or projective (a photo's perspective) when its last row is not (0, 0, 1)."""

    matrix: np.ndarray

    @classmethod
    def identity(cls) -> Geometry:
        return cls(np.eye(3))

    @classmethod
    def random(
        cls, rng: np.random.Generator, width: int, height: int, max_deg: float, max_shear: float
    ) -> Geometry:
        """Rotation about the page centre, a little shear and scale, a small shift."""
        theta = math.radians(rng.uniform(-max_deg, max_deg))
        shear = rng.uniform(-max_shear, max_shear)
        scale = 1.0 + rng.uniform(-0.008, 0.008)
        cx, cy = width / 2, height / 2
        shift = rng.uniform(-0.004, 0.004, size=2) * (width, height)
        c, s = math.cos(theta), math.sin(theta)
        rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=float)
        sh = np.array([[1, shear, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
        back = np.array([[scale, 0, cx + shift[0]], [0, scale, cy + shift[1]], [0, 0, 1]], dtype=float)
        return cls(back @ rot @ sh @ _shift(-cx, -cy))

    @classmethod
    def perspective(
        cls, rng: np.random.Generator, width: int, height: int, max_inset: float, max_deg: float
    ) -> Geometry:
        """A phone photo's view: the page a trapezium inside the frame (its top and bottom edges
        pulled in by different amounts, as when the phone leans), a little rotation.

        Top and bottom stay near level (a line of text stays a line): axis-aligned boxes of wide
        fields would otherwise grow into their neighbours' rows."""
        src = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
        top, bottom = rng.uniform(0.005, max_inset, size=2) * width  # how far each edge's ends come in
        shift = rng.uniform(-0.3, 0.3, size=2) * (top, bottom)  # the trapezium leans left or right
        ys = rng.uniform(0.005, max_inset, size=2) * height  # margins above and below the page
        tilt = rng.uniform(-0.002, 0.002, size=2) * width  # top/bottom edges barely off level
        dst = np.array(
            [
                [top + shift[0], ys[0] + tilt[0]],
                [width - top + shift[0], ys[0] - tilt[0]],
                [width - bottom + shift[1], height - ys[1] - tilt[1]],
                [bottom + shift[1], height - ys[1] + tilt[1]],
            ]
        )
        theta = math.radians(rng.uniform(-max_deg, max_deg))
        c, s = math.cos(theta), math.sin(theta)
        centre = np.array([width / 2, height / 2])
        dst = (dst - centre) @ np.array([[c, s], [-s, c]]) + centre
        m = cv2.getPerspectiveTransform(src, dst.astype(np.float32)).astype(float)
        return cls(m / m[2, 2])

    @property
    def is_identity(self) -> bool:
        return bool(np.allclose(self.matrix, np.eye(3)))

    def apply(self, page: np.ndarray, fill: int | tuple[int, ...]) -> np.ndarray:
        """Warp a whole page (array); uncovered corners get `fill`."""
        if self.is_identity:
            return page
        return _warp(page, np.linalg.inv(self.matrix), (page.shape[1], page.shape[0]), fill)

    def points(self, xy: np.ndarray) -> np.ndarray:
        """Map N×2 continuous coordinates."""
        m = self.matrix
        out = xy @ m[:2, :2].T + m[:2, 2]
        if _is_affine(m):
            return out
        return out / (xy @ m[2, :2] + m[2, 2])[:, None]


@dataclass(frozen=True)
class Ink:
    """A field's ink on the final page: a bool mask and where its top-left pixel lies."""

    mask: np.ndarray
    x: int
    y: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x1, y1, x2, y2) with exclusive right/bottom edges: exactly the ink's extent."""
        return self.x, self.y, self.x + self.mask.shape[1], self.y + self.mask.shape[0]


def field_ink(layer: Image.Image, geom: Geometry) -> Ink | None:
    """A field layer's ink after the page geometry, as the page image gets it.

    Only a window around the ink is warped, with the page's map shifted by whole pixels to that
    window, so it samples the same points as warping the whole layer, at a fraction of the cost.
    """
    bbox = layer.getbbox()
    if bbox is None:
        return None
    w, h = layer.size
    threshold = ink_threshold(layer.crop(bbox))  # same extrema as the whole layer, found faster
    if geom.is_identity:
        ink = np.asarray(layer.crop(bbox)) >= threshold
        ox, oy = bbox[0], bbox[1]
    else:
        x0, y0 = max(0, bbox[0] - 2), max(0, bbox[1] - 2)
        x1, y1 = min(w, bbox[2] + 2), min(h, bbox[3] + 2)
        corners = geom.points(np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], dtype=float))
        dx0, dy0 = (max(0, math.floor(v) - 1) for v in corners.min(axis=0))
        dx1, dy1 = min(w, math.ceil(corners[:, 0].max()) + 1), min(h, math.ceil(corners[:, 1].max()) + 1)
        if dx1 <= dx0 or dy1 <= dy0:
            return None
        inverse = _shift(-x0, -y0) @ np.linalg.inv(geom.matrix) @ _shift(dx0, dy0)
        ink = (
            np.asarray(_pil_warp(layer.crop((x0, y0, x1, y1)), inverse, (dx1 - dx0, dy1 - dy0)))
            >= INK_THRESHOLD
        )
        ox, oy = dx0, dy0
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return None
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return Ink(ink, int(ox + cols[0]), int(oy + rows[0]))


def ink_mask(layer: Image.Image, geom: Geometry) -> np.ndarray:
    """A field's ink on the final page by warping its whole layer: the slow, independent reference
    that tests compare `field_ink` boxes with (bool, height×width)."""
    if geom.is_identity:
        return np.asarray(layer) >= ink_threshold(layer)
    return np.asarray(_pil_warp(layer, np.linalg.inv(geom.matrix), layer.size)) >= ink_threshold(layer)


def _pil_warp(img: Image.Image, inverse: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """PIL's bilinear affine or perspective warp of a greyscale layer (PIL takes the output -> source
    map, in the same continuous coordinates)."""
    if _is_affine(inverse):
        data = tuple(float(v) for v in inverse[:2].ravel())
        method = Image.Transform.AFFINE
    else:
        data = tuple(float(v) for v in (inverse / inverse[2, 2]).ravel()[:8])
        method = Image.Transform.PERSPECTIVE
    return img.transform(size, method, data, resample=Image.Resampling.BILINEAR, fillcolor=0)


def scan(page: np.ndarray, rng: np.random.Generator, u: float) -> np.ndarray:
    """Scanner look on an RGB array: tinted paper, lifted blacks, uneven light, blur, grain, specks."""
    h, w = page.shape[:2]
    r = rng.uniform(228, 250)
    g = r - rng.uniform(0, 6)
    tint = np.array([r, g, g - rng.uniform(0, 32)])  # grey to yellowish, never pink
    lo = rng.uniform(0, 45)
    # Paper takes the tint and ink is lifted towards grey: one lookup table per channel.
    levels = np.arange(256, dtype=float)[:, None]
    lut = np.clip(lo + levels * tint[None, :] * (1 - lo / 255) / 255, 0, 255).astype(np.uint8)
    out = cv2.LUT(page, lut.reshape(256, 1, 3))
    light = rng.uniform(0.86, 1.0, size=(3, 4)).astype(np.float32)
    light = cv2.resize(light * 255, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 255).astype(np.uint8)
    out = cv2.multiply(out, cv2.cvtColor(light, cv2.COLOR_GRAY2RGB), scale=1 / 255)
    out = cv2.GaussianBlur(out, (0, 0), max(0.3, rng.uniform(0.35, 1.1) * max(u, 0.5)))
    return add_noise(out, rng, sigma=rng.uniform(2, 8), specks=int(rng.uniform(5, 160) * u * u))


def add_noise(page: np.ndarray, rng: np.random.Generator, sigma: float, specks: int) -> np.ndarray:
    """Grey grain of strength `sigma` and `specks` dark dots, on an RGB array."""
    h, w = page.shape[:2]
    out = page
    if sigma > 0:
        # Gaussian grain from random bytes through the inverse normal CDF: a fraction of the cost of
        # drawing normals, and saturating uint8 arithmetic instead of a wider copy.
        steps = np.array([round(sigma * _NORMAL.inv_cdf((i + 0.5) / 256)) for i in range(256)])
        noise = np.frombuffer(rng.bytes(h * w), dtype=np.uint8).reshape(h, w)
        up = cv2.LUT(noise, np.clip(steps, 0, 255).astype(np.uint8))
        down = cv2.LUT(noise, np.clip(-steps, 0, 255).astype(np.uint8))
        up, down = cv2.cvtColor(up, cv2.COLOR_GRAY2RGB), cv2.cvtColor(down, cv2.COLOR_GRAY2RGB)
        out = cv2.subtract(cv2.add(out, up), down)
    if specks:
        out = np.array(out)  # writable
        xs = rng.uniform(0, w, specks)
        ys = rng.uniform(0, h, specks)
        rs = rng.uniform(0.4, 1.6, specks) * max(0.5, w / 1240)
        gs = rng.integers(40, 170, specks)
        for x, y, r, g in zip(xs.tolist(), ys.tolist(), rs.tolist(), gs.tolist(), strict=True):
            # Sub-pixel centres and radii (shift=2: quarter pixels), anti-aliased.
            cv2.circle(out, (round(x * 4), round(y * 4)), max(1, round(r * 4)), (g, g, g), -1, cv2.LINE_AA, 2)
    return out


def phone(page: np.ndarray, rng: np.random.Generator, u: float) -> np.ndarray:
    """A phone photo's light on an already warped RGB page: a colour cast, light falling off across
    the page, a soft shadow (a hand or the phone) over part of it, vignetting, focus blur and grain."""
    h, w = page.shape[:2]
    ys, xs = np.mgrid[0:h:8, 0:w:8].astype(np.float32)  # light is smooth: compute it coarse, then resize
    xs, ys = xs / w, ys / h
    angle = rng.uniform(0, 2 * math.pi)
    ramp = math.cos(angle) * (xs - 0.5) + math.sin(angle) * (ys - 0.5)
    light = 1.0 - rng.uniform(0.05, 0.25) * (ramp - ramp.min()) / max(1e-6, float(np.ptp(ramp)))
    # A shadow: the far side of a random line, its edge softened over a few percent of the page.
    a = rng.uniform(0, 2 * math.pi)
    edge = math.cos(a) * (xs - rng.uniform(0.2, 0.8)) + math.sin(a) * (ys - rng.uniform(0.2, 0.8))
    soft = rng.uniform(0.02, 0.08)
    light *= 1.0 - rng.uniform(0.15, 0.4) * (1 / (1 + np.exp(-edge / soft)))
    r2 = (xs - 0.5) ** 2 + (ys - 0.5) ** 2
    light *= 1.0 - rng.uniform(0.0, 0.25) * r2 / 0.5
    light = cv2.resize(light, (w, h), interpolation=cv2.INTER_LINEAR)
    cast = np.array([1.0, rng.uniform(0.93, 1.0), rng.uniform(0.8, 0.97)], dtype=np.float32)
    out = page.astype(np.float32) * light[:, :, None] * cast
    out = np.clip(out, 0, 255).astype(np.uint8)
    out = cv2.GaussianBlur(out, (0, 0), max(0.3, rng.uniform(0.4, 1.2) * max(u, 0.5)))
    return add_noise(out, rng, sigma=rng.uniform(3, 9), specks=0)


def fax(page: np.ndarray, rng: np.random.Generator, u: float) -> np.ndarray:
    """A received fax from an RGB page: grey, sampled at fax resolution (half to two thirds of the
    rows: "standard" or "fine" mode), thresholded to black and white, scaled back with hard pixel
    edges, with a few dark streaks and white drop-out lines across it."""
    h, w = page.shape[:2]
    grey = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)
    fy = float(rng.choice((0.5, 0.65, 0.65)))
    fx = float(rng.uniform(0.8, 1.0))
    small = cv2.resize(grey, (max(1, round(w * fx)), max(1, round(h * fy))), interpolation=cv2.INTER_AREA)
    noise = np.frombuffer(rng.bytes(small.size), dtype=np.uint8).reshape(small.shape).astype(np.int16)
    level = int(rng.uniform(150, 205))
    binary = np.where(small.astype(np.int16) + (noise - 128) // 6 < level, 0, 255).astype(np.uint8)
    out = cv2.resize(binary, (w, h), interpolation=cv2.INTER_NEAREST_EXACT)  # centre-aligned: no shift
    out = np.array(out)  # writable
    for _ in range(int(rng.integers(1, 6))):
        y = int(rng.integers(0, h))
        x0 = int(rng.integers(0, w // 2))
        x1 = int(rng.integers(x0 + w // 4, w + 1))
        thick = max(1, round(rng.uniform(0.5, 1.5) * max(u, 0.5)))
        out[y : y + thick, x0:x1] = 0 if rng.random() < 0.4 else 255
    return cv2.cvtColor(out, cv2.COLOR_GRAY2RGB)
