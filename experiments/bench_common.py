"""Shared pieces of the training-step benchmarks: fixed batches, a Lightning run, interleaving."""

from __future__ import annotations

import logging
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def quiet() -> None:
    """Silence warnings and Lightning's info logs."""
    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)


def compose_cfg(experiment: str, overrides: list[str]) -> DictConfig:
    """The config ``python -m anonymizer.train +experiment=<experiment> <overrides>`` would use."""
    from anonymizer.core.entry import CONF_DIR

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(
            config_name="train", overrides=[f"+experiment={experiment}", "paths.output_dir=/tmp/bench", *overrides]
        )


class FixedBatches(torch.utils.data.Dataset):
    """Pre-built batches served one per index (both loops see identical data)."""

    def __init__(self, batches: list[dict]) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> dict:
        return self.batches[i]


def lightning_seconds(model: L.LightningModule, batches: list[dict], steps: int, clip: float, accelerator: str = "cpu",
                      precision: str = "32-true") -> float:
    """Wall time of ``steps`` optimizer steps of ``model`` under ``lightning.Trainer``."""
    loader = torch.utils.data.DataLoader(FixedBatches(batches), batch_size=None, shuffle=False)
    trainer = L.Trainer(
        accelerator=accelerator, devices=1, max_steps=steps, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0, precision=precision,
        num_sanity_val_steps=0, gradient_clip_val=clip, gradient_clip_algorithm="norm",
    )
    start = time.perf_counter()
    trainer.fit(model, train_dataloaders=loader)
    return time.perf_counter() - start


def interleaved_medians(
    runs: dict[str, Callable[[int], float]], steps: int, warm: int, repeats: int
) -> dict[str, float]:
    """Median seconds of ``steps`` steps per run, warm-up steps subtracted, runs interleaved."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(run(warm + steps) - run(warm))
    return {name: statistics.median(values) for name, values in times.items()}


def machine() -> str:
    """One line describing where the benchmark ran."""
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"threads {torch.get_num_threads()}{gpu}")
