"""Image quality of reconstructions and edits: PSNR, SSIM, LPIPS, unchanged pixels.

Images are PIL RGB images or tensors; PSNR and SSIM are computed on values in [0, 1]
(``data_range=1``) with torchmetrics, per image, then averaged by the caller. LPIPS uses
:func:`anonymizer.metrics.perceptual.build_lpips`; which trunk weights it ran with
(``random``, ``imagenet`` or a file) is kept in :attr:`Lpips.weights` and must be reported
with the numbers: a random-feature LPIPS is not comparable with published LPIPS values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from anonymizer.core.geometry import dilated_mask


def to_unit_tensor(images: Image.Image | Sequence[Image.Image] | torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` float32 in [0, 1] from PIL image(s) (RGB) or a tensor already in [0, 1]."""
    if isinstance(images, torch.Tensor):
        x = images.float()
        return x[None] if x.dim() == 3 else x
    if isinstance(images, Image.Image):
        images = [images]
    arrays = [np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0 for im in images]
    if len({a.shape for a in arrays}) != 1:
        raise ValueError(f"images differ in size: {sorted({a.shape for a in arrays})}")
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")


def psnr(preds: torch.Tensor | Image.Image, targets: torch.Tensor | Image.Image) -> list[float]:
    """Per-image PSNR in dB, ``10 log10(1 / MSE)`` on [0, 1] values; ``inf`` for identical images."""
    a, b = to_unit_tensor(preds), to_unit_tensor(targets)
    _check_pair(a, b)
    mse = (a - b).pow(2).flatten(1).mean(1)
    values = peak_signal_noise_ratio(a, b, data_range=1.0, reduction="none", dim=(1, 2, 3))
    return [math.inf if m == 0 else float(v) for m, v in zip(mse.tolist(), values.reshape(-1).tolist())]


def ssim(preds: torch.Tensor | Image.Image, targets: torch.Tensor | Image.Image) -> list[float]:
    """Per-image SSIM (gaussian window, sigma 1.5, 11 pixels; [0, 1] values; 1 = identical).

    Images must be at least 11x11 pixels.
    """
    a, b = to_unit_tensor(preds), to_unit_tensor(targets)
    _check_pair(a, b)
    if min(a.shape[-2:]) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11 pixels, got {tuple(a.shape[-2:])}")
    values = structural_similarity_index_measure(a, b, data_range=1.0, reduction="none", sigma=1.5)
    return [float(v) for v in values.reshape(-1)]


class Lpips:
    """LPIPS distance (lower is more similar) with an explicit trunk; see the module docstring.

    Args:
        net: LPIPS trunk (``vgg``).
        backbone_weights: ``random`` (no download), ``imagenet`` or a path to a vgg16 state dict.
        seed: seed of a random trunk.
        device: where the network runs.
    """

    def __init__(self, net: str = "vgg", backbone_weights: str = "random", seed: int = 0,
                 device: str | torch.device = "cpu") -> None:
        from anonymizer.metrics.perceptual import build_lpips

        self.model = build_lpips(net=net, backbone_weights=backbone_weights, linear_heads=True, seed=seed).to(device)
        self.net = net
        self.weights = str(backbone_weights)
        self.device = torch.device(device)

    def describe(self) -> dict[str, str]:
        """What the numbers mean: the trunk and its weights."""
        note = ("random VGG features: comparable only with other runs of this setting"
                if self.weights == "random" else "")
        return {"net": self.net, "backbone_weights": self.weights, **({"note": note} if note else {})}

    @torch.no_grad()
    def __call__(self, preds: torch.Tensor | Image.Image, targets: torch.Tensor | Image.Image,
                 batch_size: int = 16) -> list[float]:
        """Per-image distances of same-size images (at least 16x16: the VGG trunk pools 4 times)."""
        a, b = to_unit_tensor(preds), to_unit_tensor(targets)
        _check_pair(a, b)
        if min(a.shape[-2:]) < 16:
            raise ValueError(f"LPIPS needs images of at least 16x16 pixels, got {tuple(a.shape[-2:])}")
        out: list[float] = []
        for start in range(0, a.shape[0], batch_size):
            x = a[start : start + batch_size].to(self.device) * 2 - 1
            y = b[start : start + batch_size].to(self.device) * 2 - 1
            out.extend(float(v) for v in self.model(x, y).reshape(-1).cpu())
        return out


def resize_min_side(image: Image.Image, side: int) -> Image.Image:
    """``image`` scaled (bicubic) so that its shorter side is ``side`` pixels."""
    scale = side / min(image.size)
    size = (max(side, round(image.width * scale)), max(side, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def unchanged_outside(original: Image.Image, edited: Image.Image, boxes: Sequence[Sequence[float]],
                      margin: float = 0.0) -> float:
    """Share of the pixels outside every box (dilated by ``margin``,
    :func:`~anonymizer.core.geometry.dilate_box`, as the text-edit pipeline limits its blend) whose
    RGB values are bit-identical in ``edited`` and ``original``; 1.0 when no pixel is outside."""
    a, b = np.asarray(original.convert("RGB")), np.asarray(edited.convert("RGB"))
    if a.shape != b.shape:
        raise ValueError(f"image sizes differ: {original.size} vs {edited.size}")
    outside = ~dilated_mask(boxes, margin, (a.shape[1], a.shape[0]))
    total = int(outside.sum())
    if total == 0:
        return 1.0
    same = np.all(a == b, axis=2) & outside
    return int(same.sum()) / total
