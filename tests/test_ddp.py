"""Real DDP (2 CPU processes, gloo) through the command line, single runs and inside a multirun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import hydra
import pytest
import torch
import yaml

from anonymizer.training.callbacks.resume import RUN_STATE_KEY, RunState, collect_rng_states, set_rng_states
from anonymizer.training.ddp import RankSeed, rank_seed
from tests.conftest import INPAINT_OVERRIDES, ROOT, TINY_OVERRIDES, compose_train

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


def _draw() -> list[int]:
    return torch.randint(0, 1000, (8,)).tolist()


def test_ranks_above_zero_are_reseeded_at_fit_start() -> None:
    assert rank_seed(42, 0) == 42 and len({rank_seed(42, r) for r in range(4)}) == 4
    draws = []
    for rank in (0, 1, 2):
        torch.manual_seed(42)  # what seed_everything gives every rank
        RankSeed(42).setup(SimpleNamespace(world_size=3, global_rank=rank), None, "fit")
        draws.append(_draw())
    torch.manual_seed(42)
    assert draws[0] == _draw()  # rank zero keeps the single-process stream
    assert len({tuple(d) for d in draws}) == 3
    torch.manual_seed(42)
    RankSeed(42).setup(SimpleNamespace(world_size=1, global_rank=0), None, "fit")
    assert _draw() == draws[0]


def test_each_rank_resumes_from_its_own_rng_states(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    states = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        states.append(collect_rng_states())
    expected = []
    for state in states:
        set_rng_states(state)
        expected.append(_draw())
    import torch.distributed as dist

    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    monkeypatch.setattr(dist, "all_gather_object", lambda out, obj: out.__setitem__(slice(None), states))
    checkpoint: dict = {}
    RunState().on_save_checkpoint(SimpleNamespace(loggers=[]), None, checkpoint)
    assert len(checkpoint[RUN_STATE_KEY]["rng_per_rank"]) == 2
    for rank in (0, 1):
        callback = RunState()
        trainer = SimpleNamespace(global_rank=rank, world_size=2)
        callback.on_load_checkpoint(trainer, None, checkpoint)
        callback.on_train_start(trainer, None)
        assert _draw() == expected[rank]
    # a checkpoint with rank zero's states only: rank 1 gets its own, derived states
    old = {RUN_STATE_KEY: {"rng": states[0]}}
    callback = RunState()
    with caplog.at_level("WARNING"):
        callback.on_load_checkpoint(SimpleNamespace(global_rank=1, world_size=2), None, old)
    callback.on_train_start(None, None)
    assert "derived" in caplog.text and _draw() not in expected


@pytest.mark.slow
def test_ddp_ranks_draw_different_timesteps(tmp_path: Path) -> None:
    base = [o for o in INPAINT_OVERRIDES if not o.startswith(("logger=", "trainer.max_steps", "trainer.val_check"))]
    run(["+experiment=unet_inpaint", *base, "trainer=ddp_cpu", "logger=csv", "trainer.max_steps=2",
         "trainer.val_check_interval=1000", "validate_before_fit=false", "callbacks.export=null",
         "callbacks.image_logger=null", f"hydra.run.dir={tmp_path / 'run'}",
         "+callbacks.probe._target_=tests.probes.TimestepProbe", f"+callbacks.probe.out_dir={tmp_path / 'probe'}"],
        tmp_path)
    drawn = [json.loads((tmp_path / "probe" / f"timesteps_rank{r}.json").read_text()) for r in (0, 1)]
    assert len(drawn[0]) == len(drawn[1]) == 4 and drawn[0] != drawn[1]
    assert json.loads((tmp_path / "run" / "ddp_check.json").read_text())["weights_equal"]
