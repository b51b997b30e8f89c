"""Draw a page's audit on its anonymized image: replaced boxes by entity type, verification redactions.

Only what the audit holds is drawn (types, surrogates, scores, boxes), never an original value,
so an overlay of an output page is as shareable as the page itself.
"""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Mapping
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from anonymizer.pipeline.page_text import reference_font

REDACTED_COLOR = (220, 0, 0)


def type_color(entity_type: str) -> tuple[int, int, int]:
    """A stable, saturated colour per entity type (the same in every run)."""
    hue = int(hashlib.sha256(entity_type.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.8)
    return int(r * 255), int(g * 255), int(b * 255)


def draw_audit(
    image: Image.Image,
    page_audit: Mapping[str, Any],
    labels: bool = True,
    width: int = 2,
    font_size: int = 11,
) -> Image.Image:
    """A copy of ``image`` with each audited entity's boxes outlined in its type's colour.

    Args:
        image: the anonymized page (the audit's boxes are in its pixel coordinates).
        page_audit: one entry of an audit's ``pages`` list (``entities``, ``verification``).
        labels: write ``TYPE score`` above each entity's first box.
        width: outline width in pixels.
        font_size: label size in pixels.

    Where verification still read an original value, its boxes are outlined in red with a
    cross (redacted by the fallback, or only flagged with ``verify.fallback=none``).
    """
    if width < 1 or font_size < 1:
        raise ValueError(f"width and font_size must be >= 1, got {width}, {font_size}")
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont = reference_font()
    if isinstance(font, ImageFont.FreeTypeFont):
        font = font.font_variant(size=font_size)
    for entity in page_audit.get("entities", []):
        color = type_color(str(entity["type"]))
        boxes = entity.get("boxes", [])
        for box in boxes:
            draw.rectangle([round(v) for v in box], outline=color, width=width)
        if labels and boxes:
            x0, y0 = boxes[0][0], boxes[0][1]
            text = f"{entity['type']} {float(entity.get('score', 0)):.2f}"
            left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
            y = max(0, y0 - (bottom - top) - 3)
            draw.rectangle([x0, y, x0 + right - left + 4, y + bottom - top + 2], fill=color)
            draw.text((x0 + 2 - left, y + 1 - top), text, fill=(255, 255, 255), font=font)
    verification = page_audit.get("verification", {})
    flagged = verification.get("redacted") or [b for leak in verification.get("leaks", []) for b in leak["boxes"]]
    for box in flagged:
        x0, y0, x1, y1 = (round(v) for v in box)
        draw.rectangle([x0, y0, x1, y1], outline=REDACTED_COLOR, width=width)
        draw.line([x0, y0, x1, y1], fill=REDACTED_COLOR, width=width)
        draw.line([x0, y1, x1, y0], fill=REDACTED_COLOR, width=width)
    return out
