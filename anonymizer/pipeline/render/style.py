"""Estimation of a text box's visual style: paper, ink, geometry, stroke, and the font match.

Rules (all measured on the page, never on the original text):

* **paper**: the pixels of a ring around the dilated box, minus outliers (neighbouring
  ink); a per-channel plane ``a + b x + c y`` fitted to them gives the shading across the
  box, the robust spread (1.4826 MAD) of the residuals the texture noise.
* **ink**: inside the box, the colour distance to the paper plane is split by Otsu's
  threshold; the ink colour is the median of the most distant tenth of the ink pixels
  (stroke cores, free of anti-aliasing), so dark-on-light, light-on-dark and coloured ink
  are all handled. ``alpha`` is the projection of each pixel on the paper→ink segment.
* **geometry**: per ink column, the bottom and top edges (sub-pixel from alpha). The
  baseline is the median bottom edge (descenders are a minority of columns); the cap
  height is ``baseline - 5th percentile of the tops``, the x-height ``baseline - median top``
  when the two differ by more than 20 % (mixed case), otherwise both are the cap height.
* **stroke**: the median width of horizontal ink runs (alpha-weighted); **contrast**: the
  median width of vertical runs over it (thin horizontals of serif faces: ~0.6, sans: ~1);
  **edge width**: partially covered pixels per ink/paper transition (blur of the edges); the
  blur radius whose softened rendering has the same edge width is applied to every
  candidate before it is measured, and to the drawn surrogate.
* **font**: each candidate face is sized so its cap height matches, the surrogate is
  rendered with it and measured the same way; the face minimising the squared log-ratios
  of stroke width, contrast, x-height/cap ratio and (given ``original_length``) the ink
  width per character wins. With page context (non-sensitive words of the page) the
  classical renderer adds the evidence of those words re-typeset in every face: see
  :mod:`anonymizer.pipeline.render.context`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from anonymizer.core.fonts import find_fonts
from anonymizer.core.geometry import Box, dilate_box

MIN_CONTRAST = 28.0  # minimum colour distance (0..441) between paper and ink to count as text


@dataclass(frozen=True)
class TextStyle:
    """What the classical renderer needs to know about one box (page coordinates)."""

    paper: tuple[int, int, int]
    ink: tuple[int, int, int]
    noise: tuple[float, float, float]
    plane: tuple[tuple[float, float, float], ...]  # per channel (a, b, c): a + b x + c y
    found_ink: bool
    ink_box: tuple[float, float, float, float]  # x0, y0, x1, y1 of the ink
    baseline: float
    cap_height: float
    x_height: float | None
    stroke: float
    contrast: float  # thickness of horizontal strokes / of vertical stems (serif fonts: low)
    edge_width: float

    def paper_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The paper plane evaluated at pixel centres ``(x, y)``: array ``(..., 3)``."""
        return np.stack([a + b * x + c * y for a, b, c in self.plane], axis=-1)


# ------------------------------------------------------------------ measurements
def otsu(values: np.ndarray, bins: int = 64) -> float:
    """Otsu's threshold of a 1-D sample."""
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-6:
        return hi
    hist, edges = np.histogram(values, bins=bins, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mean0 = m0 / np.maximum(w0, 1)
    mean1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mean0 - mean1) ** 2
    return float(edges[int(np.argmax(between[:-1])) + 1])


