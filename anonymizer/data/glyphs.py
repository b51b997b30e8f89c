"""Glyph images of the target text: the conditioning input of the inpainting UNet.

DiffUTE-style: the text to draw is rendered in black on a white one-line canvas in a plain
font, then turned into TrOCR encoder pixel values (square, normalised to [-1, 1]). The
UNet sees the TrOCR encoder's features of this image through cross-attention (the
unconditional embedding of classifier-free guidance is all zeros, see InpaintModule).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw, ImageFont

from anonymizer.core.fonts import FontNotFoundError, find_fonts

log = logging.getLogger(__name__)

TROCR_MEAN = [0.5, 0.5, 0.5]
TROCR_STD = [0.5, 0.5, 0.5]


@functools.lru_cache(maxsize=512)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """The font ``path`` at pixel ``size``, cached per process."""
    return ImageFont.FreeTypeFont(path, size, layout_engine=ImageFont.Layout.BASIC)


def _extent(font: ImageFont.FreeTypeFont, text: str) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` of the line relative to the pen at the baseline.

    Vertically the font's ascent/descent are included, so that every string of a font size
    sits at the same height and short strings are not blown up to their ink height.
    """
    left, top, right, bottom = font.getbbox(text, anchor="ls")
    ascent, descent = font.getmetrics()
    return left, min(top, -ascent), right, max(bottom, descent)


def render_glyph(
    text: str, font_path: str, canvas: tuple[int, int] = (64, 512), margin: int = 4
) -> Image.Image:
    """``text`` in black on a white RGB canvas of ``(height, width)`` pixels.

    One line (whitespace runs become single spaces), centred vertically, left-aligned at
    ``margin``, at the largest integer font size whose line fits within the canvas less
    ``margin`` on every side (long strings get a smaller size). A string too long even at
    1 pixel is drawn at 1 pixel and clipped on the right.

    Raises:
        ValueError: when ``text`` is empty or only whitespace.
    """
    line = " ".join(str(text).split())
    if not line:
        raise ValueError("glyph text is empty")
    height, width = int(canvas[0]), int(canvas[1])
    if height < 2 * margin + 1 or width < 2 * margin + 1 or margin < 0:
        raise ValueError(f"glyph canvas {canvas!r} is too small for margin {margin}")
    avail_h, avail_w = height - 2 * margin, width - 2 * margin

    def fits(size: int) -> bool:
        left, top, right, bottom = _extent(_font(font_path, size), line)
        return right - left <= avail_w and bottom - top <= avail_h

    lo, hi = 1, max(2 * avail_h, 2)  # fits(lo) is assumed; hi is beyond any fitting size
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    font = _font(font_path, lo)
    left, top, right, bottom = _extent(font, line)
    x = margin - left
    y = round((height - (bottom - top)) / 2) - top  # baseline
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).text((x, y), line, font=font, fill="black", anchor="ls")
    return image


def build_glyph_processor(pretrained: str | None = None, image_size: int = 384) -> Any:
    """The image processor turning glyph images into TrOCR encoder pixel values.

    ``pretrained`` (a local folder, hub id such as ``microsoft/trocr-base-printed``, or store
    URL such as ``s3://bucket/models/trocr/latest``, see :mod:`anonymizer.store.resolve`):
    ``TrOCRProcessor.from_pretrained(pretrained).image_processor``, falling back to
    ``AutoImageProcessor`` for a folder holding only an image processor (``image_size`` is
    then ignored: the saved processor's size wins). ``None``: a ``ViTImageProcessor``
    resizing to ``image_size`` x ``image_size`` with TrOCR's normalisation (mean = std =
    0.5, i.e. pixel values in [-1, 1]).
    """
    from transformers import AutoImageProcessor, TrOCRProcessor, ViTImageProcessor

    if pretrained is None:
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8:
            raise ValueError(f"glyph processor image_size must be an integer >= 8, got {image_size!r}")
        return ViTImageProcessor(
            size={"height": image_size, "width": image_size},
            do_resize=True,
            do_normalize=True,
            image_mean=TROCR_MEAN,
            image_std=TROCR_STD,
        )
    from anonymizer.store.resolve import resolve_model_path

    pretrained = resolve_model_path(str(pretrained))
    local = Path(pretrained).expanduser()
    if not local.exists() and str(pretrained).startswith(("/", ".", "~")):
        raise FileNotFoundError(f"glyph processor: no such folder {pretrained!r}")
    source = str(local) if local.exists() else str(pretrained)
    log.info("Loading the glyph image processor from %s", source)
    try:
        return TrOCRProcessor.from_pretrained(source).image_processor
    except Exception as first:  # noqa: BLE001 - any failure (e.g. no tokenizer): try the image processor alone
        try:
            return AutoImageProcessor.from_pretrained(source, use_fast=False)
        except (OSError, ValueError) as err:
            raise OSError(
                f"could not load a TrOCR image processor from {pretrained!r}: "
                f"TrOCRProcessor: {str(first)[:200]}; AutoImageProcessor: {str(err)[:200]}. "
                "Give a local folder with preprocessor_config.json or a hub id reachable from this machine."
            ) from err


