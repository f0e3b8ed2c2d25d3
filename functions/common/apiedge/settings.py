"""Settings: template Parameters -> function environment -> one frozen pydantic object, read once.

Each function declares its own fields with the environment variable names as aliases; this is the
only place that reads `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, field_validator


class EnvSettings(BaseModel):
    """Base of every function's settings: frozen, aliases are the variable names, blanks are unset."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any, info: Any) -> Any:
        """CloudFormation cannot pass null: an empty string means 'not set' for optional fields."""
        field = cls.model_fields.get(info.field_name)
        if isinstance(value, str) and not value.strip() and field is not None and not field.is_required():
            return field.get_default(call_default_factory=True)
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Build from an environment mapping (the process environment by default)."""
        return cls.model_validate(dict(os.environ if environ is None else environ))
