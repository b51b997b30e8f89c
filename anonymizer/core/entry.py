"""What the command-line entries share: the config folder, exit codes, usage errors and the
Hydra entry point that reports a command line it cannot compose in one line.

Every command exits with :data:`OK` (0) when done, :data:`FAILED` (1) when some work failed,
:data:`USAGE` (2) for a usage error (one line on stderr, ``error: ...``, no traceback).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from omegaconf import DictConfig

#: The package that holds the Hydra configs (``anonymizer/conf/``, shipped in the wheel);
#: ``pkg://anonymizer.conf`` names it in a Hydra search path.
CONF_PACKAGE = "anonymizer.conf"
#: The config folder on disk, found as a package resource: the same folder in a source
#: checkout, an editable install and an installed wheel. ``@hydra.main`` (:func:`hydra_command`)
#: and ``hydra.initialize_config_dir`` take it as ``str(CONF_DIR)``.
CONF_DIR = Path(str(files(CONF_PACKAGE)))
OK, FAILED, USAGE = 0, 1, 2


class UsageError(ValueError):
    """A problem with the command itself (options, paths, models, components), reported in
    one line with exit code :data:`USAGE`."""


def report_usage_error(err: BaseException) -> int:
    """Print ``error: <err>`` on stderr; returns :data:`USAGE`."""
    print(f"error: {err}", file=sys.stderr)
    return USAGE


def hydra_error_line(err: BaseException) -> str:
    """One line from an error Hydra raised while composing the config (its first
    paragraph, the config group's options, the underlying cause)."""
    from hydra.errors import OverrideParseException

    if isinstance(err, OverrideParseException):
        return f"cannot parse the override {err.override!r}: {str(err.message).splitlines()[0]}"
    paragraph = []
    for line in str(err).splitlines():
        if not line.strip() or line.startswith("See http"):
            break
        paragraph.append(line.strip())
    text = " ".join(paragraph) or type(err).__name__
    options = getattr(err, "options", None)
    if options:
        text += f" (choose one of: {', '.join(options)})"
    elif err.__cause__ is not None and str(err.__cause__).strip():
        text += f" ({str(err.__cause__).strip().splitlines()[0]})"
    return text


def hydra_command(config_name: str, run_fn: Callable[[DictConfig], int]) -> Callable[[], None]:
    """A Hydra entry point for ``anonymizer/conf/<config_name>.yaml`` that exits with ``run_fn``'s code.

    A command line that Hydra cannot compose (an unknown key, an option a config group does
    not have, a syntax error) is a usage error: one line on stderr and exit code 2, not
    Hydra's multi-line report and exit code 1.
    """
    import hydra

    state = {"started": False, "saved": None}

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)
    def task(cfg: DictConfig) -> None:
        state["started"] = True
        _set_env("HYDRA_FULL_ERROR", state["saved"])  # the command's own errors: Hydra's usual report
        code = run_fn(cfg)
        if code:
            sys.exit(code)

    def entry() -> None:
        state["saved"] = os.environ.get("HYDRA_FULL_ERROR")
        os.environ["HYDRA_FULL_ERROR"] = "1"  # composition errors are raised here, not printed by Hydra
        try:
            task()
        except Exception as err:  # only errors before the task are usage errors
            if state["started"]:
                raise
            print(f"error: {hydra_error_line(err)}", file=sys.stderr)
            sys.exit(USAGE)
        finally:
            _set_env("HYDRA_FULL_ERROR", state["saved"])

    return entry


def _set_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
