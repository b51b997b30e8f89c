"""The DataLoader settings shared by the project's DataModules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset


class SplitDataModule(L.LightningDataModule):
    """Train/val loaders over ``self.train_set`` / ``self.val_set``.

    Subclasses set ``batch_size``, ``num_workers``, ``pin_memory``, ``seed`` and the two
    datasets in ``setup``. Training shuffles with a seeded generator and drops the last
    partial batch; workers persist between epochs (they hold warm font/glyph caches).
    """

    collate_fn: Callable[[list[Any]], Any] | None = None
    batch_size: int
    num_workers: int
    pin_memory: bool
    seed: int
    train_set: Dataset | None
    val_set: Dataset | None

    def _loader(self, dataset: Dataset, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=self.pin_memory,
            drop_last=shuffle,
            collate_fn=type(self).collate_fn,
            generator=torch.Generator().manual_seed(self.seed) if shuffle else None,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)
