"""Training entry point: ``python -m anonymizer.train +experiment=vae_kl``.

Everything is built from the Hydra config (``conf/train.yaml``): DataModule, model,
callbacks, loggers and trainer. Returns the value of ``optimized_metric`` for sweeps.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from anonymizer.callbacks.metric_history import MetricHistory
from anonymizer.utils.instantiate import instantiate_callbacks, instantiate_loggers

log = logging.getLogger(__name__)

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"

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
    ckpt = trainer.checkpoint_callback
    return {
        "output_dir": str(output_dir),
        "global_step": trainer.global_step,
        "metrics": history.table() if history else {},
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


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit the configured model; return the run summary (see ``summary.json``)."""
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)

    log.info("Instantiating datamodule <%s>", cfg.data._target_)
    datamodule: L.LightningDataModule = hydra.utils.instantiate(cfg.data)
    log.info("Instantiating model <%s>", cfg.model._target_)
    model: L.LightningModule = hydra.utils.instantiate(cfg.model)
    callbacks = instantiate_callbacks(cfg.get("callbacks"))
    loggers = instantiate_loggers(cfg.get("logger"))
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)

    info = _run_info(model)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    if trainer.is_global_zero:
        (output_dir / "config_resolved.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    for logger in loggers:
        logger.log_hyperparams({**resolved, "run_info": info})

    try:
        if cfg.get("validate_before_fit") and not trainer.fast_dev_run:
            trainer.validate(model, datamodule=datamodule, verbose=False)
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
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
    """Hydra entry; returns the optimized metric (``None`` when it was not logged)."""
    summary = train(cfg)
    value = next(iter((summary.get("optimized_metric") or {}).values()), None)
    return None if value is None or math.isnan(value) else value


if __name__ == "__main__":
    torch.set_float32_matmul_precision("high")
    main()
