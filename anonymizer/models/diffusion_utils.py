"""Diffusion training helpers: noise schedulers, training targets, Min-SNR-γ weights, EMA."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    PNDMScheduler,
    UniPCMultistepScheduler,
)
from diffusers.configuration_utils import ConfigMixin
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.training_utils import EMAModel
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch import nn

from anonymizer.store.resolve import resolve_model_path

log = logging.getLogger(__name__)

SCHEDULERS: dict[str, type[SchedulerMixin]] = {
    "ddpm": DDPMScheduler,
    "ddim": DDIMScheduler,
    "dpm_solver": DPMSolverMultistepScheduler,
    "euler": EulerDiscreteScheduler,
    "euler_ancestral": EulerAncestralDiscreteScheduler,
    "pndm": PNDMScheduler,
    "unipc": UniPCMultistepScheduler,
}
PREDICTION_TYPES = ("epsilon", "v_prediction")
# diffusers defaults ``clip_sample`` to True, which clips the predicted clean sample to [-1, 1]:
# right for pixels, wrong for (scaled) VAE latents. Stable Diffusion's configs set it false.
LATENT_DEFAULTS = {"clip_sample": False}


def _scheduler_class(name: str) -> type[SchedulerMixin]:
    if name not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {name!r}; choose one of {sorted(SCHEDULERS)}")
    return SCHEDULERS[name]


def _check_prediction_type(prediction_type: str) -> None:
    if prediction_type not in PREDICTION_TYPES:
        raise ValueError(f"prediction_type must be one of {PREDICTION_TYPES}, got {prediction_type!r}")


def _accepts(cls: type, key: str) -> bool:
    return key in inspect.signature(cls.__init__).parameters


def latent_scheduler(scheduler: SchedulerMixin, where: str) -> SchedulerMixin:
    """``scheduler`` with :data:`LATENT_DEFAULTS`; a config that says otherwise (an export
    written before ``clip_sample`` was set) is rebuilt with them and a warning naming ``where``."""
    wrong = {k: v for k, v in LATENT_DEFAULTS.items() if k in scheduler.config and scheduler.config[k] != v}
    if not wrong:
        return scheduler
    log.warning("%s: the saved scheduler config has %s, which is wrong for latents (it clips predicted "
                "clean latents to [-1, 1]); loading it with %s", where, wrong, LATENT_DEFAULTS)
    return type(scheduler).from_config({**scheduler.config, **LATENT_DEFAULTS})


def build_scheduler(
    name: str, pretrained: str | None = None, subfolder: str | None = "scheduler", **config: Any
) -> SchedulerMixin:
    """Return the scheduler ``name`` (``ddpm``, ``ddim``, ``dpm_solver``, ``euler``...).

    With ``pretrained`` (a diffusers pipeline folder / hub id / store URL, read from
    ``subfolder``; a local folder that holds ``scheduler_config.json`` itself also works;
    see :func:`~anonymizer.store.resolve.resolve_model_path`) the saved config
    is loaded, with ``config`` overriding its fields; otherwise the scheduler is built from
    ``config`` (constructor keyword arguments, e.g. ``num_train_timesteps``).

    Latent diffusion never clips the predicted clean sample: ``clip_sample`` is false unless
    ``config`` sets it, also when a saved config says true (with a warning, see
    :func:`latent_scheduler`).
    """
    cls = _scheduler_class(name)
    config = {
        k: OmegaConf.to_container(v, resolve=True) if isinstance(v, (DictConfig, ListConfig)) else v
        for k, v in config.items()
    }
    if pretrained is None:
        defaults = {k: v for k, v in LATENT_DEFAULTS.items() if _accepts(cls, k)}
        try:
            return cls(**{**defaults, **config})
        except TypeError as err:
            raise TypeError(f"scheduler {name!r}: {err}") from err
    pretrained = resolve_model_path(pretrained)
    local = Path(pretrained).expanduser()
    if not local.exists() and pretrained.startswith(("/", ".", "~")):
        raise FileNotFoundError(f"scheduler pretrained: no such folder {pretrained!r}")
    if local.exists():
        if subfolder and not (local / subfolder).is_dir() and (local / "scheduler_config.json").is_file():
            subfolder = None
        source = str(local)
    else:
        source = pretrained
    log.info("Loading %s scheduler config from %s (subfolder=%s)", name, source, subfolder)
    try:
        scheduler = cls.from_pretrained(source, subfolder=subfolder, **config)
    except OSError as err:
        raise OSError(
            f"could not load a scheduler config from {pretrained!r} (subfolder={subfolder!r}): {err}. "
            "Give a local diffusers folder or a hub id reachable from this machine."
        ) from err
    if any(k in config for k in LATENT_DEFAULTS):
        return scheduler
    return latent_scheduler(scheduler, f"{source}" + (f"/{subfolder}" if subfolder else ""))


def scheduler_from(scheduler: SchedulerMixin, name: str) -> SchedulerMixin:
    """The scheduler ``name`` with ``scheduler``'s config (e.g. DDPM training → DDIM/DPM-Solver sampling)."""
    return _scheduler_class(name).from_config(scheduler.config)


