"""Readers for public document datasets in their published layouts, and a generic manifest.

Each reader takes the dataset folder (and optionally one split) and returns a
:class:`ReadResult`: page records (:mod:`anonymizer.core.records`) with absolute image
paths, plus the skipped items ``(item, reason)``; a folder that is not in the expected
layout raises :class:`ReaderError`. See each module for the exact layout it reads:

* ``funsd``: :mod:`~anonymizer.data.readers.funsd`
* ``xfund``: :mod:`~anonymizer.data.readers.xfund`
* ``cord``: :mod:`~anonymizer.data.readers.cord`
* ``sroie``: :mod:`~anonymizer.data.readers.sroie` (task 1, line-level words)
* ``manifest``: :mod:`~anonymizer.data.readers.manifest` (your own pages)
* ``truth``: :mod:`~anonymizer.data.readers.truth` (pages with hand-marked sensitive values)

``python -m anonymizer.data.prepare`` converts a folder into a validated JSONL file.
"""

from __future__ import annotations

from pathlib import Path

from anonymizer.data.readers.base import Reader, ReaderError, ReadResult, Skip
from anonymizer.data.readers.cord import read_cord
from anonymizer.data.readers.funsd import read_funsd
from anonymizer.data.readers.manifest import read_manifest
from anonymizer.data.readers.sroie import read_sroie
from anonymizer.data.readers.truth import read_truth
from anonymizer.data.readers.xfund import read_xfund

READERS: dict[str, Reader] = {
    "funsd": read_funsd,
    "xfund": read_xfund,
    "cord": read_cord,
    "sroie": read_sroie,
    "manifest": read_manifest,
    "truth": read_truth,
}


def read_dataset(dataset: str, folder: str | Path, split: str | None = None) -> ReadResult:
    """Read ``folder`` with the reader registered as ``dataset``."""
    if dataset not in READERS:
        raise ReaderError(f"unknown dataset {dataset!r} (choose from {', '.join(READERS)})")
    return READERS[dataset](folder, split=split)


__all__ = [
    "READERS",
    "ReadResult",
    "Reader",
    "ReaderError",
    "Skip",
    "read_cord",
    "read_dataset",
    "read_funsd",
    "read_manifest",
    "read_sroie",
    "read_truth",
    "read_xfund",
]
