"""Page pixels -> words, by OCR: RapidOCR (PP-OCRv6 detection + recognition, ONNX) on onnxruntime.

Only the models inside the rapidocr wheel are used. Each model's path is given explicitly, which
skips rapidocr's fetch-and-verify step altogether: nothing is downloaded, or even hashed, at run
time (site-packages is read-only in Lambda anyway). The engine is built on first use, once per
process, behind a lock.

rapidocr keeps per-call options on the engine instance (`engine(img, use_det=False)` leaves
detection off for every later call), so every call here passes all of them, and calls are
serialised: onnxruntime already spreads one call over the cores.

`ocr_windows` reads only around the detector's boxes (widened to take in the labels to the left
and above); `ocr_page` reads the whole page, the fallback. Both return words in page pixels.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from invoice_core.knobs import OcrOptions, OcrWindow
from invoice_core.read.words import Box, Word

if TYPE_CHECKING:
    from rapidocr import RapidOCR

RAPIDOCR_LOGGER = "RapidOCR"
# The models the rapidocr 3.10 wheel ships (rapidocr/models/), by the config section that uses them.
MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",  # multilingual Latin + CJK dictionary: å, ä, ö and € included
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}
# rapidocr warns for every image without text; an empty region is an ordinary answer here.
_EXPECTED_WARNINGS = ("The text detection result is empty",)
CUT_TOLERANCE_PX = 2.0  # a word this close to a window's inner edge was cut by it
# The detector sees an image at most this long (lines are still read from the full-resolution
# pixels). 1280 halves detection on a 150-DPI A4 page (1754 px) against rapidocr's 2000 and found
# the same text on the synthetic pages tried (only a few neighbouring lines merged into one).
DET_MAX_SIDE = 1280

BoxLike = Box | Sequence[float]  # Box, or (x1, y1, x2, y2) in page pixels


@dataclass(frozen=True)
class TextLine:
    """One detected line in the pixels of the image it was read from."""

    text: str
    box: Box
    score: float
    words: tuple[tuple[str, float, Box], ...]  # empty when the line could not be split reliably


class OcrEngine:
    """One RapidOCR instance on the bundled models; `init_s` is what building it cost."""

    def __init__(self, *, threads: int | None = None, det_max_side: int = DET_MAX_SIDE) -> None:
        started = time.perf_counter()
        import rapidocr  # noqa: PLC0415 - ~1 s of imports, paid by the first page that needs OCR

        root = Path(rapidocr.__file__).resolve().parent / "models"
        self.model_paths = {section: root / name for section, name in MODEL_FILES.items()}
        missing = [str(p) for p in self.model_paths.values() if not p.is_file()]
        if missing:
            raise RuntimeError(f"rapidocr's bundled models are missing: {missing}")
        params: dict[str, Any] = {
            "Global.log_level": "warning",
            # only ever shrink for detection: rapidocr's default ("min", 736) would blow a 300x60
            # crop up to 3680x736, at great cost and for nothing (the text is as large as on the page)
            "Det.limit_type": "max",
            "Det.limit_side_len": det_max_side,
        }
        for section, path in self.model_paths.items():
            params[f"{section}.model_path"] = str(path)
        if threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
        self._engine: RapidOCR = rapidocr.RapidOCR(params=params)
        quiet_rapidocr_logging()
        # rapidocr loads each model on its first call; load them now so that init_s is the whole cost
        self._engine._load_det_model()  # its own lazy loaders (thread-safe in 3.10)
        self._engine._load_rec_model()
        self._lock = threading.Lock()
        self.init_s = time.perf_counter() - started

    def lines(self, bgr: np.ndarray, options: OcrOptions = OcrOptions()) -> list[TextLine]:
        """Detect and read the text lines of a BGR (or grey) image."""
        with self._lock:
            result = self._engine(
                bgr,
                use_det=True,
                use_cls=options.use_cls,
                use_rec=True,
                return_word_box=options.word_boxes,
                return_single_char_box=False,
                text_score=options.text_score,
                box_thresh=options.box_thresh,
                unclip_ratio=options.unclip_ratio,
            )
        boxes, txts, scores = (getattr(result, name, None) for name in ("boxes", "txts", "scores"))
        if boxes is None or txts is None or scores is None or len(txts) == 0:
            return []
        word_results = getattr(result, "word_results", ()) if options.word_boxes else ()
        return _lines(boxes, txts, scores, word_results)


def _quad_box(points: Any) -> Box:
    quad = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return Box(
        float(quad[:, 0].min()), float(quad[:, 1].min()), float(quad[:, 0].max()), float(quad[:, 1].max())
    )


def _lines(boxes: Any, txts: Sequence[str], scores: Sequence[float], word_results: Any) -> list[TextLine]:
    """Pair each line with its words.

    rapidocr drops lines without word boxes from `word_results`, so its indices can drift from the
    lines'; and it also splits at wide letter gaps ("FA" "KTURA" for a spaced-out title). A line
    takes the next entry only when its words are exactly the line's space-separated tokens, else
    the line stays one word (a phrase, which the reader handles).
    """
    pending = [w for w in (word_results or ()) if w and isinstance(w[0], tuple | list) and len(w[0]) == 3]
    chars = ["".join(str(w[0]) for w in entry).replace(" ", "") for entry in pending]
    out: list[TextLine] = []
    j = 0
    for quad, text, score in zip(boxes, txts, scores, strict=True):
        words: tuple[tuple[str, float, Box], ...] = ()
        joined = text.replace(" ", "")
        # the first entry from j on with the same characters (entries of dropped lines are skipped)
        k = next((k for k in range(j, len(pending)) if chars[k] == joined), None)
        if k is not None:
            if [str(w[0]) for w in pending[k]] == text.split():
                words = tuple((str(t), float(s), _quad_box(q)) for t, s, q in pending[k])
            j = k + 1
        out.append(TextLine(text=text, box=_quad_box(quad), score=float(score), words=words))
    return out


def quiet_rapidocr_logging() -> None:
    """WARNING and up only, through the application's handlers (rapidocr adds its own coloured
    stderr handler and stops propagation), without the warning every empty region gives."""
    log = logging.getLogger(RAPIDOCR_LOGGER)
    log.setLevel(logging.WARNING)
    for handler in list(log.handlers):
        log.removeHandler(handler)
    log.propagate = True
    if not any(isinstance(f, _DropExpected) for f in log.filters):
        log.addFilter(_DropExpected())


class _DropExpected(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not any(text in str(record.msg) for text in _EXPECTED_WARNINGS)


_ENGINE: OcrEngine | None = None
_ENGINE_LOCK = threading.Lock()


def get_engine(*, threads: int | None = None) -> OcrEngine:
    """The process's engine, built on first use (`threads` counts only then; None: onnxruntime's
    default, one per core)."""
    global _ENGINE  # noqa: PLW0603 - one engine per process, like the detector model
    if _ENGINE is None:
        with _ENGINE_LOCK:
            if _ENGINE is None:
                _ENGINE = OcrEngine(threads=threads)
    return _ENGINE


def warm_up(*, threads: int | None = None) -> float:
    """Build the engine now (e.g. at cold start); returns what building it cost, in seconds."""
    return get_engine(threads=threads).init_s


def _to_words(lines: Iterable[TextLine], *, page: int, dx: float = 0.0, dy: float = 0.0) -> list[Word]:
    """Words shifted into page pixels; a line that could not be split is one word."""
    out: list[Word] = []
    for line in lines:
        for text, score, box in line.words or ((line.text, line.score, line.box),):
            shifted = Box(box.x1 + dx, box.y1 + dy, box.x2 + dx, box.y2 + dy)
            out.append(Word(text=text, box=shifted, page=page, confidence=score, source="ocr"))
    return out


def ocr_page(
    bgr: np.ndarray, *, page: int = 1, options: OcrOptions = OcrOptions(), engine: OcrEngine | None = None
) -> list[Word]:
    """OCR the whole page; words in page pixels, top to bottom as detected."""
    engine = engine or get_engine()
    return _to_words(engine.lines(bgr, options), page=page)


def as_box(box: BoxLike) -> Box:
    if isinstance(box, Box):
        return box
    x1, y1, x2, y2 = (float(v) for v in box)
    return Box(x1, y1, x2, y2)


def windows(
    boxes: Iterable[BoxLike], width: int, height: int, window: OcrWindow = OcrWindow()
) -> list[tuple[int, int, int, int]]:
    """The crops to read: each box widened by `window`, clipped to the page, overlapping ones
    merged (so that no text is read twice); integer pixel edges, x2/y2 exclusive."""
    rects = []
    for raw in boxes:
        b = as_box(raw)
        x1 = max(0, math.floor(b.x1 - window.left * width))
        y1 = max(0, math.floor(b.y1 - window.up * height))
        x2 = min(width, math.ceil(b.x2 + window.right * width))
        y2 = min(height, math.ceil(b.y2 + window.down * height))
        if x2 > x1 and y2 > y1:
            rects.append([x1, y1, x2, y2])
    merged = True
    while merged:
        merged = False
        for i in range(len(rects)):
            for j in range(i + 1, len(rects)):
                a, b = rects[i], rects[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    rects[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del rects[j]
                    merged = True
                    break
            if merged:
                break
    return sorted((r[0], r[1], r[2], r[3]) for r in rects)


def ocr_windows(
    bgr: np.ndarray,
    boxes: Iterable[BoxLike],
    *,
    page: int = 1,
    window: OcrWindow = OcrWindow(),
    options: OcrOptions = OcrOptions(),
    engine: OcrEngine | None = None,
) -> list[Word]:
    """OCR around the detector's boxes (page pixels) only; words in page pixels.

    A word cut by a window's inner edge (text running on outside the window) is dropped unless it
    overlaps one of the boxes themselves: a half-read label would mislead, a value is kept whole
    or in part. When the windows would cover most of the page the page is read once instead.
    """
    engine = engine or get_engine()
    height, width = bgr.shape[:2]
    targets = [as_box(b) for b in boxes]
    crops = windows(targets, width, height, window)
    if not crops:
        return []
    area = sum((x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in crops)
    if area > window.whole_page_share * width * height:
        return ocr_page(bgr, page=page, options=options, engine=engine)
    out: list[Word] = []
    for x1, y1, x2, y2 in crops:
        lines = engine.lines(np.ascontiguousarray(bgr[y1:y2, x1:x2]), options)
        for word in _to_words(lines, page=page, dx=x1, dy=y1):
            on_a_box = any(_overlaps(word.box, t) for t in targets)
            if not on_a_box and _cut(word.box, (x1, y1, x2, y2), width, height):
                continue
            out.append(word)
    return out


def _cut(box: Box, window: tuple[int, int, int, int], width: int, height: int) -> bool:
    """Whether the box touches an edge of the window that is not the page's edge."""
    x1, y1, x2, y2 = window
    tol = CUT_TOLERANCE_PX
    return (
        (x1 > 0 and box.x1 <= x1 + tol)
        or (y1 > 0 and box.y1 <= y1 + tol)
        or (x2 < width and box.x2 >= x2 - tol)
        or (y2 < height and box.y2 >= y2 - tol)
    )


def _overlaps(a: Box, b: Box) -> bool:
    return min(a.x2, b.x2) > max(a.x1, b.x1) and min(a.y2, b.y2) > max(a.y1, b.y1)
