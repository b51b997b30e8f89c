"""The VAE loss: closed-form KL, reductions, weights, and gradients reaching the encoder."""

from __future__ import annotations

import math

import pytest
import torch
from diffusers import AutoencoderKL

from anonymizer.metrics.perceptual import build_lpips
from anonymizer.models.losses import VAELoss, gaussian_kl


def tiny_vae() -> AutoencoderKL:
    torch.manual_seed(0)
    return AutoencoderKL(
        block_out_channels=(8, 16),
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=32,
    )


def test_kl_matches_closed_form_for_known_values() -> None:
    mean = torch.full((2, 4, 3, 3), 1.0)
    logvar = torch.full((2, 4, 3, 3), math.log(2.0))
    # per element: 0.5 * (1 + 2 - 1 - ln 2)
    per_element = 0.5 * (1.0 + 2.0 - 1.0 - math.log(2.0))
    assert gaussian_kl(mean, logvar, "mean").item() == pytest.approx(per_element, rel=1e-6)
    assert gaussian_kl(mean, logvar, "sum").item() == pytest.approx(per_element * 4 * 3 * 3, rel=1e-6)
    assert gaussian_kl(torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 2, 2)).item() == 0.0


def test_kl_matches_torch_distributions() -> None:
    torch.manual_seed(1)
    mean, logvar = torch.randn(3, 4, 5, 5), torch.randn(3, 4, 5, 5)
    q = torch.distributions.Normal(mean, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(mean))
    expected = torch.distributions.kl_divergence(q, p)
    assert torch.allclose(gaussian_kl(mean, logvar, "mean"), expected.mean(), atol=1e-5)
    assert torch.allclose(gaussian_kl(mean, logvar, "sum"), expected.flatten(1).sum(1).mean(), atol=1e-4)


def test_bad_loss_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="kl_reduction"):
        gaussian_kl(torch.zeros(1), torch.zeros(1), "median")
    with pytest.raises(ValueError, match="rec_kind"):
        VAELoss(None, rec_kind="huber", perceptual_weight=0.0)
    with pytest.raises(ValueError, match="kl_weight"):
        VAELoss(None, kl_weight=-1.0, perceptual_weight=0.0)
    with pytest.raises(ValueError, match="kl_weight"):
        VAELoss(None, kl_weight=float("nan"), perceptual_weight=0.0)
    with pytest.raises(ValueError, match="perceptual network"):
        VAELoss(None, perceptual_weight=0.1)


def test_kl_gradient_reaches_the_encoder() -> None:
    vae = tiny_vae()
    loss_fn = VAELoss(None, kl_weight=1.0, perceptual_weight=0.0)
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    posterior = vae.encode(images).latent_dist
    kl_only = gaussian_kl(posterior.mean, posterior.logvar)
    kl_only.backward()
    encoder_grads = [p.grad for p in vae.encoder.parameters() if p.grad is not None]
    assert encoder_grads and sum(g.abs().sum().item() for g in encoder_grads) > 0
    assert all(p.grad is None for p in vae.decoder.parameters())
    vae.zero_grad(set_to_none=True)
    posterior = vae.encode(images).latent_dist
    terms = loss_fn(images, vae.decode(posterior.sample()).sample, posterior.mean, posterior.logvar)
    terms["loss"].backward()
    assert vae.encoder.conv_in.weight.grad.abs().sum() > 0
    assert vae.decoder.conv_out.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("rec_kind", ["l1", "l2"])
def test_each_weight_scales_its_term(rec_kind: str) -> None:
    torch.manual_seed(2)
    perceptual = build_lpips(backbone_weights="random")
    target, recon = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    mean, logvar = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)

    def total(kl_w: float, p_w: float) -> dict[str, torch.Tensor]:
        loss = VAELoss(perceptual, rec_kind=rec_kind, kl_weight=kl_w, perceptual_weight=p_w)
        return loss(target, recon, mean, logvar)

    base = total(0.0, 0.0)
    expected_rec = (recon - target).abs().mean() if rec_kind == "l1" else (recon - target).pow(2).mean()
    assert torch.allclose(base["loss"], expected_rec)
    kl = total(3.0, 0.0)
    assert torch.allclose(kl["loss"] - base["loss"], 3.0 * kl["loss_kl"], atol=1e-5)
    per = total(0.0, 2.0)
    assert per["loss_perceptual"] > 0
    assert torch.allclose(per["loss"] - base["loss"], 2.0 * per["loss_perceptual"], atol=1e-5)
    both = total(3.0, 2.0)
    assert torch.allclose(both["loss"], base["loss"] + 3.0 * kl["loss_kl"] + 2.0 * per["loss_perceptual"], atol=1e-5)


def test_the_loss_hands_its_per_image_distances_to_validation() -> None:
    perceptual = build_lpips(backbone_weights="random")
    target, recon = torch.rand(3, 3, 32, 32) * 2 - 1, torch.rand(3, 3, 32, 32) * 2 - 1
    mean, logvar = torch.zeros(3, 4, 8, 8), torch.zeros(3, 4, 8, 8)
    per_image: dict = {}
    terms = VAELoss(perceptual, perceptual_weight=0.5)(target, recon, mean, logvar, per_image=per_image)
    assert per_image["perceptual"].shape == (3,)
    torch.testing.assert_close(per_image["perceptual"].mean(), terms["loss_perceptual"])
    torch.testing.assert_close(per_image["perceptual"], perceptual(recon, target).flatten())
    unused: dict = {}
    VAELoss(perceptual, perceptual_weight=0.0)(target, recon, mean, logvar, per_image=unused)
    assert unused == {}  # not computed: validation computes the metric itself
