"""Solid redaction boxes."""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageColor, ImageDraw

from anonymizer.core.geometry import Box, dilate_box
from anonymizer.pipeline.render.base import BaseRenderer, Replacement


def parse_color(color: str | Sequence[int]) -> tuple[int, int, int]:
    """An RGB triple from a colour name / ``#rrggbb`` or three 0..255 integers."""
    if isinstance(color, str):
        try:
            rgb = ImageColor.getrgb(color)
        except ValueError:
            raise ValueError(f"unknown colour {color!r}") from None
        return tuple(int(v) for v in rgb[:3])  # type: ignore[return-value]
    values = tuple(color)
    if len(values) != 3 or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in values):
        raise ValueError(f"colour must be a name or three integers in 0..255, got {color!r}")
    return values  # type: ignore[return-value]


class RedactRenderer(BaseRenderer):
    """Fills every box, dilated by ``margin`` pixels, with ``color`` (default black)."""

    name = "redact"

    def __init__(self, color: str | Sequence[int] = "black", margin: int = 2) -> None:
        super().__init__(margin)
        self.color = parse_color(color)

    def _render(self, page: Image.Image, boxes: list[Box], replacements: list[Replacement]) -> Image.Image:
        out = page.copy()
        draw = ImageDraw.Draw(out)
        for box in boxes:
            x0, y0, x1, y1 = dilate_box(box, self.margin, page.size)
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=self.color)
        return out
