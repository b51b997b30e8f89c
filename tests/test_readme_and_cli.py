"""The README's commands are the ones CI runs, and the documented training commands work as processes."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def first_command_under(heading: str, doc: str = "README.md") -> str:
    """The first line of the first fenced code block after ``heading`` in ``doc`` (the README)."""
    text = (ROOT / doc).read_text()
    section = text.split(f"\n{heading}\n", 1)
    assert len(section) == 2, f"{doc} has no {heading!r} section"
    block = re.search(r"```(?:bash)?\n(.+?)```", section[1], re.S)
    assert block, f"no code block under {heading!r}"
    return block.group(1).strip().splitlines()[0].strip()


def ci_lines() -> list[str]:
    return [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]


def test_ci_runs_the_readme_install_and_test_commands() -> None:
    install = first_command_under("## Install")
    test = first_command_under("## Test")
    lines = ci_lines()
    assert install in lines and test in lines
    assert lines.index(install) < lines.index(test)
    assert lines[-1] == test  # the test command decides CI's exit code
    assert "set -euo pipefail" in lines  # pytest's exit code 5 (no tests) fails CI


def test_install_script_creates_the_venv_the_test_command_uses() -> None:
    script = (ROOT / "scripts" / "install.sh").read_text()
    assert '-m venv .venv' in script and 'pip install -q -e ".[dev,ray]"' in script
    assert first_command_under("## Test").startswith(".venv/bin/python")


@pytest.mark.slow
def test_main_command_runs_as_documented(tmp_path: Path) -> None:
    """The README's main command, shrunk with overrides, in a fresh process."""
    command = shlex.split(first_command_under("## Train the document VAE"))
    assert command[1:] == ["-m", "anonymizer.train", "+experiment=vae_kl"]
    run_dir = tmp_path / "run"
    overrides = [
        f"hydra.run.dir={run_dir}",
        "data.crop_size=32", "data.batch_size=4", "data.synthetic.val_size=8",
        "model.autoencoder.config.block_out_channels=[8,16]",
        "model.autoencoder.config.down_block_types=[DownEncoderBlock2D,DownEncoderBlock2D]",
        "model.autoencoder.config.up_block_types=[UpDecoderBlock2D,UpDecoderBlock2D]",
        "model.autoencoder.config.norm_num_groups=4",
        "trainer.max_steps=6", "trainer.val_check_interval=3",
    ]
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    env.pop("WANDB_API_KEY", None)
    proc = subprocess.run(
        [sys.executable, *command[1:], *overrides], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Training summary" in proc.stdout and "val/psnr" in proc.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["global_step"] == 6
    assert (run_dir / "export" / "vae" / "config.json").is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1
    assert (run_dir / "train.log").is_file()


@pytest.mark.slow
def test_inpaint_command_runs_as_documented(tmp_path: Path) -> None:
    """The inpainting command of docs/training.md, shrunk with overrides, in a fresh process."""
    command = shlex.split(first_command_under("## Train the inpainting UNet (glyph-conditioned text editing)",
                                              "docs/training.md"))
    assert command[1:] == ["-m", "anonymizer.train", "+experiment=unet_inpaint"]
    from tests.conftest import INPAINT_OVERRIDES

    run_dir = tmp_path / "run"
    overrides = [o for o in INPAINT_OVERRIDES if not o.startswith("logger=")] + [f"hydra.run.dir={run_dir}"]
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    env.pop("WANDB_API_KEY", None)
    proc = subprocess.run(
        [sys.executable, *command[1:], *overrides], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "val/masked_psnr" in proc.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["global_step"] == 4
    assert (run_dir / "export" / "text_edit" / "text_edit_config.json").is_file()
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1
