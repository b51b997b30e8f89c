"""The inpainting LightningModule: channel order, mask convention, scaling, CFG dropout, fit, export."""

from __future__ import annotations

import json
from pathlib import Path

import hydra
import pytest
import torch
from omegaconf import open_dict

from anonymizer.metrics.legibility import ocr_available
from anonymizer.models.inpaint_sampling import latent_mask
from anonymizer.train import train
from tests.conftest import INPAINT_OVERRIDES, TINY_OVERRIDES, compose_train


def make_module(tmp_path: Path, overrides: list[str] | None = None, base: list[str] | None = None):
    cfg = compose_train(
        tmp_path, (INPAINT_OVERRIDES if base is None else base) + (overrides or []), experiment="unet_inpaint"
    )
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
    for override, message in [("model.prediction_type=sample", "prediction_type"),
                              ("model.cond_dropout=1.5", "cond_dropout"),
                              ("model.ema_decay=1.0", "ema_decay"), ("model.min_snr_gamma=-1", "min_snr_gamma")]:
        with pytest.raises(Exception, match=message):
            make_module(tmp_path, [override])


def test_fit_exports_a_loadable_text_edit_folder(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, INPAINT_OVERRIDES, experiment="unet_inpaint")
    summary = train(cfg)
    assert summary["global_step"] == 4
    for key in ("val/loss", "val/masked_psnr"):
        assert key in summary["metrics"]
    if ocr_available():
        metrics = summary["metrics"]
        effect = metrics["val/ocr_cer_shuffled"]["last"] - metrics["val/ocr_cer"]["last"]
        assert metrics["val/glyph_effect"]["last"] == pytest.approx(effect, abs=1e-6)
        assert {"val/ocr_acc", "val/ocr_acc_shuffled"} <= set(metrics)
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

    # the exported UNet and glyph projection hold the best checkpoint's EMA weights
    from anonymizer.pipeline.text_edit import TextEditPipeline

    pipe = TextEditPipeline.from_pretrained(export)
    checkpoint = torch.load(summary["best_checkpoint"], map_location="cpu", weights_only=False)
    module = hydra.utils.instantiate(cfg.model)
    module.load_state_dict(checkpoint["state_dict"])
    raw_projection = module.conditioner.projection.weight.detach().clone()
    module.ema.load_state_dict(checkpoint["ema"])
    module.ema.copy_to(module.ema_parameters())
    for name, param in module.unet.named_parameters():
        assert torch.equal(param, dict(pipe.unet.named_parameters())[name]), name
    assert torch.equal(pipe.conditioner.projection.weight, module.conditioner.projection.weight)
    assert not torch.equal(pipe.conditioner.projection.weight, raw_projection)  # averaged, not the raw weights
    glyph = pipe.glyph.pixel_values(["Anna"])
    assert torch.equal(module.conditioner(glyph), pipe.conditioner(glyph))
    assert config["text_height"][0] < config["text_height"][1]  # the trained range, for the pipeline


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
    from transformers import (
        TrOCRConfig,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )

    module, _ = make_module(tmp_path)
    repo = tmp_path / "sd2-like"
    module.unet.save_pretrained(repo / "unet")
    enc = ViTConfig(image_size=32, patch_size=16, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=64)
    dec = TrOCRConfig(d_model=32, decoder_layers=1, decoder_attention_heads=2, decoder_ffn_dim=64, vocab_size=50)
    trocr = tmp_path / "trocr-like"
    VisionEncoderDecoderModel(VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)).save_pretrained(trocr)
    processor = ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    processor.save_pretrained(trocr)
    base = [o for o in INPAINT_OVERRIDES if not o.startswith(("model.unet.", "model.glyph_encoder."))]
    loaded, cfg = make_module(tmp_path, ["model/unet=sd2", f"model.unet.pretrained={repo}",
                                         "model/glyph_encoder=trocr_base", f"model.glyph_encoder.pretrained={trocr}",
                                         f"data.glyph.processor.pretrained={trocr}"],
                              base=base)
    for name, param in module.unet.named_parameters():
        assert torch.equal(param, dict(loaded.unet.named_parameters())[name])
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup()
    batch = next(iter(datamodule.val_dataloader()))
    assert batch["glyph"].shape[-1] == 32
    assert torch.isfinite(loaded.diffusion_loss(batch))


