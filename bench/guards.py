"""`python -m bench.guards`: every input guard of POST /infer against the probe that motivated it.

Each probe is built here (a few bytes to a few KB, like the attacker's), written to a temporary
file, then sent through the real handler (`serving.handler.lambda_handler`, warm: one small JPEG
first) in a FRESH Python process, so each peak RSS is that probe's alone. Reported per probe: the
status and error code, the wall time of the call, and the peak RSS of the process (ru_maxrss) and
of its PDF render child (RUSAGE_CHILDREN). Prints a Markdown table (docs/hardening.md holds one).

The builders are also what the unit tests use, with small sizes.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
A4_PT = (595, 842)
FILL_PAGE = b"0 0 595 842 re f\n"  # one filled A4 rectangle: cheap to write, costly to draw many times


# ------------------------------------------------------------------------------------ the builders


def pdf_document(pages: list[tuple[float, float, bytes]], *, count: int | None = None) -> bytes:
    """A minimal PDF: one page per (width pt, height pt, content stream), Flate-compressed.
    `count` overrides the page tree's /Count (a lie about the number of pages)."""
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    total = len(pages) if count is None else count
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {total} >>".encode(),
    ]
    for i, (width, height, content) in enumerate(pages):
        page = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:g} {height:g}] /Contents {4 + 2 * i} 0 R >>"
        )
        stream = zlib.compress(content, 9)
        bodies.append(page.encode())
        bodies.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(bodies) + 1, xref)
    return bytes(out)


def operator_bomb(repeats: int) -> bytes:
    """One A4 page whose content stream inflates to `repeats` full-page fills (20,000: 1.3 KB)."""
    return pdf_document([(*A4_PT, FILL_PAGE * repeats)])


def huge_pages(pages: int = 10, megapixels: float = 49.9, dpi: int = 150) -> bytes:
    """`pages` square pages of `megapixels` each at `dpi`, under a per-page cap of 50 Mpx (~2 KB)."""
    side_pt = math.sqrt(megapixels * 1e6) * 72.0 / dpi
    return pdf_document([(side_pt, side_pt, b"0 0 m 100 100 l S\n")] * pages)


def count_lie(pages: int = 1, count: int = 5) -> bytes:
    """A PDF whose page tree says `count` pages but holds `pages`."""
    return pdf_document([(*A4_PT, b"0 0 m 100 100 l S\n")] * pages, count=count)


def rgba_webp(side: int = 7000) -> bytes:
    """A lossless all-transparent RGBA WebP of side x side (7000: 1.9 KB for 49 Mpx)."""
    from PIL import Image  # noqa: PLC0415

    buffer = io.BytesIO()
    Image.new("RGBA", (side, side), (0, 0, 0, 0)).save(buffer, format="WEBP", lossless=True)
    return buffer.getvalue()


def rgba_png16(side: int = 5000) -> bytes:
    """A 16-bit RGBA PNG of side x side, half transparent (5000: 25 Mpx, 200 MB decoded)."""
    import cv2  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    pixels = np.full((side, side, 4), 30000, dtype=np.uint16)
    pixels[:, :, 3] = 32768
    ok, buffer = cv2.imencode(".png", pixels)
    assert ok
    return buffer.tobytes()


# ------------------------------------------------------------------------------------ the probes


@dataclass(frozen=True)
class Probe:
    name: str
    guard: str  # what it exercises
    build: Callable[[], bytes]
    content_type: str
    accept: str = "application/json"
    env: dict[str, str] = field(default_factory=dict)


def _jpeg_page() -> bytes:
    from bench import samples  # noqa: PLC0415

    return samples.encode(samples.invoice_page(seed=3, dpi=150), "jpeg", quality=85)


def _two_page_pdf() -> bytes:
    from bench import samples  # noqa: PLC0415

    return samples.pdf([samples.invoice_page(seed, 150) for seed in (1, 2)], dpi=150)


