"""Classical renderer: erase the box to matched paper, typeset the surrogate in a matched font.

Per replacement (styles are measured on the input page before anything is drawn):
:func:`~anonymizer.pipeline.render.style.estimate_style` gives paper, ink, baseline, cap
height, stroke and edge blur; :func:`~anonymizer.pipeline.render.style.choose_font` the
face. When the replacement carries page ``context`` (non-sensitive OCR words of the
page), face, blur and size come from
:func:`~anonymizer.pipeline.render.context.choose_in_context` instead: the context words
are typeset again in every candidate face and compared with their pixels (measured once
per page and cached: the same page gives the same scores), combined with the box's own
statistics; without usable context the box's statistics alone decide, as before. The
box, and the original's ink reaching out of it into the margin (other marks there are
kept), are filled with the paper plane plus Gaussian noise of the measured texture
amplitude; then the surrogate is drawn from the original ink's left edge on its
baseline, at the size whose cap height matches (or the one calibrated on the context).
Too wide: first condensed horizontally (down to ``1 - max_condense``), then scaled down;
too tall (descenders, accents) for the dilated box: moved, then scaled down. The ink
alpha is softened to the original's edge width
(:func:`~anonymizer.pipeline.render.style.soften`) and blended at the ink colour.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw

from anonymizer.core.geometry import Box, IntBox, dilate_box
from anonymizer.pipeline.render.base import BaseRenderer, Replacement, check_replacements
from anonymizer.pipeline.render.context import WordMatch, choose_in_context, match_word
from anonymizer.pipeline.render.style import (
    MIN_CONTRAST,
    FontProfile,
    TextStyle,
    choose_font,
    font_profiles,
    grow_mask,
    ink_geometry,
    load_font,
    matched_font,
    measure_box,
    soften,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Layout:
    """Where and how a surrogate is drawn (page coordinates)."""

    font: FontProfile
    size: float
    origin_x: float  # pen position of the first glyph
    baseline: float
    scale_x: float  # horizontal condensation (1 = none)
    blur: float  # Gaussian radius matching the original's edge softness
    ink_box: tuple[float, float, float, float]  # expected ink extent of the surrogate


def fit_layout(style: TextStyle, profile: FontProfile, text: str, box: Box, limits: IntBox,
               max_condense: float = 0.15, blur: float = 0.0, size: float | None = None) -> Layout:
    """Place ``text`` so its ink starts at the original ink's left edge and fits ``box``
    horizontally and ``limits`` (the dilated box) vertically; ``size`` (px) before fitting
    defaults to the one whose cap height matches the original's."""
    size = matched_font(style, profile).size if size is None else float(size)
    left_edge = max(style.ink_box[0], box[0]) if style.found_ink else box[0] + 0.1 * (box[3] - box[1])
    avail = max(box[2] - left_edge, 1.0)
    baseline = style.baseline
    scale_x = 1.0
    for _ in range(8):  # shrink until it fits (hinting makes widths slightly non-linear)
        left, top, right, bottom = load_font(profile.path, size).getbbox(text, anchor="ls")
        width = max(right - left, 1)
        scale_x = min(1.0, max(avail / width, 1.0 - max_condense))
        if width * scale_x <= avail + 0.5 or size <= 4:
            break
        size *= avail / (width * scale_x) * 0.98
    asc, desc = -top, bottom
    lo, hi = limits[1], limits[3]
    if baseline + desc > hi:  # descenders below the dilated box: move up if there is room
        baseline -= min(baseline + desc - hi, max(baseline - asc - lo, 0))
    if baseline - asc < lo:  # too high (accents, taller than the original): move down
        baseline += min(lo - (baseline - asc), max(hi - (baseline + desc), 0))
    if baseline + desc > hi + 0.5 or baseline - asc < lo - 0.5:  # still too tall: scale down
        factor = (hi - lo) / max(asc + desc, 1)
        size *= factor * 0.98
        left, top, right, bottom = load_font(profile.path, size).getbbox(text, anchor="ls")
        asc, desc = -top, bottom
        baseline = lo + asc + max((hi - lo) - (asc + desc), 0) / 2
    origin_x = left_edge - left * scale_x
    ink = (left_edge, baseline - asc, left_edge + (right - left) * scale_x, baseline + desc)
    return Layout(profile, size, origin_x, baseline, scale_x, blur, ink)


