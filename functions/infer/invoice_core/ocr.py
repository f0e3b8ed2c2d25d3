"""Page pixels -> words, by OCR: RapidOCR (PP-OCRv6 detection + recognition, ONNX) on onnxruntime.

Only the models inside the rapidocr wheel are used. Each model's path is given explicitly, which
skips rapidocr's fetch-and-verify step altogether: nothing is downloaded, or even hashed, at run
time (site-packages is read-only in Lambda anyway). The engine is built on first use, once per
process, behind a lock.

rapidocr keeps per-call options on the engine instance (`engine(img, use_det=False)` leaves
detection off for every later call), so every call here passes all of them, and calls are
serialised: onnxruntime already spreads one call over the cores.

`read_lines` (the default read of a scan) reads only around the detector's boxes: each box, a strip
to its left on its own rows (the label) and a few text heights above it (a header cell). It finds
the text lines there from the ink itself (a row projection profile) and hands each line straight to
the recogniser in one batch, without the text detector; only a band too tall to be one line goes
through detection. `read_regions` (detection on widened, merged windows) and `read_page` (the whole
page, the fallback) remain. All return words in page pixels.
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

import cv2
import numpy as np

from invoice_core.words import Box, Word

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
# Not set here (rapidocr's defaults stay): a recognition batch of 8 and a narrowest recogniser input
# of 96 px instead of 320 (less padding on short labels) were tried only together with `read_lines`,
# whose accuracy fell; their effect on accuracy alone is unmeasured.

BoxLike = Box | Sequence[float]  # Box, or (x1, y1, x2, y2) in page pixels


@dataclass(frozen=True)
class OcrOptions:
    """Per-call settings; all of them reach rapidocr on every call (see the module docstring)."""

    text_score: float = 0.5  # lines the recogniser is less sure of are dropped (rapidocr's default)
    box_thresh: float = 0.5  # detector: the least mean score of a text box
    unclip_ratio: float = 1.6  # detector: how far a text box is grown around its core
    use_cls: bool = False  # the 180-degree line classifier: pages arrive upright (EXIF is applied)
    word_boxes: bool = True  # split each line into words with their own boxes


@dataclass(frozen=True)
class Context:
    """How far each detector box is widened before reading, as fractions of the page's width and
    height: labels sit to the left of their values ("Fakturanr:   10423") or above them."""

    left: float = 0.25
    up: float = 0.03
    right: float = 0.01
    down: float = 0.01
    whole_page_share: float = 0.6  # windows covering more of the page than this: read the page once


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

    def recognise(
        self, crops: Sequence[np.ndarray], boxes: Sequence[Box], options: OcrOptions = OcrOptions()
    ) -> list[TextLine]:
        """Read each crop as one text line (no detection); `boxes` say where each crop lies (their
        frame is the lines' and words' frame). Lines below `options.text_score` or empty are dropped."""
        if not crops:
            return []
        from rapidocr.ch_ppocr_rec import TextRecInput  # noqa: PLC0415 - with the engine, not at import

        quads = np.array(
            [[[b.x1, b.y1], [b.x2, b.y1], [b.x2, b.y2], [b.x1, b.y2]] for b in boxes], np.float32
        )
        with self._lock:
            result = self._engine.text_rec(TextRecInput(img=list(crops), return_word_box=options.word_boxes))
            if options.word_boxes:
                # rapidocr's own word placement (CTC columns -> boxes), into the frame of `boxes`
                result = self._engine.cal_rec_boxes(list(crops), quads, result, False)
        word_results = list(result.word_results or ()) if options.word_boxes else []
        out: list[TextLine] = []
        for i, (box, text, score) in enumerate(zip(boxes, result.txts or (), result.scores, strict=True)):
            if not text.strip() or score < options.text_score:
                continue
            entry = word_results[i] if i < len(word_results) else ()
            parsed = [(str(t), float(s), q) for t, s, q in (entry or ()) if q is not None]
            words: tuple[tuple[str, float, Box], ...] = ()
            if parsed and [t for t, _, _ in parsed] == text.split():
                words = tuple((t, s, _quad_box(q)) for t, s, q in parsed)
            out.append(TextLine(text=text.strip(), box=box, score=float(score), words=words))
        return out


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


def read_page(
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
    boxes: Iterable[BoxLike], width: int, height: int, context: Context = Context()
) -> list[tuple[int, int, int, int]]:
    """The crops to read: each box widened by `context`, clipped to the page, overlapping ones
    merged (so that no text is read twice); integer pixel edges, x2/y2 exclusive."""
    rects = []
    for raw in boxes:
        b = as_box(raw)
        x1 = max(0, math.floor(b.x1 - context.left * width))
        y1 = max(0, math.floor(b.y1 - context.up * height))
        x2 = min(width, math.ceil(b.x2 + context.right * width))
        y2 = min(height, math.ceil(b.y2 + context.down * height))
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


def read_regions(
    bgr: np.ndarray,
    boxes: Iterable[BoxLike],
    *,
    page: int = 1,
    context: Context = Context(),
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
    crops = windows(targets, width, height, context)
    if not crops:
        return []
    area = sum((x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in crops)
    if area > context.whole_page_share * width * height:
        return read_page(bgr, page=page, options=options, engine=engine)
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


# --- reading lines found in the ink, without the text detector ---------------------------------------


@dataclass(frozen=True)
class LineContext:
    """What `read_lines` reads around each detector box: the box, a strip to its left on the box's
    own rows (labels sit left of their values: "Fakturanr:   10423") and a strip above it (a header
    cell over its value), both cut at the first ink gap so that no line is read in part."""

    left: float = 0.25  # the strip to the left, as a share of the page's width
    above: float = 2.5  # the strip above, in text heights (resolve.BELOW_REACH: how far a cell reaches)
    margin: float = 0.6  # the box grown by this many text heights (detector boxes hug or clip the ink)
    split_gap: float = 2.0  # a gap this many text heights wide splits a line into segments (columns)
    tall: float = 1.8  # a band this many text heights tall is more than one line: detect in it
    min_ink: int = 2  # ink pixels a row (column) needs to count as text
    text_height: float = 0.012  # the text height assumed before any is measured, share of page height


def ink_mask(bgr: np.ndarray) -> np.ndarray:
    """Dark-on-light ink as a bool mask: a local threshold, so shading, photo light falloff and
    grey paper do not count as ink."""
    grey = bgr if bgr.ndim == 2 else cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    mask = cv2.adaptiveThreshold(grey, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 18)
    return mask.astype(bool)


def runs_of(profile: np.ndarray, min_value: int, max_gap: int = 1) -> list[tuple[int, int]]:
    """[start, end) of the stretches where `profile >= min_value`, joining stretches `max_gap` or
    fewer entries apart (a thin stroke gap inside a glyph row is not a line gap)."""
    on = np.flatnonzero(profile >= min_value)
    if on.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(on) > max_gap + 1)
    starts = np.concatenate(([on[0]], on[breaks + 1]))
    ends = np.concatenate((on[breaks], [on[-1]])) + 1
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def text_bands(
    mask: np.ndarray, min_ink: int = 2, min_height: int = 4, line_height: float | None = None
) -> list[tuple[int, int]]:
    """The text lines of a crop's ink mask, top to bottom: [y1, y2) of each horizontal band of ink
    (the row projection profile); bands thinner than `min_height` (rules, specks) are dropped. With
    `line_height`, a band over 1.5 of it is split at its faintest row where that row has under a
    quarter of the band's typical ink (two lines whose descenders and ascenders touch)."""
    profile = mask.sum(axis=1)
    out: list[tuple[int, int]] = []
    pending = [(a, b) for a, b in runs_of(profile, min_ink) if b - a >= min_height]
    while pending:
        a, b = pending.pop(0)
        if line_height and b - a > 1.5 * line_height:
            inner = profile[a + min_height : b - min_height]
            if inner.size:
                cut = a + min_height + int(np.argmin(inner))
                if profile[cut] < 0.25 * np.median(profile[a:b]):
                    pending[:0] = [(a, cut), (cut + 1, b)]
                    continue
        out.append((a, b))
    return out


