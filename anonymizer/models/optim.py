"""Optimizer and LR-scheduler wiring shared by the LightningModules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


def configure_optimizer(
    optimizer_factory: Callable[..., torch.optim.Optimizer],
    scheduler_factory: Callable[..., Any] | None,
    params: Iterable[torch.nn.Parameter],
    total_steps: int,
) -> Any:
    """What ``configure_optimizers`` returns: the optimizer over ``params`` and, when a
    scheduler factory is configured, its per-step LR scheduler."""
    optimizer = optimizer_factory(params=list(params))
    if scheduler_factory is None:
        return optimizer
    scheduler = scheduler_factory(optimizer=optimizer, total_steps=int(total_steps))
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1}}