def _bomb_png() -> bytes:
    from bench import samples  # noqa: PLC0415

    return samples.png_bomb_header()


PROBES = (
    Probe("jpeg A4 150 DPI (baseline)", "-", _jpeg_page, "image/jpeg"),
    Probe("pdf 2 pages A4 (baseline)", "render child", _two_page_pdf, "application/pdf"),
    Probe("pdf 2 pages A4, annotated", "annotated output", _two_page_pdf, "application/pdf", "image/jpeg"),
    Probe("png header 100000x100000", "pixel budget (header)", _bomb_png, "image/png"),
    Probe("webp RGBA 7000x7000", "alpha without float copies", rgba_webp, "image/webp"),
    Probe("png 16-bit RGBA 5000x5000", "16-bit without float copies", rgba_png16, "image/png"),
    Probe("pdf 10 pages x 49.9 Mpx", "render scale", huge_pages, "application/pdf"),
    Probe(
        "pdf 10 pages x 49.9 Mpx, annotated", "annotated output", huge_pages, "application/pdf", "image/jpeg"
    ),
    Probe(
        "pdf 10 x 49.9 Mpx at full DPI",
        "pixel budget (all pages)",
        huge_pages,
        "application/pdf",
        env={"PDF_RENDER_MULTIPLE": "0"},
    ),
    Probe("pdf /Count 5, 1 page", "page tree", count_lie, "application/pdf"),
    Probe("pdf fill bomb 1.3 KB", "render CPU time", lambda: operator_bomb(20_000), "application/pdf"),
    Probe("pdf fill bomb 175 KB", "render memory", lambda: operator_bomb(4_200_000), "application/pdf"),
    Probe(
        "pdf fill bomb 1.3 KB, 3 s wall",
        "render wall clock",
        lambda: operator_bomb(20_000),
        "application/pdf",
        env={"PDF_RENDER_TIMEOUT_S": "3"},
    ),
)


# ------------------------------------------------------------------------------------ one probe


def _event(data: bytes, content_type: str, accept: str) -> dict[str, Any]:
    from bench import samples  # noqa: PLC0415 - as the builders above

    event = json.loads((ROOT / "events" / "infer_jpeg.json").read_text(encoding="utf-8"))
    return samples.with_binary_body(event, data, content_type, accept)


