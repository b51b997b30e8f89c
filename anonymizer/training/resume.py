"""Resume helpers for ``train.py``: the checkpoint to resume, its run state, loggers that continue."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from anonymizer.training.callbacks.resume import RUN_STATE_KEY

log = logging.getLogger(__name__)

WANDB_BUILDER = "anonymizer.training.loggers.build_wandb_logger"


def last_checkpoint_path(output_dir: str | Path) -> Path:
    """Where a run keeps its ``last.ckpt``."""
    return Path(output_dir) / "checkpoints" / "last.ckpt"


def resolve_ckpt_path(ckpt_path: str | None, output_dir: str | Path) -> Path | None:
    """``None`` (a fresh run), ``last`` (``<output_dir>/checkpoints/last.ckpt``) or a path.

    Raises ``FileNotFoundError`` naming the path when the checkpoint does not exist (Lightning
    itself would start from scratch with only a warning for a missing ``last``).
    """
    if ckpt_path is None or str(ckpt_path).strip() in ("", "null", "None"):
        return None
    if str(ckpt_path) == "last":
        path = last_checkpoint_path(output_dir)
        if not path.is_file():
            raise FileNotFoundError(
                f"ckpt_path=last: there is no checkpoint at {path}. To continue a run, reuse its output dir: "
                f"hydra.run.dir=<the run's dir> ckpt_path=last (or give ckpt_path=<path to a .ckpt>)"
            )
        return path
    path = Path(ckpt_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"ckpt_path={ckpt_path}: no such checkpoint file")
    return path.resolve()


def read_run_state(path: Path) -> dict[str, Any]:
    """``checkpoint["run_state"]`` (RNG states, W&B run id), read without loading the weights into memory."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except RuntimeError:  # not a zip checkpoint (mmap needs one)
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    state = checkpoint.get(RUN_STATE_KEY) or {}
    step = checkpoint.get("global_step")
    return {**state, "global_step": step}


def logger_config_for_resume(logger_cfg: DictConfig | None, run_id: str | None) -> DictConfig | None:
    """A copy of the ``logger`` config whose W&B entries continue run ``run_id``."""
    if logger_cfg is None or not run_id:
        return logger_cfg
    cfg = OmegaConf.create(OmegaConf.to_container(logger_cfg, resolve=True))
    with open_dict(cfg):
        for conf in cfg.values():
            if isinstance(conf, DictConfig) and conf.get("_target_") == WANDB_BUILDER:
                conf.run_id = run_id
    return cfg


def keep_csv_history(loggers: list) -> list[Path]:
    """Move the ``metrics.csv`` of CSV loggers aside before they start (they would delete it).

    On a resume into the same output dir the earlier rows are kept as ``metrics_part<k>.csv``
    next to the new ``metrics.csv``. Returns the files written.
    """
    from lightning.pytorch.loggers import CSVLogger

    moved = []
    for logger in loggers:
        if not isinstance(logger, CSVLogger):
            continue
        metrics = Path(logger.log_dir) / "metrics.csv"
        if not metrics.is_file():
            continue
        k = 1
        while (target := metrics.with_name(f"metrics_part{k}.csv")).exists():
            k += 1
        metrics.rename(target)
        log.info("Kept the earlier CSV metrics as %s", target)
        moved.append(target)
    return moved


def stopped_early(exception: BaseException, callbacks: list, output_dir: Path, global_step: int) -> BaseException:
    """What ``train.py`` raises when a fit stopped on a signal or a non-finite value.

    SIGTERM / SIGINT: ``SystemExit(128 + signal)`` (143 / 130) after logging where ``last.ckpt``
    is and how to resume. Non-finite loss or gradient: a ``FloatingPointError`` naming the step,
    the saved checkpoint and the resume command.
    """
    import signal

    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from anonymizer.training.callbacks.resume import LastCheckpoint

    handler = next((c for c in callbacks if isinstance(c, LastCheckpoint)), None)
    saved = handler.saved_to if handler is not None else None
    resume = f"resume with: python -m anonymizer.train <the same overrides> hydra.run.dir={output_dir} ckpt_path=last"
    where = (f"saved {saved}; {resume}" if saved
             else "no checkpoint was saved at the stop (see checkpoints/ for earlier ones)")
    if isinstance(exception, SIGTERMException):
        signum = (handler.signal_received if handler is not None else None) or signal.SIGTERM
        log.error("Training stopped by %s at step %d; %s", signal.Signals(signum).name, global_step, where)
        return SystemExit(128 + int(signum))
    if saved:
        where = (f"that step's update was not applied: {saved} holds the state after {global_step} optimizer steps "
                 f"(first lower model.optimizer.lr or keep trainer.gradient_clip_val > 0, then {resume})")
    message = f"training stopped: {exception}; {where}"
    log.error(message)
    return FloatingPointError(message)
