"""Powertools idempotency for `POST /train`: one launch per request within the window.

The key is the caller (IAM identity) plus the `Idempotency-Key` header when given, else the
normalized body (defaults filled in, so `{"epochs": 100}` and an omitted `epochs` are the same
request). With a header, the body is also validated against the stored one: the same key with
a different body is refused rather than answered with another request's job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from launcher.settings import Settings

KEY_PREFIX = "launcher.train"  # stable across function renames (Powertools defaults to the name)
# `requester` scopes keys to the caller; `||` picks the header key when present, else the body.
EVENT_KEY_JMESPATH = "[requester, idempotency_key || body]"
PAYLOAD_VALIDATION_JMESPATH = "body"


def _mark_replay(response: dict[str, Any], _record: DataRecord) -> dict[str, Any]:
    """Answers served from the store say so (the job was launched by an earlier request)."""
    return {**response, "replayed": True}


def build_config(settings: Settings) -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath=EVENT_KEY_JMESPATH,
        payload_validation_jmespath=PAYLOAD_VALIDATION_JMESPATH,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.idempotency_window_s,
        response_hook=_mark_replay,
    )


def make_idempotent(
    func: Callable[..., dict[str, Any]],
    settings: Settings,
    dynamodb_client: Any,
    config: IdempotencyConfig,
) -> Callable[..., dict[str, Any]]:
    """Wrap `func(*, launch: dict)`; `launch` holds requester, idempotency_key and body."""
    store = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb_client)
    return idempotent_function(
        func, data_keyword_argument="launch", persistence_store=store, config=config, key_prefix=KEY_PREFIX
    )
