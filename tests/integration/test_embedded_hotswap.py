"""Hot swap on the embedded stand-in: one running inference 'container' follows the model pointer.

A finished training job is a `model.tar.gz` (model.onnx + metrics.json) in the models bucket and
its "Training Job State Change" event, delivered to the promotion function by the stand-in's
EventBridge. The model is the serving model with another `version` in its metadata: no training
here (test_embedded_system.py trains for real). The inference function's max age is lowered
from the template's 60 s to 1 s, so each test waits seconds, not minutes.

One stand-in for the module, under its own stack name: moto's state lives as long as the process,
so a second stand-in of the same stack would find its resources taken. Each test starts by
putting the template's initial pointer back.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devkit.local_api import LocalApi
from devkit.stand_in import StandIn
from invoice_core.detect.model import load_model

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("pillow_unpatched")]

JOB_PREFIX = "invoice-yolo-dev"  # TrainingJobPrefix-Stage with the template's defaults
MAX_AGE_S = 1


@dataclass
class Stack:
    aws: StandIn
    api: LocalApi
    page: bytes
    build_model: Callable[[str], Path]
    event: Callable[[str], dict[str, Any]]

    @property
    def pointer_name(self) -> str:
        return self.aws.name("ModelPointerParameter")

    def reset_pointer(self) -> None:
        """The template's initial value: the baked-in model, nothing to roll back to."""
        initial = self.aws.stack.resources["ModelPointerParameter"]["Properties"]["Value"]
        ssm = self.aws.client("ssm")
        ssm.put_parameter(Name=self.pointer_name, Value=initial, Type="String", Overwrite=True)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        payload = json.dumps(body).encode() if body is not None else b""
        headers = [("Content-Type", "application/json")] if body is not None else []
        status, _, out = self.api.dispatch(method, path, headers, payload)
        return status, json.loads(out)

    def infer(self) -> dict[str, Any]:
        """POST /infer once the pointer's cache has aged out; the `model` block of the answer."""
        time.sleep(MAX_AGE_S + 0.1)
        headers = [("Content-Type", "image/jpeg")]
        status, headers, out = self.api.dispatch("POST", "/infer?fields=0", headers, self.page)  # no OCR
        body = json.loads(out)
        assert status == 200, body
        assert dict(headers)["X-Model-Version"] == body["model"]["version"]
        return body["model"]

    def finish_job(self, job: str, map50_95: float) -> dict[str, Any]:
        """A completed job's artefact and event, as SageMaker leaves them; the promotion outcome."""
        buffer = io.BytesIO()
        metrics = json.dumps({"mAP50-95": map50_95, "mAP50": map50_95 + 0.2, "version": job}).encode()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            tar.add(self.build_model(job), arcname="model.onnx")
            info = tarfile.TarInfo("metrics.json")
            info.size = len(metrics)
            tar.addfile(info, io.BytesIO(metrics))
        models, key = self.aws.name("ModelsBucket"), f"training-output/{job}/output/model.tar.gz"
        self.aws.client("s3").put_object(Bucket=models, Key=key, Body=buffer.getvalue())
        event = self.event("promote_training_completed")
        event["detail"]["TrainingJobName"] = job
        event["detail"]["ModelArtifacts"]["S3ModelArtifacts"] = f"s3://{models}/{key}"
        [delivery] = [d for d in self.aws.put_event(event) if d.target == "PromoteModelFunction"]
        assert delivery.error is None, delivery.error
        return delivery.result


@pytest.fixture(scope="module")
def stack(
    model_version: Callable[[str], Path], api_event: Callable[[str], dict[str, Any]]
) -> Iterator[Stack]:
    # Baked-in baseline off: these tests promote small synthetic models on purpose.
    gate = {"PromotionMinMap5095": "0.3", "PromotionBakedInMap5095": "0"}
    with StandIn(stack_name="invoice-yolo-hotswap", parameters=gate) as aws:
        infer = aws.function("InferFunction")  # the 'container' /infer runs in, before its cold start
        infer.spec = dataclasses.replace(
            infer.spec, environment={**infer.spec.environment, "MODEL_POINTER_MAX_AGE_S": str(MAX_AGE_S)}
        )
        page = base64.b64decode(api_event("infer_jpeg")["body"])
        yield Stack(aws, aws.local_api(), page, model_version, api_event)


def _baked_in_version(stack: Stack) -> str:
    path = Path(stack.aws.function("InferFunction").spec.environment["MODEL_PATH"])
    return load_model(path, intra_op_threads=1).info.version


def test_infer_follows_promotions_and_rollbacks_without_a_restart(stack: Stack) -> None:
    baked_in = _baked_in_version(stack)
    models = stack.aws.name("ModelsBucket")
    job1, job2 = f"{JOB_PREFIX}-20261122100001-aaaaaa", f"{JOB_PREFIX}-20261122100002-bbbbbb"
    stack.reset_pointer()

    first = stack.infer()
    container = sys.modules["serving.handler"]  # the function's module, imported by that first call
    assert (first["version"], first.get("fallback_reason")) == (baked_in, None)

    assert stack.finish_job(job1, 0.5)["outcome"] == "promoted"
    assert stack.infer() == {
        "name": "invoice-fields",
        "version": job1,
        "source": f"s3://{models}/models/{job1}/model.onnx",
    }

    assert stack.finish_job(job2, 0.55)["outcome"] == "promoted"
    assert stack.infer()["version"] == job2

    status, body = stack.call("POST", "/models/rollback", {"reason": "hot swap test"})
    assert (status, body["current"]["version"]) == (200, job1)
    assert stack.infer()["version"] == job1

    status, body = stack.call("POST", "/models/rollback")
    assert (status, body["current"]["model_uri"]) == (200, None)
    back = stack.infer()
    assert (back["version"], back.get("fallback_reason")) == (baked_in, None)
    assert sys.modules["serving.handler"] is container  # the same container all along


def test_a_deleted_pointer_serves_the_baked_in_model_and_an_unreadable_one_keeps_the_current(
    stack: Stack,
) -> None:
    baked_in = _baked_in_version(stack)
    job = f"{JOB_PREFIX}-20261122100003-cccccc"
    stack.reset_pointer()
    assert stack.finish_job(job, 0.5)["outcome"] == "promoted"
    assert stack.infer()["version"] == job
    ssm = stack.aws.client("ssm")
    promoted = ssm.get_parameter(Name=stack.pointer_name)["Parameter"]["Value"]

    ssm.put_parameter(Name=stack.pointer_name, Value="{truncated", Type="String", Overwrite=True)
    kept = stack.infer()
    assert kept["version"] == job and "is not a pointer document" in kept["fallback_reason"]

    ssm.delete_parameter(Name=stack.pointer_name)
    fallback = stack.infer()
    assert fallback["version"] == baked_in
    assert fallback["fallback_reason"] == (
        f"model pointer {stack.pointer_name} does not exist; serving the baked-in model"
    )

    ssm.put_parameter(Name=stack.pointer_name, Value=promoted, Type="String")
    restored = stack.infer()
    assert (restored["version"], restored.get("fallback_reason")) == (job, None)
