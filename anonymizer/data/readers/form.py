"""FUNSD-style form annotations (shared by the FUNSD and XFUND readers).

A form is a list of entries ``{"id", "label", "box", "text", "words": [{"box", "text"}],
"linking": [[from_id, to_id], ...]}``. Each entry becomes one
:class:`~anonymizer.core.records.Entity` with the entry's label and id (``sensitive`` is
false: question/answer/header/other are not personal-data types); its words keep their
own boxes. ``linking`` pairs (listed in both linked entries) become the record's links,
deduplicated, in first-seen order, kept only when both entities survive. Words of one
entry may span several lines (multi-line answers), so ``Word.line`` stays None and
:meth:`~anonymizer.core.records.PageRecord.lines` groups them geometrically.

Dropped, each counted as a skip: entries that are not objects or lack an integer ``id``
or a label, duplicate ids, words without string text, words with blank text, word boxes
that are not numbers, have zero size or lie entirely outside the page, entries left
without words, malformed link pairs.
"""

from __future__ import annotations

from typing import Any

from anonymizer.core.geometry import Box
from anonymizer.core.records import Entity, Word
from anonymizer.data.readers.base import ReadResult, clean_box, parse_word


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_form(
    entries: Any, width: int, height: int, item: str, result: ReadResult
) -> tuple[list[Word], list[Entity], list[tuple[int, int]]]:
    """Words, entities and links of one page's form entries; problems go to ``result.skipped``."""
    words: list[Word] = []
    entities: list[Entity] = []
    links: dict[tuple[int, int], None] = {}
    if not isinstance(entries, list):
        result.skip(item, "malformed annotation: the form is not a list of entries")
        return words, entities, []

    def geometry(raw: dict[str, Any]) -> tuple[Box, None]:
        return clean_box(raw.get("box"), width, height), None

    for k, entry in enumerate(entries):
        where = f"{item} entry {k}"
        if not isinstance(entry, dict):
            result.skip(where, "malformed entry: not an object")
            continue
        eid, label, raw_words = entry.get("id"), entry.get("label"), entry.get("words")
        if not _is_int(eid):
            result.skip(where, "malformed entry: 'id' is not an integer")
            continue
        if any(e.id == eid for e in entities):
            result.skip(where, f"malformed entry: duplicate id {eid}")
            continue
        if not isinstance(label, str) or not label:
            result.skip(where, "malformed entry: 'label' is not a non-empty string")
            continue
        if not isinstance(raw_words, list):
            result.skip(where, "malformed entry: 'words' is not a list")
            continue
        indices: list[int] = []
        for j, raw in enumerate(raw_words):
            word = parse_word(raw, f"{where} word {j}", result, geometry)
            if word is not None:
                indices.append(len(words))
                words.append(word)
        if not indices:
            result.skip(where, "entity without words")
            continue
        entities.append(Entity(label=label, words=tuple(indices), sensitive=False, id=eid))
        linking = entry.get("linking", [])
        for pair in linking if isinstance(linking, list) else [linking]:
            if isinstance(pair, (list, tuple)) and len(pair) == 2 and all(_is_int(v) for v in pair):
                links[(int(pair[0]), int(pair[1]))] = None
            else:
                result.skip(where, "malformed link: not a pair of entity ids")
    ids = {e.id for e in entities}
    return words, entities, [link for link in links if link[0] in ids and link[1] in ids]
