"""Real DDP (2 CPU processes, gloo) through the command line, single runs and inside a multirun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import hydra
import pytest
import torch
import yaml

from tests.conftest import ROOT, TINY_OVERRIDES, compose_train

# 32 synthetic crops, batch 4 per rank: one epoch is 4 steps on 2 ranks (8 on one).
DDP_OVERRIDES = [o for o in TINY_OVERRIDES if not o.startswith(("logger=", "trainer.max_steps"))] + [
    "trainer=ddp_cpu",
    "data.synthetic.train_size=32",
    "trainer.max_steps=-1",
    "trainer.max_epochs=1",
]


def run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "PYTHONUNBUFFERED": "1"}
    env.pop("WANDB_API_KEY", None)
    proc = subprocess.run([sys.executable, "-m", "anonymizer.train", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


@pytest.mark.slow
def test_ddp_cpu_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "one"
    proc = run(["+experiment=vae_kl", *DDP_OVERRIDES, "logger=wandb", f"hydra.run.dir={run_dir}"], tmp_path)
    assert "GLOBAL_RANK: 1" in proc.stderr and "GLOBAL_RANK: 0" in proc.stderr  # two ranks ran
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["one"]  # one Hydra output dir
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["global_step"] == 4  # 32 crops / (4 per rank x 2 ranks): global batch = 2 x per-rank batch
    check = json.loads((run_dir / "ddp_check.json").read_text())
    assert check["world_size"] == 2 and check["weights_equal"]
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1  # one W&B run
    assert [p.name for p in (run_dir / "export").iterdir()] == ["vae"]  # one export
    cfg = compose_train(tmp_path, TINY_OVERRIDES)
    module = hydra.utils.instantiate(cfg.model)
    state = torch.load(summary["last_checkpoint"], map_location="cpu", weights_only=False)
    result = module.load_state_dict(state["state_dict"], strict=False)  # the checkpoint reloads
    assert not result.unexpected_keys
    assert all(k.startswith("loss.perceptual.") for k in result.missing_keys)  # frozen LPIPS is not stored
    assert state["global_step"] == 4


@pytest.mark.slow
def test_ddp_inside_a_multirun_trains_each_trial_once_with_its_parameters(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    run(["-m", "+experiment=vae_kl", *DDP_OVERRIDES, "logger=csv", f"hydra.sweep.dir={sweep}",
         "model.loss.kl_weight=0.000001,0.0001"], tmp_path)
    trials = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name for p in trials] == ["0", "1"]  # no extra dirs from re-launched sweeps
    prints = []
    for trial, weight in zip(trials, (1e-6, 1e-4)):
        check = json.loads((trial / "ddp_check.json").read_text())
        assert check["world_size"] == 2 and check["weights_equal"]
        prints.append(check["config_fingerprint"])
        resolved = yaml.safe_load((trial / "config_resolved.yaml").read_text())
        assert resolved["model"]["loss"]["kl_weight"] == pytest.approx(weight)
        assert (trial / "export" / "vae" / "config.json").is_file()
        assert json.loads((trial / "summary.json").read_text())["global_step"] == 4
    assert prints[0] != prints[1]
