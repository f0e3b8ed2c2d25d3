"""The results API's settings (template Parameters -> env -> here, read once)."""

from __future__ import annotations

from functools import cache

from pydantic import Field

from apiedge.settings import EnvSettings


class Settings(EnvSettings):
    invoices_table: str = Field(min_length=3, alias="INVOICES_TABLE")
    invoices_bucket: str = Field(min_length=3, alias="INVOICES_BUCKET")
    status_index: str = Field("by-status", min_length=3, alias="STATUS_INDEX")
    max_list_limit: int = Field(100, ge=1, le=1000, alias="MAX_LIST_LIMIT")
    cors_allow_origin: str = Field("", alias="CORS_ALLOW_ORIGIN")


@cache
def get_settings() -> Settings:
    return Settings.from_env()