def segments(mask: np.ndarray, gap: int, min_ink: int = 1) -> list[tuple[int, int]]:
    """[x1, x2) of the ink of one band, split where a gap of `gap` or more empty columns lies."""
    return runs_of(mask.sum(axis=0), min_ink, max_gap=max(gap - 1, 1))


@dataclass(frozen=True)
class Segment:
    """One stretch of one text line to recognise, in page pixels (x2/y2 exclusive)."""

    x1: int
    y1: int
    x2: int
    y2: int
    keep_cut: bool  # overlaps a detector box: kept even where a window edge cuts it

    @property
    def box(self) -> Box:
        return Box(float(self.x1), float(self.y1), float(self.x2), float(self.y2))


def box_segments(
    mask: np.ndarray, target: Box, ctx: LineContext, text_h: float
) -> tuple[list[Segment], list[Rect]]:
    """What to read for one detector box, in page pixels: the segments of its lines with the
    nearest segment to the left of it on each (its label), and the nearest line above it, where it
    lies over the box (a header cell); plus the bands too tall to be one line.

    Bands and segments are found in windows wider than what is kept, and one that touches a window
    edge inside the page is text running on outside it: dropped unless it overlaps the box (a
    half-read label would mislead)."""
    height, width = mask.shape
    m = ctx.margin * text_h
    gap = max(3, round(ctx.split_gap * text_h))
    segs: list[Segment] = []
    tall: list[Rect] = []
    main = _clip((target.x1 - ctx.left * width, target.y1 - m, target.x2 + m, target.y2 + m), width, height)
    if main is not None:
        for (x1, y1, x2, y2), cut_x in _segments_in(
            mask, main, gap, ctx.min_ink, keep=target, line_height=text_h
        ):
            on_box = x1 < target.x2 and target.x1 < x2
            left_of = [s for s in segs if s.y1 == y1 and s.x2 <= target.x1]
            if not on_box and (cut_x or any(s.x1 > x1 for s in left_of)):
                continue  # only the nearest segment left of the box is its label
            if not on_box:
                segs = [s for s in segs if not (s.y1 == y1 and s.x2 <= target.x1)]  # a nearer one came
            if y2 - y1 > ctx.tall * text_h:
                tall.append((x1, y1, x2, y2))
            else:
                segs.append(Segment(x1, y1, x2, y2, on_box))
    reach = (ctx.above + 1) * text_h + m  # the whole of a label whose top is `above` heights up
    wide = 0.1 * width
    above = _clip((target.x1 - wide, target.y1 - reach, target.x2 + wide, target.y1), width, height)
    if above is not None:
        found = [
            (r, cut)
            for r, cut in _segments_in(mask, above, gap, ctx.min_ink, keep=None, line_height=text_h)
            if not cut
        ]
        over = [r for r, _ in found if r[0] < target.x2 + text_h and target.x1 - text_h < r[2]]
        if over:
            nearest = max(r[1] for r in over)
            for x1, y1, x2, y2 in over:
                if y1 == nearest and y2 - y1 <= ctx.tall * text_h:
                    segs.append(Segment(x1, y1, x2, y2, False))
    return segs, tall


