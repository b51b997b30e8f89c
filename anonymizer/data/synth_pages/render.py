"""Typesetting onto an ink-coverage canvas with exact word boxes.

Text is drawn glyph by glyph: each (font, size, character) is rasterised once with
FreeType (Pillow's basic layout, no kerning) and blitted with numpy at the rounded pen
position. A word's box is therefore exactly the bounding box of its ink, the pixels its
glyphs cover (coverage > 0) before any scan effect, as ``(x0, y0, x1, y1)`` with the far
edges exclusive. Rules and boxes are drawn into the same canvas and never into a box of a
word (the layouts keep them apart).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from anonymizer.data.fonts import FontFile
from anonymizer.data.records import PII_LABELS, Entity, PageRecord, Word


class LayoutError(RuntimeError):
    """A layout tried to draw outside the page (a bug of the layout, never of the input)."""


@dataclass
class _Glyph:
    mask: np.ndarray | None  # uint8 coverage cropped to the ink, None for blank glyphs
    dx: int  # offset of the mask's top-left from the pen (top of the line)
    dy: int
    advance: float


class GlyphFont:
    """One font file at one pixel size; characters are rasterised on first use."""

    def __init__(self, path: str, size: int) -> None:
        self.path, self.size = path, size
        self.font = ImageFont.FreeTypeFont(path, size, layout_engine=ImageFont.Layout.BASIC)
        self.ascent, self.descent = self.font.getmetrics()
        self.space = self.font.getlength(" ")
        self._glyphs: dict[str, _Glyph] = {}

    def glyph(self, ch: str) -> _Glyph:
        g = self._glyphs.get(ch)
        if g is None:
            g = self._glyphs[ch] = self._rasterise(ch)
        return g

    def _rasterise(self, ch: str) -> _Glyph:
        advance = self.font.getlength(ch)
        pad = self.size
        im = Image.new("L", (math.ceil(advance) + 2 * pad, self.ascent + self.descent + 2 * pad))
        ImageDraw.Draw(im).text((pad, pad), ch, font=self.font, fill=255)
        bbox = im.getbbox()
        if bbox is None:
            return _Glyph(None, 0, 0, advance)
        return _Glyph(np.array(im.crop(bbox)), bbox[0] - pad, bbox[1] - pad, advance)

    def measure(self, text: str) -> float:
        """Advance width of ``text`` drawn word by word (single spaces between words)."""
        words = text.split()
        return sum(self.glyph(c).advance for w in words for c in w) + self.space * max(len(words) - 1, 0)

    @property
    def height(self) -> int:
        """Height of a line of this font (ascent + descent)."""
        return self.ascent + self.descent


class FontBook:
    """The faces found by :func:`anonymizer.data.fonts.find_fonts`, by family and style."""

    _cache: dict[tuple[str, int], GlyphFont] = {}  # per process, shared by all books

    def __init__(self, fonts: Sequence[FontFile]) -> None:
        self.faces: dict[str, dict[tuple[bool, bool], str]] = {}
        for f in fonts:
            self.faces.setdefault(f.family, {})[(f.bold, f.italic)] = f.path
        self.families = sorted(self.faces)

    def kind(self, family: str) -> str:
        """``mono``, ``serif`` or ``sans`` from the family name."""
        return "mono" if "Mono" in family else "serif" if "Serif" in family else "sans"

    def of_kind(self, *kinds: str) -> list[str]:
        """Families of the given kinds (all families when none matches)."""
        return [f for f in self.families if self.kind(f) in kinds] or self.families

    def get(self, family: str, size: int, bold: bool = False, italic: bool = False) -> GlyphFont:
        faces = self.faces[family]
        wanted = ((bold, italic), (bold, False), (False, italic), (False, False))
        path = next((faces[k] for k in wanted if k in faces), next(iter(faces.values())))
        gf = self._cache.get((path, size))
        if gf is None:
            gf = self._cache[(path, size)] = GlyphFont(path, size)
        return gf


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
             align: str = "left") -> list[int]:
        """Draw ``text`` with the top of its line at ``y``; return the new words' indices.

        ``x`` is the left edge (``align="left"``), the right edge (``"right"``) or the
        centre (``"center"``) of the text's advance width.
        """
        tokens = text.split()
        if not tokens:
            return []
        if align != "left":
            w = font.measure(text)
            x -= w if align == "right" else w / 2
        line = self.new_line() if line is None else line
        yi = round(y)
        out = []
        for token in tokens:
            x0 = y0 = math.inf
            x1 = y1 = -math.inf
            for ch in token:
                g = font.glyph(ch)
                if g.mask is not None:
                    h, w = g.mask.shape
                    gx, gy = round(x) + g.dx, yi + g.dy
                    if gx < 0 or gy < 0 or gx + w > self.width or gy + h > self.height:
                        raise LayoutError(f"a glyph at ({gx}, {gy}) lies outside the {self.width}x{self.height} page")
                    region = self.ink[gy : gy + h, gx : gx + w]
                    np.maximum(region, g.mask, out=region)
                    x0, y0, x1, y1 = min(x0, gx), min(y0, gy), max(x1, gx + w), max(y1, gy + h)
                x += g.advance
            x += font.space
            if x1 > x0:
                out.append(len(self.words))
                self.words.append(Word(token, (float(x0), float(y0), float(x1), float(y1)), line=line))
        return out

    def entity(self, label: str, words: Sequence[int], sensitive: bool | None = None) -> int:
        """Add an entity over ``words``; sensitive by default when ``label`` is a PII label."""
        eid = len(self.entities)
        sens = label in PII_LABELS if sensitive is None else sensitive
        self.entities.append(Entity(label=label, words=tuple(words), sensitive=sens, id=eid))
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

    def crop_height(self, height: int) -> None:
        """Cut the page to ``height`` rows (receipts end below their last line)."""
        if any(w.box[3] > height for w in self.words):
            raise LayoutError("cropping the page would cut words")
        self.height = height
        self.ink = self.ink[:height]

    def record(self, rid: str, image: str, source: str) -> PageRecord:
        return PageRecord(id=rid, image=image, width=self.width, height=self.height, words=list(self.words),
                          entities=list(self.entities), links=list(self.links), source=source)
