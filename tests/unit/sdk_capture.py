"""Run `devkit.sdk_launch.launch` inside .venv-sdk with every AWS answer faked; print what was sent.

Used by tests/unit/test_sdk_launcher.py as `.venv-sdk/bin/python tests/unit/sdk_capture.py` with a
JSON job on stdin. The SDK builds its own botocore clients from the boto3 session it is given, so
a Stubber cannot be attached to them in advance; the fakes are registered on the session instead,
with botocore's own events, as Stubber does on a client: `before-parameter-build` records each
call's parameters (after the SDK's serialisation; botocore then validates them against the
service model), `before-call` answers it. An operation without an answer fails the run, and an
audit hook refuses any socket or DNS use, so nothing can leave the machine (the SDK's telemetry
included: the test also opts out of it through the SDK's config file).
"""

from __future__ import annotations

import copy
import json
import sys
from datetime import UTC, datetime
from typing import Any

REFUSED_EVENTS = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request")
attempts: list[str] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in REFUSED_EVENTS:
        attempts.append(f"{event} {args[1:2] if event == 'socket.connect' else args[:1]}")
        raise OSError(f"network refused in this test: {event}")


sys.addaudithook(_audit)

import boto3  # noqa: E402 - after the audit hook, so nothing imported can reach the network first
from botocore.awsrequest import AWSResponse  # noqa: E402

from devkit import sdk_launch  # noqa: E402

NOW = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)


class FakeAws:
    """Answers for the operations one launch makes; records every call."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.calls: list[dict[str, Any]] = []
        self.created: dict[str, Any] | None = None

    def record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        self.calls.append({"op": f"{service}.{model.name}", "params": copy.deepcopy(params)})
        if (service, model.name) == ("sagemaker", "CreateTrainingJob"):
            self.created = copy.deepcopy(params)

    def answer(self, model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        key = f"{model.service_model.service_name}.{model.name}"
        handler = getattr(self, "_" + key.replace(".", "_"), None)
        if handler is None:
            raise AssertionError(f"unexpected AWS call {key}")
        status, parsed = handler()
        parsed.setdefault("ResponseMetadata", {"HTTPStatusCode": status, "HTTPHeaders": {}})
        return AWSResponse("https://fake.invalid", status, {}, None), parsed

    def _cloudformation_DescribeStacks(self) -> tuple[int, dict[str, Any]]:
        outputs = [{"OutputKey": "TriggerTrainingFunctionArn", "OutputValue": self.job["function_arn"]}]
        stack = {"StackName": self.job["stack"], "StackStatus": "UPDATE_COMPLETE", "CreationTime": NOW}
        return 200, {"Stacks": [stack | {"Outputs": outputs}]}

    def _lambda_GetFunctionConfiguration(self) -> tuple[int, dict[str, Any]]:
        return 200, {"FunctionName": "trigger", "Environment": {"Variables": self.job["function_env"]}}

    def _sts_GetCallerIdentity(self) -> tuple[int, dict[str, Any]]:
        return 200, {"Arn": self.job["requester"], "Account": "123456789012", "UserId": "AIDAFAKE"}

    def _s3_HeadObject(self) -> tuple[int, dict[str, Any]]:
        return 200, {"ContentLength": 1}  # data.yaml and the code tarball exist

    def _sagemaker_DescribeTrainingJob(self) -> tuple[int, dict[str, Any]]:
        if self.created is None:  # the name-free check before the create
            return 400, {"Error": {"Code": "ValidationException", "Message": "Requested resource not found."}}
        done = {k: v for k, v in self.created.items() if k not in {"Tags", "Environment"}}
        arn = f"arn:aws:sagemaker:eu-north-1:123456789012:training-job/{done['TrainingJobName']}"
        return 200, done | {
            "TrainingJobArn": arn,
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": "Starting",
            "CreationTime": NOW,
            "ModelArtifacts": {"S3ModelArtifacts": ""},
        }

    def _sagemaker_CreateTrainingJob(self) -> tuple[int, dict[str, Any]]:
        name = self.created["TrainingJobName"] if self.created else "?"
        return 200, {"TrainingJobArn": f"arn:aws:sagemaker:eu-north-1:123456789012:training-job/{name}"}


def main() -> None:
    job = json.load(sys.stdin)
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-north-1"
    )
    fake = FakeAws(job)
    # Registered before any client exists: every client made from this session inherits them.
    session.events.register("before-parameter-build.*.*", fake.record)
    session.events.register("before-call.*.*", fake.answer)
    sent = sdk_launch.launch(job["stack"], job["body"], boto_session=session, wait=False, logs=False)
    print(
        json.dumps(
            {
                "created": fake.created,
                "calls": [c["op"] for c in fake.calls],
                "job_name": sent.training_job_name,
                "network_attempts": attempts,
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main()
