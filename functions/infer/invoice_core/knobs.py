"""Every knob of the core, with its one default: budgets, detection defaults, how pages are read.

The adapters build these from their settings (`serving.settings.Settings` defaults its fields from
here and adds only what a deployment changes). Plain frozen dataclasses: no imports beyond the
standard library, so any module may use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_DET_LIMIT = 300  # the end-to-end head emits 300 rows; Ultralytics' default max_det


@dataclass(frozen=True)
class RenderBudget:
    """What one PDF's render and text-layer read may cost: the limits of the child process."""

    cpu_s: int = 10  # RLIMIT_CPU of the child (whole seconds; SIGXCPU ends it)
    wall_s: float = 15.0  # the parent kills the child after this long, whatever it is doing
    memory_mb: int = 512  # address space the child may add to what it inherits (RLIMIT_AS)


@dataclass(frozen=True)
class Limits:
    """Budgets and detection defaults of one deployment."""

    max_pixels: int = 50_000_000  # ONE budget per document: decoded or rendered pixels, all pages
    pdf_dpi: int = 150  # the frame boxes are reported in; pages are never rendered finer
    pdf_max_pages: int = 10
    # Pages are drawn with the long side at most this multiple of the model's input side (detection
    # needs no more; a 150-DPI A4 page is 2.7x a 640 input). 0: at pdf_dpi, for a reader (OCR)
    # that needs every pixel.
    pdf_render_multiple: float = 2.0
    pdf_render: RenderBudget = field(default_factory=RenderBudget)  # CPU, wall clock, memory of a render
    default_conf: float = 0.25
    nms_iou: float = 0.7  # Ultralytics' predict default
    reduced_decode: bool = False

    def pdf_max_side(self, imgsz: tuple[int, int]) -> int | None:
        """The long side, in pixels, pages are rendered at most (None: at pdf_dpi)."""
        return max(1, round(self.pdf_render_multiple * max(imgsz))) if self.pdf_render_multiple else None


@dataclass(frozen=True)
class TextPolicy:
    """When a page's text layer is used instead of OCR."""

    min_chars: int = 30  # visible characters with a Unicode value; fewer: a scan (or a stamp on one)
    max_unmapped_share: float = 0.1  # more characters without a real Unicode value: garbage text


@dataclass(frozen=True)
class OcrOptions:
    """Per-call OCR settings; all of them reach rapidocr on every call (`invoice_core.read.ocr`)."""

    text_score: float = 0.5  # lines the recogniser is less sure of are dropped (rapidocr's default)
    box_thresh: float = 0.5  # detector: the least mean score of a text box
    unclip_ratio: float = 1.6  # detector: how far a text box is grown around its core
    use_cls: bool = False  # the 180-degree line classifier: pages arrive upright (EXIF is applied)
    word_boxes: bool = True  # split each line into words with their own boxes


@dataclass(frozen=True)
class OcrWindow:
    """How far each detector box is widened into the window OCR reads, as fractions of the page's
    width and height: labels sit to the left of their values ("Fakturanr:   10423") or above them."""

    left: float = 0.25
    up: float = 0.03
    right: float = 0.01
    down: float = 0.01
    whole_page_share: float = 0.6  # windows covering more of the page than this: read the page once


@dataclass(frozen=True)
class ReadPolicy:
    """How pages are read."""

    text: TextPolicy = field(default_factory=TextPolicy)
    window: OcrWindow = field(default_factory=OcrWindow)
    options: OcrOptions = field(default_factory=OcrOptions)
    whole_page_without_regions: bool = True  # no detections on a page: OCR all of it (else: no words)
    # Scanned pages read whole, at most, per document (`invoice_core.read.values`): page 1 at once
    # when the detector did not propose every expected key row, later ones when a key field is still
    # missing after their windows. The detector misses rows of layouts it never saw; the label words
    # still name them.
    fallback_pages: int = 2
    # Line items on scans: their region is most of an invoice's text lines and most of a read's OCR
    # time, so rows are read from OCR only when asked; a text layer gives them for free.
    ocr_line_items: bool = False
    ocr_threads: int | None = None  # OCR's ONNX Runtime threads (None: rapidocr's default)
