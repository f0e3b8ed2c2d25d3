"""The one configuration object of the inference function, read from the environment at import.

Template Parameters -> function environment -> `Settings` (frozen). Nothing else reads os.environ.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from apiedge.settings import EnvSettings
from invoice_core.knobs import Limits, ReadPolicy, RenderBudget

LAMBDA_MB_PER_VCPU = 1769  # Lambda gives one full vCPU at 1,769 MB and scales linearly
# The core's defaults: its knobs are their one home; these fields only let a deployment change them.
_LIMITS = Limits()
_RENDER = RenderBudget()


class Settings(EnvSettings):
    """Limits, model location and runtime knobs; field aliases are the environment variable names."""

    model_path: Path = Field(Path("/opt/ml/model/model.onnx"), alias="MODEL_PATH")
    model_uri: str | None = Field(
        None, alias="MODEL_URI", description="s3://bucket/key.onnx overrides the baked-in model"
    )
    # fp32: MODEL_PATH itself; int8: its `model.int8.onnx` sibling (the baked-in model only; FP32,
    # with a log line, when that file is absent). See models/demo/MODEL_CARD.md "FP32 and INT8".
    model_precision: Literal["fp32", "int8"] = Field("fp32", alias="MODEL_PRECISION")
    model_cache_dir: Path = Field(Path("/tmp/model-cache"), alias="MODEL_CACHE_DIR")  # noqa: S108 - Lambda's only writable dir
    # The promotion function's SSM parameter naming the model to serve (hot swap, serving/swap.py).
    # Precedence: MODEL_URI (a fixed pin: the pointer is then never read) > the pointer > baked-in.
    model_pointer_parameter: str | None = Field(
        None, alias="MODEL_POINTER_PARAMETER", description="SSM parameter name; unset: no hot swap"
    )
    # How stale the pointer may be: read at most once per this many seconds (0: on every request).
    model_pointer_max_age_s: int = Field(60, ge=0, le=3600, alias="MODEL_POINTER_MAX_AGE_S")
    upload_bucket: str | None = Field(None, alias="UPLOAD_BUCKET")
    upload_prefix: str = Field("uploads/", pattern=r"^(?:[A-Za-z0-9._-]+/)+$", alias="UPLOAD_PREFIX")
    upload_url_expires_s: int = Field(900, ge=60, le=43200, alias="UPLOAD_URL_EXPIRES_S")

    max_body_bytes: int = Field(6 * 1024 * 1024, ge=1024, alias="MAX_BODY_BYTES")
    max_object_bytes: int = Field(50 * 1024 * 1024, ge=1024, alias="MAX_OBJECT_BYTES")
    # ONE pixel budget per request: an image's pixels (from its header, before decoding), or the
    # rendered pixels of all PDF pages together (from the page sizes, before rendering).
    max_pixels: int = Field(_LIMITS.max_pixels, ge=4096, alias="MAX_PIXELS")
    pdf_dpi: int = Field(
        _LIMITS.pdf_dpi, ge=36, le=600, alias="PDF_DPI"
    )  # the frame of PDF boxes; never finer
    pdf_max_pages: int = Field(_LIMITS.pdf_max_pages, ge=1, le=100, alias="PDF_MAX_PAGES")
    # Pages are rendered with the long side at most this multiple of the model's input (0: at
    # PDF_DPI, for a later reader such as OCR that needs the detail).
    pdf_render_multiple: float = Field(
        _LIMITS.pdf_render_multiple, ge=0.0, le=16.0, alias="PDF_RENDER_MULTIPLE"
    )
    # The render child's limits (invoice_core/detect/pdf.py): CPU seconds, wall clock, added address space.
    pdf_render_cpu_s: int = Field(_RENDER.cpu_s, ge=1, le=900, alias="PDF_RENDER_CPU_S")
    pdf_render_timeout_s: float = Field(_RENDER.wall_s, gt=0.0, le=900.0, alias="PDF_RENDER_TIMEOUT_S")
    pdf_render_memory_mb: int = Field(_RENDER.memory_mb, ge=16, le=10240, alias="PDF_RENDER_MEMORY_MB")
    # JPEG DCT-domain downscale when the page is >= 2x the model input: faster decode, but the
    # pixels differ from Ultralytics' full decode + resize, so parity is exact only with it off.
    reduced_decode: bool = Field(_LIMITS.reduced_decode, alias="REDUCED_DECODE")

    # Read the field values (text layer or OCR) unless a request says `fields=0`; the queue worker
    # follows it for every invoice. false: detections only unless a request says `fields=1`.
    read_fields: bool = Field(True, alias="READ_FIELDS")
    default_conf: float = Field(_LIMITS.default_conf, ge=0.0, le=1.0, alias="DEFAULT_CONF")
    nms_iou: float = Field(_LIMITS.nms_iou, gt=0.0, le=1.0, alias="NMS_IOU")
    jpeg_quality: int = Field(85, ge=30, le=100, alias="ANNOTATED_JPEG_QUALITY")
    annotated_max_side: int = Field(4096, ge=256, le=16384, alias="ANNOTATED_MAX_SIDE")

    ort_intra_op_threads: int = Field(0, ge=0, le=64, alias="ORT_INTRA_OP_THREADS")  # 0: from Lambda vCPUs
    # OCR's ONNX Runtime threads; 0: as the detector's (`intra_op_threads`)
    ocr_threads: int = Field(0, ge=0, le=64, alias="OCR_THREADS")
    lambda_memory_mb: int | None = Field(None, alias="AWS_LAMBDA_FUNCTION_MEMORY_SIZE")

    @field_validator("model_precision", mode="before")
    @classmethod
    def _precision_lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def limits(self) -> Limits:
        """The core's budgets and defaults."""
        return Limits(
            max_pixels=self.max_pixels,
            pdf_dpi=self.pdf_dpi,
            pdf_max_pages=self.pdf_max_pages,
            pdf_render_multiple=self.pdf_render_multiple,
            pdf_render=RenderBudget(
                cpu_s=self.pdf_render_cpu_s,
                wall_s=self.pdf_render_timeout_s,
                memory_mb=self.pdf_render_memory_mb,
            ),
            default_conf=self.default_conf,
            nms_iou=self.nms_iou,
            reduced_decode=self.reduced_decode,
        )

    @property
    def policy(self) -> ReadPolicy:
        """How pages are read: the core's defaults, with OCR on this function's share of vCPUs."""
        return ReadPolicy(ocr_threads=self.ocr_threads or self.intra_op_threads)

    @property
    def intra_op_threads(self) -> int:
        """ONNX Runtime threads: explicit, else Lambda's vCPU share of its memory, capped by visible CPUs."""
        if self.ort_intra_op_threads:
            return self.ort_intra_op_threads
        visible = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        if self.lambda_memory_mb:
            return max(1, min(visible, math.ceil(self.lambda_memory_mb / LAMBDA_MB_PER_VCPU)))
        return visible
