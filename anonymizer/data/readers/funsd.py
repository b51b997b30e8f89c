"""FUNSD (Jaume et al., 2019) in its published layout (``dataset.zip`` unzipped)::

    FUNSD/dataset/training_data/annotations/0000971160.json
                               /images/0000971160.png
                 /testing_data/annotations/...  images/...

Pass the folder containing ``dataset/``, ``dataset/`` itself or one split folder
(``training_data``/``testing_data``). Splits are named ``train`` and ``test``; record ids
are ``funsd/{split}/{file stem}``. Annotations are ``{"form": [entries]}`` read by
:mod:`anonymizer.data.readers.form`; the page size comes from the PNG's header (FUNSD
annotations do not state it). Checked against the LayoutLMv2 ``layoutlmft`` FUNSD loader
(microsoft/unilm) and the dataset's description.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from anonymizer.data.readers.base import (
    ReaderError,
    ReadResult,
    SplitLayout,
    page_size_or_skip,
    read_split_folders,
    split_from_name,
)
from anonymizer.data.readers.form import parse_form

log = logging.getLogger(__name__)

# a "form" that is not a list is reported by parse_form
LAYOUT = SplitLayout("annotations", "images", "form", (".png", ".jpg", ".jpeg", ".tif", ".tiff"), require_list=False)
SPLIT_FOLDERS = {"training_data": "train", "testing_data": "test"}
EXPECTED = (
    "expected FUNSD's layout: dataset/training_data/ and dataset/testing_data/, "
    "each with annotations/*.json and images/*.png (or one of these folders)"
)


def find_splits(folder: Path) -> list[tuple[str, Path]]:
    """``(split, split folder)`` pairs of a FUNSD folder; :class:`ReaderError` when there are none."""
    if not folder.is_dir():
        raise ReaderError(f"{folder}: not a folder; {EXPECTED}")
    base = folder / "dataset" if (folder / "dataset").is_dir() else folder
    splits = [(name, base / sub) for sub, name in SPLIT_FOLDERS.items() if (base / sub).is_dir()]
    if not splits and (folder / "annotations").is_dir():
        splits = [(SPLIT_FOLDERS.get(folder.name) or split_from_name(folder.name) or folder.name, folder)]
    if not splits:
        raise ReaderError(f"{folder}: not a FUNSD folder; {EXPECTED}")
    for _, path in splits:
        missing = [sub for sub in ("annotations", "images") if not (path / sub).is_dir()]
        if missing:
            raise ReaderError(f"{path}: no {' or '.join(missing)} folder; {EXPECTED}")
    return splits


def read_funsd(folder: str | Path, split: str | None = None) -> ReadResult:
    """Read a FUNSD folder (see the module docstring); ``split`` keeps only that split."""
    folder = Path(folder)
    return read_split_folders("funsd", folder, find_splits(folder), split, LAYOUT, _read_page, log)


def _read_page(ann: Path, data: dict[str, Any], image: Path, item: str, split: str, result: ReadResult) -> None:
    size = page_size_or_skip(image, result, item)
    if size is None:
        return
    words, entities, links = parse_form(data["form"], *size, item, result)
    result.add_page(item, f"funsd/{split}/{ann.stem}", image, size, words, entities, links, split=split)
