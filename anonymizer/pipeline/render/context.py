"""Page-level font identification from the non-sensitive words around a box.

The statistics of a single box (stroke, contrast, x-height, width per character) are
noisy at body-text sizes: at 14 px a cap is ~10 pixels tall and a stem 1-2 pixels wide.
The page's other words, whose text is known and safe to use (field labels, headings,
prose: :attr:`~anonymizer.pipeline.render.base.Replacement.context`), give much stronger
evidence: each is typeset again in every candidate face and compared with its pixels.
Nothing here logs or raises with a word's text.

Rules, per context word (:func:`match_word`, measured once per page by the renderer):

* its ink alpha is measured like a box's (:func:`~anonymizer.pipeline.render.style.measure_box`)
  over its box grown by 2 px (blurred edges spill out of tight OCR boxes; only ink
  connected to the word's is kept there); alpha < 0.1 (paper noise) is dropped. Its
  moments are the ink mass, centroid and spreads (standard deviations along x and y:
  unlike thresholded extents, blur barely changes them). Its blur radius is the one whose
  softened rendering has its edge width;
* each face typesets the word at :data:`REFERENCE_SIZE` px (glyph by glyph, cached),
  which is scaled separately in x and y to the observed spreads, softened by the radius,
  and compared with the observed ink (centroids aligned, best of the 3x3 one-pixel
  shifts, both blurred by 0.6 px): cost = ``(1 - NCC) / 0.05 + (ln aspect / 0.05)^2 +
  (ln mass ratio / 0.25)^2``, where the aspect (x scale over y scale) measures the face's
  proportions and the mass its weight. Variants, the best counting: with and without pair
  kerning, and below :data:`HINTED_BELOW` px also the hinted rendering at the whole-pixel
  size whose spreads are nearest (found from each glyph's cached ink sums, without drawing
  the candidates, when no two glyphs' inks touch: :func:`typeset_moments`),
  advancing by hinted (simple typesetters, the synthetic
  pages) or unhinted widths (shaping engines): hinting shifts a 12-14 px word's
  proportions by up to 7 %, as much as the difference between two sans faces;
  screen-rendered and synthetic pages are hinted, scans are not. Faces whose aspect is off by more than ``e^0.2`` are
  not compared (cost capped);
* costs are taken relative to the word's best face and capped at :data:`CAP`, so a word
  that no face reproduces (a logo, a bad OCR box, another script) cannot veto a face.

Per box (:func:`choose_in_context`): each face's score is its per-box
:func:`~anonymizer.pipeline.render.style.match_score` plus the weighted sum over the
context words of ``2 x`` the best cost within the face's family (a field's label and its
value share a family even when the label is bold) and ``0.25 x`` the face's own cost. A
word weighs 1 on the box's line and 0.5 elsewhere, times a Gaussian (spread 0.25) of the
log-ratio between its size and the box's (headings count little). The box's geometry is
measured with the robust baseline (:func:`~anonymizer.pipeline.render.style.ink_geometry`).
The blur radius is the median of the box's and its line's words' radii. The size:

* with context words of the chosen family on the box's line, their median fitted size
  when one of the box's :func:`height_readings` agrees with it within 12 % (else the
  value is set in another size on purpose and the box's own estimate stays);
* otherwise, for boxes without a measured x-height, the other lines' median size picks
  the reading of the box's height (cap height for ``12/03/1987``, x-height for
  ``www.acme.com``: the box alone takes every top for a cap) when within 20 %.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from anonymizer.core.geometry import Box, dilate_box
from anonymizer.pipeline.render.base import same_line
from anonymizer.pipeline.render.style import (
    BLUR_RADII,
    FontProfile,
    TextStyle,
    blur_radius,
    edge_width,
    grow_mask,
    ink_alpha,
    load_font,
    match_score,
    measure_box,
)

CAP = 6.0  # largest relative cost of one word for one face
NOISE_FLOOR = 0.1  # alpha below this is paper noise
COMPARE_SIGMA = 0.6  # blur of both alphas before the NCC (sub-pixel misalignment, hinting)
SIGMA_NCC, SIGMA_WIDTH, SIGMA_MASS = 0.05, 0.05, 0.25
PREFILTER_LOG = 0.2  # faces whose proportions are further off (log ratio) are not compared
FAMILY_WEIGHT, FACE_WEIGHT = 2.0, 0.25
OTHER_LINE_WEIGHT, SIZE_SPREAD = 0.5, 0.25
LINE_SIZE_TOLERANCE, READING_TOLERANCE = math.log(1.12), math.log(1.2)
REFERENCE_SIZE = 64
HINTED_BELOW = 20.0  # px: smaller words are also compared with hinted renderings
WORD_PAD = 2  # px around a context word's box where its blurred edges are looked for
MIN_INK_HEIGHT = 4.0  # px: smaller words say nothing about the face


@dataclass(frozen=True)
class WordMatch:
    """How well each candidate face reproduces one context word (page coordinates)."""

    box: Box
    radius: float  # blur radius matching its edges
    costs: np.ndarray  # (n,) relative cost per candidate: 0 for the best, at most CAP
    sizes: np.ndarray  # (n,) font size (px) of each candidate matching the word's ink height

    @property
    def best(self) -> int:
        return int(np.argmin(self.costs))


@functools.lru_cache(maxsize=16)
def _kernel(sigma: float) -> np.ndarray:
    r = max(1, math.ceil(2.5 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def gaussian(a: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of a small 2-D array (zero outside), same shape."""
    if sigma <= 0:
        return a
    k = _kernel(sigma)
    r = len(k) // 2
    h, w = a.shape
    p = np.zeros((h, w + 2 * r), np.float32)
    p[:, r : r + w] = a
    rows = k[0] * p[:, :w]
    for i in range(1, 2 * r + 1):
        rows += k[i] * p[:, i : i + w]
    q = np.zeros((h + 2 * r, w), np.float32)
    q[r : r + h] = rows
    out = k[0] * q[:h]
    for i in range(1, 2 * r + 1):
        out += k[i] * q[i : i + h]
    return out


