"""What the `/models` routes read from a request beyond its path: the optional body, If-Match, limit.

A promote or rollback may name the pointer version its caller last saw (GET /models answers it as
`current.parameter_version` and as the `ETag` header), either as `If-Match: "<version>"` or as
`{"expected_version": <version>}` in the body; when the pointer has moved since, the answer is
409 `conflict` and nothing changes. Without either, the change applies to whatever is current.
"""

from __future__ import annotations

import re

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from apiedge.http import json_object, query_uint
from promotion.errors import InvalidRequest
from promotion.schemas import ChangeRequest

DEFAULT_LIST_LIMIT = 20
_ETAG = re.compile(r'"?([0-9]{1,9})"?')


def etag(parameter_version: int) -> dict[str, str]:
    """The pointer version as an entity tag, for responses that report it."""
    return {"ETag": f'"{parameter_version}"'}


def change_request(event: APIGatewayProxyEvent) -> ChangeRequest:
    """The optional JSON body of promote/rollback, with If-Match folded into `expected_version`."""
    try:
        text = event.decoded_body
    except ValueError as exc:  # bad base64 or bad UTF-8 (UnicodeDecodeError is a ValueError)
        raise InvalidRequest("the body is not valid UTF-8 JSON") from exc
    request = ChangeRequest.model_validate(json_object(text, allow_empty=True), strict=True)
    header = event.headers.get("If-Match")  # Powertools v3: headers are case-insensitive
    if header is None or header.strip() == "*":
        return request
    match = _ETAG.fullmatch(header.strip())
    if match is None:
        raise InvalidRequest(
            f'If-Match must be the pointer version GET /models reports as its ETag, e.g. "3"; got {header!r}'
        )
    version = int(match.group(1))
    if request.expected_version is not None and request.expected_version != version:
        raise InvalidRequest(
            f"If-Match ({version}) and expected_version ({request.expected_version}) disagree; send one"
        )
    return request.model_copy(update={"expected_version": version})


def list_limit(event: APIGatewayProxyEvent) -> int:
    return query_uint(event.get_query_string_value("limit"), "limit", default=DEFAULT_LIST_LIMIT)
