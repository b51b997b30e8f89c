"""Sweep trials of ``python -m anonymizer.train -m``: the objective a trial returns, the worst
value a failed trial returns, W&B grouping, and one trial run that records its status so a
failure does not stop the sweep."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("anonymizer.train")

__all__ = ["failure_value", "multirun_job", "name_wandb_trial", "objective", "run_trial"]


def objective(summary: dict[str, Any]) -> float | None:
    """The optimized metric of a run summary (``None`` when it was not logged or is NaN)."""
    value = next(iter((summary.get("optimized_metric") or {}).values()), None)
    return None if value is None or math.isnan(value) else value


def multirun_job() -> Any | None:
    """Hydra's config of this job when it is a trial of a multirun (``-m``), else ``None``."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hc = HydraConfig.get()
    return hc if hc.mode == RunMode.MULTIRUN else None


def failure_value(hc: Any) -> float | None:
    """What a failed trial returns to the sweeper: the worst value for its direction.

    hydra-optuna-sweeper 1.2 aborts the whole sweep when a job raises or returns None/NaN
    (it tells Optuna FAIL, then re-raises), so a failed trial returns +inf (minimize) or
    -inf (maximize): Optuna records it as the worst trial and TPE avoids its region. The
    basic sweeper ignores return values; without a direction we return None.
    """
    from enum import Enum

    from omegaconf import ListConfig

    direction = OmegaConf.select(hc, "sweeper.direction", default=None)
    if isinstance(direction, (list, ListConfig)):
        direction = direction[0] if len(direction) == 1 else None
    name = direction.name if isinstance(direction, Enum) else (str(direction) if direction is not None else None)
    return {"minimize": math.inf, "maximize": -math.inf}.get(name or "")


def name_wandb_trial(cfg: DictConfig, hc: Any) -> None:
    """Group a trial's W&B run under its sweep and put the trial number in its name.

    group: ``logger.wandb.group`` when set, else ``<task_name>-<hparams_search>-<sweep dir name>``
    (``sweep`` for a plain grid); name: ``<group>-trial<N>``.
    """
    wandb_cfg = OmegaConf.select(cfg, "logger.wandb", default=None)
    if not isinstance(wandb_cfg, DictConfig):
        return
    search = OmegaConf.select(hc, "runtime.choices.hparams_search", default=None) or "sweep"
    group = wandb_cfg.get("group") or f"{cfg.get('task_name', 'train')}-{search}-{Path(str(hc.sweep.dir)).name}"
    wandb_cfg.group = group
    wandb_cfg.name = f"{group}-trial{hc.job.num}"


def run_trial(cfg: DictConfig, hc: Any, train: Callable[[DictConfig], dict[str, Any]]) -> float | None:
    """One trial of a multirun: ``train(cfg)``, record ``trial_status.json``; a failure does not stop
    the sweep."""
    import gc
    import sys

    from anonymizer.training.sweep_summary import parse_overrides, summarize_sweep, write_trial_status

    output_dir = Path(cfg.paths.output_dir)
    metric = cfg.get("optimized_metric")
    overrides = [str(o) for o in hc.overrides.task]
    record: dict[str, Any] = {"trial": int(hc.job.num), "metric": metric, "params": parse_overrides(overrides),
                              "overrides": overrides}
    value: float | None = None
    try:
        name_wandb_trial(cfg, hc)
        value = objective(train(cfg))
        if value is None:
            raise RuntimeError(f"the optimized metric {metric!r} was not logged or is NaN")
        record.update(status="ok", objective=value, error=None)
    except Exception as e:  # any failure of a trial is recorded, the sweep goes on
        log.error("Trial %s failed: %s: %s", hc.job.num, type(e).__name__, e, exc_info=True)
        record.update(status="failed", objective=None, error=f"{type(e).__name__}: {e}")
        value = None
    except BaseException as e:  # Ctrl+C, SIGTERM (SystemExit): record it, then stop the sweep
        record.update(status="interrupted", objective=None, error=f"{type(e).__name__}: {e}")
        write_trial_status(output_dir, record)
        summarize_sweep(hc, metric)
        raise
    finally:
        if "wandb" in sys.modules:  # train() finishes its run; this covers failures before that
            import wandb

            if wandb.run is not None:
                wandb.finish(exit_code=0 if record.get("status") == "ok" else 1)
    if record["status"] != "ok":
        gc.collect()  # release the failed trial's tensors (e.g. after CUDA out of memory)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    write_trial_status(output_dir, record)
    return value if record["status"] == "ok" else failure_value(hc)
