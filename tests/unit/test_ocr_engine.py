"""OCR of scanned pages (invoice_core.read.ocr): known text on drawn pages, regions, page pixels, offline."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
import rapidocr
import requests
from PIL import Image, ImageDraw, ImageFont
from rapidocr.utils.download_file import DownloadFile

from devkit.synth import render_invoice
from invoice_core.knobs import OcrWindow
from invoice_core.read import ocr
from invoice_core.read.ocr import OcrEngine, TextLine, ocr_page, ocr_windows, windows
from invoice_core.read.words import Box

FONT = Path(__import__("matplotlib").get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
WIDTH, HEIGHT = 1240, 1754  # A4 at 150 DPI
# (x, y, text): what the drawn page says, top-left corner of each string in page pixels
TEXTS = (
    (110, 200, "Göteborg Städ AB"),
    (700, 200, "Fakturanr: 10423"),
    (700, 250, "Förfallodatum: 2025-09-26"),
    (110, 900, "Beskrivning av tjänst"),
    (700, 1300, "Att betala: 1 234,50 €"),
)


def _drawn_page() -> tuple[np.ndarray, dict[str, Box]]:
    """A white A4 page with TEXTS in DejaVu Sans (~12 pt at 150 DPI) and each string's ink box."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 26)
    boxes = {}
    for x, y, text in TEXTS:
        draw.text((x, y), text, fill="black", font=font)
        boxes[text] = Box(*(float(v) for v in draw.textbbox((x, y), text, font=font)))
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR), boxes


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    return OcrEngine()


@pytest.fixture(scope="module")
def drawn() -> tuple[np.ndarray, dict[str, Box]]:
    return _drawn_page()


@pytest.fixture(scope="module")
def page_words(engine: OcrEngine, drawn: tuple[np.ndarray, dict[str, Box]]) -> list:
    return ocr_page(drawn[0], page=2, engine=engine)


def _near(a: Box, b: Box, tol: float) -> bool:
    return all(
        abs(p - q) <= tol for p, q in zip((a.x1, a.y1, a.x2, a.y2), (b.x1, b.y1, b.x2, b.y2), strict=True)
    )


def test_whole_page_reads_swedish_text_and_amounts(page_words: list) -> None:
    texts = [w.text for w in page_words]
    assert "Göteborg" in texts and "Städ" in texts
    assert "Förfallodatum:" in texts
    assert "tjänst" in texts
    assert "234,50" in texts and "€" in " ".join(texts)
    assert "10423" in texts
    assert all(w.source == "ocr" and w.page == 2 and 0.5 <= w.confidence <= 1.0 for w in page_words)


def test_whole_page_word_boxes_are_page_pixels(
    page_words: list, drawn: tuple[np.ndarray, dict[str, Box]]
) -> None:
    ink = drawn[1]
    goteborg = next(w for w in page_words if w.text == "Göteborg")
    line = ink["Göteborg Städ AB"]
    # the first word of the line: starts where the line's ink starts, on the same band
    assert abs(goteborg.box.x1 - line.x1) <= 12 and goteborg.box.x2 < line.x2
    assert goteborg.box.y1 <= line.y1 + 4 and goteborg.box.y2 >= line.y2 - 4
    amount = next(w for w in page_words if w.text == "234,50")
    value = ink["Att betala: 1 234,50 €"]
    assert value.x1 < amount.box.x1 < amount.box.x2 < value.x2
    assert abs(amount.box.cy - value.cy) <= 6


def test_regions_read_around_the_boxes_in_page_pixels(
    engine: OcrEngine, drawn: tuple[np.ndarray, dict[str, Box]], page_words: list
) -> None:
    bgr, ink = drawn
    value = ink["Att betala: 1 234,50 €"]
    detection = Box(value.x1 + 150, value.y1, value.x2, value.y2)  # the amount only, not its label
    words = ocr_windows(bgr, [detection], page=2, engine=engine)
    texts = [w.text for w in words]
    assert "234,50" in texts
    assert "betala:" in texts  # the label to the left came in with the context margin
    assert "Göteborg" not in texts and "Förfallodatum:" not in texts  # nothing from far away
    (window,) = windows([detection], WIDTH, HEIGHT)
    assert all(window[0] <= w.box.cx <= window[2] and window[1] <= w.box.cy <= window[3] for w in words)
    # the same word has the same page-pixel box whether read in its region or on the whole page
    in_region = next(w for w in words if w.text == "234,50")
    on_page = next(w for w in page_words if w.text == "234,50")
    assert _near(in_region.box, on_page.box, 4)


