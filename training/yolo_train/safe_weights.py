"""Load checkpoints without running them: weights_only unpickling against an explicit allowlist.

A `.pt` is a pickle, and Ultralytics loads weights with `torch.load(weights_only=False)` by default
(`ultralytics.utils.patches.torch_load`), so a crafted file runs its `__reduce__` payload inside
the job. This module closes that in three layers:

1. `force_weights_only_env()` (before Ultralytics is imported): `TORCH_FORCE_WEIGHTS_ONLY_LOAD=1`,
   which torch honours even where a caller passes `weights_only=False` (torch/serialization.py:
   the environment wins over the argument), and `ULTRALYTICS_SAFE_LOAD=1`, Ultralytics 8.4's own
   restricted loading (`nn.tasks.torch_safe_load` -> `_SafeLoad`, no `eval` when building models).
2. `register()`: the allowlist below, added once with `torch.serialization.add_safe_globals`, so
   every `torch.load` in the process (Ultralytics' resume, strip_optimizer, ours) can read a
   legitimate Ultralytics checkpoint under (1).
3. `check(path)`: before any load, the globals the file references are read from its pickle
   opcodes (`get_unsafe_globals_in_checkpoint`, nothing is executed) and every one outside the
   allowlist is refused by name, as an `UnsafeWeights` setup error (the FailureReason says why).

The allowlist is what an Ultralytics detection checkpoint needs: `torch.nn` and Ultralytics
`nn.Module` classes (layers, heads, the model classes), Ultralytics' loss/assigner classes, the
namespace its `train_args` may be stored as, numpy scalars/dtypes and paths. Functions are never
allowed (a `builtins.getattr` some checkpoints reference is replaced by one restricted to
`nn.Module` attributes, as Ultralytics' own restricted loader does).
"""

from __future__ import annotations

import enum
import importlib
import inspect
import os
import pathlib
import pickle
import pkgutil
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from yolo_train.errors import Problem, SetupError

MAX_WEIGHTS_BYTES = 2 * 1024**3  # a YOLO x checkpoint is ~0.2 GB; anything far larger is not one
FORCE_ENV = {"TORCH_FORCE_WEIGHTS_ONLY_LOAD": "1", "ULTRALYTICS_SAFE_LOAD": "1"}
# Modules whose nn.Module subclasses a checkpoint may name (layers, heads, model classes).
MODULE_PACKAGES = ("torch.nn.modules", "ultralytics.nn.modules")
MODULE_MODULES = ("ultralytics.nn.tasks",)
# Ultralytics' plain classes a training checkpoint can carry (criterion, assigner).
CLASS_MODULES = ("ultralytics.utils.loss", "ultralytics.utils.tal")


class UnsafeWeights(SetupError):
    """A weights file that would run code when loaded, or that comes from an untrusted place."""

    title = "unsafe weights refused"
    exit_code = 4


def force_weights_only_env(environ: dict[str, str] | None = None) -> None:
    """Make every torch.load in this process (and children) weights_only; call before imports."""
    target = os.environ if environ is None else environ
    target.update(FORCE_ENV)
    target.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)  # both set is an error in torch


def _restricted_getattr(obj: Any, name: str) -> Any:
    """`getattr` for the unpickler: an enum's member, or a module's `forward*` (as checkpoints
    pickle `Detect.forward`); anything else (a route to `__globals__`, `load_state_dict`) is refused."""
    if isinstance(obj, type) and issubclass(obj, enum.Enum) and name in obj.__members__:
        return obj[name]
    if isinstance(obj, type) and issubclass(obj, nn.Module) and name.startswith("forward"):
        return getattr(obj, name)
    if isinstance(obj, nn.Module) and name.startswith("forward"):
        return getattr(type(obj), name).__get__(obj)
    raise pickle.UnpicklingError(f"getattr({type(obj).__name__}, {name!r}) is not allowed in weights")


