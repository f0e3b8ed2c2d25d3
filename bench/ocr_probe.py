"""`python -m bench.ocr_probe [--runs 3]`: what reading a page costs (not part of CI).

Each run is a fresh process (so engine init is a cold start): engine init (import + models), OCR of
a whole synthetic A4 invoice page at 150 and 200 DPI, OCR of the same 150-DPI page around its ~10
field boxes (default context: windows merge; tight context: one window per box), and the text layer
of a born-digital A4 PDF page. The parent prints every run and the median of each figure, plus the
installed size of rapidocr and its dependencies.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

# rapidocr's runtime dependencies; (already in the image): serving needed them before OCR
OCR_DISTRIBUTIONS = ("rapidocr", "pyclipper", "shapely", "omegaconf", "PyYAML", "colorlog", "six", "tqdm")
OCR_DOWNLOADER_ONLY = ("requests", "urllib3", "idna", "charset-normalizer", "certifi")
ALREADY_SERVING = ("onnxruntime", "opencv-python-headless", "numpy", "pillow")


def _born_digital_pdf() -> bytes:
    """An A4 page of invoice-like text (about 60 lines, ~2,500 characters), TrueType fonts embedded."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("pdf")
    matplotlib.rcParams["pdf.fonttype"] = 42
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig = plt.figure(figsize=(8.27, 11.69))
    for row in range(60):
        y = 0.95 - row * 0.015
        fig.text(0.08, y, f"Rad {row}: Städtjänst kontor, vecka {row % 52 + 1}", fontsize=9)
        fig.text(0.62, y, f"{row + 1} st  {125.5 * (row + 1):,.2f} kr  Moms 25%", fontsize=9)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="pdf")
    plt.close(fig)
    return buffer.getvalue()


def _median_time(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(out: dict[str, float], name: str, fn) -> object:
    """Wall and CPU seconds of `fn()` (CPU / threads is what it would take uncontended), peak RSS."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    out[f"{name}_s"] = time.perf_counter() - wall
    out[f"{name}_cpu_s"] = time.process_time() - cpu
    out[f"{name}_peak_rss_mb"] = _rss_mb()
    return result


def once() -> dict[str, float]:
    """One cold run; seconds unless named otherwise."""
    import cv2  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    from bench.samples import a4_size, invoice_page  # noqa: PLC0415
    from devkit.synth import render_invoice  # noqa: PLC0415
    from invoice_core.knobs import OcrWindow  # noqa: PLC0415
    from invoice_core.read import ocr  # noqa: PLC0415
    from invoice_core.read.textlayer import read_text_layer  # noqa: PLC0415

    out: dict[str, float] = {}
    page150, page200 = invoice_page(0, 150), invoice_page(0, 200)
    width, height = a4_size(150)
    synthetic = render_invoice(0, width=width, height=height, scanned=False)
    assert np.array_equal(
        cv2.cvtColor(np.asarray(synthetic.image.convert("RGB")), cv2.COLOR_RGB2BGR), page150
    )
    boxes = [(b.x1, b.y1, b.x2, b.y2) for b in synthetic.boxes]
    pdf = _born_digital_pdf()

    out["rss_before_mb"] = _rss_mb()
    _timed(out, "engine_init", ocr.warm_up)
    words = _timed(out, "page_150dpi", lambda: ocr.ocr_page(page150))
    out["page_150dpi_words"] = len(words)  # type: ignore[arg-type]
    out["regions"] = len(boxes)
    out["regions_windows_default"] = len(ocr.windows(boxes, width, height))
    _timed(out, "regions_default_context", lambda: ocr.read_regions(page150, boxes))
    tight = OcrWindow(left=0.01, up=0.005, right=0.005, down=0.005)
    out["regions_windows_tight"] = len(ocr.windows(boxes, width, height, tight))
    _timed(out, "regions_tight_context", lambda: ocr.read_regions(page150, boxes, context=tight))
    _timed(out, "page_200dpi", lambda: ocr.ocr_page(page200))
    started = time.perf_counter()
    layer = read_text_layer(pdf, 0, scale=150 / 72)
    out["text_layer_first_s"] = time.perf_counter() - started  # includes loading PDFium
    out["text_layer_chars"] = layer.chars
    out["text_layer_warm_s"] = _median_time(lambda: read_text_layer(pdf, 0, scale=150 / 72), 5)
    return out


def installed_sizes() -> dict[str, float]:
    """MB on disk of each distribution's installed files."""
    sizes = {}
    for name in OCR_DISTRIBUTIONS + OCR_DOWNLOADER_ONLY + ALREADY_SERVING:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        total = 0
        for file in dist.files or []:
            path = Path(dist.locate_file(file))
            if path.is_file():
                total += path.stat().st_size
        sizes[name] = round(total / 1e6, 1)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.once:
        print(json.dumps(once()))
        return
    runs = []
    for index in range(args.runs):
        done = subprocess.run(
            [sys.executable, "-m", "bench.ocr_probe", "--once"], check=True, capture_output=True, text=True
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"run {index + 1}: {runs[-1]}", flush=True)
    print("median of", len(runs), "runs:")
    for key in runs[0]:
        print(f"  {key:28s} {statistics.median(r[key] for r in runs):10.3f}")
    sizes = installed_sizes()
    ocr_total = sum(sizes.get(n, 0) for n in OCR_DISTRIBUTIONS)
    downloader = sum(sizes.get(n, 0) for n in OCR_DOWNLOADER_ONLY)
    print("installed MB:", sizes)
    print(f"  rapidocr + its runtime deps: {ocr_total:.1f} MB (+ requests and its deps {downloader:.1f} MB)")


if __name__ == "__main__":
    main()