def test_regions_on_a_synthetic_invoice(engine: OcrEngine) -> None:
    page = render_invoice(0, width=WIDTH, height=HEIGHT, scanned=False)
    bgr = cv2.cvtColor(np.asarray(page.image.convert("RGB")), cv2.COLOR_RGB2BGR)
    boxes = {b.name: Box(b.x1, b.y1, b.x2, b.y2) for b in page.boxes}
    words = ocr_windows(bgr, list(boxes.values()), page=1, engine=engine)
    total = boxes["total_amount"]
    in_total = [w.text for w in words if total.contains_centre(w.box)]
    assert any(re.fullmatch(r"-?[\d.,\s]*\d[.,]\d{2}", t) for t in in_total), in_total
    crops = windows(boxes.values(), WIDTH, HEIGHT)
    assert all(any(c[0] <= w.box.cx <= c[2] and c[1] <= w.box.cy <= c[3] for c in crops) for w in words)


def test_windows_widen_clip_and_merge() -> None:
    ctx = OcrWindow(left=0.1, up=0.1, right=0.0, down=0.0)
    assert windows([(500, 500, 600, 520)], 1000, 1000, ctx) == [(400, 400, 600, 520)]
    assert windows([(20, 30, 60, 40)], 1000, 1000, ctx) == [(0, 0, 60, 40)]  # clipped at the page
    merged = windows([(500, 500, 600, 520), (550, 560, 650, 580), (100, 900, 150, 950)], 1000, 1000, ctx)
    assert merged == [(0, 800, 150, 950), (400, 400, 650, 580)]
    assert windows([(5, 5, 5, 5)], 10, 10, OcrWindow(0, 0, 0, 0)) == []  # no area


class _FakeEngine:
    """Answers every crop with the lines it is given, in crop pixels; records the crops."""

    def __init__(self, lines: list[TextLine]) -> None:
        self._lines = lines
        self.crops: list[tuple[int, int]] = []

    def lines(self, bgr: np.ndarray, options: object = None) -> list[TextLine]:
        self.crops.append(bgr.shape[:2])
        return self._lines


def test_words_cut_by_a_window_edge_are_dropped_unless_on_a_box() -> None:
    page = np.full((1000, 1000, 3), 255, np.uint8)
    ctx = OcrWindow(left=0.1, up=0.0, right=0.0, down=0.0, whole_page_share=1.0)
    # window (400, 500, 600, 520): a word from its left edge (cut) and one inside
    cut = TextLine("turanr:", Box(0, 2, 40, 18), 0.9, ())
    inside = TextLine("10423", Box(120, 2, 190, 18), 0.99, ())
    fake = _FakeEngine([cut, inside])
    words = ocr_windows(page, [(500, 500, 600, 520)], window=ctx, engine=fake)  # type: ignore[arg-type]
    assert [w.text for w in words] == ["10423"]
    assert words[0].box == Box(520, 502, 590, 518)  # shifted into page pixels
    # a word at the edge that overlaps the detection itself is kept (a long value, cut or not)
    fake = _FakeEngine([TextLine("SE45500000000583", Box(0, 2, 200, 18), 0.9, ())])
    words = ocr_windows(page, [(400, 500, 600, 520)], window=ctx, engine=fake)  # type: ignore[arg-type]
    assert [w.text for w in words] == ["SE45500000000583"]


def test_windows_covering_most_of_the_page_read_it_once() -> None:
    page = np.full((100, 100, 3), 255, np.uint8)
    fake = _FakeEngine([])
    ocr_windows(page, [(10, 10, 90, 90)], window=OcrWindow(0, 0, 0, 0, whole_page_share=0.5), engine=fake)  # type: ignore[arg-type]
    assert fake.crops == [(100, 100)]


