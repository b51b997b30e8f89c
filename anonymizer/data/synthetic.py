"""Synthetic document text crops: the embedded default training data (no downloads).

Each crop is a window onto a rendered document page: tinted, textured paper with lines of
form/invoice/letter text (:mod:`anonymizer.data.text_content`) in a system font
(:mod:`anonymizer.core.fonts`), cut at the crop edges, then scan effects (rotation, blur,
noise, JPEG). Glyphs are rasterised once per (font, size, character) and blitted with
numpy (:mod:`anonymizer.data.glyph_raster`), an order of magnitude faster than
``ImageDraw.text`` for hinted fonts.
"""

from __future__ import annotations

import math
import numbers
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageFilter

from anonymizer.core.fonts import FontFile, find_fonts
from anonymizer.core.geometry import Box
from anonymizer.core.image_io import jpeg_round_trip
from anonymizer.core.records import TextCrop, Word
from anonymizer.data.checks import check_int, check_number, check_pair
from anonymizer.data.glyph_raster import FontFaces, GlyphFont, cached_font, draw_word
from anonymizer.data.text_content import TextContent

DEFAULT_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR")
MIN_VISIBLE = 0.5  # words with less of their box inside the crop are left out of ``words``


def _default_inks() -> list[list[int]]:
    return [[15, 15, 15], [30, 30, 32], [10, 12, 28], [55, 55, 60], [25, 35, 110], [20, 30, 80], [110, 25, 25]]


def _default_papers() -> list[list[int]]:
    return [[255, 255, 255], [250, 250, 246], [252, 248, 234], [244, 239, 224], [236, 236, 236], [234, 240, 248]]


@dataclass
class SyntheticStyle:
    """Rendering parameters of :class:`SyntheticCrops`; ``[min, max]`` pairs are drawn uniformly.

    Attributes:
        font_size: font size range in pixels (per crop; per line when ``line_style_prob`` fires).
        line_spacing: line pitch as a multiple of the font size.
        bold_prob: probability of a bold face for a crop.
        italic_prob: probability of an italic/oblique face for a crop.
        line_style_prob: probability that a crop mixes sizes and weights per line.
        ink_colors: RGB ink colours (0..255), one drawn per crop.
        ink_jitter: max jitter of the ink colour (overall and per channel).
        ink_alpha: ink opacity range (0..1], lower looks faded.
        paper_tints: RGB paper colours (0..255), one drawn per crop.
        paper_jitter: max brightness jitter of the paper colour (a third of it per channel).
        texture_strength: strength of the paper texture (low-frequency blotches, fine grain
            and a faint illumination gradient): 1.0 is a std of about 8 grey levels, 0 disables it.
        noise_std: std range (grey levels, 0..255 scale) of gaussian pixel noise.
        blur_prob: probability of a gaussian blur of the ink.
        blur_radius: blur radius range in pixels.
        rotation_deg: max absolute rotation in degrees (uniform in ``±rotation_deg``).
        jpeg_prob: probability of an in-memory JPEG round trip.
        jpeg_quality: JPEG quality range, within 1..95.
        rule_prob: probability per line of a horizontal rule (form line) under it.
    """

    font_size: tuple[int, int] = (10, 28)
    line_spacing: tuple[float, float] = (1.1, 1.8)
    bold_prob: float = 0.2
    italic_prob: float = 0.1
    line_style_prob: float = 0.25
    ink_colors: list[list[int]] = field(default_factory=_default_inks)
    ink_jitter: int = 12
    ink_alpha: tuple[float, float] = (0.8, 1.0)
    paper_tints: list[list[int]] = field(default_factory=_default_papers)
    paper_jitter: int = 6
    texture_strength: float = 0.3
    noise_std: tuple[float, float] = (0.0, 5.0)
    blur_prob: float = 0.3
    blur_radius: tuple[float, float] = (0.3, 0.8)
    rotation_deg: float = 1.5
    jpeg_prob: float = 0.5
    jpeg_quality: tuple[int, int] = (60, 95)
    rule_prob: float = 0.05

    def __post_init__(self) -> None:
        self.font_size = _pair(self, "font_size", 4, 512, integer=True)
        self.line_spacing = _pair(self, "line_spacing", 0.5, 5.0)
        self.ink_alpha = _pair(self, "ink_alpha", 0.05, 1.0)
        self.noise_std = _pair(self, "noise_std", 0.0, 128.0)
        self.blur_radius = _pair(self, "blur_radius", 0.0, 20.0)
        self.jpeg_quality = _pair(self, "jpeg_quality", 1, 95, integer=True)
        for name in ("bold_prob", "italic_prob", "line_style_prob", "blur_prob", "jpeg_prob", "rule_prob"):
            setattr(self, name, _number(self, name, 0.0, 1.0))
        self.ink_jitter = _number(self, "ink_jitter", 0, 255, integer=True)
        self.paper_jitter = _number(self, "paper_jitter", 0, 255, integer=True)
        self.texture_strength = _number(self, "texture_strength", 0.0, 10.0)
        self.rotation_deg = _number(self, "rotation_deg", 0.0, 45.0)
        self.ink_colors = _colors(self, "ink_colors")
        self.paper_tints = _colors(self, "paper_tints")


