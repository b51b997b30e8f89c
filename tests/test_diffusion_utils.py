"""Schedulers, diffusion targets, Min-SNR-γ weights and EMA (CPU, no network)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
)
from omegaconf import OmegaConf
from torch import nn

from anonymizer.models.diffusion_utils import (
    build_scheduler,
    diffusion_target,
    make_ema,
    min_snr_weights,
    scheduler_from,
)

T, BETA_START, BETA_END = 1000, 0.0001, 0.02
STEPS = [0, 10, 100, 500, 999]


def hand_alphas_cumprod() -> list[float]:
    """ᾱ_t of the linear beta schedule, computed independently in float64."""
    acp, out = 1.0, []
    for t in range(T):
        acp *= 1.0 - (BETA_START + (BETA_END - BETA_START) * t / (T - 1))
        out.append(acp)
    return out


def ddpm() -> DDPMScheduler:
    return DDPMScheduler(num_train_timesteps=T, beta_start=BETA_START, beta_end=BETA_END, beta_schedule="linear")


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_min_snr_weights_match_hand_computed(prediction_type: str) -> None:
    gamma = 5.0
    acp = hand_alphas_cumprod()
    expected = []
    for t in STEPS:
        snr = acp[t] / (1 - acp[t])
        expected.append(min(snr, gamma) / (snr if prediction_type == "epsilon" else snr + 1))
    weights = min_snr_weights(ddpm(), torch.tensor(STEPS), gamma, prediction_type)
    assert weights.dtype == torch.float32 and weights.shape == (len(STEPS),)
    torch.testing.assert_close(weights, torch.tensor(expected, dtype=torch.float32), rtol=1e-4, atol=1e-7)
    if prediction_type == "epsilon":
        # Early steps are down-weighted (SNR >> γ), late steps (SNR < γ) keep weight 1.
        assert weights[0] < 1e-3 and weights[-1] == pytest.approx(1.0)
    else:
        assert float(weights[-1]) == pytest.approx(expected[-1], rel=1e-4) and weights[-1] < 1e-3


def test_min_snr_weights_validate_arguments() -> None:
    steps = torch.tensor([1, 2])
    for gamma in (0.0, -1.0):
        with pytest.raises(ValueError, match="gamma"):
            min_snr_weights(ddpm(), steps, gamma, "epsilon")
    with pytest.raises(ValueError, match="v_prediction"):
        min_snr_weights(ddpm(), steps, 5.0, "sample")


def test_min_snr_weights_zero_terminal_snr_is_finite() -> None:
    scheduler = DDPMScheduler(num_train_timesteps=T, rescale_betas_zero_snr=True)
    weights = min_snr_weights(scheduler, torch.tensor([0, T - 1]), 5.0, "epsilon")
    assert torch.isfinite(weights).all() and weights[-1] == 1.0


def test_diffusion_target() -> None:
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(len(STEPS), 4, 8, 8, generator=generator)
    noise = torch.randn(len(STEPS), 4, 8, 8, generator=generator)
    steps = torch.tensor(STEPS)
    assert diffusion_target(ddpm(), latents, noise, steps, "epsilon") is noise
    acp = torch.tensor([hand_alphas_cumprod()[t] for t in STEPS], dtype=torch.float32).view(-1, 1, 1, 1)
    expected = acp.sqrt() * noise - (1 - acp).sqrt() * latents
    torch.testing.assert_close(diffusion_target(ddpm(), latents, noise, steps, "v_prediction"), expected)
    with pytest.raises(ValueError, match="prediction_type"):
        diffusion_target(ddpm(), latents, noise, steps, "sample")


def test_build_scheduler_from_config() -> None:
    scheduler = build_scheduler("ddpm", num_train_timesteps=100, prediction_type="v_prediction")
    assert isinstance(scheduler, DDPMScheduler)
    assert scheduler.config.num_train_timesteps == 100 and scheduler.config.prediction_type == "v_prediction"
    assert isinstance(build_scheduler("dpm_solver"), DPMSolverMultistepScheduler)
    assert isinstance(build_scheduler("euler"), EulerDiscreteScheduler)
    # Hydra passes DictConfig/ListConfig values.
    cfg = OmegaConf.create({"num_train_timesteps": 3, "trained_betas": [0.1, 0.2, 0.3]})
    trained = build_scheduler("ddpm", **cfg)
    torch.testing.assert_close(trained.betas, torch.tensor([0.1, 0.2, 0.3]))
    with pytest.raises(TypeError, match="ddim"):
        build_scheduler("ddim", no_such_option=1)


def test_build_scheduler_from_folder(tmp_path: Path) -> None:
    saved = DDPMScheduler(num_train_timesteps=321, beta_schedule="scaled_linear", prediction_type="v_prediction")
    saved.save_pretrained(tmp_path / "scheduler")
    loaded = build_scheduler("ddim", pretrained=str(tmp_path))
    assert isinstance(loaded, DDIMScheduler)
    assert loaded.config.num_train_timesteps == 321 and loaded.config.beta_schedule == "scaled_linear"
    assert loaded.config.prediction_type == "v_prediction"
    torch.testing.assert_close(loaded.alphas_cumprod, saved.alphas_cumprod)
    # kwargs override the saved config; the scheduler folder itself also works.
    override = build_scheduler("ddpm", pretrained=str(tmp_path / "scheduler"), prediction_type="epsilon")
    assert override.config.prediction_type == "epsilon" and override.config.num_train_timesteps == 321
    with pytest.raises(FileNotFoundError, match="missing_pipeline"):
        build_scheduler("ddpm", pretrained=str(tmp_path / "missing_pipeline"))


def test_scheduler_from_keeps_the_schedule() -> None:
    train = DDPMScheduler(num_train_timesteps=500, beta_schedule="scaled_linear", prediction_type="v_prediction")
    sampler = scheduler_from(train, "ddim")
    assert isinstance(sampler, DDIMScheduler)
    for key in ("num_train_timesteps", "beta_schedule", "beta_start", "beta_end", "prediction_type"):
        assert sampler.config[key] == train.config[key], key
    torch.testing.assert_close(sampler.alphas_cumprod, train.alphas_cumprod)
    assert isinstance(scheduler_from(train, "dpm_solver"), DPMSolverMultistepScheduler)


def test_bad_scheduler_names_list_the_choices() -> None:
    for call in (lambda: build_scheduler("ddpn"), lambda: scheduler_from(ddpm(), "heun")):
        with pytest.raises(ValueError, match=r"ddpm.*") as err:
            call()
        for name in ("ddim", "ddpm", "dpm_solver", "euler"):
            assert name in str(err.value)


def _set(module: nn.Module, value: float) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(value)


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.detach().reshape(-1) for t in tensors])


def test_ema_decay_copy_store_restore() -> None:
    module = nn.Linear(3, 2)
    _set(module, 0.0)
    ema = make_ema(module, decay=0.5, warmup=False)
    assert ema.use_ema_warmup is False and ema.decay == 0.5
    # diffusers' EMAModel: the first step copies; then the decay ramps as (1+s)/(10+s), capped at `decay`.
    ema.step(module.parameters())
    assert ema.cur_decay_value == 0.0
    ema.step(module.parameters())
    assert ema.cur_decay_value == pytest.approx(2 / 11)
    for _ in range(6):
        ema.step(module.parameters())
    assert ema.optimization_step == 8 and torch.all(_flat(ema.shadow_params) == 0.0)

    _set(module, 1.0)
    ema.step(module.parameters())  # s = 8: (1+8)/(10+8) = 0.5
    assert ema.cur_decay_value == 0.5
    torch.testing.assert_close(_flat(ema.shadow_params), torch.full((8,), 0.5))
    ema.step(module.parameters())  # capped at 0.5: 0.5 * 0.5 + 0.5 * 1
    assert ema.cur_decay_value == 0.5
    torch.testing.assert_close(_flat(ema.shadow_params), torch.full((8,), 0.75))

    ema.store(module.parameters())
    ema.copy_to(module.parameters())
    torch.testing.assert_close(_flat(module.parameters()), torch.full((8,), 0.75))
    ema.restore(module.parameters())
    torch.testing.assert_close(_flat(module.parameters()), torch.full((8,), 1.0))


def test_ema_warmup_flag() -> None:
    ema = make_ema(nn.Linear(2, 2), decay=0.9999)
    assert ema.use_ema_warmup is True
    for _ in range(3):
        ema.step(nn.Linear(2, 2).parameters())
    assert ema.cur_decay_value == pytest.approx(1 - (1 + 2) ** (-2 / 3))
    with pytest.raises(ValueError, match="decay"):
        make_ema(nn.Linear(2, 2), decay=1.5)


def test_ema_state_dict_round_trip_through_a_checkpoint() -> None:
    module = nn.Linear(3, 2)
    ema = make_ema(module, decay=0.5, warmup=False)
    for value in (0.0, 1.0, 2.0):
        _set(module, value)
        ema.step(module.parameters())
    buffer = io.BytesIO()
    torch.save({"ema": ema.state_dict()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)["ema"]  # as Lightning loads checkpoints

    other = make_ema(nn.Linear(3, 2), decay=0.9, warmup=True)
    other.load_state_dict(state)
    assert (other.decay, other.optimization_step, other.use_ema_warmup) == (0.5, 3, False)
    assert torch.equal(_flat(other.shadow_params), _flat(ema.shadow_params))
    _set(module, 3.0)
    ema.step(module.parameters())
    other.step(module.parameters())
    assert torch.equal(_flat(other.shadow_params), _flat(ema.shadow_params))
    assert not math.isclose(float(_flat(ema.shadow_params)[0]), 3.0)


def test_ema_of_a_diffusers_model_saves_the_averaged_weights(tmp_path: Path) -> None:
    vae = AutoencoderKL(
        block_out_channels=(8,), down_block_types=("DownEncoderBlock2D",), up_block_types=("UpDecoderBlock2D",),
        norm_num_groups=4, latent_channels=4, sample_size=16,
    )
    ema = make_ema(vae, decay=0.5, warmup=False)
    assert ema.model_cls is AutoencoderKL
    _set(vae, 0.25)
    ema.step(vae.parameters())
    ema.save_pretrained(tmp_path / "ema")
    reloaded = AutoencoderKL.from_pretrained(tmp_path / "ema")
    flat = _flat(reloaded.parameters())
    torch.testing.assert_close(flat, torch.full_like(flat, 0.25))


def test_latent_schedulers_do_not_clip_the_predicted_sample(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert build_scheduler("ddpm").config.clip_sample is False  # diffusers' default is True
    assert build_scheduler("ddim").config.clip_sample is False
    assert scheduler_from(build_scheduler("ddpm"), "ddim").config.clip_sample is False
    assert build_scheduler("ddpm", clip_sample=True).config.clip_sample is True  # an explicit choice is kept
    DDPMScheduler(num_train_timesteps=50).save_pretrained(tmp_path / "scheduler")  # saved with clip_sample true
    with caplog.at_level("WARNING"):
        loaded = build_scheduler("ddpm", pretrained=str(tmp_path))
    assert loaded.config.clip_sample is False and loaded.config.num_train_timesteps == 50
    assert "clip_sample" in caplog.text
    assert build_scheduler("ddpm", pretrained=str(tmp_path), clip_sample=True).config.clip_sample is True
