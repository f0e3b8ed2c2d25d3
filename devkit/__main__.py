"""`python -m devkit <command>`: the project's local entry points.

demo         the main job on embedded defaults (no AWS account, no Docker)
demo-model   reproduce the shipped demo model in models/demo
family-eval  the detector on held-out layout families next to in-family pages (model card)
serve        the template's API routes on 127.0.0.1 (like `sam local start-api`)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence


def _commands() -> dict[str, Callable[[Sequence[str]], int]]:
    # Imported lazily: each command pulls in different heavy dependencies.
    def demo(argv: Sequence[str]) -> int:
        from devkit import demo as mod  # noqa: PLC0415

        return mod.main(argv) or 0

    def demo_model(argv: Sequence[str]) -> int:
        from devkit import demo_model as mod  # noqa: PLC0415

        return mod.main(argv) or 0

    def family_eval(argv: Sequence[str]) -> int:
        from devkit import family_eval as mod  # noqa: PLC0415

        return mod.main(list(argv))

    def serve(argv: Sequence[str]) -> int:
        from devkit import demo as mod  # noqa: PLC0415

        return mod.serve_main(argv)

    return {"demo": demo, "demo-model": demo_model, "family-eval": family_eval, "serve": serve}


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a subcommand."""
    args = list(sys.argv[1:] if argv is None else argv)
    commands = _commands()
    if not args or args[0] not in commands:
        print(__doc__)
        return 0 if args and args[0] in {"-h", "--help"} else 2
    return commands[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
