"""`python -m devkit.synth ...`: see devkit.synth.cli."""

from __future__ import annotations

from devkit.synth.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
