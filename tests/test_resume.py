"""Exact resume, signal-safe last checkpoint, non-finite losses, config-time validation."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import TensorDataset

from anonymizer.data.loaders import ResumableShuffleSampler, SplitDataModule
from anonymizer.train import train
from anonymizer.training.callbacks.resume import LastCheckpoint
from anonymizer.training.config_checks import ConfigError, check_config
from tests.conftest import INPAINT_OVERRIDES, ROOT, TINY_OVERRIDES, compose_train


# --------------------------------------------------------------- test callbacks
class BatchRecorder(L.Callback):
    """Append ``{"step", "batch": fingerprint}`` of every training batch to ``<path>``."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        record = {"step": trainer.global_step, "epoch": trainer.current_epoch, "batch_idx": batch_idx,
                  "log_step": trainer.fit_loop.epoch_loop._batches_that_stepped,  # the loggers' step
                  "batch": float(batch["image"].double().sum()),
                  "rng": hashlib.sha1(torch.get_rng_state().numpy().tobytes()).hexdigest()}  # global RNG state
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")


class SignalAt(L.Callback):
    """Send this process ``signum`` after optimizer step ``step`` (as ``kill`` would)."""

    def __init__(self, step: int, signum: int = int(signal.SIGTERM)) -> None:
        self.step = step
        self.signum = signum

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)


class NaNAt(L.Callback):
    """Make the batch of optimizer step ``step`` all NaN (the loss becomes NaN)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            batch["image"].fill_(float("nan"))


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def _assert_same_state(a: dict, b: dict, atol: float = 1e-6) -> None:
    assert a["global_step"] == b["global_step"]
    sa, sb = a["state_dict"], b["state_dict"]
    assert sa.keys() == sb.keys()
    for key in sa:
        torch.testing.assert_close(sa[key], sb[key], atol=atol, rtol=0, msg=lambda m, key=key: f"{key}: {m}")
    for oa, ob in zip(a["optimizer_states"], b["optimizer_states"]):
        assert oa["param_groups"][0]["lr"] == pytest.approx(ob["param_groups"][0]["lr"])
        for idx, state in oa["state"].items():
            for name, value in state.items():
                torch.testing.assert_close(value, ob["state"][idx][name], atol=atol, rtol=0)
    assert [s["last_epoch"] for s in a["lr_schedulers"]] == [s["last_epoch"] for s in b["lr_schedulers"]]


# ------------------------------------------------------------------ the sampler
def test_sampler_order_is_a_function_of_seed_and_epoch_and_skips_on_resume() -> None:
    data = TensorDataset(torch.arange(20))
    sampler = ResumableShuffleSampler(data, seed=3)
    epoch0 = list(sampler)
    assert sorted(epoch0) == list(range(20)) and epoch0 == list(ResumableShuffleSampler(data, seed=3))
    sampler.set_epoch(1)
    epoch1 = list(sampler)
    assert epoch1 != epoch0 and list(ResumableShuffleSampler(data, seed=4)) != epoch0

    resumed = ResumableShuffleSampler(data, seed=3)
    resumed.resume_at(1, 8)
    assert len(resumed) == 20  # Lightning counts the skipped batches as fetched
    assert list(resumed) == epoch1[8:]
    assert list(resumed) == epoch1[8:]  # a second iterator of the same epoch (e.g. recreated workers)
    resumed.set_epoch(2)
    sampler.set_epoch(2)
    assert list(resumed) == list(sampler)  # the skip applies to the resumed epoch only

    # DDP: every replica takes its share of the same permutation, disjoint, same length
    shares = [list(ResumableShuffleSampler(data, seed=3, num_replicas=3, rank=r)) for r in range(3)]
    assert all(len(s) == 6 for s in shares) and not set(shares[0]) & set(shares[1])
    assert sorted(sum(shares, [])) == sorted(epoch0[:18])


class _ToyData(SplitDataModule):
    def __init__(self) -> None:
        super().__init__()
        self.batch_size, self.num_workers, self.pin_memory, self.seed = 2, 0, False, 5
        self.train_set = TensorDataset(torch.arange(10))
        self.val_set = self.train_set


def test_datamodule_state_resumes_the_loader_mid_epoch() -> None:
    reference = [b[0].tolist() for epoch in range(3) for b in _epoch(_ToyData(), epoch)]
    for seen in (0, 3, 5, 7):  # 5 batches per epoch: 5 is the epoch boundary
        dm = _ToyData()
        dm.load_state_dict({"train_batches_seen": seen, "train_batches_per_epoch": 5, "batch_size": 2, "seed": 5})
        loader = dm.train_dataloader()
        epoch = seen // 5
        assert len(loader) == 5
        got = [b[0].tolist() for b in loader]
        assert got == reference[seen:(epoch + 1) * 5], seen


def _epoch(dm: SplitDataModule, epoch: int):
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(epoch)
    return list(loader)


# ------------------------------------------------------------ exact resume (VAE)
RESUME_OVERRIDES = TINY_OVERRIDES + [
    "trainer.deterministic=true",
    "trainer.max_steps=8",
    "trainer.val_check_interval=4",
    "callbacks.model_checkpoint.every_n_train_steps=4",
    "callbacks.model_checkpoint.save_last=true",
    "callbacks.model_checkpoint.save_top_k=-1",  # keep step_0000004.ckpt for the explicit-path resume
    "callbacks.image_logger.every_n_steps=0",
    "data.synthetic.train_size=24",  # 6 batches per epoch: the 8 steps cross an epoch boundary
    "data.synthetic.val_size=4",
]


def _recorded(tmp: Path, extra: list[str] = ()) -> list[str]:
    return [f"+callbacks.recorder._target_={__name__}.BatchRecorder",
            f"+callbacks.recorder.path={tmp / 'batches.jsonl'}", *extra]


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted 8-step run the interrupted ones must equal."""
    out = tmp_path_factory.mktemp("straight")
    train(compose_train(out, RESUME_OVERRIDES + _recorded(out)))
    assert _load(out / "checkpoints" / "last.ckpt")["global_step"] == 8
    return out


