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

import functools
import logging
from pathlib import Path
from typing import Any

from anonymizer.core.geometry import Box
from anonymizer.core.records import Entity, Quad, Word
from anonymizer.data.readers.base import (
    BoxError,
    ReaderError,
    ReadResult,
    SplitLayout,
    page_size_or_skip,
    parse_word,
    quad_box,
    quad_points,
    read_split_folders,
    split_from_name,
)

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
QUAD_KEYS = ("x1", "y1", "x2", "y2", "x3", "y3", "x4", "y4")
LAYOUT = SplitLayout("json", "image", "valid_line", (".png", ".jpg", ".jpeg"))
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
    return read_split_folders("cord", folder, find_splits(folder), split, LAYOUT, _read_page, log)


def _read_page(ann: Path, data: dict[str, Any], image: Path, item: str, split: str, result: ReadResult) -> None:
    meta = data.get("meta")
    size = page_size_or_skip(image, result, item, meta.get("image_size") if isinstance(meta, dict) else None)
    if size is None:
        return
    width, height = size
    geometry = functools.partial(_geometry, width=width, height=height)
    words: list[Word] = []
    rows: list[Any] = []
    entities: list[Entity] = []
    for k, line in enumerate(data["valid_line"]):
        where = f"{item} valid_line {k}"
        category = line.get("category") if isinstance(line, dict) else None
        raw_words = line.get("words") if isinstance(line, dict) else None
        if not isinstance(category, str) or not category or not isinstance(raw_words, list):
            result.skip(where, "malformed valid_line: needs a 'category' string and a 'words' list")
            continue
        indices = []
        for j, raw in enumerate(raw_words):
            word = parse_word(raw, f"{where} word {j}", result, geometry)
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
    result.add_page(item, f"cord/{split}/{ann.stem}", image, size, words, entities, split=split)


def _geometry(raw: dict[str, Any], width: int, height: int) -> tuple[Box, Quad]:
    """The clipped box and the published quad of a CORD word; :class:`BoxError` when unusable."""
    quad = raw.get("quad")
    if not isinstance(quad, dict) or any(key not in quad for key in QUAD_KEYS):
        raise BoxError("bad word quad: needs x1, y1, ..., x4, y4")
    points = quad_points([quad[key] for key in QUAD_KEYS])
    return quad_box(points, width, height), points