def _pad(a: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((a.shape[0] + 2 * n, a.shape[1] + 2 * n), np.float32)
    out[n : n + a.shape[0], n : n + a.shape[1]] = a
    return out


def ink_crop(alpha: np.ndarray, pad: int = 2) -> np.ndarray | None:
    """``alpha`` cut to the bounding box of its pixels > 0.3, plus ``pad`` pixels of zeros
    (anti-aliased edges outside the box kept); None when empty."""
    mask = alpha > 0.3
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    y0, y1 = max(rows[0] - 1, 0), min(rows[-1] + 2, alpha.shape[0])
    x0, x1 = max(cols[0] - 1, 0), min(cols[-1] + 2, alpha.shape[1])
    return _pad(alpha[y0:y1, x0:x1], pad)


@dataclass(frozen=True)
class Moments:
    """Ink mass, centroid and spread (standard deviations) of an alpha crop; blur adds only
    its small variance to the spreads, unlike thresholded extents."""

    mass: float
    cx: float
    cy: float
    sx: float
    sy: float


def moments(alpha: np.ndarray) -> Moments:
    """The :class:`Moments` of a 2-D alpha array (pixel centres at ``i + 0.5``)."""
    mass = float(alpha.sum())
    if mass <= 0:
        return Moments(0.0, 0.0, 0.0, 0.0, 0.0)
    ys, xs = np.arange(alpha.shape[0]) + 0.5, np.arange(alpha.shape[1]) + 0.5
    px, py = alpha.sum(axis=0) / mass, alpha.sum(axis=1) / mass
    cx, cy = float(px @ xs), float(py @ ys)
    sx = math.sqrt(max(float(px @ (xs - cx) ** 2), 1e-6))
    sy = math.sqrt(max(float(py @ (ys - cy) ** 2), 1e-6))
    return Moments(mass, cx, cy, sx, sy)


def ncc_aligned(obs: np.ndarray, mo: Moments, cand: np.ndarray, mc: Moments, shift: int = 1) -> float:
    """Best normalised cross-correlation of ``cand`` over ``obs`` with their centroids
    aligned (to the pixel), then moved by up to ``shift`` pixels each way (zeros outside)."""
    dy0, dx0 = round(mo.cy - mc.cy), round(mo.cx - mc.cx)  # cand's offset in obs coordinates
    ho, wo = obs.shape
    hc, wc = cand.shape
    top, left = min(0, dy0) - shift, min(0, dx0) - shift
    H, W = max(ho, dy0 + hc) + shift - top, max(wo, dx0 + wc) + shift - left
    canvas = np.zeros((H, W), np.float64)
    canvas[-top : -top + ho, -left : -left + wo] = obs
    n = H * W
    m1, m2 = canvas.sum() / n, cand.sum() / n
    s1 = math.sqrt(max(float((canvas**2).sum()) / n - m1 * m1, 1e-12))
    s2 = math.sqrt(max(float((cand**2).sum()) / n - m2 * m2, 1e-12))
    best = -1.0
    for dy in range(-shift, shift + 1):
        for dx in range(-shift, shift + 1):
            y, x = dy0 + dy - top, dx0 + dx - left
            cross = float((canvas[y : y + hc, x : x + wc] * cand).sum()) / n
            best = max(best, (cross - m1 * m2) / (s1 * s2))
    return best


# ------------------------------------------------------------------ a tiny typesetter
@dataclass(frozen=True)
class Glyph:
    """One character of one face at one whole-pixel size (hinted, as FreeType draws it)."""

    mask: np.ndarray | None  # float coverage cropped to the ink; None for blank glyphs
    dx: int  # offset of the mask's top-left from the pen (top of the line)
    dy: int
    advance: float
    # ink sums over the mask (pixel centres at i + 0.5): mass, x, y, x^2, y^2 weighted by coverage
    sums: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)


