"""What the handler builds once per container, beyond Powertools: the lazy S3 client and the model."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from invoice_core.detect.model import LoadedModel, ModelHolder, load_configured, load_model
from serving.settings import Settings
from serving.storage import fetch_model, fetch_verified

if TYPE_CHECKING:
    from serving.pointer import ModelPointer
    from serving.swap import HotSwap

# SSM answers in milliseconds from Lambda: a slow call must not hold a request for long.
SSM_TIMEOUTS = {"connect_timeout": 2, "read_timeout": 3, "retries": {"mode": "standard", "max_attempts": 2}}


def lazy_s3_client(tracer: Tracer) -> Callable[[], Any]:
    """A factory that builds one S3 client on first call. Deferred because boto3's import and client
    set-up are the largest cold-start cost (0.15-0.5 s here) and most requests never touch S3."""

    @functools.cache
    def client() -> Any:
        import boto3  # noqa: PLC0415 - deferred on purpose, see above

        tracer.patch(["botocore"])
        return boto3.client("s3")

    return client


INT8_SUFFIX = ".int8.onnx"  # training's export writes model.int8.onnx beside model.onnx


def baked_in_path(settings: Settings, logger: Logger) -> Path:
    """The baked-in file for MODEL_PRECISION: MODEL_PATH (fp32) or its `.int8.onnx` sibling (int8);
    FP32 with a log line when the INT8 file is absent (an image or model dir built without it)."""
    if settings.model_precision != "int8":
        return settings.model_path
    int8 = settings.model_path.with_name(settings.model_path.name.removesuffix(".onnx") + INT8_SUFFIX)
    if int8.is_file():
        return int8
    logger.warning(
        "MODEL_PRECISION=int8 but the model has no INT8 file: serving FP32",
        extra={"model_path": str(settings.model_path), "missing": str(int8)},
    )
    return settings.model_path


def _note_promoted_precision(settings: Settings, logger: Logger, source: str) -> None:
    """Promoted models (MODEL_URI, the pointer) are served as the file they name: promotion copies
    model.onnx only, so INT8 applies to the baked-in model, and a promoted one runs FP32."""
    if settings.model_precision == "int8":
        logger.warning(
            "MODEL_PRECISION=int8 applies to the baked-in model; a promoted model has no INT8 file "
            "and is served FP32",
            extra={"source": source},
        )


def load_models(
    settings: Settings, s3: Callable[[], Any], logger: Logger, *, tracer: Tracer, metrics: Metrics
) -> ModelHolder | HotSwap:
    """The model source: pinned (MODEL_URI, or no pointer configured) or hot-swapped from the pointer.

    Precedence: MODEL_URI > MODEL_POINTER_PARAMETER > the baked-in file (see serving/swap.py).
    """
    baked_in = baked_in_path(settings, logger)
    if settings.model_pointer_parameter and not settings.model_uri:
        _note_promoted_precision(settings, logger, "the model pointer")
        return _hot_swap(settings, s3, logger, baked_in, tracer=tracer, metrics=metrics)
    if settings.model_uri:
        _note_promoted_precision(settings, logger, "MODEL_URI")
    if settings.model_pointer_parameter:
        logger.info(
            "MODEL_URI pins the model; the model pointer is not read",
            extra={"model_uri": settings.model_uri, "pointer": settings.model_pointer_parameter},
        )
    model = load_configured(
        baked_in,
        intra_op_threads=settings.intra_op_threads,
        model_uri=settings.model_uri,
        fetch=lambda uri: fetch_model(s3(), uri, settings.model_cache_dir),
        on_fallback=lambda reason: logger.error(
            "model fallback to the baked-in file", extra={"reason": reason}
        ),
    )
    logger.info("model loaded", extra={"model": model.info.describe(), "threads": settings.intra_op_threads})
    return ModelHolder(model)


def _hot_swap(
    settings: Settings,
    s3: Callable[[], Any],
    logger: Logger,
    baked_in: Path,
    *,
    tracer: Tracer,
    metrics: Metrics,
) -> HotSwap:
    # Deferred: the pointer reader imports boto3, which a function without a pointer never needs.
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    from serving.pointer import PointerReader, ssm_provider  # noqa: PLC0415
    from serving.swap import HotSwap  # noqa: PLC0415

    @functools.cache
    def provider() -> Any:
        tracer.patch(["botocore"])
        return ssm_provider(boto3.client("ssm", config=Config(**SSM_TIMEOUTS)))

    reader = PointerReader(
        str(settings.model_pointer_parameter), max_age_s=settings.model_pointer_max_age_s, provider=provider
    )
    swap = HotSwap(
        reader,
        load=pointer_model_loader(settings, s3),
        load_baked_in=lambda: load_model(baked_in, intra_op_threads=settings.intra_op_threads),
        metrics=metrics,
        logger=logger,
    ).start()
    logger.info(
        "model source: the model pointer",
        extra={"pointer": reader.name, "max_age_s": reader.max_age_s, "threads": settings.intra_op_threads},
    )
    return swap


def pointer_model_loader(settings: Settings, s3: Callable[[], Any]) -> Callable[[ModelPointer], LoadedModel]:
    """Download the pointer's model to /tmp, verify it, build its session, delete the file."""

    def load(pointer: ModelPointer) -> LoadedModel:
        path = fetch_verified(s3(), str(pointer.model_uri), settings.model_cache_dir, sha256=pointer.sha256)
        try:
            return load_model(path, intra_op_threads=settings.intra_op_threads, source=pointer.model_uri)
        finally:
            path.unlink(missing_ok=True)  # the session holds the graph; /tmp keeps nothing

    return load
