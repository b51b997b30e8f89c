"""Legibility of rendered text: OCR with Tesseract and the character error rate.

:func:`ocr_line` reads one line (Tesseract ``--psm 7`` on the upscaled image);
:func:`ocr_box` reads the line inside a box of a larger image. The string metrics
(CER, word/sentence accuracy, NED) are in :mod:`anonymizer.metrics.text_accuracy`.
"""

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
        import pytesseract  # noqa: F401 - imported only to see that it is installed
    except ImportError:
        return False
    return True


def ocr_line(image: Image.Image, upscale: int = 4) -> str:
    """OCR one text line (Tesseract ``--psm 7``) of a small image, upscaled first."""
    import pytesseract

    if upscale > 1:
        image = image.resize((image.width * upscale, image.height * upscale), Image.Resampling.BICUBIC)
    return pytesseract.image_to_string(image.convert("L"), config="--psm 7").strip()


def ocr_box(image: Image.Image, box: tuple[float, float, float, float], pad: float = 2.0, upscale: int = 4) -> str:
    """:func:`ocr_line` on ``box`` of ``image`` grown by ``pad`` pixels on every side (clipped)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    region = (max(int(np.floor(x0 - pad)), 0), max(int(np.floor(y0 - pad)), 0),
              min(int(np.ceil(x1 + pad)), image.width), min(int(np.ceil(y1 + pad)), image.height))
    if region[2] <= region[0] or region[3] <= region[1]:
        raise ValueError(f"box {box!r} lies outside the {image.width}x{image.height} image")
    return ocr_line(image.crop(region), upscale=upscale)


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