def _classes(module_names: Iterable[str], keep: Callable[[type], bool]) -> dict[str, type]:
    found: dict[str, type] = {}
    for module_name in module_names:
        module = importlib.import_module(module_name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__.startswith(module_name) and keep(obj):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def _submodules(package: str) -> list[str]:
    module = importlib.import_module(package)
    return [package, *(f"{package}.{m.name}" for m in pkgutil.iter_modules(module.__path__))]


def allowlist() -> dict[str, Any]:
    """Qualified name -> object for every global an Ultralytics checkpoint may reference."""
    from ultralytics.utils import IterableSimpleNamespace  # noqa: PLC0415 - after offline.configure()

    is_module = lambda obj: issubclass(obj, nn.Module)  # noqa: E731
    names: dict[str, Any] = {}
    for package in MODULE_PACKAGES:
        names |= _classes(_submodules(package), is_module)
    names |= _classes(MODULE_MODULES, is_module)
    names |= _classes(CLASS_MODULES, lambda obj: True)
    scalar = np.float64(0).__reduce__()[0]  # numpy's scalar reconstructor, under both module names
    names |= {
        "numpy.dtype": np.dtype,
        "numpy.core.multiarray.scalar": scalar,
        "numpy._core.multiarray.scalar": scalar,
        "ultralytics.utils.IterableSimpleNamespace": IterableSimpleNamespace,
        "builtins.getattr": _restricted_getattr,
        "pathlib.PosixPath": pathlib.PosixPath,
        "pathlib.WindowsPath": pathlib.PosixPath,  # a path pickled on Windows reads as a local path
    }
    names |= {f"numpy.dtypes.{t.__name__}": t for t in {type(np.dtype(c)) for c in "?bBhHiIlLqQefdgFDG"}}
    return names


_registered: dict[str, Any] | None = None


def register() -> dict[str, Any]:
    """Add the allowlist to torch's safe globals once per process; returns it."""
    global _registered  # noqa: PLW0603 - one process-wide registration, like torch's own set
    if _registered is None:
        _registered = allowlist()
        torch.serialization.add_safe_globals([(obj, name) for name, obj in _registered.items()])
    return _registered


def check(path: Path, where: str = "weights") -> None:
    """Refuse `path` if its pickle names any global outside the allowlist (nothing is executed)."""
    allowed = register()
    try:
        needed = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception as exc:  # not a torch.save zip archive (e.g. a bare pickle renamed .pt)
        raise UnsafeWeights(
            [Problem("unsafe_weights", where, f"{path.name} is not a torch checkpoint archive ({exc})")]
        ) from exc
    refused = sorted(name for name in needed if name not in allowed)
    if refused:
        listed = ", ".join(refused[:10]) + (f" and {len(refused) - 10} more" if len(refused) > 10 else "")
        raise UnsafeWeights(
            [
                Problem(
                    "unsafe_weights",
                    where,
                    f"{path.name} references code outside the Ultralytics checkpoint allowlist: {listed}",
                )
            ]
        )


def load(path: Path, where: str = "weights") -> Any:
    """`torch.load` of a checked file, weights_only; an unpickling refusal is `UnsafeWeights`."""
    check(path, where)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeWeights([Problem("unsafe_weights", where, f"{path.name}: {exc}")]) from exc


def unpack_best(tarball: Path, target_dir: Path, where: str = "weights") -> Path:
    """`best.pt` out of an earlier job's model.tar.gz (one regular member, size-capped, written
    under `target_dir` only); the caller then checks it like any other weights file."""
    try:
        with tarfile.open(tarball, mode="r:gz") as tar:
            member = next((m for m in tar.getmembers() if m.name in {"best.pt", "./best.pt"}), None)
            if member is None or not member.isfile() or member.size > MAX_WEIGHTS_BYTES:
                raise UnsafeWeights(
                    [Problem("unsafe_weights", where, f"{tarball.name} has no regular best.pt under 2 GiB")]
                )
            source = tar.extractfile(member)
            assert source is not None  # a regular file member always has content
            target_dir.mkdir(parents=True, exist_ok=True)
            target = target_dir / "best.pt"
            with source, target.open("wb") as out:
                out.write(source.read())
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UnsafeWeights(
            [Problem("unsafe_weights", where, f"{tarball.name} is not a readable tar.gz: {exc}")]
        ) from exc
    return target
