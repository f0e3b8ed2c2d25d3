"""Measurements that each run in a fresh process, so imports, thread settings and peak RSS of one
contender never leak into another (importing Ultralytics alone changes OpenCV's threading and
patches Pillow process-wide).

    python -m bench.workers <task> <json-config>     # prints one JSON line: the result

Tasks: handler_warm, session_run, ultralytics_warm, handler_cold, ultralytics_cold, read_timings.
A config's `cores` (a count) pins the process to that many CPUs before anything is imported, so
ONNX Runtime and OCR size their thread pools to it (as on a Lambda with that many vCPUs).
The serving tasks import only the serving stack; run them with .venv-serve's interpreter.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _peak_rss_mb() -> float:
    """This process's peak RSS. Not getrusage's ru_maxrss: Linux keeps that across exec, so a
    child started by a large parent reports the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _stats(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "median_ms": statistics.median(ordered),
        "p90_ms": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
        "min_ms": ordered[0],
        "n": len(ordered),
    }


def _rounds(fn: Callable[[int], Any], count: int, rounds: int, warmup: int) -> list[float]:
    for index in range(warmup):
        fn(index % count)
    out = []
    for _ in range(rounds):
        for index in range(count):
            start = time.perf_counter()
            fn(index)
            out.append((time.perf_counter() - start) * 1000.0)
    return out


