"""Letterbox to the model's input size, the way Ultralytics trains and predicts.

The model contract gives `imgsz` as (height, width). Resize keeps the aspect ratio (bilinear),
pads evenly with grey 114, and the inverse of exactly this transform maps boxes back.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """The forward transform, kept to invert it on boxes."""

    gain_x: float  # resized width / source width
    gain_y: float
    pad_x: int  # left padding in model pixels
    pad_y: int  # top padding


def letterbox(image: np.ndarray, size_hw: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """Resize + pad `image` (H x W x C) into `size_hw` = (height, width)."""
    src_h, src_w = image.shape[:2]
    out_h, out_w = size_hw
    ratio = min(out_h / src_h, out_w / src_w)
    new_w, new_h = max(round(src_w * ratio), 1), max(round(src_h * ratio), 1)
    if (new_w, new_h) != (src_w, src_h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    dw, dh = (out_w - new_w) / 2, (out_h - new_h) / 2
    # The +-0.1 splits an odd padding the same way Ultralytics does (one extra pixel right/bottom).
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    padded = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return padded, Letterbox(gain_x=new_w / src_w, gain_y=new_h / src_h, pad_x=left, pad_y=top)


def to_tensor(bgr: np.ndarray) -> np.ndarray:
    """BGR uint8 H x W x 3 -> RGB float32 1 x 3 x H x W in [0, 1], in one OpenCV pass."""
    return cv2.dnn.blobFromImage(bgr, scalefactor=1.0 / 255.0, swapRB=True)


def prepare(bgr: np.ndarray, size_hw: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """Letterbox and convert: what the model's input expects."""
    padded, transform = letterbox(bgr, size_hw)
    return to_tensor(padded), transform


def unletterbox(boxes: np.ndarray, transform: Letterbox, shape_hw: tuple[int, int]) -> np.ndarray:
    """Model-pixel xyxy boxes -> source-pixel xyxy boxes, clipped to the source image."""
    out = boxes.astype(np.float32, copy=True)
    out[:, [0, 2]] = (out[:, [0, 2]] - transform.pad_x) / transform.gain_x
    out[:, [1, 3]] = (out[:, [1, 3]] - transform.pad_y) / transform.gain_y
    height, width = shape_hw
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, width)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, height)
    return out
