"""One set of knobs: the core's dataclasses hold every default; the settings only change them."""

from __future__ import annotations

import dataclasses

import pytest

from invoice_core.knobs import Limits, ReadPolicy
from serving.settings import Settings

pytestmark = pytest.mark.unit


def test_settings_left_alone_give_the_cores_own_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.limits == Limits()
    assert dataclasses.replace(settings.policy, ocr_threads=None) == ReadPolicy()
    assert settings.policy.ocr_threads == settings.intra_op_threads >= 1  # OCR threads set, as in the bench


def test_a_deployment_changes_a_knob_through_its_environment_variable() -> None:
    settings = Settings.from_env({"DEFAULT_CONF": "0.4", "PDF_DPI": "200", "OCR_THREADS": "3"})
    assert settings.limits.default_conf == 0.4 and settings.limits.pdf_dpi == 200
    assert settings.limits.nms_iou == Limits().nms_iou  # the others stay the core's
    assert settings.policy.ocr_threads == 3
