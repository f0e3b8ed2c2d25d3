"""Serve the template's API routes on 127.0.0.1 without Docker, like `sam local start-api`.

Routes come from `template.yaml` itself: every `AWS::Serverless::Function` with `Api` events.
The handler is `Handler` + `CodeUri` for zip functions, and `ImageConfig.Command` or the
Dockerfile's `CMD` for image functions (the code root is where the Dockerfile `COPY`s the handler's
package from). Each HTTP request becomes the API Gateway REST (v1) proxy event API Gateway would
send (binary bodies base64 per `BinaryMediaTypes`, headers and multi-value headers, query strings,
path parameters, request context), the same handler is called in-process, and its proxy response
goes back (base64 bodies decoded when the request's first `Accept` type is a binary media type,
API Gateway's rule).

Why the standard library's ThreadingHTTPServer: no dependency, loopback-only, and one thread per
connection is plenty for a developer and for a bounded load run. Handlers are called one at a
time (as one Lambda container serves one request at a time), because each function's
environment variables are applied process-wide while it runs. Not emulated: API keys, IAM auth,
CORS preflight answers, the function timeout.

    python -m devkit.local_api --port 3000
    curl --data-binary @invoice.jpg -H 'Content-Type: image/jpeg' localhost:3000/infer
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib
import ipaddress
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger("devkit.local_api")

API_GATEWAY_MAX_BODY = 10 * 1024 * 1024  # API Gateway REST payload limit
LAMBDA_MAX_EVENT = 6 * 1024 * 1024  # synchronous Lambda invocation payload limit
ACCOUNT_ID = "123456789012"
LOCAL_API_ID = "local"
PSEUDO_PARAMETERS = {"AWS::AccountId": ACCOUNT_ID, "AWS::Partition": "aws", "AWS::StackName": "local"}
SOCKET_TIMEOUT_S = 60


# --------------------------------------------------------------------------- the template


@dataclass(frozen=True)
class FunctionSpec:
    """One function: how to import its handler and with which environment."""

    logical_id: str
    handler: str  # module.attr
    code_root: Path
    environment: dict[str, str]
    memory_mb: int
    timeout_s: int


@dataclass(frozen=True)
class Route:
    """One API event of one function."""

    method: str  # upper case, or ANY
    path: str  # template path, e.g. /train/{job}
    function: FunctionSpec
    stage: str
    binary_media_types: tuple[str, ...]
    pattern: re.Pattern[str] = field(compare=False)

    @property
    def specificity(self) -> tuple[int, int, int]:
        """API Gateway prefers literal segments over {param} over {proxy+}."""
        return (int("+}" in self.path), self.path.count("{"), -len(self.path))


def load_template(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a SAM/CloudFormation template, short-form tags (`!Ref`, `!Sub`) included."""
    from cfnlint.decode import cfn_yaml  # noqa: PLC0415 - dev tool dependency, loaded when needed

    return cfn_yaml.load(str(path))


def discover_routes(
    template: Mapping[str, Any],
    template_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    refs: Mapping[str, str] | None = None,
    parameters: Mapping[str, str] | None = None,
) -> list[Route]:
    """Every Api event of every serverless function, most specific first."""
    resolver = _Resolver(template, refs or {}, parameters or {})
    resources = template.get("Resources", {})
    globals_fn = template.get("Globals", {}).get("Function", {})
    globals_api = template.get("Globals", {}).get("Api", {})
    routes: list[Route] = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties", {})
        events = [e for e in (props.get("Events") or {}).values() if e.get("Type") == "Api"]
        if not events:
            continue
        try:
            spec = _function_spec(
                logical_id,
                resource,
                globals_fn=globals_fn,
                template_dir=template_dir,
                resolver=resolver,
                overrides=env or {},
            )
        except (OSError, ValueError, KeyError) as exc:  # one broken function must not take the others down
            log.error("%s: skipped, cannot work out its handler: %s", logical_id, exc)
            continue
        for event in events:
            event_props = event.get("Properties", {})
            api = _api_properties(event_props.get("RestApiId"), resources, globals_api)
            routes.append(
                Route(
                    method=str(event_props.get("Method", "ANY")).upper(),
                    path=str(event_props["Path"]),
                    function=spec,
                    stage=str(resolver.value(api.get("StageName", "Prod")) or "Prod"),
                    binary_media_types=tuple(
                        str(t).replace("~1", "/") for t in api.get("BinaryMediaTypes") or []
                    ),
                    pattern=_path_pattern(str(event_props["Path"])),
                )
            )
    return sorted(routes, key=lambda r: r.specificity)


