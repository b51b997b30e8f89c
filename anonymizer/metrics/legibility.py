"""Legibility of rendered text: OCR with Tesseract and the character error rate."""

from __future__ import annotations

import functools
import shutil

import numpy as np
from PIL import Image
from torchmetrics.functional.text import char_error_rate


@functools.lru_cache(maxsize=1)
def ocr_available() -> bool:
    """True when the ``tesseract`` binary and ``pytesseract`` are installed."""
    if shutil.which("tesseract") is None:
        return False
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return False
    return True


def ocr_line(image: Image.Image, upscale: int = 4) -> str:
    """OCR one text line (Tesseract ``--psm 7``) of a small image, upscaled first."""
    import pytesseract

    if upscale > 1:
        image = image.resize((image.width * upscale, image.height * upscale), Image.Resampling.BICUBIC)
    return pytesseract.image_to_string(image.convert("L"), config="--psm 7").strip()


def masked_region(image: np.ndarray, mask: np.ndarray, pad: int = 2) -> np.ndarray:
    """The bounding rectangle of ``mask > 0.5`` in an (H, W, C) image, padded."""
    ys, xs = np.nonzero(mask > 0.5)
    if len(ys) == 0:
        return image
    y0, y1 = max(0, ys.min() - pad), min(image.shape[0], ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(image.shape[1], xs.max() + 1 + pad)
    return image[y0:y1, x0:x1]


def cer(predictions: list[str], targets: list[str]) -> float:
    """Character error rate (edit distance / target length) over the pairs."""
    return float(char_error_rate(predictions, targets))
