"""The DataLoader settings shared by the project's DataModules, with a resumable training order."""

from __future__ import annotations

import itertools
import logging
import os
import signal
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.seed import pl_worker_init_function
from torch.utils.data import DataLoader, Dataset, DistributedSampler

log = logging.getLogger(__name__)

# Lightning warns that a mid-epoch resume is unreliable unless the *DataLoader* is stateful;
# ours resumes through the DataModule's state (see SplitDataModule.state_dict), so the warning
# does not apply (tests/test_resume.py checks the resumed order).
warnings.filterwarnings("ignore", message=r"You're resuming from a checkpoint that ended before the epoch ended")


def init_worker(worker_id: int) -> None:
    """DataLoader workers ignore SIGTERM and SIGINT; the main process stops them.

    A signal sent to the whole process group (Ctrl+C, ``kill -TERM -<pgid>``, a scheduler
    cancelling a job) would otherwise kill the workers, and the main process would fail with
    "DataLoader worker exited unexpectedly" in the middle of a step instead of finishing it
    and saving ``last.ckpt``. Workers still exit when the main process dies. Seeds the worker
    as Lightning would (``seed_everything(workers=True)``), which it skips when a loader has
    its own ``worker_init_fn``.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if int(os.environ.get("PL_SEED_WORKERS", 0)):
        pl_worker_init_function(worker_id)


class ResumableShuffleSampler(DistributedSampler):
    """Shuffled indices whose order for epoch ``e`` is a function of ``(seed, e)`` only.

    Like :class:`~torch.utils.data.DistributedSampler` (``drop_last=True``): each of
    ``num_replicas`` processes takes every ``num_replicas``-th index of the epoch's
    permutation (``num_replicas=1``: all of them). Being a ``DistributedSampler``, Lightning
    leaves it in place under DDP instead of wrapping it.

    :meth:`resume_at` makes iterators of one epoch start after the samples already consumed;
    ``len()`` stays the full epoch length, as Lightning expects of a resumed loader (it counts
    the skipped batches as already fetched).
    """

    def __init__(self, dataset: Dataset, seed: int = 0, num_replicas: int = 1, rank: int = 0) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self._resume_epoch: int | None = None
        self._resume_skip = 0

    def resume_at(self, epoch: int, skip: int) -> None:
        """Iterate epoch ``epoch`` from its ``skip``-th sample (of this replica) on."""
        if not 0 <= skip <= self.num_samples:
            raise ValueError(f"cannot skip {skip} samples of an epoch of {self.num_samples}")
        self.set_epoch(epoch)
        self._resume_epoch, self._resume_skip = epoch, skip

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        if self._resume_epoch is not None and epoch != self._resume_epoch:
            self._resume_epoch, self._resume_skip = None, 0  # moved past the resumed epoch

    def __iter__(self) -> Iterator[int]:
        skip = self._resume_skip if self._resume_epoch == self.epoch else 0
        return itertools.islice(super().__iter__(), skip, None)


class SplitDataModule(L.LightningDataModule):
    """Train/val loaders over ``self.train_set`` / ``self.val_set``.

    Subclasses set ``batch_size``, ``num_workers``, ``pin_memory``, ``seed`` and the two
    datasets in ``setup``. Training shuffles with :class:`ResumableShuffleSampler` (order a
    function of ``(seed, epoch)``) and drops the last partial batch; workers persist between
    epochs (they hold warm font/glyph caches). Both loaders get their own seeded generator,
    so creating an iterator never draws from the global RNG (exact resume depends on it).

    Checkpoints store how many training batches were consumed (``state_dict``); after
    ``load_state_dict`` the next train loader continues mid-epoch where the run stopped.
    """

    collate_fn: Callable[[list[Any]], Any] | None = None
    batch_size: int
    num_workers: int
    pin_memory: bool
    seed: int
    train_set: Dataset | None
    val_set: Dataset | None
    _resume_state: dict[str, Any] | None = None

    def _loader(self, dataset: Dataset, shuffle: bool) -> DataLoader:
        sampler = self._train_sampler(dataset) if shuffle else None
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=self.pin_memory,
            drop_last=shuffle,
            collate_fn=type(self).collate_fn,
            generator=torch.Generator().manual_seed(self.seed),
            worker_init_fn=init_worker if self.num_workers > 0 else None,
        )

    def _train_sampler(self, dataset: Dataset) -> ResumableShuffleSampler:
        trainer = self.trainer
        replicas, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        sampler = ResumableShuffleSampler(dataset, seed=self.seed, num_replicas=replicas, rank=rank)
        state, self._resume_state = self._resume_state, None
        if state:
            batches_per_epoch = state.get("train_batches_per_epoch") or sampler.num_samples // self.batch_size
            epoch, batch = divmod(int(state["train_batches_seen"]), int(batches_per_epoch))
            if state.get("batch_size") not in (None, self.batch_size):
                log.warning("data.batch_size changed from %s to %s: the resumed data order is not the original one",
                            state["batch_size"], self.batch_size)
            sampler.resume_at(epoch, min(batch * self.batch_size, sampler.num_samples))
            log.info("Training data resumes at epoch %d, batch %d", epoch, batch)
        return sampler

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)

    # ------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Training batches consumed so far (from the fit loop's progress) and the epoch length.

        ``processed`` counts batches whose optimizer step completed; a batch whose training step
        failed (e.g. a non-finite loss) is not counted, so a resume repeats it, as Lightning does.
        """
        trainer = self.trainer
        if trainer is None:
            return {}
        per_epoch = trainer.num_training_batches
        return {
            "train_batches_seen": int(trainer.fit_loop.epoch_loop.batch_progress.total.processed),
            "train_batches_per_epoch": (
                int(per_epoch) if per_epoch not in (None, float("inf")) and per_epoch > 0 else None
            ),
            "batch_size": self.batch_size,
            "seed": self.seed,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if state_dict and "train_batches_seen" in state_dict:
            if state_dict.get("seed") not in (None, self.seed):
                log.warning("data.seed changed from %s to %s: the resumed data order is not the original one",
                            state_dict["seed"], self.seed)
            self._resume_state = dict(state_dict)
