"""Keep Ultralytics off the network, in code, before it is imported.

Every network touch seen in train/val/export (see shared field notes) has a switch here:
the import-time online check, settings sync/analytics, pip auto-install, and the font download
that `check_font` attempts even offline (a local TTF in the config dir stops it).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

_FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")


def _bundled_font() -> Path | None:
    """DejaVu Sans as shipped inside matplotlib (an Ultralytics dependency): no download needed."""
    try:
        import matplotlib  # noqa: PLC0415 - only needed to locate its data dir

        font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    except ImportError:  # pragma: no cover - matplotlib is a hard dependency of Ultralytics
        return None
    return font if font.is_file() else None


def configure(config_dir: str | os.PathLike[str] | None = None, *, allow_downloads: bool = False) -> Path:
    """Set the environment so a later `import ultralytics` makes no network call.

    Returns the Ultralytics config directory. Call before importing ultralytics; calling
    after is still useful (fonts, settings) but the import-time check has already run.
    `allow_downloads=True` lifts only the weights/asset block, for jobs that have internet and
    ask for Ultralytics' named pretrained weights.
    """
    base = Path(
        config_dir
        or os.environ.get("YOLO_CONFIG_DIR")
        or Path(tempfile.gettempdir()) / "invoice-yolo" / "ultralytics-config"
    )
    base.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_CONFIG_DIR"] = str(base)
    os.environ.setdefault("MPLCONFIGDIR", str(base / "matplotlib"))
    os.environ["YOLO_OFFLINE"] = "0" if allow_downloads else "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"  # never pip-install at run time
    os.environ["ULTRALYTICS_SKIP_REQUIREMENTS_CHECKS"] = "1"
    os.environ.setdefault("YOLO_VERBOSE", "True")

    user_dir = base / "Ultralytics"  # what ultralytics.utils.get_user_config_dir() resolves to
    user_dir.mkdir(parents=True, exist_ok=True)
    font = _bundled_font()
    if font is not None:
        for name in _FONT_NAMES:
            target = user_dir / name
            if not target.exists():
                shutil.copyfile(font, target)

    if "ultralytics" in sys.modules:
        disable_sync()
    return base


def disable_sync() -> None:
    """Turn off analytics/settings sync (call after ultralytics is imported)."""
    from ultralytics.utils import SETTINGS  # noqa: PLC0415 - import only after configure()

    if SETTINGS.get("sync", False):
        SETTINGS.update(sync=False)


def skip_amp_download_check() -> None:
    """Keep AMP on CUDA without Ultralytics' AMP self-test, which downloads yolo26n.pt.

    Offline that download fails only after connect timeouts and retries (minutes on a
    network-isolated job). The self-test guards against a few old consumer GPUs; SageMaker's
    GPU instances are not among them, and `--amp false` remains the switch if a run shows NaNs.
    """
    from ultralytics.engine import trainer  # noqa: PLC0415 - import only after configure()

    def amp_without_download(model: object) -> bool:
        device = next(model.parameters()).device  # type: ignore[attr-defined]
        return device.type not in {"cpu", "mps"}  # Ultralytics' rule: AMP only on accelerators

    trainer.check_amp = amp_without_download
