"""PDF bytes -> one BGR image per page, rendered with PDFium in a child process under limits.

Budgets, all enforced before or while the work happens, never after:
- pages: the page count (and every page's size) is read before anything is drawn;
- pixels: ONE budget for the request, all pages together, checked from the page sizes;
- resolution: a page is drawn only as large as its reader needs (`max_side`, e.g. a small multiple
  of the model's input; never above `dpi`); the boxes are still reported in the `dpi` frame;
- time and memory: a content stream can inflate to millions of drawing operators (seconds to
  minutes of PDFium) or to an image that needs gigabytes. PDFium runs in a forked child with
  RLIMIT_CPU and RLIMIT_AS (what it inherits plus `memory_mb`), killed at a wall-clock deadline
  too; anything it does not survive is `RenderLimitExceeded`, a 422, and the parent is untouched.
Fork from the warm parent is cheap (the child shares its pages copy-on-write; PDFium is already
loaded); the pixels come back through a pipe. PDFium is not thread-safe: renders are serialised.
"""

from __future__ import annotations

import json
import math
import os
import resource
import select
import signal
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from invoice_core.detect.decode import DecodedImage, to_bgr8
from invoice_core.errors import (
    InputRejected,
    InputTooLarge,
    RenderLimitExceeded,
    TooManyPixels,
    UndecodableInput,
)
from invoice_core.knobs import RenderBudget

POINTS_PER_INCH = 72.0
PDF_MAGIC = b"%PDF-"
_PDFIUM_LOCK = threading.Lock()
_FRAME = struct.Struct(">I")  # length prefix of each JSON header the child sends
_MAX_HEADER = 1 << 16
_REFUSALS: dict[str, type[InputRejected]] = {
    cls.__name__: cls for cls in (UndecodableInput, InputTooLarge, TooManyPixels, RenderLimitExceeded)
}
_CHILD_FAILED = 70  # exit status of a child that could not even report its failure


def is_pdf(data: bytes) -> bool:
    """PDF files start with `%PDF-` (some writers put junk first; PDFium allows 1 KiB of it)."""
    return PDF_MAGIC in data[:1024]


def render_pdf(
    data: bytes,
    *,
    dpi: int,
    max_pages: int,
    max_pixels: int,
    max_side: int | None = None,
    budget: RenderBudget | None = RenderBudget(),
) -> list[DecodedImage]:
    """Render every page (up to `max_pages`, else 413) at `dpi`, or smaller so that the long side
    is at most `max_side` pixels; `max_pixels` bounds the rendered pixels of all pages together."""
    import pypdfium2  # noqa: F401, PLC0415 - 65 ms, paid by the first PDF; loaded before a fork

    work = lambda: _render_pages(data, dpi, max_pages, max_pixels, max_side)  # noqa: E731
    with _PDFIUM_LOCK:
        if budget is None:
            return list(work())
        return _in_child(work, budget, max_pixels)


# ---------------------------------------------------------------------------------------- rendering


def _render_pages(
    data: bytes, dpi: int, max_pages: int, max_pixels: int, max_side: int | None
) -> Iterator[DecodedImage]:
    import pypdfium2 as pdfium  # noqa: PLC0415 - loaded by render_pdf

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise UndecodableInput(
            f"cannot open PDF ({exc}); encrypted or corrupt PDFs are not supported"
        ) from exc
    try:
        count = len(document)
        if count == 0:
            raise UndecodableInput("PDF has no pages")
        if count > max_pages:
            raise InputTooLarge(f"PDF has {count} pages; the limit is {max_pages}")
        plan = [_plan_page(document, index, count, dpi, max_side) for index in range(count)]
        total = sum(width * height for _, (width, height), _ in plan)
        if total > max_pixels:
            raise TooManyPixels(
                f"the {count} page(s) render to {total:,} pixels in all; the limit is {max_pixels:,}"
            )
        for index, (scale, _, nominal) in enumerate(plan):
            yield _render_page(document, index, count, scale, nominal)
    finally:
        document.close()


def _plan_page(
    document: object, index: int, count: int, dpi: int, max_side: int | None
) -> tuple[float, tuple[int, int], tuple[int, int]]:
    """(render scale, rendered size, size at `dpi`) from the page size alone, nothing drawn."""
    import pypdfium2 as pdfium  # noqa: PLC0415

    try:
        width_pt, height_pt = document.get_page_size(index)  # type: ignore[attr-defined]
    except pdfium.PdfiumError as exc:  # the page tree's /Count promised more pages than it holds
        raise UndecodableInput(
            f"PDF says it has {count} pages but page {index + 1} cannot be read (corrupt page tree)"
        ) from exc
    if not (width_pt > 0 and height_pt > 0):
        raise UndecodableInput(f"page {index + 1} has no area")
    scale = dpi / POINTS_PER_INCH
    nominal = _pixels(width_pt, height_pt, scale)
    if max_side:  # (1 - 1e-9): so that rounding up never makes the long side max_side + 1
        scale = min(scale, max_side / max(width_pt, height_pt) * (1 - 1e-9))
    return scale, _pixels(width_pt, height_pt, scale), nominal


def _pixels(width_pt: float, height_pt: float, scale: float) -> tuple[int, int]:
    """The bitmap size PDFium (pypdfium2) renders a page at `scale`: each side rounded up."""
    return max(1, math.ceil(width_pt * scale)), max(1, math.ceil(height_pt * scale))


