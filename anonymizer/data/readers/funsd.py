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

from anonymizer.data.readers.base import (
    ReaderError,
    ReadResult,
    absolute,
    check_split,
    find_image,
    load_json,
    page_size_or_reason,
    relative_item,
    split_from_name,
)
from anonymizer.data.readers.form import parse_form
from anonymizer.data.records import PageRecord

log = logging.getLogger(__name__)

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
    splits = find_splits(folder)
    check_split(folder, split, [name for name, _ in splits])
    result = ReadResult("funsd", folder)
    for name, path in splits:
        if split is not None and name != split:
            continue
        files = sorted((path / "annotations").glob("*.json"))
        log.info("funsd: %d annotation files in split %s", len(files), name)
        for ann in files:
            _read_page(ann, path / "images", name, result)
    return result


def _read_page(ann: Path, images: Path, split: str, result: ReadResult) -> None:
    item = relative_item(ann, result.root)
    try:
        data = load_json(ann)
    except ValueError as err:
        result.skip(item, str(err))
        return
    if not isinstance(data, dict) or "form" not in data:
        result.skip(item, "malformed annotation: no 'form' list")
        return
    image = find_image(images, ann.stem, (".png", ".jpg", ".jpeg", ".tif", ".tiff"))
    size = page_size_or_reason(image)
    if isinstance(size, str):
        result.skip(relative_item(image, result.root), size)
        return
    width, height = size
    words, entities, links = parse_form(data["form"], width, height, item, result)
    record = PageRecord(
        id=f"funsd/{split}/{ann.stem}",
        image=absolute(image),
        width=width,
        height=height,
        words=words,
        entities=entities,
        links=links,
        source="funsd",
        split=split,
    )
    result.add(record, item)