Rect = tuple[int, int, int, int]


def _clip(rect: tuple[float, float, float, float], width: int, height: int) -> Rect | None:
    x1, y1 = max(0, math.floor(rect[0])), max(0, math.floor(rect[1]))
    x2, y2 = min(width, math.ceil(rect[2])), min(height, math.ceil(rect[3]))
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


def _segments_in(
    mask: np.ndarray, rect: Rect, gap: int, min_ink: int, *, keep: Box | None, line_height: float
) -> list[tuple[Rect, bool]]:
    """The segments of a window's lines (page pixels), left to right per line, top to bottom, each
    with whether a side edge of the window cuts it. Lines cut by the top or bottom edge are left
    out unless they overlap `keep`'s rows."""
    height, width = mask.shape
    x1, y1, x2, y2 = rect
    sub = mask[y1:y2, x1:x2]
    out: list[tuple[Rect, bool]] = []
    for a, b in text_bands(sub, min_ink, line_height=line_height):
        top, bottom = y1 + a, y1 + b
        if b - a < 0.5 * line_height:
            continue  # a rule or a speck, not a line of text
        cut_y = (a == 0 and y1 > 0) or (b == y2 - y1 and y2 < height)
        if cut_y and (keep is None or not (keep.y1 < bottom and top < keep.y2)):
            continue
        for c, d in segments(sub[a:b], gap):
            cut_x = (c == 0 and x1 > 0) or (d == x2 - x1 and x2 < width)
            out.append(((x1 + c, top, x1 + d, bottom), cut_x))
    return out


