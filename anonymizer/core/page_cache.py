"""Per-process LRU cache of decoded pages for the page datasets (:mod:`~anonymizer.data.page_crops`,
:mod:`~anonymizer.data.record_crops`).

The cache belongs to the process that filled it: it pickles empty (a dataset holding one
is cheap to send to DataLoader workers) and empties itself in a forked worker, which
inherits the parent's memory unpickled.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PageCache(Generic[T]):
    """Up to ``capacity`` decoded pages by key (0: none kept), least recently used evicted
    first, plus the keys found unusable in this process (:attr:`failed`, never evicted)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._reset()

    def _reset(self) -> None:
        self._pages: OrderedDict[Any, T] = OrderedDict()
        self._failed: set[Any] = set()
        self._pid = os.getpid()

    def _check_process(self) -> None:
        if self._pid != os.getpid():  # forked worker: start with an empty cache
            self._reset()

    def __getstate__(self) -> dict[str, Any]:
        return {"capacity": self.capacity}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.capacity = state["capacity"]
        self._reset()

    def __len__(self) -> int:
        self._check_process()
        return len(self._pages)

    def get(self, key: Any) -> T | None:
        """The cached page of ``key`` (now the most recently used), or None."""
        self._check_process()
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, key: Any, page: T) -> None:
        """Keep ``page`` for ``key``, evicting the least recently used beyond ``capacity``."""
        self._check_process()
        if self.capacity > 0:
            self._pages[key] = page
            while len(self._pages) > self.capacity:
                self._pages.popitem(last=False)

    @property
    def failed(self) -> set[Any]:
        """Keys whose pages could not be used in this process (add to it; never drawn again)."""
        self._check_process()
        return self._failed