@functools.lru_cache(maxsize=1024)
def _basic_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


def _ink_sums(mask: np.ndarray) -> tuple[float, float, float, float, float]:
    xs, ys = np.arange(mask.shape[1]) + 0.5, np.arange(mask.shape[0]) + 0.5
    px, py = mask.sum(axis=0, dtype=np.float64), mask.sum(axis=1, dtype=np.float64)
    return float(px.sum()), float(px @ xs), float(py @ ys), float(px @ xs**2), float(py @ ys**2)


@functools.lru_cache(maxsize=32768)
def glyph(path: str, size: int, ch: str) -> Glyph:
    """The cached :class:`Glyph` of ``ch`` (Pillow's basic layout, as simple typesetters)."""
    font = _basic_font(path, size)
    advance = font.getlength(ch)
    ascent, descent = font.getmetrics()
    image = Image.new("L", (math.ceil(advance) + 2 * size, ascent + descent + 2 * size))
    ImageDraw.Draw(image).text((size, size), ch, font=font, fill=255)
    bbox = image.getbbox()
    if bbox is None:
        return Glyph(None, 0, 0, advance)
    mask = np.asarray(image.crop(bbox), np.float32) / 255.0
    return Glyph(mask, bbox[0] - size, bbox[1] - size, advance, _ink_sums(mask))


@functools.lru_cache(maxsize=32768)
def kerning(path: str, pair: str) -> float:
    """The kerning of a character pair as a fraction of the em (from Raqm's shaping; 0
    without Raqm)."""
    if not features.check("raqm"):
        return 0.0
    font = load_font(path, REFERENCE_SIZE)
    return (font.getlength(pair) - font.getlength(pair[0]) - font.getlength(pair[1])) / REFERENCE_SIZE


def _place(text: str, path: str, size: int, kerned: bool, linear: bool) -> list[tuple[int, int, Glyph]]:
    """The inked glyphs of ``text`` with their top-left corners ``(x, y)`` (see :func:`typeset`)."""
    x, placed = 0.0, []
    for i, ch in enumerate(text):
        g = glyph(path, size, ch)
        if kerned and i:
            x += kerning(path, text[i - 1 : i + 1]) * size
        if g.mask is not None:
            placed.append((round(x) + g.dx, g.dy, g))
        x += glyph(path, REFERENCE_SIZE, ch).advance * size / REFERENCE_SIZE if linear else g.advance
    return placed


