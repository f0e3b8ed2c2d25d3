"""Inference benchmark: the serving handler vs Ultralytics vs bare ONNX Runtime, cold starts, memory,
installed size of the serving dependencies, and a bounded load run against the local API server.

Writes `docs/performance.md`, `docs/performance.png` and raw numbers in `build/bench/inference.json`.
Every contender runs in its own fresh process (bench.workers); the serving ones with .venv-serve's
interpreter (only functions/infer/requirements.txt installed) when it exists.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import samples
from bench.make_events import template_api
from devkit.local_api import build_event

REPO = Path(__file__).resolve().parents[1]
SERVE_PYTHON = REPO / ".venv-serve" / "bin" / "python"
WORK = REPO / "build" / "bench"
DOC = REPO / "docs" / "performance.md"
PLOT = REPO / "docs" / "performance.png"
TARGETS = {
    "speedup_vs_ultralytics": 3.0,
    "overhead_vs_session_run": 1.25,
    "cold_start_s": 0.5,
    "cold_speedup_vs_ultralytics": 4.0,
    "serving_deps_mb": 400.0,
    "peak_rss_mb": 300.0,
    "cold_start_fields_extra_s": 0.5,
}
# Lambda list prices, us-east-1, x86, as published on the AWS Lambda pricing page in 2025 (not re-checked).
LAMBDA_GB_S_USD = 0.0000166667
LAMBDA_REQUEST_USD = 0.20 / 1e6
LAMBDA_MB_PER_VCPU = 1769  # one full vCPU at 1,769 MB, linear in memory
# Managed invoice APIs, first-tier list price per page, as published on each vendor's pricing page in
# 2025 and not re-checked (this machine cannot reach them): only figures the authors are sure of.
MANAGED_APIS = [
    ("Amazon Textract AnalyzeExpense", 0.010, "aws.amazon.com/textract/pricing, first 1M pages/month"),
    ("Azure AI Document Intelligence, prebuilt invoice", 0.010,
     "azure.microsoft.com pricing, $10 per 1,000 pages, 0-1M tier"),
    ("Google Document AI Invoice Parser", 0.010, "cloud.google.com/document-ai/pricing, $0.10 per 10 pages"),
]  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """How much to run: `quick` keeps the whole benchmark around two minutes on 2 shared cores."""

    pages: int
    rounds: int
    warmup: int
    cold_runs: int
    load_clients: int
    load_requests: int
    load_seconds: float
    read_rounds: int

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:
            return cls(
                pages=4,
                rounds=3,
                warmup=2,
                cold_runs=3,
                load_clients=6,
                load_requests=90,
                load_seconds=45,
                read_rounds=4,
            )
        return cls(
            pages=6,
            rounds=8,
            warmup=3,
            cold_runs=5,
            load_clients=8,
            load_requests=400,
            load_seconds=90,
            read_rounds=10,
        )


# ------------------------------------------------------------------------------------------ inputs


def model_files() -> tuple[Path, Path, str]:
    """(model.onnx, best.pt, label): the shipped model, else the untrained dev export."""
    shipped = REPO / "models" / "demo"
    if (shipped / "model.onnx").is_file() and (shipped / "best.pt").is_file():
        return shipped / "model.onnx", shipped / "best.pt", "shipped demo model (models/demo)"
    dev = REPO / "build" / "dev-model"
    if not (dev / "model.onnx").is_file():
        _run([sys.executable, "-m", "bench.dev_model", str(dev)], python_path=None)
    return dev / "model.onnx", dev / "best.pt", "UNTRAINED dev export (models/demo absent)"


def make_inputs(plan: Plan) -> tuple[list[Path], list[Path]]:
    """Invoice JPEGs (A4 at 150 and 200 DPI, alternating) and their API Gateway events."""
    pages_dir, events_dir = WORK / "pages", WORK / "events"
    pages_dir.mkdir(parents=True, exist_ok=True)
    events_dir.mkdir(parents=True, exist_ok=True)
    api = template_api(REPO / "template.yaml")
    pages, events = [], []
    for index in range(plan.pages):
        dpi = 150 if index % 2 == 0 else 200
        data = samples.encode(samples.invoice_page(seed=100 + index, dpi=dpi), "jpeg", quality=90)
        page = pages_dir / f"invoice-{index}-{dpi}dpi.jpg"
        page.write_bytes(data)
        event = build_event(
            "POST",
            "/infer",
            headers=[("Content-Type", "image/jpeg"), ("Accept", "*/*")],
            query=[("fields", "0")],  # the detector's latency: detections only (values are the default)
            body=data,
            binary_media_types=api["binary_media_types"],
            stage=api["stage"],
        )
        path = events_dir / f"{page.stem}.json"
        path.write_text(json.dumps(event))
        pages.append(page)
        events.append(path)
    return pages, events


def make_read_inputs(pages: list[Path]) -> dict[str, dict[str, str]]:
    """A scanned page (the first bench JPEG, A4 at 150 DPI) and a born-digital one-page invoice PDF,
    each with its `POST /infer?fields=0` (detections only) and `POST /infer?fields=1` events."""
    from devkit.synth.pdf import born_digital_invoice  # noqa: PLC0415 - only the read needs it

    api = template_api(REPO / "template.yaml")
    pdf_path = WORK / "pages" / "born-digital-0.pdf"
    pdf_path.write_bytes(born_digital_invoice(200)[0])
    documents = {}
    for name, path, ctype, kind in (
        ("scan", pages[0], "image/jpeg", "image"),
        ("pdf", pdf_path, "application/pdf", "pdf"),
    ):
        doc = {"file": str(path), "kind": kind}
        for mode, query in (("detect", [("fields", "0")]), ("fields", [("fields", "1")])):
            event = build_event(
                "POST",
                "/infer",
                headers=[("Content-Type", ctype), ("Accept", "application/json")],
                query=query,
                body=path.read_bytes(),
                binary_media_types=api["binary_media_types"],
                stage=api["stage"],
            )
            event_path = WORK / "events" / f"read-{name}-{mode}.json"
            event_path.write_text(json.dumps(event))
            doc[mode] = str(event_path)
        documents[name] = doc
    return documents


# ------------------------------------------------------------------------------------------ runs


# What the image's /var/task holds: the adapter, the core (functions/infer) and apiedge.
SERVING_PATH = os.pathsep.join(str(REPO / "functions" / name) for name in ("infer", "common"))


def _serving_python() -> str:
    return str(SERVE_PYTHON) if SERVE_PYTHON.exists() else sys.executable


def _run(argv: list[str], *, python_path: str | None, env: dict[str, str] | None = None) -> str:
    # Bytecode caches allowed, as in the image (its Dockerfile runs compileall): a cold start that
    # compiles the sources each time measures the compiler, not the code (see serving_env).
    full_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | (env or {})
    if python_path:
        full_env["PYTHONPATH"] = python_path
    done = subprocess.run(
        argv, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def worker(
    task: str, cfg: dict[str, Any], *, serving: bool, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """One bench.workers task in a fresh process."""
    python = _serving_python() if serving else sys.executable
    path = SERVING_PATH if serving else None
    if task.endswith("_cold"):
        cfg = {**cfg, "spawned": time.time()}
    out = _run([python, "-m", "bench.workers", task, json.dumps(cfg)], python_path=path, env=env)
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def serving_env(model: Path, **extra: str) -> dict[str, str]:
    return {
        "MODEL_PATH": str(model),
        "POWERTOOLS_SERVICE_NAME": "infer",
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        "POWERTOOLS_TRACE_DISABLED": "true",
        # Bytecode cached under build/ (the image byte-compiles its sources): nothing is written
        # into the tree or the venv, and cold starts after the first run read cached bytecode.
        "PYTHONPYCACHEPREFIX": str(WORK / "pycache"),
        **extra,
    }


def deps_size(venv: Path) -> dict[str, Any]:
    """Installed size per distribution in a venv's site-packages (from each RECORD), pip excluded."""
    site = next(venv.glob("lib/python*/site-packages"), None)
    if site is None:
        return {"total_mb": None, "python": None, "by_package_mb": {}}
    sizes: dict[str, float] = {}
    for record in site.glob("*.dist-info/RECORD"):
        name = record.parent.name.split("-")[0]
        if name.lower() in {"pip", "setuptools", "wheel"}:
            continue
        total = 0
        for row in record.read_text().splitlines():
            file = site / row.split(",")[0]
            if file.is_file():
                total += file.stat().st_size
        sizes[name] = total / 1e6
    return {
        "total_mb": sum(sizes.values()),
        "python": site.parent.name,
        "by_package_mb": dict(sorted(sizes.items(), key=lambda kv: -kv[1])),
    }


