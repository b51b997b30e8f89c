"""Callbacks that tests add to training subprocesses (``+callbacks.<name>._target_=tests.probes...``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L


class TimestepProbe(L.Callback):
    """Write the timesteps of the first training forward of the UNet to ``<out_dir>/timesteps_rank<r>.json``."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = Path(out_dir)
        self._hook: Any = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        rank = trainer.global_rank

        def record(module: Any, args: tuple) -> None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / f"timesteps_rank{rank}.json").write_text(json.dumps(args[1].tolist()))
            self._hook.remove()

        self._hook = pl_module.unet.register_forward_pre_hook(record)
