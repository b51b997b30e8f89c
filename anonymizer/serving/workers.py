"""A bounded pool: ``workers`` threads and at most ``queue_size`` requests waiting.

A request takes a :class:`Ticket` once its upload has arrived (:meth:`WorkerPool.admit`;
the API answers 503 at once, before reading the upload, when :meth:`WorkerPool.full`);
when ``workers + queue_size`` tickets are out, admission fails with :class:`PoolFull` (the
API answers 503 with ``Retry-After``). A ticket is given back when its job finishes, or
when the request ends without submitting one, so the bound holds even for jobs that
outlive their request (a timed-out job stops at once while a PDF page renders, else at the
end of its current page).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class PoolFull(RuntimeError):
    """Every worker is busy and the queue is full."""


class Ticket:
    """One admitted request: it may submit one job; released once."""

    def __init__(self, pool: WorkerPool) -> None:
        self._pool = pool
        self._released = False
        self.future: Future | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` on a worker; the ticket is released when it is done."""
        if self.future is not None or self._released:
            raise RuntimeError("a ticket runs one job")
        self.future = self._pool._submit(fn, *args)
        self.future.add_done_callback(lambda _: self.release())
        return self.future

    def release(self) -> None:
        """Give the slot back (idempotent)."""
        with self._pool._lock:
            if self._released:
                return
            self._released = True
            self._pool._admitted -= 1

    def close(self) -> None:
        """End of the request: release now unless a job holds the ticket until it is done."""
        if self.future is None:
            self.release()


class WorkerPool:
    """``workers`` threads behind an admission limit of ``workers + queue_size`` requests."""

    def __init__(self, workers: int, queue_size: int) -> None:
        if workers < 1 or queue_size < 0:
            raise ValueError(f"workers must be >= 1 and queue_size >= 0, got {workers}, {queue_size}")
        self.workers = int(workers)
        self.queue_size = int(queue_size)
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="anonymizer-worker")
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0

    @property
    def capacity(self) -> int:
        return self.workers + self.queue_size

    def admit(self) -> Ticket:
        """A ticket for one request.

        Raises:
            PoolFull: ``capacity`` requests are already admitted.
        """
        with self._lock:
            if self._admitted >= self.capacity:
                raise PoolFull(f"{self._running} running and {self._admitted - self._running} waiting")
            self._admitted += 1
        return Ticket(self)

    def full(self) -> bool:
        """Whether :meth:`admit` would fail now."""
        with self._lock:
            return self._admitted >= self.capacity

    def stats(self) -> dict[str, int]:
        """``running`` jobs, ``waiting`` admitted requests (queued for a worker), ``capacity``."""
        with self._lock:
            return {"running": self._running, "waiting": self._admitted - self._running,
                    "workers": self.workers, "queue_size": self.queue_size, "capacity": self.capacity}

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        def job() -> Any:
            with self._lock:
                self._running += 1
            try:
                return fn(*args)
            finally:
                with self._lock:
                    self._running -= 1

        return self._executor.submit(job)

    def shutdown(self) -> None:
        """Stop accepting jobs; queued jobs are cancelled, running ones finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)