def _alphas_cumprod(scheduler: SchedulerMixin, timesteps: torch.Tensor) -> torch.Tensor:
    acp = getattr(scheduler, "alphas_cumprod", None)
    if not isinstance(acp, torch.Tensor):
        raise ValueError(f"{type(scheduler).__name__} has no alphas_cumprod; use a DDPM-style scheduler")
    return acp.to(device=timesteps.device, dtype=torch.float32)[timesteps.long()]


def min_snr_weights(
    scheduler: SchedulerMixin, timesteps: torch.Tensor, gamma: float, prediction_type: str
) -> torch.Tensor:
    """Per-sample Min-SNR-γ loss weights (Hang et al. 2023), float32 on ``timesteps``' device.

    ``SNR(t) = ᾱ_t / (1 - ᾱ_t)``; epsilon: ``min(SNR, γ) / SNR``; v_prediction:
    ``min(SNR, γ) / (SNR + 1)``. Multiply the per-sample MSE by them (then average).
    A zero-SNR timestep (zero terminal SNR schedules) gets weight 1 for epsilon (the limit).
    """
    if not gamma > 0:
        raise ValueError(f"min-SNR gamma must be > 0, got {gamma}")
    _check_prediction_type(prediction_type)
    acp = _alphas_cumprod(scheduler, timesteps)
    snr = acp / (1.0 - acp)
    clipped = snr.clamp(max=float(gamma))
    if prediction_type == "epsilon":
        return torch.where(snr > 0, clipped / snr, torch.ones_like(snr))
    return clipped / (snr + 1.0)


def diffusion_target(
    scheduler: SchedulerMixin,
    latents: torch.Tensor,
    noise: torch.Tensor,
    timesteps: torch.Tensor,
    prediction_type: str,
) -> torch.Tensor:
    """What the UNet regresses: ``noise`` (epsilon) or the velocity ``√ᾱ·ε − √(1−ᾱ)·x₀`` (v_prediction)."""
    _check_prediction_type(prediction_type)
    if prediction_type == "epsilon":
        return noise
    return scheduler.get_velocity(latents, noise, timesteps)


def make_ema(
    module: nn.Module | Iterable[nn.Parameter], decay: float = 0.9999, warmup: bool = True, **kwargs: Any
) -> EMAModel:
    """``diffusers.training_utils.EMAModel`` tracking ``module``'s parameters (or the given ones).

    ``warmup`` sets ``use_ema_warmup`` (decay ``1 - (1 + s)^(-2/3)``); without it diffusers
    still ramps the decay as ``(1 + s) / (10 + s)``; both are capped at ``decay``, and the
    first ``step`` copies the parameters. Diffusers models also get ``model_cls`` /
    ``model_config`` so that ``EMAModel.save_pretrained`` works. Extra ``kwargs`` go to
    ``EMAModel`` (``min_decay``, ``update_after_step``, ``power``, ``foreach``...).
    """
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"EMA decay must be in [0, 1], got {decay}")
    if isinstance(module, ConfigMixin):
        kwargs.setdefault("model_cls", type(module))
        kwargs.setdefault("model_config", module.config)
    parameters = module.parameters() if isinstance(module, nn.Module) else list(module)
    return EMAModel(parameters, decay=decay, use_ema_warmup=warmup, **kwargs)
