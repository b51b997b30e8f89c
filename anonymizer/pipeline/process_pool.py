"""``engine=local engine.workers=N``: documents anonymized by N worker processes on this machine.

Each worker is a fresh Python process (``spawn``: nothing of the parent's state, threads or
open files is inherited) that builds the pipeline once from the command's config (plain
data; the surrogate secret is read from the worker's environment, which it inherits) and
then runs the command's one-document function (the same one the sequential loop and the
Ray workers run, named by ``"module:function"``) on one document at a time. The function
writes the output and the audit itself (atomically) and never raises for a bad document;
only its outcome (path, status, reason, counts: no text) comes back. Documents are handed
out one at a time, so a long PDF does not hold up the others.

A worker that dies (killed, out of memory) fails the document it was doing and every
document not yet done with the reason ``"not done: a worker process stopped (...)"``; the
temporary files their writers left are removed (their outputs and audits were never
published), so a rerun does them afresh.
"""

from __future__ import annotations

import importlib
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from anonymizer.core.outputs import remove_unpublished
from anonymizer.pipeline.audit import audit_path

__all__ = ["WorkerStopped", "resolve_function", "run_pool"]

#: Set in each worker by :func:`_start`: ``(function, pipeline, cfg)``.
_WORKER: tuple[Callable[..., Any], Any, Any] | None = None


class WorkerStopped(RuntimeError):
    """A worker process stopped before its document was done (the reason names no document text)."""


def resolve_function(name: str) -> Callable[..., Any]:
    """The function named ``"module:function"``."""
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


def _start(cfg: dict[str, Any], process: str) -> None:
    """Pool initializer: the pipeline, built once per worker."""
    global _WORKER
    from omegaconf import OmegaConf

    from anonymizer.pipeline.document import DocumentAnonymizer

    config = OmegaConf.create(cfg)
    _WORKER = (resolve_function(process), DocumentAnonymizer.from_config(config), config)


def _one(path: str, target: str) -> Any:
    assert _WORKER is not None, "the worker was not started"
    function, pipeline, cfg = _WORKER
    return function(Path(path), Path(target), pipeline, cfg)


def _stopped(target: Path, err: BaseException) -> WorkerStopped:
    """The outcome of a document a stopped worker left undone; its writers' temporary files removed."""
    remove_unpublished(target)
    remove_unpublished(audit_path(target))
    return WorkerStopped(f"not done: a worker process stopped ({type(err).__name__})")


def run_pool(items: Sequence[tuple[Path, Path]], cfg: dict[str, Any], process: str,
             workers: int) -> Iterator[tuple[int, Any]]:
    """Run ``process(path, target, pipeline, cfg)`` for every ``(path, target)`` of ``items``
    on ``workers`` processes (at most one per item); yields ``(index, outcome)`` as documents
    finish, or ``(index, WorkerStopped)`` for those a stopped worker left undone.

    ``cfg`` is the command's config as plain data (resolved; no secret in it)."""
    workers = max(1, min(int(workers), len(items)))
    if not items:
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start,
                               initargs=(cfg, process))
    pending: dict[Future, int] = {}
    queue = iter(enumerate(items))
    broken: BaseException | None = None
    stopped: list[int] = []
    try:
        def submit() -> None:
            item = next(queue, None)
            if item is not None:
                index, (path, target) = item
                pending[pool.submit(_one, str(path), str(target))] = index

        for _ in range(2 * workers):  # a little ahead, so no worker waits for the parent
            submit()
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in done:
                index = pending.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool as err:
                    broken = broken or err
                    stopped.append(index)
                    continue
                yield index, outcome
                if broken is None:
                    submit()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # every worker has exited after this
    if broken is not None:
        stopped += [index for index, _ in queue]
        for index in sorted(stopped):
            yield index, _stopped(items[index][1], broken)
