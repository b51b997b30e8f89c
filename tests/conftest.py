"""Shared fixtures: Hydra configs composed for tiny, fast CPU runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from anonymizer.core.entry import CONF_DIR

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("WANDB_DISABLE_GIT", "true")

# A very small model and data setup shared by the training tests.
TINY_OVERRIDES = [
    "data.crop_size=32",
    "data.batch_size=4",
    "data.num_workers=0",
    "data.synthetic.train_size=64",
    "data.synthetic.val_size=8",
    "model.autoencoder.config.block_out_channels=[8,16]",
    "model.autoencoder.config.down_block_types=[DownEncoderBlock2D,DownEncoderBlock2D]",
    "model.autoencoder.config.up_block_types=[UpDecoderBlock2D,UpDecoderBlock2D]",
    "model.autoencoder.config.norm_num_groups=4",
    "model.autoencoder.config.sample_size=32",
    "logger=csv",
    "trainer.max_steps=4",
    "trainer.val_check_interval=2",
    "trainer.log_every_n_steps=1",
    "trainer.enable_model_summary=false",
    "callbacks.image_logger.every_n_steps=2",
]


def compose_train(tmp_path: Path, overrides: list[str] | None = None, experiment: str | None = "vae_kl") -> DictConfig:
    """Compose ``anonymizer/conf/train.yaml`` as the command line would, with output under ``tmp_path``."""
    GlobalHydra.instance().clear()
    args = ([f"+experiment={experiment}"] if experiment else []) + list(overrides or [])
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=args, return_hydra_config=True)
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path)
        cfg.paths.log_dir = str(tmp_path / "logs")
        del cfg.hydra
    return cfg


# The unet_inpaint experiment shrunk: 32-px samples, 2-step sampling.
INPAINT_OVERRIDES = [
    "data.resolution=32",
    "data.crop_side=32",
    "data.source_size=64",
    "data.batch_size=4",
    "data.num_workers=0",
    "data.train_size=16",
    "data.val_size=4",
    "data.glyph.processor.image_size=32",
    "model.glyph_encoder.config.image_size=32",
    "model.unet.config.sample_size=8",
    "model.vae.config.block_out_channels=[8,16,16]",
    "model.vae.config.norm_num_groups=4",
    "model.validation.steps=2",
    "logger=csv",
    "trainer.max_steps=4",
    "trainer.val_check_interval=2",
    "trainer.log_every_n_steps=1",
    "trainer.enable_model_summary=false",
    "callbacks.image_logger.every_n_steps=2",
]


@pytest.fixture
def tiny_cfg(tmp_path: Path) -> DictConfig:
    """The vae_kl experiment shrunk to a few seconds of CPU work."""
    return compose_train(tmp_path, TINY_OVERRIDES)
