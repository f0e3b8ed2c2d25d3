"""The one reader of `template.yaml`: parsing, intrinsics, names, and what each function runs.

Used by the local API server, the embedded stand-in and the demo. `load_template` parses with
cfn-lint's decoder (short-form tags included); `StackTemplate` binds the parsed template to one
stack context and gives what a stand-in for a *deployed* stack needs: the physical names
CloudFormation would give resources that name none, `Ref`/`Fn::GetAtt` per resource type, the
intrinsics an `Environment` block uses here (`Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::If` with
Conditions, `Fn::Join`, `Fn::FindInMap`, `Fn::Select`, `Fn::Split`, `AWS::NoValue`), and each
function's `FunctionSpec` (handler and code root: `Handler` + `CodeUri` for zip functions,
`ImageConfig.Command` or the Dockerfile's `CMD` for image functions). Pure: no AWS calls, no network.

`StackContext.logical_names` is `sam local`'s convention, for the local API server on its own
(no stand-in creates anything): a resource's `Ref` is its logical id.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devkit.function_host import ACCOUNT_ID, FunctionSpec

__all__ = ["NO_VALUE", "FunctionSpec", "StackContext", "StackTemplate", "Unresolvable", "load_template"]

log = logging.getLogger("devkit.template")


def load_template(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a SAM/CloudFormation template, short-form tags (`!Ref`, `!Sub`) included."""
    from cfnlint.decode import cfn_yaml  # noqa: PLC0415 - dev tool dependency, loaded when needed

    return cfn_yaml.load(str(path))


class Unresolvable(ValueError):
    """An intrinsic the stand-in cannot evaluate (an import from another stack, an unknown attribute)."""


