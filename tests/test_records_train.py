"""Records from every reader and from synthetic pages train both models through the configs.

Each dataset fixture is built in its published layout, converted with ``prepare`` (the
``python -m anonymizer.data.prepare`` of docs/data.md), and the records train the VAE
(``data=vae_records``) and the inpainting UNet (``data=inpaint_records``) for two steps.
Synthetic pages (``python -m anonymizer.data.synth_pages``) do the same, the UNet on their
sensitive words only. One run goes through the documented command lines as subprocesses.
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from anonymizer.core.records import read_records
from anonymizer.data.prepare import prepare
from anonymizer.data.synth_pages import PageConfig, write_pages
from anonymizer.train import train
from tests.conftest import INPAINT_OVERRIDES, ROOT, TINY_OVERRIDES, compose_train
from tests.fixtures_datasets import BUILDERS

pytestmark = pytest.mark.slow

_SHORT = ["trainer.max_steps=2", "trainer.val_check_interval=2", "trainer.limit_val_batches=1",
          "validate_before_fit=false", "callbacks.image_logger.every_n_steps=0"]


def _records(dataset: str, tmp_path: Path) -> Path:
    folder = BUILDERS[dataset](tmp_path / "raw")
    out = tmp_path / "records" / f"{dataset}.jsonl"
    report = prepare(dataset, folder, out, image_paths="relative")
    assert report.written > 0 and not report.problems
    records, errors = read_records(out)
    assert errors == [] and len(records) == report.written
    return out


def _vae(records: Path) -> list[str]:
    return [o for o in TINY_OVERRIDES if not o.startswith("data.synthetic.")] + [
        "data=vae_records", f"data.records.train={records}", f"data.records.val={records}",
        "data.records.train_size=8", "data.records.val_size=4", "data.records.text_height=[8,16]",
        "callbacks.export=null", *_SHORT,
    ]


def _unet(records: Path) -> list[str]:
    return INPAINT_OVERRIDES + [
        "data=inpaint_records", f"data.records.train={records}", f"data.records.val={records}",
        "data.train_size=8", "data.records.text_height=[8,14]", "model.validation.ocr=false",
        "callbacks.export=null", *_SHORT,
    ]


def _losses(out: Path) -> list[float]:
    rows = list(csv.DictReader((out / "csv" / "metrics.csv").open()))
    return [float(r[k]) for r in rows for k in ("train/loss", "val/loss") if r.get(k)]


@pytest.mark.parametrize("dataset", sorted(BUILDERS))
def test_reader_records_train_vae_and_unet(dataset: str, tmp_path: Path) -> None:
    records = _records(dataset, tmp_path)
    for name, overrides, experiment in (("vae", _vae(records), "vae_kl"), ("unet", _unet(records), "unet_inpaint")):
        out = tmp_path / name
        summary = train(compose_train(out, overrides, experiment=experiment))
        assert summary["global_step"] == 2, name
        assert Path(summary["last_checkpoint"]).is_file(), name
        losses = _losses(out)
        assert losses and all(math.isfinite(v) for v in losses), name


def test_synthetic_page_records_train_vae_and_unet_on_sensitive_words(tmp_path: Path) -> None:
    config = PageConfig(width=500, height=640, receipt_width=300)
    write_pages(3, tmp_path / "pages", seed=1, config=config)
    records = tmp_path / "pages" / "records.jsonl"
    loaded, errors = read_records(records)
    assert errors == [] and len(loaded) == 3 and all(r.sensitive_words() for r in loaded)
    runs = (
        ("vae", _vae(records), "vae_kl"),
        ("unet", _unet(records) + ["data.records.only_sensitive=true"], "unet_inpaint"),
    )
    for name, overrides, experiment in runs:
        out = tmp_path / name
        summary = train(compose_train(out, overrides, experiment=experiment))
        assert summary["global_step"] == 2 and Path(summary["last_checkpoint"]).is_file(), name
        assert all(math.isfinite(v) for v in _losses(out)), name


def test_readme_command_trains_vae_on_prepared_records(tmp_path: Path) -> None:
    """``python -m anonymizer.data.prepare ...`` then ``python -m anonymizer.train ... data=vae_records``."""
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": str(ROOT)}
    folder = BUILDERS["cord"](tmp_path / "raw")
    records = tmp_path / "cord.jsonl"
    subprocess.run([sys.executable, "-m", "anonymizer.data.prepare", "dataset=cord", f"input={folder}",
                    f"output={records}"], check=True, cwd=tmp_path, env=env, capture_output=True, timeout=300)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "anonymizer.train", "+experiment=vae_kl", *_vae(records), f"paths.output_dir={out}",
           f"hydra.run.dir={out}"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert all(math.isfinite(v) for v in _losses(out))


def test_readme_command_writes_synthetic_pages(tmp_path: Path) -> None:
    """``python -m anonymizer.data.synth_pages n=2 out=...`` writes pages whose records read back."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "synth"
    subprocess.run([sys.executable, "-m", "anonymizer.data.synth_pages", "n=2", f"out={out}"], check=True,
                   cwd=tmp_path, env=env, capture_output=True, timeout=300)
    records, errors = read_records(out / "records.jsonl")
    assert errors == [] and len(records) == 2 and all(r.image_path.is_file() for r in records)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synth"]  # nothing else in the working directory
