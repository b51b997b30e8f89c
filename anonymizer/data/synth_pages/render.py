"""Typesetting onto an ink-coverage canvas with exact word boxes.

Text is drawn glyph by glyph (:mod:`anonymizer.data.glyph_raster`): each (font, size,
character) is rasterised once with FreeType (Pillow's basic layout, no kerning) and
blitted with numpy at the rounded pen position. A word's box is therefore exactly the
bounding box of its ink, the pixels its glyphs cover (coverage > 0) before any scan
effect, as ``(x0, y0, x1, y1)`` with the far edges exclusive. Rules and boxes are drawn
into the same canvas and never into a box of a word (the layouts keep them apart).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from anonymizer.core.records import PII_LABELS, Entity, PageRecord, Word
from anonymizer.data.glyph_raster import FontFaces, GlyphFont, cached_font, draw_word

__all__ = ["FontBook", "GlyphFont", "LayoutError", "Page"]


class LayoutError(RuntimeError):
    """A layout tried to draw outside the page (a bug of the layout, never of the input)."""


class FontBook(FontFaces):
    """The faces found by :func:`anonymizer.core.fonts.find_fonts`, by family and style."""

    _cache: dict[tuple[str, int], GlyphFont] = {}  # per process, shared by all books

    def kind(self, family: str) -> str:
        """``mono``, ``serif`` or ``sans`` from the family name."""
        return "mono" if "Mono" in family else "serif" if "Serif" in family else "sans"

    def of_kind(self, *kinds: str) -> list[str]:
        """Families of the given kinds (all families when none matches)."""
        return [f for f in self.families if self.kind(f) in kinds] or self.families

    def get(self, family: str, size: int, bold: bool = False, italic: bool = False) -> GlyphFont:
        return cached_font(self._cache, self.path(family, bold, italic), size)


class Page:
    """A page being typeset: ink coverage, words (one per whitespace token), entities and links."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.ink = np.zeros((height, width), np.uint8)
        self.words: list[Word] = []
        self.entities: list[Entity] = []
        self.links: list[tuple[int, int]] = []
        self._lines = 0

    def new_line(self) -> int:
        """A fresh line id (words drawn on the same row share one)."""
        self._lines += 1
        return self._lines - 1

    def text(self, x: float, y: float, text: str, font: GlyphFont, line: int | None = None,
             align: str = "left", offsets: Sequence[tuple[float, int]] | None = None) -> list[int]:
        """Draw ``text`` with the top of its line at ``y``; return the new words' indices.

        ``x`` is the left edge (``align="left"``), the right edge (``"right"``) or the
        centre (``"center"``) of the text's advance width. ``offsets`` (handwriting) move
        each word: ``(dx, dy)`` pixels, ``dx`` added to the space before it.
        """
        tokens = text.split()
        if not tokens:
            return []
        if align != "left":
            w = font.measure(text) + (sum(dx for dx, _ in offsets[1 : len(tokens)]) if offsets else 0)
            x -= w if align == "right" else w / 2
        line = self.new_line() if line is None else line
        yi = round(y)
        out = []
        for k, token in enumerate(tokens):
            if offsets:
                x, box = draw_word(self.ink, font, token, x + (offsets[k][0] if k else 0), yi + offsets[k][1])
            else:
                x, box = draw_word(self.ink, font, token, x, yi)
            if box is not None and (box[0] < 0 or box[1] < 0 or box[2] > self.width or box[3] > self.height):
                raise LayoutError(f"a word's ink {box} lies outside the {self.width}x{self.height} page")
            x += font.space
            if box is not None:
                out.append(len(self.words))
                self.words.append(Word(token, box, line=line))
        return out

    def entity(self, label: str, words: Sequence[int], sensitive: bool | None = None, scope: str | None = None) -> int:
        """Add an entity over ``words``; sensitive by default when ``label`` is a PII label."""
        eid = len(self.entities)
        sens = label in PII_LABELS if sensitive is None else sensitive
        self.entities.append(Entity(label=label, words=tuple(words), sensitive=sens, id=eid, scope=scope))
        return eid

    def link(self, key: int, value: int) -> None:
        self.links.append((key, value))

    def hline(self, x0: float, x1: float, y: float, thickness: int = 1, level: int = 255, dash: int = 0) -> None:
        """A horizontal rule (``dash`` > 0: dashes and gaps of that length)."""
        yi, a, b = round(y), max(round(x0), 0), min(round(x1), self.width)
        row = self.ink[max(yi, 0) : min(yi + thickness, self.height), a:b]
        if dash:
            mask = (np.arange(b - a) // dash) % 2 == 0
            row[:, mask] = np.maximum(row[:, mask], level)
        else:
            np.maximum(row, level, out=row)

    def vline(self, x: float, y0: float, y1: float, thickness: int = 1, level: int = 255) -> None:
        xi = round(x)
        col = self.ink[max(round(y0), 0) : min(round(y1), self.height), max(xi, 0) : min(xi + thickness, self.width)]
        np.maximum(col, level, out=col)

    def rect(self, x0: float, y0: float, x1: float, y1: float, thickness: int = 1, level: int = 255) -> None:
        self.hline(x0, x1, y0, thickness, level)
        self.hline(x0, x1, y1 - thickness, thickness, level)
        self.vline(x0, y0, y1, thickness, level)
        self.vline(x1 - thickness, y0, y1, thickness, level)

    def overlay(self, mask: np.ndarray, x: int, y: int) -> None:
        """Add the coverage ``mask`` (h, w uint8) with its top-left at ``(x, y)`` (by maximum, clipped)."""
        h, w = mask.shape
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, self.width), min(y + h, self.height)
        if x0 < x1 and y0 < y1:
            region = self.ink[y0:y1, x0:x1]
            np.maximum(region, mask[y0 - y : y1 - y, x0 - x : x1 - x], out=region)

    def crop_height(self, height: int) -> None:
        """Cut the page to ``height`` rows (receipts end below their last line)."""
        if any(w.box[3] > height for w in self.words):
            raise LayoutError("cropping the page would cut words")
        self.height = height
        self.ink = self.ink[:height]

    def record(self, rid: str, image: str, source: str) -> PageRecord:
        return PageRecord(id=rid, image=image, width=self.width, height=self.height, words=list(self.words),
                          entities=list(self.entities), links=list(self.links), source=source)