def _stop_at(step: int, signum: int = int(signal.SIGTERM)) -> list[str]:
    return [f"+callbacks.stop._target_={__name__}.SignalAt", f"+callbacks.stop.step={step}",
            f"+callbacks.stop.signum={signum}"]


def _assert_equals_straight(run: Path, straight: Path) -> None:
    _assert_same_state(_load(run / "checkpoints" / "last.ckpt"), _load(straight / "checkpoints" / "last.ckpt"))
    # the same batches in the same order (across the epoch boundary after step 6), the same
    # global RNG state at every step and the same logger step
    assert _records(run / "batches.jsonl") == _records(straight / "batches.jsonl")


def test_sigterm_at_a_validation_step_then_resume_equals_an_uninterrupted_run(straight: Path, tmp_path: Path) -> None:
    # SIGTERM after step 4: Lightning finishes the step and its validation, raises
    # SIGTERMException; LastCheckpoint saves last.ckpt and train() exits with 143.
    with pytest.raises(SystemExit) as exit_info:
        train(compose_train(tmp_path, RESUME_OVERRIDES + _recorded(tmp_path, _stop_at(4))))
    assert exit_info.value.code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
    checkpoint = _load(tmp_path / "checkpoints" / "last.ckpt")
    assert checkpoint["global_step"] == 4
    assert checkpoint["VAEDataModule"]["train_batches_seen"] == 4
    assert checkpoint["run_state"]["rng"]["torch"].dtype == torch.uint8
    assert not (tmp_path / "export").exists()  # an interrupted fit exports nothing
    metrics_before = (tmp_path / "csv" / "metrics.csv").read_text()

    train(compose_train(tmp_path, RESUME_OVERRIDES + _recorded(tmp_path, ["ckpt_path=last"])))
    _assert_equals_straight(tmp_path, straight)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "last.ckpt", "step_0000004.ckpt", "step_0000008.ckpt"]  # last.ckpt overwritten, no last-v1.ckpt
    # the CSV rows of the first part are kept; the summary covers the whole run
    assert (tmp_path / "csv" / "metrics_part1.csv").read_text() == metrics_before
    summary = json.loads((tmp_path / "summary.json").read_text())
    straight_summary = json.loads((straight / "summary.json").read_text())
    assert summary["global_step"] == 8
    assert summary["metrics"]["val/loss"] == pytest.approx(straight_summary["metrics"]["val/loss"], abs=1e-6)

    # an explicit path (Lightning's periodic checkpoint of step 4) into a fresh dir continues the same way
    elsewhere = tmp_path / "elsewhere"
    train(compose_train(elsewhere, RESUME_OVERRIDES + _recorded(elsewhere, [
        f"ckpt_path={straight / 'checkpoints' / 'step_0000004.ckpt'}"])))
    _assert_same_state(_load(elsewhere / "checkpoints" / "last.ckpt"), _load(straight / "checkpoints" / "last.ckpt"))
    assert _records(elsewhere / "batches.jsonl") == _records(straight / "batches.jsonl")[4:]


