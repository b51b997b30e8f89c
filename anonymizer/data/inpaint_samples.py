"""Training samples of the 9-channel inpainting UNet (DiffUTE-style text editing).

A sample is a square window around a text box, resized to ``resolution``: the image, the
mask of the (dilated) box and the masked image, in the convention of diffusers'
``StableDiffusionInpaintPipeline`` (images in [-1, 1], mask 1 = repaint, masked image =
``image * (mask < 0.5)`` so repainted pixels are 0, i.e. grey). The UNet input is
``cat(noisy_latents, mask at latent size, vae(masked_image))`` = 4 + 1 + 4 channels.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from anonymizer.core.geometry import Box, check_box, image_to_tensor
from anonymizer.core.records import TextCrop, Word
from anonymizer.data.checks import check_int, check_number
from anonymizer.data.glyphs import GlyphRenderer
from anonymizer.data.synthetic import DEFAULT_LOCALES, SyntheticCrops, SyntheticStyle
from anonymizer.data.text_content import TextContent, cut

CONTEXT_PAD = 2  # crop pixels of context kept around the dilated box when the window widens
REGION_SLACK = 4  # source pixels kept around a resampled window so resampling sees real neighbours
_EPS = 1e-6

Mapping = tuple[float, float, float, float]  # (origin_x, origin_y, scale_x, scale_y): region -> page pixels


def _place(centre: float, side: int, extent: int) -> int:
    """Start of a window of ``side`` centred on ``centre``, kept inside ``[0, extent)`` if it fits,
    else covering all of it."""
    start = round(centre - side / 2)
    if side <= extent:
        return min(max(start, 0), extent - side)
    return min(max(start, extent - side), 0)


def paper_color(image: Image.Image) -> tuple[int, int, int]:
    """Per-channel median of the image's border pixels (the page's paper colour)."""
    a = np.asarray(image.convert("RGB"))
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    return tuple(int(v) for v in np.median(border, axis=0))  # type: ignore[return-value]


def crop_around_box(
    image: Image.Image, box: Sequence[float], crop_side: int, pad: int = 4
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A square window around ``box`` and its ``(x0, y0, x1, y1)`` in page coordinates.

    The side is ``max(crop_side, ceil(box width + 2 pad), ceil(box height + 2 pad))`` (widened
    for long boxes). The window is centred on the box and shifted to stay inside the page;
    where the page is smaller than the window it covers the whole page, and the part
    beyond the page is filled with the paper colour (:func:`paper_color`), so the window
    may extend beyond the page.

    Raises:
        ValueError: naming the box when it has no area or lies entirely off the page.
    """
    image = image if image.mode == "RGB" else image.convert("RGB")
    x0, y0, x1, y1 = check_box(box, image.size, overlap_only=True)
    check_int("crop_around_box.crop_side", crop_side, 1)
    check_int("crop_around_box.pad", pad, 0)
    side = max(int(crop_side), math.ceil(x1 - x0 + 2 * pad - _EPS), math.ceil(y1 - y0 + 2 * pad - _EPS))
    width, height = image.size
    wx0, wy0 = _place((x0 + x1) / 2, side, width), _place((y0 + y1) / 2, side, height)
    window = (wx0, wy0, wx0 + side, wy0 + side)
    if wx0 >= 0 and wy0 >= 0 and wx0 + side <= width and wy0 + side <= height:
        return image.crop(window), window
    crop = Image.new("RGB", (side, side), paper_color(image))
    ix0, iy0, ix1, iy1 = max(wx0, 0), max(wy0, 0), min(wx0 + side, width), min(wy0 + side, height)
    crop.paste(image.crop((ix0, iy0, ix1, iy1)), (ix0 - wx0, iy0 - wy0))
    return crop, window


