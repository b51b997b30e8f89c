"""LightningModule of the layout-aware PII tagger (:class:`~anonymizer.models.pii_tagger_net.TaggerNet`).

Words of a page -> BIO tags over the project's entity types plus ``KEY``. The loss is
cross-entropy with class weights (``(share of the tag) ** -class_weight_power`` measured on
the training pages, normalised to a mean of 1 per word) or, with ``focal_gamma > 0``, the
focal loss with the same weights. Validation logs entity-level ``val/f1``,
``val/precision``, ``val/recall``, ``val/f1_pii`` (without ``KEY``), ``val/f1/<TYPE>`` and
word-level ``val/token_f1`` (:mod:`anonymizer.metrics.tagging`); the token confusion matrix
of the last validation is kept in :attr:`confusion` (logged by
:class:`~anonymizer.training.callbacks.tagger_panels.TaggerConfusion`), and
:meth:`log_images` draws page panels of true and predicted spans (coloured boxes, no text).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.nn import functional as F

from anonymizer.core.word_features import IGNORE, TAG_TYPES, TAGS
from anonymizer.metrics.tagging import TaggingScores
from anonymizer.models.optim import configure_optimizer
from anonymizer.models.pii_tagger_net import TaggerConfig, TaggerNet

#: Colour of each type in the page panels (``O``: not drawn).
_PALETTE = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
                     [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128],
                     [170, 110, 40], [128, 0, 0], [128, 128, 0], [0, 0, 128], [128, 128, 128]], dtype=np.float32)


class PiiTaggerModule(L.LightningModule):
    """See the module docstring. ``net``: :class:`TaggerConfig` fields."""

    def __init__(self, net: dict[str, Any] | None = None, optimizer: Callable[..., torch.optim.Optimizer] | None = None,
                 scheduler: Callable[..., Any] | None = None, class_weight_power: float = 0.3,
                 focal_gamma: float = 0.0, max_class_weight: float = 10.0) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.net = TaggerNet(TaggerConfig(**dict(net or {})))
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.class_weight_power = float(class_weight_power)
        self.focal_gamma = float(focal_gamma)
        self.max_class_weight = float(max_class_weight)
        self.register_buffer("class_weights", torch.ones(len(TAGS)))
        self.scores = TaggingScores()
        self.confusion: np.ndarray | None = None

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(batch["chars"], batch["feats"], batch["pos"], batch["mask"])

    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        if stage == "fit" and self.class_weight_power > 0 and hasattr(datamodule, "class_counts"):
            counts = torch.as_tensor(datamodule.class_counts(), dtype=torch.float32)
            share = (counts + 1.0) / (counts.sum() + len(TAGS))
            w = share.pow(-self.class_weight_power)
            w = w / (w * share).sum()
            self.class_weights.copy_(w.clamp(max=self.max_class_weight))

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        flat, target = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)
        keep = target != IGNORE
        flat, target = flat[keep], target[keep]
        if target.numel() == 0:
            return logits.sum() * 0.0
        if self.focal_gamma <= 0:
            return F.cross_entropy(flat, target, weight=self.class_weights)
        logp = F.log_softmax(flat, dim=-1).gather(1, target[:, None]).squeeze(1)
        w = self.class_weights[target]
        return (-(1 - logp.exp()).pow(self.focal_gamma) * logp * w).sum() / w.sum()

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.loss(self(batch), batch["labels"])
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite training loss at step {self.global_step}")
        n = batch["labels"].shape[0]
        self.log("train/loss", loss.detach(), batch_size=n)
        self.log("loss", loss.detach(), prog_bar=True, logger=False, batch_size=n)
        return loss

    def on_validation_epoch_start(self) -> None:
        self.scores = TaggingScores()

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        logits = self(batch)
        self.log("val/loss", self.loss(logits, batch["labels"]), batch_size=logits.shape[0], sync_dist=True)
        pred = logits.argmax(-1).cpu().numpy()
        labels, mask, lines = (batch[k].cpu().numpy() for k in ("labels", "mask", "line_of"))
        for k in range(pred.shape[0]):
            m = mask[k]
            self.scores.update(labels[k][m], pred[k][m], lines[k][m])

    def on_validation_epoch_end(self) -> None:
        scores = self.scores
        if self.trainer.world_size > 1:  # sum counts over processes
            counts = torch.tensor([v for t in TAG_TYPES for v in scores.entity[t]], device=self.device)
            counts = self.all_gather(counts).sum(0).view(len(TAG_TYPES), 3).cpu().tolist()
            scores.entity = {t: [int(v) for v in counts[k]] for k, t in enumerate(TAG_TYPES)}
            confusion = torch.as_tensor(scores.confusion, device=self.device)
            scores.confusion = self.all_gather(confusion).sum(0).cpu().numpy()
        values = scores.compute()
        self.confusion = scores.confusion.copy()
        # counts were summed over processes above: every rank logs the same values
        self.log_dict({f"val/{k}": float(v) for k, v in values.items()}, sync_dist=False)
        self.log("val_f1", float(values["f1"]), prog_bar=True, logger=False)

    @torch.no_grad()
    def log_images(self, batch: dict[str, torch.Tensor], max_images: int = 4) -> dict[str, torch.Tensor]:
        """Page panels: the words' boxes coloured by true and by predicted type (grey: outside)."""
        batch = {k: v[:max_images].to(self.device) for k, v in batch.items() if torch.is_tensor(v)}
        pred = self(batch).argmax(-1).cpu()
        type_of = torch.tensor([0] + [1 + TAG_TYPES.index(t.split("-", 1)[1]) for t in TAGS[1:]])
        out = {}
        for name, tags in (("truth", batch["labels"].cpu().clamp(min=0)), ("predicted", pred)):
            out[name] = torch.stack([_draw_page(batch["feats"][k].cpu(), batch["mask"][k].cpu(), type_of[tags[k]])
                                     for k in range(tags.shape[0])])
        return out

    def configure_optimizers(self) -> Any:
        return configure_optimizer(self.optimizer_factory, self.scheduler_factory, self.parameters(),
                                   self.trainer.estimated_stepping_batches)


def _draw_page(feats: torch.Tensor, mask: torch.Tensor, types: torch.Tensor, size: int = 192) -> torch.Tensor:
    """A ``(3, size, size)`` image in [-1, 1] with each word's normalised box filled by its type's colour."""
    from anonymizer.core.word_features import SHAPE_FEATURES

    img = np.full((size, size, 3), 255.0, dtype=np.float32)
    for k in np.flatnonzero(mask.numpy()):
        x0, x1, y0, y1 = (float(feats[k, SHAPE_FEATURES + j]) for j in (0, 1, 2, 3))
        c0, c1 = int(x0 * (size - 1)), max(int(x1 * (size - 1)), int(x0 * (size - 1)) + 1)
        r0, r1 = int(y0 * (size - 1)), max(int(y1 * (size - 1)), int(y0 * (size - 1)) + 1)
        t = int(types[k])
        img[r0:r1, c0:c1] = _PALETTE[t - 1] if t > 0 else 200.0
    return torch.from_numpy(img).permute(2, 0, 1) / 127.5 - 1.0
