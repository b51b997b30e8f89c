"""Boxes on a page and images as tensors.

A box is ``(x0, y0, x1, y1)`` in page pixels, float, end-exclusive (:data:`Box`); an
:data:`IntBox` is a pixel rectangle that can index an array. Model tensors hold images as
``(3, H, W)`` floats in [-1, 1] (:func:`image_to_tensor`); they come back to 8-bit pixels
by :func:`tensor_to_array` / :func:`tensor_to_image`, which clamp to [-1, 1] and round to
the nearest value (every caller in the project rounds; none truncates).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    import numpy as np
    import torch

Box = tuple[float, float, float, float]
IntBox = tuple[int, int, int, int]


# --------------------------------------------------------------------------- boxes
def check_box(box: Sequence[float], size: tuple[int, int], index: int | None = None,
              overlap_only: bool = False) -> Box:
    """``box`` as a float :data:`Box`; ValueError naming it when it is not four finite numbers,
    has no area, or does not lie inside the ``(width, height)`` page.

    Messages name the box by ``index`` (``box 3: zero or negative size (...)``), or by its
    coordinates without one (``box (...) has zero or negative size``); never by any text.
    ``overlap_only``: a box only partly on the page is accepted (one entirely off it is not).
    """

    def error(indexed: str, unindexed: str) -> ValueError:
        return ValueError(f"box {index}: {indexed}" if index is not None else f"box {box!r} {unindexed}")

    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        four = "must be four numbers (x0, y0, x1, y1)"
        raise error(f"{four}, got {box!r}", four) from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise error(f"non-finite coordinates {box!r}", "has non-finite coordinates")
    if x1 <= x0 or y1 <= y0:
        raise error(f"zero or negative size {box!r}", "has zero or negative size")
    width, height = size
    if overlap_only:
        if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
            raise error(f"{box!r} lies outside the {width}x{height} image", f"lies outside the {width}x{height} image")
    elif x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise error(f"{box!r} is not inside the {width}x{height} page", f"is not inside the {width}x{height} page")
    return x0, y0, x1, y1


def clip_box(box: Sequence[float], size: tuple[int, int]) -> Box:
    """``box`` cut to the ``(width, height)`` page (it may end up empty)."""
    x0, y0, x1, y1 = box
    width, height = size
    return (max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1))


def grow_box(box: Sequence[float], px: float) -> Box:
    """``box`` grown by ``px`` on every side (not clipped, not rounded)."""
    return (box[0] - px, box[1] - px, box[2] + px, box[3] + px)


def dilate_box(box: Sequence[float], margin: float, size: tuple[int, int]) -> IntBox:
    """Integer pixel rectangle (end-exclusive) of ``box`` grown by ``margin``, clipped to the
    ``(width, height)`` page: ``floor(x0 - margin)`` .. ``ceil(x1 + margin)``."""
    x0, y0, x1, y1 = (float(v) for v in box)
    width, height = size
    return (max(math.floor(x0 - margin), 0), max(math.floor(y0 - margin), 0),
            min(math.ceil(x1 + margin), width), min(math.ceil(y1 + margin), height))


def dilated_mask(boxes: Sequence[Sequence[float]], margin: float, size: tuple[int, int]) -> np.ndarray:
    """Boolean ``(H, W)`` mask of the union of the boxes dilated by :func:`dilate_box`."""
    import numpy as np

    mask = np.zeros((size[1], size[0]), bool)
    for box in boxes:
        x0, y0, x1, y1 = dilate_box(box, margin, size)
        mask[y0:y1, x0:x1] = True
    return mask


# --------------------------------------------------------------------------- images as tensors
def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> float32 tensor ``(3, H, W)`` in [-1, 1] (``pixel / 127.5 - 1``)."""
    import numpy as np
    import torch

    array = np.array(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


def images_to_tensor(images: Sequence[Image.Image]) -> torch.Tensor:
    """RGB PIL images of one size -> ``(B, 3, H, W)`` as :func:`image_to_tensor`."""
    import torch

    return torch.stack([image_to_tensor(im) for im in images])


def tensor_to_array(tensor: torch.Tensor) -> np.ndarray:
    """Tensor ``(3, H, W)`` or ``(B, 3, H, W)`` in [-1, 1] -> uint8 array ``(H, W, 3)`` or
    ``(B, H, W, 3)``: clamped to [-1, 1], then ``(x + 1) * 127.5`` rounded to the nearest integer
    (computed in float32 on the tensor's device)."""
    import numpy as np
    import torch

    pixels = ((tensor.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return np.ascontiguousarray(pixels.movedim(-3, -1).cpu().numpy())


def tensor_to_image(tensor: torch.Tensor) -> Image.Image:
    """Tensor ``(3, H, W)`` in [-1, 1] -> RGB PIL image (see :func:`tensor_to_array`)."""
    return Image.fromarray(tensor_to_array(tensor))
