"""Image panels (e.g. input | reconstruction) for the loggers, latent-diffusion style.

The LightningModule provides ``log_images(batch) -> {name: (B, 3, H, W) in [-1, 1]}``;
this callback lays the named images side by side per sample, stacks the samples, and
sends the panel to every logger: W&B gets an image panel, every other logger a PNG under
``<save_dir>/images/``.

Batches with a ``text`` list (inpainting) add one entry per row to the caption: the text
itself only when the DataModule's ``log_text`` is true (synthetic text), else its length;
then the ``text_panels`` (the glyph image, which renders the text) are left out too. A
DataModule without ``log_text`` counts as false: real documents may hold personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from PIL import Image

from anonymizer.core.geometry import tensor_to_image

log = logging.getLogger(__name__)


def make_panel(images: dict[str, torch.Tensor], gap: int = 2) -> Image.Image:
    """One row per sample with the named images left to right, as a PIL RGB image."""
    rows = []
    names = list(images)
    count = min(v.shape[0] for v in images.values())
    for i in range(count):
        tiles = [images[name][i].detach().float().cpu() for name in names]
        height = max(t.shape[1] for t in tiles)
        spaced = []
        for t in tiles:
            if t.shape[0] == 1:
                t = t.expand(3, -1, -1)
            pad = torch.ones(3, height, t.shape[2])
            pad[:, : t.shape[1]] = t
            spaced += [pad, torch.ones(3, height, gap)]
        rows += [torch.cat(spaced[:-1], dim=2), torch.ones(3, gap, sum(s.shape[2] for s in spaced[:-1]))]
    grid = torch.cat(rows[:-1], dim=1)
    return tensor_to_image(grid)


def make_caption(names: Sequence[str], texts: Sequence[str] | None, show_text: bool) -> str:
    """Panel names, then per row the text (``show_text``) or only its length."""
    caption = " | ".join(names)
    if texts:
        rows = "; ".join(repr(t) if show_text else f"{len(t)} chars" for t in texts)
        caption += f" / rows: {rows}"
    return caption


class ImageLogger(L.Callback):
    """Log panels every ``every_n_steps`` training steps and once per validation; see the
    module docstring for texts and ``text_panels``."""

    def __init__(self, every_n_steps: int = 200, max_images: int = 8, save_dir: str | None = None,
                 text_panels: Sequence[str] = ("glyph",)) -> None:
        if every_n_steps < 0:
            raise ValueError(f"every_n_steps must be >= 0 (0 disables training panels), got {every_n_steps}")
        self.every_n_steps = every_n_steps
        self.max_images = max_images
        self.save_dir = Path(save_dir) if save_dir else None
        self.text_panels = tuple(text_panels)
        self._val_batch: dict[str, Any] | None = None

    @rank_zero_only
    def _log(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: dict[str, Any], split: str) -> None:
        was_training = pl_module.training
        pl_module.eval()
        try:
            images = pl_module.log_images(batch, max_images=self.max_images)
        finally:
            pl_module.train(was_training)
        show_text = bool(getattr(trainer.datamodule, "log_text", False))
        if not show_text:
            images = {k: v for k, v in images.items() if k not in self.text_panels}
        panel = make_panel(images)
        texts = batch.get("text")
        rows = min(v.shape[0] for v in images.values())
        caption = make_caption(list(images), list(texts[:rows]) if isinstance(texts, (list, tuple)) else None,
                               show_text)
        step = trainer.global_step
        key = f"{split}/images"
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(key=key, images=[panel], caption=[caption], step=step)
        if self.save_dir is not None:
            out = self.save_dir / f"{split}_step{step:07d}.png"
            out.parent.mkdir(parents=True, exist_ok=True)
            panel.save(out)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if self.every_n_steps and step > 0 and step % self.every_n_steps == 0 and not trainer.sanity_checking:
            self._log(trainer, pl_module, batch, "train")

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if batch_idx == 0 and not trainer.sanity_checking:
            self._val_batch = {k: v[: self.max_images] for k, v in batch.items()
                               if torch.is_tensor(v) or (k == "text" and isinstance(v, (list, tuple)))}

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if self._val_batch is not None:
            self._log(trainer, pl_module, self._val_batch, "val")
            self._val_batch = None
