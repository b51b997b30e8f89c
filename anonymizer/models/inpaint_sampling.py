"""Latent inpainting with a 9-channel UNet: the shared core of validation and the pipeline.

Channel order of the UNet input (SD-2-inpainting layout): ``[noisy latents (4), mask (1),
masked-image latents (4)]``. Conventions follow diffusers' ``StableDiffusionInpaintPipeline``:
images in [-1, 1], ``masked_image = image * (mask < 0.5)``, the mask downsampled to the
latent resolution, latents multiplied by the VAE's ``scaling_factor``.

Precision: the scheduler works on float32 latents whatever the models' dtype (bf16/fp16
models get their inputs cast); noise is drawn per sample when a list of generators is given,
so a sample's result does not depend on its batch or its position in it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.utils.torch_utils import randn_tensor

Generators = torch.Generator | Sequence[torch.Generator] | None


def latent_mask(mask: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
    """The (B, 1, H, W) pixel mask resized (nearest) to the latents' spatial size."""
    return F.interpolate(mask.to(latents.dtype), size=latents.shape[-2:], mode="nearest")


@torch.no_grad()
def encode_masked_image(vae: AutoencoderKL, masked_image: torch.Tensor) -> torch.Tensor:
    """Scaled posterior-mode latents of the masked image (deterministic conditioning)."""
    return vae.encode(masked_image.to(vae.dtype)).latent_dist.mode() * vae.config.scaling_factor


def unet_input(noisy: torch.Tensor, mask_lat: torch.Tensor, masked_latents: torch.Tensor) -> torch.Tensor:
    """Concatenate in the documented order [noisy 4, mask 1, masked-image latents 4]."""
    return torch.cat([noisy, mask_lat, masked_latents], dim=1)


@torch.no_grad()
def sample_inpaint(
    unet: UNet2DConditionModel,
    vae: AutoencoderKL,
    scheduler,
    cond: torch.Tensor,
    masked_image: torch.Tensor,
    mask: torch.Tensor,
    num_inference_steps: int = 20,
    guidance_scale: float = 1.0,
    generator: Generators = None,
    uncond: torch.Tensor | None = None,
) -> torch.Tensor:
    """Draw images (B, 3, H, W) in [-1, 1] for the masked regions given glyph conditioning.

    ``uncond`` is the unconditional embedding for classifier-free guidance (zeros when
    None); guidance is applied when ``guidance_scale > 1``. ``generator``: one generator for
    the batch, or one per sample (results then independent of the batching).
    """
    if num_inference_steps < 1:
        raise ValueError(f"num_inference_steps must be >= 1, got {num_inference_steps}")
    if isinstance(generator, Sequence):
        generator = list(generator)
        if len(generator) != masked_image.shape[0]:
            raise ValueError(f"got {len(generator)} generators for {masked_image.shape[0]} samples")
    device = masked_image.device
    masked_latents = encode_masked_image(vae, masked_image).to(unet.dtype)
    mask_lat = latent_mask(mask, masked_latents)
    latents = randn_tensor(tuple(masked_latents.shape), generator=generator, device=device, dtype=torch.float32)
    scheduler.set_timesteps(num_inference_steps, device=device)
    latents = latents * scheduler.init_noise_sigma
    use_cfg = guidance_scale > 1.0
    copies = 2 if use_cfg else 1
    if use_cfg:
        uncond = torch.zeros_like(cond) if uncond is None else uncond.expand_as(cond)
        cond_in = torch.cat([uncond, cond])
    else:
        cond_in = cond
    cond_in = cond_in.to(unet.dtype)
    mask_in, masked_in = torch.cat([mask_lat] * copies), torch.cat([masked_latents] * copies)
    for t in scheduler.timesteps:
        model_latents = scheduler.scale_model_input(torch.cat([latents] * copies), t)
        x = unet_input(model_latents.to(unet.dtype), mask_in, masked_in)
        pred = unet(x, t, encoder_hidden_states=cond_in).sample.float()
        if use_cfg:
            pred_uncond, pred_cond = pred.chunk(2)
            pred = pred_uncond + guidance_scale * (pred_cond - pred_uncond)
        latents = scheduler.step(pred, t, latents, generator=generator).prev_sample
    images = vae.decode((latents / vae.config.scaling_factor).to(vae.dtype)).sample
    return images.float().clamp(-1, 1)