def _probe(path: Path, content_type: str, accept: str) -> dict[str, Any]:
    """In this (fresh) process: import the handler, warm it, then time the probe."""

    @dataclass
    class Context:
        function_name: str = "InferFunction"
        memory_limit_in_mb: int = 2048
        invoked_function_arn: str = "arn:aws:lambda:eu-north-1:123456789012:function:InferFunction"
        aws_request_id: str = "bench"

    with contextlib.redirect_stdout(io.StringIO()):  # Powertools logs and EMF metrics
        from serving import handler  # noqa: PLC0415

        warm = (ROOT / "events" / "infer_jpeg.json").read_text(encoding="utf-8")
        handler.lambda_handler(json.loads(warm), Context())
        data = path.read_bytes()
        event = _event(data, content_type, accept)
        started = time.perf_counter()
        answer = handler.lambda_handler(event, Context())
        wall = time.perf_counter() - started
    body = answer.get("body") or ""
    if answer.get("isBase64Encoded"):
        code, out_bytes = "-", len(base64.b64decode(body))
    else:
        parsed = json.loads(body)
        code, out_bytes = parsed.get("error", "-"), len(body)
    return {
        "status": answer["statusCode"],
        "code": code,
        "message": json.loads(body).get("message", "") if code != "-" else "",
        "bytes_in": len(data),
        "bytes_out": out_bytes,
        "wall_s": round(wall, 2),
        "rss_mb": _peak_rss_mb(),
        "child_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


def _peak_rss_mb() -> int:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries the launching process's RSS
    over exec into it, so every probe would show the parent's size."""
    status = Path("/proc/self/status").read_text(encoding="ascii")
    line = next(row for row in status.splitlines() if row.startswith("VmHWM:"))
    return round(int(line.split()[1]) / 1024)


def _render_cost(path: Path, rounds: int = 15) -> dict[str, Any]:
    """Median time to render a normal PDF in-process and in the limited child (what isolation costs)."""
    import statistics  # noqa: PLC0415

    from invoice_core.detect.pdf import RenderBudget, render_pdf  # noqa: PLC0415

    data = path.read_bytes()
    times: dict[str, list[float]] = {"in_process_ms": [], "child_ms": []}
    for _ in range(rounds):
        for key, budget in (("in_process_ms", None), ("child_ms", RenderBudget())):
            started = time.perf_counter()
            render_pdf(data, dpi=150, max_pages=10, max_pixels=50_000_000, max_side=1280, budget=budget)
            times[key].append((time.perf_counter() - started) * 1000.0)
    return {key: round(statistics.median(values[1:]), 1) for key, values in times.items()}


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    paths = [ROOT, ROOT / "functions" / "common", ROOT / "functions" / "infer"]
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), env.get("PYTHONPATH", "")])
    env.update(
        {
            "MODEL_PATH": str(ROOT / "models" / "demo" / "model.onnx"),
            "POWERTOOLS_SERVICE_NAME": "infer",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
            "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION", "eu-north-1"),
        }
    )
    env.update(extra)
    return env


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Every probe in its own process; returns the rows (and prints the table)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="guards-") as tmp:
        for probe in PROBES:
            path = Path(tmp) / "probe.bin"
            path.write_bytes(probe.build())
            argv = [
                sys.executable,
                "-m",
                "bench.guards",
                "--probe",
                str(path),
                probe.content_type,
                probe.accept,
            ]
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                check=False,
                cwd=ROOT,
                env=_environment(probe.env),
                timeout=120,
            )
            if done.returncode != 0:
                raise SystemExit(f"{probe.name}: probe failed\n{done.stderr[-3000:]}")
            row = {
                "probe": probe.name,
                "guard": probe.guard,
                **json.loads(done.stdout.strip().splitlines()[-1]),
            }
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
        path = Path(tmp) / "normal.pdf"
        path.write_bytes(_two_page_pdf())
        argv = [sys.executable, "-m", "bench.guards", "--render-cost", str(path)]
        done = subprocess.run(
            argv, capture_output=True, text=True, check=True, cwd=ROOT, env=_environment({})
        )
        cost = json.loads(done.stdout.strip().splitlines()[-1])
    print(table(rows))
    print(
        f"\nA normal 2-page A4 PDF (150 DPI scan, rendered at 1280 px long side), median of 14: "
        f"{cost['in_process_ms']} ms in-process, {cost['child_ms']} ms in the limited child."
    )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of docs/hardening.md."""
    lines = [
        "| probe | bytes in | guard | answer | wall (s) | peak RSS (MB) | render child peak (MB) |",
        "|---|---:|---|---|---:|---:|---:|",
    ]
    for row in rows:
        answer = f"{row['status']} {row['code']}" if row["code"] != "-" else f"{row['status']}"
        child = row["child_rss_mb"] or "-"
        lines.append(
            f"| {row['probe']} | {row['bytes_in']:,} | {row['guard']} | {answer} | {row['wall_s']} "
            f"| {row['rss_mb']} | {child} |"
        )
    return "\n".join(lines)


def main() -> None:
    """CLI."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--probe", nargs=3, metavar=("FILE", "CONTENT_TYPE", "ACCEPT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--render-cost", metavar="PDF", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.render_cost:
        print(json.dumps(_render_cost(Path(args.render_cost))))
        return
    if args.probe:
        print(json.dumps(_probe(Path(args.probe[0]), args.probe[1], args.probe[2])))
        return
    started = time.perf_counter()
    run()
    print(f"\n({len(PROBES)} probes, {time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