def _bad(name: str, value: Any, want: str) -> ValueError:
    return ValueError(f"SyntheticStyle.{name} must be {want}, got {value!r}")


def _number(style: SyntheticStyle, name: str, lo: float, hi: float, integer: bool = False) -> Any:
    return check_number(f"SyntheticStyle.{name}", getattr(style, name), lo, hi, integer)


def _pair(style: SyntheticStyle, name: str, lo: float, hi: float, integer: bool = False) -> Any:
    return check_pair(f"SyntheticStyle.{name}", getattr(style, name), lo, hi, integer)


def _colors(style: SyntheticStyle, name: str) -> list[list[int]]:
    value = getattr(style, name)
    want = "a non-empty list of [r, g, b] lists of integers in 0..255"
    try:
        colors = [list(c) for c in value]
    except TypeError:
        raise _bad(name, value, want) from None
    ok = colors and all(
        len(c) == 3 and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and 0 <= v <= 255 for v in c)
        for c in colors
    )
    if not ok:
        raise _bad(name, value, want)
    return [[int(v) for v in c] for c in colors]


def _draw_line(
    canvas: np.ndarray, gf: GlyphFont, words: list[str], x: float, y: float, tab_x: float | None
) -> list[tuple[str, Box]]:
    """Blit ``words`` with pen top-left ``(x, y)`` onto ``canvas``; return each inked word's box."""
    width = canvas.shape[1]
    yi = round(y)
    out: list[tuple[str, Box]] = []
    for k, word in enumerate(words):
        if x >= width:
            break
        x, box = draw_word(canvas, gf, word, x, yi)
        if box is not None:
            out.append((word, box))
        x += gf.space
        if tab_x is not None and word.endswith(":") and k + 1 < len(words):
            x = max(x, tab_x)
    return out