def stroke_width(alpha: np.ndarray) -> float:
    """Median alpha-weighted width of the horizontal ink runs (``alpha > 0.5``) in pixels."""
    mask = alpha > 0.5
    if not mask.any():
        return 0.0
    step = np.diff(np.pad(mask, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    starts, ends = np.argwhere(step == 1), np.argwhere(step == -1)
    rows, s, e = starts[:, 0], starts[:, 1], ends[:, 1]
    cum = np.pad(np.cumsum(alpha, axis=1), ((0, 0), (1, 0)))
    width = cum[rows, e] - cum[rows, s]
    width += np.where(s > 0, alpha[rows, np.maximum(s - 1, 0)], 0)
    width += np.where(e < alpha.shape[1], alpha[rows, np.minimum(e, alpha.shape[1] - 1)], 0)
    return float(np.median(width))


def stroke_contrast(alpha: np.ndarray) -> float:
    """Median vertical over median horizontal run width: ~1 for sans faces, ~0.6 for serif ones."""
    return stroke_width(alpha.T) / max(stroke_width(alpha), 0.5)


def edge_width(alpha: np.ndarray) -> float:
    """Partially covered pixels (0.15 < alpha < 0.85) per ink/paper transition."""
    mask = alpha > 0.5
    transitions = int((np.diff(mask, axis=0)).sum() + (np.diff(mask, axis=1)).sum())
    partial = int(((alpha > 0.15) & (alpha < 0.85)).sum())
    return partial / max(transitions, 1)


@dataclass(frozen=True)
class InkGeometry:
    """Ink extents in the coordinates of the measured array."""

    box: tuple[float, float, float, float]
    baseline: float
    cap_height: float
    x_height: float | None


def ink_geometry(alpha: np.ndarray, robust: bool = False) -> InkGeometry | None:
    """Baseline, cap and x-height of the ink in ``alpha`` (see the module rules); None if empty.

    ``robust``: the baseline is the median of the column bottoms within 0.75 px of their most
    common half-pixel bin instead of the median of all bottoms, which diagonals and bars
    (``7``, ``/``, ``4``, ``T``: columns ending above the baseline) pull upwards."""
    mask = alpha > 0.5
    cols = np.flatnonzero(mask.any(axis=0))
    if len(cols) == 0:
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    h = alpha.shape[0]
    sub = mask[:, cols]
    first = np.argmax(sub, axis=0)
    last = h - 1 - np.argmax(sub[::-1], axis=0)
    above = np.where(first > 0, alpha[np.maximum(first - 1, 0), cols], 0.0)
    below = np.where(last < h - 1, alpha[np.minimum(last + 1, h - 1), cols], 0.0)
    tops = first - above
    bottoms = last + 1 + below
    baseline = float(np.median(bottoms))
    if robust:
        bins = np.round(bottoms * 2)
        values, counts = np.unique(bins, return_counts=True)
        mode = values[np.flatnonzero(counts == counts.max())[-1]] / 2  # the lowest of equal modes
        baseline = float(np.median(bottoms[np.abs(bottoms - mode) <= 0.75]))
    cap_top, x_top = float(np.percentile(tops, 5)), float(np.median(tops))
    cap = baseline - cap_top
    xh = baseline - x_top
    x_height = xh if xh > 0 and cap / xh > 1.2 else None
    box = (float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))
    return InkGeometry(box, baseline, max(cap, 1.0), x_height)


# ------------------------------------------------------------------ style of a box
def _ring(a: np.ndarray, box: Box, margin: int, ring: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixels (N, 3) and their x, y in a ring of width ``ring`` around the dilated box."""
    size = (a.shape[1], a.shape[0])
    ox0, oy0, ox1, oy1 = dilate_box(box, margin + ring, size)
    ix0, iy0, ix1, iy1 = dilate_box(box, margin, size)
    ys, xs = np.mgrid[oy0:oy1, ox0:ox1]
    keep = ~((xs >= ix0) & (xs < ix1) & (ys >= iy0) & (ys < iy1))
    return a[oy0:oy1, ox0:ox1][keep].astype(np.float32), xs[keep] + 0.5, ys[keep] + 0.5


def _fit_plane(pixels: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[tuple[float, float, float], ...]:
    """Per-channel least-squares plane; constant when the points cannot support a plane."""
    if len(pixels) >= 12 and np.ptp(xs) > 2 and np.ptp(ys) > 2:
        design = np.stack([np.ones_like(xs), xs, ys], axis=1).astype(np.float64)
        coef, *_ = np.linalg.lstsq(design, pixels.astype(np.float64), rcond=None)
        return tuple(tuple(float(v) for v in coef[:, c]) for c in range(3))
    med = np.median(pixels, axis=0)
    return tuple((float(med[c]), 0.0, 0.0) for c in range(3))


def estimate_style(page: np.ndarray, box: Box, margin: int = 2) -> TextStyle:
    """The :class:`TextStyle` of the text in ``box`` of an ``(H, W, 3)`` uint8 page."""
    return measure_box(page, box, margin)[0]


def measure_box(page: np.ndarray, box: Box, margin: int = 2) -> tuple[TextStyle, np.ndarray | None]:
    """:func:`estimate_style` and the ink alpha over the box's pixels
    ``[floor(y0):ceil(y1), floor(x0):ceil(x1)]`` (None when no ink is found)."""
    x0, y0, x1, y1 = box
    ring = max(3, round(0.25 * (y1 - y0)))
    pixels, xs, ys = _ring(page, box, margin, ring)
    bx0, by0, bx1, by1 = math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)
    inner = page[by0:by1, bx0:bx1].astype(np.float32)
    if len(pixels) < 8:  # the box covers the page: use its own border
        gy, gx = np.mgrid[by0:by1, bx0:bx1]
        edge = np.zeros(inner.shape[:2], bool)
        edge[[0, -1], :] = edge[:, [0, -1]] = True
        pixels, xs, ys = inner[edge], gx[edge] + 0.5, gy[edge] + 0.5
    # Paper: ring pixels close to the ring's median colour (drops neighbouring ink).
    med = np.median(pixels, axis=0)
    dist = np.linalg.norm(pixels - med, axis=1)
    close = dist <= max(3.0 * 1.4826 * float(np.median(dist)), 20.0)
    plane = _fit_plane(pixels[close], xs[close], ys[close])
    gy, gx = np.mgrid[by0:by1, bx0:bx1]
    style_paper = np.stack([a + b * (gx + 0.5) + c * (gy + 0.5) for a, b, c in plane], axis=-1)
    ring_paper = np.stack([a + b * xs[close] + c * ys[close] for a, b, c in plane], axis=-1)
    noise = 1.4826 * np.median(np.abs(pixels[close] - ring_paper), axis=0)
    paper = tuple(int(round(v)) for v in np.clip(np.median(pixels[close], axis=0), 0, 255))
    # Ink: the far side of Otsu's split of the distance to the paper plane.
    diff = inner - style_paper
    d = np.linalg.norm(diff, axis=-1)
    floor = max(MIN_CONTRAST, 4.0 * float(np.linalg.norm(noise)))
    found = bool(d.max() >= 2 * floor)
    if found:
        thr = max(otsu(d.ravel()), floor)
        far = d[d >= thr]
        core = (d >= np.percentile(far, 90)) & (d >= thr)
        ink_rgb = np.median(inner[core], axis=0)
        seg = ink_rgb - np.asarray(paper, np.float32)
        alpha = np.clip((diff @ seg) / max(float(seg @ seg), 1e-6), 0.0, 1.0)
        geometry = ink_geometry(alpha)
        found = geometry is not None
    if not found:
        lum = 0.299 * paper[0] + 0.587 * paper[1] + 0.114 * paper[2]
        ink = (0, 0, 0) if lum >= 128 else (255, 255, 255)
        h = y1 - y0
        return TextStyle(paper, ink, tuple(float(v) for v in noise), plane, False, (x0, y0, x1, y1),
                         y0 + 0.8 * h, 0.6 * h, None, max(1.0, 0.07 * h), 1.0, 1.0), None
    ink = tuple(int(round(v)) for v in np.clip(ink_rgb, 0, 255))
    gx0, gy0, gx1, gy1 = geometry.box
    return TextStyle(
        paper=paper, ink=ink, noise=tuple(float(v) for v in noise), plane=plane, found_ink=True,
        ink_box=(bx0 + gx0, by0 + gy0, bx0 + gx1, by0 + gy1), baseline=by0 + geometry.baseline,
        cap_height=geometry.cap_height, x_height=geometry.x_height,
        stroke=stroke_width(alpha), contrast=stroke_contrast(alpha), edge_width=edge_width(alpha),
    ), alpha


def ink_alpha(page: np.ndarray, style: TextStyle, region: tuple[int, int, int, int]) -> np.ndarray:
    """The alpha of ``style``'s ink over ``region`` (``x0, y0, x1, y1`` page ints, end-exclusive):
    each pixel's projection on the segment from the paper plane to the ink colour, in [0, 1]."""
    x0, y0, x1, y1 = region
    gy, gx = np.mgrid[y0:y1, x0:x1]
    diff = page[y0:y1, x0:x1].astype(np.float32) - style.paper_at(gx + 0.5, gy + 0.5)
    seg = np.asarray(style.ink, np.float32) - np.asarray(style.paper, np.float32)
    return np.clip((diff @ seg) / max(float(seg @ seg), 1e-6), 0.0, 1.0)


def grow_mask(mask: np.ndarray) -> np.ndarray:
    """3x3 binary dilation."""
    padded = np.pad(mask, 1)
    h, w = mask.shape
    out = np.zeros_like(mask)
    for dy in range(3):
        for dx in range(3):
            out |= padded[dy : dy + h, dx : dx + w]
    return out


# ------------------------------------------------------------------ font matching
@dataclass(frozen=True)
class FontProfile:
    """A candidate face and its size-independent metrics (fractions of the em)."""

    path: str
    family: str
    bold: bool
    cap: float
    ascender: float
    x_height: float

    def reference(self, mixed_case: bool) -> float:
        """The em fraction that the measured "cap height" corresponds to: the cap height, or for
        mixed-case text (whose top is set by capitals and ascenders) their mean."""
        return (self.cap + self.ascender) / 2 if mixed_case else self.cap


@functools.lru_cache(maxsize=512)
def load_font(path: str, size: float) -> ImageFont.FreeTypeFont:
    """A cached FreeType font (sizes are rounded to 0.25 px)."""
    return ImageFont.truetype(path, max(1.0, round(size * 4) / 4))


def _profile(path: str, family: str, bold: bool) -> FontProfile:
    font = load_font(path, 200)
    cap = -font.getbbox("H", anchor="ls")[1] / 200
    asc = float(np.median([-font.getbbox(ch, anchor="ls")[1] for ch in "bdhkl"])) / 200
    xh = -font.getbbox("x", anchor="ls")[1] / 200
    return FontProfile(path, family, bold, cap, asc, xh)


@functools.lru_cache(maxsize=8)
def font_profiles(font_dirs: tuple[str, ...] | None = None,
                  families: tuple[str, ...] | None = None) -> tuple[FontProfile, ...]:
    """Profiles of the upright (non-italic) faces that :func:`find_fonts` finds."""
    fonts = find_fonts(font_dirs, families)
    return tuple(_profile(f.path, f.family, f.bold) for f in fonts if not f.italic)


def render_alpha(text: str, font: ImageFont.FreeTypeFont, pad: int = 2) -> np.ndarray:
    """Float alpha in [0, 1] of ``text`` drawn with ``font``, cropped to its ink plus ``pad``."""
    left, top, right, bottom = font.getbbox(text, anchor="ls")
    canvas = Image.new("L", (max(right - left, 1) + 2 * pad, max(bottom - top, 1) + 2 * pad), 0)
    ImageDraw.Draw(canvas).text((pad - left, pad - top), text, font=font, fill=255, anchor="ls")
    return np.asarray(canvas, np.float32) / 255.0


BLUR_RADII = (0.0, 0.3, 0.5, 0.7, 0.9, 1.2, 1.6, 2.0, 2.5)


def soften(alpha: np.ndarray, radius: float) -> np.ndarray:
    """``alpha`` blurred by a Gaussian of ``radius`` and rescaled so its stroke cores reach 1
    again (a blurred original's ink colour is measured at its cores, too)."""
    if radius <= 0:
        return alpha
    image = Image.fromarray(np.round(alpha * 255).astype(np.uint8))
    blurred = np.asarray(image.filter(ImageFilter.GaussianBlur(radius)), np.float32) / 255.0
    visible = blurred[blurred > 0.05]
    peak = float(np.percentile(visible, 98)) if visible.size else 1.0
    return np.clip(blurred / max(peak, 0.2), 0.0, 1.0)


def matched_font(style: TextStyle, profile: FontProfile) -> ImageFont.FreeTypeFont:
    """``profile`` at the size whose cap height (or cap/ascender mean) matches the measured one."""
    return load_font(profile.path, style.cap_height / profile.reference(style.x_height is not None))


def blur_radius(style: TextStyle, profile: FontProfile, text: str) -> float:
    """The radius from :data:`BLUR_RADII` whose softened rendering of ``text`` has the edge width
    closest to the original's (0 for crisp originals)."""
    if not style.found_ink:
        return 0.0
    alpha = render_alpha(text, matched_font(style, profile), pad=6)
    errors = [abs(edge_width(soften(alpha, r)) - style.edge_width) for r in BLUR_RADII]
    return BLUR_RADII[int(np.argmin(errors))]


# Expected spread of each feature's log-ratio between two texts of the same face.
_SIGMA = {"stroke": 0.12, "contrast": 0.18, "x_height": 0.06, "width": 0.12}


def match_score(style: TextStyle, profile: FontProfile, text: str, original_length: int | None,
                radius: float = 0.0) -> float:
    """Sum of squared, spread-normalised log-ratios between the observed style and ``profile``
    drawing ``text`` at the size that matches the measured height, softened by ``radius``."""
    font = matched_font(style, profile)
    alpha = soften(render_alpha(text, font, pad=6 if radius else 2), radius)
    terms = {"stroke": math.log(max(stroke_width(alpha), 0.5) / max(style.stroke, 0.5)),
             "contrast": math.log(max(stroke_contrast(alpha), 0.1) / max(style.contrast, 0.1))}
    if style.x_height is not None:
        observed_ratio = style.x_height / style.cap_height
        terms["x_height"] = math.log(observed_ratio / (profile.x_height / profile.reference(True)))
    if original_length:
        left, _, right, _ = font.getbbox(text, anchor="ls")
        observed = (style.ink_box[2] - style.ink_box[0]) / original_length
        terms["width"] = math.log(max(right - left, 1) / len(text) / max(observed, 0.5))
    return sum((v / _SIGMA[k]) ** 2 for k, v in terms.items())


def choose_font(style: TextStyle, text: str, original_length: int | None,
                candidates: Sequence[FontProfile]) -> tuple[FontProfile, float]:
    """The candidate with the lowest :func:`match_score` (the first on ties) and the blur
    radius that matches the original's edges (estimated with the first candidate)."""
    if not candidates:
        raise ValueError("no candidate fonts to choose from")
    if not style.found_ink:
        return candidates[0], 0.0
    radius = blur_radius(style, candidates[0], text)
    return min(candidates, key=lambda p: match_score(style, p, text, original_length, radius)), radius