def _api_properties(
    rest_api_id: Any, resources: Mapping[str, Any], globals_api: Mapping[str, Any]
) -> dict[str, Any]:
    logical = rest_api_id.get("Ref") if isinstance(rest_api_id, Mapping) else None
    if logical and logical in resources:
        return {**globals_api, **resources[logical].get("Properties", {})}
    return dict(globals_api)  # the implicit API SAM creates


def _function_spec(
    logical_id: str,
    resource: Mapping[str, Any],
    *,
    globals_fn: Mapping[str, Any],
    template_dir: Path,
    resolver: _Resolver,
    overrides: Mapping[str, str],
) -> FunctionSpec:
    props = {**globals_fn, **resource.get("Properties", {})}
    variables = {
        **(globals_fn.get("Environment", {}).get("Variables") or {}),
        **(resource.get("Properties", {}).get("Environment", {}).get("Variables") or {}),
    }
    environment: dict[str, str] = {}
    for key, raw in variables.items():
        value = resolver.value(raw)
        if value is None:
            log.warning("%s: cannot resolve %s locally; leaving it unset", logical_id, key)
        else:
            environment[key] = value
    memory = int(resolver.value(props.get("MemorySize", 128)) or 128)
    timeout = int(resolver.value(props.get("Timeout", 3)) or 3)
    environment.update(
        AWS_LAMBDA_FUNCTION_NAME=logical_id,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(memory),
        AWS_REGION=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
    if props.get("PackageType") == "Image":
        handler, code_root, image_env = _image_handler(resource, props, template_dir)
        environment = {**image_env, **environment}  # the function's configuration wins over the image's ENV
    else:
        handler = str(props["Handler"])
        code_root = (template_dir / str(props.get("CodeUri", "."))).resolve()
    environment.update(overrides)
    return FunctionSpec(logical_id, handler, code_root, environment, memory, timeout)


def _image_handler(
    resource: Mapping[str, Any], props: Mapping[str, Any], template_dir: Path
) -> tuple[str, Path, dict[str, str]]:
    """Handler, code root and environment of an image function, from its Dockerfile.

    `ENV` values that name a file the Dockerfile `COPY`s in (the baked-in model) point at that
    file's source in the repository instead, since no image filesystem exists locally.
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


def _path_pattern(path: str) -> re.Pattern[str]:
    regex = ""
    for segment in path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            regex += f"/(?P<{segment[1:-2]}>.+)"
        elif segment.startswith("{") and segment.endswith("}"):
            regex += f"/(?P<{segment[1:-1]}>[^/]+)"
        elif segment:
            regex += "/" + re.escape(segment)
    return re.compile(f"^{regex or '/'}/?$")


class _Resolver:
    """Resolves the intrinsics an Environment block uses: Ref, Sub, GetAtt (locally stubbed)."""

    def __init__(
        self, template: Mapping[str, Any], refs: Mapping[str, str], parameters: Mapping[str, str]
    ) -> None:
        self.parameters = {
            name: str(parameters.get(name, spec.get("Default", "")))
            for name, spec in (template.get("Parameters") or {}).items()
        }
        self.resources = set(template.get("Resources") or {})
        self.refs = refs

    def ref(self, name: str) -> str | None:
        if name in self.refs:
            return self.refs[name]
        if name in self.parameters:
            return self.parameters[name]
        if name == "AWS::Region":
            return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in self.resources:
            return name  # what `sam local` does for a resource it does not create
        return None

    def value(self, raw: Any) -> str | None:
        if isinstance(raw, bool):
            return str(raw).lower()
        if isinstance(raw, str | int | float):
            return str(raw)
        if isinstance(raw, Mapping) and len(raw) == 1:
            ((fn, arg),) = raw.items()
            if fn == "Ref":
                return self.ref(str(arg))
            if fn == "Fn::Sub":
                return self._sub(arg)
            if fn == "Fn::GetAtt":
                target = ".".join(arg) if isinstance(arg, list) else str(arg)
                return self.refs.get(target, target)
        return None

    def _sub(self, arg: Any) -> str | None:
        text, variables = (arg[0], arg[1]) if isinstance(arg, list) else (arg, {})
        missing = []

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return self.value(variables[name]) or ""
            value = self.ref(name) if "." not in name else self.refs.get(name, name)
            if value is None:
                missing.append(name)
                return ""
            return value

        out = re.sub(r"\$\{([^}!]+)\}", replace, str(text))
        return None if missing else out


# --------------------------------------------------------------------------- events and responses


def build_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
    query: Sequence[tuple[str, str]] = (),
    body: bytes | None = None,
    binary_media_types: Sequence[str] = (),
    path_parameters: Mapping[str, str] | None = None,
    stage: str = "dev",
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The REST (v1) Lambda proxy event API Gateway sends for this request."""
    now = now or datetime.now(UTC)
    request_id = request_id or str(uuid.uuid4())
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    is_binary = bool(body) and matches_media_type(content_type, binary_media_types)
    if not body:
        body_text = None
    elif is_binary:
        body_text = base64.b64encode(body).decode("ascii")
    else:
        body_text = body.decode("utf-8", errors="replace")  # API Gateway passes text bodies as UTF-8
    lower = {k.lower(): v for k, v in headers}
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": resource or path,
            "httpMethod": method.upper(),
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": lower.get("host", "localhost").split(".", 1)[0].split(":", 1)[0],
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "apiKey": lower.get("x-api-key"),
                "sourceIp": source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": lower.get("user-agent"),
                "user": None,
            },
            "domainName": lower.get("host", "localhost"),
            "apiId": LOCAL_API_ID,
        },
        "body": body_text,
        "isBase64Encoded": is_binary,
    }