def _paired(
    first: Callable[[int], Any], second: Callable[[int], Any], count: int, rounds: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Time two contenders call by call, alternating which goes first, so that whatever else the
    machine is doing at any moment lands on both: their ratio is then a side-by-side ratio."""
    for index in range(warmup):
        first(index % count)
        second(index % count)
    times: tuple[list[float], list[float]] = ([], [])
    for round_ in range(rounds):
        for index in range(count):
            pair = ((0, first), (1, second)) if (round_ + index) % 2 == 0 else ((1, second), (0, first))
            for slot, fn in pair:
                start = time.perf_counter()
                fn(index)
                times[slot].append((time.perf_counter() - start) * 1000.0)
    return times


def _tensors(pages: list[str], imgsz: tuple[int, int]) -> list[Any]:
    """Each page as the model's input tensor, prepared once, outside any timing."""
    import cv2  # noqa: PLC0415

    from invoice_core.detect.preprocess import prepare  # noqa: PLC0415

    return [prepare(cv2.imread(p), imgsz)[0] for p in pages]


class _Context:
    function_name = "InferFunction"
    memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:eu-north-1:123456789012:function:InferFunction"
    aws_request_id = "bench"


def handler_warm(cfg: dict[str, Any]) -> dict[str, Any]:
    """Event in -> JSON out through serving.handler.lambda_handler, warm, each call paired with a
    bare `session.run` of the same page on the handler's own session (the floor it is compared with)."""
    import contextlib  # noqa: PLC0415
    import io  # noqa: PLC0415

    events = [json.loads(Path(p).read_text()) for p in cfg["events"]]
    with contextlib.redirect_stdout(io.StringIO()):  # EMF metric lines
        from serving import handler  # noqa: PLC0415

        model = handler.MODELS.for_request()
        tensors = _tensors(cfg["pages"], model.info.imgsz)
        breakdown: dict[str, list[float]] = {}

        def call(index: int) -> None:
            result = handler.lambda_handler(events[index], _Context())
            assert result["statusCode"] == 200, result["body"][:300]
            for key, value in json.loads(result["body"])["timings_ms"].items():
                breakdown.setdefault(key, []).append(value)

        def bare(index: int) -> None:
            model.session.run(None, {model.input_name: tensors[index]})

        times, bare_times = _paired(call, bare, len(events), cfg["rounds"], cfg["warmup"])
    return {
        **_stats(times),
        "paired_session_run": _stats(bare_times),
        "stages_median_ms": {k: statistics.median(v) for k, v in breakdown.items()},
        "peak_rss_mb": _peak_rss_mb(),
        "threads": handler.SETTINGS.intra_op_threads,
        "reduced_decode": handler.SETTINGS.reduced_decode,
    }


def session_run(cfg: dict[str, Any]) -> dict[str, Any]:
    """Bare `session.run` on prepared tensors, in a process of its own."""
    from invoice_core.detect.model import load_model  # noqa: PLC0415
    from serving.settings import Settings  # noqa: PLC0415

    model = load_model(Path(cfg["model"]), intra_op_threads=Settings().intra_op_threads)
    tensors = _tensors(cfg["pages"], model.info.imgsz)
    session, name = model.session, model.input_name
    times = _rounds(
        lambda i: session.run(None, {name: tensors[i]}), len(tensors), cfg["rounds"], cfg["warmup"]
    )
    return {**_stats(times), "peak_rss_mb": _peak_rss_mb()}


def _ultralytics(cfg: dict[str, Any]) -> Any:
    from yolo_train import offline  # noqa: PLC0415

    offline.configure()
    import torch  # noqa: PLC0415
    from ultralytics import YOLO  # noqa: PLC0415

    return YOLO(cfg["weights"]), torch


def ultralytics_warm(cfg: dict[str, Any]) -> dict[str, Any]:
    """`YOLO(best.pt).predict(path)` per page, warm: file in -> Results out. `threads` (optional):
    torch's thread count, for the row on the handler's thread count."""
    model, torch = _ultralytics(cfg)
    kwargs0 = {"imgsz": cfg["imgsz"], "device": "cpu", "verbose": False}
    if cfg.get("threads"):
        # The predictor's set-up (on the first predict) sets torch back to its own choice: set the
        # count after it, and report what torch ran with at the end.
        model.predict(cfg["pages"][0], **kwargs0)
        torch.set_num_threads(int(cfg["threads"]))
    kwargs = {"imgsz": cfg["imgsz"], "conf": 0.25, "rect": False, "device": "cpu", "verbose": False}
    if cfg.get("end2end"):
        kwargs["nms"] = False
    # Ultralytics' own thread choice (min(8, cpus - 1) here), as its users get it: with 2 threads on
    # these shared cores torch's OpenMP workers spin and p90 went from ~0.2 s to ~2 s in a trial run.
    times = _rounds(
        lambda i: model.predict(cfg["pages"][i], **kwargs), len(cfg["pages"]), cfg["rounds"], cfg["warmup"]
    )
    return {**_stats(times), "peak_rss_mb": _peak_rss_mb(), "threads": torch.get_num_threads()}


def handler_cold(cfg: dict[str, Any]) -> dict[str, Any]:
    """Fresh process: import + model load + first response. `spawned` is the parent's clock."""
    started = time.time()
    import contextlib  # noqa: PLC0415
    import io  # noqa: PLC0415

    with contextlib.redirect_stdout(io.StringIO()):
        from serving import handler  # noqa: PLC0415

        imported = time.time()
        result = handler.lambda_handler(json.loads(Path(cfg["event"]).read_text()), _Context())
    done = time.time()
    assert result["statusCode"] == 200, result["body"][:300]
    return {
        "cold_s": done - cfg["spawned"],
        "interpreter_s": started - cfg["spawned"],
        "import_and_load_s": imported - started,
        "first_response_s": done - imported,
        "peak_rss_mb": _peak_rss_mb(),
    }


def ultralytics_cold(cfg: dict[str, Any]) -> dict[str, Any]:
    """Fresh process: import Ultralytics + load best.pt + first predict."""
    started = time.time()
    model, _ = _ultralytics(cfg)
    imported = time.time()
    kwargs = {"imgsz": cfg["imgsz"], "rect": False, "device": "cpu", "verbose": False}
    model.predict(cfg["pages"][0], **kwargs)
    done = time.time()
    return {
        "cold_s": done - cfg["spawned"],
        "interpreter_s": started - cfg["spawned"],
        "import_and_load_s": imported - started,
        "first_response_s": done - imported,
        "peak_rss_mb": _peak_rss_mb(),
    }


def read_timings(cfg: dict[str, Any]) -> dict[str, Any]:
    """The whole read per document, warm, on `cores` CPUs: detections only (POST /infer?fields=0), detections
    plus values (POST /infer?fields=1) and whole-page OCR of the same page (`ocr.ocr_page` on the
    page image the handler decodes or renders; that decode is not in its time). Calls interleave
    round by round so that load on the shared cores lands on all three alike."""
    import contextlib  # noqa: PLC0415
    import io  # noqa: PLC0415

    with contextlib.redirect_stdout(io.StringIO()):
        from invoice_core import Options, read_document  # noqa: PLC0415
        from invoice_core.read import ocr  # noqa: PLC0415
        from serving import handler  # noqa: PLC0415

        model = handler.MODELS.for_request()
        threads = handler.SETTINGS.policy.ocr_threads
        ocr.warm_up(threads=threads)
        out: dict[str, Any] = {"threads": threads}
        for name, doc in cfg["documents"].items():
            events = {mode: json.loads(Path(doc[mode]).read_text()) for mode in ("detect", "fields")}
            data = Path(doc["file"]).read_bytes()
            detected = read_document(data, model, Options(values=False), limits=handler.SETTINGS.limits)
            page = detected.pages[0].image.bgr

            def call(event: dict[str, Any]) -> dict[str, Any]:
                result = handler.lambda_handler(event, _Context())
                assert result["statusCode"] == 200, result["body"][:300]
                return json.loads(result["body"])

            runs: dict[str, Callable[[], Any]] = {
                "detect": lambda e=events["detect"]: call(e),
                "fields": lambda e=events["fields"]: call(e),
                "page_ocr": lambda p=page: ocr.ocr_page(p),
            }
            times: dict[str, list[float]] = {mode: [] for mode in runs}
            for fn in runs.values():
                for _ in range(cfg["warmup"]):
                    fn()
            for _ in range(cfg["rounds"]):
                for mode, fn in runs.items():
                    start = time.perf_counter()
                    fn()
                    times[mode].append((time.perf_counter() - start) * 1000.0)
            answer = call(events["fields"])
            out[name] = {
                **{mode: _stats(samples) for mode, samples in times.items()},
                "fields_found": sum(1 for v in answer.get("fields", {}).values() if v not in (None, [], {})),
                "read_sources": answer.get("read", {}).get("sources"),
                "page_px": list(page.shape[1::-1]),
            }
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "handler_warm": handler_warm,
    "session_run": session_run,
    "ultralytics_warm": ultralytics_warm,
    "handler_cold": handler_cold,
    "ultralytics_cold": ultralytics_cold,
    "read_timings": read_timings,
}

if __name__ == "__main__":
    task, config = sys.argv[1], json.loads(sys.argv[2])
    if config.get("cores"):  # before any import sizes a thread pool
        import os

        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: int(config["cores"])])
    print("RESULT " + json.dumps(TASKS[task](config)), flush=True)
