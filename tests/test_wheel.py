"""A wheel (``pip wheel --no-deps .``, not an editable install) ships the Hydra configs: installed
in a fresh venv and run from an empty folder, the commands compose their configs.

Offline: the wheel is built without build isolation when this interpreter has the build backend
``pyproject.toml`` asks for, else with pip's isolated build (which installs the backend from the
configured index or find-links). The fresh venv installs the wheel alone (``--no-deps``) and
finds the dependencies in this interpreter's site-packages through a ``.pth`` file.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "anonymizer" / "conf"

pytestmark = pytest.mark.slow

# each command's `--cfg job` (the command line after `python -m`) and a top-level key it must print
COMMANDS = {
    "train": (["anonymizer.train"], "optimized_metric: val/lpips"),
    "anonymize": (["anonymizer.anonymize", "input=x", "output=y"], "input: x"),
    "evaluate": (["anonymizer.evaluate"], "task_name: evaluate_${task.name}"),
    "serve": (["anonymizer.serve"], "server:"),
}


def _backend_here() -> bool:
    """True when this interpreter has setuptools >= 77 and wheel (``[build-system] requires``)."""
    try:
        import setuptools
        import wheel  # noqa: F401 - only whether it imports
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


def _build_wheel(tmp_path: Path) -> Path:
    """The wheel of a copy of the source (the build writes build/ and *.egg-info next to it)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "anonymizer", src / "anonymizer", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path / "dist"
    isolation = ["--no-build-isolation"] if _backend_here() else []
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(dist), str(src)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = dist.glob("anonymizer-*.whl")
    return wheel


def _fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    """A new venv with only the wheel installed; dependencies come from this interpreter."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=True)
    python = env_dir / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=600, env=_clean_env())
    assert done.returncode == 0, done.stdout + done.stderr
    # plain path lines: the .pth files of those folders (an editable install of this checkout) do not run
    here = [p for p in (*site.getsitepackages(), sysconfig.get_paths()["purelib"]) if Path(p).is_dir()]
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "zz_dependencies.pth").write_text("\n".join(dict.fromkeys(here)) + "\n")
    return python


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PROJECT_ROOT")}
    env.update(HYDRA_FULL_ERROR="1", WANDB_MODE="disabled")
    return env


def test_wheel_composes_every_command_config_from_an_empty_folder(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        shipped = {n for n in zf.namelist() if n.startswith("anonymizer/conf/")}
    expected = {f"anonymizer/conf/{p.relative_to(CONF).as_posix()}" for p in CONF.rglob("*.yaml")}
    assert expected and expected <= shipped, sorted(expected - shipped)
    with zipfile.ZipFile(wheel) as zf:  # the shipped PII tagger, complete (every file its manifest lists)
        names = set(zf.namelist())
        manifest = json.loads(zf.read("anonymizer/assets/pii_tagger/manifest.json"))
    assert {f"anonymizer/assets/pii_tagger/{path}" for path in manifest["files"]} <= names

    python = _fresh_venv(tmp_path, wheel)
    empty = tmp_path / "empty"
    empty.mkdir()
    probe = ("import anonymizer.core.entry as e, anonymizer.core.tables as t; print(e.__file__); print(e.CONF_DIR); "
             "print(sorted(t.load_table(p.stem) and p.stem for p in t.TABLES_DIR.glob('*.yaml')))")
    where = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, cwd=empty, env=_clean_env(),
                           timeout=300)
    assert where.returncode == 0, where.stderr
    module_file, conf_dir, loaded = where.stdout.splitlines()
    venv_dir = str(tmp_path / "venv")
    # the wheel, not the checkout
    assert module_file.startswith(venv_dir) and conf_dir.startswith(venv_dir), where.stdout
    assert loaded == str(sorted(p.stem for p in (CONF / "recognizers").glob("*.yaml")))  # the detectors' tables

    for name, (args, key) in COMMANDS.items():
        done = subprocess.run([str(python), "-m", *args, "--cfg", "job"], capture_output=True, text=True,
                              cwd=empty, env=_clean_env(), timeout=300)
        assert done.returncode == 0, f"{name}: {done.stderr[-2000:]}"
        assert key in done.stdout.splitlines(), f"{name}: {key!r} not in\n{done.stdout[:2000]}"
    assert not any(empty.iterdir()), sorted(p.name for p in empty.iterdir())  # --cfg job writes nothing
