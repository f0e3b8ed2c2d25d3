"""Promotion at the edge: the model is checked before the pointer moves (sha256, pinned URI), the
caller's expected version is honoured, and malformed bodies or unreachable AWS answer JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
import test_promotion_handler as promotion_world
from test_promotion_handler import (  # the handler tests' helpers
    MODELS,
    POINTER,
    Context,
    World,
    job_name,
    tarball,
    unreachable,
)

pytestmark = pytest.mark.unit

# The handler tests' fixtures, shared (moto and the handler once per module, fresh AWS per test).
aws_and_handler, world = promotion_world.aws_and_handler, promotion_world.world


def call(world: World, event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, list[str]]]:
    response = world.handler.lambda_handler(event, Context())
    return response["statusCode"], json.loads(response["body"]), response.get("multiValueHeaders") or {}


def two_versions(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    world.deliver(world.finished_job(2, tarball(0.55)))


def tamper(world: World, n: int) -> None:
    """Replace a published model's bytes (what a bad copy or a stray writer would leave)."""
    world.s3.put_object(Bucket=MODELS, Key=f"models/{job_name(n)}/model.onnx", Body=b"not the gated model")


# ----------------------------------------------------------------------------- sha256 and URI


def test_promoting_a_published_version_whose_file_changed_is_refused(world: World) -> None:
    two_versions(world)
    tamper(world, 1)
    before = world.pointer()

    status, body, _ = call(world, world.promote_event(job_name(1)))

    assert (status, body["error"]) == (422, "artifact_invalid")
    assert "sha256" in body["message"] and "was recorded when it was published" in body["message"]
    assert world.pointer() == before


def test_rolling_back_to_a_file_that_changed_is_refused(world: World) -> None:
    two_versions(world)
    tamper(world, 1)
    before = world.pointer()

    status, body, _ = call(world, world.load_event("promote_rollback"))

    assert (status, body["error"]) == (422, "artifact_invalid")
    assert world.pointer() == before


def test_a_copy_that_differs_from_the_artefact_is_never_pointed_at(world: World) -> None:
    """The gate path hashes model.onnx while copying it, then re-reads the stored copy."""
    world.deliver(world.finished_job(1, tarball(0.50)))
    before = world.pointer()

    def corrupt(**_: Any) -> None:  # after metrics.json is written, someone rewrites model.onnx
        tamper(world, 2)

    world.handler.s3.meta.events.register("after-call.s3.PutObject", corrupt)
    try:
        outcome = world.deliver(world.finished_job(2, tarball(0.55)))
    finally:
        world.handler.s3.meta.events.unregister("after-call.s3.PutObject", corrupt)

    assert outcome["outcome"] == "failed"  # permanent: logged and counted, not retried
    assert "sha256" in outcome["reason"]
    assert world.pointer() == before


def test_a_version_without_a_recorded_sha256_is_refused(world: World) -> None:
    two_versions(world)
    key = f"models/{job_name(1)}/metrics.json"
    raw = world.s3.get_object(Bucket=MODELS, Key=key)["Body"].read()
    world.s3.put_object(Bucket=MODELS, Key=key, Body=raw)  # metadata (model-sha256) dropped
    before = world.pointer()

    status, body, _ = call(world, world.promote_event(job_name(1)))

    assert (status, body["error"]) == (422, "artifact_invalid")
    assert "no sha256 is recorded" in body["message"]
    assert world.pointer() == before