def test_sigint_at_an_epoch_end_then_resume_equals_an_uninterrupted_run(straight: Path, tmp_path: Path) -> None:
    # Step 6 is the last batch of epoch 0 (24 crops, batch 4); the first Ctrl+C finishes it.
    with pytest.raises(SystemExit) as exit_info:
        train(compose_train(tmp_path, RESUME_OVERRIDES + _recorded(tmp_path, _stop_at(6, int(signal.SIGINT)))))
    assert exit_info.value.code == 128 + signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    checkpoint = _load(tmp_path / "checkpoints" / "last.ckpt")
    assert checkpoint["global_step"] == 6 and checkpoint["VAEDataModule"]["train_batches_seen"] == 6
    train(compose_train(tmp_path, RESUME_OVERRIDES + _recorded(tmp_path, ["ckpt_path=last"])))
    _assert_equals_straight(tmp_path, straight)


@pytest.mark.parametrize("step", [5, 6])  # mid-epoch; the first batch of epoch 1
def test_nan_batch_stops_before_the_update_and_resumes_exactly(straight: Path, tmp_path: Path, step: int) -> None:
    nan = [f"+callbacks.nan._target_={__name__}.NaNAt", f"+callbacks.nan.step={step}"]
    with pytest.raises(FloatingPointError, match=rf"non-finite training loss at step {step}.*"
                       rf"holds the state after {step} optimizer steps"):
        train(compose_train(tmp_path, RESUME_OVERRIDES + _recorded(tmp_path, nan)))
    checkpoint = _load(tmp_path / "checkpoints" / "last.ckpt")
    assert checkpoint["global_step"] == step
    assert checkpoint["VAEDataModule"]["train_batches_seen"] == step  # a resume repeats the failed batch
    # the failed batch's record is dropped: the resumed run records it again
    (tmp_path / "batches.jsonl").write_text("".join(
        json.dumps(r) + "\n" for r in _records(tmp_path / "batches.jsonl")[:step]))
    train(compose_train(tmp_path, RESUME_OVERRIDES + _recorded(tmp_path, ["ckpt_path=last"])))
    _assert_equals_straight(tmp_path, straight)


def test_resume_continues_the_same_wandb_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no_netrc"))
    overrides = [o for o in RESUME_OVERRIDES if not o.startswith(("logger=", "trainer.max_steps"))] + [
        "logger=wandb", "trainer.max_steps=4", "validate_before_fit=false"]
    with pytest.raises(SystemExit):
        train(compose_train(tmp_path, overrides + _stop_at(2)))
    run_id = _load(tmp_path / "checkpoints" / "last.ckpt")["run_state"]["wandb_run_id"]
    assert run_id
    train(compose_train(tmp_path, overrides + ["ckpt_path=last"]))
    runs = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and all(r.name.endswith(f"-{run_id}") for r in runs)  # `wandb sync` both: one run
    assert _load(tmp_path / "checkpoints" / "last.ckpt")["run_state"]["wandb_run_id"] == run_id


def test_resume_last_without_checkpoint_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(
        FileNotFoundError, match=r"ckpt_path=last: there is no checkpoint at .*last\.ckpt.*hydra\.run\.dir"
    ):
        train(compose_train(tmp_path, TINY_OVERRIDES + ["ckpt_path=last"]))
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        train(compose_train(tmp_path, TINY_OVERRIDES + [f"ckpt_path={tmp_path / 'nope.ckpt'}"]))
    assert not (tmp_path / "checkpoints").exists()


