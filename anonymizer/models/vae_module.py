"""LightningModule that fine-tunes a diffusers ``AutoencoderKL`` on document crops."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from diffusers import AutoencoderKL
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from anonymizer.models.losses import VAELoss
from anonymizer.models.optim import configure_optimizer

_PERCEPTUAL_PREFIX = "loss.perceptual."


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """Map images from [-1, 1] to [0, 1], clamped."""
    return ((images.float() + 1.0) / 2.0).clamp(0.0, 1.0)


class VAEModule(L.LightningModule):
    """Reconstruction + KL + LPIPS fine-tuning of an ``AutoencoderKL``.

    Batches are dicts with ``"image"``: float tensors ``(B, 3, H, W)`` in [-1, 1].
    Training decodes a posterior sample, validation the posterior mode (deterministic).
    The frozen LPIPS network is not stored in checkpoints.
    """

    def __init__(
        self,
        autoencoder: AutoencoderKL,
        loss: VAELoss,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        train_decoder_only: bool = False,
        compile: bool = False,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["autoencoder", "loss"], logger=False)
        self.autoencoder = autoencoder
        self.loss = loss
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.train_decoder_only = train_decoder_only
        if train_decoder_only:
            for part in (self.autoencoder.encoder, self.autoencoder.quant_conv):
                if part is not None:
                    part.requires_grad_(False)
        metrics = MetricCollection(
            {
                "psnr": PeakSignalNoiseRatio(data_range=1.0),
                "ssim": StructuralSimilarityIndexMeasure(data_range=1.0),
            }
        )
        self.val_metrics = metrics.clone(prefix="val/")
        self.val_lpips = MeanMetric()
        self._compiled = compile

    # ------------------------------------------------------------------ model
    def encode(self, images: torch.Tensor):
        """Posterior ``DiagonalGaussianDistribution`` of ``images``."""
        if self.train_decoder_only:
            with torch.no_grad():
                return self.autoencoder.encode(images).latent_dist
        return self.autoencoder.encode(images).latent_dist

    def forward(
        self, images: torch.Tensor, sample_posterior: bool = False, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, Any]:
        """Return ``(reconstruction, posterior)``; decodes the mode unless ``sample_posterior``."""
        posterior = self.encode(images)
        latents = posterior.sample(generator=generator) if sample_posterior else posterior.mode()
        return self.autoencoder.decode(latents).sample, posterior

    def train(self, mode: bool = True) -> VAEModule:
        """Switch modes, keeping the frozen LPIPS network in eval mode (its dropout off)."""
        super().train(mode)
        if self.loss.perceptual is not None:
            self.loss.perceptual.eval()
        return self

    def setup(self, stage: str) -> None:
        if self._compiled and stage == "fit":
            self.autoencoder = torch.compile(self.autoencoder)

    # ---------------------------------------------------------------- training
    def _losses(self, images: torch.Tensor, sample_posterior: bool,
                per_image: dict[str, torch.Tensor] | None = None) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        recon, posterior = self(images, sample_posterior=sample_posterior)
        terms = self.loss(images, recon, posterior.mean, posterior.logvar, per_image=per_image)
        return terms, recon

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        images = batch["image"]
        terms, _ = self._losses(images, sample_posterior=True)
        if not torch.isfinite(terms["loss"]):
            raise FloatingPointError(
                f"non-finite training loss at step {self.global_step}: "
                + ", ".join(f"{k}={v.item():.4g}" for k, v in terms.items())
            )
        self.log_dict({f"train/{k}": v.detach() for k, v in terms.items()}, prog_bar=False, batch_size=images.shape[0])
        self.log("loss", terms["loss"].detach(), prog_bar=True, logger=False, batch_size=images.shape[0])
        return terms["loss"]

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        images = batch["image"]
        per_image: dict[str, torch.Tensor] = {}
        terms, recon = self._losses(images, sample_posterior=False, per_image=per_image)
        batch_size = images.shape[0]
        self.log("val/loss", terms["loss"], sync_dist=True, batch_size=batch_size, prog_bar=True)
        self.val_metrics.update(to_unit_range(recon), to_unit_range(images))
        if self.loss.perceptual is not None:  # the loss's own distances when it computed them
            distances = per_image.get("perceptual")
            self.val_lpips.update(distances if distances is not None else self.loss.perceptual_distance(images, recon))
            self.log("val/lpips", self.val_lpips, batch_size=batch_size)
        self.log_dict(self.val_metrics, batch_size=batch_size)

    @torch.no_grad()
    def log_images(self, batch: dict[str, torch.Tensor], max_images: int = 8) -> dict[str, torch.Tensor]:
        """Input and reconstruction (posterior mode) of the first images, in [-1, 1]."""
        images = batch["image"][:max_images].to(self.device)
        recon, _ = self(images, sample_posterior=False)
        return {"input": images, "reconstruction": recon.clamp(-1, 1)}

    # -------------------------------------------------------------- optimizers
    def configure_optimizers(self) -> Any:
        params = (p for p in self.autoencoder.parameters() if p.requires_grad)
        return configure_optimizer(self.optimizer_factory, self.scheduler_factory, params,
                                   self.trainer.estimated_stepping_batches)

    # ------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Drop the frozen LPIPS weights: they are rebuilt from the config."""
        state = checkpoint["state_dict"]
        for key in [k for k in state if k.startswith(_PERCEPTUAL_PREFIX)]:
            del state[key]

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Put the current LPIPS weights back so strict loading succeeds."""
        state = checkpoint["state_dict"]
        for key, value in self.state_dict().items():
            if key.startswith(_PERCEPTUAL_PREFIX):
                state.setdefault(key, value)

    def autoencoder_state_dict(self, state_dict: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """The ``AutoencoderKL`` weights from this module (or from a checkpoint's state dict)."""
        state = self.state_dict() if state_dict is None else state_dict
        prefix = "autoencoder."
        out = {}
        for key, value in state.items():
            if key.startswith(prefix):
                out[key[len(prefix):].removeprefix("_orig_mod.")] = value
        return out
