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
import time

import hydra
import torch
from bench_common import compose_cfg, interleaved_medians, lightning_seconds, machine, quiet


def bare_seconds(template, batches: list, steps: int, clip: float) -> float:
    """The same work without Lightning: forward, loss, backward, clip, step, schedule."""
    model = copy.deepcopy(template)
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
    it = iter(datamodule.train_dataloader())
    next(it)
    start = time.perf_counter()
    n = sum(next(it)["image"].shape[0] for _ in range(batches))
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30, help="timed optimizer steps per run")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each loop")
    parser.add_argument("--data-batches", type=int, default=40, help="batches drawn to time the data loader")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. data.crop_size=128")
    args = parser.parse_args()
    quiet()

    cfg = compose_cfg("vae_kl", args.overrides)
    clip = float(cfg.trainer.gradient_clip_val or 0.0) or float("inf")
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    loader = iter(torch.utils.data.DataLoader(datamodule.train_set, batch_size=cfg.data.batch_size, num_workers=0))
    batches = [next(loader) for _ in range(8)]
    torch.manual_seed(0)
    template = hydra.utils.instantiate(cfg.model)
    medians = interleaved_medians(
        {
            "lightning": lambda n: lightning_seconds(copy.deepcopy(template), batches, n, clip),
            "bare": lambda n: bare_seconds(template, batches, n, clip),
        },
        steps=args.steps, warm=3, repeats=args.repeats,
    )
    bs = cfg.data.batch_size
    light_ips = bs * args.steps / medians["lightning"]
    bare_ips = bs * args.steps / medians["bare"]
    supply = data_rate(datamodule, args.data_batches)

    print(f"\nVAE training step benchmark ({machine()})")
    print(f"crop {cfg.data.crop_size}px, batch {bs}, "
          f"{args.steps} timed steps x {args.repeats} interleaved repeats (medians)\n")
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