def import_profile(model: Path) -> list[tuple[str, float]]:
    """Where the handler's import time goes: `python -X importtime`, cumulative ms per top-level
    package at its first import (nested packages already imported count where they came first)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {**serving_env(model), "PYTHONPATH": SERVING_PATH}
    done = subprocess.run(
        [_serving_python(), "-X", "importtime", "-c", "from serving import handler"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    costs: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split("|"))
        if "." not in name or name == "aws_xray_sdk.core":
            costs[name] = max(costs.get(name, 0.0), int(cumulative) / 1000.0)
    costs.pop("serving", None)
    return sorted(costs.items(), key=lambda kv: -kv[1])[:10]


# ------------------------------------------------------------------------------------------ load


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def load_run(model: Path, pages: list[Path], plan: Plan) -> dict[str, Any]:
    """Concurrent clients against the local API on 127.0.0.1: mixed valid and invalid requests,
    bounded by count and time. Server RSS is sampled from /proc while it runs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The server itself needs cfn-lint's YAML loader, so it runs in .venv; the handler code is the same.
    argv = [sys.executable, "-m", "devkit.local_api", "--port", str(port)]
    for key, value in serving_env(model).items():
        argv += ["--env", f"{key}={value}"]
    env = dict(os.environ)
    server = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        _wait_for(port, server)
        jpeg = pages[0].read_bytes()
        png = samples.png_document(samples.invoice_page(seed=7, dpi=150))
        pdf = samples.pdf([samples.invoice_page(seed=8, dpi=100)], dpi=100)
        mix: list[tuple[str, bytes, str, int]] = [
            ("jpeg", jpeg, "image/jpeg", 200),
            ("jpeg", pages[1].read_bytes(), "image/jpeg", 200),
            ("png", png, "image/png", 200),
            ("pdf", pdf, "application/pdf", 200),
            (
                "json",
                json.dumps({"image": base64.b64encode(jpeg).decode()}).encode(),
                "application/json",
                200,
            ),
            ("bad:not-image", b"hello", "image/jpeg", 415),
            ("bad:truncated", jpeg[: len(jpeg) // 3], "image/jpeg", 422),
            ("bad:json", b"{nope", "application/json", 400),
            ("bad:bomb", samples.png_bomb_header(), "image/png", 413),
            ("bad:gif", b"GIF89a", "image/gif", 415),
        ]
        # Warm-up: every client sends every kind once, so the model, the code paths and the server's
        # threads (glibc gives each its own malloc arena) exist before memory is measured.
        warmups = [
            threading.Thread(target=lambda: [_post(opener, base, body, ctype) for _, body, ctype, _ in mix])
            for _ in range(plan.load_clients)
        ]
        for thread in warmups:
            thread.start()
        for thread in warmups:
            thread.join()
        rss_start = _rss_mb(server.pid)
        results: list[tuple[str, int, int, float]] = []
        lock = threading.Lock()
        deadline = time.monotonic() + plan.load_seconds
        counter = iter(range(plan.load_requests))
        samples_rss: list[float] = []
        stop = threading.Event()

        def sample_rss() -> None:
            while not stop.is_set():
                samples_rss.append(_rss_mb(server.pid))
                stop.wait(0.5)

        def client() -> None:
            while time.monotonic() < deadline:
                with lock:
                    index = next(counter, None)
                if index is None:
                    return
                name, body, ctype, expected = mix[index % len(mix)]
                started = time.perf_counter()
                status = _post(opener, base, body, ctype)
                with lock:
                    results.append((name, status, expected, (time.perf_counter() - started) * 1000.0))

        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()
        started = time.monotonic()
        clients = [threading.Thread(target=client) for _ in range(plan.load_clients)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        elapsed = time.monotonic() - started
        stop.set()
        sampler.join()
        rss_end = _rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    valid_ms = sorted(ms for name, _, _, ms in results if not name.startswith("bad"))
    return {
        "clients": plan.load_clients,
        "requests": len(results),
        "seconds": elapsed,
        "status_counts": _count(status for _, status, _, _ in results),
        "unexpected": [(n, s, e) for n, s, e, _ in results if s != e][:10],
        "five_xx": sum(1 for _, s, _, _ in results if s >= 500),
        "valid_median_ms": statistics.median(valid_ms) if valid_ms else None,
        "valid_p95_ms": valid_ms[int(0.95 * (len(valid_ms) - 1))] if valid_ms else None,
        "rss_start_mb": rss_start,
        "rss_end_mb": rss_end,
        "rss_max_mb": max([rss_start, *samples_rss, rss_end]),  # the end reading counts too
        "rss_quarters_mb": [
            round(max(part), 1)
            for part in (
                samples_rss[i * len(samples_rss) // 4 : (i + 1) * len(samples_rss) // 4] for i in range(4)
            )
            if part
        ],
    }


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[str(item)] = out.get(str(item), 0) + 1
    return dict(sorted(out.items()))


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("local API server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("local API server did not start")


def _post(opener: urllib.request.OpenerDirector, base: str, body: bytes, content_type: str) -> int:
    request = urllib.request.Request(f"{base}/infer", data=body, headers={"Content-Type": content_type})
    try:
        with opener.open(request, timeout=60) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as err:
        err.read()
        return err.code


# ------------------------------------------------------------------------------------------ report


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory = next(
        (
            int(line.split()[1]) / 1024 / 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        float("nan"),
    )
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(memory, 1),
        "python_bench": platform.python_version(),
        "os": platform.platform(),
        "loadavg_start": os.getloadavg(),
    }


def run(quick: bool = False) -> dict[str, Any]:
    """The whole inference benchmark; returns and writes the results."""
    plan = Plan.make(quick)
    onnx_path, weights, model_label = model_files()
    from invoice_core.detect.model import load_model  # noqa: PLC0415 - only for the model's metadata here

    info = load_model(onnx_path, intra_op_threads=1).info
    pages, events = make_inputs(plan)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": machine(),
        "model": {
            "label": model_label,
            "name": info.name,
            "version": info.version,
            "imgsz": info.imgsz,
            "end2end": info.end2end,
        },
        "pages": [p.name for p in pages],
    }
    warm = {
        "events": [str(e) for e in events],
        "pages": [str(p) for p in pages],
        "rounds": plan.rounds,
        "warmup": plan.warmup,
    }
    print("handler, warm ...", flush=True)
    results["handler_warm"] = worker("handler_warm", warm, serving=True, env=serving_env(onnx_path))
    results["handler_warm_reduced"] = worker(
        "handler_warm", warm, serving=True, env=serving_env(onnx_path, REDUCED_DECODE="1")
    )
    print("bare session.run ...", flush=True)
    results["session_run"] = worker(
        "session_run",
        {
            "model": str(onnx_path),
            "pages": [str(p) for p in pages],
            "rounds": plan.rounds,
            "warmup": plan.warmup,
        },
        serving=True,
        env=serving_env(onnx_path),
    )
    ultra = {
        "weights": str(weights),
        "pages": [str(p) for p in pages],
        "imgsz": list(info.imgsz),
        "end2end": info.end2end,
    }
    print("Ultralytics predict, warm ...", flush=True)
    results["ultralytics_warm"] = worker(
        "ultralytics_warm", {**ultra, "rounds": plan.rounds, "warmup": plan.warmup}, serving=False
    )
    print("Ultralytics predict, warm, on the handler's threads ...", flush=True)
    results["ultralytics_warm_same_threads"] = worker(
        "ultralytics_warm",
        {
            **ultra,
            "rounds": plan.rounds,
            "warmup": plan.warmup,
            "threads": results["handler_warm"]["threads"],
        },
        serving=False,
    )
    print("the whole read: scan and PDF, 1 and 2 cores ...", flush=True)
    documents = make_read_inputs(pages)
    results["read"] = {
        str(cores): worker(
            "read_timings",
            {"documents": documents, "rounds": plan.read_rounds, "warmup": 1, "cores": cores},
            serving=True,
            env=serving_env(onnx_path),
        )
        for cores in (1, 2)
    }
    print("cold starts ...", flush=True)
    results["handler_cold"] = [
        worker(
            "handler_cold", {"event": documents["scan"]["detect"]}, serving=True, env=serving_env(onnx_path)
        )
        for _ in range(plan.cold_runs)
    ]
    results["handler_cold_fields"] = [
        worker(
            "handler_cold", {"event": documents["scan"]["fields"]}, serving=True, env=serving_env(onnx_path)
        )
        for _ in range(plan.cold_runs)
    ]
    results["ultralytics_cold"] = [
        worker("ultralytics_cold", ultra, serving=False) for _ in range(plan.cold_runs)
    ]
    results["import_profile_ms"] = import_profile(onnx_path)
    results["serving_deps"] = deps_size(REPO / ".venv-serve")
    print("load run against the local API ...", flush=True)
    results["load"] = load_run(onnx_path, pages, plan)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["summary"] = summarise(results)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "inference.json").write_text(json.dumps(results, indent=2))
    plot(results)
    DOC.write_text(render(results))
    update_readme_costs(results)
    print(
        f"wrote {DOC.relative_to(REPO)}, {PLOT.relative_to(REPO)}, README costs, build/bench/inference.json"
    )
    return results


def summarise(r: dict[str, Any]) -> dict[str, Any]:
    handler = r["handler_warm"]["median_ms"]
    cold = statistics.median(c["cold_s"] for c in r["handler_cold"])
    cold_ultra = statistics.median(c["cold_s"] for c in r["ultralytics_cold"])
    cold_fields = statistics.median(c["cold_s"] for c in r["handler_cold_fields"])
    # What a first request that reads values pays beyond a warm one, against the same for a
    # detections-only first request (the cold runs are unpinned: the 2-core warm reads).
    warm_read = r["read"]["2"]["scan"]
    init_detect = cold - warm_read["detect"]["median_ms"] / 1000.0
    init_fields = cold_fields - warm_read["fields"]["median_ms"] / 1000.0
    return {
        "speedup_vs_ultralytics_same_threads": r["ultralytics_warm_same_threads"]["median_ms"] / handler,
        "cold_start_fields_s": cold_fields,
        "cold_init_detect_s": init_detect,
        "cold_init_fields_s": init_fields,
        "cold_start_fields_extra_s": init_fields - init_detect,
        "speedup_vs_ultralytics": r["ultralytics_warm"]["median_ms"] / handler,
        # Against the bare runs paired call by call with the handler's (same process, same session).
        "overhead_vs_session_run": handler / r["handler_warm"]["paired_session_run"]["median_ms"],
        "overhead_vs_session_run_reduced": r["handler_warm_reduced"]["median_ms"]
        / r["handler_warm_reduced"]["paired_session_run"]["median_ms"],
        "cold_start_s": cold,
        "cold_start_ultralytics_s": cold_ultra,
        "cold_speedup_vs_ultralytics": cold_ultra / cold,
        "serving_deps_mb": r["serving_deps"]["total_mb"],
        "peak_rss_mb": r["handler_warm"]["peak_rss_mb"],
    }


def plot(r: dict[str, Any]) -> None:
    import matplotlib as mpl  # noqa: PLC0415 - only the report needs it

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    names = ["bare session.run", "handler (reduced decode)", "handler end to end", "Ultralytics predict"]
    keys = ["session_run", "handler_warm_reduced", "handler_warm", "ultralytics_warm"]
    medians = [r[k]["median_ms"] for k in keys]
    p90 = [r[k]["p90_ms"] - r[k]["median_ms"] for k in keys]
    bars = left.barh(
        names, medians, xerr=[[0] * len(p90), p90], color=["#999", "#7aa6d6", "#2b6cb0", "#d97706"]
    )
    left.bar_label(bars, fmt="%.0f ms", padding=3)
    left.set_xlabel("warm latency per A4 invoice JPEG, median (bar) to p90 (whisker), ms")
    left.set_title("Warm inference")
    cold_names = ["handler (fresh process)", "Ultralytics (fresh process)"]
    cold = [statistics.median(c["cold_s"] for c in r[k]) for k in ("handler_cold", "ultralytics_cold")]
    bars = right.barh(cold_names, cold, color=["#2b6cb0", "#d97706"])
    right.bar_label(bars, fmt="%.2f s", padding=3)
    right.axvline(TARGETS["cold_start_s"], color="#c53030", linestyle="--", label="target 0.5 s")
    right.set_xlabel("interpreter start + imports + model load + first response, s")
    right.set_title("Cold start")
    right.legend(loc="lower right")
    fig.suptitle(f"{r['model']['label']} · {r['machine']['cpu']} · {r['machine']['cores']} cores", fontsize=9)
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)


def _verdict(value: float | None, target: float, *, higher_is_better: bool) -> str:
    if value is None:
        return "not measured"
    ok = value >= target if higher_is_better else value <= target
    if ok:
        return "met"
    miss = target / value if higher_is_better else value / target
    return f"**missed** by {miss:.2f}x"


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def _cold_row(name: str, runs: list[dict[str, Any]]) -> str:
    cells = [
        f"{_median(runs, k):.2f}"
        for k in ("cold_s", "interpreter_s", "import_and_load_s", "first_response_s")
    ]
    rss = f"{_median(runs, 'peak_rss_mb'):.0f}"
    return f"| {name} | {cells[0]} | {len(runs)} | {' | '.join(cells[1:])} | {rss} |"


def _targets_table(r: dict[str, Any]) -> str:
    s, deps, load = r["summary"], r["serving_deps"], r["load"]
    size = f"{deps['total_mb']:.0f} MB" if deps["total_mb"] else "n/a"
    rows = [
        ("Warm end to end: Ultralytics `predict` time / handler time", f"{s['speedup_vs_ultralytics']:.2f}x",
         ">= 3x",
         _verdict(s["speedup_vs_ultralytics"], 3.0, higher_is_better=True)),
        ("Warm end to end: Ultralytics on the handler's thread count / handler (the quoted ratio)",
         f"{s['speedup_vs_ultralytics_same_threads']:.2f}x", ">= 3x",
         _verdict(s["speedup_vs_ultralytics_same_threads"], 3.0, higher_is_better=True)),
        ("Warm end to end vs bare `session.run`", f"{s['overhead_vs_session_run']:.2f}x", "<= 1.25x",
         _verdict(s["overhead_vs_session_run"], 1.25, higher_is_better=False)),
        ("Cold start, fresh process", f"{s['cold_start_s']:.2f} s", "<= 0.5 s",
         _verdict(s["cold_start_s"], 0.5, higher_is_better=False)),
        ("Cold start, first request reads values (scan): its extra cold cost over detections only",
         f"+{s['cold_start_fields_extra_s']:.2f} s", "<= +0.5 s",
         _verdict(max(s["cold_start_fields_extra_s"], 1e-9), 0.5, higher_is_better=False)),
        ("Cold start: Ultralytics process / handler process", f"{s['cold_speedup_vs_ultralytics']:.1f}x",
         ">= 4x",
         _verdict(s["cold_speedup_vs_ultralytics"], 4.0, higher_is_better=True)),
        ("Serving dependencies installed", size, "<= 400 MB",
         _verdict(deps["total_mb"], 400.0, higher_is_better=False)),
        ("Peak RSS, warm handler process", f"{s['peak_rss_mb']:.0f} MB", "<= 300 MB",
         _verdict(s["peak_rss_mb"], 300.0, higher_is_better=False)),
        ("Load run: 5xx responses", str(load["five_xx"]), "0",
         "met" if load["five_xx"] == 0 else "**missed**"),
    ]  # fmt: skip
    return "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)


READ_MODES = {"detect": "detections only", "fields": "detections + values", "page_ocr": "whole-page OCR"}
READ_DOCS = {"scan": "scanned page (JPEG, A4 150 DPI)", "pdf": "born-digital PDF page"}
API_GATEWAY_REQUEST_USD = 3.50 / 1e6  # REST API, first tier, same source and caveat as Lambda's


def read_cost_usd(ms: float, memory_mb: int) -> float:
    """One read on Lambda: compute at `memory_mb` for `ms`, plus the Lambda and API Gateway requests."""
    return ms / 1000.0 * memory_mb / 1024.0 * LAMBDA_GB_S_USD + LAMBDA_REQUEST_USD + API_GATEWAY_REQUEST_USD


def lambda_choice(r: dict[str, Any]) -> dict[str, Any]:
    """The Lambda size from the measurements: 1 or 2 vCPUs (1,769 or 3,538 MB), whichever reads a
    scanned invoice's values (the dominant cost) for less per read at p50."""
    options = []
    for cores, runs in r["read"].items():
        memory = LAMBDA_MB_PER_VCPU * int(cores)
        ms = runs["scan"]["fields"]["median_ms"]
        options.append({"cores": int(cores), "memory_mb": memory, "ms": ms, "usd": read_cost_usd(ms, memory)})
    best = min(options, key=lambda o: o["usd"])
    return {**best, "options": options}


def cost_table(r: dict[str, Any]) -> str:
    """Markdown: cost per 1,000 and 1,000,000 reads at the chosen size, then the managed APIs."""
    choice = lambda_choice(r)
    runs = r["read"][str(choice["cores"])]
    memory = choice["memory_mb"]
    lines = [
        f"| read (Lambda {memory:,} MB = {choice['cores']} vCPU, this run's p50 / p90) | p50 ms "
        "| per 1,000 | per 1,000,000 | per 1,000,000 at p90 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for doc, doc_label in READ_DOCS.items():
        for mode, mode_label in READ_MODES.items():
            x = runs[doc][mode]
            p50, p90 = read_cost_usd(x["median_ms"], memory), read_cost_usd(x["p90_ms"], memory)
            lines.append(
                f"| {doc_label}: {mode_label} | {x['median_ms']:.0f} | ${p50 * 1e3:.3f} | ${p50 * 1e6:,.2f} "
                f"| ${p90 * 1e6:,.2f} |"
            )
    for name, per_page, source in MANAGED_APIS:
        lines.append(
            f"| {name} (list price per page; as published on {source}, 2025, not re-checked) | - "
            f"| ${per_page * 1e3:,.2f} | ${per_page * 1e6:,.0f} | - |"
        )
    return "\n".join(lines)


def cost_notes(r: dict[str, Any]) -> str:
    choice = lambda_choice(r)
    other = ", ".join(
        f"{o['cores']} vCPU ({o['memory_mb']:,} MB): {o['ms']:.0f} ms, ${o['usd'] * 1e6:,.2f} per 1,000,000"
        for o in choice["options"]
    )
    return (
        f"Size chosen from this run: a scanned invoice's values cost per read at {other}; the cheaper, "
        f"{choice['cores']} vCPU, is the table's. Lambda x86 ${LAMBDA_GB_S_USD} per GB-s and $0.20 per "
        "million requests, API Gateway REST $3.50 per million requests: us-east-1 list prices as "
        "published on the AWS pricing pages, 2025, not re-checked. A core of this machine is not a "
        "Lambda vCPU, and cold starts add their init time: treat the figures as estimates. The managed "
        "APIs' prices are their first-tier list prices per page (each read here is one page); they "
        "drop at higher tiers, which the 1,000,000 column does not apply."
    )


README = REPO / "README.md"
README_BEGIN = "<!-- bench:costs:begin (python -m bench inference writes this table) -->"
README_END = "<!-- bench:costs:end -->"


def update_readme_costs(r: dict[str, Any]) -> None:
    """Replace the README's cost table (between the markers) with this run's."""
    text = README.read_text()
    if README_BEGIN not in text or README_END not in text:
        return
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    body = f"\n{cost_table(r)}\n\n{cost_notes(r)} From the run of {r['date'][:10]}"
    body += " (`python -m bench inference --quick`).\n" if r["quick"] else " (`make bench`).\n"
    README.write_text(head + README_BEGIN + body + README_END + tail)


def _read_rows(r: dict[str, Any]) -> str:
    rows = []
    one, two = r["read"]["1"], r["read"]["2"]
    for doc, doc_label in READ_DOCS.items():
        for mode, mode_label in READ_MODES.items():
            a, b = one[doc][mode], two[doc][mode]
            rows.append(
                f"| {doc_label} | {mode_label} | {a['median_ms']:.0f} | {a['p90_ms']:.0f} "
                f"| {b['median_ms']:.0f} | {b['p90_ms']:.0f} | {a['n']} |"
            )
    return "\n".join(rows)


REPORT = """# Performance of the inference function

Measured by `{command}` on {date}. Every number below comes from that run;
raw results are in `build/bench/inference.json`. Other reports: the inbox pipeline under load
([performance-inbox.md](performance-inbox.md), `make bench-inbox`), the input guards
([hardening.md](hardening.md), `python -m bench.guards`), FP32 vs INT8 (models/demo/MODEL_CARD.md,
`python -m bench.int8`).

- **Model:** {model}
- **Inputs:** {pages} generated invoice JPEGs, A4 at 150 and 200 DPI (1240x1754 and 1654x2339 pixels).
- **Machine:** {cpu}, {cores} cores, {memory} GiB. Load average {load_start} at the start and {load_end}
  at the end: the cores are shared with other work, so absolute times are noisy; the ratios compare
  contenders run back to back on the same inputs.
- **Environments:** serving processes use `.venv-serve` ({serve_python}, functions/infer/requirements.txt
  only, as the image); Ultralytics runs in `.venv` with torch on {torch_threads} thread(s) (its own
  choice), ONNX Runtime on {ort_threads} (the handler's: the visible vCPUs), without spin-waiting.

![warm latency and cold start](performance.png)

| What | Measured | Target | Verdict |
| --- | --- | --- | --- |
{targets}

{why}
## Warm latency per request (ms)

| Contender | median | p90 | n |
| --- | --- | --- | --- |
{warm_rows}

The handler-vs-`session.run` ratio uses the paired row: each handler call is followed (or
preceded, alternately) by a bare run of the same page on the handler's own session, so load on the
shared cores lands on both alike. The own-process row is the same floor measured on its own.

Handler stages (median ms): {stages}.
With `REDUCED_DECODE=1`: {stages_reduced}; that is {reduced_ratio} bare `session.run`.
Reduced decode lets libjpeg decode a large page at 1/2, 1/4 or 1/8 scale when that still leaves more
pixels than the model input. It is off by default: the pixels then differ slightly from Ultralytics'
full decode + resize, and the parity test (boxes within 2 px, confidences within 0.01) holds for the
default path.

## The whole read: detections, values, whole-page OCR (ms per page, warm)

| document | what | 1 core p50 | 1 core p90 | 2 cores p50 | 2 cores p90 | n |
| --- | --- | --- | --- | --- | --- | --- |
{read_rows}

One process per core count, pinned with `os.sched_setaffinity` before any import, so ONNX Runtime
and the OCR engine size their thread pools to it ({read_threads} threads). Detections and values are
`POST /infer?fields=0` and `POST /infer?fields=1` through the handler (event in, JSON out); values come from
the text layer for the PDF ({pdf_source}) and from OCR around the detections for the scan
({scan_source}). Whole-page OCR is `invoice_core.read.ocr.ocr_page` on the page image the handler
decodes ({scan_px} px) or renders ({pdf_px} px), decode not included. The three run interleaved,
round by round. Peak RSS: {read_rss}.

## What a read costs

{cost_table}

{cost_notes}

## Cold start: fresh process, interpreter + imports + model load + first response (s)

| | median | runs | interpreter | imports + model load | first response | peak RSS MB |
| --- | --- | --- | --- | --- | --- | --- |
{cold_rows}

Both handler rows answer the same scanned page (A4, 150 DPI), the second with `?fields=1`: its OCR
engine (rapidocr's detection and recognition models) is built on that request, not at import, so
detections-only containers never pay it. A values request's cold cost is its cold time less its warm
read time (2 cores): {init_fields} s, against {init_detect} s for detections only (a cold container
pays {init_extra} s more when its first request reads values). Sources are byte-compiled
beforehand, as the image's Dockerfile does.

### What was traded for the cold start

- **The X-Ray SDK** (`aws_xray_sdk.core`: about 0.35 s here with botocore, wrapt and the two X-Ray
  clients its sampler builds at import) is no longer imported at init. The handler keeps its
  module-level Powertools `Tracer`, with a provider (`serving/tracing.py`) that loads the SDK when
  the container's *second* invocation starts. Lambda's active tracing still records every
  invocation, the first included (its AWS::Lambda and AWS::Lambda::Function segments with
  Initialization, Invocation and Overhead); what the first invocation of each container lacks is
  Powertools' `## lambda_handler` / `## infer` subsegments, their ColdStart and Service annotations
  and botocore subsegments. The ColdStart *metric* (Metrics) is unaffected. The SDK's import moves
  to the second invocation of each container (one request in many); with tracing disabled it is
  never imported.
- **The OCR engine** is built on the first request that reads a scan's values (the default answer), as before.

On Lambda the init phase adds the runtime's own start and the image pull; this is the part the code controls.
Heaviest imports of the handler (`python -X importtime`, cumulative ms where each package is first
imported, one run): {import_profile}.

## Memory and size

- Peak RSS: warm handler process {rss_handler} MB, bare ONNX Runtime {rss_ort} MB, Ultralytics {rss_ultra} MB.
- Serving dependencies in `.venv-serve`: {deps_total} (files in the wheels' RECORDs, pip excluded).
  Largest, MB: {deps_top}.

## Load run against the local API server (127.0.0.1)

{clients} concurrent clients sent {requests} requests in {seconds} s (bounded by count and time): valid
JPEG, PNG, PDF and base64-JSON requests mixed with invalid ones (not an image, a truncated JPEG, bad JSON,
a decompression bomb, a GIF).

- Status counts: {status_counts}; 5xx: {five_xx}; answers other than the expected status: {unexpected}.
- Valid requests: median {valid_median} ms, p95 {valid_p95} ms, queueing included (each function serves
  one request at a time, as one Lambda container).
- Server RSS: {rss_start} MB after warm-up, {rss_end} MB at the end, {rss_max} MB at most; highest in
  each quarter of the run: {rss_quarters} MB.

## Reproduce

```bash
make bench                 # builds .venv-serve if needed, then python -m bench
python -m bench inference --quick    # a shorter run
```
"""


def _why(r: dict[str, Any]) -> str:
    """One data-backed line per missed target (empty when all are met)."""
    s, h, sr, u = r["summary"], r["handler_warm"], r["session_run"], r["ultralytics_warm"]
    stages = h["stages_median_ms"]
    lines = []
    if s["overhead_vs_session_run"] > TARGETS["overhead_vs_session_run"]:
        lines.append(
            f"- **End to end vs `session.run`:** on top of {stages['inference']:.0f} ms of inference the "
            f"handler spends {stages['decode']:.0f} ms decoding the 150-200 DPI JPEG, "
            f"{stages['preprocess']:.0f} ms letterboxing and {stages['postprocess']:.1f} ms on NMS; the "
            f"decode alone is {stages['decode'] / h['paired_session_run']['median_ms']:.0%} of a bare run. "
            f"`REDUCED_DECODE=1` cuts the decode and gives {s['overhead_vs_session_run_reduced']:.2f}x, "
            "at the cost of exact parity with Ultralytics (see below)."
        )
    if s["speedup_vs_ultralytics"] < TARGETS["speedup_vs_ultralytics"]:
        lines.append(
            f"- **vs Ultralytics:** bare `session.run` alone ({sr['median_ms']:.0f} ms, "
            f"{h.get('threads')} threads) takes {sr['median_ms'] / u['median_ms']:.0%} of the time of "
            f"Ultralytics' whole `predict` ({u['median_ms']:.0f} ms, torch on {u.get('threads')} thread(s)) "
            "for this model on these shared cores, so code around the session cannot make up 3x; "
            "the gap is ONNX Runtime vs torch on the network itself."
        )
    if s["cold_start_s"] > TARGETS["cold_start_s"]:
        cold = r["handler_cold"]
        top = ", ".join(f"{name} {ms:.0f} ms" for name, ms in r["import_profile_ms"][:4])
        lines.append(
            f"- **Cold start:** {_median(cold, 'interpreter_s'):.2f} s interpreter start, "
            f"{_median(cold, 'import_and_load_s'):.2f} s imports and model load, "
            f"{_median(cold, 'first_response_s'):.2f} s first response. The heaviest imports left "
            f"(cumulative, where first imported): {top}; the X-Ray SDK is no longer among them."
        )
    if s["cold_start_fields_extra_s"] > TARGETS["cold_start_fields_extra_s"]:
        lines.append(
            f"- **Cold start with values:** beyond its warm read time, the first scan that reads values pays "
            f"{s['cold_start_fields_extra_s']:.2f} s more than a detections-only one: importing rapidocr "
            "and building its OCR sessions, and their first runs."
        )
    if s["speedup_vs_ultralytics_same_threads"] < TARGETS["speedup_vs_ultralytics"]:
        us = r["ultralytics_warm_same_threads"]
        lines.append(
            f"- **vs Ultralytics on the same threads:** torch on {us.get('threads')} threads takes "
            f"{us['median_ms']:.0f} ms per page against the handler's {h['median_ms']:.0f} ms."
        )
    if s["peak_rss_mb"] > TARGETS["peak_rss_mb"]:
        lines.append(f"- **Peak RSS:** {s['peak_rss_mb']:.0f} MB in the warm handler process.")
    if not lines:
        return ""
    return "Why the missed targets are missed (from this run's numbers):\n\n" + "\n".join(lines) + "\n"


def render(r: dict[str, Any]) -> str:
    """docs/performance.md from the results."""
    m, deps, load = r["machine"], r["serving_deps"], r["load"]
    h, hr, sr, u = r["handler_warm"], r["handler_warm_reduced"], r["session_run"], r["ultralytics_warm"]
    model = r["model"]
    head = "end-to-end [1, 300, 6] head" if model["end2end"] else "raw head + NMS"
    warm_rows = [
        ("bare `session.run` on a prepared tensor, own process", sr),
        ("bare `session.run`, paired call by call with the handler (same session)", h["paired_session_run"]),
        ("handler end to end (event in, JSON out), default", h),
        ("handler end to end, `REDUCED_DECODE=1`", hr),
        (f"Ultralytics `YOLO(best.pt).predict(path)`, its default threads ({u.get('threads')})", u),
        (
            f"Ultralytics, torch on the handler's {h.get('threads')} threads"
            + (
                f" ({r['ultralytics_warm_same_threads']['rerun']})"
                if "rerun" in r["ultralytics_warm_same_threads"]
                else ""
            ),
            r["ultralytics_warm_same_threads"],
        ),
    ]
    return REPORT.format(
        command="python -m bench inference --quick" if r["quick"] else "make bench",
        date=r["date"],
        model=f"{model['label']}: `{model['name']}` version `{model['version']}`, input "
        f"{model['imgsz'][0]}x{model['imgsz'][1]} (h x w), {head}.",
        pages=len(r["pages"]),
        cpu=m["cpu"],
        cores=m["cores"],
        memory=m["memory_gib"],
        load_start=f"{m['loadavg_start'][0]:.2f}",
        load_end=f"{m['loadavg_end'][0]:.2f}",
        serve_python=deps["python"] or "not built",
        torch_threads=u.get("threads"),
        ort_threads=h.get("threads"),
        targets=_targets_table(r),
        why=_why(r),
        warm_rows="\n".join(
            f"| {name} | {x['median_ms']:.1f} | {x['p90_ms']:.1f} | {x['n']} |" for name, x in warm_rows
        ),
        stages=" · ".join(f"{k} {v:.1f}" for k, v in h["stages_median_ms"].items()),
        stages_reduced=" · ".join(f"{k} {v:.1f}" for k, v in hr["stages_median_ms"].items()),
        reduced_ratio=f"{r['summary']['overhead_vs_session_run_reduced']:.2f}x",
        import_profile=", ".join(f"{name} {ms:.0f}" for name, ms in r["import_profile_ms"]),
        cold_rows="\n".join(
            (
                _cold_row("handler, detections only", r["handler_cold"]),
                _cold_row("handler, first request reads values (scan)", r["handler_cold_fields"]),
                _cold_row("Ultralytics", r["ultralytics_cold"]),
            )
        ),
        read_rows=_read_rows(r),
        init_fields=f"{r['summary']['cold_init_fields_s']:.2f}",
        init_detect=f"{r['summary']['cold_init_detect_s']:.2f}",
        init_extra=f"{r['summary']['cold_start_fields_extra_s']:.2f}",
        read_threads=" and ".join(str(r["read"][c]["threads"]) for c in ("1", "2")),
        pdf_source=", ".join(r["read"]["2"]["pdf"]["read_sources"] or []),
        scan_source=", ".join(r["read"]["2"]["scan"]["read_sources"] or []),
        scan_px="x".join(map(str, r["read"]["2"]["scan"]["page_px"])),
        pdf_px="x".join(map(str, r["read"]["2"]["pdf"]["page_px"])),
        read_rss=", ".join(f"{c} core(s) {r['read'][c]['peak_rss_mb']:.0f} MB" for c in ("1", "2")),
        cost_table=cost_table(r),
        cost_notes=cost_notes(r),
        rss_handler=f"{h['peak_rss_mb']:.0f}",
        rss_ort=f"{sr['peak_rss_mb']:.0f}",
        rss_ultra=f"{u['peak_rss_mb']:.0f}",
        deps_total=f"{deps['total_mb']:.0f} MB" if deps["total_mb"] else "not measured (no .venv-serve)",
        deps_top=", ".join(f"{k} {v:.0f}" for k, v in list(deps["by_package_mb"].items())[:6]),
        clients=load["clients"],
        requests=load["requests"],
        seconds=f"{load['seconds']:.1f}",
        status_counts=load["status_counts"],
        five_xx=load["five_xx"],
        unexpected=load["unexpected"] or "none",
        valid_median=f"{load['valid_median_ms'] or 0:.0f}",
        valid_p95=f"{load['valid_p95_ms'] or 0:.0f}",
        rss_start=f"{load['rss_start_mb']:.0f}",
        rss_end=f"{load['rss_end_mb']:.0f}",
        rss_max=f"{load['rss_max_mb']:.0f}",
        rss_quarters=", ".join(f"{v:.0f}" for v in load["rss_quarters_mb"]) or "n/a",
    )
