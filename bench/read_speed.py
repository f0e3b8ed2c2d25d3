"""`python -m bench.read_speed [--pages 12] [--rounds 1]`: what reading a scan's values costs, side by side.

Per page (held-out generator scans, sent as JPEG, the shipped model), interleaved call by call with
the order rotating, so that load on the shared cores lands on every contender alike:

- detect: decode + detections only (`invoice_core.pipeline.analyse`);
- values: detections + values (`read_fields`) read by lines found in the ink, recognised without
  the text detector (`ReadPolicy(by_lines=True)`, `ocr.read_lines`);
- values_windows: the same with serving's default read (detection in widened, merged windows);
- page_ocr: whole-page OCR of the same decoded page (`ocr.read_page`), decode not included.

Ratios are the result (values / page_ocr per page, then its p50); absolute times are notes.
Then, in fresh processes: the cold import of the handler (does it import OCR?) and what the first
OCR read costs (engine build included).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "demo" / "model.onnx"
SEED0 = 700_000  # bench.extraction's held-out seeds
MODES = ("detect", "values", "values_windows", "page_ocr")


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def warm(pages: int, rounds: int) -> dict[str, Any]:
    """Interleaved warm timings per mode, and per-page ratios to whole-page OCR."""
    from bench.extraction import scans  # noqa: PLC0415
    from invoice_core import extract, ocr, reading  # noqa: PLC0415
    from invoice_core.model import load_model  # noqa: PLC0415
    from invoice_core.pipeline import Document, analyse  # noqa: PLC0415
    from serving.settings import Settings  # noqa: PLC0415

    settings = Settings()
    model = load_model(MODEL, intra_op_threads=settings.intra_op_threads)
    ocr.warm_up(threads=settings.intra_op_threads)
    samples = list(scans("held_out", pages, SEED0))
    windows_policy = replace(reading.ReadPolicy(), by_lines=False)
    lines_policy = replace(reading.ReadPolicy(), by_lines=True)

    def values(data: bytes, policy: reading.ReadPolicy) -> dict[str, Any]:
        document = Document(data=data, kind="image")
        analysis = analyse(document, model, settings.limits)
        return extract.read_fields(analysis, document, pdf_dpi=settings.pdf_dpi, policy=policy)

    times: dict[str, list[float]] = {m: [] for m in MODES}
    ratios: dict[str, list[float]] = {"values": [], "values_windows": [], "detect": []}
    for round_ in range(rounds + 1):  # round 0 warms every path up and is not counted
        for index, sample in enumerate(samples):
            bgr = analyse(Document(data=sample.data, kind="image"), model, settings.limits).pages[0].image.bgr
            runs = {
                "detect": lambda s=sample: analyse(
                    Document(data=s.data, kind="image"), model, settings.limits
                ),
                "values": lambda s=sample: values(s.data, lines_policy),
                "values_windows": lambda s=sample: values(s.data, windows_policy),
                "page_ocr": lambda b=bgr: ocr.read_page(b),
            }
            shift = (round_ + index) % len(MODES)
            got: dict[str, float] = {}
            for mode in MODES[shift:] + MODES[:shift]:
                started = time.perf_counter()
                runs[mode]()
                got[mode] = (time.perf_counter() - started) * 1000.0
            if round_ == 0:
                continue
            for mode, ms in got.items():
                times[mode].append(ms)
            for mode, samples_ in ratios.items():
                samples_.append(got[mode] / got["page_ocr"])
            print(f"  {sample.name}: " + " ".join(f"{m} {got[m]:.0f}" for m in MODES), flush=True)
    return {
        "pages": len(samples),
        "rounds": rounds,
        "ms": {m: {"p50": statistics.median(t), "p90": _pct(t, 0.9), "n": len(t)} for m, t in times.items()},
        "ratio_to_page_ocr": {
            m: {"p50": statistics.median(r), "p90": _pct(r, 0.9)} for m, r in ratios.items()
        },
    }


COLD = r"""
import json, sys, time
t0 = time.perf_counter()
from serving import handler  # noqa: F401
t1 = time.perf_counter()
ocr_at_import = "rapidocr" in sys.modules
from bench.extraction import scans
from invoice_core.extract import read_fields
from invoice_core.pipeline import Document, analyse
sample = next(iter(scans("held_out", 1, 700_000)))
model = handler.MODELS.for_request()
t2 = time.perf_counter()
document = Document(data=sample.data, kind="image")
analysis = analyse(document, model, handler.SETTINGS.limits)
read_fields(analysis, document, pdf_dpi=handler.SETTINGS.pdf_dpi)
t3 = time.perf_counter()
analysis = analyse(document, model, handler.SETTINGS.limits)
read_fields(analysis, document, pdf_dpi=handler.SETTINGS.pdf_dpi)
t4 = time.perf_counter()
from invoice_core import ocr
print(json.dumps({"import_handler_s": t1 - t0, "ocr_imported_at_init": ocr_at_import,
                  "first_values_read_s": t3 - t2, "second_values_read_s": t4 - t3,
                  "engine_init_s": ocr.get_engine().init_s}))
"""


def cold(runs: int) -> dict[str, Any]:
    """Fresh processes: handler import (cold start) and the first values read of a scan."""
    out = []
    for _ in range(runs):
        env = {"MODEL_PATH": str(MODEL), "PATH": "/usr/bin:/bin", "POWERTOOLS_TRACE_DISABLED": "true"}
        done = subprocess.run(
            [sys.executable, "-c", COLD], cwd=REPO, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            return {"error": done.stderr[-1500:]}
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {
        k: statistics.median(r[k] for r in out) if not isinstance(out[0][k], bool) else any(r[k] for r in out)
        for k in out[0]
    } | {"runs": len(out)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args()
    result = {"warm": warm(args.pages, args.rounds), "cold": cold(args.cold_runs)}
    out = REPO / "build" / "read_speed.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
