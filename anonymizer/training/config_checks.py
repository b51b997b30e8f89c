"""Config-time checks of the composed training config, before anything is built.

Hydra already rejects unknown keys (``foo=1`` without ``+``). These checks catch wrong
types and out-of-range values of the common keys, naming the key and the value, so that a
bad override fails in a second instead of after the model is built. Keys that a config
does not have are skipped; the constructors still validate everything in depth.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, get_args

from lightning.fabric.plugins.precision.precision import _PRECISION_INPUT_STR, _PRECISION_INPUT_STR_ALIAS
from omegaconf import DictConfig, OmegaConf

from anonymizer.models.losses import KL_REDUCTIONS, REC_KINDS
from anonymizer.models.schedules import DECAYS
from anonymizer.training.loggers import WANDB_MODES

PRECISIONS = get_args(_PRECISION_INPUT_STR) + get_args(_PRECISION_INPUT_STR_ALIAS)  # Lightning's names
PREDICTION_TYPES = ("epsilon", "v_prediction")  # as in anonymizer.models.inpaint_module

_ABSENT = object()


class ConfigError(ValueError):
    """A config value has the wrong type or is out of range; the message names key and value."""


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def int_at_least(minimum: int, *, allow: tuple = ()) -> tuple[Callable[[Any], bool], str]:
    extra = "".join(f" or {a!r}" for a in allow)
    return (lambda v: v in allow or (_is_int(v) and v >= minimum)), f"an integer >= {minimum}{extra}"


def number_in(low: float, high: float | None = None, *, low_open: bool = False,
              allow_null: bool = False) -> tuple[Callable[[Any], bool], str]:
    def ok(v: Any) -> bool:
        if v is None:
            return allow_null
        return _is_number(v) and (v > low if low_open else v >= low) and (high is None or v <= high)

    bound = f"{'>' if low_open else '>='} {low}" + (f" and <= {high}" if high is not None else "")
    return ok, f"a number {bound}" + (" or null" if allow_null else "")


def one_of(choices: tuple, *, allow_null: bool = False) -> tuple[Callable[[Any], bool], str]:
    return ((lambda v: (v is None and allow_null) or v in choices),
            f"one of {list(choices)}" + (" or null" if allow_null else ""))


def _val_check_interval(v: Any) -> bool:
    return v is None or (_is_int(v) and v >= 1) or (isinstance(v, float) and 0.0 < v <= 1.0)


POSITIVE = int_at_least(1)
NON_NEGATIVE = int_at_least(0)

CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "seed": (lambda v: v is None or (_is_int(v) and v >= 0), "an integer >= 0 or null"),
    "data.batch_size": POSITIVE,
    "data.num_workers": NON_NEGATIVE,
    "data.seed": NON_NEGATIVE,
    "data.crop_size": int_at_least(8),
    "data.resolution": int_at_least(8),
    "data.synthetic.train_size": POSITIVE,
    "data.synthetic.val_size": POSITIVE,
    "data.train_size": POSITIVE,
    "data.val_size": POSITIVE,
    "trainer.max_steps": int_at_least(1, allow=(-1,)),
    "trainer.max_epochs": (lambda v: v is None or (_is_int(v) and (v >= 1 or v == -1)), "an integer >= 1, -1 or null"),
    "trainer.val_check_interval": (_val_check_interval,
                                   "an integer >= 1 (steps), a float in (0, 1] (epoch share) or null"),
    "trainer.log_every_n_steps": POSITIVE,
    "trainer.accumulate_grad_batches": POSITIVE,
    "trainer.num_sanity_val_steps": int_at_least(0, allow=(-1,)),
    "trainer.gradient_clip_val": number_in(0.0, allow_null=True),
    "trainer.gradient_clip_algorithm": one_of(("norm", "value"), allow_null=True),
    "trainer.precision": (lambda v: str(v) in PRECISIONS, f"one of {list(PRECISIONS)}"),
    "model.optimizer.lr": number_in(0.0, low_open=True),
    "model.scheduler.warmup_steps": NON_NEGATIVE,
    "model.scheduler.decay": one_of(DECAYS),
    "model.scheduler.min_lr_ratio": number_in(0.0, 1.0),
    "model.loss.rec_kind": one_of(REC_KINDS),
    "model.loss.kl_reduction": one_of(KL_REDUCTIONS),
    "model.loss.kl_weight": number_in(0.0),
    "model.loss.perceptual_weight": number_in(0.0),
    "model.prediction_type": one_of(PREDICTION_TYPES),
    "model.cond_dropout": number_in(0.0, 1.0),
    "logger.wandb.mode": one_of(WANDB_MODES),
    "callbacks.model_checkpoint.every_n_train_steps": (lambda v: v is None or (_is_int(v) and v >= 0),
                                                       "an integer >= 0 or null"),
    "callbacks.image_logger.every_n_steps": NON_NEGATIVE,
}


def check_resolution(key: str, resolution: int, downsampling: dict[str, int]) -> None:
    """Raise :class:`ConfigError` unless ``resolution`` is a multiple of the product of the
    models' ``downsampling`` factors (e.g. ``{"vae": 4, "unet": 2}``)."""
    multiple = math.prod(downsampling.values())
    if resolution % multiple:
        parts = " x ".join(f"{v} ({k})" for k, v in downsampling.items())
        low, high = resolution // multiple * multiple, (resolution // multiple + 1) * multiple
        options = f"{low} or {high}" if low else str(high)
        raise ConfigError(f"invalid config: {key}={resolution} must be a multiple of {multiple} = {parts}, "
                          f"the models' downsampling (e.g. {options})")


def check_config(cfg: DictConfig) -> None:
    """Raise :class:`ConfigError` listing every key of :data:`CHECKS` whose value is invalid."""
    errors = []
    for key, (ok, expected) in CHECKS.items():
        value = OmegaConf.select(cfg, key, default=_ABSENT)
        if value is _ABSENT:
            continue
        if not ok(value):
            errors.append(f"{key} must be {expected}, got {value!r}")
    ckpt = cfg.get("ckpt_path")
    if ckpt is not None and not isinstance(ckpt, str):
        errors.append(f"ckpt_path must be null, 'last' or a path, got {ckpt!r}")
    if errors:
        raise ConfigError("invalid config: " + "; ".join(errors))
