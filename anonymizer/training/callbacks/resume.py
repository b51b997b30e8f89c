"""Exact resume and safe stops.

* :class:`RunState` stores what Lightning's checkpoint lacks for an exact resume: the RNG
  states (torch, CUDA, numpy, random) of every rank and the W&B run id
  (``checkpoint["run_state"]``).
* :class:`LastCheckpoint` keeps ``last.ckpt`` the final state of a fit, also one that stops
  early: on SIGTERM (and a first Ctrl+C / SIGINT) the current step finishes, ``last.ckpt`` is saved
  and the run exits; on a non-finite loss or gradient the run stops *before* the bad update
  and saves the last good state.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.distributed as dist
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

log = logging.getLogger(__name__)

RUN_STATE_KEY = "run_state"


# ---------------------------------------------------------------------------- RNG
def collect_rng_states() -> dict[str, Any]:
    """The global RNG states of this process."""
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["torch.cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore states from :func:`collect_rng_states` (keys that are absent are left alone)."""
    if "torch" in states:
        torch.set_rng_state(torch.as_tensor(states["torch"]).cpu())
    if "numpy" in states:
        np.random.set_state(states["numpy"])
    if "python" in states:
        version, internal, gauss = states["python"]
        random.setstate((version, tuple(internal), gauss))
    if "torch.cuda" in states and torch.cuda.is_available():
        cuda_states = states["torch.cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
        else:
            log.warning("checkpoint has CUDA RNG states of %d devices, this machine %d: not restored",
                        len(cuda_states), torch.cuda.device_count())


def wandb_run_id(trainer: L.Trainer) -> str | None:
    """The id of the trainer's W&B run, if it has a ``WandbLogger``."""
    from lightning.pytorch.loggers import WandbLogger

    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            return logger.version
    return None


def _gathered(states: dict[str, Any]) -> list[dict[str, Any]]:
    """Every rank's ``states`` (rank order) in DDP; ``[states]`` in a single process."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return [states]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, states)
    return out


def _derived_states(states: dict[str, Any], rank: int) -> dict[str, Any]:
    """RNG states for ``rank`` derived from another rank's ``states`` (for checkpoints that hold
    rank zero's states only): fresh generators seeded by a hash of them and the rank."""
    from anonymizer.training.ddp import seed_this_process

    digest = hashlib.sha256(torch.as_tensor(states["torch"]).numpy().tobytes() + str(rank).encode()).digest()
    with torch.random.fork_rng(devices=[]):
        saved_np, saved_py = np.random.get_state(), random.getstate()
        seed_this_process(int.from_bytes(digest[:8], "little") % 2**63)
        derived = collect_rng_states()
        np.random.set_state(saved_np)
        random.setstate(saved_py)
    derived.pop("torch.cuda", None)
    return derived


class RunState(L.Callback):
    """Save and restore the RNG states and the W&B run id under ``checkpoint["run_state"]``.

    RNG states are restored at ``on_train_start`` of the resumed fit, i.e. after everything
    that is set up anew and just before the first training batch is fetched, so the resumed
    steps draw the same posterior samples, noise and dropout masks as an uninterrupted run.
    (Data loaders have their own generators and never draw from the global RNG.) A checkpoint
    saved in the middle of a batch (a non-finite loss or gradient) stores the states from the
    start of that batch, so a resume repeats it exactly. In DDP every rank's states are
    gathered into the checkpoint (``rng_per_rank``) and each rank restores its own; a
    checkpoint with rank zero's states only (older runs, or another world size) gives the
    other ranks states derived from them and their rank, with a warning.
    """

    def __init__(self) -> None:
        self._pending_rng: dict[str, Any] | None = None
        self._batch_start_rng: dict[str, Any] | None = None

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._batch_start_rng = collect_rng_states()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        self._batch_start_rng = None

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        rng = self._batch_start_rng if self._batch_start_rng is not None else collect_rng_states()
        per_rank = _gathered(rng)
        checkpoint[RUN_STATE_KEY] = {"rng": per_rank[0], "rng_per_rank": per_rank,
                                     "wandb_run_id": wandb_run_id(trainer)}

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get(RUN_STATE_KEY) or {}
        rank, world = trainer.global_rank, trainer.world_size
        per_rank = state.get("rng_per_rank")
        if per_rank is not None and len(per_rank) == world:
            self._pending_rng = per_rank[rank]
        elif state.get("rng") is None:
            self._pending_rng = None
            log.warning("the checkpoint has no RNG states: the resumed run is not bit-exact")
        elif rank == 0:
            self._pending_rng = state["rng"]
        else:
            saved = len(per_rank) if per_rank is not None else 1
            log.warning("the checkpoint holds the RNG states of %d rank(s), this run has %d: rank %d continues from "
                        "states derived from rank zero's", saved, world, rank)
            self._pending_rng = _derived_states(state["rng"], rank)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._batch_start_rng = None
        if self._pending_rng is not None:
            set_rng_states(self._pending_rng)
            self._pending_rng = None


# ------------------------------------------------------------------- safe stops
class LastCheckpoint(L.Callback):
    """Keep ``<dirpath>/last.ckpt`` the state where the fit ended, also when it stops early.

    * **End of fit**: Lightning's ``ModelCheckpoint(save_last=True)`` writes ``last.ckpt`` at
      validations (or every N steps) only; when the fit ends between two, this callback
      saves the final state there.
    * **SIGTERM** (Lightning's signal handler): the running step (or validation batch)
      finishes, Lightning raises ``SIGTERMException``, and this callback saves ``last.ckpt``.
    * **SIGINT** (Ctrl+C), first time: treated like SIGTERM (Lightning's default raises
      ``KeyboardInterrupt`` wherever the code is, possibly half way through an optimizer
      step). A second Ctrl+C interrupts at once and saves nothing.
    * **Non-finite loss** (``FloatingPointError`` from ``training_step``, raised before
      backward) and, with ``check_gradients``, a **non-finite gradient** (checked before the
      optimizer step): the weights and optimizer state are still the last good ones and are
      saved as ``last.ckpt``.

    Other exceptions save nothing: the state may be half updated; the last periodic
    checkpoint stays. ``saved_to`` / ``stop_reason`` tell ``train.py`` what happened.
    """

    def __init__(self, dirpath: str, filename: str = "last", check_gradients: bool = True,
                 graceful_sigint: bool = True) -> None:
        self.path = Path(dirpath) / f"{filename}.ckpt"
        self.check_gradients = check_gradients
        self.graceful_sigint = graceful_sigint
        self.saved_to: Path | None = None
        self.stop_reason: str | None = None
        self.signal_received: int | None = None
        self._previous_sigint: Any = None

    # --------------------------------------------------------------- signals
    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.saved_to, self.stop_reason, self.signal_received = None, None, None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Installed after Lightning registered its own handlers: Lightning's teardown puts back
        # the handlers it found, which must not include this one.
        if not self.graceful_sigint or threading.current_thread() is not threading.main_thread():
            return
        self._previous_sigint = signal.getsignal(signal.SIGINT)

        def on_sigint(signum: int, frame: Any) -> None:
            if self.signal_received is not None:
                log.warning("Second interrupt: stopping now, without a checkpoint")
                raise KeyboardInterrupt
            self.signal_received = signum
            log.warning("Interrupted (SIGINT): finishing the current step, then saving %s "
                        "(press Ctrl+C again to stop at once)", self.path)
            request_graceful_stop(trainer)

        signal.signal(signal.SIGINT, on_sigint)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._restore_sigint()

    def _restore_sigint(self) -> None:
        # Lightning calls no teardown hooks after an exception: on_exception restores too.
        if self._previous_sigint is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._previous_sigint)
        self._previous_sigint = None

    # ------------------------------------------------------- non-finite values
    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: Any) -> None:
        if not self.check_gradients or str(trainer.precision) in ("16-mixed", "16"):
            return  # fp16 loss scaling skips steps with inf gradients by design
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if not grads:
            return
        norms = torch._foreach_norm(grads)
        if not bool(torch.isfinite(torch.stack([n.float() for n in norms])).all()):
            names = {p: n for n, p in pl_module.named_parameters()}
            bad = [names.get(p, "?") for group in optimizer.param_groups for p in group["params"]
                   if p.grad is not None and not bool(torch.isfinite(p.grad).all())]
            raise FloatingPointError(
                f"non-finite gradient at step {trainer.global_step} in {len(bad)} parameter(s), e.g. {bad[:3]}"
            )

    # ------------------------------------------------------------- end of fit
    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or bool(trainer.fast_dev_run) or trainer.global_step == 0:
            return
        for callback in self._model_checkpoints(trainer):
            if getattr(callback, "_last_global_step_saved", None) == trainer.global_step:
                return  # ModelCheckpoint saved last.ckpt at this step already
        self._save(trainer)

    # ------------------------------------------------------------- exceptions
    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._restore_sigint()
        if trainer.state.fn != TrainerFn.FITTING or trainer.sanity_checking:
            return
        if isinstance(exception, SIGTERMException):
            signum = self.signal_received or signal.SIGTERM
            self.stop_reason = f"{signal.Signals(signum).name} at step {trainer.global_step}"
        elif isinstance(exception, FloatingPointError):
            self.stop_reason = str(exception)
        else:
            return
        with _as_saved_on_train_batch_end(trainer, exception):
            self._save(trainer)
        log.warning("Stopped: %s; saved %s", self.stop_reason, self.path)

    def _model_checkpoints(self, trainer: L.Trainer) -> list:
        """The ``ModelCheckpoint(save_last)`` callbacks that write the same ``last.ckpt``."""
        same_dir = [c for c in trainer.checkpoint_callbacks
                    if getattr(c, "save_last", False) and getattr(c, "dirpath", None)
                    and Path(str(c.dirpath)).resolve() == self.path.parent.resolve()]
        return same_dir

    def _save(self, trainer: L.Trainer) -> None:
        # ModelCheckpoint must treat this file as its own "last" (part of the saved state), or a
        # run resumed in the same dir would write last-v1.ckpt next to it.
        for callback in self._model_checkpoints(trainer):
            callback.last_model_path = str(self.path)
        trainer.save_checkpoint(self.path)
        self.saved_to = self.path