def draw_alpha(layout: Layout, text: str, region: IntBox) -> np.ndarray:
    """Alpha in [0, 1] of the laid-out text over ``region`` (page ints, end-exclusive)."""
    rx0, ry0, rx1, ry1 = region
    width, height = rx1 - rx0, ry1 - ry0
    wide = max(math.ceil(width / layout.scale_x), 1)
    canvas = Image.new("L", (wide, height), 0)
    font = load_font(layout.font.path, layout.size)
    xy = ((layout.origin_x - rx0) / layout.scale_x, layout.baseline - ry0)
    ImageDraw.Draw(canvas).text(xy, text, font=font, fill=255, anchor="ls")
    if wide != width:
        canvas = canvas.resize((width, height), Image.Resampling.LANCZOS, box=(0, 0, width / layout.scale_x, height))
    return np.asarray(canvas, np.float32) / 255.0


def robust_geometry(style: TextStyle, alpha: np.ndarray, box: Box) -> TextStyle:
    """``style`` with the baseline, cap and x-height of :func:`ink_geometry` ``(robust=True)``
    (used with page context; the fallback keeps the plain median baseline)."""
    geometry = ink_geometry(alpha, robust=True)
    if geometry is None:
        return style
    return replace(style, baseline=math.floor(box[1]) + geometry.baseline, cap_height=geometry.cap_height,
                   x_height=geometry.x_height)


def _overlap(a: Box, b: Box) -> float:
    """Area of the intersection of two boxes."""
    return max(min(a[2], b[2]) - max(a[0], b[0]), 0.0) * max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)


def erase_mask(region: np.ndarray, paper: np.ndarray, box: Box, origin: tuple[int, int],
               noise: Sequence[float], steps: int) -> np.ndarray:
    """Pixels of a dilated-box ``region`` to repaint: the box itself, plus the ink in the margin
    band that is connected to the box's ink (strokes leaving a tight box) and its fringe.
    Separate marks in the band (a neighbour's colon, a table rule) are kept."""
    ox, oy = origin
    h, w = region.shape[:2]
    ys, xs = np.mgrid[oy : oy + h, ox : ox + w] + 0.5
    inside = (xs > box[0]) & (xs < box[2]) & (ys > box[1]) & (ys < box[3])
    threshold = max(MIN_CONTRAST / 2, 3 * float(np.linalg.norm(noise)))
    inky = np.linalg.norm(region.astype(np.float32) - paper, axis=-1) > threshold
    connected = inky & inside
    for _ in range(steps):
        grown = grow_mask(connected) & inky
        if np.array_equal(grown, connected):
            break
        connected = grown
    return inside | grow_mask(connected)


