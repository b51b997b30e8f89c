"""Hydra multirun sweeps of the VAE: seeded Optuna search, plain grids, failed trials, summaries.

The ``slow`` tests run the real command line (``python -m anonymizer.train -m ...``) as
subprocesses on the tiny setup of ``TINY_OVERRIDES`` with 2 training steps per trial.

The failing trial is a real failure mode, not a test switch: ``model.loss.kl_weight=1e39``
passes the config check (a non-negative number) but exceeds the float32 range, so the
weighted KL term, and with it the first training loss, is ``inf``; ``VAEModule`` then
raises ``FloatingPointError`` at step 0, deterministically, as it does for any loss that
diverges to inf/NaN.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from anonymizer.training.sweep_summary import STATUS_FILE, write_summary, write_trial_status
from anonymizer.training.sweeps import failure_value, run_trial
from tests.conftest import CONF_DIR, ROOT, TINY_OVERRIDES

SWEPT = ("model.loss.kl_weight", "model.loss.perceptual_weight", "model.optimizer.lr")
FAILING_KL = "1e39"  # finite in Python, inf in float32: see the module docstring
SWEEP_OVERRIDES = [o for o in TINY_OVERRIDES if not o.startswith("trainer.max_steps")] + ["trainer.max_steps=2"]


def sweep(args: list[str], sweep_dir: Path, tmp_path: Path, multirun: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m anonymizer.train [-m] +experiment=vae_kl <tiny> <args>`` with W&B offline."""
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "PYTHONUNBUFFERED": "1",
           "NETRC": str(tmp_path / "no_netrc")}
    env.pop("WANDB_API_KEY", None)
    where = f"hydra.sweep.dir={sweep_dir}" if multirun else f"hydra.run.dir={sweep_dir}"
    cmd = [sys.executable, "-m", "anonymizer.train", *(["-m"] if multirun else []), "+experiment=vae_kl",
           *SWEEP_OVERRIDES, where, *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def read_summary(sweep_dir: Path) -> list[dict[str, str]]:
    with (sweep_dir / "sweep_summary.csv").open() as f:
        return list(csv.DictReader(f))


def trial_dirs(sweep_dir: Path) -> list[Path]:
    return sorted((p for p in sweep_dir.iterdir() if p.is_dir()), key=lambda p: p.name)


def read_wandb_run(run_dir: Path) -> tuple[str, str]:
    """(group, display name) of an offline W&B run, from its run record."""
    from wandb.proto import wandb_internal_pb2 as pb
    from wandb.sdk.internal import datastore

    run_file = next(run_dir.glob("run-*.wandb"))
    for _ in range(40):  # the W&B service process may still be flushing after finish()
        if run_file.stat().st_size > 7:
            break
        time.sleep(0.5)
    store = datastore.DataStore()
    store.open_for_scan(str(run_file))
    while (data := store.scan_data()) is not None:
        record = pb.Record()
        record.ParseFromString(data)
        if record.WhichOneof("record_type") == "run":
            return record.run.run_group, record.run.display_name
    raise AssertionError(f"no run record in {run_file}")


# ---------------------------------------------------------------- configuration


def compose_with_hydra(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=True)


def test_hparams_search_composes_without_plus_and_is_seeded() -> None:
    cfg = compose_with_hydra(["+experiment=vae_kl", "hparams_search=vae_optuna"])
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper")
    assert sweeper.sampler._target_ == "optuna.samplers.TPESampler"
    assert isinstance(sweeper.sampler.seed, int)  # a seeded sampler: reproducible, and DDP-safe
    assert str(getattr(sweeper.direction, "name", sweeper.direction)) == "maximize"
    assert sweeper.n_jobs == 1 and sweeper.n_trials == 20
    assert set(sweeper.params) == set(SWEPT)
    assert cfg.optimized_metric == "val/psnr"
    assert cfg.model.loss.kl_weight == 0.00025  # the experiment still applies
    assert "sweep_summary" in cfg.hydra.callbacks


def test_default_config_has_no_sweeper_and_experiment_still_composes() -> None:
    cfg = compose_with_hydra(["+experiment=vae_kl"])
    assert cfg.hydra.sweeper._target_.endswith("BasicSweeper")
    assert cfg.optimized_metric == "val/lpips"
    assert cfg.tags == ["vae", "vae_kl"]


def test_readme_sweep_commands_compose() -> None:
    """Every ``anonymizer.train -m`` command of the Sweeps section of docs/training.md composes."""
    import shlex

    section = (ROOT / "docs" / "training.md").read_text().split("\n## Sweeps\n")[1].split("\n## ")[0]
    commands = [shlex.split(c) for c in section.replace("\\\n", " ").splitlines()
                if c.startswith(".venv/bin/python -m anonymizer.train -m")]
    assert len(commands) >= 4
    from hydra.core.override_parser.overrides_parser import OverridesParser

    for command in commands:
        args = [f"{o.get_key_element()}={next(o.sweep_string_iterator())}" if o.is_sweep_override() else o.input_line
                for o in OverridesParser.create().parse_overrides(command[4:])]  # a grid's first trial
        cfg = compose_with_hydra(args)
        assert cfg.model.loss.kl_weight > 0


def test_failure_value_is_the_worst_for_the_direction() -> None:
    assert failure_value(OmegaConf.create({"sweeper": {"direction": "maximize"}})) == -math.inf
    assert failure_value(OmegaConf.create({"sweeper": {"direction": "minimize"}})) == math.inf
    assert failure_value(OmegaConf.create({"sweeper": {"direction": ["minimize"]}})) == math.inf
    assert failure_value(OmegaConf.create({"sweeper": {"max_batch_size": None}})) is None  # basic sweeper


def test_summary_from_trial_dirs(tmp_path: Path) -> None:
    def trial(num: int, overrides: list[str], status: dict | None) -> None:
        d = tmp_path / str(num)
        (d / ".hydra").mkdir(parents=True)
        (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
        if status is not None:
            write_trial_status(d, {"trial": num, "metric": "val/psnr", **status})

    common = ["+experiment=vae_kl", "logger=csv"]
    trial(0, common + ["model.loss.kl_weight=1e-06"], {"status": "ok", "objective": 12.5})
    trial(1, common + ["model.loss.kl_weight=1e39"], {"status": "failed", "objective": None,
                                                       "error": "FloatingPointError: non-finite | loss"})
    trial(2, common + ["model.loss.kl_weight=0.0001"], {"status": "ok", "objective": 14.25})
    trial(10, common + ["model.loss.kl_weight=0.001"], None)  # interrupted: no status file
    trials = write_summary(tmp_path, "val/psnr", "maximize", ["model.loss.kl_weight"])
    assert [t.number for t in trials] == [0, 1, 2, 10]  # numeric order, not "10" < "2"
    rows = read_summary(tmp_path)
    assert [r["trial"] for r in rows] == ["0", "1", "2", "10"]
    assert [r["status"] for r in rows] == ["ok", "failed", "ok", "unknown"]
    assert [r["model.loss.kl_weight"] for r in rows] == ["1e-06", "1e+39", "0.0001", "0.001"]
    assert rows[0]["val/psnr"] == "12.5" and rows[1]["val/psnr"] == ""
    assert rows[1]["error"].startswith("FloatingPointError")
    assert "logger" not in rows[0]  # constant overrides are not parameters
    md = (tmp_path / "sweep_summary.md").read_text()
    assert "4 trials (2 ok, 1 failed, 1 unknown)" in md
    assert "Best: trial 2, val/psnr = 14.25." in md
    assert "non-finite \\| loss" in md  # a '|' in an error does not break the table
    assert len([line for line in md.splitlines() if line.startswith("| ")]) == 5  # header + 4 rows


def test_trial_status_is_strict_json(tmp_path: Path) -> None:
    path = write_trial_status(tmp_path, {"status": "ok", "objective": math.inf, "params": {"a": [math.nan]}})
    assert path.name == STATUS_FILE
    assert json.loads(path.read_text()) == {"status": "ok", "objective": None, "params": {"a": [None]}}


def test_trial_outcomes_in_process(tmp_path: Path) -> None:
    """``run_trial`` with a stand-in ``train``: success, CUDA out of memory, Ctrl+C."""
    sweep_dir = tmp_path / "sweep"
    hc = OmegaConf.create({
        "sweep": {"dir": str(sweep_dir)}, "job": {"num": 0},
        "overrides": {"task": ["+experiment=vae_kl", "model.optimizer.lr=0.001"]},
        "sweeper": {"direction": "maximize", "params": {"model.optimizer.lr": "tag(log, interval(1e-5, 1e-3))"}},
        "runtime": {"choices": {"hparams_search": "vae_optuna"}},
    })

    def cfg_for(num: int):
        hc.job.num = num
        (sweep_dir / str(num) / ".hydra").mkdir(parents=True)
        (sweep_dir / str(num) / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(list(hc.overrides.task)))
        return OmegaConf.create({"task_name": "train", "optimized_metric": "val/psnr",
                                 "paths": {"output_dir": str(sweep_dir / str(num))},
                                 "logger": {"wandb": {"name": "x", "group": None}}})

    cfg = cfg_for(0)
    assert run_trial(cfg, hc, lambda c: {"optimized_metric": {"val/psnr": 12.0}}) == 12.0
    assert cfg.logger.wandb.group == "train-vae_optuna-sweep"
    assert cfg.logger.wandb.name == "train-vae_optuna-sweep-trial0"
    status = json.loads((sweep_dir / "0" / STATUS_FILE).read_text())
    assert status["status"] == "ok" and status["objective"] == 12.0
    assert status["params"] == {"+experiment": "vae_kl", "model.optimizer.lr": "0.001"}

    def oom(c):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    assert run_trial(cfg_for(1), hc, oom) == -math.inf  # the worst value when maximizing; no exception
    status = json.loads((sweep_dir / "1" / STATUS_FILE).read_text())
    assert status["status"] == "failed" and status["error"].startswith("OutOfMemoryError: CUDA out of memory")

    assert run_trial(cfg_for(2), hc, lambda c: {"optimized_metric": None}) == -math.inf  # metric never logged
    assert "was not logged" in json.loads((sweep_dir / "2" / STATUS_FILE).read_text())["error"]

    def interrupted(c):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # Ctrl+C / SIGTERM still stop the sweep
        run_trial(cfg_for(3), hc, interrupted)
    assert [r["status"] for r in read_summary(sweep_dir)] == ["ok", "failed", "failed", "interrupted"]


# ---------------------------------------------------------------- real sweeps


@pytest.mark.slow
def test_optuna_sweep_is_seeded_and_summarized(tmp_path: Path) -> None:
    sampled = []
    for name in ("a", "b"):
        sweep_dir = tmp_path / name
        proc = sweep(["hparams_search=vae_optuna", "hydra.sweeper.n_trials=3"], sweep_dir, tmp_path)
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert [p.name for p in trial_dirs(sweep_dir)] == ["0", "1", "2"]  # one dir per trial
        rows = read_summary(sweep_dir)
        assert [r["trial"] for r in rows] == ["0", "1", "2"]
        assert all(r["status"] == "ok" for r in rows)
        for row, trial in zip(rows, trial_dirs(sweep_dir)):
            status = json.loads((trial / STATUS_FILE).read_text())
            summary = json.loads((trial / "summary.json").read_text())
            assert status["objective"] == pytest.approx(summary["optimized_metric"]["val/psnr"])
            assert float(row["val/psnr"]) == pytest.approx(status["objective"], rel=1e-5)
            resolved = yaml.safe_load((trial / "config_resolved.yaml").read_text())
            assert resolved["model"]["loss"]["kl_weight"] == pytest.approx(float(row["model.loss.kl_weight"]))
            assert resolved["model"]["optimizer"]["lr"] == pytest.approx(float(row["model.optimizer.lr"]))
            assert 1e-6 <= float(row["model.loss.kl_weight"]) <= 1e-3
            assert 0 <= float(row["model.loss.perceptual_weight"]) <= 0.5
            assert 1e-5 <= float(row["model.optimizer.lr"]) <= 1e-3
        assert len({tuple(r[k] for k in SWEPT) for r in rows}) == 3  # distinct trials
        md = (sweep_dir / "sweep_summary.md").read_text()
        assert "3 trials (3 ok); objective `val/psnr` (maximize)." in md and "Best: trial" in md
        best = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
        assert best["best_value"] == pytest.approx(max(float(r["val/psnr"]) for r in rows), rel=1e-5)
        sampled.append([{k: r[k] for k in SWEPT} for r in rows])
    assert sampled[0] == sampled[1]  # same sampler seed, same parameters


@pytest.mark.slow
def test_grid_sweep_gives_each_trial_its_own_wandb_run_in_the_sweep_group(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "grid"
    proc = sweep(["model.loss.kl_weight=1e-6,1e-4", "logger=wandb"], sweep_dir, tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    trials = trial_dirs(sweep_dir)
    assert [p.name for p in trials] == ["0", "1"]
    rows = read_summary(sweep_dir)
    assert [float(r["model.loss.kl_weight"]) for r in rows] == [1e-6, 1e-4]
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert all(r["val/lpips"] for r in rows)  # the root config's metric, no hparams_search
    group = f"train-sweep-{sweep_dir.name}"
    for trial, weight in zip(trials, (1e-6, 1e-4)):
        assert yaml.safe_load((trial / "config_resolved.yaml").read_text())["model"]["loss"]["kl_weight"] == weight
        runs = list((trial / "wandb").glob("offline-run-*"))
        assert len(runs) == 1  # its own run, in its own dir
        assert read_wandb_run(runs[0]) == (group, f"{group}-trial{trial.name}")


@pytest.mark.slow
def test_failed_trials_are_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    # basic sweeper: the middle trial fails, the others complete and the summary is written
    grid = tmp_path / "grid"
    proc = sweep([f"model.loss.kl_weight=1e-6,{FAILING_KL},1e-4"], grid, tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = read_summary(grid)
    assert [r["status"] for r in rows] == ["ok", "failed", "ok"]
    assert rows[1]["error"].startswith("FloatingPointError")
    assert "non-finite training loss at step 0" in rows[1]["error"]
    assert rows[1]["val/lpips"] == "" and rows[0]["val/lpips"] and rows[2]["val/lpips"]
    status = json.loads((grid / "1" / STATUS_FILE).read_text())
    assert status["status"] == "failed" and status["params"]["model.loss.kl_weight"] == "1e+39"
    assert "Trial 1 failed: FloatingPointError" in (grid / "1" / "train.log").read_text()
    assert (grid / "2" / "summary.json").is_file()  # the trial after the failure trained

    # Optuna sweeper: failing trials return the worst value (-inf when maximizing) instead of
    # raising, which would abort the whole study; every trial runs and is recorded as failed
    study = tmp_path / "optuna"
    proc = sweep(["hparams_search=vae_optuna", "hydra.sweeper.n_trials=2", f"model.loss.kl_weight={FAILING_KL}"],
                 study, tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert [r["status"] for r in read_summary(study)] == ["failed", "failed"]
    assert yaml.safe_load((study / "optimization_results.yaml").read_text())["best_value"] == -math.inf


@pytest.mark.slow
def test_a_single_run_still_raises(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = sweep([f"model.loss.kl_weight={FAILING_KL}"], run_dir, tmp_path, multirun=False)
    assert proc.returncode != 0
    assert "FloatingPointError" in proc.stderr
    assert not (run_dir / STATUS_FILE).exists()
