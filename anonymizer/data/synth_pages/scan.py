"""Printing and scanning a typeset page: ink on (tinted, textured) paper, then scan and photo effects.

Effects, in the order a scanner or camera would produce them: uneven lighting (a smooth
gradient and vignette), skew (a rotation about the page centre; the corners show the
scanner bed), perspective (a phone photo: the page on a table), a cast shadow, blur, low
resolution, gaussian noise and a JPEG round trip. Only the rotation and the perspective
move pixels: each word's corners move with them (``Word.quad``, top-left, top-right,
bottom-right, bottom-left) and its ``box`` becomes their bounding box. The angle is reduced
until every quad stays inside the page, so no word is cut; the perspective keeps the page
inside the frame.

The photo effects (perspective, shadow, low resolution) draw from their own random
stream and are off by default, so pages made without them are unchanged by their settings.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from anonymizer.core.image_io import jpeg_round_trip
from anonymizer.core.records import Word
from anonymizer.data.checks import check_known_fields, check_number, check_pair
from anonymizer.data.synth_pages.photo import low_resolution, perspective, shadow, to_image

INKS = ((15, 15, 15), (30, 30, 35), (10, 12, 30), (45, 45, 50), (20, 30, 95), (25, 25, 70))
PAPERS = ((255, 255, 255), (250, 250, 245), (252, 248, 235), (245, 241, 228), (238, 238, 236), (240, 244, 250))
CLEAN_INK, CLEAN_PAPER = (15, 15, 15), (255, 255, 255)


@dataclass
class ScanConfig:
    """Strengths and probabilities of the paper and scan effects; ``[min, max]`` pairs are drawn uniformly.

    Attributes:
        enabled: False gives clean pages: near-black ink on white paper, no effect at all.
        tint_prob: probability of a tinted paper and ink colour other than near-black.
        texture_strength: paper texture (blotches and grain), about ``8 *`` this in grey levels std.
        lighting_prob / lighting_strength: uneven lighting, the largest relative darkening.
        rotation_prob / rotation_deg: skew, uniform in ``±rotation_deg`` degrees.
        blur_prob / blur_radius: gaussian blur radius in pixels.
        noise_prob / noise_std: gaussian pixel noise std in grey levels.
        jpeg_prob / jpeg_quality: in-memory JPEG round trip at a quality in the range.
        perspective_prob / perspective: phone-photo perspective; each page corner moves inwards by
            a fraction of the page size in the range (the table shows around the page).
        shadow_prob / shadow_strength: a soft cast shadow darkening part of the page by a relative amount.
        low_res_prob / low_res_scale: down- and up-sampling by a factor in the range.
    """

    enabled: bool = True
    tint_prob: float = 0.7
    texture_strength: tuple[float, float] = (0.0, 0.5)
    lighting_prob: float = 0.4
    lighting_strength: tuple[float, float] = (0.05, 0.2)
    rotation_prob: float = 0.5
    rotation_deg: float = 1.5
    blur_prob: float = 0.3
    blur_radius: tuple[float, float] = (0.3, 0.8)
    noise_prob: float = 0.5
    noise_std: tuple[float, float] = (1.0, 6.0)
    jpeg_prob: float = 0.4
    jpeg_quality: tuple[int, int] = (55, 90)
    perspective_prob: float = 0.0
    perspective: tuple[float, float] = (0.01, 0.07)
    shadow_prob: float = 0.0
    shadow_strength: tuple[float, float] = (0.15, 0.45)
    low_res_prob: float = 0.0
    low_res_scale: tuple[float, float] = (0.4, 0.75)

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ValueError(f"scan.enabled must be true or false, got {self.enabled!r}")
        for name in ("tint_prob", "lighting_prob", "rotation_prob", "blur_prob", "noise_prob", "jpeg_prob",
                     "perspective_prob", "shadow_prob", "low_res_prob"):
            setattr(self, name, check_number(f"scan.{name}", getattr(self, name), 0.0, 1.0))
        self.rotation_deg = check_number("scan.rotation_deg", self.rotation_deg, 0.0, 10.0)
        self.texture_strength = check_pair("scan.texture_strength", self.texture_strength, 0.0, 5.0)
        self.lighting_strength = check_pair("scan.lighting_strength", self.lighting_strength, 0.0, 0.8)
        self.blur_radius = check_pair("scan.blur_radius", self.blur_radius, 0.0, 5.0)
        self.noise_std = check_pair("scan.noise_std", self.noise_std, 0.0, 64.0)
        self.jpeg_quality = check_pair("scan.jpeg_quality", self.jpeg_quality, 1, 95, integer=True)
        self.perspective = check_pair("scan.perspective", self.perspective, 0.0, 0.2)
        self.shadow_strength = check_pair("scan.shadow_strength", self.shadow_strength, 0.0, 0.9)
        self.low_res_scale = check_pair("scan.low_res_scale", self.low_res_scale, 0.2, 1.0)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ScanConfig:
        check_known_fields(cls, data, "scan")
        return cls(**{k: tuple(v) if isinstance(v, (list, tuple)) else v for k, v in data.items()})


def _smooth_noise(nrng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Zero-mean, unit-ish noise varying over about ``cells`` cells along the longer side."""
    ch, cw = max(2, round(cells * h / max(h, w))), max(2, round(cells * w / max(h, w)))
    small = Image.fromarray(nrng.standard_normal((ch, cw), dtype=np.float32))
    return np.asarray(small.resize((w, h), Image.Resampling.BICUBIC))


