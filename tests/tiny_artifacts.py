"""Tiny random model artifacts for the evaluation tests and the notebook tests (no training, no weights)."""

from __future__ import annotations

from pathlib import Path

import hydra
import torch

from tests.conftest import INPAINT_OVERRIDES, compose_train


def tiny_autoencoder(seed: int = 0):
    """A random ``AutoencoderKL`` with two 8/16-channel blocks (32-pixel samples)."""
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    return AutoencoderKL(block_out_channels=[8, 16], down_block_types=["DownEncoderBlock2D"] * 2,
                         up_block_types=["UpDecoderBlock2D"] * 2, norm_num_groups=4, layers_per_block=1,
                         latent_channels=4, sample_size=32)


def save_tiny_vae(folder: Path, export: bool = False) -> Path:
    """:func:`tiny_autoencoder` saved to ``folder``: a plain diffusers folder, or with
    ``export`` as ``export_autoencoder`` writes it (with ``manifest.json``)."""
    vae = tiny_autoencoder()
    if export:
        from anonymizer.models.export import export_autoencoder

        return export_autoencoder(vae, folder, scaling_factor=1.0, info={"note": "tiny random test autoencoder"})
    vae.save_pretrained(folder)
    return folder


def tiny_text_edit_export(tmp: Path) -> Path:
    """A tiny random text-edit export (no training) in ``tmp/export``: the unet_inpaint models at 32 pixels."""
    from anonymizer.data.glyphs import GlyphRenderer
    from anonymizer.models.export import export_text_edit

    cfg = compose_train(tmp, INPAINT_OVERRIDES, experiment="unet_inpaint")
    module = hydra.utils.instantiate(cfg.model)
    g = cfg.data.glyph
    glyph = GlyphRenderer(font_family=g.font_family, canvas=list(g.canvas), processor=dict(g.processor))
    config = {"resolution": 32, "crop_side": 32, "mask_margin": 2, "glyph": glyph.describe(),
              "prediction_type": "epsilon"}
    return export_text_edit(module.unet, module.vae, module.conditioner, module.noise_scheduler, glyph.processor,
                            tmp / "export", config)
