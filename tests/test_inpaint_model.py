"""The inpainting LightningModule: channel order, mask convention, scaling, CFG dropout, fit, export."""

from __future__ import annotations

import json
from pathlib import Path

import hydra
import pytest
import torch
from omegaconf import open_dict

from anonymizer.models.inpaint_sampling import latent_mask
from anonymizer.train import train
from tests.conftest import INPAINT_OVERRIDES, TINY_OVERRIDES, compose_train


def make_module(tmp_path: Path, overrides: list[str] | None = None, base: list[str] | None = None):
    cfg = compose_train(tmp_path, (INPAINT_OVERRIDES if base is None else base) + (overrides or []), experiment="unet_inpaint")
    torch.manual_seed(0)
    return hydra.utils.instantiate(cfg.model), cfg


def fake_batch(n: int = 2, size: int = 32) -> dict:
    g = torch.Generator().manual_seed(0)
    image = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    mask = torch.zeros(n, 1, size, size)
    mask[:, :, 8:20, 4:28] = 1
    return {"image": image, "mask": mask, "masked_image": image * (mask < 0.5),
            "glyph": torch.rand(n, 3, 32, 32, generator=g) * 2 - 1, "text": ["abc", "de"][:n]}


def capture_unet_input(module) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []
    module.unet.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    return seen