def matches_media_type(value: str | None, patterns: Sequence[str]) -> bool:
    """`image/jpeg; q=1` against BinaryMediaTypes entries such as `image/*` or `*/*`."""
    media = (value or "").split(";", 1)[0].strip().lower()
    if not media:
        return False
    kind, _, sub = media.partition("/")
    for pattern in patterns:
        p_kind, _, p_sub = pattern.lower().partition("/")
        if p_kind in ("*", kind) and p_sub in ("*", sub):
            return True
    return False


def proxy_response(
    result: Any, *, accept: str | None, binary_media_types: Sequence[str]
) -> tuple[int, list[tuple[str, str]], bytes]:
    """A Lambda proxy result -> (status, headers, body) as API Gateway returns it."""
    if not isinstance(result, Mapping) or not isinstance(result.get("statusCode"), int):
        return _gateway_error(HTTPStatus.BAD_GATEWAY, "Internal server error")
    headers: list[tuple[str, str]] = []
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values)
    for name, value in (result.get("headers") or {}).items():
        if not any(h[0].lower() == name.lower() for h in headers):
            headers.append((name, str(value)))
    body = result.get("body") or ""
    first_accept = (accept or "").split(",", 1)[0]
    if result.get("isBase64Encoded") and matches_media_type(first_accept, binary_media_types):
        try:
            payload = base64.b64decode(body)
        except ValueError:
            return _gateway_error(HTTPStatus.BAD_GATEWAY, "Internal server error")
    else:
        payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return int(result["statusCode"]), headers, payload