def typeset(text: str, path: str, size: int, kerned: bool, linear: bool = False) -> np.ndarray | None:
    """``text`` drawn glyph by glyph (hinted glyphs at ``size`` px) at whole-pixel pen
    positions, with or without pair kerning, advancing by the hinted (whole-pixel) widths
    like simple typesetters and the synthetic pages, or with ``linear`` by the unhinted
    widths like shaping engines (Raqm, browsers); the ink crop, or None."""
    return _compose(_place(text, path, size, kerned, linear))


def _compose(placed: list[tuple[int, int, Glyph]]) -> np.ndarray | None:
    if not placed:
        return None
    x0, y0 = min(p[0] for p in placed), min(p[1] for p in placed)
    x1 = max(p[0] + p[2].mask.shape[1] for p in placed)  # type: ignore[union-attr]
    y1 = max(p[1] + p[2].mask.shape[0] for p in placed)  # type: ignore[union-attr]
    canvas = np.zeros((y1 - y0 + 4, x1 - x0 + 4), np.float32)
    for gx, gy, g in placed:
        mask = g.mask
        h, w = mask.shape  # type: ignore[union-attr]
        region = canvas[gy - y0 + 2 : gy - y0 + 2 + h, gx - x0 + 2 : gx - x0 + 2 + w]
        np.maximum(region, mask, out=region)
    return canvas


def _inks_touch(placed: list[tuple[int, int, Glyph]]) -> bool:
    """True when two placed glyphs have ink on the same pixel (their union is then not their sum)."""
    order = sorted(placed, key=lambda p: p[0])
    for i, (ax, ay, a) in enumerate(order):
        ah, aw = a.mask.shape  # type: ignore[union-attr]
        for bx, by, b in order[i + 1 :]:
            if bx >= ax + aw:
                break
            bh, bw = b.mask.shape  # type: ignore[union-attr]
            top, bottom = max(ay, by), min(ay + ah, by + bh)
            left, right = bx, min(ax + aw, bx + bw)
            if top < bottom and left < right:
                pa = a.mask[top - ay : bottom - ay, left - ax : right - ax]  # type: ignore[index]
                pb = b.mask[top - by : bottom - by, left - bx : right - bx]  # type: ignore[index]
                if ((pa > 0) & (pb > 0)).any():
                    return True
    return False


def typeset_moments(text: str, path: str, size: int, kerned: bool, linear: bool = False) -> tuple[Moments, list] | None:
    """The :class:`Moments` of :func:`typeset`'s crop without drawing it when the glyphs'
    inks do not touch (sums of each glyph's cached ink sums; else from the drawn crop),
    with the placement to draw it later (:func:`_compose`); None without ink."""
    placed = _place(text, path, size, kerned, linear)
    if not placed:
        return None
    if _inks_touch(placed):
        return moments(_compose(placed)), placed  # type: ignore[arg-type]
    ox = 2 - min(p[0] for p in placed)  # the crop's origin, as _compose places it
    oy = 2 - min(p[1] for p in placed)
    mass = sx = sy = sxx = syy = 0.0
    for gx, gy, g in placed:
        m, mx, my, mxx, myy = g.sums
        u, v = gx + ox, gy + oy
        mass += m
        sx += mx + u * m
        sy += my + v * m
        sxx += mxx + 2 * u * mx + u * u * m
        syy += myy + 2 * v * my + v * v * m
    cx, cy = sx / mass, sy / mass
    return Moments(mass, cx, cy, math.sqrt(max(sxx / mass - cx * cx, 1e-6)),
                   math.sqrt(max(syy / mass - cy * cy, 1e-6))), placed


@dataclass(frozen=True)
class Reference:
    """``text`` in one face at :data:`REFERENCE_SIZE` px (hinting invisible): alpha, moments."""

    alpha: np.ndarray
    moments: Moments


@functools.lru_cache(maxsize=4096)
def reference(text: str, path: str, kerned: bool) -> Reference | None:
    """The cached :class:`Reference` of ``text`` in the face at ``path``; None without ink."""
    alpha = typeset(text, path, REFERENCE_SIZE, kerned)
    return None if alpha is None else Reference(alpha, moments(alpha))