def test_ddim_returns_the_latents_from_a_perfect_noise_prediction(tmp_path: Path) -> None:
    """With the configured schedule (clip_sample false), DDIM fed the true noise at every step
    lands on the clean latents, also where they lie outside [-1, 1]."""
    from anonymizer.models.diffusion_utils import scheduler_from

    module, _ = make_module(tmp_path)
    sampler = scheduler_from(module.noise_scheduler, "ddim")
    g = torch.Generator().manual_seed(0)
    clean = torch.randn(4, 4, 8, 8, generator=g) + 0.5
    sampler.set_timesteps(20)
    latents = torch.randn(clean.shape, generator=g) * sampler.init_noise_sigma
    for t in sampler.timesteps:
        acp = sampler.alphas_cumprod[t]
        noise = (latents - acp.sqrt() * clean) / (1 - acp).sqrt()
        latents = sampler.step(noise, t, latents).prev_sample
    assert (latents - clean).pow(2).mean().sqrt() < 1e-3


def test_noise_is_added_in_float32_under_bf16_autocast(tmp_path: Path) -> None:
    """At t=0 the noisy latents are sqrt(a0) x0 + sqrt(1 - a0) eps with sqrt(1 - a0) ~ 0.03: in bf16,
    a0 rounds to 1 and the noise vanished."""
    module, _ = make_module(tmp_path)
    batch = fake_batch()
    seen = capture_unet_input(module)
    acp = module.noise_scheduler.alphas_cumprod[0]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        module.diffusion_loss(
            batch, generator=torch.Generator().manual_seed(3), timesteps=torch.zeros(2, dtype=torch.long)
        )
        g = torch.Generator().manual_seed(3)
        latents = module.encode_latents(batch["image"], g).float()
    noise = torch.randn(latents.shape, generator=g)
    noisy = seen[-1][:, :4]
    assert noisy.dtype == torch.float32
    torch.testing.assert_close(noisy, acp.sqrt() * latents + (1 - acp).sqrt() * noise, atol=1e-5, rtol=1e-5)
    assert (noisy - latents).abs().max() > 0.02  # the noise is there


def test_ema_averages_the_glyph_projection_and_a_trained_encoder(tmp_path: Path) -> None:
    module, _ = make_module(tmp_path)
    n_unet, n_projection = len(list(module.unet.parameters())), len(list(module.conditioner.projection.parameters()))
    assert len(module.ema.shadow_params) == n_unet + n_projection
    trained, _ = make_module(tmp_path, ["model.encoder_trainable=true"])
    assert len(trained.ema.shadow_params) == n_unet + len(list(trained.conditioner.parameters()))
    # validation (and the image panels) see the averaged projection; training gets its weights back
    raw = module.conditioner.projection.weight.detach().clone()
    module.ema.step(module.ema_parameters())  # the first update copies the weights
    with torch.no_grad():
        module.conditioner.projection.weight.add_(1.0)
    stepped = module.conditioner.projection.weight.detach().clone()
    module.ema.step(module.ema_parameters())
    averaged = module.ema.shadow_params[n_unet].clone()
    assert not torch.equal(averaged, stepped) and not torch.equal(averaged, raw)
    module.on_validation_epoch_start()
    assert torch.equal(module.conditioner.projection.weight, averaged)
    module.on_validation_epoch_end()
    assert torch.equal(module.conditioner.projection.weight, stepped)


