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
}


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

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:
            return cls(
                pages=4, rounds=3, warmup=2, cold_runs=3, load_clients=6, load_requests=90, load_seconds=45
            )
        return cls(
            pages=6, rounds=8, warmup=3, cold_runs=5, load_clients=8, load_requests=400, load_seconds=120
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
            body=data,
            binary_media_types=api["binary_media_types"],
            stage=api["stage"],
        )
        path = events_dir / f"{page.stem}.json"
        path.write_text(json.dumps(event))
        pages.append(page)
        events.append(path)
    return pages, events


# ------------------------------------------------------------------------------------------ runs


# What the image's /var/task holds: the adapter, the core (functions/infer) and apiedge.
SERVING_PATH = os.pathsep.join(str(REPO / "functions" / name) for name in ("infer", "common"))


def _serving_python() -> str:
    return str(SERVE_PYTHON) if SERVE_PYTHON.exists() else sys.executable


def _run(argv: list[str], *, python_path: str | None, env: dict[str, str] | None = None) -> str:
    full_env = {**os.environ, **(env or {})}
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
    env = {**os.environ, **serving_env(model), "PYTHONPATH": SERVING_PATH}
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
    from invoice_core.model import load_model  # noqa: PLC0415 - only for the model's metadata here

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
    print("cold starts ...", flush=True)
    results["handler_cold"] = [
        worker("handler_cold", {"event": str(events[0])}, serving=True, env=serving_env(onnx_path))
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
    print(f"wrote {DOC.relative_to(REPO)}, {PLOT.relative_to(REPO)} and build/bench/inference.json")
    return results


def summarise(r: dict[str, Any]) -> dict[str, Any]:
    handler = r["handler_warm"]["median_ms"]
    cold = statistics.median(c["cold_s"] for c in r["handler_cold"])
    cold_ultra = statistics.median(c["cold_s"] for c in r["ultralytics_cold"])
    return {
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
        ("Warm end to end vs bare `session.run`", f"{s['overhead_vs_session_run']:.2f}x", "<= 1.25x",
         _verdict(s["overhead_vs_session_run"], 1.25, higher_is_better=False)),
        ("Cold start, fresh process", f"{s['cold_start_s']:.2f} s", "<= 0.5 s",
         _verdict(s["cold_start_s"], 0.5, higher_is_better=False)),
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

## Cold start: fresh process, interpreter + imports + model load + first response (s)

| | median | runs | interpreter | imports + model load | first response | peak RSS MB |
| --- | --- | --- | --- | --- | --- | --- |
{cold_rows}

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
python -m bench --quick    # a shorter run (about two minutes)
```
"""


def _why(r: dict[str, Any]) -> str:
    """One data-backed line per missed target (empty when all are met)."""
    s, h, sr, u = r["summary"], r["handler_warm"], r["session_run"], r["ultralytics_warm"]
    stages = h["stages_median_ms"]
    imports = dict(r["import_profile_ms"])
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
        xray = imports.get("aws_xray_sdk.core", 0.0)
        lines.append(
            f"- **Cold start:** imports and model load take "
            f"{_median(r['handler_cold'], 'import_and_load_s'):.2f} s. "
            f"The largest single import is the X-Ray SDK ({xray:.0f} ms, with botocore), which Powertools' "
            "Tracer loads even when tracing is off; OpenCV and NumPy follow. The model session itself is "
            "built in tens of milliseconds."
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
        ("Ultralytics `YOLO(best.pt).predict(path)`", u),
    ]
    return REPORT.format(
        command="python -m bench --quick" if r["quick"] else "make bench",
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
        cold_rows=_cold_row("handler", r["handler_cold"])
        + "\n"
        + _cold_row("Ultralytics", r["ultralytics_cold"]),
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