def has_kerning(text: str, path: str) -> bool:
    """True when a character pair of ``text`` is kerned in the face at ``path``."""
    return any(abs(kerning(path, text[i : i + 2])) > 0.002 for i in range(len(text) - 1))


def resample(alpha: np.ndarray, fx: float, fy: float) -> np.ndarray:
    """``alpha`` scaled by ``fx`` horizontally and ``fy`` vertically (area-averaged when
    reducing, bilinear otherwise), padded by 2 zero pixels."""
    h, w = alpha.shape
    size = (max(round(w * fx), 1), max(round(h * fy), 1))
    image = Image.fromarray(np.ascontiguousarray(alpha, np.float32))  # float32: mode F
    out = image.resize(size, Image.Resampling.BOX if fx < 1 and fy < 1 else Image.Resampling.BILINEAR)
    return _pad(np.asarray(out, np.float32), 2)


def soft(alpha: np.ndarray, radius: float) -> np.ndarray:
    """:func:`~anonymizer.pipeline.render.style.soften` (Gaussian, then stroke cores back to
    1), for small arrays; alpha below :data:`NOISE_FLOOR` is then 0."""
    if radius > 0:
        alpha = gaussian(_pad(alpha, math.ceil(2 * radius)), radius)
        visible = alpha[alpha > 0.05]
        if visible.size:
            k = int(0.98 * (visible.size - 1))
            alpha = np.clip(alpha / max(float(np.partition(visible, k)[k]), 0.2), 0.0, 1.0)
    return np.where(alpha < NOISE_FLOOR, 0.0, alpha)


def _cost(obs_blur: np.ndarray, mo: Moments, cand: np.ndarray, aspect: float) -> float:
    """The cost of a candidate alpha already scaled to the observed spreads (see the module)."""
    mc = moments(cand)
    if mc.mass <= 0:
        return math.inf
    ncc = ncc_aligned(obs_blur, mo, gaussian(cand, COMPARE_SIGMA), mc)
    return ((1.0 - ncc) / SIGMA_NCC + (math.log(aspect) / SIGMA_WIDTH) ** 2
            + (math.log(max(mc.mass, 1e-3) / max(mo.mass, 1e-3)) / SIGMA_MASS) ** 2)


def face_cost(obs_blur: np.ndarray, mo: Moments, text: str, profile: FontProfile,
              radius: float) -> tuple[float, float]:
    """(cost, size) of ``profile`` reproducing an observed ink crop of ``text`` whose
    moments are ``mo`` (``obs_blur``: the crop blurred by :data:`COMPARE_SIGMA`).

    The face's reference rendering is scaled to the observed ink spreads, separately in x
    and y, so that the NCC compares glyph shapes; the aspect (x over y scale: the face's
    proportions) and the ink mass (its weight) are costed apart. Variants: with and without
    pair kerning, and below :data:`HINTED_BELOW` px the hinted rendering (whole-pixel size,
    hinted or unhinted advances) whose spreads are nearest; the best counts."""
    best, best_size = math.inf, 0.0
    spread_y = math.sqrt(max(mo.sy**2 - 1 / 12, 0.25))
    spread_x = math.sqrt(max(mo.sx**2 - 1 / 12, 0.25))
    for kerned in (False, True):
        if kerned and not has_kerning(text, profile.path):
            continue
        ref = reference(text, profile.path, kerned)
        if ref is None:
            continue
        fy, fx = spread_y / ref.moments.sy, spread_x / ref.moments.sx
        size = fy * REFERENCE_SIZE
        if best == math.inf:
            best_size = size
        if abs(math.log(fx / fy)) > PREFILTER_LOG:
            continue  # far too wide or narrow: not worth comparing
        cost = _cost(obs_blur, mo, soft(resample(ref.alpha, fx, fy), radius), fx / fy)
        if cost < best:
            best, best_size = cost, size
        if size < HINTED_BELOW:  # the hinted rendering whose spreads are nearest
            hinted = []
            for n in range(max(4, math.floor(size * 0.94)), math.ceil(size * 1.06) + 1):
                for linear in (False, True):
                    found = typeset_moments(text, profile.path, n, kerned, linear)
                    if found is not None:
                        mh, placed = found
                        hy, hx = spread_y / mh.sy, spread_x / mh.sx
                        hinted.append((math.log(hx) ** 2 + math.log(hy) ** 2, hx, hy, n, placed))
            if hinted:
                _, hx, hy, n, placed = min(hinted, key=lambda t: t[0])
                cand = _compose(placed)
                cost = _cost(obs_blur, mo, soft(resample(cand, hx, hy), radius), hx / hy)
                if cost < best:
                    best, best_size = cost, n * hy
    return best, best_size


