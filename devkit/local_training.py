"""SageMaker training jobs of the embedded stand-in, run on this machine with SageMaker's contract.

The seam is on the stand-in's side, not in the trigger function: `LocalTraining(stand_in).attach()`
takes over `CreateTrainingJob` of moto's SageMaker backend (the stand-in's account and region only)
and adds `StopTrainingJob`, which moto lacks, through `devkit.moto_sagemaker` (the one module that
touches moto's internals). The trigger's unchanged boto3 client, pointed at the
stand-in by `AWS_ENDPOINT_URL`, creates the job as it would on AWS; here it then really runs:

1. an `/opt/ml`-like tree in a temporary directory: `input/data/<channel>/` downloaded from the
   stand-in's S3 prefix, `input/config/{hyperparameters,inputdataconfig,resourceconfig}.json`,
   `code/` (the `sagemaker_submit_directory` tarball, else the repository's `training/`),
   `model/`, `output/data/`, `checkpoints/` (restored from CheckpointConfig.S3Uri);
2. `sagemaker_program` in a subprocess, as the PyTorch container's toolkit starts it: every other
   hyperparameter as `--key value`, the SM_* variables, `YOLO_TRAIN_OPT_ML` at the tree;
3. `model/` -> `model.tar.gz` (and `output/data/` -> `output.tar.gz`) uploaded to
   `<S3OutputPath>/<job>/output/`, checkpoints synced back, status Completed; or Failed with the
   FailureReason file's text; or Stopped (StopTrainingJob, MaxRuntimeInSeconds: SIGTERM, then
   SIGKILL after a grace period, as SageMaker does);
4. a "SageMaker Training Job State Change" event for each status change, delivered through the
   stand-in's rules (the promotion function gets the Completed one).

DescribeTrainingJob shows InProgress with the secondary status (Starting, Downloading, Training,
Uploading) and the latest values of the job's own MetricDefinitions, parsed from the log as it is
written. Against AWS none of this exists: the same request goes to SageMaker.

Differences from SageMaker, on purpose: no container image (the local interpreter runs the code),
no Spot (billable = training seconds), checkpoints synced at the end rather than continuously,
and the request's `Environment` map is not applied (moto does not keep it; PYTHONUNBUFFERED is set).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devkit.moto_sagemaker import JobRejected, MotoSageMaker, TrainingJob

log = logging.getLogger("devkit.local_training")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CODE = REPO_ROOT / "training"
DEFAULT_PROGRAM = "train.py"
DEFAULT_CHECKPOINT_PATH = "/opt/ml/checkpoints"
STOP_GRACE_S = 30.0  # SageMaker gives 120 s between SIGTERM and SIGKILL; locally less is plenty
FAILURE_REASON_MAX = 1024  # what SageMaker keeps of the failure file
DETAIL_TYPE = "SageMaker Training Job State Change"


class TrainingError(RuntimeError):
    """The platform (not the algorithm) failed: bad channel, unreadable code bundle, S3 error."""


@dataclass
class _Run:
    """A job this backend is running."""

    job: TrainingJob
    thread: threading.Thread | None = None
    process: subprocess.Popen[str] | None = None
    stop_requested: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def name(self) -> str:
        return self.job.name


class _Layout:
    """The `/opt/ml`-like tree of one job."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "input" / "config"
        self.data = root / "input" / "data"
        self.code = root / "code"
        self.model = root / "model"
        self.output = root / "output"
        self.output_data = self.output / "data"
        self.checkpoints = root / "checkpoints"
        self.log_file = root.parent / "train.log"
        for path in (self.config, self.data, self.code, self.model, self.output_data, self.checkpoints):
            path.mkdir(parents=True, exist_ok=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise TrainingError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _cli_value(value: Any) -> str:
    """How the SageMaker training toolkit writes a hyperparameter on the command line."""
    return str(value) if not isinstance(value, dict | list) else json.dumps(value)


def _epoch_ms(value: Any) -> Any:
    """Timestamps in EventBridge's SageMaker events are epoch milliseconds."""
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {k: _epoch_ms(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_epoch_ms(v) for v in value]
    return value


class LocalTraining:
    """Runs the stand-in's SageMaker training jobs locally (see the module docstring)."""

    def __init__(
        self,
        stand_in: Any,
        *,
        workdir: str | os.PathLike[str] | None = None,
        python: str = sys.executable,
        deliver: Callable[[dict[str, Any]], Any] | None = None,
        keep: bool = False,
        stop_grace_s: float = STOP_GRACE_S,
    ) -> None:
        self._stand_in = stand_in
        self._s3 = stand_in.client("s3")
        self._account = stand_in.stack.context.account_id
        self._region = stand_in.region
        self._deliver = deliver if deliver is not None else stand_in.put_event
        self._python = python
        self._own_workdir = workdir is None
        self.workdir = (
            Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="local-training-"))
        )
        self._keep = keep
        self._stop_grace_s = stop_grace_s
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()
        self._sagemaker = MotoSageMaker(self._account, self._region)
        self.deliveries: list[tuple[dict[str, Any], Any]] = []  # (event, what the rules returned)
        # EventBridge is asynchronous: events go out from one worker thread, in order, so that no
        # caller (a moto request thread answering StopTrainingJob) waits on a function invocation.
        self._events: queue.Queue[tuple[dict[str, Any], _Run | None] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        # The training process's environment: this process's at attach time, minus anything AWS
        # (later changes are functions' variables applied while they run, not the machine's).
        self._base_env: dict[str, str] = {}

    # ------------------------------------------------------------------ attaching to moto

    def __enter__(self) -> LocalTraining:
        return self.attach()

    def __exit__(self, *_: object) -> None:
        self.detach()

    def attach(self) -> LocalTraining:
        """Take over CreateTrainingJob/StopTrainingJob of the stand-in's SageMaker."""
        self._base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self._worker = threading.Thread(target=self._deliver_loop, name="local-eventbridge", daemon=True)
        self._worker.start()
        self._sagemaker.take_over(self._create, self._stop)
        return self

    def detach(self, timeout_s: float = 60.0) -> None:
        """Stop running jobs, wait for them, restore moto, remove the temporary tree."""
        for run in list(self._runs.values()):
            if not run.done.is_set():
                self._request_stop(run)
        for run in list(self._runs.values()):
            run.done.wait(timeout_s)
        if self._worker is not None:
            self._events.put(None)
            self._worker.join(timeout_s)
            self._worker = None
        self._sagemaker.release()
        if self._own_workdir and not self._keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ------------------------------------------------------------------ the API side (moto threads)

    def _create(self, job: TrainingJob) -> None:
        """A job moto has just stored (InProgress, Starting): run it in its own thread."""
        run = _Run(job)
        run.thread = threading.Thread(target=self._run, args=(run,), name=f"train-{run.name}", daemon=True)
        with self._lock:
            self._runs[run.name] = run
        run.thread.start()

    def _stop(self, name: str) -> None:
        job = self._sagemaker.job(name)
        run = self._runs.get(name)
        if job is None:
            raise JobRejected(f"Could not find training job '{name}'.")
        if job.status != "InProgress" or run is None:
            raise JobRejected(f"The request was rejected because the training job is in status {job.status}.")
        job.set_stopping()
        self._emit(job)
        self._request_stop(run)

    def _request_stop(self, run: _Run) -> None:
        run.stop_requested = True
        if run.process is not None and run.process.poll() is None:
            run.process.send_signal(signal.SIGTERM)

    # ------------------------------------------------------------------ waiting

    def wait(self, name: str, timeout_s: float | None = None) -> str:
        """Block until the job ended and its last event was delivered; returns its final status."""
        run = self._runs[name]
        if not run.done.wait(timeout_s):
            raise TimeoutError(f"training job {name} still running after {timeout_s} s")
        return run.job.status

    def log_path(self, name: str) -> Path:
        """The job's log (the local CloudWatch stream): the entrypoint's stdout and stderr."""
        return self.workdir / name / "train.log"

    # ------------------------------------------------------------------ the job (its own thread)

    def _run(self, run: _Run) -> None:
        job = run.job
        layout = _Layout(self.workdir / run.name / "opt_ml")
        status, secondary, message, reason = "Failed", "Failed", "Training job failed", None
        try:
            self._emit(job)  # InProgress
            job.set_secondary("Downloading", "Downloading input data", _now())
            program = self._prepare(job, layout)
            job.set_secondary("Training", "Training image download completed. Training in progress.", _now())
            job.mark_training_started(_now())
            rc, timed_out = self._train(job, run, layout, program)
            if run.stop_requested or timed_out:
                status = "Stopped"
                secondary = "MaxRuntimeExceeded" if timed_out else "Stopped"
                message = (
                    "Training job stopped" if not timed_out else "Training job exceeded MaxRuntimeInSeconds"
                )
            elif rc == 0:
                status, secondary, message = "Completed", "Completed", "Training job completed"
            else:
                reason = self._failure_reason(layout, rc)
            if status != "Failed":
                job.set_secondary("Uploading", "Uploading generated training model", _now())
                self._upload(job, layout)
        except Exception as exc:  # the platform failed (S3, code bundle): SageMaker says ClientError
            log.exception("training job %s: platform error", run.name)
            reason = f"ClientError: {exc}"[:FAILURE_REASON_MAX]
        finally:
            end = _now()
            started = job.training_started
            seconds = max(1, int((end - started).total_seconds())) if started else None
            job.set_secondary(secondary, message, end)
            job.finish(status, reason, end, seconds, seconds)  # no Spot locally: billable = training
            log.info("training job %s: %s%s", run.name, status, f" ({reason})" if reason else "")
            try:
                self._emit(job, finished=run)  # `done` is set once this event has been delivered
            except Exception:
                run.done.set()
                raise

    def _prepare(self, job: TrainingJob, layout: _Layout) -> Path:
        hyperparameters = job.hyperparameters
        channels = []
        for channel in job.channels:
            name = channel["ChannelName"]
            source = channel["DataSource"]["S3DataSource"]
            if source.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise TrainingError(f"channel {name}: only S3Prefix data sources run locally")
            count = self._download_prefix(source["S3Uri"], layout.data / name)
            if count == 0:
                raise TrainingError(f"channel {name}: no objects under {source['S3Uri']}")
            channels.append(name)
        layout.config.joinpath("hyperparameters.json").write_text(
            json.dumps(hyperparameters), encoding="utf-8"
        )
        layout.config.joinpath("inputdataconfig.json").write_text(
            json.dumps({c["ChannelName"]: {"TrainingInputMode": "File"} for c in job.channels}),
            encoding="utf-8",
        )
        layout.config.joinpath("resourceconfig.json").write_text(
            json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}), encoding="utf-8"
        )
        if job.checkpoint_uri:
            self._download_prefix(job.checkpoint_uri, layout.checkpoints)  # a restarted job resumes
        submit = _decode(hyperparameters.get("sagemaker_submit_directory", "null"))
        program = str(_decode(hyperparameters.get("sagemaker_program", json.dumps(DEFAULT_PROGRAM))))
        data: bytes | None = None
        if isinstance(submit, str) and submit.startswith("s3://"):
            bucket, key = _split_s3(submit)
            data = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        elif isinstance(submit, str) and submit.startswith("/opt/ml/"):
            # Network isolation: the tarball came in as an input channel (e.g. `code`), downloaded above.
            bundle = layout.root / Path(submit).relative_to("/opt/ml")
            if not bundle.is_file():
                raise TrainingError(f"sagemaker_submit_directory {submit} is not in an input channel")
            data = bundle.read_bytes()
        if data is not None:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                tar.extractall(layout.code, filter="data")
        else:
            shutil.copytree(
                DEFAULT_CODE, layout.code, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        entry = layout.code / program
        if not entry.is_file():
            raise TrainingError(f"sagemaker_program {program} is not in the code bundle")
        return entry

    def _download_prefix(self, uri: str, target: Path) -> int:
        bucket, prefix = _split_s3(uri)
        count = 0
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if item["Key"].endswith("/"):
                    continue
                # A prefix that names one object exactly (a base_weights .pt) gives that object
                # under its own file name, as SageMaker's S3Prefix channels do.
                relative = item["Key"][len(prefix) :].lstrip("/") or item["Key"].rsplit("/", 1)[-1]
                destination = (target / relative).resolve()
                if not destination.is_relative_to(target.resolve()):  # keys with '..' stay inside
                    raise TrainingError(f"s3://{bucket}/{item['Key']} escapes its channel")
                destination.parent.mkdir(parents=True, exist_ok=True)
                self._s3.download_file(bucket, item["Key"], str(destination))
                count += 1
        return count

    def _environment(self, job: TrainingJob, layout: _Layout, program: Path) -> dict[str, str]:
        hps = _algorithm_hyperparameters(job)
        channels = sorted(c["ChannelName"] for c in job.channels)
        # The training container never sees the stand-in or any AWS credentials.
        env = dict(self._base_env)
        env |= {
            "PYTHONUNBUFFERED": "1",
            "YOLO_TRAIN_OPT_ML": str(layout.root),
            "TRAINING_JOB_NAME": job.name,
            "TRAINING_JOB_ARN": job.arn,
            "SM_MODEL_DIR": str(layout.model),
            "SM_OUTPUT_DATA_DIR": str(layout.output_data),
            "SM_OUTPUT_DIR": str(layout.output),
            "SM_INPUT_DIR": str(layout.root / "input"),
            "SM_INPUT_CONFIG_DIR": str(layout.config),
            "SM_CHANNELS": json.dumps(channels),
            "SM_HPS": json.dumps(hps),
            "SM_CURRENT_HOST": "algo-1",
            "SM_HOSTS": json.dumps(["algo-1"]),
            "SM_NUM_GPUS": "0",
            "SM_NUM_CPUS": str(os.cpu_count() or 1),
            "SM_USER_ENTRY_POINT": program.name,
            "SM_MODULE_DIR": str(_decode(job.hyperparameters.get("sagemaker_submit_directory", '""'))),
            "SM_TRAINING_ENV": json.dumps({"job_name": job.name, "hyperparameters": hps}),
        }
        env |= {f"SM_CHANNEL_{c.upper()}": str(layout.data / c) for c in channels}
        env |= {f"SM_HP_{k.upper().replace('-', '_')}": _cli_value(v) for k, v in hps.items()}
        return env

    def _train(self, job: TrainingJob, run: _Run, layout: _Layout, program: Path) -> tuple[int, bool]:
        argv = [self._python, str(program)]
        for key, value in _algorithm_hyperparameters(job).items():
            argv += [f"--{key}", _cli_value(value)]
        limit = job.max_runtime_s
        deadline = time.monotonic() + limit if limit else None
        metrics = [(d["Name"], re.compile(d["Regex"])) for d in job.metric_definitions]
        tail: deque[str] = deque(maxlen=20)
        layout.log_file.parent.mkdir(parents=True, exist_ok=True)
        with layout.log_file.open("w", encoding="utf-8") as log_file:
            run.process = subprocess.Popen(
                argv,
                cwd=layout.code,
                env=self._environment(job, layout, program),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
            if run.stop_requested:  # a stop that came while the inputs were downloading
                run.process.send_signal(signal.SIGTERM)
            timed_out = threading.Event()
            watchdog = threading.Thread(target=self._watchdog, args=(run, deadline, timed_out), daemon=True)
            watchdog.start()
            assert run.process.stdout is not None
            for line in run.process.stdout:
                log_file.write(line)
                log_file.flush()
                tail.append(line.rstrip())
                self._record_metrics(job, metrics, line)
            rc = run.process.wait()
            watchdog.join(timeout=1)
        log.debug("training job %s exited %s; last lines:\n%s", run.name, rc, "\n".join(tail))
        return rc, timed_out.is_set()

    def _watchdog(self, run: _Run, deadline: float | None, timed_out: threading.Event) -> None:
        """MaxRuntimeInSeconds, and SIGKILL when a stopped process outlives the grace period."""
        process = run.process
        assert process is not None
        signalled_at: float | None = None
        while process.poll() is None:
            now = time.monotonic()
            if deadline is not None and now > deadline and not timed_out.is_set():
                timed_out.set()
                process.send_signal(signal.SIGTERM)
            if (run.stop_requested or timed_out.is_set()) and signalled_at is None:
                signalled_at = now
            if signalled_at is not None and now - signalled_at > self._stop_grace_s:
                process.kill()
            time.sleep(0.2)

    @staticmethod
    def _record_metrics(job: TrainingJob, metrics: list[tuple[str, re.Pattern[str]]], line: str) -> None:
        found = {}
        for name, regex in metrics:
            match = regex.search(line)
            if match:
                with contextlib.suppress(ValueError, IndexError):
                    found[name] = float(match.group(1))
        if found:
            job.record_metrics(found, _now())

    def _failure_reason(self, layout: _Layout, rc: int) -> str:
        failure = layout.output / "failure"
        text = failure.read_text(encoding="utf-8", errors="replace").strip() if failure.is_file() else ""
        return (f"AlgorithmError: {text}" if text else f"AlgorithmError: ExitCode {rc}")[:FAILURE_REASON_MAX]

    def _upload(self, job: TrainingJob, layout: _Layout) -> None:
        bucket, prefix = _split_s3(job.output_path)
        base = f"{prefix.rstrip('/')}/{job.name}/output".lstrip("/")
        for source, name in ((layout.model, "model.tar.gz"), (layout.output_data, "output.tar.gz")):
            self._s3.upload_fileobj(io.BytesIO(_tar_gz(source)), bucket, f"{base}/{name}")
        job.set_model_artifact(f"s3://{bucket}/{base}/model.tar.gz")
        if job.checkpoint_uri:
            c_bucket, c_prefix = _split_s3(job.checkpoint_uri)
            for path in sorted(p for p in layout.checkpoints.rglob("*") if p.is_file()):
                key = f"{c_prefix.rstrip('/')}/{path.relative_to(layout.checkpoints).as_posix()}".lstrip("/")
                self._s3.upload_file(str(path), c_bucket, key)

    # ------------------------------------------------------------------ events

    def _emit(self, job: TrainingJob, *, finished: _Run | None = None) -> None:
        detail = {k: v for k, v in _epoch_ms(job.describe()).items() if v is not None}
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": DETAIL_TYPE,
            "source": "aws.sagemaker",
            "account": self._account,
            "time": _now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self._region,
            "resources": [job.arn],
            "detail": detail,
        }
        self._events.put((event, finished))

    def _deliver_loop(self) -> None:
        while (item := self._events.get()) is not None:
            event, finished = item
            try:
                result = self._deliver(event)
            except Exception as exc:  # a broken target must not stop the other deliveries
                log.exception("delivering %s failed", event["id"])
                result = exc
            self.deliveries.append((event, result))
            if finished is not None:
                finished.done.set()


def _algorithm_hyperparameters(job: TrainingJob) -> dict[str, Any]:
    """The hyperparameters the program gets (decoded from JSON); sagemaker_* keys are the platform's."""
    return {k: _decode(v) for k, v in job.hyperparameters.items() if not k.startswith("sagemaker_")}


def _tar_gz(directory: Path) -> bytes:
    """A directory's contents as SageMaker tars them (paths relative to the directory)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=path.relative_to(directory).as_posix(), recursive=False)
    return out.getvalue()


@contextlib.contextmanager
def attached(stand_in: Any, **kwargs: Any) -> Iterator[LocalTraining]:
    """`with attached(stand_in) as training:` the backend for the block's duration."""
    backend = LocalTraining(stand_in, **kwargs).attach()
    try:
        yield backend
    finally:
        backend.detach()
