"""Degradation profiles: each keeps every field's box on its ink (checked against the page's own
dark pixels, not just the ink layers), and each looks as it should (clean, binarised, photographed,
200 DPI)."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from devkit.synth import CLASS_NAMES, render_invoice
from devkit.synth.degrade import Geometry, field_ink, ink_mask
from devkit.synth.render import DEGRADATIONS, DPI_SCALE, SCANNED_PROFILES, page_size

pytestmark = pytest.mark.unit

MID = {"width": 620, "height": 877}
TEXT_FIELDS = {"invoice_number", "invoice_date", "due_date", "subtotal", "vat", "total_amount"}


def _dark(page) -> np.ndarray:
    """The page's ink: pixels well below the local paper level (light varies on photos and scans)."""
    grey = cv2.cvtColor(np.asarray(page.image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    paper = cv2.dilate(grey, np.ones((21, 21), np.uint8))
    return grey < 0.75 * paper


def _text_ink_share(page, dark: np.ndarray, shift: tuple[int, int]) -> float:
    """Share of the key-value fields' mask pixels, shifted by (dy, dx), that are ink on the page."""
    mask = np.zeros_like(dark)
    for i, box in enumerate(page.boxes):
        if box.name in TEXT_FIELDS:
            mask |= page.masks[i]
    return float(dark[np.roll(mask, shift, axis=(0, 1))].mean())


@pytest.mark.parametrize("profile", DEGRADATIONS)
def test_boxes_follow_the_page_through_each_profile(profile: str) -> None:
    for seed in (70, 71):
        page = render_invoice(seed, **MID, degradation=profile, policy="any", with_masks=True)
        assert page.degradation == profile and page.scanned == (profile in SCANNED_PROFILES)
        w, h = page_size(MID["width"], MID["height"], profile)
        assert page.image.size == (w, h) and (w > MID["width"]) == (profile in DPI_SCALE)
        assert sorted(b.class_id for b in page.boxes) == list(range(len(CLASS_NAMES)))
        for i, box in enumerate(page.boxes):
            ys, xs = np.nonzero(page.masks[i])
            ink = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            assert max(abs(a - b) for a, b in zip((box.x1, box.y1, box.x2, box.y2), ink, strict=True)) <= 2
            assert 0 <= box.x1 < box.x2 <= w and 0 <= box.y1 < box.y2 <= h
        for a, b in itertools.combinations(page.boxes, 2):
            assert min(a.x2, b.x2) <= max(a.x1, b.x1) or min(a.y2, b.y2) <= max(a.y1, b.y1), (a.name, b.name)
        # The boxes' ink is where the page's ink is: aligned, the masks fall on dark pixels; moved by
        # 3 px (a geometry a few pixels off), markedly fewer do.
        dark = _dark(page)
        aligned = _text_ink_share(page, dark, (0, 0))
        assert aligned >= 0.35, (profile, seed, aligned)
        for shift in ((3, 0), (-3, 0), (0, 3), (0, -3)):
            assert aligned >= _text_ink_share(page, dark, shift) + 0.1, (profile, seed, shift)
        for shift in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            assert aligned >= _text_ink_share(page, dark, shift) - 0.02, (profile, seed, shift)


def test_born_digital_pages_are_clean_and_scans_are_not() -> None:
    clean = np.asarray(render_invoice(3, **MID, degradation="born_digital").image)
    scanned = np.asarray(render_invoice(3, **MID, degradation="scan_150").image)
    white = (clean == 255).all(axis=2).mean()
    assert white > 0.7  # untouched paper: exactly white, no grain
    assert (scanned == 255).all(axis=2).mean() < 0.1


def test_fax_pages_are_black_and_white() -> None:
    arr = np.asarray(render_invoice(4, **MID, degradation="fax").image)
    assert set(np.unique(arr).tolist()) <= {0, 255}
    assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()


def test_phone_photos_show_the_surface_around_a_shaded_page() -> None:
    page = render_invoice(5, **MID, degradation="phone")
    grey = cv2.cvtColor(np.asarray(page.image), cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    centre = float(np.median(grey[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3]))
    corners = [grey[1, 1], grey[1, w - 2], grey[h - 2, 1], grey[h - 2, w - 2]]
    assert all(c < centre - 40 for c in corners), (corners, centre)


def test_a_200_dpi_scan_of_an_a4_page_is_1654_by_2339() -> None:
    page = render_invoice(6, degradation="scan_200")
    assert page.image.size == (1654, 2339)


def test_pages_keep_their_size_unless_dpi_may_vary() -> None:
    fixed = {render_invoice(s, width=160, height=226, scanned=True).image.size for s in range(30)}
    varied = {
        render_invoice(s, width=160, height=226, scanned=True, vary_dpi=True).image.size for s in range(30)
    }
    assert fixed == {(160, 226)}
    assert varied == {(160, 226), (214, 302)}


def test_perspective_geometry_maps_points_as_opencv_does() -> None:
    geom = Geometry.perspective(np.random.default_rng(1), 400, 560, max_inset=0.07, max_deg=0.6)
    assert not np.allclose(geom.matrix[2], (0, 0, 1))
    pts = np.array([[0, 0], [400, 0], [123.5, 321.25], [400, 560]], dtype=float)
    want = cv2.perspectiveTransform(pts[None].astype(np.float64), geom.matrix)[0]
    assert np.allclose(geom.points(pts), want, atol=1e-6)


def test_windowed_field_ink_equals_the_whole_layer_warp_under_perspective() -> None:
    layer = Image.new("L", (400, 560), 0)
    ImageDraw.Draw(layer).rectangle((100, 200, 260, 230), fill=255)
    geom = Geometry.perspective(np.random.default_rng(2), 400, 560, max_inset=0.07, max_deg=0.6)
    ink = field_ink(layer, geom)
    ys, xs = np.nonzero(ink_mask(layer, geom))
    assert ink is not None and ink.box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="degradation"):
        render_invoice(0, **MID, degradation="polaroid")
