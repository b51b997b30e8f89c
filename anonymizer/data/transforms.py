"""Conversion of internal samples to model tensors and batching."""

from __future__ import annotations

import torch

from anonymizer.core.geometry import image_to_tensor
from anonymizer.core.records import TextCrop


class CropToTensor(torch.utils.data.Dataset):
    """Wrap a dataset of :class:`TextCrop` into ``{"image": tensor}`` samples."""

    def __init__(self, source: torch.utils.data.Dataset) -> None:
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        crop: TextCrop = self.source[index]
        return {"image": image_to_tensor(crop.image)}
