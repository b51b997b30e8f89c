"""Layout helpers shared by the page kinds: fonts of a page, rows of keys and values, paragraphs.

Every value is one entity of its PII label; every key (a field's label, e.g. ``Name:``) is
a ``KEY`` entity (not sensitive) linked to its value(s) by the caller. Values are never
cut: when one is too wide for its place it is set in a smaller size of the same face, and
the field is left out when even that does not fit.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from anonymizer.data.synth_pages.render import FontBook, GlyphFont, Page
from anonymizer.data.synth_pages.values import Value, Values, language
from anonymizer.data.synth_pages.vocab import LABELS
from anonymizer.data.text_content import cut

MIN_FONT_PX = 10


class PageFull(Exception):
    """Raised by the drawing helpers when a line would pass the bottom margin: the layout ends there."""

# A part of a row: what is drawn, its role ("plain", "key" or "value") and its font.
Part = tuple["str | Value", str, GlyphFont]


@dataclass
class Ctx:
    """One page being laid out: the canvas, its randomness and its typography.

    ``left``/``top``/``right``/``bottom`` bound the content area (the margins are outside).
    """

    page: Page
    rng: random.Random
    values: Values
    fonts: FontBook
    locale: str
    family: str
    head_family: str
    size: int
    spacing: float
    left: int
    top: int
    right: int
    bottom: int
    colon: str = ":"
    hand_fonts: tuple[str, ...] = ()  # handwriting font files (real-document kinds)
    hand_prob: float = 0.0  # probability that a real-document page is filled in by hand

    @property
    def lang(self) -> str:
        return language(self.locale)

    @property
    def width(self) -> int:
        return self.right - self.left

    def font(self, scale: float = 1.0, bold: bool = False, italic: bool = False,
             family: str | None = None) -> GlyphFont:
        return self.fonts.get(family or self.family, max(MIN_FONT_PX, round(self.size * scale)), bold, italic)

    def fit(self, texts: Sequence[str], max_width: float, scale: float = 1.0, bold: bool = False,
            italic: bool = False, family: str | None = None) -> GlyphFont | None:
        """The font (``scale`` of the body size, shrunk to 70% at most) in which all ``texts`` fit."""
        size = max(MIN_FONT_PX, round(self.size * scale))
        for s in range(size, max(MIN_FONT_PX, math.floor(size * 0.7)) - 1, -1):
            font = self.fonts.get(family or self.family, s, bold, italic)
            if max(font.measure(t) for t in texts) <= max_width:
                return font
        return None

    def pitch(self, font: GlyphFont) -> int:
        """Distance between the tops of two lines of ``font``."""
        return max(math.ceil(font.size * self.spacing), font.height + 2)

    def label(self, key: str) -> str:
        """A field label of the page's language followed by the page's colon style."""
        return self.rng.choice(LABELS[self.lang][key]) + self.colon

    def fits(self, y: float, height: float) -> bool:
        return y + height <= self.bottom


def part_width(parts: Sequence[Part]) -> float:
    """Advance width of ``parts`` drawn side by side with one space of the first font between them."""
    texts = [p[0].text if isinstance(p[0], Value) else p[0] for p in parts]
    return sum(f.measure(t) for t, (_, _, f) in zip(texts, parts)) + parts[0][2].space * (len(parts) - 1)


def row(ctx: Ctx, parts: Sequence[Part], x: float, y: float, align: str = "left",
        line: int | None = None) -> tuple[list[int | None], float]:
    """Draw ``parts`` side by side on one line whose top is ``y``, baselines aligned.

    Returns the entity id of each part (``None`` for plain text) and the y of the next line.
    Keys become ``KEY`` entities, values entities of their label; the caller links them.
    """
    page = ctx.page
    if not ctx.fits(y, max(f.height for _, _, f in parts)):
        raise PageFull
    line = page.new_line() if line is None else line
    width = part_width(parts)
    x = x - width if align == "right" else x - width / 2 if align == "center" else x
    ascent = max(f.ascent for _, _, f in parts)
    ids: list[int | None] = []
    for content, role, font in parts:
        text = content.text if isinstance(content, Value) else content
        words = page.text(x, y + ascent - font.ascent, text, font, line)
        if role == "key":
            ids.append(page.entity("KEY", words, sensitive=False))
        elif role == "value":
            assert isinstance(content, Value)
            ids.append(page.entity(content.label, words, scope=content.scope))
        else:
            ids.append(None)
        x += font.measure(text) + parts[0][2].space
    return ids, y + max(ctx.pitch(f) for _, _, f in parts)


def value_block(ctx: Ctx, value: Value, x: float, y: float, font: GlyphFont, align: str = "left",
                line: int | None = None) -> tuple[int, float]:
    """Draw a (possibly multi-line) value; return its entity id and the y below it."""
    if not ctx.fits(y, ctx.pitch(font) * (len(value.lines) - 1) + font.height):
        raise PageFull
    words: list[int] = []
    for k, text in enumerate(value.lines):
        words += ctx.page.text(x, y, text, font, line if k == 0 else None, align)
        y += ctx.pitch(font)
    return ctx.page.entity(value.label, words, scope=value.scope), y


def key_value(ctx: Ctx, key: str, value: Value, x: float, y: float, key_font: GlyphFont,
              value_font: GlyphFont, align: str = "left") -> float:
    """``key value`` on one line (or the key above the value when too wide), linked.

    ``x`` is the left edge (``align="left"``) or the right edge (``"right"``). Returns the
    y of the next line; nothing is drawn when even the stacked form does not fit.
    """
    room = ctx.right - x if align == "left" else x - ctx.left
    parts: list[Part] = [(key, "key", key_font), (value, "value", value_font)]
    if part_width(parts) <= room:
        (k, v), y = row(ctx, parts, x, y, align)
    elif max(key_font.measure(key), value_font.measure(value.text)) <= room:
        (k,), y = row(ctx, parts[:1], x, y, align)
        (v,), y = row(ctx, parts[1:], x, y, align)
    else:
        return y
    ctx.page.link(k, v)  # type: ignore[arg-type]
    return y


def paragraph(ctx: Ctx, pieces: Sequence[str | Value], x: float, y: float, width: float,
              font: GlyphFont) -> float:
    """Wrap plain text and values (entities, possibly split over lines) into ``width``."""
    tokens: list[tuple[str, int | None]] = []
    for i, piece in enumerate(pieces):
        if isinstance(piece, Value):
            tokens += [(t, i) for t in piece.text.split()]
        else:
            tokens += [(t, None) for t in piece.split()]
    lines: list[list[tuple[str, int | None]]] = [[]]
    used = 0.0
    for tok in tokens:
        w = font.measure(tok[0])
        if lines[-1] and used + font.space + w > width:
            lines.append([])
            used = 0.0
        used += (font.space if lines[-1] else 0.0) + w
        lines[-1].append(tok)
    if not ctx.fits(y, ctx.pitch(font) * (len(lines) - 1) + font.height):
        raise PageFull
    members: dict[int, list[int]] = {}
    for toks in lines:
        words = ctx.page.text(x, y, " ".join(t for t, _ in toks), font)
        assert len(words) == len(toks), "every token has ink"
        for wi, (_, piece) in zip(words, toks):
            if piece is not None:
                members.setdefault(piece, []).append(wi)
        y += ctx.pitch(font)
    for i in sorted(members):
        ctx.page.entity(pieces[i].label, members[i], scope=pieces[i].scope)  # type: ignore[union-attr]
    return y


def plain(ctx: Ctx, text: str, x: float, y: float, font: GlyphFont, max_width: float,
          align: str = "left", line: int | None = None) -> float:
    """One line of plain text, cut to ``max_width``; returns the y of the next line."""
    if not ctx.fits(y, font.height):
        raise PageFull
    while text and font.measure(text) > max_width:
        text = cut(text, len(text) - 1)
    if text:
        ctx.page.text(x, y, text, font, line, align)
    return y + ctx.pitch(font)
