"""Benchmark: VAE training throughput, Lightning vs a bare PyTorch loop, and data supply.

    python experiments/bench_vae_step.py [--steps 30] [--repeats 3] [overrides ...]

Builds the model and data exactly as ``python -m anonymizer.train +experiment=vae_kl``
does (extra Hydra overrides can follow), then measures, side by side in one process:

1. training images/s of ``VAEModule`` under ``lightning.Trainer`` versus a bare PyTorch
   loop doing the identical work (same weights, loss, optimizer, LR schedule, gradient
   clipping, batches held in memory), interleaved ``--repeats`` times, medians reported;
2. synthetic crops/s of the DataModule's train loader (default workers) versus the crops/s
   a training step consumes.

Prints a markdown table; copy it into experiments/RESULTS.md with the machine.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import hydra
import lightning as L
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def compose_cfg(overrides: list[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(config_name="train", overrides=["+experiment=vae_kl", "paths.output_dir=/tmp/bench", *overrides])


class FixedBatches(torch.utils.data.Dataset):
    """Pre-built batches served one per index (so both loops see identical data)."""

    def __init__(self, batches: list[dict[str, torch.Tensor]]) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.batches[i]


def lightning_run(model: L.LightningModule, batches: list, steps: int, clip: float) -> float:
    loader = torch.utils.data.DataLoader(FixedBatches(batches), batch_size=None, shuffle=False)
    trainer = L.Trainer(
        accelerator="cpu", devices=1, max_steps=steps, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
        num_sanity_val_steps=0, gradient_clip_val=clip, gradient_clip_algorithm="norm",
    )
    start = time.perf_counter()
    trainer.fit(model, train_dataloaders=loader)
    return time.perf_counter() - start


def bare_run(model, batches: list, steps: int, clip: float) -> float:
    """The same work without Lightning: forward, loss, backward, clip, step, schedule."""
    params = [p for p in model.autoencoder.parameters() if p.requires_grad]
    optimizer = model.optimizer_factory(params=params)
    scheduler = model.scheduler_factory(optimizer=optimizer, total_steps=steps) if model.scheduler_factory else None
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        images = batches[step % len(batches)]["image"]
        recon, posterior = model(images, sample_posterior=True)
        terms = model.loss(images, recon, posterior.mean, posterior.logvar)
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        torch.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    return time.perf_counter() - start


def data_rate(datamodule, batches: int) -> float:
    """Crops/s of the train loader after its workers started (first batch excluded)."""
    loader = datamodule.train_dataloader()
    it = iter(loader)
    next(it)
    start = time.perf_counter()
    n = 0
    for _ in range(batches):
        n += next(it)["image"].shape[0]
    elapsed = time.perf_counter() - start
    del it
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30, help="timed optimizer steps per run")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each loop")
    parser.add_argument("--data-batches", type=int, default=40, help="batches drawn to time the data loader")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. data.crop_size=128")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

    cfg = compose_cfg(args.overrides)
    clip = float(cfg.trainer.gradient_clip_val or 0.0) or float("inf")
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    n_batches = 8
    train_iter = iter(torch.utils.data.DataLoader(datamodule.train_set, batch_size=cfg.data.batch_size, num_workers=0))
    batches = [next(train_iter) for _ in range(n_batches)]

    torch.manual_seed(0)
    template = hydra.utils.instantiate(cfg.model)
    warm = 3
    lightning_times, bare_times = [], []
    for _ in range(args.repeats):
        for kind in ("lightning", "bare"):
            model = copy.deepcopy(template)
            torch.manual_seed(1)
            if kind == "lightning":
                t_warm = lightning_run(copy.deepcopy(template), batches, warm, clip)
                total = lightning_run(model, batches, warm + args.steps, clip)
                lightning_times.append(total - t_warm)
            else:
                t_warm = bare_run(copy.deepcopy(template), batches, warm, clip)
                total = bare_run(model, batches, warm + args.steps, clip)
                bare_times.append(total - t_warm)
    bs = cfg.data.batch_size
    light_ips = bs * args.steps / statistics.median(lightning_times)
    bare_ips = bs * args.steps / statistics.median(bare_times)
    supply = data_rate(datamodule, args.data_batches)

    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}"
    print(f"\nVAE training step benchmark ({machine})")
    print(f"crop {cfg.data.crop_size}px, batch {bs}, {args.steps} timed steps x {args.repeats} interleaved repeats (medians)\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| bare PyTorch loop, images/s | {bare_ips:.1f} |")
    print(f"| LightningModule + Trainer, images/s | {light_ips:.1f} |")
    print(f"| ratio Lightning / bare (target >= 0.95) | {light_ips / bare_ips:.3f} |")
    print(f"| DataModule supply, synthetic crops/s ({cfg.data.num_workers} workers) | {supply:.1f} |")
    print(f"| training consumption, crops/s | {light_ips:.1f} |")
    print(f"| ratio supply / consumption (target >= 3) | {supply / light_ips:.2f} |")


if __name__ == "__main__":
    main()
