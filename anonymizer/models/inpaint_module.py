"""LightningModule for the 9-channel inpainting UNet with TrOCR glyph conditioning.

Batches: ``image`` (B, 3, R, R) target crop in [-1, 1]; ``mask`` (B, 1, R, R) with 1 where
text is redrawn; ``masked_image`` = ``image * (mask < 0.5)``; ``glyph`` (B, 3, S, S)
TrOCR-processed glyph image of the target text; ``text`` list of target strings.

The VAE is frozen; latents are multiplied by its ``scaling_factor``. The conditioning is
the TrOCR encoder's last hidden state, projected to the UNet's ``cross_attention_dim``.
With probability ``cond_dropout`` a sample's conditioning is replaced by zeros (the
unconditional embedding used for classifier-free guidance at sampling time).

Noise is added in float32 whatever the autocast dtype (in bf16, ``alphas_cumprod`` near 1
rounds to 1 and the lowest timesteps would get no noise). The EMA averages every trained
weight: the UNet, the glyph projection and, when it trains, the glyph encoder.

Validation samples the first ``validation.batches`` batches twice, with each region's own
glyph and with another sample's glyph (the batch's glyphs rolled by one), and reads both with
Tesseract against the region's own text: ``val/ocr_cer`` and ``val/ocr_cer_shuffled``;
``val/glyph_effect`` is their difference (0 for a model that ignores its glyph), with the
sentence accuracies ``val/ocr_acc`` and ``val/ocr_acc_shuffled`` beside them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, UNet2DConditionModel
from PIL import Image
from torch import nn
from torchmetrics import MeanMetric

from anonymizer.metrics.legibility import masked_region, ocr_available, ocr_line
from anonymizer.metrics.text_accuracy import cer, sentence_accuracy
from anonymizer.models.diffusion_utils import diffusion_target, make_ema, min_snr_weights, scheduler_from
from anonymizer.models.glyph_encoder import GlyphConditioner
from anonymizer.models.inpaint_sampling import encode_masked_image, latent_mask, sample_inpaint, unet_input
from anonymizer.models.optim import configure_optimizer
from anonymizer.models.vae_module import to_unit_range

PREDICTION_TYPES = ("epsilon", "v_prediction")
EMA_NAMES_KEY = "ema_parameter_names"

log = logging.getLogger(__name__)


def ema_named_parameters(unet: nn.Module, conditioner: GlyphConditioner) -> list[tuple[str, nn.Parameter]]:
    """What the EMA averages, with state-dict names, in order: every UNet parameter, then the
    conditioner's trained ones (the projection; the encoder too when it trains)."""
    return [(f"unet.{n}", p) for n, p in unet.named_parameters()] + [
        (f"conditioner.{n}", p) for n, p in conditioner.named_trained_parameters()
    ]


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
        self.validation = {"sampler": "ddim", "steps": 20, "guidance_scale": 1.0, "batches": 1, "ocr": True,
                           **(validation or {})}
        if gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()
        self.ema = make_ema(self.ema_parameters(), decay=ema_decay) if ema_decay is not None else None
        self._ema_swapped = False
        self.val_masked_psnr = MeanMetric()
        self.val_ocr_cer = MeanMetric()
        self.val_ocr_cer_shuffled = MeanMetric()
        self.val_ocr_acc = MeanMetric()
        self.val_ocr_acc_shuffled = MeanMetric()

    # ------------------------------------------------------------------ helpers
    def train(self, mode: bool = True) -> InpaintModule:
        """Switch modes; the VAE always stays in eval mode."""
        super().train(mode)
        self.vae.eval()
        return self

    @property
    def scaling_factor(self) -> float:
        return float(self.vae.config.scaling_factor)

    @property
    def downsampling(self) -> dict[str, int]:
        """How much the VAE (pixels -> latents) and the UNet (latents -> its deepest level) shrink
        the input side: the resolution must be a multiple of their product."""
        return {"vae": 2 ** (len(self.vae.config.block_out_channels) - 1),
                "unet": 2 ** (len(self.unet.config.block_out_channels) - 1)}

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
                       dropout: float = 0.0, timesteps: torch.Tensor | None = None) -> torch.Tensor:
        """Min-SNR-weighted MSE (mean over C, h, w per sample, then over the batch).

        ``timesteps`` (B,): fixed timesteps instead of uniform draws. Latents, noise, the noisy
        latents and the target are float32 (see the module docstring)."""
        images = batch["image"]
        n = images.shape[0]
        latents = self.encode_latents(images, generator).float()
        masked_latents = encode_masked_image(self.vae, batch["masked_image"])
        mask_lat = latent_mask(batch["mask"], latents)
        noise = torch.randn(latents.shape, generator=generator, device=latents.device, dtype=torch.float32)
        steps = self.noise_scheduler.config.num_train_timesteps
        t = (torch.randint(0, steps, (n,), generator=generator, device=latents.device)
             if timesteps is None else timesteps)
        noisy = self.noise_scheduler.add_noise(latents, noise, t)
        cond = self.condition(batch["glyph"], self.drop_mask(n, dropout, generator))
        pred = self.unet(
            unet_input(noisy, mask_lat, masked_latents.to(noisy.dtype)), t, encoder_hidden_states=cond
        ).sample
        target = diffusion_target(self.noise_scheduler, latents, noise, t, self.prediction_type)
        per_sample = F.mse_loss(pred.float(), target, reduction="none").flatten(1).mean(dim=1)
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
            self.ema.step(self.ema_parameters())

    # -------------------------------------------------------------------- EMA
    def ema_parameters(self) -> list[nn.Parameter]:
        """The parameters the EMA averages (:func:`ema_named_parameters`)."""
        return [p for _, p in ema_named_parameters(self.unet, self.conditioner)]

    def _swap_in_ema(self) -> bool:
        if self.ema is None or self._ema_swapped:
            return False
        self.ema.store(self.ema_parameters())
        self.ema.copy_to(self.ema_parameters())
        self._ema_swapped = True
        return True

    def _swap_out_ema(self) -> None:
        if self._ema_swapped:
            self.ema.restore(self.ema_parameters())
            self._ema_swapped = False

    @contextlib.contextmanager
    def ema_weights(self) -> Iterator[None]:
        """The EMA weights in the UNet and the conditioner inside the block (a no-op without EMA
        or when they are in already, e.g. during validation)."""
        swapped = self._swap_in_ema()
        try:
            yield
        finally:
            if swapped:
                self._swap_out_ema()

    # -------------------------------------------------------------- validation
    def on_validation_epoch_start(self) -> None:
        self._swap_in_ema()

    def on_validation_epoch_end(self) -> None:
        self._swap_out_ema()
        if self.validation["ocr"] and self.val_ocr_cer_shuffled.update_count:
            effect = self.val_ocr_cer_shuffled.compute() - self.val_ocr_cer.compute()
            self.log("val/glyph_effect", effect, sync_dist=False)

    def validation_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        n = batch["image"].shape[0]
        generator = torch.Generator(device=self.device).manual_seed(batch_idx)
        loss = self.diffusion_loss(batch, generator=generator)
        self.log("val/loss", loss, batch_size=n, sync_dist=True, prog_bar=True)
        if batch_idx >= int(self.validation["batches"]):
            return
        output = to_unit_range(self.sample(batch, seed=batch_idx))
        target = to_unit_range(batch["image"])
        mask = (batch["mask"] > 0.5).float().expand_as(target)
        mse = ((output - target) ** 2 * mask).flatten(1).sum(1) / mask.flatten(1).sum(1).clamp_min(1)
        self.val_masked_psnr.update(-10.0 * torch.log10(mse.clamp_min(1e-10)))
        self.log("val/masked_psnr", self.val_masked_psnr, batch_size=n)
        if not (self.validation["ocr"] and ocr_available()):
            return
        texts = list(batch["text"])
        readings = self.read_regions(output, batch["mask"])
        self.val_ocr_cer.update(torch.tensor(cer(readings, texts)))
        self.val_ocr_acc.update(torch.tensor(sentence_accuracy(readings, texts)))
        self.log("val/ocr_cer", self.val_ocr_cer, batch_size=n)
        self.log("val/ocr_acc", self.val_ocr_acc, batch_size=n)
        if n < 2:
            return
        shuffled = to_unit_range(self.sample({**batch, "glyph": batch["glyph"].roll(1, dims=0)}, seed=batch_idx))
        readings = self.read_regions(shuffled, batch["mask"])
        self.val_ocr_cer_shuffled.update(torch.tensor(cer(readings, texts)))
        self.val_ocr_acc_shuffled.update(torch.tensor(sentence_accuracy(readings, texts)))
        self.log("val/ocr_cer_shuffled", self.val_ocr_cer_shuffled, batch_size=n)
        self.log("val/ocr_acc_shuffled", self.val_ocr_acc_shuffled, batch_size=n)

    @staticmethod
    def read_regions(output: torch.Tensor, mask: torch.Tensor) -> list[str]:
        """Tesseract's one-line reading of each image's masked region (images in [0, 1])."""
        readings = []
        for image, m in zip(output, mask):
            array = (image.permute(1, 2, 0).float().cpu().numpy() * 255).round().astype(np.uint8)
            region = masked_region(array, m[0].cpu().numpy())
            readings.append(ocr_line(Image.fromarray(region)))
        return readings

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
        small = {k: (v[:max_images].to(self.device) if torch.is_tensor(v) else v[:max_images])
                 for k, v in batch.items()}
        with self.ema_weights():
            output = self.sample(small)
        size = small["image"].shape[-2:]
        glyph_width = size[0] * small["glyph"].shape[-1] // small["glyph"].shape[-2]
        glyph = F.interpolate(small["glyph"].float(), size=(size[0], glyph_width), mode="bilinear")
        return {"masked_input": small["masked_image"], "glyph": glyph.clamp(-1, 1), "output": output,
                "target": small["image"]}

    # -------------------------------------------------------------- optimizers
    def configure_optimizers(self) -> Any:
        params = [p for p in self.unet.parameters() if p.requires_grad]
        params += [p for p in self.conditioner.parameters() if p.requires_grad]
        return configure_optimizer(self.optimizer_factory, self.scheduler_factory, params,
                                   self.trainer.estimated_stepping_batches)

    # ------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store the EMA weights (and their parameter names) next to the state dict.

        A checkpoint taken during validation (e.g. on SIGTERM) would find the EMA weights
        swapped in: the training weights (held by the EMA's ``store``) go into the state
        dict instead.
        """
        if self.ema is None:
            return
        named = ema_named_parameters(self.unet, self.conditioner)
        checkpoint["ema"] = self.ema.state_dict()
        checkpoint[EMA_NAMES_KEY] = [name for name, _ in named]
        stored = getattr(self.ema, "temp_stored_params", None)
        if self._ema_swapped and stored is not None:
            state = checkpoint["state_dict"]
            for (name, param), value in zip(named, stored):
                state[name] = value.to(device=param.device, dtype=param.dtype).clone()

    def ema_state(self, checkpoint: Mapping[str, Any]) -> dict[str, Any] | None:
        """The checkpoint's EMA state matched to this module's EMA parameters by name.

        Parameters the checkpoint's EMA did not average (a checkpoint from before the EMA
        covered the glyph projection, or one trained with a frozen encoder) start from the
        checkpoint's weights, with a warning.
        """
        state = checkpoint.get("ema")
        if self.ema is None or state is None:
            return None
        named = ema_named_parameters(self.unet, self.conditioner)
        shadow = list(state["shadow_params"])
        saved = checkpoint.get(EMA_NAMES_KEY) or [n for n, _ in named if n.startswith("unet.")][: len(shadow)]
        if len(saved) != len(shadow):
            raise ValueError(f"checkpoint EMA: {len(shadow)} averaged tensors but {len(saved)} names")
        by_name = dict(zip(saved, shadow))
        missing = [name for name, _ in named if name not in by_name]
        if missing:
            log.warning("The checkpoint's EMA does not cover %d parameter(s) (e.g. %s): their average starts "
                        "from the checkpoint's weights", len(missing), missing[:3])
        weights = checkpoint["state_dict"]
        return {**state, "shadow_params": [
            by_name[name] if name in by_name else weights.get(name, param).detach().clone() for name, param in named
        ]}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = self.ema_state(checkpoint)
        if state is not None:
            self.ema.load_state_dict(state)