def regular_face(family: str, font_dirs: Sequence[str] | None) -> str:
    """Path of the regular face of ``family`` (exact family name, else name prefix)."""
    fonts = find_fonts(font_dirs, [family])
    for match in (lambda f: f.family == family, lambda f: f.family.startswith(family)):
        regular = [f for f in fonts if match(f) and not f.bold and not f.italic]
        if regular:
            return regular[0].path
    raise FontNotFoundError(
        f"no regular face of the font family {family!r} found (found: {sorted({f.family for f in fonts})})"
    )


class GlyphRenderer:
    """Render target strings as glyph images and TrOCR pixel values.

    Args:
        font_path: font file; None picks the regular face of ``font_family`` via
            :func:`anonymizer.core.fonts.find_fonts`.
        font_family: family name (file-name prefix, e.g. ``DejaVuSans``) used when
            ``font_path`` is None.
        canvas: ``(height, width)`` of the glyph image.
        processor: an image processor, a ``{pretrained, image_size}`` mapping for
            :func:`build_glyph_processor`, or None for the scratch processor (384 pixels).
        margin: blank border of the glyph image in pixels.
        font_dirs: folders searched for ``font_family`` (None: the system font folders).

    Holds only plain data and the processor, so it pickles into DataLoader workers.
    """

    def __init__(
        self,
        font_path: str | None = None,
        font_family: str = "DejaVuSans",
        canvas: Sequence[int] = (64, 512),
        processor: Any = None,
        margin: int = 4,
        font_dirs: Sequence[str] | None = None,
    ) -> None:
        try:
            h, w = (int(v) for v in canvas)
        except (TypeError, ValueError):
            raise ValueError(f"glyph canvas must be a [height, width] pair, got {canvas!r}") from None
        if h < 8 or w < 8:
            raise ValueError(f"glyph canvas must be at least 8 x 8 pixels, got {canvas!r}")
        if isinstance(margin, bool) or not isinstance(margin, int) or not 0 <= 2 * margin < min(h, w):
            raise ValueError(f"glyph margin must be an integer >= 0 smaller than half the canvas, got {margin!r}")
        if font_path is not None:
            if not Path(font_path).is_file():
                raise FileNotFoundError(f"glyph font_path: no such file {font_path!r}")
            _font(str(font_path), 12)  # fail early on an unreadable file
        self.font_path = str(font_path) if font_path is not None else regular_face(font_family, font_dirs)
        self.font_family = font_family if font_path is None else Path(font_path).stem.split("-")[0]
        self.canvas = (h, w)
        self.margin = margin
        if processor is None or isinstance(processor, Mapping):
            processor = build_glyph_processor(**dict(processor or {}))
        self.processor = processor

    def image(self, text: str) -> Image.Image:
        """The glyph image of ``text`` (see :func:`render_glyph`)."""
        return render_glyph(text, self.font_path, self.canvas, self.margin)

    def _process(self, images: list[Image.Image]) -> torch.Tensor:
        return self.processor(images=images, return_tensors="pt")["pixel_values"].float()

    def pixel_values(self, texts: Sequence[str]) -> torch.Tensor:
        """TrOCR pixel values ``(B, 3, S, S)`` of the glyph images of ``texts``."""
        if isinstance(texts, str) or not texts:
            raise ValueError(f"pixel_values needs a non-empty list of strings, got {texts!r}")
        return self._process([self.image(t) for t in texts])

    def describe(self) -> dict[str, Any]:
        """Plain description for export configs: font, canvas and processor settings."""
        p = self.processor
        return {
            "font_path": self.font_path,
            "font_family": self.font_family,
            "canvas": list(self.canvas),
            "margin": self.margin,
            "processor": {
                "class": type(p).__name__,
                "size": dict(getattr(p, "size", None) or {}),
                "image_mean": list(getattr(p, "image_mean", None) or []),
                "image_std": list(getattr(p, "image_std", None) or []),
            },
        }
