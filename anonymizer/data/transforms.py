"""Conversion of internal samples to model tensors and batching."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from anonymizer.data.records import TextCrop


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> float tensor ``(3, H, W)`` in [-1, 1]."""
    array = np.array(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


def tensor_to_image(tensor: torch.Tensor) -> Image.Image:
    """Float tensor ``(3, H, W)`` in [-1, 1] -> RGB PIL image."""
    array = ((tensor.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return Image.fromarray(array.permute(1, 2, 0).numpy())


class CropToTensor(torch.utils.data.Dataset):
    """Wrap a dataset of :class:`TextCrop` into ``{"image": tensor}`` samples."""

    def __init__(self, source: torch.utils.data.Dataset) -> None:
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        crop: TextCrop = self.source[index]
        return {"image": image_to_tensor(crop.image)}
