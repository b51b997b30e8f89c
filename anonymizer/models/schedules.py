"""Learning-rate schedules: linear warmup, then constant or cosine decay."""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

DECAYS = ("constant", "cosine")


def warmup_lr_lambda(step: int, warmup_steps: int, total_steps: int, decay: str, min_lr_ratio: float) -> float:
    """Multiplier of the base LR at ``step`` (0-based)."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    if decay == "constant":
        return 1.0
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_schedule(
    optimizer: Optimizer,
    total_steps: int,
    warmup_steps: int = 0,
    decay: str = "constant",
    min_lr_ratio: float = 0.0,
) -> LambdaLR:
    """Linear warmup over ``warmup_steps`` optimizer steps, then ``decay`` until ``total_steps``."""
    if decay not in DECAYS:
        raise ValueError(f"scheduler decay must be one of {DECAYS}, got {decay!r}")
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
    if not 0.0 <= min_lr_ratio <= 1.0:
        raise ValueError(f"min_lr_ratio must be in [0, 1], got {min_lr_ratio}")

    def factor(step: int) -> float:
        return warmup_lr_lambda(step, warmup_steps, total_steps, decay, min_lr_ratio)

    return LambdaLR(optimizer, factor)