# ---------------------------------------------------------- exact resume (UNet)
def test_inpaint_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    overrides = INPAINT_OVERRIDES + [
        "trainer.deterministic=true", "trainer.max_steps=6", "trainer.val_check_interval=3",
        "callbacks.model_checkpoint.every_n_train_steps=3", "callbacks.image_logger.every_n_steps=0",
        "validate_before_fit=false", "model.validation.ocr=false", "callbacks.export=null",
        "model.ema_decay=0.9",
    ]
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    train(compose_train(straight, overrides + _recorded(straight), experiment="unet_inpaint"))
    with pytest.raises(SystemExit):
        train(compose_train(stopped, overrides + _recorded(stopped, _stop_at(3)), experiment="unet_inpaint"))
    assert _load(stopped / "checkpoints" / "last.ckpt")["global_step"] == 3
    train(compose_train(stopped, overrides + _recorded(stopped, ["ckpt_path=last"]), experiment="unet_inpaint"))
    a, b = _load(stopped / "checkpoints" / "last.ckpt"), _load(straight / "checkpoints" / "last.ckpt")
    _assert_same_state(a, b)
    for x, y in zip(a["ema"]["shadow_params"], b["ema"]["shadow_params"]):
        torch.testing.assert_close(x, y, atol=1e-6, rtol=0)
    assert a["ema"]["optimization_step"] == b["ema"]["optimization_step"] == 6
    assert _records(stopped / "batches.jsonl") == _records(straight / "batches.jsonl")


# -------------------------------------------------------------- non-finite loss
def test_diverging_run_stops_with_a_clear_message_and_the_last_good_state(tmp_path: Path) -> None:
    # lr 1e30 without clipping: the first update blows the weights up, the next loss is inf/NaN
    cfg = compose_train(tmp_path, RESUME_OVERRIDES + [
        "model.optimizer.lr=1e30", "model.scheduler=null", "trainer.gradient_clip_val=0", "validate_before_fit=false",
    ])
    with pytest.raises(FloatingPointError, match=r"non-finite training loss at step 1: loss=(nan|inf).*"
                       r"last\.ckpt holds the state after 1 optimizer steps") as info:
        train(cfg)
    assert "ckpt_path=last" in str(info.value)
    checkpoint = _load(tmp_path / "checkpoints" / "last.ckpt")
    assert checkpoint["global_step"] == 1
    assert all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values())