def _gateway_error(status: HTTPStatus, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    body = json.dumps({"message": message}).encode()
    return int(status), [("Content-Type", "application/json"), ("x-amzn-ErrorType", status.phrase)], body


# --------------------------------------------------------------------------- invoking handlers


@dataclass
class LocalContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    aws_request_id: str
    timeout_s: int
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


# Environment variables are process-wide, and each function has its own: one invocation (or
# import) at a time in this process, with that function's environment applied while it runs.
_INVOKE_LOCK = threading.Lock()


@contextlib.contextmanager
def applied_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set `values` in os.environ for the block, then restore what was there."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


class FunctionRunner:
    """One 'container' per function: its handler is imported once and called with the function's
    environment applied (module-level settings read it at import, boto3 at client creation)."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._handler: Any = None

    def _load(self) -> Any:
        if self._handler is None:
            module_name, _, attr = self.spec.handler.rpartition(".")
            root = str(self.spec.code_root)
            if root not in sys.path:
                sys.path.insert(0, root)
            self._handler = getattr(importlib.import_module(module_name), attr)
        return self._handler

    def invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler with a Lambda-like context; one call at a time in this process."""
        with _INVOKE_LOCK, applied_environment(self.spec.environment):
            handler = self._load()
            context = LocalContext(
                self.spec.logical_id,
                self.spec.memory_mb,
                event["requestContext"]["requestId"],
                self.spec.timeout_s,
            )
            return handler(event, context)


class LocalApi:
    """Routes + function runners; `dispatch` is the whole request/response translation."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = list(routes)
        self.runners: dict[str, FunctionRunner] = {}
        for route in self.routes:
            self.runners.setdefault(route.function.logical_id, FunctionRunner(route.function))

    @classmethod
    def from_template(
        cls,
        template: str | os.PathLike[str] = "template.yaml",
        *,
        env: Mapping[str, str] | None = None,
        refs: Mapping[str, str] | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> LocalApi:
        path = Path(template).resolve()
        return cls(
            discover_routes(load_template(path), path.parent, env=env, refs=refs, parameters=parameters)
        )

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.method in (method.upper(), "ANY"):
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def dispatch(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        source_ip: str = "127.0.0.1",
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """HTTP request in, HTTP response out, through the function's handler."""
        url = urlsplit(target)
        matched = self.match(method, url.path)
        if matched is None:  # API Gateway's answer for an unknown path or method
            return _gateway_error(HTTPStatus.FORBIDDEN, "Missing Authentication Token")
        route, params = matched
        if len(body) > API_GATEWAY_MAX_BODY:
            return _gateway_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Too Long")
        event = build_event(
            method,
            url.path,
            resource=route.path,
            headers=headers,
            query=parse_qsl(url.query, keep_blank_values=True),
            body=body,
            binary_media_types=route.binary_media_types,
            path_parameters=params,
            stage=route.stage,
            source_ip=source_ip,
        )
        if len(json.dumps(event)) > LAMBDA_MAX_EVENT:
            return _gateway_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Too Long")
        try:
            result = self.runners[route.function.logical_id].invoke(event)
        except Exception:  # a crashed handler is API Gateway's 502, and the server keeps serving
            log.error("%s failed:\n%s", route.function.logical_id, traceback.format_exc())
            return _gateway_error(HTTPStatus.BAD_GATEWAY, "Internal server error")
        accept = next((v for k, v in headers if k.lower() == "accept"), None)
        status, out_headers, payload = proxy_response(
            result, accept=accept, binary_media_types=route.binary_media_types
        )
        out_headers.append(("x-amzn-RequestId", event["requestContext"]["requestId"]))
        return status, out_headers, payload


# --------------------------------------------------------------------------- HTTP


class _RequestHandler(BaseHTTPRequestHandler):
    server_version = "invoice-yolo-local-api"
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT_S  # a stalled client cannot hold a thread forever
    api: LocalApi  # set on the subclass made by make_server

    def _handle(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._send(*_gateway_error(HTTPStatus.LENGTH_REQUIRED, "Content-Length required"))
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > API_GATEWAY_MAX_BODY:
            self.close_connection = True  # do not read 10+ MB just to refuse it
            self._send(*_gateway_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Too Long"))
            return
        body = self.rfile.read(length) if length else b""
        headers = [
            (k, v) for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")
        ]
        headers += [("X-Forwarded-For", self.client_address[0]), ("X-Forwarded-Proto", "http")]
        self._send(*self.api.dispatch(self.command, self.path, headers, body, self.client_address[0]))

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


def make_server(
    host: str = "127.0.0.1",
    port: int = 3000,
    template: str | os.PathLike[str] = "template.yaml",
    env: Mapping[str, str] | None = None,
    *,
    refs: Mapping[str, str] | None = None,
    parameters: Mapping[str, str] | None = None,
    api: LocalApi | None = None,
) -> ThreadingHTTPServer:
    """A bound (not yet serving) server; port 0 picks a free port (see `server.server_address`).

    `api` serves an existing router (the embedded stand-in's, whose functions get its environment)
    instead of one built from the template here.
    """
    if not ipaddress.ip_address(_resolve_loopback(host)).is_loopback:
        raise ValueError(f"refusing to bind {host}: the local API serves loopback only")
    api = api or LocalApi.from_template(template, env=env, refs=refs, parameters=parameters)
    handler = type("LocalApiHandler", (_RequestHandler,), {"api": api})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def _resolve_loopback(host: str) -> str:
    return "127.0.0.1" if host == "localhost" else host


def serve(
    host: str = "127.0.0.1",
    port: int = 3000,
    template: str | os.PathLike[str] = "template.yaml",
    env: dict[str, str] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = make_server(host, port, template, env)
    api: LocalApi = server.RequestHandlerClass.api  # type: ignore[attr-defined]
    bound_host, bound_port = server.server_address[:2]
    for route in api.routes:
        print(
            f"  {route.method:6} http://{bound_host}:{bound_port}{route.path}  -> {route.function.logical_id}"
        )
    print(f"Local API on http://{bound_host}:{bound_port} (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: Sequence[str] | None = None) -> None:
    """CLI: `python -m devkit.local_api --port 3000 [--env KEY=VALUE ...]`."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--template", default="template.yaml")
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="set for every function"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    env = dict(item.split("=", 1) for item in args.env)
    serve(args.host, args.port, args.template, env)


if __name__ == "__main__":
    main()
