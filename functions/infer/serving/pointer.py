"""The model pointer: the SSM parameter the promotion function writes, read with Powertools parameters.

Its value is JSON (contract: functions/promote_model/promotion/schemas.py); this side reads only
what choosing a model needs and ignores the rest, so the document can grow:

    {"model_uri": "s3://<models bucket>/models/<version>/model.onnx" | null,
     "version": "<training job name>" | null, "sha256": "<hex of model.onnx>", ...}

`model_uri: null` means the baked-in model. Powertools' SSM provider caches the raw value for
`max_age` seconds, so a warm container calls SSM at most once per max age while reads succeed;
failed reads are not cached by Powertools (the caller spaces out its retries).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serving.errors import PointerMissing, PointerUnreadable

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

# The identity of what a pointer names: (model_uri, sha256, version); every baked-in pointer is one.
ModelKey = tuple[str | None, str | None, str | None]
BAKED_IN: ModelKey = (None, None, None)
_REASON_CHARS = 300  # a reason goes into every response while it lasts: keep it one short line


class ModelPointer(BaseModel):
    """The part of the pointer document that chooses the model."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    model_uri: str | None = Field(None, min_length=1)
    version: str | None = Field(None, min_length=1, max_length=128)
    sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$")

    @property
    def baked_in(self) -> bool:
        return self.model_uri is None

    @property
    def key(self) -> ModelKey:
        """Same key, same model: a rewrite of the pointer that names the same file swaps nothing."""
        return BAKED_IN if self.model_uri is None else (self.model_uri, self.sha256, self.version)


class PointerReader:
    """Reads and parses the pointer; every failure becomes `PointerMissing` or `PointerUnreadable`."""

    def __init__(self, name: str, *, max_age_s: int, provider: Callable[[], SSMProvider]) -> None:
        self.name = name
        self.max_age_s = max_age_s
        self._provider = provider
        self._last: tuple[str, ModelPointer] | None = None  # the cached value is parsed once

    def read(self) -> ModelPointer:
        """The pointer now (from Powertools' cache while younger than max age)."""
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError  # noqa: PLC0415

        try:
            raw = self._provider().get(self.name, max_age=self.max_age_s)
        except GetParameterError as exc:
            # Powertools wraps the SDK's error in its own; the original is the implicit context.
            if _error_code(exc.__context__) == "ParameterNotFound":
                raise PointerMissing(f"model pointer {self.name} does not exist") from exc
            raise PointerUnreadable(one_line(f"cannot read model pointer {self.name}: {exc}")) from exc
        except Exception as exc:  # building the client (no region, bad config): same outcome
            raise PointerUnreadable(one_line(f"cannot read model pointer {self.name}: {exc}")) from exc
        return self._parse(str(raw))

    def _parse(self, raw: str) -> ModelPointer:
        if self._last is not None and self._last[0] == raw:
            return self._last[1]
        try:
            pointer = ModelPointer.model_validate_json(raw)
        except ValidationError as exc:
            problem = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in problem["loc"]) or "value"
            raise PointerUnreadable(
                one_line(f"model pointer {self.name} is not a pointer document ({where}: {problem['msg']})")
            ) from exc
        self._last = (raw, pointer)
        return pointer


def _error_code(error: BaseException | None) -> str | None:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "")) or None
    return None


def one_line(text: str) -> str:
    """A reason as it goes into responses and logs: one line, at most a few hundred characters."""
    line = " ".join(text.split())
    return line if len(line) <= _REASON_CHARS else line[: _REASON_CHARS - 1] + "…"


def ssm_provider(client: Any) -> SSMProvider:
    """Powertools' SSM provider over our client (its cache lives as long as the container)."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider  # noqa: PLC0415 - imports boto3

    return SSMProvider(boto3_client=client)
