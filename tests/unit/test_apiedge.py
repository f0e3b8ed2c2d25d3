"""The shared Lambda edge: error shape, safe JSON, AWS faults as 503/429/502, settings from env."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from pydantic import BaseModel, Field

from apiedge import http
from apiedge.aws import aws_call, is_not_found
from apiedge.errors import MAX_MESSAGE_CHARS, ApiError, InvalidRequest, UpstreamUnavailable, ValidationFailed
from apiedge.settings import EnvSettings


def _client_error(code: str, message: str = "boom") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Op")


def test_error_body_has_the_one_shape_and_a_capped_message() -> None:
    body = ValidationFailed("x" * 10_000, details=[{"field": "a", "problem": "y" * 999}]).body("req-1")
    assert set(body) == {"error", "message", "status", "request_id", "details"}
    assert (body["error"], body["status"], body["request_id"]) == ("validation_failed", 422, "req-1")
    assert len(body["message"]) == MAX_MESSAGE_CHARS
    assert body["message"].endswith("…")
    assert len(body["details"][0]["problem"]) == 200


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"a": ' * 40 + "1" + "}" * 40, "nested too deeply"),
        ("1" * 5000, "not valid JSON"),
        (b"\xff\xfe{", "not valid JSON"),
        ("{", "not valid JSON"),
        ("", "empty"),
    ],
)
def test_loads_json_refuses_every_bad_body_with_a_400(text: str | bytes, fragment: str) -> None:
    with pytest.raises(InvalidRequest, match=fragment) as info:
        http.loads_json(text)
    assert info.value.status == 400


def test_json_object_accepts_objects_and_empty_when_allowed() -> None:
    assert http.json_object('{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}
    assert http.json_object("  ", allow_empty=True) == {}
    with pytest.raises(InvalidRequest, match="JSON object"):
        http.json_object("[1]")


@pytest.mark.parametrize("raw", ["²", "-1", "1.5", "x", "1234567"])
def test_query_uint_takes_ascii_digits_only(raw: str) -> None:
    with pytest.raises(InvalidRequest, match="limit"):
        http.query_uint(raw, "limit", default=20)


def test_query_uint_default_and_value() -> None:
    assert http.query_uint(None, "limit", default=20) == 20
    assert http.query_uint("7", "limit", default=20) == 7


@pytest.mark.parametrize(
    ("exc", "status", "retry"),
    [
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), 503, "5"),
        (ReadTimeoutError(endpoint_url="http://x"), 503, "5"),
        (_client_error("ThrottlingException"), 429, "5"),
        (_client_error("ServiceUnavailable"), 503, "5"),
        (_client_error("AccessDenied"), 502, None),
    ],
)
def test_aws_faults_become_json_with_retry_after(exc: Exception, status: int, retry: str | None) -> None:
    with pytest.raises(ApiError) as info, aws_call("reading"):
        raise exc
    assert info.value.status == status
    assert info.value.retry_after_s == (int(retry) if retry else None)


def test_specific_translator_wins() -> None:
    def specific(code: str, message: str, action: str) -> ApiError | None:
        return ValidationFailed(f"{action}: {message}") if code == "ValidationException" else None

    with pytest.raises(ValidationFailed, match="launching: bad"), aws_call("launching", specific):
        raise _client_error("ValidationException", "bad")


def test_not_found_codes() -> None:
    assert is_not_found(_client_error("NoSuchKey"))
    assert is_not_found(_client_error("ValidationException", "Could not find job"))
    assert not is_not_found(_client_error("AccessDenied"))


def _event(path: str, body: str | None = None, method: str = "POST") -> dict:
    return {
        "httpMethod": method,
        "path": path,
        "resource": path,
        "headers": {"Content-Type": "application/json"},
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"requestId": "req-9", "identity": {}, "stage": "dev"},
    }


@pytest.fixture
def app() -> APIGatewayRestResolver:
    resolver = APIGatewayRestResolver()
    http.install(
        resolver, logger=Logger(service="t"), metrics=Metrics(namespace="t"), refused_metric="Refused"
    )

    @resolver.post("/deep")
    def deep() -> dict:
        return http.json_object(resolver.current_event.body)

    @resolver.post("/aws")
    def aws() -> dict:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    @resolver.post("/bug")
    def bug() -> dict:
        raise KeyError("secret detail")

    @resolver.post("/pydantic")
    def strict() -> dict:
        class Body(BaseModel):
            epochs: int = Field(le=10)

        return Body.model_validate({"epochs": 99}).model_dump()

    return resolver


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/deep", "[" * 100_000, 400, "invalid_request"),
        ("/aws", "{}", 503, "upstream_unavailable"),
        ("/bug", "{}", 500, "internal_error"),
        ("/pydantic", "{}", 422, "validation_failed"),
        ("/nowhere", "{}", 404, "not_found"),
    ],
)
def test_installed_handlers_answer_json_of_one_shape(
    app: APIGatewayRestResolver, path: str, body: str, status: int, code: str
) -> None:
    response = app.resolve(_event(path, body), None)
    payload = json.loads(response["body"])
    assert response["statusCode"] == status
    assert payload["error"] == code and payload["status"] == status and payload["request_id"] == "req-9"
    assert "secret detail" not in response["body"]
    if status == 503:
        assert response["multiValueHeaders"]["Retry-After"] == ["5"]


def test_env_settings_blank_is_unset_and_frozen() -> None:
    class S(EnvSettings):
        bucket: str | None = Field(None, alias="BUCKET")
        size: int = Field(3, alias="SIZE", ge=1)

    s = S.from_env({"BUCKET": " ", "SIZE": "5", "OTHER": "x"})
    assert (s.bucket, s.size) == (None, 5)
    with pytest.raises(ValueError, match="frozen"):
        s.size = 4  # type: ignore[misc]
    with pytest.raises(ValueError, match="greater than or equal"):
        S.from_env({"SIZE": "0"})


def test_upstream_unavailable_defaults() -> None:
    assert (UpstreamUnavailable.status, UpstreamUnavailable.retry_after_s) == (503, 5)