@contextlib.contextmanager
def _as_saved_on_train_batch_end(trainer: L.Trainer, exception: BaseException) -> Iterator[None]:
    """Save the fit loop's progress as Lightning's own mid-epoch checkpoints have it.

    ``SIGTERMException`` is raised after a batch, its validation and the loggers' step
    increment (or after the epoch-end hooks); ``FloatingPointError`` in the middle of the next
    batch. Lightning resumes exactly from neither: after the last batch of an epoch it runs one
    batch too many in the old epoch, and at a validation step it logs every later metric one
    step late. Its periodic checkpoints (``ModelCheckpoint`` in ``on_train_batch_end``) resume
    exactly, so the progress counters are saved as they stood in ``on_train_batch_end`` of the
    last completed batch (weights, optimizer, schedulers and the data position are the same at
    both points; ``tests/test_resume.py`` checks each case against an uninterrupted run).
    Left as is: stops during validation (Lightning finishes the validation on resume), before
    the first step, and with gradient accumulation (only the logged step may be off by one).
    """
    fit_loop = trainer.fit_loop
    loop = fit_loop.epoch_loop
    batches, epochs = loop.batch_progress, fit_loop.epoch_progress
    trackers = (batches.current, batches.total, epochs.current, epochs.total)
    saved: tuple | None = None
    try:
        cur, tot, epoch = batches.current, batches.total, epochs.current
        after_batch = isinstance(exception, SIGTERMException) and cur.completed == cur.processed
        failed_batch = (isinstance(exception, FloatingPointError) and cur.completed == cur.processed
                        and cur.started == cur.ready == cur.processed + 1)
        epoch_running = epoch.processed < epoch.started
        # SIGTERM in the epoch-end hooks: the epoch is complete, its last batch still counted
        epoch_ended = (after_batch and epoch.completed == epoch.processed == epoch.started
                       and cur.processed >= trainer.num_training_batches)
        # a failed first batch of a later epoch: go back to the end of the previous one
        failed_first = failed_batch and epoch_running and cur.processed == 0 and tot.processed >= 1
        if ((after_batch or failed_batch) and (epoch_running or epoch_ended) and tot.processed >= 1
                and (cur.processed >= 1 or failed_first)
                and not trainer.validating and trainer.accumulate_grad_batches == 1):
            saved = ([(t.ready, t.started, t.processed, t.completed) for t in trackers],
                     batches.is_last_batch, loop._batches_that_stepped)
            if failed_first:
                cur.processed = int(trainer.num_training_batches)
            for t in (cur, tot):
                t.ready = t.started = t.processed
                t.completed = t.processed - 1
            if epoch_ended or failed_first:
                for t in (epochs.current, epochs.total):
                    t.processed -= 1
                    t.completed -= 1
                    if failed_first:
                        t.ready -= 1
                        t.started -= 1
            batches.is_last_batch = cur.processed >= trainer.num_training_batches
            loop._batches_that_stepped -= 1
    except AttributeError:  # Lightning internals moved: the checkpoint is saved as is
        saved = None
    try:
        yield
    finally:
        if saved is not None:
            counts, batches.is_last_batch, loop._batches_that_stepped = saved
            for tracker, (ready, started, processed, completed) in zip(trackers, counts):
                tracker.ready, tracker.started = ready, started
                tracker.processed, tracker.completed = processed, completed


def request_graceful_stop(trainer: L.Trainer) -> None:
    """Make the trainer stop as on SIGTERM: after the running step, with ``SIGTERMException``.

    Uses Lightning's own flag (``trainer.received_sigterm``, read by the fit and evaluation
    loops after each batch); tests/test_resume.py checks the behaviour.
    """
    trainer._signal_connector.received_sigterm = True
