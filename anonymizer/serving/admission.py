"""Who may send an upload now: a bound on uploads being received, and on each client's requests.

A request enters when it arrives, before its body is read (:meth:`Admission.enter`). It
holds a *client slot* (at most ``per_client`` per client address) until the request
ends, and an *upload slot* (at most ``max_uploads`` in all) until its body has arrived,
been refused or timed out. Worker and queue slots (:mod:`anonymizer.serving.workers`) are
taken only once the whole upload is there, so clients that send slowly or not at all
use upload slots, which the receive deadline (``server.upload_timeout_s``) frees, never
the slots of the documents being processed.
"""

from __future__ import annotations

import threading
from collections import Counter

from anonymizer.serving.errors import ApiError


class Entry:
    """One admitted request: its client slot and its upload slot."""

    def __init__(self, admission: Admission, client: str) -> None:
        self._admission = admission
        self.client = client
        self._uploading = True
        self._open = True

    def upload_done(self) -> None:
        """The upload has arrived (or failed): give its upload slot back (idempotent)."""
        with self._admission._lock:
            if self._uploading:
                self._uploading = False
                self._admission._uploads -= 1

    def close(self) -> None:
        """The request ends: give both slots back (idempotent)."""
        self.upload_done()
        with self._admission._lock:
            if self._open:
                self._open = False
                self._admission._clients[self.client] -= 1
                if not self._admission._clients[self.client]:
                    del self._admission._clients[self.client]


class Admission:
    """At most ``max_uploads`` uploads at once and ``per_client`` requests per client address."""

    def __init__(self, max_uploads: int, per_client: int, retry_after_s: int) -> None:
        self.max_uploads = int(max_uploads)
        self.per_client = int(per_client)
        self.retry_after_s = int(retry_after_s)
        self._lock = threading.Lock()
        self._uploads = 0
        self._clients: Counter[str] = Counter()

    def enter(self, client: str) -> Entry:
        """Admit a request of ``client`` (its address).

        Raises:
            ApiError: 429 (the client has ``per_client`` requests in progress) or 503
                (``max_uploads`` uploads are arriving), with ``Retry-After``.
        """
        retry = {"Retry-After": str(self.retry_after_s)}
        with self._lock:
            if self._clients[client] >= self.per_client:
                raise ApiError(429, f"too many requests from this client at once ({self.per_client} in progress, "
                                    f"server.max_requests_per_client); retry after {self.retry_after_s} s", retry)
            if self._uploads >= self.max_uploads:
                raise ApiError(503, f"the server is receiving {self.max_uploads} uploads (server.max_uploads); "
                                    f"retry after {self.retry_after_s} s", retry)
            self._clients[client] += 1
            self._uploads += 1
        return Entry(self, client)

    def uploading(self) -> int:
        """Uploads being received now."""
        with self._lock:
            return self._uploads
