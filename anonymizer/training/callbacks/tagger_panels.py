"""The PII tagger's token confusion matrix (over types, ``O`` first) after each validation:
a W&B image panel ``val/confusion``, and a PNG under ``save_dir`` for every other logger.
Counts only: no page text is ever drawn."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from PIL import Image, ImageDraw

from anonymizer.core.word_features import TAG_TYPES


def confusion_image(confusion: np.ndarray, cell: int = 28) -> Image.Image:
    """Row-normalised heat map of ``confusion`` (rows: true type, columns: predicted) with the
    type names and each cell's count."""
    names = ("O", *TAG_TYPES)
    n = confusion.shape[0]
    margin = 110
    img = Image.new("RGB", (margin + n * cell, margin + n * cell), "white")
    draw = ImageDraw.Draw(img)
    rows = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
    for i in range(n):
        draw.text((2, margin + i * cell + 8), names[i][:16], fill="black")
        draw.text((margin + i * cell + 2, 2 + (i % 4) * 24), names[i][:9], fill="black")
        for j in range(n):
            shade = int(255 * (1 - rows[i, j]))
            box = (margin + j * cell, margin + i * cell, margin + (j + 1) * cell - 1, margin + (i + 1) * cell - 1)
            draw.rectangle(box, fill=(shade, shade, 255) if i == j else (255, shade, shade))
            if confusion[i, j]:
                draw.text((box[0] + 2, box[1] + 8), str(int(confusion[i, j]))[:5], fill="black")
    return img


class TaggerConfusion(L.Callback):
    """Log ``pl_module.confusion`` after every validation; see the module docstring."""

    def __init__(self, save_dir: str | None = None) -> None:
        self.save_dir = Path(save_dir) if save_dir else None

    @rank_zero_only
    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        confusion = getattr(pl_module, "confusion", None)
        if confusion is None or trainer.sanity_checking:
            return
        image = confusion_image(confusion)
        step = trainer.global_step
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(key="val/confusion", images=[image], step=step)
        if self.save_dir is not None:
            self.save_dir.mkdir(parents=True, exist_ok=True)
            image.save(self.save_dir / f"confusion_step{step:07d}.png")