def test_a_checkpoint_whose_ema_covered_the_unet_only_still_loads(tmp_path: Path, caplog) -> None:
    module, _ = make_module(tmp_path)
    n_unet = len(list(module.unet.parameters()))
    shadow = [p + 1 for p in module.ema.shadow_params[:n_unet]]
    old = {"state_dict": module.state_dict(), "ema": {**module.ema.state_dict(), "shadow_params": shadow}}
    fresh, _ = make_module(tmp_path)
    with caplog.at_level("WARNING"):
        fresh.on_load_checkpoint(old)
    assert "does not cover" in caplog.text
    assert len(fresh.ema.shadow_params) == len(module.ema.shadow_params)
    assert torch.equal(fresh.ema.shadow_params[0], old["ema"]["shadow_params"][0])
    assert torch.equal(fresh.ema.shadow_params[n_unet], module.conditioner.projection.weight)  # starts from the weights


def test_training_image_panels_use_the_ema_weights(tmp_path: Path) -> None:
    """The image logger switches to eval mode before calling log_images: the EMA swap must not depend on it."""
    module, _ = make_module(tmp_path)
    module.train()
    for shadow in module.ema.shadow_params:
        shadow.add_(0.5)
    expected = module.ema.shadow_params[0].clone()
    raw = module.unet.conv_in.weight.detach().clone()
    used = []
    sample = module.sample
    module.sample = lambda batch, **kw: (
        used.append(module.unet.conv_in.weight.detach().clone()), sample(batch, **kw)
    )[1]
    module.eval()  # as ImageLogger._log does
    panels = module.log_images(fake_batch(), max_images=2)
    assert torch.equal(used[-1], expected) and panels["output"].shape == (2, 3, 32, 32)
    assert torch.equal(module.unet.conv_in.weight, raw)  # restored


def test_resolution_must_suit_the_downsampling(tmp_path: Path) -> None:
    from anonymizer.training.config_checks import ConfigError

    cfg = compose_train(
        tmp_path, INPAINT_OVERRIDES + ["data.resolution=36", "data.crop_side=36"], experiment="unet_inpaint"
    )
    with pytest.raises(
        ConfigError, match=r"data.resolution=36 must be a multiple of 8 = 4 \(vae\) x 2 \(unet\).*32 or 40"
    ):
        train(cfg)


def text_image(text: str, size: tuple[int, int] = (128, 48)) -> torch.Tensor:
    """``text`` in large black digits on white, (3, H, W) in [-1, 1]."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    from anonymizer.data.glyphs import GlyphRenderer

    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((8, 8), text, fill="black", font=ImageFont.truetype(GlyphRenderer().font_path, 28))
    return torch.from_numpy(np.asarray(image, np.float32) / 127.5 - 1).permute(2, 0, 1)


@pytest.mark.skipif(not ocr_available(), reason="needs tesseract")
def test_glyph_effect_separates_a_model_that_writes_its_glyph_from_one_that_ignores_it(tmp_path: Path) -> None:
    texts = ["4721", "9036", "5548"]
    images = torch.stack([text_image(t) for t in texts])
    mask = torch.zeros(3, 1, 48, 128)
    mask[:, :, 4:44, 4:100] = 1
    glyphs = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    batch = {"image": images, "mask": mask, "masked_image": images * (mask < 0.5), "glyph": glyphs, "text": texts}

    def writes_its_glyph(b, seed=0, **kwargs):
        return torch.stack([images[next(i for i in range(3) if torch.equal(g, glyphs[i]))] for g in b["glyph"]])

    def ignores_it(b, seed=0, **kwargs):
        return images[[1, 2, 0]]

    # (sampler, its CER with the batch's own glyphs, the least CER with the glyphs shuffled)
    for sample, own, shuffled in ((writes_its_glyph, 0.0, 0.7), (ignores_it, 0.7, 0.7)):
        module, _ = make_module(tmp_path)
        module.sample = sample
        module.validation_step(batch, 0)
        cer, cer_shuffled = float(module.val_ocr_cer.compute()), float(module.val_ocr_cer_shuffled.compute())
        if own == 0.0:  # reads its own text where it wrote it, the other texts with the other glyphs
            assert cer <= 0.1 and cer_shuffled >= shuffled and float(module.val_ocr_acc.compute()) >= 2 / 3
            assert float(module.val_ocr_acc_shuffled.compute()) == 0.0
        else:  # the same wrong output whatever the glyph: no effect
            assert cer >= own and cer == cer_shuffled >= shuffled