def dedupe(items: Iterable[Segment]) -> list[Segment]:
    """Segments read from overlapping windows, merged where they cover the same ink (the same
    stretch of a line is read once); top to bottom, left to right."""
    merged: list[Segment] = []
    for s in sorted(items, key=lambda s: (s.y1, s.x1)):
        for i, m in enumerate(merged):
            overlap_y = min(s.y2, m.y2) - max(s.y1, m.y1)
            if overlap_y > 0.5 * min(s.y2 - s.y1, m.y2 - m.y1) and s.x1 < m.x2 and m.x1 < s.x2:
                merged[i] = Segment(
                    min(s.x1, m.x1),
                    min(s.y1, m.y1),
                    max(s.x2, m.x2),
                    max(s.y2, m.y2),
                    s.keep_cut or m.keep_cut,
                )
                break
        else:
            merged.append(s)
    return sorted(merged, key=lambda s: (s.y1, s.x1))


def read_lines(
    bgr: np.ndarray,
    boxes: Iterable[BoxLike],
    *,
    page: int = 1,
    context: LineContext = LineContext(),
    options: OcrOptions = OcrOptions(),
    engine: OcrEngine | None = None,
) -> list[Word]:
    """OCR around the detector's boxes (page pixels) by lines found in the ink; words in page pixels.

    The text height is measured on the boxes themselves (the median band), so the strips scale
    with the print. Bands taller than one line (skewed photos, logos, touching lines) are read by
    detection in their own crop."""
    engine = engine or get_engine()
    height, width = bgr.shape[:2]
    targets = [as_box(b) for b in boxes]
    if not targets:
        return []
    mask = ink_mask(bgr)
    text_h = _text_height(mask, targets, context)
    found: list[Segment] = []
    tall: list[Rect] = []
    for target in targets:
        got, high = box_segments(mask, target, context, text_h)
        found += got
        tall += high
    segs = dedupe(found)
    pad_y, pad_x = max(2, round(0.25 * text_h)), max(3, round(0.5 * text_h))
    crops, where = [], []
    for s in segs:
        x1, y1 = max(0, s.x1 - pad_x), max(0, s.y1 - pad_y)
        x2, y2 = min(width, s.x2 + pad_x), min(height, s.y2 + pad_y)
        crops.append(np.ascontiguousarray(bgr[y1:y2, x1:x2]))
        where.append(Box(float(x1), float(y1), float(x2), float(y2)))
    out = _to_words(engine.recognise(crops, where, options), page=page)
    for r in _merge_rects(tall):
        x1, y1 = max(0, r[0] - pad_x), max(0, r[1] - pad_y)
        x2, y2 = min(width, r[2] + pad_x), min(height, r[3] + pad_y)
        lines = engine.lines(np.ascontiguousarray(bgr[y1:y2, x1:x2]), options)
        out += _to_words(lines, page=page, dx=x1, dy=y1)
    return out


def _text_height(mask: np.ndarray, targets: Sequence[Box], ctx: LineContext) -> float:
    """The median height of the bands inside the boxes (one line of print), within reason."""
    height = mask.shape[0]
    guess = ctx.text_height * height
    bands = []
    for b in targets:
        sub = mask[max(0, int(b.y1)) : max(0, math.ceil(b.y2)), max(0, int(b.x1)) : max(0, math.ceil(b.x2))]
        bands += [y2 - y1 for y1, y2 in text_bands(sub, ctx.min_ink)]
    if not bands:
        return guess
    return float(min(max(np.median(bands), 0.5 * guess), 3.0 * guess))


def _merge_rects(rects: Iterable[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Overlapping rectangles as their unions (a tall band seen from two windows is read once)."""
    out: list[list[int]] = []
    for r in sorted(rects):
        for m in out:
            if r[0] < m[2] and m[0] < r[2] and r[1] < m[3] and m[1] < r[3]:
                m[:] = [min(r[0], m[0]), min(r[1], m[1]), max(r[2], m[2]), max(r[3], m[3])]
                break
        else:
            out.append(list(r))
    return [(a, b, c, d) for a, b, c, d in out]
