"""Helpers shared by the evaluation tasks: model paths, dtypes, record files, config checks."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from anonymizer.core.entry import UsageError
from anonymizer.core.records import PageRecord
from anonymizer.data import checks

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def torch_dtype(name: str, key: str = "model.dtype") -> torch.dtype:
    """The torch dtype called ``name``; :class:`UsageError` naming ``key`` otherwise."""
    if name not in DTYPES:
        raise UsageError(f"{key} must be one of {sorted(DTYPES)}, got {name!r}")
    return DTYPES[name]


def looks_local(path: str) -> bool:
    """Whether ``path`` is meant as a local folder (exists, or looks like a path), not a hub id
    (``owner/name``) or a URL."""
    if "://" in path:
        return False
    return Path(path).expanduser().exists() or path.startswith(("/", ".", "~")) or path.count("/") != 1


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int >= ``minimum``; :class:`UsageError` naming ``name`` otherwise."""
    try:
        return checks.check_int(name, value, minimum)
    except ValueError as err:
        raise UsageError(str(err)) from None


def check_number(name: str, value: Any, minimum: float, maximum: float | None = None) -> float:
    """``value`` as a float in ``[minimum, maximum]``; :class:`UsageError` naming ``name`` otherwise."""
    try:
        return checks.check_number(name, value, minimum, maximum)
    except ValueError as err:
        raise UsageError(str(err)) from None


def load_record_file(
    path: str | Path, splits: Sequence[str] | None = None, key: str = "data.records"
) -> list[PageRecord]:
    """The valid records of a page-records JSONL file (only ``splits`` when given), or of a
    folder of hand-marked pages (``truth.json`` beside ``pages/``, read with
    :func:`~anonymizer.data.readers.truth.read_truth`).

    Invalid lines (values) are skipped (their count and first reasons are logged, never text).

    Raises:
        UsageError: naming the file, when it is missing or holds no usable record.
    """
    from anonymizer.data.readers.truth import TRUTH_FILE, read_truth
    from anonymizer.data.record_crops import read_record_file

    file = Path(str(path)).expanduser()
    if file.is_dir() and (file / TRUTH_FILE).is_file():
        result = read_truth(file)
        for skip in result.skipped:
            log.warning("%s=%s: skipped %s: %s", key, path, skip.item, skip.reason)
        records, invalid = result.records, len(result.skipped)
    elif not file.is_file():
        raise UsageError(f"{key}={path}: no such file (nor a folder holding {TRUTH_FILE})")
    else:
        records, invalid = read_record_file(file, key)
    if splits is not None:
        wanted = {splits} if isinstance(splits, str) else set(splits)
        records = [r for r in records if r.split in wanted]
    if not records:
        where = f" with split in {sorted(wanted)}" if splits is not None else ""
        raise UsageError(f"{key}={path}: no valid page record{where} ({invalid} invalid line(s))")
    return records
