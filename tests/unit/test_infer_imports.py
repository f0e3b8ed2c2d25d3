"""The serving handler imports and answers without torch, torchvision or Ultralytics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
SERVE_VENV_PYTHON = REPO / ".venv-serve" / "bin" / "python"

# Runs in a fresh interpreter: forbids the training stack, imports the handler, answers one event.
PROBE = r"""
import importlib.abc, json, sys

FORBIDDEN = {"torch", "torchvision", "ultralytics"}

class Forbid(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ImportError(f"{name} must not be imported by the serving code")
        return None

sys.meta_path.insert(0, Forbid())

from serving import handler

class Context:
    function_name = "InferFunction"
    memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:eu-north-1:123456789012:function:InferFunction"
    aws_request_id = "probe"

with open(sys.argv[1], encoding="utf-8") as handle:
    event = json.load(handle)
if sys.argv[2]:
    event["queryStringParameters"] = {"fields": sys.argv[2]}
    event["multiValueQueryStringParameters"] = {"fields": [sys.argv[2]]}
result = handler.lambda_handler(event, Context())
loaded = sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)
report = {
    "status": result["statusCode"],
    "fields": "fields" in json.loads(result["body"]),
    "loaded": loaded,
    "boto3": "boto3" in sys.modules,
    "xray_sdk": "aws_xray_sdk.core" in sys.modules,
}
print("PROBE " + json.dumps(report))
"""


def _probe(python: Path | str, model: Path, fields: str = "") -> dict[str, object]:
    """Answer events/infer_jpeg.json in a fresh interpreter; `fields`: the option's value ("": unset)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))},
        "PYTHONPATH": os.pathsep.join(str(REPO / "functions" / d) for d in ("infer", "common")),
        "MODEL_PATH": str(model),
        "POWERTOOLS_METRICS_NAMESPACE": "Probe",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    done = subprocess.run(
        [str(python), "-c", PROBE, str(REPO / "events" / "infer_jpeg.json"), fields],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("PROBE "))
    return json.loads(line.removeprefix("PROBE "))


def test_handler_answers_with_torch_and_ultralytics_forbidden(serving_model):
    result = _probe(sys.executable, serving_model, fields="0")  # detections only: the imports, no OCR
    # boto3 waits for the first S3 use, the X-Ray SDK for the container's second invocation
    assert result == {"status": 200, "fields": False, "loaded": [], "boto3": False, "xray_sdk": False}


@pytest.mark.skipif(not SERVE_VENV_PYTHON.exists(), reason="no .venv-serve: run `make serve-venv` first")
def test_clean_install_of_the_serving_requirements_is_enough(serving_model):
    """.venv-serve holds functions/infer/requirements.txt only (what the Dockerfile installs)."""
    code = (
        "import importlib.util as u; print([m for m in ('torch', 'ultralytics', 'pytest') if u.find_spec(m)])"
    )
    check = subprocess.run(
        [str(SERVE_VENV_PYTHON), "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", "")},
    )
    assert check.stdout.strip() == "[]"
    # The default answer, values read by OCR: the image's requirements are enough for that too.
    result = _probe(SERVE_VENV_PYTHON, serving_model)
    assert (result["status"], result["fields"], result["loaded"]) == (200, True, [])
