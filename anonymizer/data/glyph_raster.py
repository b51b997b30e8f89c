"""Glyph-by-glyph text rasterising shared by the synthetic crop and page generators.

Each (font file, pixel size, character) is rasterised once with FreeType (Pillow's basic
layout, no kerning) into a coverage mask cropped to its ink; the generators blit the masks
with numpy at the rounded pen position, an order of magnitude faster than
``ImageDraw.text`` for hinted fonts, and know each word's ink box exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from anonymizer.core.fonts import FontFile
from anonymizer.core.geometry import Box


@dataclass
class Glyph:
    mask: np.ndarray | None  # uint8 coverage cropped to the ink, None for blank glyphs (space)
    dx: int  # offset of the mask's top-left from the pen (top of the line, "la" anchor)
    dy: int
    advance: float


class GlyphFont:
    """One font file at one pixel size; characters are rasterised on first use."""

    def __init__(self, path: str, size: int) -> None:
        self.path, self.size = path, size
        self.font = ImageFont.FreeTypeFont(path, size, layout_engine=ImageFont.Layout.BASIC)
        self.ascent, self.descent = self.font.getmetrics()
        self.space = self.font.getlength(" ")
        self._glyphs: dict[str, Glyph] = {}

    def glyph(self, ch: str) -> Glyph:
        g = self._glyphs.get(ch)
        if g is None:
            g = self._glyphs[ch] = self._rasterise(ch)
        return g

    def _rasterise(self, ch: str) -> Glyph:
        advance = self.font.getlength(ch)
        pad = self.size  # room for overhangs (italics, accents above the ascent)
        im = Image.new("L", (math.ceil(advance) + 2 * pad, self.ascent + self.descent + 2 * pad))
        ImageDraw.Draw(im).text((pad, pad), ch, font=self.font, fill=255)
        bbox = im.getbbox()
        if bbox is None:
            return Glyph(None, 0, 0, advance)
        return Glyph(np.array(im.crop(bbox)), bbox[0] - pad, bbox[1] - pad, advance)

    def measure(self, text: str) -> float:
        """Advance width of ``text`` drawn word by word (single spaces between words)."""
        words = text.split()
        return sum(self.glyph(c).advance for w in words for c in w) + self.space * max(len(words) - 1, 0)

    @property
    def height(self) -> int:
        """Height of a line of this font (ascent + descent)."""
        return self.ascent + self.descent


def draw_word(canvas: np.ndarray, font: GlyphFont, word: str, x: float, y: int) -> tuple[float, Box | None]:
    """Blit the glyphs of ``word`` onto the coverage ``canvas`` (H, W uint8, by maximum) with the
    pen at ``x`` and the top of the line at row ``y``, clipped to the canvas.

    Returns the pen after the word and the word's ink box ``(x0, y0, x1, y1)`` (far edges
    exclusive, not clipped: it may reach past the canvas), None when it has no ink.
    """
    height, width = canvas.shape
    x0 = y0 = math.inf
    x1 = y1 = -math.inf
    for ch in word:
        g = font.glyph(ch)
        if g.mask is not None:
            h, w = g.mask.shape
            gx, gy = round(x) + g.dx, y + g.dy
            x0, y0, x1, y1 = min(x0, gx), min(y0, gy), max(x1, gx + w), max(y1, gy + h)
            cx0, cy0, cx1, cy1 = max(gx, 0), max(gy, 0), min(gx + w, width), min(gy + h, height)
            if cx0 < cx1 and cy0 < cy1:
                region = canvas[cy0:cy1, cx0:cx1]
                np.maximum(region, g.mask[cy0 - gy : cy1 - gy, cx0 - gx : cx1 - gx], out=region)
        x += g.advance
    return x, ((float(x0), float(y0), float(x1), float(y1)) if x1 > x0 else None)


class FontFaces:
    """Font files (:func:`anonymizer.core.fonts.find_fonts`) by family and style."""

    def __init__(self, fonts: Sequence[FontFile]) -> None:
        self.faces: dict[str, dict[tuple[bool, bool], str]] = {}
        for f in fonts:
            self.faces.setdefault(f.family, {})[(f.bold, f.italic)] = f.path
        self.families = sorted(self.faces)

    def path(self, family: str, bold: bool = False, italic: bool = False) -> str:
        """The file of ``family`` in the style asked for, else the nearest one it has
        (bold only, italic only, regular, then any)."""
        faces = self.faces[family]
        wanted = ((bold, italic), (bold, False), (False, italic), (False, False))
        return next((faces[k] for k in wanted if k in faces), next(iter(faces.values())))


def cached_font(cache: dict[tuple[str, int], GlyphFont], path: str, size: int) -> GlyphFont:
    """The :class:`GlyphFont` of ``(path, size)`` in ``cache``, created on first use."""
    gf = cache.get((path, size))
    if gf is None:
        gf = cache[(path, size)] = GlyphFont(path, size)
    return gf
