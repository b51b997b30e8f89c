"""The repository passes ``ruff check`` under the config in ``pyproject.toml`` ([tool.ruff])."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff() -> list[str]:
    """The ruff command: the executable next to this interpreter, else ``python -m ruff``."""
    beside = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if beside is not None:
        return [beside]
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    pytest.fail('ruff is not installed: it is a dev dependency (pip install -e ".[dev]")')


def test_ruff_check_is_clean() -> None:
    result = subprocess.run(
        [*_ruff(), "check", "--no-cache", "--output-format", "concise", "."],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    code, output = result.returncode, result.stdout + result.stderr
    assert code == 0, f"ruff check found problems:\n{output}"
