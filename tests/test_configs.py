"""Every experiment and config-group option composes, and its parts instantiate."""

from __future__ import annotations

from pathlib import Path

import hydra
import lightning as L
import pytest
from omegaconf import OmegaConf

from anonymizer.models.builders import build_autoencoder
from anonymizer.training.instantiate import instantiate_callbacks, instantiate_loggers
from tests.conftest import CONF_DIR, TINY_OVERRIDES, compose_train

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


def test_there_are_experiments() -> None:
    assert "vae_kl" in EXPERIMENTS


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_instantiates(experiment: str, tmp_path: Path) -> None:
    overrides = ["logger=csv"]
    if experiment == "text_edit_proof":  # trains on a vae_kl export, which the command line names
        from tests.tiny_artifacts import save_tiny_vae

        overrides.append(f"model.vae.pretrained={save_tiny_vae(tmp_path / 'vae', export=True)}")
    cfg = compose_train(tmp_path, overrides, experiment=experiment)
    assert OmegaConf.missing_keys(cfg) == set()
    datamodule = hydra.utils.instantiate(cfg.data)
    assert isinstance(datamodule, L.LightningDataModule)
    model = hydra.utils.instantiate(cfg.model)
    assert isinstance(model, L.LightningModule)
    callbacks = instantiate_callbacks(cfg.callbacks)
    loggers = instantiate_loggers(cfg.logger)
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    assert isinstance(trainer, L.Trainer)


def test_seed_recipe_values(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, [])
    assert cfg.model.optimizer.lr == 5e-4
    assert cfg.data.batch_size == 16
    assert cfg.model.loss.kl_weight == 0.00025
    assert cfg.model.loss.perceptual_weight == 0.0  # random-feature LPIPS: a metric, not a loss term (RESULTS)
    assert cfg.trainer.max_steps == 600
    assert cfg.model.loss.perceptual.backbone_weights == "random"  # embedded default: no download
    assert cfg.logger.wandb.mode == "auto"


@pytest.mark.parametrize(
    "overrides",
    [
        ["trainer=gpu"],
        ["trainer=cpu"],
        ["logger=csv"],
        ["logger=many"],
        ["debug=fdr"],
        ["debug=default"],
        ["model/autoencoder=sd2"],
        ["model/autoencoder=pretrained", "model.autoencoder.pretrained=/some/folder"],
        ["data=vae_folder", "data.image_dir=/some/pages"],
        ["callbacks=default"],
    ],
    ids=lambda o: " ".join(o),
)
def test_group_options_compose(overrides: list[str], tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, overrides)
    OmegaConf.to_container(cfg, resolve=True)  # every interpolation resolves


def test_gpu_trainer_uses_bf16(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, ["trainer=gpu"])
    assert cfg.trainer.accelerator == "gpu" and cfg.trainer.precision == "bf16-mixed"


def test_sd2_autoencoder_points_at_the_hub(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, ["model/autoencoder=sd2"])
    assert cfg.model.autoencoder.pretrained == "stabilityai/stable-diffusion-2-inpainting"
    assert cfg.model.autoencoder.subfolder == "vae" and cfg.model.autoencoder.config is None


def test_pretrained_autoencoder_loads_from_a_local_folder(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, TINY_OVERRIDES)
    model = hydra.utils.instantiate(cfg.model)
    folder = tmp_path / "repo"
    model.autoencoder.save_pretrained(folder / "vae")
    cfg2 = compose_train(tmp_path, ["model/autoencoder=sd2", f"model.autoencoder.pretrained={folder}"])
    loaded = hydra.utils.instantiate(cfg2.model.autoencoder)
    assert list(loaded.config.block_out_channels) == list(model.autoencoder.config.block_out_channels)
    with pytest.raises(Exception, match="no such folder"):
        missing = compose_train(
            tmp_path, ["model/autoencoder=sd2", f"model.autoencoder.pretrained={tmp_path / 'nothing'}"]
        )
        hydra.utils.instantiate(missing.model.autoencoder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(Exception, match="could not load AutoencoderKL"):
        build_autoencoder(pretrained=str(empty), subfolder="vae")
