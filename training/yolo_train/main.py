"""The entrypoint: settings -> dataset check -> train/resume/skip -> artefacts, with one error path.

Exit codes: 0 done; 1 training failed; 2 bad hyperparameters; 3 bad dataset; 4 unsafe weights
(a checkpoint that would run code, yolo_train.safe_weights); 143 stopped by SIGTERM/SIGINT (the
checkpoint dir holds the last completed epoch; the next start resumes).
Every failure except a stop writes its message to the FailureReason file.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from collections.abc import Sequence

from yolo_train import dataset_check, failure, hyperparams, metric_defs, sm_env
from yolo_train import settings as settings_mod
from yolo_train.errors import SetupError, TrainingInterrupted
from yolo_train.interrupt import GracefulStop
from yolo_train.progress import Progress

log = logging.getLogger("yolo_train")


def _configure_logging() -> None:
    """Plain `message` lines on stdout: the epoch lines must reach CloudWatch unprefixed."""
    if log.handlers:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _run(settings: settings_mod.Settings, progress: Progress) -> None:
    report = dataset_check.check(settings.paths.data_yaml, settings.paths.validation)
    log.info(
        "dataset: ok train=%d images/%d boxes val=%d images/%d boxes classes=%d median_aspect=%.3f",
        report.train.images,
        report.train.boxes,
        report.val.images,
        report.val.boxes,
        len(report.names),
        report.median_aspect,
    )
    dataset_check.write_runtime_yaml(report, settings.paths.runtime_data_yaml)

    from yolo_train import offline, safe_weights  # noqa: PLC0415 - heavy imports start here, after validation

    offline.configure(allow_downloads=settings.allow_downloads)
    safe_weights.force_weights_only_env()  # before Ultralytics reads ULTRALYTICS_SAFE_LOAD at import
    from yolo_train import artifacts, runner  # noqa: PLC0415 - imports ultralytics

    offline.disable_sync()
    if not settings.allow_downloads:
        offline.skip_amp_download_check()
    safe_weights.register()
    if settings.paths.weights is not None:  # refused by name before Ultralytics ever unpickles it
        weights = settings.paths.weights
        if weights.name == settings_mod.MODEL_TARBALL:  # an earlier job's output: its best.pt
            weights = safe_weights.unpack_best(weights, settings.paths.output_dir / "base-weights")
            settings = dataclasses.replace(
                settings, paths=dataclasses.replace(settings.paths, weights=weights)
            )
        safe_weights.check(weights)
        log.info("weights: %s passed the checkpoint allowlist", weights)

    started = time.monotonic()
    runner.train(settings, progress)
    content = artifacts.produce(settings, report)
    log.info(
        metric_defs.format_final_line(
            epochs_done=content["epochs_completed"],
            epochs=content["epochs"],
            val=content,
            version=settings.model_version,
        )
    )
    log.info("done: %s in %.1f s", settings.paths.model_dir, time.monotonic() - started)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job; return the process exit code."""
    _configure_logging()
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in {"-h", "--help"} for a in args):
        print(hyperparams.help_text())
        return 0
    env_failure = settings_mod.failure_file_for(args, sm_env.read())
    stop = GracefulStop()
    stop.install()
    progress = Progress(stop)
    settings = None
    try:
        settings = settings_mod.build(args)
        env_failure = settings.paths.failure_file
        if settings.ignored_keys:
            log.info("hyperparameters: ignoring SageMaker keys %s", ", ".join(settings.ignored_keys))
        _run(settings, progress)
    except TrainingInterrupted as exc:
        log.warning(
            "interrupted: signal=%s last_checkpoint_epoch=%s checkpoint=%s%s; exiting (next start resumes)",
            exc.signame,
            progress.last_saved_epoch if progress.last_saved_epoch is not None else "none",
            settings.last_checkpoint if settings is not None else "none",
            " (after finishing a checkpoint write)" if stop.deferred else "",
        )
        return failure.EXIT_INTERRUPTED
    except SetupError as exc:
        message = failure.describe(exc)
        log.error("%s", message)
        failure.write_failure(env_failure, message)
        return exc.exit_code
    except Exception as exc:
        log.exception("training failed")
        failure.write_failure(env_failure, failure.describe(exc))
        return 1
    finally:
        stop.restore()
    return 0
