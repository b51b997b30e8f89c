"""The internal data formats shared by every data source.

Two shapes, one vocabulary:

* :class:`TextCrop`: an RGB image together with the text drawn on it and one
  :class:`Word` per drawn word (what the DataModules' datasets yield).
* :class:`PageRecord`: one page of a document on disk (an image file, a frame of a
  multi-page TIFF or a page of a PDF) with its words, their optional line grouping and
  labelled entities. Page records are stored as JSON Lines, one record per line, by
  :func:`write_records` and read back by :func:`read_records`; every dataset reader
  (:mod:`anonymizer.data.readers`), the synthetic page generator and the record
  DataModules speak this format.

Boxes are axis-aligned, in pixels of the page image they belong to, as
``(x0, y0, x1, y1)`` with ``x0 < x1`` and ``y0 < y1``. Quadrilaterals from datasets that
publish them (CORD, SROIE) are kept in ``Word.quad`` as four ``(x, y)`` corners in reading
order (top-left, top-right, bottom-right, bottom-left); ``box`` is their bounding box.

Record JSON (``schema`` is :data:`RECORD_SCHEMA`)::

    {"schema": "anonymizer.page/1", "id": "funsd/train/0000971160", "source": "funsd",
     "split": "train", "image": "images/0000971160.png", "page": 0, "dpi": null,
     "width": 762, "height": 1000,
     "words": [{"text": "Date:", "box": [x0, y0, x1, y1], "line": 0},
               {"text": "...", "box": [...], "quad": [[x, y], [x, y], [x, y], [x, y]], "line": 0}],
     "entities": [{"id": 0, "label": "DATE_TIME", "words": [1], "sensitive": true, "scope": "personal"}],
     "links": [[3, 0]], "plain": ["Date"]}

``image`` is resolved against the folder of the JSONL file unless it is absolute. ``page``
is the frame (TIFF) or page (PDF) index, 0-based; ``dpi`` is the resolution PDF pages are
rendered at, so that the boxes match (``null`` for raster images). Entities group word
indices under a label: PII types in Presidio's vocabulary (``PERSON``, ``LOCATION``,
``DATE_TIME``, ``PHONE_NUMBER``, ``EMAIL_ADDRESS``, ``IBAN_CODE``, ``CREDIT_CARD``,
``US_SSN``, ...) or a dataset's own labels (FUNSD ``question``/``answer``, CORD
``menu.nm``); ``sensitive`` says whether the entity's text is personal data to replace.
``links`` are ``[from_entity_id, to_entity_id]`` pairs (FUNSD/XFUND key→value links).
Optional fields, absent unless a source knows them: an entity's ``scope`` (one of
:data:`SCOPES`: ``personal`` is data about the person the document is about or any named
person; ``business`` is the issuer's, vendor's or provider's public data) and the page's
``plain`` list: texts of ordinary words known to be printed on the page, which
anonymization must keep (ground truth for retention without word boxes).

Error messages of this module name the file, the line and the field, never word text.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from anonymizer.core.geometry import Box

Quad = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]

RECORD_SCHEMA = "anonymizer.page/1"
#: Whose data a sensitive entity is (``Entity.scope``): the person's, or a business's public data.
SCOPES = ("personal", "business")

#: Entity labels the project treats as personal data (Presidio's names where it has one).
PII_LABELS = frozenset(
    {
        "PERSON",
        "LOCATION",
        "ORGANIZATION",
        "DATE_TIME",
        "PHONE_NUMBER",
        "EMAIL_ADDRESS",
        "IBAN_CODE",
        "CREDIT_CARD",
        "US_SSN",
        "NATIONAL_ID",
        "ID_NUMBER",
        "AMOUNT",
        "IP_ADDRESS",
        "URL",
    }
)


@dataclass(frozen=True)
class Word:
    """One word: its text, axis-aligned box ``(x0, y0, x1, y1)`` in image pixels, the
    published quadrilateral when the source has one, its line index when known and the
    OCR confidence in [0, 100] when it comes from an OCR engine."""

    text: str
    box: Box
    quad: Quad | None = None
    line: int | None = None
    conf: float | None = None


@dataclass
class TextCrop:
    """An RGB image with the text drawn on it (lines joined by ``\\n``) and its words."""

    image: Image.Image
    text: str = ""
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True)
class Entity:
    """A labelled group of words (by index into the record's ``words``)."""

    label: str
    words: tuple[int, ...]
    sensitive: bool = False
    id: int | None = None
    scope: str | None = None  # one of SCOPES, when the source knows it


class RecordError(ValueError):
    """A malformed page record; ``str(e)`` names where it is and what is wrong."""


@dataclass
class PageRecord:
    """One document page with its words and entities; see the module docstring."""

    id: str
    image: str
    width: int
    height: int
    words: list[Word] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    links: list[tuple[int, int]] = field(default_factory=list)
    page: int = 0
    dpi: float | None = None
    source: str = ""
    split: str | None = None
    plain: list[str] = field(default_factory=list)  # ordinary words known to be on the page (no boxes)
    root: Path | None = None  # folder relative ``image`` paths are resolved against (not stored)

    @property
    def image_path(self) -> Path:
        """The page's file: ``image`` resolved against ``root`` when relative."""
        path = Path(self.image)
        if path.is_absolute() or self.root is None:
            return path
        return self.root / path

    def lines(self) -> list[list[int]]:
        """Word indices grouped into lines, each sorted left to right, lines top to bottom.

        Uses ``Word.line`` when every word has one; otherwise groups words whose vertical
        centres lie within half the height of the line's first (tallest-first) word.
        """
        if not self.words:
            return []
        if all(w.line is not None for w in self.words):
            groups: dict[int, list[int]] = {}
            for i, w in enumerate(self.words):
                groups.setdefault(int(w.line), []).append(i)  # type: ignore[arg-type]
            lines = list(groups.values())
        else:
            lines = _geometric_lines(self.words)
        lines = [sorted(line, key=lambda i: self.words[i].box[0]) for line in lines]
        return sorted(lines, key=lambda line: min(self.words[i].box[1] for i in line))

    def sensitive_words(self) -> set[int]:
        """Indices of the words of sensitive entities."""
        return {i for e in self.entities if e.sensitive for i in e.words}

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON-ready dict (the JSONL line's content)."""
        words = []
        for w in self.words:
            item: dict[str, Any] = {"text": w.text, "box": [_num(v) for v in w.box]}
            if w.quad is not None:
                item["quad"] = [[_num(x), _num(y)] for x, y in w.quad]
            if w.line is not None:
                item["line"] = w.line
            if w.conf is not None:
                item["conf"] = _num(w.conf)
            words.append(item)
        entities = []
        for e in self.entities:
            item = {"label": e.label, "words": list(e.words), "sensitive": e.sensitive}
            if e.id is not None:
                item = {"id": e.id, **item}
            if e.scope is not None:
                item["scope"] = e.scope
            entities.append(item)
        out = {
            "schema": RECORD_SCHEMA,
            "id": self.id,
            "source": self.source,
            "split": self.split,
            "image": self.image,
            "page": self.page,
            "dpi": self.dpi,
            "width": self.width,
            "height": self.height,
            "words": words,
            "entities": entities,
            "links": [list(link) for link in self.links],
        }
        if self.plain:
            out["plain"] = list(self.plain)
        return out

    @classmethod
    def from_json(cls, data: Any, root: Path | None = None, where: str = "record") -> PageRecord:
        """Parse and validate one record; :class:`RecordError` naming ``where`` and the field."""
        if not isinstance(data, dict):
            raise RecordError(f"{where}: a record must be a JSON object, got {type(data).__name__}")
        schema = data.get("schema", RECORD_SCHEMA)
        if schema != RECORD_SCHEMA:
            raise RecordError(f"{where}: unknown schema {schema!r} (expected {RECORD_SCHEMA!r})")
        rid = _field(data, "id", str, where)
        where = f"{where} (id {rid!r})"
        image = _field(data, "image", str, where)
        if not image:
            raise RecordError(f"{where}: 'image' is empty")
        width = _field(data, "width", int, where)
        height = _field(data, "height", int, where)
        if width <= 0 or height <= 0:
            raise RecordError(f"{where}: page size {width}x{height} must be positive")
        page = data.get("page", 0)
        if isinstance(page, bool) or not isinstance(page, int) or page < 0:
            raise RecordError(f"{where}: 'page' must be an integer >= 0, got {page!r}")
        dpi = data.get("dpi")
        if dpi is not None and (isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not dpi > 0):
            raise RecordError(f"{where}: 'dpi' must be a positive number or null, got {dpi!r}")
        raw_words = data.get("words", [])
        if not isinstance(raw_words, list):
            raise RecordError(f"{where}: 'words' must be a list")
        words = [_parse_word(w, f"{where} words[{i}]", width, height) for i, w in enumerate(raw_words)]
        raw_entities = data.get("entities", [])
        if not isinstance(raw_entities, list):
            raise RecordError(f"{where}: 'entities' must be a list")
        entities = [_parse_entity(e, f"{where} entities[{i}]", len(words)) for i, e in enumerate(raw_entities)]
        ids = {e.id for e in entities if e.id is not None}
        links: list[tuple[int, int]] = []
        raw_links = data.get("links", [])
        if not isinstance(raw_links, list):
            raise RecordError(f"{where}: 'links' must be a list")
        for i, link in enumerate(raw_links):
            if (
                not isinstance(link, (list, tuple))
                or len(link) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and v in ids for v in link)
            ):
                raise RecordError(f"{where} links[{i}]: must be a pair of entity ids present in 'entities'")
            links.append((int(link[0]), int(link[1])))
        split = data.get("split")
        if split is not None and not isinstance(split, str):
            raise RecordError(f"{where}: 'split' must be a string or null")
        source = data.get("source", "")
        if not isinstance(source, str):
            raise RecordError(f"{where}: 'source' must be a string")
        plain = data.get("plain", [])
        if not isinstance(plain, list) or not all(isinstance(w, str) for w in plain):
            raise RecordError(f"{where}: 'plain' must be a list of strings")
        return cls(
            id=rid,
            image=image,
            width=width,
            height=height,
            words=words,
            entities=entities,
            links=links,
            page=page,
            dpi=float(dpi) if dpi is not None else None,
            source=source,
            split=split,
            plain=list(plain),
            root=root,
        )


def _num(v: float) -> float | int:
    """Integral floats as ints, others rounded to 3 decimals (compact, stable JSON)."""
    f = float(v)
    return int(f) if f.is_integer() else round(f, 3)


def _field(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in data:
        raise RecordError(f"{where}: missing field {key!r}")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise RecordError(f"{where}: field {key!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def finite_numbers(values: Any, n: int) -> list[float] | None:
    """``values`` as ``n`` finite floats, or None."""
    if not isinstance(values, (list, tuple)) or len(values) != n:
        return None
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return None
        out.append(float(v))
    return out


def check_box(box: Any, width: int, height: int, where: str) -> Box:
    """``box`` as 4 floats with positive area that overlaps the ``width`` × ``height`` page."""
    values = finite_numbers(box, 4)
    if values is None:
        raise RecordError(f"{where}: 'box' must be four finite numbers [x0, y0, x1, y1]")
    x0, y0, x1, y1 = values
    if x1 <= x0 or y1 <= y0:
        raise RecordError(f"{where}: box has zero or negative size")
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        raise RecordError(f"{where}: box lies outside the {width}x{height} page")
    return (x0, y0, x1, y1)


def quad_to_box(quad: Sequence[Sequence[float]]) -> Box:
    """Axis-aligned bounding box of a quadrilateral's corners."""
    xs = [float(p[0]) for p in quad]
    ys = [float(p[1]) for p in quad]
    return (min(xs), min(ys), max(xs), max(ys))


def _parse_word(item: Any, where: str, width: int, height: int) -> Word:
    if not isinstance(item, dict):
        raise RecordError(f"{where}: a word must be an object with 'text' and 'box'")
    text = item.get("text")
    if not isinstance(text, str):
        raise RecordError(f"{where}: 'text' must be a string")
    quad = None
    if item.get("quad") is not None:
        raw = item["quad"]
        points = [finite_numbers(p, 2) for p in raw] if isinstance(raw, list) and len(raw) == 4 else None
        if points is None or any(p is None for p in points):
            raise RecordError(f"{where}: 'quad' must be four [x, y] points of finite numbers")
        quad = tuple((p[0], p[1]) for p in points)  # type: ignore[index]
    if "box" in item:
        box = check_box(item["box"], width, height, where)
    elif quad is not None:
        box = check_box(list(quad_to_box(quad)), width, height, where)
    else:
        raise RecordError(f"{where}: missing field 'box'")
    line = item.get("line")
    if line is not None and (isinstance(line, bool) or not isinstance(line, int) or line < 0):
        raise RecordError(f"{where}: 'line' must be an integer >= 0 or absent")
    conf = item.get("conf")
    if conf is not None and (isinstance(conf, bool) or not isinstance(conf, (int, float)) or not 0 <= conf <= 100):
        raise RecordError(f"{where}: 'conf' must be a number in [0, 100] or absent")
    return Word(text=text, box=box, quad=quad, line=line, conf=float(conf) if conf is not None else None)  # type: ignore[arg-type]


def _parse_entity(item: Any, where: str, n_words: int) -> Entity:
    if not isinstance(item, dict):
        raise RecordError(f"{where}: an entity must be an object with 'label' and 'words'")
    label = item.get("label")
    if not isinstance(label, str) or not label:
        raise RecordError(f"{where}: 'label' must be a non-empty string")
    indices = item.get("words")
    if (
        not isinstance(indices, list)
        or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n_words for i in indices)
    ):
        raise RecordError(f"{where}: 'words' must be a list of word indices in [0, {n_words})")
    sensitive = item.get("sensitive", label in PII_LABELS)
    if not isinstance(sensitive, bool):
        raise RecordError(f"{where}: 'sensitive' must be true or false")
    eid = item.get("id")
    if eid is not None and (isinstance(eid, bool) or not isinstance(eid, int)):
        raise RecordError(f"{where}: 'id' must be an integer or absent")
    scope = item.get("scope")
    if scope is not None and scope not in SCOPES:
        raise RecordError(f"{where}: 'scope' must be one of {list(SCOPES)} or absent")
    return Entity(label=label, words=tuple(indices), sensitive=sensitive, id=eid, scope=scope)


def _geometric_lines(words: Sequence[Word]) -> list[list[int]]:
    order = sorted(range(len(words)), key=lambda i: words[i].box[3] - words[i].box[1], reverse=True)
    lines: list[tuple[float, float, list[int]]] = []  # (centre, height, members)
    for i in order:
        x0, y0, x1, y1 = words[i].box
        centre = (y0 + y1) / 2
        for c, h, members in lines:
            if abs(centre - c) <= h / 2:
                members.append(i)
                break
        else:
            lines.append((centre, y1 - y0, [i]))
    return [members for _, _, members in lines]


def read_records(path: str | Path) -> tuple[list[PageRecord], list[tuple[int, str]]]:
    """Read a JSONL file of page records.

    Returns:
        ``(records, errors)``: the valid records, and ``(line_number, reason)`` for each
        line that is not valid JSON or not a valid record (blank lines are ignored). The
        reasons name the file, the line and the field, never word text.

    Raises:
        FileNotFoundError: ``path`` does not exist or is not a file.
    """
    path = Path(path)
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        raise FileNotFoundError(f"page records file {path} {what}")
    root = path.resolve().parent
    records: list[PageRecord] = []
    errors: list[tuple[int, str]] = []
    seen: set[str] = set()
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                errors.append((lineno, f"{path}:{lineno}: not valid UTF-8 (byte {err.start})"))
                continue
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as err:
                errors.append((lineno, f"{where}: invalid JSON ({err.msg} at column {err.colno})"))
                continue
            try:
                record = PageRecord.from_json(data, root=root, where=where)
            except RecordError as err:
                errors.append((lineno, str(err)))
                continue
            if record.id in seen:
                errors.append((lineno, f"{where}: duplicate record id {record.id!r}"))
                continue
            seen.add(record.id)
            records.append(record)
    return records, errors


def write_records(path: str | Path, records: Iterable[PageRecord], overwrite: bool = False) -> int:
    """Write ``records`` as JSONL atomically (temp file + rename); returns the count.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for record in records:
                f.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
                count += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
