"""End-to-end training through ``anonymizer.train.train`` on tiny models."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import hydra
import pytest
import torch
from diffusers import AutoencoderKL
from omegaconf import open_dict

from anonymizer.train import train
from tests.conftest import TINY_OVERRIDES, compose_train


def test_fast_dev_run(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, TINY_OVERRIDES + ["debug=fdr"])
    summary = train(cfg)
    assert summary["global_step"] == 1
    export = Path(summary["export_dir"])
    info = json.loads((export / "export_info.json").read_text())
    assert "no best checkpoint" in info["source_checkpoint"]
    assert (tmp_path / "summary.json").is_file()


def read_metrics(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_short_fit_logs_checkpoints_and_exports(tiny_cfg, tmp_path: Path) -> None:
    summary = train(tiny_cfg)
    assert summary["global_step"] == 4
    rows = read_metrics(tmp_path / "csv" / "metrics.csv")
    columns = set(rows[0])
    for key in ("train/loss", "train/loss_rec", "train/loss_kl", "train/loss_perceptual",
                "val/loss", "val/psnr", "val/ssim", "val/lpips"):
        assert key in columns, key
    # validation before fit (step 0) and at steps 2 and 4
    assert [k for k in summary["metrics"]["val/psnr"]] == ["first", "last", "best"]
    val_rows = [r for r in rows if r["val/psnr"]]
    assert len(val_rows) == 3
    # the steps-vs-metric curve and the run's timing
    assert [h["step"] for h in summary["history"]] == [0, 2, 4]
    assert [h["val/psnr"] for h in summary["history"]] == pytest.approx([float(r["val/psnr"]) for r in val_rows])
    timing = summary["timing"]
    assert 0 < timing["seconds_before_first_step"] < timing["wall_seconds"] and timing["train_batches_per_second"] > 0
    # checkpoints: best and last
    best = Path(summary["best_checkpoint"])
    assert best.is_file() and Path(summary["last_checkpoint"]).is_file()
    state = torch.load(best, map_location="cpu", weights_only=False)["state_dict"]
    assert not any(k.startswith("loss.perceptual.") for k in state)  # frozen LPIPS not stored
    # images: validation and training panels
    images = sorted(p.name for p in (tmp_path / "images").iterdir())
    assert any(n.startswith("val_") for n in images) and any(n.startswith("train_") for n in images)
    # export equals the best checkpoint's autoencoder, with a measured scaling factor
    export = Path(summary["export_dir"])
    assert export == tmp_path / "export" / "vae"
    reloaded = AutoencoderKL.from_pretrained(export).eval()
    module = hydra.utils.instantiate(tiny_cfg.model)
    module.load_state_dict(torch.load(best, map_location="cpu", weights_only=False)["state_dict"], strict=False)
    module.eval()
    images_in = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        expected, _ = module(images_in)
        got = reloaded.decode(reloaded.encode(images_in).latent_dist.mode()).sample
    assert torch.equal(expected, got)
    info = json.loads((export / "export_info.json").read_text())
    assert info["source_checkpoint"] == str(best)
    assert reloaded.config.scaling_factor == pytest.approx(info["scaling_factor"])
    assert reloaded.config.scaling_factor != pytest.approx(0.18215)


def test_decoder_only_keeps_encoder_frozen(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, TINY_OVERRIDES + ["debug=fdr", "model.train_decoder_only=true"])
    model = hydra.utils.instantiate(cfg.model)
    before = {k: v.clone() for k, v in model.autoencoder.encoder.state_dict().items()}
    decoder_before = model.autoencoder.decoder.conv_out.weight.clone()
    datamodule = hydra.utils.instantiate(cfg.data)
    trainer = hydra.utils.instantiate(cfg.trainer, logger=False, callbacks=[])
    trainer.fit(model, datamodule=datamodule)
    after = model.autoencoder.encoder.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not torch.equal(decoder_before, model.autoencoder.decoder.conv_out.weight)


def test_wandb_offline_run_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no_netrc"))
    overrides = [o for o in TINY_OVERRIDES if not o.startswith("logger=")] + ["logger=wandb", "trainer.max_steps=2"]
    cfg = compose_train(tmp_path, overrides)
    train(cfg)
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    run_file = next(runs[0].glob("run-*.wandb"))
    for _ in range(40):  # the W&B service process may still be flushing after finish()
        if run_file.stat().st_size > 7:
            break
        time.sleep(0.5)
    history, config = read_offline_run(run_file)
    for key in ("train/loss", "train/loss_rec", "train/loss_kl", "train/loss_perceptual",
                "val/loss", "val/psnr", "val/ssim", "val/lpips"):
        assert key in history, key
    assert "val/images/filenames" in history and "train/images/filenames" in history  # image panels
    assert list((runs[0] / "files" / "media" / "images" / "val").glob("*.png"))
    assert config["model"]["loss"]["kl_weight"] == 0.00025
    assert config["model"]["loss"]["perceptual"]["backbone_weights"] == "random"
    assert config["run_info"]["perceptual_backbone_weights"] == "random"


def read_offline_run(path: Path) -> tuple[set[str], dict]:
    """History keys and the config of an offline W&B run file."""
    from wandb.proto import wandb_internal_pb2 as pb
    from wandb.sdk.internal import datastore

    store = datastore.DataStore()
    store.open_for_scan(str(path))
    keys: set[str] = set()
    config: dict = {}
    while (data := store.scan_data()) is not None:
        record = pb.Record()
        record.ParseFromString(data)
        kind = record.WhichOneof("record_type")
        if kind == "history":
            keys.update(item.key or "/".join(item.nested_key) for item in record.history.item)
        elif kind == "config":
            for item in record.config.update:
                config[item.key] = json.loads(item.value_json)
    config = {k: (v["value"] if isinstance(v, dict) and "value" in v else v) for k, v in config.items()}
    return keys, config


def test_bad_config_values_fail_clearly(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, TINY_OVERRIDES + ["data.batch_size=-2"])
    with pytest.raises(Exception, match="batch_size"):
        train(cfg)
    cfg = compose_train(tmp_path, TINY_OVERRIDES + ["model.loss.kl_weight=-1"])
    with pytest.raises(Exception, match="kl_weight"):
        train(cfg)
    cfg = compose_train(tmp_path, TINY_OVERRIDES)
    with open_dict(cfg):
        cfg.model.autoencoder.pretrained = str(tmp_path / "no_such_vae")
    with pytest.raises(Exception, match="exactly one"):
        train(cfg)



def test_bf16_mixed_precision_step(tmp_path: Path) -> None:
    """The GPU recipe's precision (bf16-mixed) also runs on CPU: finite loss, weights updated."""
    cfg = compose_train(tmp_path, TINY_OVERRIDES + ["debug=fdr", "trainer.precision=bf16-mixed"])
    model = hydra.utils.instantiate(cfg.model)
    before = model.autoencoder.decoder.conv_out.weight.detach().clone()
    trainer = hydra.utils.instantiate(cfg.trainer, logger=False, callbacks=[])
    trainer.fit(model, datamodule=hydra.utils.instantiate(cfg.data))
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
    after = model.autoencoder.decoder.conv_out.weight
    assert after.dtype == torch.float32 and torch.isfinite(after).all() and not torch.equal(before, after)
