"""CORD (Park et al., 2019) in its GitHub / Google-Drive release layout (v0/v1/v2 JSON)::

    CORD/train/image/receipt_00000.png   CORD/train/json/receipt_00000.json
         dev/...                         test/...

(checked against the ``cord.py`` loader of LayoutLMv3 in microsoft/unilm and the JSON
hierarchy in clovaai/cord's README). Pass the ``CORD`` folder, its parent or one split
folder (with ``image/`` and ``json/``). Splits are ``train``, ``dev``, ``test``; record ids
``cord/{split}/{file stem}``. Only JSON files are read (test images without JSON are
not items). The Hugging Face parquet variants (``naver-clova-ix/cord-v1``/``cord-v2``)
are not supported: they need pyarrow, which this project does not install.

Each ``valid_line`` ``{"words": [{"quad": {"x1", "y1", ..., "x4", "y4"}, "text", "is_key",
"row_id"}], "category", "group_id"}`` becomes an Entity labelled with its ``category``
(``menu.nm``, ``total.total_price``, ...; not sensitive), id = its index in
``valid_line``. Words keep the published quad (``x1..x4`` in the annotators' order:
top-left, top-right, bottom-right, bottom-left) in ``Word.quad``; ``Word.box`` is its
bounding box clipped to the page. ``row_id`` ("line index" in CORD's README) numbers the
lines: distinct row ids become line indices 0, 1, ... in order of appearance when every
kept word has one; otherwise lines stay None. ``group_id``, ``roi`` and
``repeating_symbol`` are not kept. A page whose ``meta.image_size`` disagrees with the
image file is skipped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from anonymizer.data.readers.base import (
    BoxError,
    ReaderError,
    ReadResult,
    absolute,
    check_split,
    declared_size_mismatch,
    find_image,
    load_json,
    page_size_or_reason,
    quad_box,
    quad_points,
    relative_item,
    split_from_name,
)
from anonymizer.data.records import Entity, PageRecord, Word

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
QUAD_KEYS = ("x1", "y1", "x2", "y2", "x3", "y3", "x4", "y4")
EXPECTED = "expected CORD's release layout: train/, dev/ and test/, each with image/*.png and json/*.json"


def find_splits(folder: Path) -> list[tuple[str, Path]]:
    """``(split, split folder)`` pairs of a CORD folder; :class:`ReaderError` when there are none."""
    if not folder.is_dir():
        raise ReaderError(f"{folder}: not a folder; {EXPECTED}")
    for base in (folder, folder / "CORD"):
        splits = [(name, base / name) for name in SPLITS if (base / name / "json").is_dir()]
        if splits:
            break
    if not splits and (folder / "json").is_dir():
        splits = [(split_from_name(folder.name) or folder.name, folder)]
    if not splits:
        if next(folder.rglob("*.parquet"), None) is not None:
            raise ReaderError(
                f"{folder}: holds parquet files (the Hugging Face cord-v1/v2 variant), which is not "
                f"supported; {EXPECTED}"
            )
        raise ReaderError(f"{folder}: not a CORD folder; {EXPECTED}")
    for _, path in splits:
        if not (path / "image").is_dir():
            raise ReaderError(f"{path}: no image folder; {EXPECTED}")
    return splits


def read_cord(folder: str | Path, split: str | None = None) -> ReadResult:
    """Read a CORD folder (see the module docstring); ``split`` keeps only that split."""
    folder = Path(folder)
    splits = find_splits(folder)
    check_split(folder, split, [name for name, _ in splits])
    result = ReadResult("cord", folder)
    for name, path in splits:
        if split is not None and name != split:
            continue
        files = sorted((path / "json").glob("*.json"))
        log.info("cord: %d annotation files in split %s", len(files), name)
        for ann in files:
            _read_page(ann, path / "image", name, result)
    return result


def _read_page(ann: Path, images: Path, split: str, result: ReadResult) -> None:
    item = relative_item(ann, result.root)
    try:
        data = load_json(ann)
    except ValueError as err:
        result.skip(item, str(err))
        return
    lines = data.get("valid_line") if isinstance(data, dict) else None
    if not isinstance(lines, list):
        result.skip(item, "malformed annotation: no 'valid_line' list")
        return
    image = find_image(images, ann.stem, (".png", ".jpg", ".jpeg"))
    size = page_size_or_reason(image)
    if isinstance(size, str):
        result.skip(relative_item(image, result.root), size)
        return
    meta = data.get("meta")
    mismatch = declared_size_mismatch(meta.get("image_size") if isinstance(meta, dict) else None, size)
    if mismatch:
        result.skip(item, mismatch)
        return
    width, height = size
    words: list[Word] = []
    rows: list[Any] = []
    entities: list[Entity] = []
    for k, line in enumerate(lines):
        where = f"{item} valid_line {k}"
        category = line.get("category") if isinstance(line, dict) else None
        raw_words = line.get("words") if isinstance(line, dict) else None
        if not isinstance(category, str) or not category or not isinstance(raw_words, list):
            result.skip(where, "malformed valid_line: needs a 'category' string and a 'words' list")
            continue
        indices = []
        for j, raw in enumerate(raw_words):
            word = _parse_word(raw, width, height, f"{where} word {j}", result)
            if word is not None:
                indices.append(len(words))
                words.append(word)
                rows.append(raw.get("row_id"))
        if not indices:
            result.skip(where, "entity without words")
            continue
        entities.append(Entity(label=category, words=tuple(indices), sensitive=False, id=k))
    if rows and all(isinstance(r, int) and not isinstance(r, bool) for r in rows):
        index: dict[int, int] = {}
        words = [Word(w.text, w.box, w.quad, index.setdefault(r, len(index))) for w, r in zip(words, rows)]
    record = PageRecord(
        id=f"cord/{split}/{ann.stem}",
        image=absolute(image),
        width=width,
        height=height,
        words=words,
        entities=entities,
        source="cord",
        split=split,
    )
    result.add(record, item)


def _parse_word(raw: Any, width: int, height: int, where: str, result: ReadResult) -> Word | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        result.skip(where, "malformed word: not an object with string 'text'")
        return None
    if not raw["text"].strip():
        result.skip(where, "blank word")
        return None
    quad = raw.get("quad")
    try:
        if not isinstance(quad, dict) or any(key not in quad for key in QUAD_KEYS):
            raise BoxError("bad word quad: needs x1, y1, ..., x4, y4")
        points = quad_points([quad[key] for key in QUAD_KEYS])
        box = quad_box(points, width, height)
    except BoxError as err:
        result.skip(where, str(err))
        return None
    return Word(text=raw["text"], box=box, quad=points)
