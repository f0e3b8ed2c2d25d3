"""Drawing with ground truth: blocks of drawing operations, and a canvas that also paints each field's ink.

A `Block` records operations in its own coordinates and knows its extent (from the fonts' glyph
bounding boxes, `FreeTypeFont.getbbox`), so the layout can measure a block before placing it. The
`Canvas` replays blocks onto the page; an operation tagged with a field's class id is painted a second
time, in white, onto that field's own greyscale layer. A field's box is later taken from its layer's
ink, so it is exact whatever fonts, anti-aliasing or geometry the page gets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw, ImageFont

Color = tuple[int, int, int]


@dataclass
class Op:
    """One drawing call: `kind` is an ImageDraw method, `xy` its coordinates."""

    kind: str
    xy: list[float]
    kw: dict[str, Any]
    field: int | None


@dataclass
class Block:
    """Drawing operations with their extent; coordinates are the block's own."""

    ops: list[Op] = field(default_factory=list)
    x1: float = math.inf
    y1: float = math.inf
    x2: float = -math.inf
    y2: float = -math.inf

    @property
    def w(self) -> float:
        return max(0.0, self.x2 - self.x1)

    @property
    def h(self) -> float:
        return max(0.0, self.y2 - self.y1)

    @property
    def empty(self) -> bool:
        return not self.ops

    def _grow(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self.x1, self.y1 = min(self.x1, x1), min(self.y1, y1)
        self.x2, self.y2 = max(self.x2, x2), max(self.y2, y2)

    def text(
        self,
        x: float,
        y: float,
        s: str,
        font: ImageFont.FreeTypeFont,
        fill: Color,
        *,
        anchor: str = "ls",
        field: int | None = None,
    ) -> tuple[float, float, float, float]:
        """Text with its anchor at (x, y) (default: left end of the baseline); returns its glyph bbox."""
        bx1, by1, bx2, by2 = font.getbbox(s, anchor=anchor)
        box = (x + bx1, y + by1, x + bx2, y + by2)
        if s.strip():
            self.ops.append(
                Op("text", [x, y], {"text": s, "font": font, "fill": fill, "anchor": anchor}, field)
            )
            self._grow(*box)
        return box

    def line(self, xy: Sequence[float], fill: Color, width: float = 1, *, field: int | None = None) -> None:
        """A straight line or polyline."""
        width = max(1, round(width))
        self.ops.append(Op("line", list(xy), {"fill": fill, "width": width}, field))
        xs, ys = xy[0::2], xy[1::2]
        self._grow(min(xs) - width / 2, min(ys) - width / 2, max(xs) + width / 2, max(ys) + width / 2)

    def rect(
        self,
        xy: Sequence[float],
        *,
        fill: Color | None = None,
        outline: Color | None = None,
        width: int = 1,
        field: int | None = None,
    ) -> None:
        """A rectangle (x1, y1, x2, y2), filled and/or outlined."""
        self.ops.append(
            Op("rectangle", list(xy), {"fill": fill, "outline": outline, "width": max(1, int(width))}, field)
        )
        self._grow(*xy)

    def ellipse(
        self,
        xy: Sequence[float],
        *,
        fill: Color | None = None,
        outline: Color | None = None,
        width: int = 1,
        field: int | None = None,
    ) -> None:
        """An ellipse inside the box (x1, y1, x2, y2)."""
        self.ops.append(
            Op("ellipse", list(xy), {"fill": fill, "outline": outline, "width": max(1, int(width))}, field)
        )
        self._grow(*xy)

    def polygon(self, xy: Sequence[float], *, fill: Color, field: int | None = None) -> None:
        """A filled polygon."""
        self.ops.append(Op("polygon", list(xy), {"fill": fill}, field))
        xs, ys = xy[0::2], xy[1::2]
        self._grow(min(xs), min(ys), max(xs), max(ys))

    def add(self, other: Block, dx: float = 0.0, dy: float = 0.0, *, field: int | None = None) -> None:
        """Copy another block's operations here, shifted by (dx, dy); `field` tags untagged ones."""
        for op in other.ops:
            xy = [v + (dx if i % 2 == 0 else dy) for i, v in enumerate(op.xy)]
            self.ops.append(Op(op.kind, xy, op.kw, op.field if op.field is not None else field))
        if not other.empty:
            self._grow(other.x1 + dx, other.y1 + dy, other.x2 + dx, other.y2 + dy)

    def at(self, x: float, y: float) -> tuple[float, float]:
        """The shift that puts this block's top-left corner at (x, y)."""
        return x - self.x1, y - self.y1


class Canvas:
    """The page image plus one greyscale ink layer per field (keyed by class id)."""

    def __init__(self, width: int, height: int, paper: Color) -> None:
        self.image = Image.new("RGB", (width, height), paper)
        self._draw = ImageDraw.Draw(self.image)
        self.layers: dict[int, Image.Image] = {}
        self._layer_draw: dict[int, ImageDraw.ImageDraw] = {}

    def _layer(self, cls: int) -> ImageDraw.ImageDraw:
        if cls not in self._layer_draw:
            self.layers[cls] = Image.new("L", self.image.size, 0)
            self._layer_draw[cls] = ImageDraw.Draw(self.layers[cls])
        return self._layer_draw[cls]

    def paint(self, block: Block, dx: float = 0.0, dy: float = 0.0) -> None:
        """Replay a block at offset (dx, dy), onto the page and onto its fields' layers."""
        for op in block.ops:
            xy = [v + (dx if i % 2 == 0 else dy) for i, v in enumerate(op.xy)]
            self._apply(self._draw, op.kind, xy, op.kw)
            if op.field is not None:
                # Same geometry in white: the layer holds exactly the ink this field put on the page.
                white = {
                    k: (255 if k in ("fill", "outline") and v is not None else v) for k, v in op.kw.items()
                }
                self._apply(self._layer(op.field), op.kind, xy, white)

    @staticmethod
    def _apply(draw: ImageDraw.ImageDraw, kind: str, xy: list[float], kw: dict[str, Any]) -> None:
        if kind == "text":
            draw.text((xy[0], xy[1]), **kw)
        elif kind == "line":
            draw.line(xy, **kw)
        elif kind == "rectangle":
            draw.rectangle(_int_box(xy), **kw)
        elif kind == "ellipse":
            draw.ellipse(_int_box(xy), **kw)
        elif kind == "polygon":
            draw.polygon([(xy[i], xy[i + 1]) for i in range(0, len(xy), 2)], **kw)
        else:  # pragma: no cover - a programming error, not input
            raise ValueError(kind)


def _int_box(xy: list[float]) -> list[int]:
    x1, y1, x2, y2 = (round(v) for v in xy)
    return [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]
