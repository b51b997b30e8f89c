"""Uneven lighting removed before OCR: phone photos and shadowed scans read like scans.

A phone photo of a page has grey, unevenly lit paper (darker corners, a shadow across the
form): Tesseract's global binarisation then loses most of the text (13 of about 460 words
on a photographed W-9). :func:`flatten_background` divides the page by an estimate of its
paper brightness (the local maximum of a downscaled copy, smoothed), so the paper becomes
white everywhere and the ink keeps its contrast. Only the image given to the OCR engine
changes; boxes keep the page's coordinates.

:func:`needs_flattening` decides for ``preprocess="auto"``: a page whose paper is darker than
``threshold`` (median background grey level) is flattened; clean scans and born-digital
pages (white paper) are left alone.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

PREPROCESS_MODES = ("auto", "flatten", "none")
#: ``auto`` flattens pages whose median paper grey level is below this.
AUTO_THRESHOLD = 235.0
_DOWNSCALE = 8


def background(gray: Image.Image) -> Image.Image:
    """The paper's brightness at each pixel of a grey page: the maximum over ~40 px
    neighbourhoods (text removed), smoothed, at the page's size."""
    small = gray.resize((max(1, gray.width // _DOWNSCALE), max(1, gray.height // _DOWNSCALE)),
                        Image.Resampling.BILINEAR)
    small = small.filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.GaussianBlur(3))
    return small.resize(gray.size, Image.Resampling.BILINEAR)


def flatten_background(image: Image.Image) -> Image.Image:
    """A grey copy of ``image`` divided by its :func:`background` (white paper, same size)."""
    gray = image.convert("L")
    paper = np.asarray(background(gray), np.float32)
    out = np.asarray(gray, np.float32) / np.maximum(paper, 1.0) * 255.0
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def needs_flattening(image: Image.Image, threshold: float = AUTO_THRESHOLD) -> bool:
    """Whether the median paper brightness of ``image`` is below ``threshold``."""
    return float(np.median(np.asarray(background(image.convert("L"))))) < threshold


def prepare_for_ocr(image: Image.Image, mode: str) -> Image.Image:
    """``image`` as the OCR engine should see it under ``mode`` (``auto``, ``flatten``, ``none``)."""
    if mode not in PREPROCESS_MODES:
        raise ValueError(f"ocr.preprocess must be one of {list(PREPROCESS_MODES)}, got {mode!r}")
    if mode == "flatten" or mode == "auto" and needs_flattening(image):
        return flatten_background(image)
    return image