class _NaNGradient(L.LightningModule):
    """Finite loss (0), NaN gradient: d sqrt(x)/dx at 0 times 0."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(3))
        self.steps_applied = 0

    def training_step(self, batch, batch_idx):
        return torch.sqrt(self.w * 0.0).sum() + 0.0 * batch[0].sum()

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        self.steps_applied += 1

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_non_finite_gradient_stops_before_the_update(tmp_path: Path) -> None:
    module = _NaNGradient()
    loader = torch.utils.data.DataLoader(TensorDataset(torch.ones(8, 2)), batch_size=2)
    trainer = L.Trainer(max_steps=3, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[LastCheckpoint(str(tmp_path))])
    with pytest.raises(FloatingPointError, match=r"non-finite gradient at step 0 .*'w'"):
        trainer.fit(module, loader)
    assert module.steps_applied == 0 and torch.equal(module.w.detach(), torch.zeros(3))
    assert torch.isfinite(_load(tmp_path / "last.ckpt")["state_dict"]["w"]).all()


# --------------------------------------------------------- config-time checks
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.batch_size=-2", "data.batch_size must be an integer >= 1, got -2"),
        ("data.batch_size=abc", "data.batch_size must be an integer >= 1, got 'abc'"),
        ("data.num_workers=-1", "data.num_workers must be an integer >= 0, got -1"),
        ("trainer.max_steps=-5", "trainer.max_steps must be an integer >= 1 or -1, got -5"),
        ("trainer.max_steps=1.5", "trainer.max_steps must be an integer >= 1 or -1, got 1.5"),
        ("trainer.precision=17", "trainer.precision must be one of"),
        ("trainer.gradient_clip_algorithm=max", "trainer.gradient_clip_algorithm must be one of ['norm', 'value']"),
        ("model.optimizer.lr=0", "model.optimizer.lr must be a number > 0.0, got 0"),
        ("model.scheduler.decay=linear", "model.scheduler.decay must be one of ['constant', 'cosine'], got 'linear'"),
        ("logger.wandb.mode=online2", "logger.wandb.mode must be one of"),
    ],
)
def test_config_checks_name_key_and_value(tmp_path: Path, override: str, message: str) -> None:
    overrides = [o for o in TINY_OVERRIDES if not o.startswith("logger=")] + [override]
    with pytest.raises(ConfigError) as info:
        check_config(compose_train(tmp_path, overrides))
    assert message in str(info.value)


def test_config_checks_accept_the_shipped_configs(tmp_path: Path) -> None:
    from anonymizer.models.inpaint_module import PREDICTION_TYPES
    from anonymizer.training.config_checks import PREDICTION_TYPES as CHECKED

    assert CHECKED == PREDICTION_TYPES
    for experiment in ("vae_kl", "unet_inpaint"):
        check_config(compose_train(tmp_path, [], experiment=experiment))
    check_config(compose_train(tmp_path, ["trainer=gpu", "debug=fdr"]))


def _run_cli(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "disabled", "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([sys.executable, "-m", "anonymizer.train", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_bad_overrides_fail_at_config_time_on_the_command_line(tmp_path: Path) -> None:
    cases = {
        "data.batch_size=-2": "data.batch_size must be an integer >= 1, got -2",
        "data.batch_size=abc": "data.batch_size must be an integer >= 1, got 'abc'",
        "trainer.max_steps=-5": "trainer.max_steps must be an integer >= 1 or -1, got -5",
        "foo=1": "Could not override 'foo'",
    }
    for i, (override, message) in enumerate(cases.items()):
        run_dir = tmp_path / f"run{i}"
        proc = _run_cli(["+experiment=vae_kl", override, f"hydra.run.dir={run_dir}"])
        output = proc.stdout + proc.stderr
        assert proc.returncode != 0, output
        assert message in output, output
        assert "Instantiating" not in output  # failed before building the data or the model
        assert not (run_dir / "checkpoints").exists()


# ------------------------------------------------------------ SIGTERM, for real
CLI_TINY = [o for o in TINY_OVERRIDES if not o.startswith(("trainer.max_steps", "trainer.val_check_interval"))]


@pytest.mark.slow
def test_sigterm_on_the_command_line_leaves_a_resumable_last_checkpoint(tmp_path: Path) -> None:
    """SIGTERM to the whole process group (as a scheduler cancelling a job sends it), with
    DataLoader workers: the step finishes, last.ckpt is saved, the exit status is 143, and
    the resume command of docs/training.md continues the run."""
    run_dir = tmp_path / "run"
    common = ["+experiment=vae_kl", *CLI_TINY, "data.num_workers=2", "trainer.val_check_interval=1000",
              f"hydra.run.dir={run_dir}"]
    env = {**os.environ, "WANDB_MODE": "disabled"}
    proc = subprocess.Popen([sys.executable, "-m", "anonymizer.train", *common, "trainer.max_steps=100000",
                             "validate_before_fit=false"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / "images" / "train_step0000004.png").exists():  # panels every 2 steps
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "the run did not reach step 4"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM, output
    assert "Training stopped by SIGTERM at step" in output and "ckpt_path=last" in output, output
    checkpoint = _load(run_dir / "checkpoints" / "last.ckpt")
    step = checkpoint["global_step"]
    assert step >= 4 and checkpoint["VAEDataModule"]["train_batches_seen"] == step

    resumed = _run_cli([*common, f"trainer.max_steps={step + 2}", "ckpt_path=last"])
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert json.loads((run_dir / "summary.json").read_text())["global_step"] == step + 2
    assert _load(run_dir / "checkpoints" / "last.ckpt")["global_step"] == step + 2
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["last.ckpt"]
