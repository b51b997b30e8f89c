"""Inpainting samples of short strings in large type on plain paper: the smallest text edit.

:class:`PlainTextSamples` draws a string of ``chars`` characters from ``alphabet`` (digits by
default) in one font at a size from ``font_size``, in ``ink`` on ``paper``, at a random place
of a ``source_size`` square, and cuts the sample around its box as
:class:`~anonymizer.data.inpaint_samples.InpaintSamples` does. Nothing of the string is left
in the context once the box is masked: a model can only write it from its glyph, which makes
these samples the proof that the glyph steers the output (``+experiment=text_edit_proof``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from anonymizer.core.geometry import Box
from anonymizer.data.checks import check_int, check_number, check_pair
from anonymizer.data.glyphs import GlyphRenderer, regular_face
from anonymizer.data.inpaint_samples import add_glyph, check_sample_args, make_inpaint_sample
from anonymizer.data.synthetic import DEFAULT_LOCALES


def _color(name: str, value: Sequence[int]) -> tuple[int, int, int]:
    try:
        rgb = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        rgb = ()
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise ValueError(f"PlainTextSamples.{name} must be [r, g, b] in 0..255, got {value!r}")
    return rgb  # type: ignore[return-value]


class PlainTextSamples(torch.utils.data.Dataset):
    """Short strings on plain paper; see the module docstring.

    Sample ``i`` depends only on ``(seed, i)``: ``np.random.default_rng([seed, i, 1])`` draws the
    string, the font size and the place (the string lies at least ``mask_margin + 2`` pixels
    inside the square). Items as ``InpaintSamples``: ``image``, ``mask``, ``masked_image``,
    ``window``, ``glyph``, ``text``, ``glyph_text``, ``glyph_matches``.
    """

    def __init__(
        self,
        length: int,
        seed: int = 0,
        resolution: int = 64,
        crop_side: int = 64,
        source_size: int = 96,
        mask_margin: int = 2,
        alphabet: str = "0123456789",
        chars: Sequence[int] = (3, 3),
        font_size: Sequence[int] = (24, 24),
        font_family: str = "DejaVuSans",
        font_path: str | None = None,
        ink: Sequence[int] = (0, 0, 0),
        paper: Sequence[int] = (255, 255, 255),
        random_glyph_fraction: float = 0.0,
        glyph: GlyphRenderer | None = None,
    ) -> None:
        owner = "PlainTextSamples"
        self.length, self.seed, self.resolution, self.crop_side, self.mask_margin = check_sample_args(
            owner, length, seed, resolution, crop_side, mask_margin)
        self.source_size = check_int(f"{owner}.source_size", source_size, 16)
        if not isinstance(alphabet, str) or not alphabet.strip() or any(c.isspace() for c in alphabet):
            raise ValueError(f"{owner}.alphabet must be a non-empty string without whitespace, got {alphabet!r}")
        self.alphabet = alphabet
        self.chars = check_pair(f"{owner}.chars", tuple(chars), 1, 64, integer=True)
        self.font_size = check_pair(f"{owner}.font_size", tuple(font_size), 4, 512, integer=True)
        self.font_path = str(font_path) if font_path is not None else regular_face(font_family, None)
        self.ink, self.paper = _color("ink", ink), _color("paper", paper)
        self.random_glyph_fraction = check_number(f"{owner}.random_glyph_fraction", random_glyph_fraction, 0, 1)
        self.glyph = glyph if glyph is not None else GlyphRenderer()

    def __len__(self) -> int:
        return self.length

    def pick(self, index: int) -> tuple[Image.Image, Box, str]:
        """The source image, the string's ink box in it and the string of sample ``index``."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < self.length:
            raise IndexError(f"PlainTextSamples index {index!r} out of range for length {self.length}")
        rng = np.random.default_rng([self.seed, int(index), 1])
        text = "".join(rng.choice(list(self.alphabet), size=int(rng.integers(self.chars[0], self.chars[1] + 1))))
        font = ImageFont.truetype(self.font_path, int(rng.integers(self.font_size[0], self.font_size[1] + 1)))
        left, top, right, bottom = font.getbbox(text, anchor="ls")
        room = self.mask_margin + 2
        x_span = self.source_size - 2 * room - (right - left)
        y_span = self.source_size - 2 * room - (bottom - top)
        if x_span < 0 or y_span < 0:
            raise ValueError(f"PlainTextSamples: {text!r} at this font size does not fit a {self.source_size} px "
                             "source; use a larger source_size or smaller font_size / chars")
        x = room - left + int(rng.integers(0, x_span + 1))
        y = room - top + int(rng.integers(0, y_span + 1))
        image = Image.new("RGB", (self.source_size, self.source_size), self.paper)
        draw = ImageDraw.Draw(image)
        draw.text((x, y), text, font=font, fill=self.ink, anchor="ls")
        return image, tuple(float(v) for v in draw.textbbox((x, y), text, font=font, anchor="ls")), text

    def text_heights(self, n: int) -> list[float]:
        """Box heights of the first ``n`` samples (source pixels, as windowed)."""
        return [float(box[3] - box[1]) for _, box, _ in (self.pick(i) for i in range(min(n, self.length)))]

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, box, text = self.pick(index)
        sample = make_inpaint_sample(image, box, text, self.resolution, self.crop_side, self.mask_margin)
        rng = np.random.default_rng([self.seed, int(index), 2])
        return add_glyph(sample, text, rng, self.random_glyph_fraction, self.glyph, DEFAULT_LOCALES)