def box_mask(size: int, box_in_crop: Sequence[float], margin: float) -> np.ndarray:
    """``(size, size)`` float32 mask, 1 on every pixel touched by ``box_in_crop`` dilated by ``margin``.

    Box and margin are in pixels of the mask's own resolution; pixel ``(r, c)`` covers
    ``[c, c + 1) x [r, r + 1)`` and is masked when that square overlaps the dilated box
    (conservative: no partly covered pixel of the original text is left unmasked).
    """
    x0, y0, x1, y1 = (float(v) for v in box_in_crop)
    mask = np.zeros((size, size), np.float32)
    c0, c1 = max(math.floor(x0 - margin + _EPS), 0), min(math.ceil(x1 + margin - _EPS), size)
    r0, r1 = max(math.floor(y0 - margin + _EPS), 0), min(math.ceil(y1 + margin - _EPS), size)
    if c0 < c1 and r0 < r1:
        mask[r0:r1, c0:c1] = 1.0
    return mask


def resampled_neighbourhood(
    image: Image.Image, box: Sequence[float], scale: float, crop_side: int, mask_margin: int
) -> tuple[Image.Image, tuple[float, float, float, float], Mapping]:
    """The neighbourhood of ``box`` resampled by ``scale``, the box in it, and
    ``(origin_x, origin_y, scale_x, scale_y)``: region pixel ``(u, v)`` is image pixel
    ``(origin_x + u / scale_x, origin_y + v / scale_y)``.

    The neighbourhood holds the window :func:`make_inpaint_sample` centres on the box (plus
    :data:`REGION_SLACK`) clipped to the image, so the window is the one the whole resampled
    image would give. ``scale`` 1 crops without resampling.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    s = float(scale)
    pad = mask_margin + CONTEXT_PAD
    side = max(crop_side, math.ceil(s * (x1 - x0) + 2 * pad), math.ceil(s * (y1 - y0) + 2 * pad)) / s
    half = side / 2 + REGION_SLACK / min(s, 1.0) + 1
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    width, height = image.size
    rx0, ry0 = max(math.floor(cx - half), 0), max(math.floor(cy - half), 0)
    rx1, ry1 = min(math.ceil(cx + half), width), min(math.ceil(cy + half), height)
    region = image.crop((rx0, ry0, rx1, ry1))
    sx = sy = 1.0
    if s != 1.0:
        size = (max(1, round((rx1 - rx0) * s)), max(1, round((ry1 - ry0) * s)))
        sx, sy = size[0] / (rx1 - rx0), size[1] / (ry1 - ry0)
        region = region.resize(size, Image.Resampling.LANCZOS)
    in_region = ((x0 - rx0) * sx, (y0 - ry0) * sy, (x1 - rx0) * sx, (y1 - ry0) * sy)
    return region, in_region, (rx0, ry0, sx, sy)


def check_sample_args(owner: str, length: int, seed: int, resolution: int, crop_side: int,
                      mask_margin: int) -> tuple[int, int, int, int, int]:
    """The arguments every sample dataset shares, checked and converted (errors name ``owner``)."""
    return (check_int(f"{owner}.length", length, 1), check_int(f"{owner}.seed", seed, 0),
            check_int(f"{owner}.resolution", resolution, 8), check_int(f"{owner}.crop_side", crop_side, 8),
            check_int(f"{owner}.mask_margin", mask_margin, 0))


def make_inpaint_sample(
    image: Image.Image,
    box: Sequence[float],
    target_text: str,
    resolution: int,
    crop_side: int,
    mask_margin: int,
) -> dict[str, Any]:
    """Inpainting tensors for ``box`` of ``image``.

    The window (:func:`crop_around_box` with ``pad = mask_margin + CONTEXT_PAD``) is resized
    to ``resolution`` (Lanczos). ``mask_margin`` is in window (page) pixels, before resizing;
    the mask is rasterised at ``resolution`` from the scaled box and margin (:func:`box_mask`).

    Returns:
        ``image`` (3, R, R) in [-1, 1], ``mask`` (1, R, R) in {0, 1}, ``masked_image``
        (3, R, R) = ``image * (mask < 0.5)``, ``window`` (4,) int64 in page pixels, ``text``.
    """
    resolution = check_int("make_inpaint_sample.resolution", resolution, 1)
    mask_margin = check_int("make_inpaint_sample.mask_margin", mask_margin, 0)
    crop, window = crop_around_box(image, box, crop_side, pad=mask_margin + CONTEXT_PAD)
    x0, y0, x1, y1 = (float(v) for v in box)
    scale = resolution / (window[2] - window[0])
    in_crop = ((x0 - window[0]) * scale, (y0 - window[1]) * scale, (x1 - window[0]) * scale, (y1 - window[1]) * scale)
    mask = torch.from_numpy(box_mask(resolution, in_crop, mask_margin * scale))[None]
    if crop.size != (resolution, resolution):
        crop = crop.resize((resolution, resolution), Image.Resampling.LANCZOS)
    pixels = image_to_tensor(crop)
    return {
        "image": pixels,
        "mask": mask,
        "masked_image": pixels * (mask < 0.5),
        "window": torch.tensor(window, dtype=torch.int64),
        "text": target_text,
    }


@dataclass(frozen=True)
class RunChoice:
    """The words chosen for one sample: a run of consecutive words on one line of ``crop``."""

    source_index: int
    crop: TextCrop
    words: list[Word]
    box: Box

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


_CONTENT: dict[tuple[str, ...], TextContent] = {}


def _content(locales: tuple[str, ...]) -> TextContent:
    """Per-process Faker content generator (created lazily, never pickled)."""
    if locales not in _CONTENT:
        _CONTENT[locales] = TextContent(locales)
    return _CONTENT[locales]


def other_text(text: str, rng: np.random.Generator, locales: tuple[str, ...]) -> str:
    """A different string of about the length of ``text`` (document-like content)."""
    r = random.Random(int(rng.integers(2**63)))
    content = _content(locales)
    for _ in range(10):
        other = cut(content.line(r, max_chars=max(len(text), 3)), max(len(text), 3))
        if other and other != text:
            return other
    return text[::-1] + "x"


def add_glyph(
    sample: dict[str, Any],
    text: str,
    rng: np.random.Generator,
    random_glyph_fraction: float,
    glyph: GlyphRenderer,
    locales: tuple[str, ...],
) -> dict[str, Any]:
    """``sample`` with ``glyph`` (rendered by ``glyph``), ``glyph_text`` and ``glyph_matches``:
    the glyph shows ``text``, or with probability ``random_glyph_fraction`` (drawn from
    ``rng``) another string (:func:`other_text`, also from ``rng``)."""
    matches = not (rng.random() < random_glyph_fraction)
    glyph_text = text if matches else other_text(text, rng, locales)
    sample["glyph"] = glyph.pixel_values([glyph_text])[0]
    sample["glyph_text"] = glyph_text
    sample["glyph_matches"] = matches
    return sample


class InpaintSamples(torch.utils.data.Dataset):
    """Self-supervised inpainting samples cut from synthetic document crops.

    Sample ``i`` renders synthetic crop ``i`` of side ``source_size`` (deterministic for
    ``(seed, i)``), picks with ``np.random.default_rng([seed, i, 1])`` a run of 1 to
    ``max_words`` consecutive words on one line (words touching the crop edge are never
    picked; a line is the words whose vertical centres are within half the anchor word's
    height, split at gaps wider than twice that height), masks their union box and asks
    for the crop's own pixels back. The glyph shows the run's text. A crop without usable
    words moves on to source crop ``i + k * length`` (``k < max_attempts``), then raises.

    ``random_glyph_fraction`` (default 0) is the probability that the glyph shows another
    string of similar length instead (``glyph_matches`` False). Since the target is still
    the crop's own pixels, a mismatched glyph teaches the model to *ignore* the glyph: keep
    it at 0 for text editing; it is only useful for context-only objectives and
    experiments.

    Items: ``image``, ``mask``, ``masked_image``, ``window`` (see :func:`make_inpaint_sample`),
    ``glyph`` (3, S, S) TrOCR pixel values in [-1, 1], ``text`` (the run's text, str),
    ``glyph_text`` (str), ``glyph_matches`` (bool).
    """

    def __init__(
        self,
        length: int,
        seed: int = 0,
        resolution: int = 64,
        crop_side: int = 64,
        source_size: int = 128,
        mask_margin: int = 2,
        max_words: int = 3,
        random_glyph_fraction: float = 0.0,
        glyph: GlyphRenderer | None = None,
        style: SyntheticStyle | None = None,
        font_dirs: Sequence[str] | None = None,
        font_families: Sequence[str] | None = None,
        locales: Sequence[str] = DEFAULT_LOCALES,
        max_attempts: int = 8,
    ) -> None:
        owner = "InpaintSamples"
        self.length, self.seed, self.resolution, self.crop_side, self.mask_margin = check_sample_args(
            owner, length, seed, resolution, crop_side, mask_margin)
        self.max_words = check_int(f"{owner}.max_words", max_words, 1)
        self.max_attempts = check_int(f"{owner}.max_attempts", max_attempts, 1)
        self.random_glyph_fraction = check_number(f"{owner}.random_glyph_fraction", random_glyph_fraction, 0, 1)
        self.locales = tuple(locales)
        self.source = SyntheticCrops(
            size=source_size,
            length=self.length * self.max_attempts,
            seed=self.seed,
            style=style,
            font_dirs=font_dirs,
            font_families=font_families,
            locales=self.locales,
        )
        self.glyph = glyph if glyph is not None else GlyphRenderer()

    def __len__(self) -> int:
        return self.length

    def pick(self, index: int) -> RunChoice:
        """The source crop and the run of words of sample ``index``."""
        if isinstance(index, bool) or not isinstance(index, numbers.Integral) or not 0 <= index < self.length:
            raise IndexError(f"InpaintSamples index {index!r} out of range for length {self.length}")
        size = self.source.size
        for attempt in range(self.max_attempts):
            source_index = int(index) + attempt * self.length
            crop = self.source[source_index]
            words = [w for w in crop.words if w.box[0] > 0 and w.box[1] > 0 and w.box[2] < size and w.box[3] < size]
            if words:
                break
        else:
            raise RuntimeError(
                f"InpaintSamples: no word inside {self.max_attempts} synthetic crops for index {index} "
                f"(seed {self.seed}); use a larger source_size or smaller synthetic.style.font_size"
            )
        rng = np.random.default_rng([self.seed, int(index), 1])
        anchor = words[int(rng.integers(len(words)))]
        ax0, ay0, ax1, ay1 = anchor.box
        height, centre = ay1 - ay0, (ay0 + ay1) / 2
        line = sorted((w for w in words if abs((w.box[1] + w.box[3]) / 2 - centre) <= height / 2),
                      key=lambda w: w.box[0])
        a = line.index(anchor)
        lo = a
        while lo > 0 and line[lo].box[0] - line[lo - 1].box[2] <= 2 * height:
            lo -= 1
        hi = a
        while hi + 1 < len(line) and line[hi + 1].box[0] - line[hi].box[2] <= 2 * height:
            hi += 1
        n = min(int(rng.integers(1, self.max_words + 1)), hi - lo + 1)
        start = int(rng.integers(max(lo, a - n + 1), min(a, hi - n + 1) + 1))
        run = line[start : start + n]
        box = (
            min(w.box[0] for w in run),
            min(w.box[1] for w in run),
            max(w.box[2] for w in run),
            max(w.box[3] for w in run),
        )
        return RunChoice(source_index, crop, run, box)

    def text_heights(self, n: int) -> list[float]:
        """Box heights (crop pixels, as windowed) of the runs of the first ``n`` samples."""
        heights = []
        for index in range(min(n, self.length)):
            try:
                box = self.pick(index).box
            except RuntimeError:
                continue
            heights.append(float(box[3] - box[1]))
        return heights

    def __getitem__(self, index: int) -> dict[str, Any]:
        choice = self.pick(index)
        text = choice.text
        sample = make_inpaint_sample(
            choice.crop.image, choice.box, text, self.resolution, self.crop_side, self.mask_margin
        )
        rng = np.random.default_rng([self.seed, int(index), 2])
        return add_glyph(sample, text, rng, self.random_glyph_fraction, self.glyph, self.locales)