@pytest.mark.parametrize(
    "model_uri",
    [
        "s3://someone-elses-bucket/models/{v}/model.onnx",
        "s3://{bucket}/training-output/{v}/output/model.onnx",
        "s3://{bucket}/models/{other}/model.onnx",
        "https://{bucket}.s3.amazonaws.com/models/{v}/model.onnx",
    ],
    ids=["other-bucket", "outside-models-prefix", "another-versions-file", "not-s3"],
)
def test_a_previous_entry_naming_a_foreign_model_is_never_rolled_back_to(
    world: World, model_uri: str
) -> None:
    two_versions(world)
    _, pointer = world.pointer()
    uri = model_uri.format(bucket=MODELS, v=job_name(1), other=job_name(2))
    pointer["previous"]["model_uri"] = uri  # a hand-edited (or forged) pointer document
    world.ssm.put_parameter(Name=POINTER, Value=json.dumps(pointer), Type="String", Overwrite=True)
    before = world.pointer()

    status, body, _ = call(world, world.load_event("promote_rollback"))

    assert (status, body["error"]) == (422, "artifact_invalid")
    assert "is not this stack's model" in body["message"]
    assert world.pointer() == before


def test_rolling_back_to_the_baked_in_model_needs_no_file(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))

    status, body, _ = call(world, world.load_event("promote_rollback"))

    assert status == 200 and body["current"]["model_uri"] is None


# ----------------------------------------------------------------------------- expected version


def test_get_models_reports_the_pointer_version_as_its_etag(world: World) -> None:
    two_versions(world)

    status, body, headers = call(world, world.load_event("promote_list"))

    assert status == 200
    assert headers["ETag"] == [f'"{body["current"]["parameter_version"]}"'] == ['"3"']


@pytest.mark.parametrize("how", ["if-match", "body"])
def test_a_stale_expected_version_is_a_409_and_nothing_changes(world: World, how: str) -> None:
    two_versions(world)  # the pointer is at version 3
    event = world.promote_event(job_name(1), {"expected_version": 2} if how == "body" else None)
    if how == "if-match":
        event["headers"]["If-Match"] = '"2"'
    before = world.pointer()

    status, body, _ = call(world, event)

    assert (status, body["error"]) == (409, "conflict")
    assert "at version 3, not the expected 2" in body["message"]
    assert world.pointer() == before


@pytest.mark.parametrize("header", ['"3"', "3", "*"])
def test_a_current_expected_version_commits_and_answers_the_new_etag(world: World, header: str) -> None:
    two_versions(world)
    event = world.promote_event(job_name(1), {"reason": "regression on scans"})
    event["headers"]["if-match"] = header  # header names are case-insensitive

    status, body, headers = call(world, event)

    assert status == 200 and body["changed"] is True and body["parameter_version"] == 4
    assert headers["ETag"] == ['"4"']
    assert world.pointer()[0] == 4


def test_rollback_honours_the_expected_version_too(world: World) -> None:
    two_versions(world)
    stale = world.load_event("promote_rollback")
    stale["body"] = json.dumps({"expected_version": 1})
    current = world.load_event("promote_rollback")
    current["body"] = json.dumps({"expected_version": 3})

    assert call(world, stale)[:2][0] == 409
    status, body, _ = call(world, current)
    assert status == 200 and body["current"]["version"] == job_name(1)


@pytest.mark.parametrize(
    ("header", "body", "fragment"),
    [
        ('W/"3"', None, "If-Match must be"),
        ("three", None, "If-Match must be"),
        ('"3"', {"expected_version": 2}, "disagree"),
        (None, {"expected_version": "3"}, "expected_version"),
        (None, {"expected_version": -1}, "expected_version"),
    ],
    ids=["weak-etag", "not-a-number", "disagree", "string", "negative"],
)
def test_a_malformed_expected_version_is_refused(
    world: World, header: str | None, body: dict[str, Any] | None, fragment: str
) -> None:
    two_versions(world)
    event = world.promote_event(job_name(1), body)
    if header is not None:
        event["headers"]["If-Match"] = header

    status, got, _ = call(world, event)

    assert status in {400, 422} and got["error"] in {"invalid_request", "validation_failed"}
    assert fragment in got["message"]
    assert world.pointer()[0] == 3


# ----------------------------------------------------------------------------- the edge