def test_channel_order_mask_and_scaling(tmp_path: Path) -> None:
    module, _ = make_module(tmp_path)
    module.vae.register_to_config(scaling_factor=1.0)
    batch = fake_batch()
    seen = capture_unet_input(module)
    module.diffusion_loss(batch, generator=torch.Generator().manual_seed(1))
    x = seen[-1]
    assert x.shape[1] == 9
    masked_latents = module.vae.encode(batch["masked_image"]).latent_dist.mode()
    assert torch.allclose(x[:, 5:9], masked_latents, atol=1e-6)  # [noisy 4, mask 1, masked latents 4]
    assert torch.equal(x[:, 4:5], latent_mask(batch["mask"], masked_latents))
    assert set(x[:, 4].unique().tolist()) == {0.0, 1.0}
    module.vae.register_to_config(scaling_factor=2.0)
    module.diffusion_loss(batch, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(seen[-1][:, 5:9], 2.0 * masked_latents, atol=1e-5)  # scaling factor applied


def test_projection_and_bad_unet(tmp_path: Path) -> None:
    module, cfg = make_module(tmp_path)
    assert module.conditioner.projection.in_features == 32
    assert module.conditioner.projection.out_features == module.unet.config.cross_attention_dim == 64
    cond = module.condition(fake_batch()["glyph"])
    assert cond.shape == (2, 1 + (32 // 16) ** 2, 64)
    with open_dict(cfg):
        cfg.model.unet.config.in_channels = 4
    with pytest.raises(Exception, match="9 input channels"):
        hydra.utils.instantiate(cfg.model)


def test_cfg_dropout_rate_and_zero_conditioning(tmp_path: Path) -> None:
    module, _ = make_module(tmp_path, ["model.cond_dropout=0.3"])
    drop = module.drop_mask(20000, module.cond_dropout, torch.Generator().manual_seed(0))
    assert abs(drop.float().mean().item() - 0.3) < 0.02
    assert module.drop_mask(5, 0.0) is None
    glyph = fake_batch()["glyph"]
    cond = module.condition(glyph, torch.tensor([True, False]))
    assert torch.equal(cond[0], torch.zeros_like(cond[0]))
    assert torch.allclose(cond[1], module.condition(glyph)[1])


@pytest.mark.parametrize("overrides", [["model.prediction_type=v_prediction", "model.min_snr_gamma=5.0"],
                                       ["model.prediction_type=epsilon", "model.gradient_checkpointing=true"]])
def test_loss_variants_backpropagate(tmp_path: Path, overrides: list[str]) -> None:
    module, _ = make_module(tmp_path, overrides)
    loss = module.diffusion_loss(fake_batch(), dropout=0.5)
    loss.backward()
    assert torch.isfinite(loss)
    assert module.unet.conv_in.weight.grad.abs().sum() > 0
    assert module.conditioner.projection.weight.grad is not None
    assert all(p.grad is None for p in module.vae.parameters())
    assert all(p.grad is None for p in module.conditioner.encoder.parameters())  # frozen by default


def test_bad_module_arguments(tmp_path: Path) -> None:
    for override, message in [("model.prediction_type=sample", "prediction_type"), ("model.cond_dropout=1.5", "cond_dropout"),
                              ("model.ema_decay=1.0", "ema_decay"), ("model.min_snr_gamma=-1", "min_snr_gamma")]:
        with pytest.raises(Exception, match=message):
            make_module(tmp_path, [override])


def test_fit_exports_a_loadable_text_edit_folder(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, INPAINT_OVERRIDES, experiment="unet_inpaint")
    summary = train(cfg)
    assert summary["global_step"] == 4
    for key in ("val/loss", "val/masked_psnr"):
        assert key in summary["metrics"]
    export = Path(summary["export_dir"])
    for part in ("unet/config.json", "vae/config.json", "scheduler/scheduler_config.json",
                 "text_encoder/conditioner.json", "text_encoder/encoder/config.json",
                 "text_encoder/processor/preprocessor_config.json", "text_edit_config.json"):
        assert (export / part).is_file(), part
    config = json.loads((export / "text_edit_config.json").read_text())
    assert config["resolution"] == 32 and config["glyph"]["canvas"] == [32, 256]
    assert config["conditioning"] == {"encoder_hidden_size": 32, "cross_attention_dim": 64,
                                      "projection": "linear", "unconditional": "zeros"}
    assert config["ema"] is True and config["source_checkpoint"] == summary["best_checkpoint"]
    images = sorted(p.name for p in (tmp_path / "images").iterdir())
    assert any(n.startswith("val_") for n in images)

    # the exported UNet holds the best checkpoint's EMA weights
    from anonymizer.pipeline.text_edit import TextEditPipeline

    pipe = TextEditPipeline.from_pretrained(export)
    checkpoint = torch.load(summary["best_checkpoint"], map_location="cpu", weights_only=False)
    module = hydra.utils.instantiate(cfg.model)
    module.load_state_dict(checkpoint["state_dict"])
    module.ema.load_state_dict(checkpoint["ema"])
    module.ema.copy_to(module.unet.parameters())
    for name, param in module.unet.named_parameters():
        assert torch.equal(param, dict(pipe.unet.named_parameters())[name]), name
    glyph = pipe.glyph.pixel_values(["Anna"])
    assert torch.equal(module.conditioner(glyph), pipe.conditioner(glyph))


def test_inpaint_uses_an_exported_vae(tmp_path: Path) -> None:
    """The VAE export of vae_kl plugs into the inpainting model through from_pretrained."""
    vae_summary = train(compose_train(tmp_path / "vae", TINY_OVERRIDES + ["debug=fdr"]))
    export = vae_summary["export_dir"]
    base = [o for o in INPAINT_OVERRIDES if not o.startswith("model.vae.")]
    module, _ = make_module(tmp_path / "inpaint", ["model/inpaint_vae=export", f"model.vae.pretrained={export}"], base)
    saved = json.loads((Path(export) / "export_info.json").read_text())["scaling_factor"]
    assert module.scaling_factor == pytest.approx(saved)
    assert torch.isfinite(module.diffusion_loss(fake_batch()))


def test_pretrained_folders_load_through_the_user_configs(tmp_path: Path) -> None:
    """The configs a GPU user points at hub ids (model/unet=sd2, glyph_encoder=trocr_base) load
    local folders of the same layout through the same from_pretrained code."""
    from transformers import (TrOCRConfig, ViTConfig, ViTImageProcessor, VisionEncoderDecoderConfig,
                              VisionEncoderDecoderModel)

    module, _ = make_module(tmp_path)
    repo = tmp_path / "sd2-like"
    module.unet.save_pretrained(repo / "unet")
    enc = ViTConfig(image_size=32, patch_size=16, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=64)
    dec = TrOCRConfig(d_model=32, decoder_layers=1, decoder_attention_heads=2, decoder_ffn_dim=64, vocab_size=50)
    trocr = tmp_path / "trocr-like"
    VisionEncoderDecoderModel(VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)).save_pretrained(trocr)
    ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3).save_pretrained(trocr)
    loaded, cfg = make_module(tmp_path, ["model/unet=sd2", f"model.unet.pretrained={repo}",
                                         "model/glyph_encoder=trocr_base", f"model.glyph_encoder.pretrained={trocr}",
                                         f"data.glyph.processor.pretrained={trocr}"],
                              base=[o for o in INPAINT_OVERRIDES if not o.startswith(("model.unet.", "model.glyph_encoder."))])
    for name, param in module.unet.named_parameters():
        assert torch.equal(param, dict(loaded.unet.named_parameters())[name])
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup()
    batch = next(iter(datamodule.val_dataloader()))
    assert batch["glyph"].shape[-1] == 32
    assert torch.isfinite(loaded.diffusion_loss(batch))