class _NoValue:
    """`AWS::NoValue`: the property or list item disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()

# Per type: the property that names a resource, and how CloudFormation generates a name without one.
_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SSM::Parameter": "Name",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Events::Rule": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Serverless::Api": "Name",
}


@dataclass(frozen=True)
class StackContext:
    """Where the pretend stack lives: the pseudo parameters and the parameter overrides."""

    stack_name: str = "invoice-yolo-local"
    region: str = "eu-north-1"
    account_id: str = ACCOUNT_ID
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"
    parameters: Mapping[str, Any] = field(default_factory=dict)
    logical_names: bool = False  # True: every resource is named by its logical id (`sam local`)


class StackTemplate:
    """A parsed template bound to one stack context: physical names and resolved values."""

    def __init__(
        self, template: Mapping[str, Any], context: StackContext, *, path: Path | None = None
    ) -> None:
        self.template = template
        self.context = context
        self.path = path
        self.resources: Mapping[str, Mapping[str, Any]] = template.get("Resources") or {}
        self.parameters = self._parameters(context.parameters)
        self._conditions: dict[str, bool] = {}
        self._names: dict[str, str] = {}

    @classmethod
    def load(cls, path: str | os.PathLike[str], context: StackContext | None = None) -> StackTemplate:
        resolved = Path(path).resolve()
        return cls(load_template(resolved), context or StackContext(), path=resolved)

    # ------------------------------------------------------------------ parameters and conditions

    def _parameters(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        declared = self.template.get("Parameters") or {}
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise ValueError(f"unknown template parameters: {unknown}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            raw = overrides.get(name, spec.get("Default"))
            if raw is None:
                raise ValueError(f"parameter {name} has no Default; pass a value")
            allowed = spec.get("AllowedValues")
            if allowed is not None and str(raw) not in {str(a) for a in allowed}:
                raise ValueError(f"parameter {name}={raw!r} is not one of {list(allowed)}")
            if spec.get("Type") == "CommaDelimitedList":
                values[name] = raw if isinstance(raw, list) else [s.strip() for s in str(raw).split(",")]
            else:
                values[name] = str(raw)
        return values

    def condition(self, name: str) -> bool:
        """Evaluate a named Condition (cached)."""
        if name not in self._conditions:
            conditions = self.template.get("Conditions") or {}
            if name not in conditions:
                raise Unresolvable(f"no Condition named {name}")
            self._conditions[name] = bool(self._condition_value(conditions[name]))
        return self._conditions[name]

    def _condition_value(self, raw: Any) -> bool:
        if isinstance(raw, Mapping) and len(raw) == 1:
            ((fn, arg),) = raw.items()
            if fn == "Fn::Equals":
                left, right = (self.resolve(a) for a in arg)
                return str(left) == str(right)
            if fn == "Fn::Not":
                return not self._condition_value(arg[0])
            if fn == "Fn::And":
                return all(self._condition_value(a) for a in arg)
            if fn == "Fn::Or":
                return any(self._condition_value(a) for a in arg)
            if fn == "Condition":
                return self.condition(str(arg))
        raise Unresolvable(f"not a condition: {raw!r}")

    def active(self, logical_id: str) -> bool:
        """False when the resource's Condition is false (CloudFormation would not create it)."""
        condition = self.resources[logical_id].get("Condition")
        return True if condition is None else self.condition(str(condition))

    # ------------------------------------------------------------------ names, Ref, GetAtt

    def of_type(self, *types: str) -> list[str]:
        """Logical ids of the active resources of these types, in template order."""
        return [lid for lid, res in self.resources.items() if res.get("Type") in types and self.active(lid)]

    def physical_name(self, logical_id: str) -> str:
        """The resource's own name property, or the kind of name CloudFormation generates."""
        if self.context.logical_names:
            return logical_id
        if logical_id not in self._names:
            resource = self.resources[logical_id]
            rtype = str(resource.get("Type"))
            prop = _NAME_PROPERTY.get(rtype)
            explicit = (resource.get("Properties") or {}).get(prop) if prop else None
            self._names[logical_id] = (
                str(self.resolve(explicit))
                if explicit is not None
                else self._generated_name(logical_id, rtype)
            )
        return self._names[logical_id]

    def _generated_name(self, logical_id: str, rtype: str) -> str:
        # Deterministic stand-in for CloudFormation's random suffix: stable names across runs.
        digest = hashlib.sha256(f"{self.context.stack_name}/{logical_id}".encode()).hexdigest()
        if rtype == "AWS::S3::Bucket":  # lower case, at most 63 characters
            stem = f"{self.context.stack_name}-{logical_id}".lower()[: 63 - 13]
            return f"{stem}-{digest[:12]}"
        if rtype == "AWS::SSM::Parameter":
            return f"CFN-{logical_id}-{digest[:12].upper()}"
        return f"{self.context.stack_name}-{logical_id}-{digest[:12].upper()}"[:64]

    def ref(self, name: str) -> Any:
        """What `Ref` gives for a parameter, a pseudo parameter or a resource."""
        ctx = self.context
        pseudo = {
            "AWS::StackName": ctx.stack_name,
            "AWS::Region": ctx.region,
            "AWS::AccountId": ctx.account_id,
            "AWS::Partition": ctx.partition,
            "AWS::URLSuffix": ctx.url_suffix,
            "AWS::StackId": f"arn:{ctx.partition}:cloudformation:{ctx.region}:{ctx.account_id}:stack/"
            f"{ctx.stack_name}/00000000-0000-0000-0000-000000000000",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            rtype = self.resources[name].get("Type")
            if rtype in {"AWS::SNS::Topic", "AWS::Serverless::LayerVersion"}:
                return self.get_att(name, "Arn")
            if rtype == "AWS::SQS::Queue":
                return self.get_att(name, "QueueUrl")
            return self.physical_name(name)
        raise Unresolvable(f"Ref to unknown name {name}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        """The attributes the stand-in can know without creating the resource: ARNs and names."""
        if logical_id not in self.resources:
            raise Unresolvable(f"GetAtt of unknown resource {logical_id}")
        ctx = self.context
        rtype = self.resources[logical_id].get("Type")
        name = self.physical_name(logical_id)
        region_account = f"{ctx.region}:{ctx.account_id}"
        arns = {
            "AWS::S3::Bucket": f"arn:{ctx.partition}:s3:::{name}",
            "AWS::DynamoDB::Table": f"arn:{ctx.partition}:dynamodb:{region_account}:table/{name}",
            "AWS::SSM::Parameter": f"arn:{ctx.partition}:ssm:{region_account}:parameter/{name.lstrip('/')}",
            "AWS::SQS::Queue": f"arn:{ctx.partition}:sqs:{region_account}:{name}",
            "AWS::SNS::Topic": f"arn:{ctx.partition}:sns:{region_account}:{name}",
            "AWS::IAM::Role": f"arn:{ctx.partition}:iam::{ctx.account_id}:role/{name}",
            "AWS::Lambda::Function": f"arn:{ctx.partition}:lambda:{region_account}:function:{name}",
            "AWS::Serverless::Function": f"arn:{ctx.partition}:lambda:{region_account}:function:{name}",
            "AWS::Events::Rule": f"arn:{ctx.partition}:events:{region_account}:rule/{name}",
            "AWS::Logs::LogGroup": f"arn:{ctx.partition}:logs:{region_account}:log-group:{name}:*",
            "AWS::Serverless::LayerVersion": f"arn:{ctx.partition}:lambda:{region_account}:layer:{name}:1",
        }
        if attribute == "Arn" and rtype in arns:
            return arns[rtype]
        if rtype == "AWS::SQS::Queue" and attribute == "QueueName":
            return name
        if rtype == "AWS::SQS::Queue" and attribute == "QueueUrl":
            return f"https://sqs.{ctx.region}.{ctx.url_suffix}/{ctx.account_id}/{name}"
        if rtype == "AWS::S3::Bucket" and attribute in {"DomainName", "RegionalDomainName"}:
            return f"{name}.s3.{ctx.region}.{ctx.url_suffix}"
        raise Unresolvable(f"GetAtt {logical_id}.{attribute} ({rtype}) is not known locally")

    # ------------------------------------------------------------------ values

    def resolve(self, raw: Any) -> Any:
        """Evaluate every intrinsic in `raw` (recursively); NO_VALUE entries are dropped."""
        if isinstance(raw, Mapping):
            if len(raw) == 1:
                ((key, arg),) = raw.items()
                if key == "Ref" or key.startswith("Fn::"):
                    return self._intrinsic(str(key), arg)
            out = {str(k): self.resolve(v) for k, v in raw.items()}
            return {k: v for k, v in out.items() if v is not NO_VALUE}
        if isinstance(raw, list):
            return [v for v in (self.resolve(item) for item in raw) if v is not NO_VALUE]
        if isinstance(raw, str):
            return str(raw)  # cfn-lint's str nodes as plain str
        return raw

    def _intrinsic(self, fn: str, arg: Any) -> Any:
        handlers = {
            "Ref": lambda a: self.ref(str(a)),
            "Fn::GetAtt": self._get_att_fn,
            "Fn::Sub": self._sub,
            "Fn::If": lambda a: self.resolve(a[1] if self.condition(str(a[0])) else a[2]),
            "Fn::Join": lambda a: str(a[0]).join(str(v) for v in self._list(a[1])),
            "Fn::Select": lambda a: self._list(a[1])[int(self.resolve(a[0]))],
            "Fn::Split": lambda a: str(self.resolve(a[1])).split(str(a[0])),
            "Fn::FindInMap": self._find_in_map,
            "Fn::GetAZs": lambda _: [f"{self.context.region}{zone}" for zone in "abc"],
        }
        if fn in handlers:
            return handlers[fn](arg)
        if fn in {"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"}:
            return self._condition_value({fn: arg})
        raise Unresolvable(f"{fn} is not supported by the local stand-in")

    def _get_att_fn(self, arg: Any) -> str:
        target, _, attribute = (".".join(arg) if isinstance(arg, list) else str(arg)).partition(".")
        return self.get_att(target, attribute)

    def _find_in_map(self, arg: Any) -> Any:
        mapping, top, second = (self.resolve(a) for a in arg)
        try:
            return self.resolve(self.template["Mappings"][mapping][top][second])
        except KeyError as exc:
            raise Unresolvable(f"FindInMap {mapping}/{top}/{second}: no such entry") from exc

    def _list(self, raw: Any) -> list[Any]:
        value = self.resolve(raw)
        if not isinstance(value, list):
            raise Unresolvable(f"expected a list, got {value!r}")
        return value

    def _sub(self, arg: Any) -> str:
        text, variables = (arg[0], arg[1]) if isinstance(arg, list) else (arg, {})
        local = {str(k): self.resolve(v) for k, v in (variables or {}).items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} is an escaped ${Literal}
                return "${" + name[1:] + "}"
            if name in local:
                return str(local[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                return self.get_att(*name.split(".", 1))
            value = self.ref(name)
            return ",".join(value) if isinstance(value, list) else str(value)

        return re.sub(r"\$\{([^}]+)\}", replace, str(text))

    # ------------------------------------------------------------------ functions

    def functions(self) -> list[str]:
        """Logical ids of the active serverless functions."""
        return self.of_type("AWS::Serverless::Function")

    def function_properties(self, logical_id: str) -> dict[str, Any]:
        """The function's Properties over `Globals.Function` (unresolved)."""
        globals_fn = (self.template.get("Globals") or {}).get("Function") or {}
        return {**globals_fn, **(self.resources[logical_id].get("Properties") or {})}

    def function_environment(self, logical_id: str, *, strict: bool = True) -> dict[str, str]:
        """The function's Environment.Variables (Globals merged) as Lambda would set them.

        `strict=False` (the local API server on its own): a variable that cannot be resolved
        locally is left unset with a warning instead of failing the whole function.
        """
        globals_vars = ((self.template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}
        props = self.resources[logical_id].get("Properties") or {}
        merged = {
            **(globals_vars.get("Variables") or {}),
            **((props.get("Environment") or {}).get("Variables") or {}),
        }
        out: dict[str, str] = {}
        for key, raw in merged.items():
            try:
                value = self.resolve(raw)
            except Unresolvable as exc:
                if strict:
                    raise
                log.warning("%s: cannot resolve %s locally (%s); leaving it unset", logical_id, key, exc)
                continue
            if value is NO_VALUE:
                continue
            out[str(key)] = _env_string(value)
        return out

    def function_spec(self, logical_id: str, *, strict: bool = True) -> FunctionSpec:
        """How to run the function locally: handler, code root, memory, timeout, environment.

        The environment is what Lambda would give it: an image's `ENV`, under the template's
        variables, under the `AWS_LAMBDA_*` variables and the region.
        """
        props = self.function_properties(logical_id)
        memory = int(self.resolve(props.get("MemorySize", 128)))
        timeout = int(self.resolve(props.get("Timeout", 3)))
        if props.get("PackageType") == "Image":
            handler, code_root, environment = _image_handler(self.resources[logical_id], props, self.base_dir)
        else:
            handler = str(props["Handler"])
            code_root = (self.base_dir / str(props.get("CodeUri", "."))).resolve()
            environment = {}
        environment |= self.function_environment(logical_id, strict=strict)
        environment |= {
            "AWS_LAMBDA_FUNCTION_NAME": self.physical_name(logical_id),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
            "AWS_REGION": self.context.region,
        }
        return FunctionSpec(logical_id, handler, code_root, environment, memory, timeout)

    @property
    def base_dir(self) -> Path:
        """Where `CodeUri` and `DockerContext` are relative to: the template's folder."""
        return self.path.parent if self.path is not None else Path.cwd()


def _env_string(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


# --------------------------------------------------------------------------- image functions


def _image_handler(
    resource: Mapping[str, Any], props: Mapping[str, Any], template_dir: Path
) -> tuple[str, Path, dict[str, str]]:
    """Handler, code root and environment of an image function, from its Dockerfile.

    The code root is where the Dockerfile `COPY`s the handler's package from. `ENV` values that
    name a file the Dockerfile `COPY`s in (the baked-in model) point at that file's source in the
    repository instead, since no image filesystem exists locally.
    """
    metadata = resource.get("Metadata", {})
    context = (template_dir / str(metadata.get("DockerContext", "."))).resolve()
    dockerfile = context / str(metadata.get("Dockerfile", "Dockerfile"))
    command = (props.get("ImageConfig") or {}).get("Command")
    instructions = _dockerfile_instructions(dockerfile)
    if not command:
        cmd = [args for name, args in instructions if name == "CMD"]
        if not cmd:
            raise ValueError(f"{dockerfile}: no CMD and no ImageConfig.Command")
        command = _exec_form(cmd[-1])
    handler = str(command[0])
    package = handler.split(".", 1)[0]
    code_root = dockerfile.parent.resolve()
    copied: dict[str, Path] = {}  # destination in the image -> source in the context
    for name, args in instructions:
        if name != "COPY":
            continue
        parts = [p for p in args.split() if not p.startswith("--")]
        for source in parts[:-1]:
            if Path(source).name == package:  # where the handler's package comes from
                code_root = (context / source).parent.resolve()
            copied[parts[-1]] = (context / source).resolve()
    image_env: dict[str, str] = {}
    for name, args in instructions:
        if name == "ENV" and "=" in args:
            for pair in args.split():
                key, _, value = pair.partition("=")
                image_env[key] = str(copied[value]) if value in copied else value
    return handler, code_root, image_env


def _dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            name, _, args = stripped.partition(" ")
            out.append((name.upper(), args.strip()))
    return out


def _exec_form(args: str) -> list[str]:
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        return args.split()
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