def test_lines_take_word_boxes_only_when_they_match_the_line() -> None:
    quad = lambda x1, x2: [[x1, 0], [x2, 0], [x2, 10], [x1, 10]]  # noqa: E731
    boxes = np.array([quad(0, 100), quad(0, 50), quad(0, 80)], dtype=np.float32)
    txts = ("Fakturanr: 10423", "FAKTURA", "Moms 25%")
    word_results = (
        (("Fakturanr:", 0.99, quad(0, 60)), ("10423", 0.98, quad(65, 100))),
        (("FA", 0.9, quad(0, 20)), ("KTURA", 0.9, quad(25, 50))),  # split at a letter gap: not words
        # no entry for the third line: rapidocr leaves such lines out of word_results
    )
    lines = ocr._lines(boxes, txts, (0.99, 0.9, 0.95), word_results)
    assert [w[0] for w in lines[0].words] == ["Fakturanr:", "10423"]
    assert lines[0].words[1][2] == Box(65, 0, 100, 10)
    assert lines[1].words == () and lines[2].words == ()  # both stay one phrase each
    words = ocr._to_words(lines, page=1, dx=10, dy=20)
    assert [w.text for w in words] == ["Fakturanr:", "10423", "FAKTURA", "Moms 25%"]
    assert words[2].box == Box(10, 20, 60, 30)


def test_models_come_from_the_wheel_and_nothing_is_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh engine, built and run with sockets blocked and every download path booby-trapped."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network or download attempted: {args!r}")

    monkeypatch.setattr(DownloadFile, "run", classmethod(refuse))
    monkeypatch.setattr(requests.Session, "request", refuse)
    with pytest.raises(Exception, match=r"[Ss]ocket"):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)  # the guard is on
    fresh = OcrEngine()
    package = Path(rapidocr.__file__).resolve().parent
    assert any(part == "site-packages" for part in package.parts) or package.is_relative_to(sys.prefix)
    for section, path in fresh.model_paths.items():
        assert path.is_file() and path.parent == package / "models"
        assert Path(str(getattr(fresh._engine.cfg, section).model_path)) == path  # what rapidocr loads
    bgr, ink = _drawn_page()
    box = ink["Fakturanr: 10423"]
    words = ocr_windows(bgr, [box], engine=fresh, window=OcrWindow(0.02, 0.01, 0.01, 0.01))
    assert [w.text for w in words][-1] == "10423"
    assert fresh.init_s > 0


def test_every_call_passes_its_options(engine: OcrEngine, drawn: tuple[np.ndarray, dict[str, Box]]) -> None:
    """rapidocr keeps per-call options on the instance: after someone's use_det=False call, a
    call with defaults would still skip detection. Ours pass every option each time."""
    bgr, ink = drawn
    box = ink["Förfallodatum: 2025-09-26"]
    crop = np.ascontiguousarray(bgr[int(box.y1) - 10 : int(box.y2) + 10, int(box.x1) - 10 : int(box.x2) + 10])
    engine._engine(crop, use_det=False)  # leaves use_det False on the instance
    assert engine._engine.use_det is False
    lines = engine.lines(crop)
    assert engine._engine.use_det is True
    assert [t for line in lines for t, _, _ in line.words] == ["Förfallodatum:", "2025-09-26"]


def test_logging_is_quiet_and_empty_images_are_no_news(
    engine: OcrEngine, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger(ocr.RAPIDOCR_LOGGER)
    assert log.level == logging.WARNING
    assert log.propagate and not log.handlers  # its coloured stderr handler is gone
    with caplog.at_level(logging.DEBUG):
        assert engine.lines(np.full((60, 200, 3), 255, np.uint8)) == []
    assert not [r for r in caplog.records if r.name == ocr.RAPIDOCR_LOGGER]


def test_engine_is_built_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []

    class Slow:
        init_s = 0.25

        def __init__(self, *, threads: int | None = None) -> None:
            threading.Event().wait(0.05)  # a slow build invites a race
            built.append(self)

    monkeypatch.setattr(ocr, "OcrEngine", Slow)
    monkeypatch.setattr(ocr, "_ENGINE", None)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(ocr.get_engine())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and all(g is built[0] for g in got)
    assert ocr.warm_up() == 0.25  # the cost of the one build, not a second one


FORBID_TORCH = r"""
import importlib.abc, sys

class Forbid(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "torchvision", "ultralytics", "paddle", "openvino"}:
            raise ImportError(f"{name} must not be imported by OCR")
        return None

sys.meta_path.insert(0, Forbid())
import numpy as np
from invoice_core.read import ocr
print(len(ocr.get_engine().lines(np.full((60, 200, 3), 255, np.uint8))))
"""


def test_ocr_runs_without_torch_or_other_engines() -> None:
    """The dev venv has torch; the serving image has not: rapidocr must never reach for it."""
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = os.pathsep.join(str(root / "functions" / d) for d in ("infer", "common"))
    done = subprocess.run(
        [sys.executable, "-c", FORBID_TORCH],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "0"
