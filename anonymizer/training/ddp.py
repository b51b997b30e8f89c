"""DDP under Hydra: launch children with the trial's own config, and prove ranks agree.

Lightning starts DDP children by re-running the command line. Under ``-m`` (multirun)
that command is the whole sweep, so each child would re-run the sweep and, with a
sampler, train different hyperparameters than rank zero. :func:`pin_children_to_this_job`
rewrites the command line the children inherit into a single run with this job's concrete
overrides in this job's output dir. :class:`RankConsistency` then checks at setup that
every rank has the same config fingerprint (and fails loudly otherwise), and at the end
that all ranks hold identical weights, writing ``ddp_check.json``.

Every rank starts from the same ``seed`` (so that models and their EMA copies are built
identically); :class:`RankSeed` then re-seeds ranks above zero with :func:`rank_seed` when
the fit starts, so that ranks draw different noise, timesteps, posterior samples and
dropout masks (rank zero keeps the stream of a single-process run).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import sys
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.distributed as dist
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

# What decides the training: ranks must agree on these. (Logger names and the like may
# legitimately differ, e.g. through ${now:...}.)
FINGERPRINT_KEYS = ("seed", "data", "model", "trainer")


def config_fingerprint(cfg: DictConfig) -> str:
    """SHA-256 of the resolved training-relevant config (:data:`FINGERPRINT_KEYS`)."""
    container = {key: OmegaConf.to_container(cfg, resolve=True).get(key) for key in FINGERPRINT_KEYS}
    return hashlib.sha256(json.dumps(container, sort_keys=True, default=str).encode()).hexdigest()


def pin_children_to_this_job(output_dir: str | Path) -> bool:
    """In a multirun, make DDP children run this job alone (its overrides, its dir).

    Returns True when the command line was rewritten. Call before ``trainer.fit``.
    """
    if not HydraConfig.initialized():
        return False
    hc = HydraConfig.get()
    if hc.mode != RunMode.MULTIRUN:
        return False
    overrides = [o for o in hc.overrides.task]
    sys.argv = [sys.argv[0], *overrides]
    OmegaConf.set_readonly(hc, False)
    hc.run.dir = str(output_dir)
    OmegaConf.set_readonly(hc, True)
    log.info("DDP children of this trial run as a single job with its %d overrides in %s", len(overrides), output_dir)
    return True


class RankConsistency(L.Callback):
    """Fail when DDP ranks start from different configs; record that their weights agree."""

    def __init__(self, fingerprint: str, output_dir: str | Path) -> None:
        self.fingerprint = fingerprint
        self.output_dir = Path(output_dir)

    @staticmethod
    def _gather(value: Any) -> list[Any]:
        values: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(values, value)
        return values

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if not (dist.is_available() and dist.is_initialized()):
            return
        prints = self._gather(self.fingerprint)
        if len(set(prints)) > 1:
            raise RuntimeError(
                f"DDP ranks were started with different configs (fingerprints {[p[:12] for p in prints]}). "
                "Each rank must train the same hyperparameters: launch DDP jobs as single runs, or run "
                "sweeps through anonymizer.train, which pins each trial's DDP children to its overrides."
            )

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not (dist.is_available() and dist.is_initialized()):
            return
        with torch.no_grad():
            checksum = float(sum(p.double().sum().item() for p in pl_module.parameters() if p.requires_grad))
        checksums = self._gather(checksum)
        if trainer.is_global_zero:
            record = {
                "world_size": dist.get_world_size(),
                "config_fingerprints_equal": True,
                "config_fingerprint": self.fingerprint,
                "trainable_weight_checksums": checksums,
                "weights_equal": len(set(checksums)) == 1,
            }
            (self.output_dir / "ddp_check.json").write_text(json.dumps(record, indent=2))


def rank_seed(seed: int, rank: int) -> int:
    """The global seed of DDP rank ``rank``: ``seed`` itself on rank zero, a distinct 63-bit seed
    derived from ``(seed, rank)`` on the others."""
    if rank == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(rank)]).generate_state(1, dtype=np.uint64)[0] % 2**63)


def seed_this_process(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (all devices) global generators with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class RankSeed(L.Callback):
    """At the start of a fit on several processes, re-seed ranks above zero with :func:`rank_seed`
    (a resumed fit then restores each rank's own RNG states, see ``RunState``)."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit" and trainer.world_size > 1 and trainer.global_rank > 0:
            seed = rank_seed(self.seed, trainer.global_rank)
            seed_this_process(seed)
            log.info("Rank %d: global RNGs seeded with %d", trainer.global_rank, seed)
