"""`python -m bench [name ...] [--quick]`: run benchmarks; each writes its own report under docs/.

A benchmark is a module of this package with a `run(quick: bool) -> dict` function, listed in
BENCHMARKS; add new ones there.
"""

from __future__ import annotations

import argparse
import importlib

BENCHMARKS = {
    # handler vs Ultralytics vs session.run, cold start, size, load -> docs/performance.md
    "inference": "bench.inference",
    # the inbox pipeline: 1,000 invoices, 3 workers, one killed -> docs/performance-inbox.md
    "inbox": "bench.inbox",
    # FP32 vs INT8 detector: latency, mAP, parity -> models/demo/MODEL_CARD.md "FP32 and INT8"
    "int8": "bench.int8",
    # field values on held-out layouts, in-family pages and born-digital PDFs -> docs/extraction.md
    "extraction": "bench.extraction",
}
# What `python -m bench` (and `make bench`) runs without names: the inference benchmark, about ten
# minutes. The inbox load test (`make bench-inbox`, five minutes of load) and the INT8 comparison
# (`python -m bench int8`) and the reading accuracy (`make bench-extraction`) are asked for by name.
DEFAULT = ("inference",)


def main() -> None:
    """CLI."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], help="default: inference")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and requests (about two minutes)")
    args = parser.parse_args()
    for name in args.names or DEFAULT:
        print(f"== {name}", flush=True)
        importlib.import_module(BENCHMARKS[name]).run(quick=args.quick)


if __name__ == "__main__":
    main()