def _rotate_box(box: Box, angle_deg: float, cx: float, cy: float) -> Box:
    """Axis-aligned bounds of ``box`` rotated like ``PIL.Image.rotate(angle_deg, center=(cx, cy))``."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    xs, ys = [], []
    for px, py in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])):
        dx, dy = px - cx, py - cy
        xs.append(cx + dx * c + dy * s)
        ys.append(cy - dx * s + dy * c)
    return (min(xs), min(ys), max(xs), max(ys))


def _paper_texture(nrng: np.random.Generator, size: int, strength: float) -> np.ndarray:
    """Mono texture (zero mean, std about ``8 * strength`` grey levels): blotches, grain, gradient."""
    k = int(nrng.integers(3, 9))
    blotch = Image.fromarray(nrng.standard_normal((k, k), dtype=np.float32))
    blotch = blotch.resize((size, size), Image.Resampling.BICUBIC)
    g = max(size // 2, 2)
    grain = Image.fromarray(nrng.standard_normal((g, g), dtype=np.float32))
    grain = grain.resize((size, size), Image.Resampling.BILINEAR)
    ramp = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    gx, gy = nrng.uniform(-0.7, 0.7, 2).astype(np.float32)
    tex = 0.7 * np.asarray(blotch) + 0.7 * np.asarray(grain) + gx * ramp[None, :] + gy * ramp[:, None]
    return tex * np.float32(10.0 * strength)


def _jitter(rng: random.Random, rgb: list[int], amount: int, chroma: float = 1.0) -> list[int]:
    """``rgb`` shifted by up to ``amount`` overall and up to ``chroma * amount`` per channel."""
    shift, per = rng.randint(-amount, amount), round(chroma * amount)
    return [min(max(v + shift + rng.randint(-per, per), 0), 255) for v in rgb]


_local = threading.local()


def _thread_caches() -> tuple[dict[tuple[str, ...], TextContent], dict[tuple[str, int], GlyphFont]]:
    """Per-thread (hence per-process) caches of Faker content generators and glyph fonts."""
    if not hasattr(_local, "fonts"):
        _local.content, _local.fonts = {}, {}
    return _local.content, _local.fonts


class SyntheticCrops(torch.utils.data.Dataset):
    """Deterministic synthetic document crops of ``size`` x ``size`` pixels as :class:`TextCrop`.

    Crop ``index`` depends only on ``(seed, index, size, style)`` and the fonts found, never
    on global random state, so it is byte-identical across calls, workers and processes.
    The dataset holds only plain data and pickles cheaply; Faker and the rasterised glyphs
    are created lazily and cached per process (per thread), shared by all instances.
    """

    def __init__(
        self,
        size: int,
        length: int,
        seed: int = 0,
        style: SyntheticStyle | None = None,
        font_dirs: Sequence[str] | None = None,
        font_families: Sequence[str] | None = None,
        locales: Sequence[str] = DEFAULT_LOCALES,
    ) -> None:
        self.size = check_int("SyntheticCrops.size", size, 16)
        self.length = check_int("SyntheticCrops.length", length, 1)
        self.seed = check_int("SyntheticCrops.seed", seed, 0)
        if not locales:
            raise ValueError("SyntheticCrops.locales must name at least one Faker locale")
        self.style = style if style is not None else SyntheticStyle()
        self.locales = tuple(locales)
        self.fonts: list[FontFile] = find_fonts(font_dirs, font_families)
        self._faces = FontFaces(self.fonts)

    def __len__(self) -> int:
        return self.length

    def _content(self) -> TextContent:
        cache = _thread_caches()[0]
        content = cache.get(self.locales)
        if content is None:
            content = cache[self.locales] = TextContent(self.locales)
        return content

    def _font(self, family: str, size: int, bold: bool, italic: bool) -> GlyphFont:
        return cached_font(_thread_caches()[1], self._faces.path(family, bold, italic), size)

    def render(self, index: int) -> TextCrop:
        """Render crop ``index`` (``0 <= index < len(self)``)."""
        if not isinstance(index, numbers.Integral) or not 0 <= index < self.length:
            raise IndexError(f"SyntheticCrops index {index!r} out of range for length {self.length}")
        nrng = np.random.default_rng([self.seed, int(index)])
        rng = random.Random(int(nrng.integers(2**63)))
        st, size = self.style, self.size

        # Text is drawn on a canvas padded so that the rotated crop window stays inside it.
        angle = rng.uniform(-st.rotation_deg, st.rotation_deg)
        rad = math.radians(abs(angle))
        pad = math.ceil(size / 2 * (math.sin(rad) + math.cos(rad) - 1)) + 2 if angle else 0
        canvas = np.zeros((size + 2 * pad, size + 2 * pad), np.uint8)
        lines = self._draw_text(canvas, pad, rng)

        ink = Image.fromarray(canvas)
        if angle:
            ink = ink.rotate(angle, resample=Image.Resampling.BILINEAR, center=(size / 2 + pad, size / 2 + pad))
        if pad:
            ink = ink.crop((pad, pad, pad + size, pad + size))
        if rng.random() < st.blur_prob:
            ink = ink.filter(ImageFilter.GaussianBlur(rng.uniform(*st.blur_radius)))
        text, words = self._visible_words(lines, angle, pad)

        image = self._compose(np.asarray(ink), rng, nrng)
        if rng.random() < st.jpeg_prob:
            image = jpeg_round_trip(image, rng.randint(*st.jpeg_quality))
        return TextCrop(image=image, text=text, words=words)

    __getitem__ = render

    def _draw_text(self, canvas: np.ndarray, pad: int, rng: random.Random) -> list[list[tuple[str, Box]]]:
        """Fill ``canvas`` with lines of text from its top; return the inked words per line."""
        st, size, width = self.style, self.size, canvas.shape[1]
        content = self._content()
        family = rng.choice(self._faces.families)
        base = rng.randint(*st.font_size)
        bold, italic = rng.random() < st.bold_prob, rng.random() < st.italic_prob
        spacing = rng.uniform(*st.line_spacing)
        vary = rng.random() < st.line_style_prob
        margin = pad + rng.uniform(-0.4, 0.25) * size  # < pad: the left margin is outside the crop
        tab_x = margin + rng.uniform(4, 12) * base if rng.random() < 0.3 else None  # form columns
        y = -rng.uniform(0.0, base * spacing)  # the first line is cut by the top edge
        lines = []
        while y < canvas.shape[0]:
            fsize, fbold = base, bold
            if vary and rng.random() < 0.35:  # headings, labels
                fsize = min(max(round(base * rng.uniform(0.7, 1.4)), st.font_size[0]), st.font_size[1])
                fbold = rng.random() < 0.5
            gf = self._font(family, fsize, fbold, italic)
            if rng.random() < 0.07:  # paragraph gap
                y += fsize * spacing * rng.uniform(0.5, 1.5)
                continue
            x = margin + (rng.uniform(1, 4) * fsize if rng.random() < 0.15 else 0.0)
            lines.append(_draw_line(canvas, gf, content.line(rng).split(), x, y, tab_x))
            if rng.random() < st.rule_prob:
                row = canvas[min(round(y + gf.ascent + gf.descent * 0.6), width - 1), max(round(x), 0) :]
                np.maximum(row, round(rng.uniform(150, 255)), out=row)
            y += fsize * spacing
        return lines

    def _visible_words(self, lines: list[list[tuple[str, Box]]], angle: float, pad: int) -> tuple[str, list[Word]]:
        """Map canvas boxes into the crop; keep words at least ``MIN_VISIBLE`` inside it."""
        size, centre = self.size, self.size / 2 + pad
        text_lines, words = [], []
        for line in lines:
            kept = []
            for text, box in line:
                if angle:
                    box = _rotate_box(box, angle, centre, centre)
                x0, y0, x1, y1 = (v - pad for v in box)
                cx0, cy0, cx1, cy1 = max(x0, 0.0), max(y0, 0.0), min(x1, size), min(y1, size)
                if cx1 > cx0 and cy1 > cy0 and (cx1 - cx0) * (cy1 - cy0) >= MIN_VISIBLE * (x1 - x0) * (y1 - y0):
                    kept.append(text)
                    words.append(Word(text, (cx0, cy0, cx1, cy1)))
            if kept:
                text_lines.append(" ".join(kept))
        return "\n".join(text_lines), words

    def _compose(self, ink: np.ndarray, rng: random.Random, nrng: np.random.Generator) -> Image.Image:
        """Composite ink coverage onto textured paper and add pixel noise."""
        st, size = self.style, self.size
        ink_rgb = _jitter(rng, rng.choice(st.ink_colors), st.ink_jitter)
        paper_rgb = _jitter(rng, rng.choice(st.paper_tints), st.paper_jitter, chroma=0.3)
        alpha = (ink.astype(np.float32) * np.float32(rng.uniform(*st.ink_alpha) / 255.0))[..., None]
        paper = np.broadcast_to(np.asarray(paper_rgb, np.float32), (size, size, 3))
        if st.texture_strength > 0:
            paper = paper + _paper_texture(nrng, size, st.texture_strength)[..., None]
        img = paper + alpha * (np.asarray(ink_rgb, np.float32) - paper)
        noise_std = rng.uniform(*st.noise_std)
        if noise_std > 0:
            img += (nrng.standard_normal((size, size), dtype=np.float32) * np.float32(noise_std))[..., None]
        np.clip(img, 0.0, 255.0, out=img)
        img += 0.5
        return Image.fromarray(img.astype(np.uint8), "RGB")
