"""The embedded stand-in for AWS: moto's server on 127.0.0.1 holding what `template.yaml` declares.

    with StandIn("template.yaml", parameters={"PromotionMinMap5095": "0"}) as aws:
        api = aws.local_api()                       # every API route, same handlers
        aws.invoke("PromoteModelFunction", event)   # any function, any event

What exists comes from the template, not from a second list: every active resource of a type
below is created under the name CloudFormation would give it (its own name property, or a
generated one), with the settings that change behaviour (bucket versioning and CORS, table keys
and TTL, parameter values, queues). Resources of other types (roles, alarms, log groups) have no
local meaning; `Ref`/`GetAtt` still resolve to their names and ARNs.

Each function gets its template `Environment.Variables` with every intrinsic resolved against
the created names, plus `AWS_ENDPOINT_URL` (boto3 >= 1.28.57 sends every client there: no
handler needs a special case), a region and dummy credentials. While the stand-in runs, those
AWS variables are also exported process-wide, and `~/.aws` is hidden (config and credential
files point at the null device): a client created lazily, after a handler's import, still reaches
only the stand-in, and a developer's real credentials are never used. Traffic stays on loopback.

EventBridge: rules come from the template too (functions' `EventBridgeRule`/`CloudWatchEvent`
events and `AWS::Events::Rule` resources with function targets). `put_event` matches an event
against them (the pattern subset: values, prefix, suffix, anything-but, exists, numeric) and
invokes the targets synchronously. Targets that are not functions (SNS topics) are skipped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from devkit.function_host import FunctionHost
from devkit.local_api import LocalApi, api_routes
from devkit.queue_poller import EventSource, QueuePoller
from devkit.template import FunctionSpec, StackContext, StackTemplate, Unresolvable

log = logging.getLogger("devkit.stand_in")

DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# Variables that would let boto3 reach past the stand-in (profiles, shared files, the metadata service).
_HIDDEN = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
REPO_ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- EventBridge


@dataclass(frozen=True)
class Rule:
    """One rule: its pattern and the function it invokes."""

    name: str
    pattern: Mapping[str, Any]
    target: str | None  # logical id of a template function; None: a target with no local meaning


@dataclass(frozen=True)
class Delivery:
    """What happened to one event at one rule."""

    rule: str
    target: str | None
    result: Any = None
    error: str | None = None


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """EventBridge pattern matching (the subset the template uses and a few more operators)."""
    for key, expected in pattern.items():
        present = isinstance(event, Mapping) and key in event
        actual = event.get(key) if present else None
        if isinstance(expected, Mapping):
            if not present or not isinstance(actual, Mapping) or not matches(expected, actual):
                return False
        elif isinstance(expected, list):
            if not any(_matcher(m, present, actual) for m in expected):
                return False
        else:
            raise Unresolvable(f"pattern value for {key!r} must be a list or an object")
    return True


def _matcher(matcher: Any, present: bool, actual: Any) -> bool:
    if isinstance(matcher, Mapping) and "exists" in matcher:
        return present == bool(matcher["exists"])
    if not present:
        return False
    values = actual if isinstance(actual, list) else [actual]
    return any(_one(matcher, v) for v in values)


_NUMERIC = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__, "=": float.__eq__}


def _numeric(arg: list[Any], value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return all(_NUMERIC[o](float(value), float(v)) for o, v in zip(arg[::2], arg[1::2], strict=True))


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, Mapping):
        return not _one(arg, value)
    return value not in (arg if isinstance(arg, list) else [arg])


_TEXT_OPERATORS = {
    "prefix": lambda text, arg: text.startswith(str(arg)),
    "suffix": lambda text, arg: text.endswith(str(arg)),
    "equals-ignore-case": lambda text, arg: text.lower() == str(arg).lower(),
}


def _one(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, Mapping):
        return matcher == value
    ((op, arg),) = matcher.items()
    if op in _TEXT_OPERATORS:
        return isinstance(value, str) and bool(_TEXT_OPERATORS[op](value, arg))
    if op == "anything-but":
        return _anything_but(arg, value)
    if op == "numeric":
        return _numeric(arg, value)
    raise Unresolvable(f"EventBridge operator {op!r} is not supported locally")


# --------------------------------------------------------------------------- the stand-in


class StandIn:
    """moto's ThreadedMotoServer plus the template's resources, environments and rules."""

    def __init__(
        self,
        template: str | os.PathLike[str] = REPO_ROOT / "template.yaml",
        *,
        stack_name: str = "invoice-yolo-local",
        region: str = "eu-north-1",
        parameters: Mapping[str, Any] | None = None,
        export_env: bool = True,
        function_logs: TextIO | None = None,
    ) -> None:
        self.template_path = Path(template).resolve()
        self.stack = StackTemplate.load(
            self.template_path,
            StackContext(stack_name=stack_name, region=region, parameters=dict(parameters or {})),
        )
        self.region = region
        self.export_env = export_env
        self.function_logs = function_logs  # where functions' stdout (logs, metrics) goes; None: ours
        self.created: dict[str, str] = {}  # logical id -> physical name
        self.rules: list[Rule] = []
        self._server: Any = None
        self._endpoint: str | None = None
        self._hosts: dict[str, FunctionHost] = {}
        self._hosts_lock = threading.Lock()  # callers and the EventBridge delivery thread create them
        self._saved_env: dict[str, str | None] = {}

    # -- lifecycle

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> StandIn:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - dev dependency, heavy import

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self._endpoint = f"http://{host}:{port}"
        if self.export_env:
            self._export(self.aws_environment())
        try:
            self._create_resources()
            self.rules = self._rules()
        except Exception:
            self.stop()
            raise
        log.info("stand-in for AWS on %s: %s", self._endpoint, ", ".join(sorted(self.created.values())))
        return self

    def stop(self) -> None:
        for host in self._hosts.values():
            host.restore()
        self._hosts.clear()
        if self._server is not None:
            self._server.stop()
            self._server = None
        for key, old in self._saved_env.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        self._saved_env.clear()

    def _export(self, values: Mapping[str, str]) -> None:
        for key in (*values, *_HIDDEN):
            self._saved_env.setdefault(key, os.environ.get(key))
        for key in _HIDDEN:
            os.environ.pop(key, None)
        os.environ.update(values)

    @property
    def endpoint_url(self) -> str:
        if self._endpoint is None:
            raise RuntimeError("the stand-in is not running; call start()")
        return self._endpoint

    # -- environments and clients

    def aws_environment(self) -> dict[str, str]:
        """What points boto3 (and the AWS CLI) at the stand-in and nowhere else."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **DUMMY_CREDENTIALS,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """The function's environment as Lambda gives it (template variables resolved against the
        created names, an image's ENV), plus the stand-in's AWS variables."""
        return self._spec(logical_id).environment

    def _spec(self, logical_id: str) -> FunctionSpec:
        spec = self.stack.function_spec(logical_id)
        environment = {
            **spec.environment,
            **self.aws_environment(),
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
        }
        return dataclasses.replace(spec, environment=environment)

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client bound to the stand-in (explicitly, whatever the environment says)."""
        import boto3  # noqa: PLC0415

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            **kwargs,
        )

    def name(self, logical_id: str) -> str:
        """The physical name of a template resource (created or not)."""
        return self.stack.physical_name(logical_id)

    # -- resources

    def _create_resources(self) -> None:
        creators = {
            "AWS::S3::Bucket": self._bucket,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SSM::Parameter": self._parameter,
            "AWS::SQS::Queue": self._queue,
        }
        for logical_id in self.stack.of_type(*creators):
            resource = self.stack.resources[logical_id]
            props = self.stack.resolve(resource.get("Properties") or {})
            name = self.stack.physical_name(logical_id)
            creators[str(resource["Type"])](name, props)
            self.created[logical_id] = name
        self._wire_queues()

    def _bucket(self, name: str, props: Mapping[str, Any]) -> None:
        s3 = self.client("s3")
        location = {} if self.region == "us-east-1" else {"LocationConstraint": self.region}
        s3.create_bucket(Bucket=name, **({"CreateBucketConfiguration": location} if location else {}))
        if (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        bridge = (props.get("NotificationConfiguration") or {}).get("EventBridgeConfiguration") or {}
        if str(bridge.get("EventBridgeEnabled")).lower() == "true":  # S3 -> EventBridge (moto's events)
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
        rules = (props.get("CorsConfiguration") or {}).get("CorsRules")
        if rules:
            renamed = {"MaxAge": "MaxAgeSeconds"}  # CloudFormation's name -> the S3 API's
            s3.put_bucket_cors(
                Bucket=name,
                CORSConfiguration={
                    "CORSRules": [{renamed.get(k, k): v for k, v in r.items()} for r in rules]
                },
            )

    def _table(self, name: str, props: Mapping[str, Any]) -> None:
        dynamodb = self.client("dynamodb")
        args: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
            if key in props:
                args[key] = props[key]
        if args["BillingMode"] == "PROVISIONED" and "ProvisionedThroughput" not in args:
            args["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        dynamodb.create_table(**args)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and str(ttl.get("Enabled")).lower() == "true":
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )

    def _parameter(self, name: str, props: Mapping[str, Any]) -> None:
        args = {"Name": name, "Value": str(props["Value"]), "Type": props.get("Type", "String")}
        for key in ("Description", "Tier", "AllowedPattern", "DataType"):
            if key in props:
                args[key] = props[key]
        self.client("ssm").put_parameter(**args)

    def _queue(self, name: str, props: Mapping[str, Any]) -> None:
        attributes = {
            k: str(v)
            for k, v in props.items()
            if k in {"MessageRetentionPeriod", "VisibilityTimeout", "DelaySeconds", "MaximumMessageSize"}
        }
        self.client("sqs").create_queue(QueueName=name, Attributes=attributes)

    def _wire_queues(self) -> None:
        """What needs every queue to exist first: redrive policies, and the rules whose targets are
        queues, created in moto's EventBridge so that S3 -> EventBridge -> SQS runs inside moto."""
        sqs, events = self.client("sqs"), self.client("events")
        for logical_id in self.stack.of_type("AWS::SQS::Queue"):
            props = self.stack.resolve(self.stack.resources[logical_id].get("Properties") or {})
            redrive = props.get("RedrivePolicy")
            if redrive:
                url = sqs.get_queue_url(QueueName=self.created[logical_id])["QueueUrl"]
                policy = {
                    "deadLetterTargetArn": redrive["deadLetterTargetArn"],
                    "maxReceiveCount": int(redrive["maxReceiveCount"]),
                }
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(policy)})
        queue_arns = {self.stack.get_att(q, "Arn") for q in self.stack.of_type("AWS::SQS::Queue")}
        for logical_id in self.stack.of_type("AWS::Events::Rule"):
            props = self.stack.resources[logical_id].get("Properties") or {}
            targets = [
                t for t in props.get("Targets") or [] if _resolves_to(self.stack, t.get("Arn"), queue_arns)
            ]
            if not targets:
                continue
            name = self.stack.physical_name(logical_id)
            events.put_rule(Name=name, EventPattern=json.dumps(self.stack.resolve(props["EventPattern"])))
            events.put_targets(
                Rule=name, Targets=[{"Id": t["Id"], "Arn": self.stack.resolve(t["Arn"])} for t in targets]
            )

    def poller(self, function_id: str, **overrides: Any) -> QueuePoller:
        """The function's SQS event source mapping, run here (in this process's function host)."""
        source = EventSource.of(self.stack, function_id)
        options: dict[str, Any] = {
            "batch_size": source.batch_size,
            "window_s": min(source.window_s, 1.0),  # locally a short window keeps the demo brisk
            "partial_failures": source.partial_failures,
            "region": self.region,
        } | overrides
        return QueuePoller(
            self.client("sqs"),
            queue_url=self.queue_url(source.queue_logical_id),
            queue_arn=self.stack.get_att(source.queue_logical_id, "Arn"),
            invoke=lambda event: self.invoke(function_id, event),
            **options,
        )

    def spec_file(self, function_id: str, path: Path) -> Path:
        """The function's spec as JSON, for a worker process (`python -m devkit.queue_poller`)."""
        spec = dataclasses.asdict(self._spec(function_id))
        path.write_text(json.dumps({**spec, "code_root": str(spec["code_root"])}), encoding="utf-8")
        return path

    def queue_url(self, logical_id: str) -> str:
        """The URL of a template queue in the stand-in."""
        return self.client("sqs").get_queue_url(QueueName=self.created[logical_id])["QueueUrl"]

    # -- functions

    def function(self, logical_id: str) -> FunctionHost:
        """The local container of a template function (created on first use)."""
        with self._hosts_lock:  # one container per function, whichever thread asks first
            if logical_id not in self._hosts:
                if logical_id not in self.stack.functions():
                    raise KeyError(f"{logical_id} is not a function the stand-in can run")
                self._hosts[logical_id] = FunctionHost(self._spec(logical_id), log_stream=self.function_logs)
            return self._hosts[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Invoke a function with any event, as Lambda would."""
        return self.function(logical_id).invoke(event)

    def local_api(self) -> LocalApi:
        """The local API server's router, on this stand-in's function containers."""
        return LocalApi(api_routes(self.stack), self.function)

    # -- EventBridge

    def _rules(self) -> list[Rule]:
        by_arn = {self.stack.get_att(f, "Arn"): f for f in self.stack.functions()}
        rules: list[Rule] = []
        for logical_id in self.stack.functions():
            events = (self.stack.resources[logical_id].get("Properties") or {}).get("Events") or {}
            for event_id, event in events.items():
                if event.get("Type") in {"EventBridgeRule", "CloudWatchEvent"}:
                    pattern = self.stack.resolve((event.get("Properties") or {}).get("Pattern") or {})
                    rules.append(Rule(f"{logical_id}.{event_id}", pattern, logical_id))
        for logical_id in self.stack.of_type("AWS::Events::Rule"):
            props = self.stack.resources[logical_id].get("Properties") or {}
            pattern = self.stack.resolve(props.get("EventPattern") or {})
            for target in props.get("Targets") or []:
                try:
                    arn = self.stack.resolve(target.get("Arn"))
                except Unresolvable:
                    arn = None
                rules.append(Rule(logical_id, pattern, by_arn.get(str(arn))))
        return rules

    def put_event(self, event: dict[str, Any]) -> list[Delivery]:
        """Deliver one event to every matching rule's target, synchronously."""
        deliveries: list[Delivery] = []
        for rule in self.rules:
            if not matches(rule.pattern, event):
                continue
            if rule.target is None:
                log.info(
                    "event %s matched %s, whose target has no local stand-in", event.get("id"), rule.name
                )
                deliveries.append(Delivery(rule.name, None))
                continue
            try:
                result = self.invoke(rule.target, event)
            except Exception as exc:  # Lambda would retry an async invocation; locally it is reported
                log.exception("event %s: %s failed", event.get("id"), rule.target)
                deliveries.append(Delivery(rule.name, rule.target, error=f"{type(exc).__name__}: {exc}"))
            else:
                deliveries.append(Delivery(rule.name, rule.target, result=result))
        return deliveries


def _resolves_to(stack: StackTemplate, raw: Any, arns: set[str]) -> bool:
    try:
        return str(stack.resolve(raw)) in arns
    except Unresolvable:
        return False
