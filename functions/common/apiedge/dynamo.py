"""DynamoDB attribute values <-> JSON-ready values, for the functions that share a table."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_SERIALIZE, _DESERIALIZE = TypeSerializer(), TypeDeserializer()


def to_dynamo(doc: dict[str, Any]) -> dict[str, Any]:
    """A JSON-like dict as DynamoDB attributes (floats as Decimal, as DynamoDB requires)."""
    clean = json.loads(json.dumps(doc), parse_float=Decimal)
    return {key: _SERIALIZE.serialize(value) for key, value in clean.items()}


def from_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attributes as JSON-ready values (Decimal -> int or float, sets -> lists)."""
    return _plain({key: _DESERIALIZE.deserialize(value) for key, value in item.items()})


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value