def edge_radius(obs: np.ndarray, text: str, profile: FontProfile, mo: Moments) -> float:
    """The radius from :data:`~anonymizer.pipeline.render.style.BLUR_RADII` whose softened
    rendering of ``text`` in ``profile`` at the observed size has the observed edge width."""
    ref = reference(text, profile.path, False)
    if ref is None:
        return 0.0
    fy = mo.sy / ref.moments.sy
    base = resample(ref.alpha, fy, fy)
    target = edge_width(obs)
    errors = [abs(edge_width(soft(base, r)) - target) for r in BLUR_RADII]
    return BLUR_RADII[int(np.argmin(errors))]


def word_alpha(page: np.ndarray, style: TextStyle, box: Box, pad: int = WORD_PAD) -> np.ndarray:
    """The word's ink alpha over ``box`` grown by ``pad`` pixels: OCR boxes are tight, and a
    blurred word's edges spill out of them (cutting them off would shrink its measured
    height more than its width). Outside the box, only ink connected to the box's own
    ink is kept (not a neighbouring word or line); alpha below :data:`NOISE_FLOOR` is 0."""
    x0, y0, x1, y1 = region = dilate_box(box, pad, (page.shape[1], page.shape[0]))
    alpha = ink_alpha(page, style, region)
    alpha[alpha < NOISE_FLOOR] = 0.0
    ys, xs = np.mgrid[y0:y1, x0:x1] + 0.5
    inside = (xs > box[0]) & (xs < box[2]) & (ys > box[1]) & (ys < box[3])
    keep = inside & (alpha > 0.3)
    for _ in range(pad + 1):
        keep = grow_mask(keep) & (alpha > 0)
    return np.where(inside | keep, alpha, 0.0)


def match_word(page: np.ndarray, box: Box, text: str, candidates: Sequence[FontProfile],
               margin: int = 2) -> WordMatch | None:
    """The :class:`WordMatch` of the context word ``text`` in ``box`` of an ``(H, W, 3)``
    page; None when it has no usable ink (or no visible characters)."""
    text = " ".join(text.split())
    if not text or not candidates:
        return None
    style, alpha = measure_box(page, box, margin)
    if alpha is None:
        return None
    obs = ink_crop(word_alpha(page, style, box))
    if obs is None or style.cap_height < MIN_INK_HEIGHT:
        return None
    mo = moments(obs)
    radius = edge_radius(obs, text, candidates[0], mo)
    obs_blur = gaussian(obs, COMPARE_SIGMA)
    results = [face_cost(obs_blur, mo, text, p, radius) for p in candidates]
    costs = np.array([c for c, _ in results], np.float64)
    if not np.isfinite(costs).any():
        return None
    costs = np.minimum(costs - costs[np.isfinite(costs)].min(), CAP)
    costs[~np.isfinite(costs)] = CAP
    x0, y0, x1, y1 = (float(v) for v in box)
    return WordMatch((x0, y0, x1, y1), radius, costs, np.array([s for _, s in results]))


def _families(candidates: Sequence[FontProfile]) -> tuple[list[str], np.ndarray]:
    names = sorted({p.family for p in candidates})
    return names, np.array([names.index(p.family) for p in candidates])


@dataclass(frozen=True)
class ContextChoice:
    """The face, blur radius and size (None: the box's own estimate) chosen for a box."""

    profile: FontProfile
    radius: float
    size: float | None
    words: int  # context words used