class ClassicalRenderer(BaseRenderer):
    """Erase + typeset with matched paper, ink, size, baseline and font; no model weights.

    ``font_dirs``/``families`` select the candidate faces (see :func:`find_fonts`);
    ``match_blur`` matches the edge softness; ``seed`` makes the paper noise reproducible.
    Replacements with ``context`` words get their face and size from the page
    (:mod:`anonymizer.pipeline.render.context`); the words are measured once per page.
    """

    name = "classical"

    def __init__(self, margin: int = 2, font_dirs: Sequence[str] | None = None,
                 families: Sequence[str] | None = None, max_condense: float = 0.15,
                 match_blur: bool = True, noise: bool = True, seed: int = 0) -> None:
        super().__init__(margin)
        if not 0.0 <= max_condense < 1.0:
            raise ValueError(f"max_condense must be in [0, 1), got {max_condense!r}")
        self.candidates = font_profiles(tuple(font_dirs) if font_dirs is not None else None,
                                        tuple(families) if families is not None else None)
        self.max_condense = float(max_condense)
        self.match_blur = match_blur
        self._page_key: tuple | None = None
        self._page_words: dict[tuple[Box, str], WordMatch | None] = {}
        self.noise = noise
        self.seed = int(seed)

    def plan(self, page: Image.Image, replacements: Sequence[Replacement]) -> list[tuple[TextStyle, Layout]]:
        """The estimated style and the layout of each replacement (no drawing)."""
        array = np.asarray(page.convert("RGB"))
        size = (array.shape[1], array.shape[0])
        boxes = check_replacements(replacements, size)
        if any(rep.context for rep in replacements):
            self._select_page(array)
        plans = []
        for box, rep in zip(boxes, replacements):
            style, alpha = measure_box(array, box, self.margin)
            choice = None
            if rep.context and alpha is not None:
                matches = self._matches(array, rep.context, boxes)
                robust = robust_geometry(style, alpha, box)
                choice = choose_in_context(robust, rep.text, rep.original_length, box, self.candidates, matches)
                style = robust if choice is not None else style
            if choice is None:  # no usable context: the box's own statistics
                profile, blur = choose_font(style, rep.text, rep.original_length, self.candidates)
                font_size = None
            else:
                profile, blur, font_size = choice.profile, choice.radius, choice.size
            limits = dilate_box(box, self.margin, size)
            layout = fit_layout(style, profile, rep.text, box, limits, self.max_condense,
                                blur if self.match_blur else 0.0, font_size)
            plans.append((style, layout))
        return plans

    # ------------------------------------------------------------------ page context
    def clear_cache(self) -> None:
        """Forget the context words measured on the last page (kept in memory, with their
        non-sensitive texts, until the next page or this call)."""
        self._page_key, self._page_words = None, {}

    def _select_page(self, array: np.ndarray) -> None:
        """Keep the measured context words when ``array`` is the page of the last call (same
        pixels), else start afresh."""
        key = (array.shape, hashlib.blake2b(np.ascontiguousarray(array).data, digest_size=16).digest())
        if key != self._page_key:
            self._page_key, self._page_words = key, {}

    def context_matches(self, array: np.ndarray, context: Sequence[tuple[Box, str]],
                        boxes: Sequence[Box] = ()) -> list[WordMatch]:
        """The :class:`WordMatch` of each usable context word of ``array`` (measured once per
        page: a page with the same pixels reuses them). Words outside the page, too small,
        without ink, or overlapping one of ``boxes`` (sensitive pixels) are skipped."""
        self._select_page(array)
        return self._matches(array, context, boxes)

    def _matches(self, array: np.ndarray, context: Sequence[tuple[Box, str]], boxes: Sequence[Box]) -> list[WordMatch]:
        height, width = array.shape[:2]
        out = []
        for cbox, text in context:
            x0, y0, x1, y1 = (float(v) for v in cbox)
            if not all(map(math.isfinite, (x0, y0, x1, y1))):
                continue
            x0, y0, x1, y1 = max(x0, 0.0), max(y0, 0.0), min(x1, float(width)), min(y1, float(height))
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            area = (x1 - x0) * (y1 - y0)
            if any(_overlap((x0, y0, x1, y1), b) > 0.25 * area for b in boxes):
                continue
            word = ((x0, y0, x1, y1), " ".join(text.split()))
            if word not in self._page_words:
                try:
                    self._page_words[word] = match_word(array, word[0], word[1], self.candidates, self.margin)
                except Exception as err:  # noqa: BLE001 - an odd word must not stop the page (nor show its text)
                    log.debug("a context word could not be measured (%s); skipped", type(err).__name__)
                    self._page_words[word] = None
            if self._page_words[word] is not None:
                out.append(self._page_words[word])
        return out

    def _render(self, page: Image.Image, boxes: list[Box], replacements: list[Replacement]) -> Image.Image:
        out = np.asarray(page, np.float32).copy()
        plans = self.plan(page, replacements)
        regions = [dilate_box(box, self.margin, page.size) for box in boxes]
        source = np.asarray(page)
        for i, (box, (x0, y0, x1, y1), (style, _)) in enumerate(zip(boxes, regions, plans)):  # erase all first
            gy, gx = np.mgrid[y0:y1, x0:x1]
            paper = style.paper_at(gx + 0.5, gy + 0.5)
            erase = erase_mask(source[y0:y1, x0:x1], paper, box, (x0, y0), style.noise, self.margin + 2)
            if self.noise:
                rng = np.random.default_rng([self.seed, i])
                paper = paper + rng.normal(size=paper.shape) * np.asarray(style.noise, np.float32)
            out[y0:y1, x0:x1][erase] = paper[erase]
        for region, rep, (style, layout) in zip(regions, replacements, plans):  # then draw
            x0, y0, x1, y1 = region
            alpha = soften(draw_alpha(layout, rep.text, region), layout.blur)
            a = alpha[..., None]
            out[y0:y1, x0:x1] = out[y0:y1, x0:x1] * (1 - a) + np.asarray(style.ink, np.float32) * a
        return Image.fromarray(np.clip(np.round(out), 0, 255).astype(np.uint8))
