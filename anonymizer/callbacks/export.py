"""Export the best checkpoint's autoencoder at the end of ``fit``."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only

from anonymizer.models.export import export_autoencoder, measure_scaling_factor

log = logging.getLogger(__name__)


class ExportVAE(L.Callback):
    """Write ``<export_dir>`` as a diffusers ``AutoencoderKL`` folder from the best checkpoint.

    The best checkpoint is the ``ModelCheckpoint``'s ``best_model_path``; without one
    (e.g. ``fast_dev_run``) the final weights are exported and ``export_info.json`` says
    so. The ``scaling_factor`` is measured on the validation set.
    """

    def __init__(self, export_dir: str, seed: int = 0) -> None:
        self.export_dir = Path(export_dir)
        self.seed = seed
        self.exported_to: Path | None = None

    @rank_zero_only
    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.interrupted:
            log.warning("Training was interrupted: no export written")
            return
        vae = copy.deepcopy(pl_module.autoencoder)
        vae = getattr(vae, "_orig_mod", vae)
        ckpt_cb = trainer.checkpoint_callback
        best = getattr(ckpt_cb, "best_model_path", "") if ckpt_cb is not None else ""
        if best:
            state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
            vae.load_state_dict(pl_module.autoencoder_state_dict(state))
            source = best
            score = getattr(ckpt_cb, "best_model_score", None)
        else:
            source = "final weights (no best checkpoint was saved)"
            score = None
        vae = vae.to(pl_module.device).eval().float()
        datamodule = trainer.datamodule
        scaling_factor, n_images = measure_scaling_factor(
            vae, datamodule.val_dataloader(), pl_module.device, seed=self.seed
        )
        info = {
            "source_checkpoint": str(source),
            "monitor": getattr(ckpt_cb, "monitor", None),
            "best_score": float(score) if score is not None else None,
            "global_step": trainer.global_step,
            "scaling_factor_images": n_images,
        }
        self.exported_to = export_autoencoder(vae.cpu(), self.export_dir, scaling_factor, info)
        log.info("Exported autoencoder to %s (scaling_factor=%.5f from %d val images)", self.exported_to, scaling_factor, n_images)
