"""A generic manifest: your own pages and words, one item per page.

Pass the manifest file (``.jsonl``: one JSON object per line; ``.json``: a list of them)
or a folder holding exactly one ``manifest.jsonl`` / ``manifest.json``. An item::

    {"image": "pages/form.png",          # required; relative to the manifest's folder, or absolute;
                                         #   PNG, JPEG, TIFF (multi-page) or PDF
     "page": 0,                          # optional frame (TIFF) / page (PDF) index, 0-based
     "dpi": 200,                         # optional, PDF only: render resolution the boxes are in
                                         #   (default anonymizer.core.documents.DEFAULT_DPI)
     "id": "forms/0001",                 # optional record id (default manifest/{split}/{image path}[/p{page}])
     "split": "train",                   # optional
     "words": [{"text": "Jane", "box": [x0, y0, x1, y1], "label": "PERSON"},
               {"text": "Doe", "quad": [[x, y], [x, y], [x, y], [x, y]]}],
     "entities": [{"label": "PERSON", "words": [0, 1], "sensitive": true}]}   # optional

Coordinates are pixels of the page as :func:`anonymizer.core.documents.load_page` returns
it (PDF pages at ``dpi``); width and height are read from the file with
:func:`~anonymizer.core.documents.page_size`. A word's ``box`` wins over its ``quad``;
a quad is kept in ``Word.quad``. Boxes partly outside the page are clipped. A word
``label`` makes a one-word entity; use ``entities`` (indices into ``words``) for longer
ones. ``sensitive`` defaults to whether the label is one of
:data:`~anonymizer.core.records.PII_LABELS`. Unusable words, entities and lines are
skipped with a reason (entity indices of skipped words are dropped); a page without
usable words is skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from anonymizer.core.documents import DEFAULT_DPI, EXTENSION_FORMATS
from anonymizer.core.records import PII_LABELS, Entity, Word
from anonymizer.data.readers.base import (
    BoxError,
    ReaderError,
    ReadResult,
    check_split,
    clean_box,
    finite_numbers,
    page_size_or_skip,
    quad_box,
)

log = logging.getLogger(__name__)

MANIFEST_NAMES = ("manifest.jsonl", "manifest.json")
EXPECTED = "expected a manifest file (.jsonl or .json) or a folder holding manifest.jsonl or manifest.json"


def find_manifest(path: Path) -> Path:
    """The manifest file for ``path`` (the file, or ``manifest.jsonl``/``.json`` in a folder)."""
    if path.is_file():
        if path.suffix.lower() not in (".jsonl", ".json"):
            raise ReaderError(f"{path}: not a .jsonl or .json file; {EXPECTED}")
        return path
    if path.is_dir():
        found = [path / name for name in MANIFEST_NAMES if (path / name).is_file()]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ReaderError(f"{path}: holds both manifest.jsonl and manifest.json; pass the one to read")
    raise ReaderError(f"{path}: no manifest found; {EXPECTED}")


def _items(manifest: Path, result: ReadResult) -> Iterator[tuple[str, Any]]:
    name = manifest.name
    if manifest.suffix.lower() == ".json":
        try:
            data = json.loads(manifest.read_bytes().decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            reason = err.msg if isinstance(err, json.JSONDecodeError) else "not UTF-8"
            raise ReaderError(f"{manifest}: malformed JSON ({reason}); {EXPECTED}") from None
        if not isinstance(data, list):
            raise ReaderError(f"{manifest}: a .json manifest must be a list of items")
        yield from ((f"{name} item {i}", item) for i, item in enumerate(data))
        return
    with manifest.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            where = f"{name}:{lineno}"
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                result.skip(where, "malformed JSON: not UTF-8")
                continue
            if not line.strip():
                continue
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as err:
                result.skip(where, f"malformed JSON: {err.msg} at column {err.colno}")


def read_manifest(folder: str | Path, split: str | None = None) -> ReadResult:
    """Read a manifest (see the module docstring); ``split`` keeps only items of that split."""
    manifest = find_manifest(Path(folder))
    result = ReadResult("manifest", manifest.parent)
    splits: set[str] = set()
    for where, item in _items(manifest, result):
        item_split = item.get("split") if isinstance(item, dict) else None
        if isinstance(item_split, str):
            splits.add(item_split)
        if split is None or item_split == split:
            _read_item(item, where, result)
    check_split(manifest, split, sorted(splits))
    log.info("manifest: %d pages read from %s", len(result.records), manifest.name)
    return result


def _read_item(item: Any, where: str, result: ReadResult) -> None:
    if not isinstance(item, dict):
        result.skip(where, "malformed item: not an object")
        return
    image, page, dpi, split, rid = (item.get(k) for k in ("image", "page", "dpi", "split", "id"))
    if not isinstance(image, str) or not image:
        result.skip(where, "malformed item: 'image' is not a non-empty string")
        return
    page = 0 if page is None else page
    if isinstance(page, bool) or not isinstance(page, int) or page < 0:
        result.skip(where, "malformed item: 'page' is not an integer >= 0")
        return
    if dpi is not None and (isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not dpi > 0):
        result.skip(where, "malformed item: 'dpi' is not a positive number")
        return
    if any(v is not None and (not isinstance(v, str) or not v) for v in (split, rid)):
        result.skip(where, "malformed item: 'split' and 'id' must be non-empty strings")
        return
    path = Path(image) if Path(image).is_absolute() else result.root / image
    is_pdf = EXTENSION_FORMATS.get(path.suffix.lower()) == "PDF"
    dpi = float(dpi or DEFAULT_DPI) if is_pdf else None
    size = page_size_or_skip(path, result, where, image_item=f"{where} ({image})", page=page, dpi=dpi)
    if size is None:
        return
    width, height = size
    raw_words = item.get("words", [])
    words, kept = _words(raw_words, width, height, where, result)
    labelled = [  # a word's own label: a one-word entity
        Entity(label=raw_words[i]["label"], words=(j,), sensitive=raw_words[i]["label"] in PII_LABELS)
        for i, j in kept.items()
        if raw_words[i].get("label")
    ]
    n_words = len(raw_words) if isinstance(raw_words, list) else 0
    entities = _entities(item.get("entities"), kept, n_words, where, result) + labelled
    if rid is None:
        stem = Path(image).with_suffix("").as_posix().lstrip("/")
        rid = f"manifest/{split or 'all'}/{stem}" + (f"/p{page}" if page else "")
    result.add_page(where, rid, path, size, words, entities, split=split, page=page, dpi=dpi)


def _words(raw: Any, width: int, height: int, where: str, result: ReadResult) -> tuple[list[Word], dict[int, int]]:
    """The usable words and ``{manifest index: record index}``."""
    words: list[Word] = []
    kept: dict[int, int] = {}
    if not isinstance(raw, list):
        result.skip(where, "malformed item: 'words' is not a list")
        return words, kept
    for i, w in enumerate(raw):
        at = f"{where} word {i}"
        if not isinstance(w, dict) or not isinstance(w.get("text"), str):
            result.skip(at, "malformed word: not an object with string 'text'")
            continue
        if not w["text"].strip():
            result.skip(at, "blank word")
            continue
        quad = None
        try:
            if w.get("quad") is not None:
                points = [finite_numbers(p, 2) for p in w["quad"]] if isinstance(w["quad"], list) else None
                if points is None or len(points) != 4 or any(p is None for p in points):
                    raise BoxError("bad word quad: not four [x, y] points")
                quad = tuple((p[0], p[1]) for p in points)  # type: ignore[index]
            if w.get("box") is not None:
                box = clean_box(w["box"], width, height)
            elif quad is not None:
                box = quad_box(quad, width, height)  # type: ignore[arg-type]
            else:
                raise BoxError("bad word box: neither 'box' nor 'quad'")
        except BoxError as err:
            result.skip(at, str(err))
            continue
        if "label" in w and not isinstance(w["label"], str):
            result.skip(at, "malformed word: 'label' is not a string")
            continue
        kept[i] = len(words)
        words.append(Word(text=w["text"], box=box, quad=quad))  # type: ignore[arg-type]
    return words, kept


def _entities(raw: Any, kept: dict[int, int], n_words: int, where: str, result: ReadResult) -> list[Entity]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        result.skip(where, "malformed item: 'entities' is not a list")
        return []
    entities = []
    for k, e in enumerate(raw):
        at = f"{where} entity {k}"
        label = e.get("label") if isinstance(e, dict) else None
        indices = e.get("words") if isinstance(e, dict) else None
        sensitive = e.get("sensitive", label in PII_LABELS) if isinstance(e, dict) else None
        if not isinstance(label, str) or not label or not isinstance(sensitive, bool):
            result.skip(at, "malformed entity: needs a 'label' string and a boolean 'sensitive'")
            continue
        if not isinstance(indices, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n_words for i in indices
        ):
            result.skip(at, f"malformed entity: 'words' is not a list of word indices in [0, {n_words})")
            continue
        mapped = tuple(kept[i] for i in indices if i in kept)
        if not mapped:
            result.skip(at, "entity without words")
            continue
        entities.append(Entity(label=label, words=mapped, sensitive=sensitive))
    return entities
