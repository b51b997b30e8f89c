"""How filled-in values are written on the real-document families: typed faces or handwriting.

Handwriting-like fonts come from Debian packages (``fonts-dkg-handwriting``, ``fonts-breip``,
``fonts-comic-neue``, ``fonts-humor-sans``) and are found by file name
(:func:`find_hand_fonts`). When none is installed the generator types every value and
logs one warning per process. A :class:`Pen` writes a value with slight per-word baseline
and spacing jitter when it is handwriting; a value with a character the handwriting font
lacks (``€``, ``ß`` in some fonts) is typed instead, so no word shows a missing glyph.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from anonymizer.core.fonts import DEFAULT_FONT_DIRS
from anonymizer.data.glyph_raster import GlyphFont, cached_font
from anonymizer.data.synth_pages.render import FontBook
from anonymizer.data.synth_pages.typeset import MIN_FONT_PX, Ctx, PageFull
from anonymizer.data.synth_pages.values import Value

log = logging.getLogger(__name__)

HAND_INSTALL_HINT = "apt-get install fonts-dkg-handwriting fonts-breip fonts-comic-neue fonts-humor-sans"
_MISSING = ("\U000f0000", "\U000f0001")  # private-use characters no text font maps: the .notdef glyph


@functools.lru_cache(maxsize=8)
def find_hand_fonts(font_dirs: tuple[str, ...] | None, names: tuple[str, ...]) -> tuple[str, ...]:
    """Paths of the font files whose name without extension is one of ``names``, in ``names`` order.

    Searches ``font_dirs`` (None: the system font folders) recursively. Logs one warning
    (per process and arguments) when ``names`` is not empty and none is found.
    """
    if not names:
        return ()
    found: dict[str, str] = {}
    for folder in font_dirs if font_dirs is not None else DEFAULT_FONT_DIRS:
        root = os.path.expanduser(folder)
        for dirpath, _, files in sorted(os.walk(root)):
            for name in sorted(files):
                stem, ext = os.path.splitext(name)
                if ext.lower() in (".ttf", ".otf") and stem in names:
                    found.setdefault(stem, os.path.join(dirpath, name))
    paths = tuple(found[n] for n in names if n in found)
    if not paths:
        log.warning("No handwriting font %s found: filled-in values of the new page kinds are typed. "
                    "Install some with: %s", list(names), HAND_INSTALL_HINT)
    return paths


def covers(font: GlyphFont, text: str) -> bool:
    """True when ``font`` draws every non-space character of ``text`` (no .notdef box, no empty glyph)."""
    notdef = font.glyph(_MISSING[0])
    for ch in set(text) - {" "}:
        g = font.glyph(ch)
        if g.mask is None or (notdef.mask is not None and g.mask.shape == notdef.mask.shape
                              and (g.mask == notdef.mask).all() and g.advance == notdef.advance):
            return False
    return True


@dataclass
class Pen:
    """Writes filled-in values: a typed ``family`` of the page's :class:`FontBook`, or the
    handwriting font at ``hand`` (a path), at ``size`` pixels, optionally in capitals."""

    ctx: Ctx
    family: str
    size: int
    hand: str | None = None
    bold: bool = False
    caps: bool = False

    def face(self, size: int, hand: bool = True) -> GlyphFont:
        if self.hand and hand:
            return cached_font(FontBook._cache, self.hand, size)
        return self.ctx.fonts.get(self.family, size, self.bold)

    def fonts(self, texts: Sequence[str], scale: float = 1.0, max_size: int | None = None) -> Iterator[GlyphFont]:
        """Fonts from ``scale`` x ``size`` (at most ``max_size``) down to 70% of it, largest first;
        typed when the handwriting font lacks a character of ``texts``."""
        size = max(MIN_FONT_PX, round(self.size * scale))
        hand = self.hand is not None and covers(self.face(size), "".join(texts))
        for s in range(min(size, max_size or size), max(MIN_FONT_PX, math.floor(size * 0.7)) - 1, -1):
            yield self.face(s, hand)

    def fit(self, texts: Sequence[str], max_width: float, scale: float = 1.0,
            max_size: int | None = None) -> GlyphFont | None:
        """The largest of :meth:`fonts` in which every text fits ``max_width``, or None."""
        slack = self.slack(max(len(t.split()) for t in texts))
        return next((f for f in self.fonts(texts, scale, max_size)
                     if max(f.measure(t) for t in texts) <= max_width - slack), None)

    def is_hand(self, font: GlyphFont) -> bool:
        return self.hand is not None and font.path == self.hand

    def slack(self, words: int) -> float:
        """Extra width handwriting may take (its word spacing varies)."""
        return 2.0 * words if self.hand else 0.0

    def text_of(self, text: str) -> str:
        """``text`` as this pen writes it."""
        return text.upper() if self.caps else text

    def prepare(self, value: Value) -> Value:
        """``value`` as this pen writes it (in capitals with ``caps``)."""
        return Value(value.label, tuple(t.upper() for t in value.lines), value.scope) if self.caps else value

    def offsets(self, text: str, font: GlyphFont) -> list[tuple[float, int]] | None:
        if not self.is_hand(font):
            return None
        r, amp = self.ctx.rng, max(1, font.size // 12)
        return [(r.uniform(0, 2), r.randint(-amp, amp)) for _ in text.split()]

    def pitch(self, font: GlyphFont) -> int:
        """Line pitch of ``font``, with room for the handwriting jitter."""
        return self.ctx.pitch(font) + (2 * max(1, font.size // 12) if self.is_hand(font) else 0)

    def line(self, text: str, x: float, y: float, font: GlyphFont, align: str = "left",
             line: int | None = None) -> list[int]:
        """Draw one line; returns its word indices (raises PageFull past the bottom margin)."""
        amp = max(1, font.size // 12) if self.is_hand(font) else 0
        if not self.ctx.fits(y, font.height + 2 * amp):
            raise PageFull
        return self.ctx.page.text(x, y + amp, text, font, line, align, self.offsets(text, font))

    def value(self, value: Value, x: float, y: float, font: GlyphFont, align: str = "left",
              line: int | None = None) -> tuple[int, float]:
        """Draw ``value`` (from :meth:`prepare`), one line per line of it; returns its entity id and
        the y below it."""
        words: list[int] = []
        for k, text in enumerate(value.lines):
            words += self.line(text, x, y, font, align, line if k == 0 else None)
            y += self.pitch(font)
        return self.ctx.page.entity(value.label, words, scope=value.scope), y


def page_pen(ctx: Ctx, scale: float = 1.0, typed_caps: float = 0.35, mono: float = 0.35) -> Pen:
    """The pen that fills in a page: handwriting with probability ``ctx.hand_prob`` (when a
    handwriting font is installed), else typed in the page's face or a monospaced
    (printer) face, in capitals with probability ``typed_caps`` (always, for printers).

    The same random draws are made whether or not handwriting fonts are installed.
    """
    r = ctx.rng
    u, pick, caps, face = r.random(), r.random(), r.random(), r.random()
    printer = r.choice(ctx.fonts.of_kind("mono"))
    if ctx.hand_fonts and u < ctx.hand_prob:
        hand = ctx.hand_fonts[int(pick * len(ctx.hand_fonts))]
        return Pen(ctx, ctx.family, round(ctx.size * scale * 1.25), hand=hand, caps=caps < 0.2)
    if face < mono:
        return Pen(ctx, printer, round(ctx.size * scale), caps=caps < 0.8)
    return Pen(ctx, ctx.family, round(ctx.size * scale), caps=caps < typed_caps)
