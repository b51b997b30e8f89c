"""Pages with their sensitive values marked by hand: a ``truth.json`` beside a ``pages/`` folder.

The layout (a development or evaluation set of real pages)::

    <folder>/pages/<page>.png            # the page images (PNG, JPEG, TIFF or PDF pages)
    <folder>/truth.json
    {"pages": {"<page>.png": {"sensitive": [{"value": "...", "type": "PERSON", "scope": "personal",
                                             "box": [x0, y0, x1, y1], "boxes": [[...], ...],
                                             "printed_forms": ["..."]}],
                              "plain": ["word", ...]}},
     "sources": {...}}

Every value becomes one sensitive entity labelled with its type in the project's vocabulary
(``ID`` → ``ID_NUMBER``; the others are the same names), with its ``scope``
(``personal``/``business``) when given. Each located occurrence (``boxes``, else ``box``)
becomes one word holding the value's text, on a line of its own, so a value printed twice
is replaced only when both are. ``printed_forms`` (other printings of the same value) become
further lines of the entity without pixels of their own: they are searched for as leaks, and
add nothing to coverage. ``plain`` (ordinary words that must survive) becomes
``PageRecord.plain``. The ``sources`` section is not read.

A value without a usable box is skipped with a reason; so is a page without a usable value
(a page whose image is missing or unreadable, too). Reasons never hold value text.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from anonymizer.core.records import SCOPES, Entity, Word
from anonymizer.data.readers.base import (
    BoxError,
    ReaderError,
    ReadResult,
    check_split,
    clean_box,
    load_json,
    page_size_or_skip,
)

log = logging.getLogger(__name__)

TRUTH_FILE = "truth.json"
PAGES_FOLDER = "pages"
#: Value types of truth files whose name differs in the project's vocabulary.
TYPE_NAMES = {"ID": "ID_NUMBER"}


def read_truth(folder: str | Path, split: str | None = None) -> ReadResult:
    """Read ``folder`` (``truth.json`` + ``pages/``) into page records; see the module docstring.

    Raises:
        ReaderError: the folder has no ``truth.json``, or it is not a JSON object with a
            ``pages`` object; ``split`` is given (these sets have no splits).
    """
    folder = Path(folder)
    truth_file = folder / TRUTH_FILE
    if not truth_file.is_file():
        raise ReaderError(f"{folder}: no {TRUTH_FILE} here (expected {TRUTH_FILE} beside a {PAGES_FOLDER}/ folder)")
    check_split(folder, split, [])
    try:
        data = load_json(truth_file)
    except ValueError as err:
        raise ReaderError(f"{truth_file}: {err}") from None
    pages = data.get("pages") if isinstance(data, dict) else None
    if not isinstance(pages, dict):
        raise ReaderError(f"{truth_file}: expected a JSON object with a 'pages' object")
    result = ReadResult("truth", folder)
    log.info("truth: %d pages", len(pages))
    for name in sorted(pages):
        _read_page(folder, str(name), pages[name], result)
    return result


def _read_page(folder: Path, name: str, page: Any, result: ReadResult) -> None:
    item = f"{TRUTH_FILE} page {name}"
    if not isinstance(page, dict) or not isinstance(page.get("sensitive", []), list):
        result.skip(item, "malformed page: not an object with a 'sensitive' list")
        return
    image = folder / PAGES_FOLDER / name
    size = page_size_or_skip(image, result, item)
    if size is None:
        return
    words: list[Word] = []
    entities: list[Entity] = []
    for k, value in enumerate(page.get("sensitive", [])):
        where = f"{item} value {k}"
        parsed = _value(value, where, size, len(words), result)
        if parsed is None:
            continue
        new_words, label, scope = parsed
        entities.append(Entity(label=label, words=tuple(range(len(words), len(words) + len(new_words))),
                               sensitive=True, id=len(entities), scope=scope))
        words += new_words
    if not entities:
        result.skip(item, "empty page: no usable value")
        return
    plain = page.get("plain", [])
    plain = [w for w in plain if isinstance(w, str) and w.strip()] if isinstance(plain, list) else []
    result.add_page(item, f"truth/{Path(name).stem}", image, size, words, entities, plain=plain)


def _value(value: Any, where: str, size: tuple[int, int], first_line: int, result: ReadResult
           ) -> tuple[list[Word], str, str | None] | None:
    """The words (one per occurrence, then one per extra printed form), type and scope of a value."""
    if not isinstance(value, dict) or not isinstance(value.get("value"), str) or not value["value"].strip():
        result.skip(where, "malformed value: no 'value' string")
        return None
    label = value.get("type")
    if not isinstance(label, str) or not label:
        result.skip(where, "malformed value: no 'type' string")
        return None
    scope = value.get("scope")
    if scope not in SCOPES:
        scope = None
    raw_boxes = value.get("boxes") or ([value["box"]] if value.get("box") is not None else [])
    boxes = []
    for raw in raw_boxes if isinstance(raw_boxes, list) else []:
        try:
            boxes.append(clean_box(raw, *size))
        except BoxError as err:
            result.skip(where, str(err))
    if not boxes:
        result.skip(where, "value without a usable box")
        return None
    text = " ".join(value["value"].split())
    words = [Word(text=text, box=box, line=first_line + i) for i, box in enumerate(boxes)]
    forms = value.get("printed_forms") or []
    for form in forms if isinstance(forms, list) else []:
        if isinstance(form, str) and form.strip() and " ".join(form.split()) != text:
            # pixels of its own are unknown: it shares the first occurrence's box, as a line of its own
            words.append(Word(text=" ".join(form.split()), box=boxes[0], line=first_line + len(words)))
    return words, TYPE_NAMES.get(label, label), scope
