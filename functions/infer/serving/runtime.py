"""What the handler builds once per container, beyond Powertools: the lazy S3 client and the model."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer

from serving.model import ModelHolder, load_configured
from serving.settings import Settings
from serving.storage import fetch_model


def lazy_s3_client(tracer: Tracer) -> Callable[[], Any]:
    """A factory that builds one S3 client on first call. Deferred because boto3's import and client
    set-up are the largest cold-start cost (0.15-0.5 s here) and most requests never touch S3."""

    @functools.cache
    def client() -> Any:
        import boto3  # noqa: PLC0415 - deferred on purpose, see above

        tracer.patch(["botocore"])
        return boto3.client("s3")

    return client


def load_models(settings: Settings, s3: Callable[[], Any], logger: Logger) -> ModelHolder:
    """MODEL_URI's model if set and loadable, else the baked-in one; logged either way."""
    model = load_configured(
        settings.model_path,
        intra_op_threads=settings.intra_op_threads,
        model_uri=settings.model_uri,
        fetch=lambda uri: fetch_model(s3(), uri, settings.model_cache_dir),
        on_fallback=lambda reason: logger.error(
            "model fallback to the baked-in file", extra={"reason": reason}
        ),
    )
    logger.info("model loaded", extra={"model": model.info.describe(), "threads": settings.intra_op_threads})
    return ModelHolder(model)
