"""Wall-clock figures of a training run: start-up, step rate, total (for the run summary)."""

from __future__ import annotations

import logging
import time
from typing import Any

import lightning as L

log = logging.getLogger(__name__)


def process_start_time(fallback: float) -> float:
    """When this process started (epoch seconds), from psutil when installed, else ``fallback``."""
    try:
        import psutil

        return float(psutil.Process().create_time())
    except (ImportError, OSError):
        return fallback


class RunTimer(L.Callback):
    """Measure seconds from process start to the first training step, the training step rate
    (optimizer steps per second of time spent in training batches, validation excluded) and
    the fit's wall time. ``started`` is the process start (epoch seconds)."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.first_step_at: float | None = None
        self.fit_started: float | None = None
        self._batch_start: float | None = None
        self.batch_seconds = 0.0
        self.batches = 0

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.fit_started = time.time()

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._batch_start = time.time()
        if self.first_step_at is None:
            self.first_step_at = self._batch_start
            log.info("First training step %.1f s after the process started", self.first_step_at - self.started)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if self._batch_start is not None:
            self.batch_seconds += time.time() - self._batch_start
            self.batches += 1
            self._batch_start = None

    def summary(self) -> dict[str, float | None]:
        """``seconds_before_first_step``, ``train_steps_per_second`` (batches; with gradient
        accumulation several make a step) and ``wall_seconds`` so far."""
        now = time.time()
        return {
            "seconds_before_first_step": round(self.first_step_at - self.started, 1) if self.first_step_at else None,
            "train_batches_per_second": round(self.batches / self.batch_seconds, 3) if self.batch_seconds else None,
            "wall_seconds": round(now - self.started, 1),
        }
