"""Export the best checkpoint's models at the end of ``fit`` (rank zero only)."""

from __future__ import annotations

import copy
import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only

from anonymizer.models.export import export_autoencoder, export_text_edit, measure_scaling_factor

log = logging.getLogger(__name__)


def best_checkpoint(trainer: L.Trainer) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """``(checkpoint or None, info)`` of the ``ModelCheckpoint``'s best model.

    Without one (e.g. ``fast_dev_run``) the final weights are used and ``info`` says so.
    """
    ckpt_cb = trainer.checkpoint_callback
    best = getattr(ckpt_cb, "best_model_path", "") if ckpt_cb is not None else ""
    score = getattr(ckpt_cb, "best_model_score", None) if best else None
    info = {
        "source_checkpoint": best or "final weights (no best checkpoint was saved)",
        "monitor": getattr(ckpt_cb, "monitor", None),
        "best_score": float(score) if score is not None else None,
        "global_step": trainer.global_step,
    }
    checkpoint = torch.load(best, map_location="cpu", weights_only=False) if best else None
    return checkpoint, info


def _submodule_state(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):].removeprefix("_orig_mod."): v for k, v in state.items() if k.startswith(prefix)}


class _ExportAtFitEnd(L.Callback, ABC):
    """Calls ``export(trainer, module)`` on rank zero at the end of an uninterrupted fit."""

    def __init__(self, export_dir: str) -> None:
        self.export_dir = Path(export_dir)
        self.exported_to: Path | None = None

    @rank_zero_only
    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.interrupted:
            log.warning("Training was interrupted: no export written")
            return
        self.exported_to = self.export(trainer, pl_module)
        log.info("Exported to %s", self.exported_to)

    @abstractmethod
    def export(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Path:
        """Write the export folder and return its path."""


class ExportVAE(_ExportAtFitEnd):
    """Write ``export_dir`` as a diffusers ``AutoencoderKL`` folder from the best checkpoint,
    with a ``scaling_factor`` measured on the validation set."""

    def __init__(self, export_dir: str, seed: int = 0) -> None:
        super().__init__(export_dir)
        self.seed = seed

    def export(self, trainer: L.Trainer, pl_module: L.LightningModule) -> Path:
        vae = copy.deepcopy(getattr(pl_module.autoencoder, "_orig_mod", pl_module.autoencoder))
        checkpoint, info = best_checkpoint(trainer)
        if checkpoint is not None:
            vae.load_state_dict(_submodule_state(checkpoint["state_dict"], "autoencoder."))
        vae = vae.to(pl_module.device).eval().float()
        scaling_factor, n_images = measure_scaling_factor(
            vae, trainer.datamodule.val_dataloader(), pl_module.device, seed=self.seed
        )
        info["scaling_factor_images"] = n_images
        log.info("Measured scaling_factor=%.5f on %d val images", scaling_factor, n_images)
        return export_autoencoder(vae.cpu(), self.export_dir, scaling_factor, info)


class ExportTextEdit(_ExportAtFitEnd):
    """Write ``export_dir`` as a text-edit folder (see ``anonymizer.pipeline.text_edit``) from
    the best checkpoint; with EMA on, the UNet and the trained parts of the conditioner get
    their EMA weights. The config records the text-height range the model was trained on
    (:meth:`~anonymizer.data.inpaint_datamodule.InpaintDataModule.text_height_range`), to
    which the pipeline resamples boxes."""

    def export(self, trainer: L.Trainer, module: L.LightningModule) -> Path:
        from anonymizer.models.inpaint_module import ema_named_parameters

        unet = copy.deepcopy(module.unet).cpu()
        conditioner = copy.deepcopy(module.conditioner).cpu()
        checkpoint, info = best_checkpoint(trainer)
        ema_state = module.ema.state_dict() if module.ema is not None else None
        if checkpoint is not None:
            unet.load_state_dict(_submodule_state(checkpoint["state_dict"], "unet."))
            conditioner.load_state_dict(_submodule_state(checkpoint["state_dict"], "conditioner."))
            ema_state = module.ema_state(checkpoint) or ema_state
        if ema_state is not None:
            ema = copy.deepcopy(module.ema)
            ema.load_state_dict(ema_state)
            ema.to(device="cpu")
            ema.copy_to([p for _, p in ema_named_parameters(unet, conditioner)])
        datamodule = trainer.datamodule
        data = datamodule.describe()
        config = {
            "resolution": data["resolution"],
            "crop_side": data["crop_side"],
            "mask_margin": data["mask_margin"],
            "text_height": datamodule.text_height_range(),
            "glyph": data["glyph"],
            "conditioning": {
                "encoder_hidden_size": conditioner.hidden_size,
                "cross_attention_dim": conditioner.cross_attention_dim,
                "projection": "identity" if isinstance(conditioner.projection, torch.nn.Identity) else "linear",
                "unconditional": "zeros",
            },
            "prediction_type": module.prediction_type,
            "unet_input_channels": ["noisy_latents:4", "mask:1", "masked_image_latents:4"],
            "ema": ema_state is not None,
            **info,
        }
        return export_text_edit(
            unet, copy.deepcopy(module.vae).cpu(), conditioner, module.noise_scheduler,
            datamodule.glyph.processor, self.export_dir, config,
        )


def _train_command() -> str | None:
    """``python -m anonymizer.train <overrides>`` of the running Hydra job, if any."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    return " ".join(["python -m anonymizer.train", *HydraConfig.get().overrides.task])


class ExportPiiTagger(_ExportAtFitEnd):
    """Write ``export_dir`` as a PII tagger folder (:func:`~anonymizer.models.export.export_pii_tagger`)
    from the best checkpoint, with the validation scores recorded at its step
    (:class:`~anonymizer.training.callbacks.metric_history.MetricHistory`) and ``command``
    (how the run was started) in its manifest."""

    def __init__(self, export_dir: str, command: str | None = None) -> None:
        super().__init__(export_dir)
        self.command = command or _train_command()

    def export(self, trainer: L.Trainer, module: L.LightningModule) -> Path:
        from anonymizer.models.export import export_pii_tagger
        from anonymizer.training.callbacks.metric_history import MetricHistory

        net = copy.deepcopy(module.net).cpu()
        checkpoint, info = best_checkpoint(trainer)
        step = trainer.global_step
        if checkpoint is not None:
            net.load_state_dict(_submodule_state(checkpoint["state_dict"], "net."))
            step = int(checkpoint.get("global_step", step))
        history = next((c.history for c in trainer.callbacks if isinstance(c, MetricHistory)), [])
        at_step = [values for s, values in history if s == step] or [v for _, v in history[-1:]]
        metrics = {k.removeprefix("val/"): v for k, v in (at_step[-1] if at_step else {}).items()}
        if not metrics:
            metrics = {k.removeprefix("val/"): float(v) for k, v in trainer.callback_metrics.items()
                       if k.startswith("val/") and v.numel() == 1}
        info = {**info, "metrics_step": step, "command": self.command, "data": trainer.datamodule.describe(),
                "val_f1": metrics.get("f1")}
        return export_pii_tagger(net.state_dict(), net.config.to_dict(), self.export_dir, metrics, info)
