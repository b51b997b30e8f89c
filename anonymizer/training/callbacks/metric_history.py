"""Record logged validation metrics after every validation, for the final summary."""

from __future__ import annotations

import math

import lightning as L


class MetricHistory(L.Callback):
    """Keeps ``[(global_step, {metric: value})]`` of every non-sanity validation run."""

    def __init__(self, prefix: str = "val/") -> None:
        self.prefix = prefix
        self.history: list[tuple[int, dict[str, float]]] = []

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        values = {
            k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(self.prefix) and v.numel() == 1
        }
        if values:
            self.history.append((trainer.global_step, values))

    def state_dict(self) -> dict:
        """Saved in checkpoints, so a resumed run's summary covers the whole run."""
        return {"history": [[step, dict(values)] for step, values in self.history]}

    def load_state_dict(self, state_dict: dict) -> None:
        self.history = [(int(step), dict(values)) for step, values in state_dict.get("history", [])]

    def table(self) -> dict[str, dict[str, float]]:
        """``{metric: {"first", "last", "best"?}}`` over the recorded history."""
        out: dict[str, dict[str, float]] = {}
        for _, values in self.history:
            for key, value in values.items():
                row = out.setdefault(key, {"first": value})
                row["last"] = value
        for key, row in out.items():
            series = [v[key] for _, v in self.history if key in v and not math.isnan(v[key])]
            if series:
                higher_is_better = any(s in key for s in ("psnr", "ssim", "glyph_effect", "_acc", "f1", "precision",
                                                          "recall"))
                row["best"] = max(series) if higher_is_better else min(series)
        return out