def _paper(nrng: np.random.Generator, h: int, w: int, rgb: tuple[int, ...], strength: float) -> np.ndarray:
    paper = np.empty((h, w, 3), np.float32)
    paper[:] = np.asarray(rgb, np.float32)
    if strength > 0:
        grain = nrng.standard_normal((h, w), dtype=np.float32) * np.float32(0.5)
        tex = (0.8 * _smooth_noise(nrng, h, w, int(nrng.integers(4, 10))) + grain) * np.float32(8 * strength)
        paper += tex[..., None]
    return paper


def _lighting(nrng: np.random.Generator, h: int, w: int, strength: float) -> np.ndarray:
    """A multiplicative field in ``[1 - strength, 1]``: a linear gradient plus a vignette."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ys, xs = ys / h - 0.5, xs / w - 0.5
    angle = nrng.uniform(0, 2 * math.pi)
    grad = np.float32(math.cos(angle)) * xs + np.float32(math.sin(angle)) * ys + 0.5
    cx, cy = nrng.uniform(-0.2, 0.2, 2).astype(np.float32)
    vignette = np.minimum(((xs - cx) ** 2 + (ys - cy) ** 2) * 2, 1.0)
    mix = np.float32(nrng.uniform(0.3, 0.7))
    field = mix * np.clip(grad, 0, 1) + (1 - mix) * vignette
    return 1 - np.float32(strength) * field


def rotate_word(word: Word, angle_deg: float, cx: float, cy: float) -> Word:
    """``word`` with its box's corners rotated like ``Image.rotate(angle_deg, center=(cx, cy))``."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    x0, y0, x1, y1 = word.box
    quad = tuple(
        (cx + (px - cx) * c + (py - cy) * s, cy - (px - cx) * s + (py - cy) * c)
        for px, py in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    )
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    return Word(word.text, (min(xs), min(ys), max(xs), max(ys)), quad, word.line)  # type: ignore[arg-type]


def _inside(words: list[Word], w: int, h: int) -> bool:
    return all(x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h for x0, y0, x1, y1 in (wd.box for wd in words))


def print_and_scan(ink: np.ndarray, words: list[Word], cfg: ScanConfig, seed: int) -> tuple[Image.Image, list[Word]]:
    """Composite ``ink`` coverage (H, W uint8) on paper and apply the scan effects drawn from ``seed``.

    Returns the RGB page and the words with boxes (and quads, when rotated) of the result.
    """
    h, w = ink.shape
    alpha = ink.astype(np.float32)[..., None] / np.float32(255)
    if not cfg.enabled:
        img = np.float32(CLEAN_PAPER[0]) + alpha * (np.asarray(CLEAN_INK, np.float32) - np.float32(CLEAN_PAPER[0]))
        return to_image(img), list(words)
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    tinted = rng.random() < cfg.tint_prob
    ink_rgb = rng.choice(INKS) if tinted else CLEAN_INK
    paper_rgb = rng.choice(PAPERS) if tinted else CLEAN_PAPER
    img = _paper(nrng, h, w, paper_rgb, rng.uniform(*cfg.texture_strength))
    img += alpha * np.float32(rng.uniform(0.85, 1.0)) * (np.asarray(ink_rgb, np.float32) - img)
    if rng.random() < cfg.lighting_prob:
        img *= _lighting(nrng, h, w, rng.uniform(*cfg.lighting_strength))[..., None]
    image = to_image(img)
    if rng.random() < cfg.rotation_prob and cfg.rotation_deg > 0:
        angle = rng.uniform(-cfg.rotation_deg, cfg.rotation_deg)
        bed = tuple([rng.randint(40, 200)] * 3)
        for _ in range(8):  # reduce the skew until no word leaves the page
            rotated = [rotate_word(wd, angle, w / 2, h / 2) for wd in words]
            if _inside(rotated, w, h):
                break
            angle /= 2
        else:
            angle, rotated = 0.0, list(words)
        if angle:
            image = image.rotate(angle, Image.Resampling.BICUBIC, center=(w / 2, h / 2), fillcolor=bed)
            words = rotated
    photo = _PhotoDraws(cfg, seed)
    if photo.perspective is not None:
        image, words = perspective(image, list(words), photo.rng, np.random.default_rng(photo.seed),
                                   photo.perspective)
    if photo.shadow is not None:
        image = shadow(image, photo.rng, photo.shadow)
    if rng.random() < cfg.blur_prob:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(*cfg.blur_radius)))
    if photo.low_res is not None:
        image = low_resolution(image, photo.low_res)
    if rng.random() < cfg.noise_prob:
        arr = np.asarray(image, np.float32) + nrng.standard_normal((h, w, 1), dtype=np.float32) * np.float32(
            rng.uniform(*cfg.noise_std)
        )
        image = to_image(arr)
    if rng.random() < cfg.jpeg_prob:
        image = jpeg_round_trip(image, rng.randint(*cfg.jpeg_quality))
    return image, list(words)


class _PhotoDraws:
    """Which photo effects a page gets and their strengths, from a stream of their own (none
    is drawn when all three probabilities are 0)."""

    def __init__(self, cfg: ScanConfig, seed: int) -> None:
        self.seed = int(np.random.SeedSequence([seed, 1]).generate_state(1, np.uint64)[0])
        self.rng = random.Random(self.seed)
        self.perspective: tuple[float, float] | None = None
        self.shadow: float | None = None
        self.low_res: float | None = None
        if cfg.perspective_prob > 0 and self.rng.random() < cfg.perspective_prob:
            self.perspective = cfg.perspective
        if cfg.shadow_prob > 0 and self.rng.random() < cfg.shadow_prob:
            self.shadow = self.rng.uniform(*cfg.shadow_strength)
        if cfg.low_res_prob > 0 and self.rng.random() < cfg.low_res_prob:
            self.low_res = self.rng.uniform(*cfg.low_res_scale)
