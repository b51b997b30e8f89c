"""Logger construction: W&B with automatic offline mode, and the CSV logger."""

from __future__ import annotations

import logging
import netrc
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import WandbLogger

log = logging.getLogger(__name__)

WANDB_MODES = ("auto", "online", "offline", "disabled")


def _has_wandb_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc_path = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        hosts = netrc.netrc(str(netrc_path)).hosts
    except (FileNotFoundError, netrc.NetrcParseError, PermissionError):
        return False
    return any("wandb" in host for host in hosts)


def resolve_wandb_mode(mode: str = "auto") -> tuple[str, str]:
    """Return ``(mode, reason)``. ``auto``: ``$WANDB_MODE`` if set, else online when an API
    key is configured (``$WANDB_API_KEY`` or a wandb entry in ``~/.netrc``), else offline."""
    if mode not in WANDB_MODES:
        raise ValueError(f"logger mode must be one of {WANDB_MODES}, got {mode!r}")
    if mode != "auto":
        return mode, "set in the config"
    env = os.environ.get("WANDB_MODE")
    if env:
        env = "offline" if env == "dryrun" else env
        if env not in WANDB_MODES[1:]:
            raise ValueError(f"WANDB_MODE={env!r} is not one of {WANDB_MODES[1:]}")
        return env, "from $WANDB_MODE"
    if _has_wandb_credentials():
        return "online", "an API key is configured"
    return "offline", "no W&B API key is configured (sync later with `wandb sync`)"


def build_wandb_logger(
    project: str,
    save_dir: str,
    name: str | None = None,
    group: str | None = None,
    tags: Sequence[str] = (),
    mode: str = "auto",
    entity: str | None = None,
    job_type: str | None = None,
    log_model: bool = False,
    run_id: str | None = None,
    **kwargs: Any,
) -> WandbLogger:
    """A ``WandbLogger`` whose run lives under ``save_dir/wandb``; see :func:`resolve_wandb_mode`.

    ``run_id``: continue that W&B run (``resume="allow"``), as ``train.py`` does when it resumes
    from a checkpoint that recorded its run id.
    """
    resolved, reason = resolve_wandb_mode(mode)
    log.info("W&B mode: %s (%s)", resolved, reason)
    if run_id:
        log.info("W&B: continuing run %s", run_id)
        kwargs = {**kwargs, "id": run_id, "resume": "allow"}
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("WANDB_SILENT", "true")
    return WandbLogger(
        project=project,
        name=name,
        group=group,
        tags=list(tags),
        save_dir=save_dir,
        entity=entity,
        job_type=job_type,
        log_model=log_model,
        offline=resolved == "offline",
        mode=resolved,
        **kwargs,
    )
