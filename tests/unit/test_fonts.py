"""The invoice fonts: which families load, what they draw, their order, and how make installs them."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from devkit.synth import fonts

REPO = Path(__file__).resolve().parents[2]
MATPLOTLIB_FAMILIES = ("DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono", "STIXGeneral")
DEBIAN_FAMILIES = (
    "Liberation Sans",
    "Liberation Serif",
    "Liberation Mono",
    "Nimbus Sans",
    "Nimbus Roman",
    "Nimbus Mono PS",
    "FreeSans",
    "FreeSerif",
    "FreeMono",
)
PACKAGES = {"fonts-liberation2", "fonts-urw-base35", "fonts-freefont-ttf"}


@pytest.fixture
def fresh_families() -> Iterator[None]:
    """families() recomputed for the test and again afterwards (it is cached per process)."""
    fonts.families.cache_clear()
    yield
    fonts.families.cache_clear()


def _ink(path: Path, text: str) -> np.ndarray:
    img = Image.new("L", (900, 120), 0)
    ImageDraw.Draw(img).text((10, 10), text, font=fonts.load(path, 60), fill=255)
    return np.asarray(img) > 0


def test_names_are_the_documented_families_in_order() -> None:
    names = [f.name for f in fonts.families()]
    assert names[: len(MATPLOTLIB_FAMILIES)] == list(MATPLOTLIB_FAMILIES)  # always shipped, always first
    assert set(names) <= set(MATPLOTLIB_FAMILIES + DEBIAN_FAMILIES)
    assert fonts.DEBIAN_FAMILIES == DEBIAN_FAMILIES
    order = MATPLOTLIB_FAMILIES + DEBIAN_FAMILIES
    assert names == sorted(names, key=order.index)  # a missing family leaves the others' order alone
    assert "Computer Modern" not in names  # it ships with matplotlib but has no å


def test_every_face_loads_and_draws_every_required_char() -> None:
    for fam in fonts.families():
        for face in (fam.regular, fam.bold):
            assert fonts.covers(face) and fonts.draws(face), face
            for ch in "å€Ö§":
                assert _ink(face, ch).any(), (face, ch)
    assert "å" in fonts.REQUIRED_CHARS and "€" in fonts.REQUIRED_CHARS


def test_a_face_without_a_required_glyph_is_dropped(tmp_path: Path) -> None:
    # D050000L (URW's dingbats) and StandardSymbolsPS have no €; cmr10 has no å.
    cm = fonts.font_dir() / "cmr10.ttf"
    assert cm.is_file() and not fonts.usable(cm)
    assert not fonts.usable(tmp_path / "absent.ttf")
    (tmp_path / "garbage.ttf").write_bytes(b"not a font")
    assert not fonts.draws(tmp_path / "garbage.ttf")


def test_bold_differs_from_regular() -> None:
    for fam in fonts.families():
        assert fam.regular != fam.bold, fam
        regular, bold = _ink(fam.regular, "Förfallodatum"), _ink(fam.bold, "Förfallodatum")
        assert bold.sum() > regular.sum() * 1.1, fam.name  # heavier strokes, not the same face twice


def test_order_is_deterministic_and_matplotlib_alone_is_a_prefix(tmp_path: Path) -> None:
    assert fonts.scan() == fonts.scan() == fonts.families()
    alone = fonts.scan(tmp_path)  # a root with no Debian fonts in it
    assert [f.name for f in alone] == list(MATPLOTLIB_FAMILIES)
    assert fonts.families()[: len(alone)] == alone


def test_by_name() -> None:
    fam = fonts.by_name("DejaVu Serif")
    assert fam is not None and fam.name == "DejaVu Serif" and fam.bold.name == "DejaVuSerif-Bold.ttf"
    assert fonts.by_name("Arial") is None  # never installed: Liberation Sans is its metric clone


def test_missing_debian_fonts_warn_once_and_fall_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fresh_families: None
) -> None:
    monkeypatch.setattr(fonts, "FONT_ROOT", tmp_path)
    with caplog.at_level(logging.WARNING, logger=fonts.__name__):
        first, second = fonts.families(), fonts.families()
    assert first == second and [f.name for f in first] == list(MATPLOTLIB_FAMILIES)
    warnings = [r for r in caplog.records if r.name == fonts.__name__]
    assert len(warnings) == 1 and "Nimbus Sans" in warnings[0].getMessage()
    assert fonts.by_name("Liberation Sans") is None


def test_debian_families_installed_under_ci() -> None:
    """CI must have run the Makefile's font step: a broken install fails here, not silently. Elsewhere
    an installed tree (make fonts) must be complete; no tree at all is allowed."""
    if os.environ.get("CI") != "true" and not (fonts.FONT_ROOT / "usr" / "share" / "fonts").is_dir():
        pytest.skip(f"no fonts under {fonts.FONT_ROOT} (run `make fonts`); CI=true makes this a failure")
    names = {f.name for f in fonts.families()}
    assert set(DEBIAN_FAMILIES) <= names, sorted(set(DEBIAN_FAMILIES) - names)
    for name in ("Nimbus Sans", "Nimbus Roman", "Nimbus Mono PS"):  # OpenType/CFF, drawn by FreeType
        fam = fonts.by_name(name)
        assert fam is not None and fam.regular.suffix == ".otf"


def _pins() -> list[tuple[str, str, str]]:
    lines = (REPO / "requirements" / "fonts.txt").read_text(encoding="utf-8").splitlines()
    rows = [ln.split() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return [(*pin.split("=", 1), sha) for pin, sha in rows]


def test_pinned_font_packages_parse() -> None:
    pins = _pins()
    assert {name for name, _, _ in pins} == PACKAGES
    for name, version, sha in pins:
        assert re.fullmatch(r"[0-9][0-9A-Za-z.+~:-]*", version), (name, version)
        assert re.fullmatch(r"[0-9a-f]{64}", sha), (name, sha)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_makefile_fetches_the_pins_before_the_venv_without_forcing_it() -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    # -p prints make's rule database (nothing runs with -n -q): the rules as make itself reads them.
    db = subprocess.run(
        ["make", "-pnq", "-f", "Makefile", ".cache/fonts/.installed"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    rules = dict(re.findall(r"^([^\s#:=][^:=\n]*):(?!=)(.*)$", db, re.MULTILINE))
    assert rules[".cache/fonts/.installed"].split() == ["requirements/fonts.txt"]
    # Order-only (after |): setup fetches the fonts, and a new pin does not reinstall the venv.
    _, order_only = rules[".venv/.installed"].split("|")
    assert order_only.split() == [".cache/fonts/.installed"]
    recipe = subprocess.run(
        ["make", "-n", "-B", ".cache/fonts/.installed"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "apt-get download" in recipe and "dpkg-deb -x" in recipe and "sha256sum" in recipe