@pytest.mark.parametrize("route", ["promote", "rollback"])
def test_a_deeply_nested_body_is_a_400_json(world: World, route: str) -> None:
    two_versions(world)
    event = world.promote_event(job_name(1)) if route == "promote" else world.load_event("promote_rollback")
    event["body"] = "[" * 100_000

    status, body, _ = call(world, event)

    assert (status, body["error"]) == (400, "invalid_request")
    assert "nested too deeply" in body["message"]
    assert body["request_id"] == event["requestContext"]["requestId"]
    assert world.pointer()[0] == 3


@pytest.mark.parametrize(
    ("event_name", "client", "operation"),
    [
        ("promote_list", "ssm", "GetParameter"),
        ("promote_list", "s3", "ListObjectsV2"),
        ("promote_rollback", "ssm", "GetParameterHistory"),
        ("promote_version", "s3", "GetObject"),
    ],
    ids=["list-ssm", "list-s3", "rollback-history", "promote-read"],
)
def test_an_unreachable_aws_endpoint_is_a_503_json_with_retry_after(
    world: World, event_name: str, client: str, operation: str
) -> None:
    two_versions(world)
    event = (
        world.promote_event(job_name(1)) if event_name == "promote_version" else world.load_event(event_name)
    )
    before = world.pointer()
    undo = unreachable(getattr(world.handler, client), operation)
    try:
        status, body, headers = call(world, event)
    finally:
        undo()

    assert (status, body["error"]) == (503, "upstream_unavailable")
    assert headers["Retry-After"] == ["5"]
    assert body["request_id"] == event["requestContext"]["requestId"]
    assert world.pointer() == before
    assert "ModelRequestRefused" in world.metric_names()


def test_an_unreachable_endpoint_on_the_event_path_propagates_for_a_retry(world: World) -> None:
    world.deliver(world.finished_job(1, tarball(0.50)))
    event = world.finished_job(2, tarball(0.55))
    undo = unreachable(world.handler.ssm, "GetParameter")
    try:
        with pytest.raises(Exception, match="could not be reached") as info:
            world.deliver(event)
    finally:
        undo()

    assert info.value.status == 503
    assert "PromotionFailed" in world.metric_names()
    assert world.deliver(event)["outcome"] == "promoted"  # Lambda's retry


def test_errors_have_the_shared_shape(world: World) -> None:
    status, body, _ = call(world, world.promote_event(job_name(9)))

    assert status == 404
    assert set(body) == {"error", "message", "status", "request_id"}
    assert (body["error"], body["status"]) == ("version_not_found", 404)


def test_an_unknown_route_is_a_404_json(world: World) -> None:
    event = world.load_event("promote_list")
    event["path"] = event["resource"] = "/models/nope"

    status, body, _ = call(world, event)

    assert (status, body["error"]) == (404, "not_found")


def test_the_if_match_sample_event_is_checked_before_anything_else(world: World) -> None:
    two_versions(world)  # the pointer is at version 3, the sample's If-Match
    event = world.load_event("promote_version_if_match")

    current_status, current, _ = call(world, event)  # precondition holds: on to the version lookup
    call(world, world.load_event("promote_rollback"))  # the pointer moves to version 4
    stale_status, stale, _ = call(world, world.load_event("promote_version_if_match"))

    assert (current_status, current["error"]) == (404, "version_not_found")
    assert (stale_status, stale["error"]) == (409, "conflict")
    assert "not the expected 3" in stale["message"]


def test_browsers_may_send_if_match_and_read_the_etag(world: World) -> None:
    event = world.load_event("promote_list")
    event["headers"]["Origin"] = "https://console.example.com"
    event["multiValueHeaders"]["Origin"] = ["https://console.example.com"]

    _, _, headers = call(world, event)

    assert "ETag" in headers["Access-Control-Expose-Headers"][0]
    assert "If-Match" in headers["Access-Control-Allow-Headers"][0]
