"""Training entry point: ``python -m anonymizer.train +experiment=vae_kl``.

Everything is built from the Hydra config (``anonymizer/conf/train.yaml``): DataModule, model,
callbacks, loggers and trainer. Returns the value of ``optimized_metric`` for sweeps.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from anonymizer.core.entry import CONF_DIR
from anonymizer.training.callbacks.metric_history import MetricHistory
from anonymizer.training.callbacks.timing import RunTimer, process_start_time
from anonymizer.training.ddp import RankConsistency, RankSeed, config_fingerprint, pin_children_to_this_job
from anonymizer.training.instantiate import instantiate_callbacks, instantiate_loggers
from anonymizer.training.sweeps import multirun_job, objective, run_trial

log = logging.getLogger(__name__)

# The frozen perceptual network is meant to stay in eval mode during training.
warnings.filterwarnings("ignore", message=r"Found \d+ module\(s\) in eval mode")


def _run_info(model: L.LightningModule) -> dict[str, Any]:
    params = list(model.parameters())
    info: dict[str, Any] = {
        "params_total": sum(p.numel() for p in params),
        "params_trainable": sum(p.numel() for p in params if p.requires_grad),
    }
    perceptual = getattr(getattr(model, "loss", None), "perceptual", None)
    if perceptual is not None:
        info["perceptual_backbone_weights"] = getattr(perceptual, "backbone_weights", "unknown")
        info["params_total"] -= sum(p.numel() for p in perceptual.parameters())
    return info


def _summary(trainer: L.Trainer, callbacks: list[L.Callback], output_dir: Path, info: dict[str, Any]) -> dict[str, Any]:
    history = next((c for c in callbacks if isinstance(c, MetricHistory)), None)
    export = next((getattr(c, "exported_to", None) for c in callbacks if hasattr(c, "exported_to")), None)
    timer = next((c for c in callbacks if isinstance(c, RunTimer)), None)
    ckpt = trainer.checkpoint_callback
    return {
        "output_dir": str(output_dir),
        "global_step": trainer.global_step,
        "world_size": trainer.world_size,
        "metrics": history.table() if history else {},
        "history": [{"step": step, **values} for step, values in history.history] if history else [],
        "timing": timer.summary() if timer else {},
        "best_checkpoint": getattr(ckpt, "best_model_path", None) or None,
        "last_checkpoint": getattr(ckpt, "last_model_path", None) or None,
        "export_dir": str(export) if export else None,
        **info,
    }


@rank_zero_only
def _report(summary: dict[str, Any], output_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    (output_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    table = Table(title=f"Training summary (step {summary['global_step']})")
    for column in ("metric", "first", "best", "last"):
        table.add_column(column, justify="right" if column != "metric" else "left")
    for key, row in sorted(summary["metrics"].items()):
        table.add_row(key, *(f"{row[c]:.4f}" if c in row else "-" for c in ("first", "best", "last")))
    console = Console()
    console.print(table)
    for key in ("best_checkpoint", "export_dir", "output_dir"):
        console.print(f"{key}: {summary[key]}")
    timing = summary.get("timing") or {}
    if timing.get("seconds_before_first_step") is not None:
        console.print(f"timing: first step after {timing['seconds_before_first_step']} s, "
                      f"{timing['train_batches_per_second']} training batches/s, {timing['wall_seconds']} s in all")


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit the configured model; return the run summary (see ``summary.json``).

    Bad values of common keys fail first, before anything is built (``ConfigError``).
    ``ckpt_path=last`` (``<output_dir>/checkpoints/last.ckpt``) or a path continues a run
    exactly: weights, optimizer, LR schedule, data order, RNG states and the W&B run. A fit
    stopped by SIGTERM or Ctrl+C saves ``last.ckpt`` and exits with 143 / 130; a non-finite
    loss or gradient saves the last good state and raises ``FloatingPointError``.
    """
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from anonymizer.training import resume
    from anonymizer.training.config_checks import check_config, check_resolution

    check_config(cfg)
    output_dir = Path(cfg.paths.output_dir)
    ckpt_path = resume.resolve_ckpt_path(cfg.get("ckpt_path"), output_dir)
    run_state = resume.read_run_state(ckpt_path) if ckpt_path else {}
    if ckpt_path:
        log.info("Resuming from %s (step %s)", ckpt_path, run_state.get("global_step"))
    output_dir.mkdir(parents=True, exist_ok=True)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)

    log.info("Instantiating datamodule <%s>", cfg.data._target_)
    datamodule: L.LightningDataModule = hydra.utils.instantiate(cfg.data)
    log.info("Instantiating model <%s>", cfg.model._target_)
    model: L.LightningModule = hydra.utils.instantiate(cfg.model)
    if hasattr(model, "downsampling") and OmegaConf.select(cfg, "data.resolution") is not None:
        check_resolution("data.resolution", int(cfg.data.resolution), model.downsampling)
    callbacks = instantiate_callbacks(cfg.get("callbacks"))
    callbacks.append(RunTimer(process_start_time(fallback=time.time())))
    callbacks.append(RankConsistency(config_fingerprint(cfg), output_dir))  # no-op on one process
    if cfg.get("seed") is not None:
        callbacks.append(RankSeed(cfg.seed))  # ranks > 0 draw their own noise (no-op on one process)
    loggers = instantiate_loggers(resume.logger_config_for_resume(cfg.get("logger"), run_state.get("wandb_run_id")))
    if ckpt_path:
        resume.keep_csv_history(loggers)
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)

    info = _run_info(model)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    if trainer.is_global_zero:
        (output_dir / "config_resolved.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    for logger in loggers:
        logger.log_hyperparams({**resolved, "run_info": info})

    try:
        try:
            if cfg.get("validate_before_fit") and not trainer.fast_dev_run and ckpt_path is None:
                trainer.validate(model, datamodule=datamodule, verbose=False)
            if trainer.world_size > 1:
                pin_children_to_this_job(output_dir)  # DDP children of a sweep trial run this trial only
            trainer.fit(model, datamodule=datamodule, ckpt_path=str(ckpt_path) if ckpt_path else None)
        except (SIGTERMException, FloatingPointError) as e:
            raise resume.stopped_early(e, callbacks, output_dir, trainer.global_step) from e
        summary = _summary(trainer, callbacks, output_dir, info)
        metric_name = cfg.get("optimized_metric")
        value = trainer.callback_metrics.get(metric_name) if metric_name else None
        summary["optimized_metric"] = {metric_name: float(value)} if value is not None else None
        _report(summary, output_dir)
    finally:
        _finish_wandb(loggers)
    return summary


def _finish_wandb(loggers: list) -> None:
    from lightning.pytorch.loggers import WandbLogger

    if any(isinstance(lg, WandbLogger) for lg in loggers):
        import wandb

        if wandb.run is not None:
            wandb.finish()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry; returns the optimized metric (``None`` when it was not logged).

    In a multirun (``-m``) each trial's exceptions are caught and recorded in
    ``<trial dir>/trial_status.json`` so the sweep goes on (see :func:`anonymizer.training.sweeps.run_trial`);
    a single run lets them propagate.
    """
    hc = multirun_job()
    if hc is not None:
        return run_trial(cfg, hc, train)
    return objective(train(cfg))


if __name__ == "__main__":
    torch.set_float32_matmul_precision("high")
    main()
