"""Serve the template's API routes on 127.0.0.1 without Docker, like `sam local start-api`.

Routes come from `template.yaml` itself (read by `devkit.template`, the project's one template
reader): every `AWS::Serverless::Function` with `Api` events, run by `devkit.function_host`.
Each HTTP request becomes the API Gateway REST (v1) proxy event API Gateway would send (binary
bodies base64 per `BinaryMediaTypes`, headers and multi-value headers, query strings, path
parameters, request context), the same handler is called in-process, and its proxy response goes
back (base64 bodies decoded when the request's first `Accept` type is a binary media type, API
Gateway's rule).

Why the standard library's ThreadingHTTPServer: no dependency, loopback-only, and one thread per
connection is plenty for a developer and for a bounded load run. Handlers are called one at a
time (as one Lambda container serves one request at a time), because each function's
environment variables are applied process-wide while it runs. Not emulated: API keys, IAM auth,
CORS preflight answers, the function timeout.

On its own (`python -m devkit.local_api`) resources are named by their logical ids, as
`sam local` does; the embedded stand-in (`devkit.stand_in`) serves the same router with the
names and environment of the stack it created.

    python -m devkit.local_api --port 3000
    curl --data-binary @invoice.jpg -H 'Content-Type: image/jpeg' localhost:3000/infer
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import logging
import os
import re
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from devkit.function_host import ACCOUNT_ID, FunctionHost
from devkit.template import StackContext, StackTemplate, load_template

__all__ = ["LocalApi", "Route", "api_routes", "build_event", "load_template", "make_server", "serve"]
# load_template stays importable from here: bench/make_events.py reads the template through it.

log = logging.getLogger("devkit.local_api")

API_GATEWAY_MAX_BODY = 10 * 1024 * 1024  # API Gateway REST payload limit
LAMBDA_MAX_EVENT = 6 * 1024 * 1024  # synchronous Lambda invocation payload limit
LOCAL_API_ID = "local"
SOCKET_TIMEOUT_S = 60


# --------------------------------------------------------------------------- the template


@dataclass(frozen=True)
class Route:
    """One API event of one function."""

    method: str  # upper case, or ANY
    path: str  # template path, e.g. /train/{job}
    function_id: str  # the function's logical id
    stage: str
    binary_media_types: tuple[str, ...]
    pattern: re.Pattern[str] = field(compare=False)

    @property
    def specificity(self) -> tuple[int, int, int]:
        """API Gateway prefers literal segments over {param} over {proxy+}."""
        return (int("+}" in self.path), self.path.count("{"), -len(self.path))


def api_routes(stack: StackTemplate) -> list[Route]:
    """Every Api event of every active serverless function, most specific first."""
    globals_api = (stack.template.get("Globals") or {}).get("Api") or {}
    routes: list[Route] = []
    for logical_id in stack.functions():
        events = (stack.resources[logical_id].get("Properties") or {}).get("Events") or {}
        for event in events.values():
            if event.get("Type") != "Api":
                continue
            props = event.get("Properties") or {}
            api = _api_properties(props.get("RestApiId"), stack.resources, globals_api)
            routes.append(
                Route(
                    method=str(props.get("Method", "ANY")).upper(),
                    path=str(props["Path"]),
                    function_id=logical_id,
                    stage=str(stack.resolve(api.get("StageName", "Prod")) or "Prod"),
                    binary_media_types=tuple(
                        str(t).replace("~1", "/") for t in api.get("BinaryMediaTypes") or []
                    ),
                    pattern=_path_pattern(str(props["Path"])),
                )
            )
    return sorted(routes, key=lambda r: r.specificity)


def _api_properties(
    rest_api_id: Any, resources: Mapping[str, Any], globals_api: Mapping[str, Any]
) -> dict[str, Any]:
    logical = rest_api_id.get("Ref") if isinstance(rest_api_id, Mapping) else None
    if logical and logical in resources:
        return {**globals_api, **(resources[logical].get("Properties") or {})}
    return dict(globals_api)  # the implicit API SAM creates


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


# --------------------------------------------------------------------------- the router


class LocalApi:
    """Routes + the hosts of their functions; `dispatch` is the whole request/response translation."""

    def __init__(self, routes: Sequence[Route], host: Callable[[str], FunctionHost]) -> None:
        """`host(logical_id)` gives a route's function host. A function whose handler cannot be
        worked out is logged and its routes left out: one broken function must not take the
        others down."""
        self.routes: list[Route] = []
        self.hosts: dict[str, FunctionHost] = {}
        broken: set[str] = set()
        for route in routes:
            if route.function_id not in self.hosts and route.function_id not in broken:
                try:
                    self.hosts[route.function_id] = host(route.function_id)
                except (OSError, ValueError, KeyError) as exc:
                    log.error("%s: skipped, cannot work out its handler: %s", route.function_id, exc)
                    broken.add(route.function_id)
            if route.function_id in self.hosts:
                self.routes.append(route)

    @classmethod
    def from_template(
        cls,
        template: str | os.PathLike[str] = "template.yaml",
        *,
        env: Mapping[str, str] | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> LocalApi:
        """The server on its own: `sam local`'s names, this process's region, `env` over every
        function's environment."""
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        context = StackContext(
            stack_name="local", region=region, parameters=dict(parameters or {}), logical_names=True
        )
        stack = StackTemplate.load(template, context)
        overrides = dict(env or {})

        def host(logical_id: str) -> FunctionHost:
            spec = stack.function_spec(logical_id, strict=False)
            return FunctionHost(replace(spec, environment={**spec.environment, **overrides}))

        return cls(api_routes(stack), host)

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
            result = self.hosts[route.function_id].invoke(event)
        except Exception:  # a crashed handler is API Gateway's 502, and the server keeps serving
            log.error("%s failed:\n%s", route.function_id, traceback.format_exc())
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
    parameters: Mapping[str, str] | None = None,
    api: LocalApi | None = None,
) -> ThreadingHTTPServer:
    """A bound (not yet serving) server; port 0 picks a free port (see `server.server_address`).

    `api` serves an existing router (the embedded stand-in's, whose functions get its environment)
    instead of one built from the template here.
    """
    if not ipaddress.ip_address(_resolve_loopback(host)).is_loopback:
        raise ValueError(f"refusing to bind {host}: the local API serves loopback only")
    api = api or LocalApi.from_template(template, env=env, parameters=parameters)
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
        print(f"  {route.method:6} http://{bound_host}:{bound_port}{route.path}  -> {route.function_id}")
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