def _render_page(
    document: object, index: int, count: int, scale: float, nominal: tuple[int, int]
) -> DecodedImage:
    import pypdfium2 as pdfium  # noqa: PLC0415

    try:
        page = document[index]  # type: ignore[index]
    except pdfium.PdfiumError as exc:
        raise UndecodableInput(
            f"PDF says it has {count} pages but page {index + 1} cannot be loaded"
        ) from exc
    try:
        bitmap = page.render(scale=scale)  # 3-byte BGR on white, what OpenCV expects
        try:
            pixels = to_bgr8(bitmap.to_numpy().copy())
        finally:
            bitmap.close()
    except pdfium.PdfiumError as exc:
        raise UndecodableInput(f"cannot render page {index + 1}: {exc}") from exc
    finally:
        page.close()
    return DecodedImage(bgr=pixels, width=nominal[0], height=nominal[1], format="pdf")


# ---------------------------------------------------------------------------------------- the child


def _in_child(
    work: Callable[[], Iterator[DecodedImage]], budget: RenderBudget, max_pixels: int
) -> list[DecodedImage]:
    """Run `work` in a forked child under `budget`; its pages (or its refusal) come back by pipe."""
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no process to spare (EAGAIN, ENOMEM): a server fault, not the document's
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        _child(work, budget, write_fd)
    os.close(write_fd)
    deadline = time.monotonic() + budget.wall_s
    try:
        return _receive(read_fd, deadline, max_pixels)
    except _ChildLost:
        pass  # how it ended says why, below
    finally:
        os.close(read_fd)
        ended = _reap(pid, deadline)
    raise _limit_error(ended, budget)


def _child(work: Callable[[], Iterator[DecodedImage]], budget: RenderBudget, fd: int) -> None:
    status = 0
    try:
        _limit_self(budget)
        with os.fdopen(fd, "wb") as out:
            try:
                for page in work():
                    pixels = np.ascontiguousarray(page.bgr)
                    _send(out, {"shape": pixels.shape, "width": page.width, "height": page.height})
                    out.write(memoryview(pixels).cast("B"))
                _send(out, {"done": True})
            except InputRejected as exc:
                _send(out, {"refusal": type(exc).__name__, "message": exc.message})
            except MemoryError:
                _send(out, {"refusal": "RenderLimitExceeded", "message": _memory_message(budget)})
    except BaseException:  # whatever happened, the child must never run on as a copy of the parent
        status = _CHILD_FAILED
    finally:
        os._exit(status)


def _limit_self(budget: RenderBudget) -> None:
    """CPU seconds and address space for this process (the child), no core files."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    hard = budget.cpu_s + 1 if cpu_hard == resource.RLIM_INFINITY else min(cpu_hard, budget.cpu_s + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (min(budget.cpu_s, hard), hard))
    statm = Path("/proc/self/statm").read_text(encoding="ascii")  # the virtual size, in pages, first
    inherited = int(statm.split()[0]) * resource.getpagesize()
    _, as_hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = inherited + budget.memory_mb * 1024 * 1024
    if as_hard != resource.RLIM_INFINITY:
        limit = min(limit, as_hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, as_hard))


def _send(out: object, header: dict[str, object]) -> None:
    raw = json.dumps(header).encode()
    out.write(_FRAME.pack(len(raw)) + raw)  # type: ignore[attr-defined]


class _ChildLost(Exception):
    """The pipe ended (or the deadline passed) before the child said it was done."""


def _receive(fd: int, deadline: float, max_pixels: int) -> list[DecodedImage]:
    pages: list[DecodedImage] = []
    received = 0
    while True:
        (size,) = _FRAME.unpack(_read(fd, bytearray(_FRAME.size), deadline))
        if size > _MAX_HEADER:
            raise _ChildLost
        header = json.loads(_read(fd, bytearray(size), deadline))
        if header.get("done"):
            return pages
        if "refusal" in header:
            raise _REFUSALS.get(header["refusal"], UndecodableInput)(str(header["message"]))
        height, width, channels = (int(n) for n in header["shape"])
        received += height * width
        if channels != 3 or received > max_pixels:  # the child checked; a broken one is not trusted
            raise _ChildLost
        pixels = np.empty((height, width, 3), dtype=np.uint8)
        _read(fd, memoryview(pixels).cast("B"), deadline)
        pages.append(DecodedImage(bgr=pixels, width=header["width"], height=header["height"], format="pdf"))


def _read(fd: int, buffer: bytearray | memoryview, deadline: float) -> bytearray | memoryview:
    """Fill `buffer` from the pipe by the deadline, or raise _ChildLost."""
    view = memoryview(buffer)
    done = 0
    while done < len(view):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise _ChildLost
        got = os.readv(fd, [view[done:]])
        if got == 0:
            raise _ChildLost
        done += got
    return buffer


def _reap(pid: int, deadline: float) -> str:
    """Wait for the child until the deadline, then kill it; how it ended: `exited`, `killed` (by
    us, at the deadline), `cpu` (RLIMIT_CPU) or `crashed` (a signal or a failure status)."""
    killed = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            killed = True
            break
        time.sleep(0.001)
    if killed:
        return "killed"
    if os.WIFSIGNALED(status):
        return "cpu" if os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL) else "crashed"
    return "exited" if os.waitstatus_to_exitcode(status) == 0 else "crashed"


def _limit_error(ended: str, budget: RenderBudget) -> RenderLimitExceeded:
    if ended == "cpu":  # SIGXCPU at the soft limit, SIGKILL at the hard one a second later
        return RenderLimitExceeded(f"rendering the PDF used more than {budget.cpu_s} s of CPU time; stopped")
    if ended == "killed":
        return RenderLimitExceeded(f"rendering the PDF took longer than {budget.wall_s:g} s; stopped")
    return RenderLimitExceeded(_memory_message(budget))


def _memory_message(budget: RenderBudget) -> str:
    return f"rendering the PDF failed: it needs more than {budget.memory_mb} MB or PDFium cannot draw it"
