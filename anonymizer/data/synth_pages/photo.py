"""Phone-photo effects: perspective, cast shadows and low resolution, with word boxes kept on the ink.

:func:`perspective` maps the page onto a quadrilateral inside the same frame (each corner
moved inwards independently) over a textured table surface; every word's quad (its
rotated quad, or its box's corners) goes through the same homography and its ``box``
becomes the quad's bounding box. :func:`shadow` darkens one side of a soft-edged line (a
hand or phone over the page); :func:`low_resolution` down- and up-samples the image. The
last two move no pixel, so boxes stay as they are.
"""

from __future__ import annotations

import math
import random

import numpy as np
from PIL import Image

from anonymizer.core.records import Word

TABLES = ((92, 70, 52), (140, 110, 80), (60, 60, 64), (180, 178, 170), (35, 38, 45), (120, 128, 120))


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 matrix mapping the four points ``src`` (4, 2) onto ``dst`` (4, 2)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    h = np.linalg.solve(np.asarray(rows, np.float64), np.asarray(rhs, np.float64))
    return np.append(h, 1.0).reshape(3, 3)


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` (n, 2) mapped by the homography ``matrix``."""
    p = np.c_[points, np.ones(len(points))] @ matrix.T
    return p[:, :2] / p[:, 2:3]


def _corners(word: Word) -> np.ndarray:
    if word.quad is not None:
        return np.asarray(word.quad, np.float64)
    x0, y0, x1, y1 = word.box
    return np.asarray([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float64)


def warp_word(word: Word, matrix: np.ndarray) -> Word:
    """``word`` with its quad mapped by ``matrix`` and its box the new quad's bounding box."""
    q = apply(matrix, _corners(word))
    quad = tuple((float(x), float(y)) for x, y in q)
    return Word(word.text, (float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())),
                quad, word.line)  # type: ignore[arg-type]


def _table(nrng: np.random.Generator, h: int, w: int, rgb: tuple[int, int, int]) -> np.ndarray:
    """A table surface: a colour with grain and a few soft streaks."""
    base = np.empty((h, w, 3), np.float32)
    base[:] = np.asarray(rgb, np.float32)
    grain = nrng.standard_normal((h, w), dtype=np.float32) * np.float32(6)
    streaks = np.sin(np.arange(w, dtype=np.float32) / np.float32(nrng.uniform(6, 30)))[None, :] * np.float32(8)
    return base + (grain + streaks)[..., None]


def perspective(image: Image.Image, words: list[Word], rng: random.Random, nrng: np.random.Generator,
                strength: tuple[float, float]) -> tuple[Image.Image, list[Word]]:
    """The page photographed at an angle: corners moved inwards by ``strength`` fractions of the size."""
    w, h = image.size
    src = np.asarray([(0, 0), (w, 0), (w, h), (0, h)], np.float64)
    inward = [(rng.uniform(*strength) * w, rng.uniform(*strength) * h) for _ in range(4)]
    dst = np.asarray([(inward[0][0], inward[0][1]), (w - inward[1][0], inward[1][1]),
                      (w - inward[2][0], h - inward[2][1]), (inward[3][0], h - inward[3][1])], np.float64)
    forward = homography(src, dst)
    inverse = np.linalg.inv(forward)
    coeffs = tuple((inverse / inverse[2, 2]).ravel()[:8])
    warped = image.transform((w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)
    mask = Image.new("L", (w, h), 255).transform((w, h), Image.Transform.PERSPECTIVE, coeffs,
                                                 Image.Resampling.BILINEAR)
    table = _table(nrng, h, w, rng.choice(TABLES))
    alpha = np.asarray(mask, np.float32)[..., None] / np.float32(255)
    out = table + alpha * (np.asarray(warped, np.float32) - table)
    return to_image(out), [warp_word(wd, forward) for wd in words]


def shadow(image: Image.Image, rng: random.Random, strength: float) -> Image.Image:
    """Darken one side of a random soft-edged line by up to ``strength`` (relative)."""
    w, h = image.size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    dist = (xs - np.float32(cx)) * np.float32(math.cos(angle)) + (ys - np.float32(cy)) * np.float32(math.sin(angle))
    soft = np.float32(rng.uniform(0.02, 0.12) * max(w, h))
    field = 1 - np.float32(strength) / (1 + np.exp(-dist / soft))
    return to_image(np.asarray(image, np.float32) * field[..., None])


def low_resolution(image: Image.Image, scale: float) -> Image.Image:
    """Down-sample by ``scale`` and back up to the same size (a low-resolution camera or scan)."""
    w, h = image.size
    small = image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
    return small.resize((w, h), Image.Resampling.BILINEAR)


def to_image(img: np.ndarray) -> Image.Image:
    """Float RGB (H, W, 3) rounded and clipped to an 8-bit image."""
    return Image.fromarray((np.clip(img, 0, 255) + 0.5).astype(np.uint8), "RGB")
