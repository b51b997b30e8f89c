"""LightningModule for the 9-channel inpainting UNet with TrOCR glyph conditioning.

Batches: ``image`` (B, 3, R, R) target crop in [-1, 1]; ``mask`` (B, 1, R, R) with 1 where
text is redrawn; ``masked_image`` = ``image * (mask < 0.5)``; ``glyph`` (B, 3, S, S)
TrOCR-processed glyph image of the target text; ``text`` list of target strings.

The VAE is frozen; latents are multiplied by its ``scaling_factor``. The conditioning is
the TrOCR encoder's last hidden state, projected to the UNet's ``cross_attention_dim``.
With probability ``cond_dropout`` a sample's conditioning is replaced by zeros (the
unconditional embedding used for classifier-free guidance at sampling time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, UNet2DConditionModel
from PIL import Image
from torch import nn
from torchmetrics import MeanMetric

from anonymizer.metrics.legibility import cer, masked_region, ocr_available, ocr_line
from anonymizer.models.diffusion_utils import diffusion_target, make_ema, min_snr_weights, scheduler_from
from anonymizer.models.glyph_encoder import GlyphConditioner
from anonymizer.models.optim import configure_optimizer
from anonymizer.models.inpaint_sampling import encode_masked_image, latent_mask, sample_inpaint, unet_input
from anonymizer.models.vae_module import to_unit_range

PREDICTION_TYPES = ("epsilon", "v_prediction")


class InpaintModule(L.LightningModule):
    """Train the inpainting UNet (and optionally the glyph encoder); see the module docstring."""

    def __init__(
        self,
        unet: UNet2DConditionModel,
        vae: AutoencoderKL,
        glyph_encoder: nn.Module,
        noise_scheduler: Any,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        encoder_trainable: bool = False,
        prediction_type: str = "epsilon",
        cond_dropout: float = 0.1,
        min_snr_gamma: float | None = None,
        ema_decay: float | None = 0.9999,
        gradient_checkpointing: bool = False,
        validation: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if unet.config.in_channels != 9:
            raise ValueError(
                f"the inpainting UNet needs 9 input channels [noisy latents 4, mask 1, masked-image latents 4], "
                f"got in_channels={unet.config.in_channels}"
            )
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(f"prediction_type must be one of {PREDICTION_TYPES}, got {prediction_type!r}")
        if not 0.0 <= cond_dropout <= 1.0:
            raise ValueError(f"cond_dropout must be in [0, 1], got {cond_dropout}")
        if min_snr_gamma is not None and not min_snr_gamma > 0:
            raise ValueError(f"min_snr_gamma must be > 0 or null, got {min_snr_gamma}")
        if ema_decay is not None and not 0.0 < ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1) or null, got {ema_decay}")
        self.save_hyperparameters(ignore=["unet", "vae", "glyph_encoder", "noise_scheduler"], logger=False)
        self.unet = unet
        self.vae = vae.eval().requires_grad_(False)
        self.conditioner = GlyphConditioner(glyph_encoder, unet.config.cross_attention_dim, trainable=encoder_trainable)
        self.noise_scheduler = noise_scheduler
        noise_scheduler.register_to_config(prediction_type=prediction_type)
        self.prediction_type = prediction_type
        self.cond_dropout = cond_dropout
        self.min_snr_gamma = min_snr_gamma
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.validation = {"sampler": "ddim", "steps": 20, "guidance_scale": 1.0, "batches": 1, "ocr": True, **(validation or {})}
        if gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()
        self.ema = make_ema(self.unet, decay=ema_decay) if ema_decay is not None else None
        self.val_masked_psnr = MeanMetric()
        self.val_ocr_cer = MeanMetric()

    # ------------------------------------------------------------------ helpers
    def train(self, mode: bool = True) -> InpaintModule:
        """Switch modes; the VAE always stays in eval mode."""
        super().train(mode)
        self.vae.eval()
        return self

    @property
    def scaling_factor(self) -> float:
        return float(self.vae.config.scaling_factor)

    @torch.no_grad()
    def encode_latents(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Scaled posterior samples of the target images."""
        return self.vae.encode(images.to(self.vae.dtype)).latent_dist.sample(generator=generator) * self.scaling_factor

    def drop_mask(self, n: int, rate: float, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """Rows whose conditioning is dropped (classifier-free guidance training), or None."""
        if rate <= 0:
            return None
        return torch.rand(n, generator=generator, device=self.device) < rate

    def condition(self, glyph: torch.Tensor, drop: torch.Tensor | None = None) -> torch.Tensor:
        """Projected glyph features; rows where ``drop`` is True become zeros."""
        cond = self.conditioner(glyph)
        if drop is not None and drop.any():
            cond = cond * (~drop).to(cond.dtype)[:, None, None]
        return cond

    def diffusion_loss(self, batch: Mapping[str, Any], generator: torch.Generator | None = None,
                       dropout: float = 0.0) -> torch.Tensor:
        """Min-SNR-weighted MSE (mean over C, h, w per sample, then over the batch)."""
        images = batch["image"]
        n = images.shape[0]
        latents = self.encode_latents(images, generator)
        masked_latents = encode_masked_image(self.vae, batch["masked_image"])
        mask_lat = latent_mask(batch["mask"], latents)
        noise = torch.randn(latents.shape, generator=generator, device=latents.device, dtype=latents.dtype)
        steps = self.noise_scheduler.config.num_train_timesteps
        t = torch.randint(0, steps, (n,), generator=generator, device=latents.device)
        noisy = self.noise_scheduler.add_noise(latents, noise, t)
        cond = self.condition(batch["glyph"], self.drop_mask(n, dropout, generator))
        pred = self.unet(unet_input(noisy, mask_lat, masked_latents), t, encoder_hidden_states=cond).sample
        target = diffusion_target(self.noise_scheduler, latents, noise, t, self.prediction_type)
        per_sample = F.mse_loss(pred.float(), target.float(), reduction="none").flatten(1).mean(dim=1)
        if self.min_snr_gamma is not None:
            per_sample = per_sample * min_snr_weights(self.noise_scheduler, t, self.min_snr_gamma, self.prediction_type)
        return per_sample.mean()

    # ---------------------------------------------------------------- training
    def training_step(self, batch: Mapping[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self.diffusion_loss(batch, dropout=self.cond_dropout)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite training loss at step {self.global_step}: {loss.item()}")
        n = batch["image"].shape[0]
        self.log("train/loss", loss.detach(), batch_size=n, prog_bar=True)
        return loss

    def on_fit_start(self) -> None:
        if self.ema is not None:
            self.ema.to(self.device)

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        """Step the optimizer, then the EMA (once per optimizer step, also with gradient
        accumulation). Here rather than in ``on_train_batch_end``: callbacks' batch-end hooks
        run before the module's, so checkpoints saved there would hold an EMA one step behind
        the weights (and a run resumed from them would stay one EMA update behind)."""
        super().optimizer_step(*args, **kwargs)
        if self.ema is not None:
            self.ema.step(self.unet.parameters())

    # -------------------------------------------------------------- validation
    def _with_ema(self) -> bool:
        if self.ema is None:
            return False
        self.ema.store(self.unet.parameters())
        self.ema.copy_to(self.unet.parameters())
        return True

    def on_validation_epoch_start(self) -> None:
        self._ema_swapped = self._with_ema()

    def on_validation_epoch_end(self) -> None:
        if getattr(self, "_ema_swapped", False):
            self.ema.restore(self.unet.parameters())
            self._ema_swapped = False

    def validation_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        n = batch["image"].shape[0]
        generator = torch.Generator(device=self.device).manual_seed(batch_idx)
        loss = self.diffusion_loss(batch, generator=generator)
        self.log("val/loss", loss, batch_size=n, sync_dist=True, prog_bar=True)
        if batch_idx >= int(self.validation["batches"]):
            return
        images = self.sample(batch, seed=batch_idx)
        target = to_unit_range(batch["image"])
        output = to_unit_range(images)
        mask = (batch["mask"] > 0.5).float().expand_as(target)
        mse = ((output - target) ** 2 * mask).flatten(1).sum(1) / mask.flatten(1).sum(1).clamp_min(1)
        self.val_masked_psnr.update(-10.0 * torch.log10(mse.clamp_min(1e-10)))
        self.log("val/masked_psnr", self.val_masked_psnr, batch_size=n)
        if self.validation["ocr"] and ocr_available():
            self.val_ocr_cer.update(torch.tensor(self._ocr_cer(output, batch["mask"], batch["text"])))
            self.log("val/ocr_cer", self.val_ocr_cer, batch_size=n)

    def _ocr_cer(self, output: torch.Tensor, mask: torch.Tensor, texts: list[str]) -> float:
        predictions = []
        for image, m in zip(output, mask):
            array = (image.permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
            region = masked_region(array, m[0].cpu().numpy())
            predictions.append(ocr_line(Image.fromarray(region)))
        return cer(predictions, list(texts))

    @torch.no_grad()
    def sample(self, batch: Mapping[str, Any], seed: int = 0, steps: int | None = None,
               guidance_scale: float | None = None) -> torch.Tensor:
        """Inpaint the batch's masked regions with the validation sampler; (B, 3, R, R) in [-1, 1]."""
        scheduler = scheduler_from(self.noise_scheduler, self.validation["sampler"])
        generator = torch.Generator(device=self.device).manual_seed(seed)
        cond = self.condition(batch["glyph"])
        return sample_inpaint(
            self.unet, self.vae, scheduler, cond, batch["masked_image"], batch["mask"],
            num_inference_steps=int(steps or self.validation["steps"]),
            guidance_scale=float(guidance_scale if guidance_scale is not None else self.validation["guidance_scale"]),
            generator=generator,
        )

    @torch.no_grad()
    def log_images(self, batch: Mapping[str, Any], max_images: int = 4) -> dict[str, torch.Tensor]:
        """Panels: masked input | glyph | output | target, in [-1, 1]."""
        small = {k: (v[:max_images].to(self.device) if torch.is_tensor(v) else v[:max_images]) for k, v in batch.items()}
        swapped = self._with_ema() if self.training else False
        try:
            output = self.sample(small)
        finally:
            if swapped:
                self.ema.restore(self.unet.parameters())
        size = small["image"].shape[-2:]
        glyph = F.interpolate(small["glyph"].float(), size=(size[0], size[0] * small["glyph"].shape[-1] // small["glyph"].shape[-2]), mode="bilinear")
        return {"masked_input": small["masked_image"], "glyph": glyph.clamp(-1, 1), "output": output, "target": small["image"]}

    # -------------------------------------------------------------- optimizers
    def configure_optimizers(self) -> Any:
        params = [p for p in self.unet.parameters() if p.requires_grad]
        params += [p for p in self.conditioner.parameters() if p.requires_grad]
        return configure_optimizer(self.optimizer_factory, self.scheduler_factory, params,
                                   self.trainer.estimated_stepping_batches)

    # ------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store the EMA weights next to the state dict.

        A checkpoint taken during validation (e.g. on SIGTERM) would find the EMA weights
        swapped into the UNet: the training weights (held by the EMA's ``store``) go into the
        state dict instead.
        """
        if self.ema is not None:
            checkpoint["ema"] = self.ema.state_dict()
            stored = getattr(self.ema, "temp_stored_params", None)
            if getattr(self, "_ema_swapped", False) and stored is not None:
                state = checkpoint["state_dict"]
                for (name, param), value in zip(self.unet.named_parameters(), stored):
                    state[f"unet.{name}"] = value.to(device=param.device, dtype=param.dtype).clone()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.ema is not None and "ema" in checkpoint:
            self.ema.load_state_dict(checkpoint["ema"])