def choose_in_context(style: TextStyle, text: str, original_length: int | None, box: Box,
                      candidates: Sequence[FontProfile], matches: Sequence[WordMatch]) -> ContextChoice | None:
    """The face, blur and size for ``text`` in ``box`` from the box's statistics and the
    matched context words (see the module rules); None when the box has no ink or no
    context word is usable (the caller falls back to the box's statistics alone)."""
    if not style.found_ink or not matches or not candidates:
        return None
    names, fam = _families(candidates)
    # Weights: the box's line first; sizes far from the box's (headings) count little.
    weights = []
    for m in matches:
        w = 1.0 if same_line(box, m.box) else OTHER_LINE_WEIGHT
        size = float(m.sizes[m.best])
        off = min(abs(math.log(size * frac / px)) for px, frac in height_readings(style, candidates[m.best]))
        weights.append(w * math.exp(-0.5 * (off / SIZE_SPREAD) ** 2))
    costs = np.stack([m.costs for m in matches])  # (words, faces)
    per_family = np.stack([costs[:, fam == k].min(axis=1) for k in range(len(names))], axis=1)
    context = np.array(weights) @ (FAMILY_WEIGHT * per_family[:, fam] + FACE_WEIGHT * costs)
    line = [i for i, m in enumerate(matches) if same_line(box, m.box)]
    radii = [matches[i].radius for i in line]
    radius0 = float(np.median(radii)) if radii else blur_radius(style, candidates[0], text)
    # The lowest context cost + box score; a face whose context cost alone exceeds the best
    # total so far cannot win (box scores are >= 0), so its box score is not computed.
    k, best = -1, math.inf
    for i in np.argsort(context, kind="stable"):
        if context[i] >= best:
            break
        total = float(context[i]) + match_score(style, candidates[i], text, original_length, radius0)
        if total < best or (total == best and i < k):
            k, best = int(i), total
    profile = candidates[k]
    radius = float(np.median([blur_radius(style, profile, text), *radii]))
    return ContextChoice(profile, radius, _calibrated_size(style, profile, k, fam, costs, matches, box), len(matches))


def height_readings(style: TextStyle, profile: FontProfile) -> list[tuple[float, float]]:
    """What the box's measured heights may be, as ``(pixels, em fraction in profile)``:
    for mixed case, the x-height and the cap/ascender mean; otherwise the measured top is
    the cap height (capitals, digits) or the x-height (lower case without ascenders:
    ``www.acme.com``), which the box alone cannot tell apart."""
    if style.x_height is not None:
        return [(style.x_height, profile.x_height), (style.cap_height, profile.reference(True))]
    return [(style.cap_height, profile.cap), (style.cap_height, profile.x_height)]


def _calibrated_size(style: TextStyle, profile: FontProfile, k: int, fam: np.ndarray, costs: np.ndarray,
                     matches: Sequence[WordMatch], box: Box) -> float | None:
    """The font size for the box from the sizes of face ``k`` fitted to the context words of
    its family, or None (the box's own estimate).

    On the box's line: their median when one of the box's :func:`height_readings` agrees
    with it within 12 % (else the value is set in another size on purpose: None). Without
    same-line words, for boxes without a measured x-height: the reading (cap height or
    x-height) whose size is nearest to the median of the other lines, when within 20 %; the
    size then still comes from the box's own ink."""
    same_family = [i for i, m in enumerate(matches) if costs[i, fam == fam[k]].min() <= 1.0]
    readings = height_readings(style, profile)
    line = [float(matches[i].sizes[k]) for i in same_family if same_line(box, matches[i].box)]
    if line:
        size = float(np.median(line))
        agree = any(abs(math.log(px / (frac * size))) <= LINE_SIZE_TOLERANCE for px, frac in readings)
        return size if agree else None
    near = [float(matches[i].sizes[k]) for i in same_family]
    if near and style.x_height is None:
        size = float(np.median(near))
        implied = min((px / frac for px, frac in readings), key=lambda v: abs(math.log(v / size)))
        if abs(math.log(implied / size)) <= READING_TOLERANCE:
            return implied
    return None


__all__ = ["CAP", "ContextChoice", "WordMatch", "choose_in_context", "face_cost", "height_readings", "match_word"]
