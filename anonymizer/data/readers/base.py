"""What every dataset reader shares: the result type, skips, errors and small checks.

A reader turns one published dataset folder into :class:`~anonymizer.core.records.PageRecord`
objects. It never stops on one bad file: each page, word or entity it cannot use becomes a
:class:`Skip` ``(item, reason)`` and the batch goes on. ``item`` names the file (relative
to the dataset folder) and where in it (``entry 3 word 1``, ``line 7``); ``reason`` starts
with a fixed category (``missing image``, ``bad word box``, ...) optionally followed by
``": "`` and details. Neither ever contains word text. A folder that is not in the
expected layout at all raises :class:`ReaderError` naming the folder and what was expected.

Policy, the same for every reader: a **page** is skipped when its annotation is not valid
JSON or lacks the dataset's structure, its image is missing or unreadable (checked from
the file's headers with :func:`~anonymizer.core.documents.page_size`), the annotation
states a size other than the image's, or no usable word is left. A **word** is dropped
(each one counted) when its text is not a string or blank, or its box/quad is not
numbers, has zero width or height, or lies entirely outside the page; a box partly
outside is clipped to the page (quads are kept as published). Entities left without
words are dropped, and so are links to them.

Records come back with absolute ``image`` paths; :meth:`ReadResult.records_relative_to`
rewrites them relative to the folder the JSONL file will be written to (``read_records``
resolves relative paths against the JSONL file's folder).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from anonymizer.core.documents import DEFAULT_DPI, page_size
from anonymizer.core.geometry import Box
from anonymizer.core.image_io import ImageLoadError
from anonymizer.core.records import Entity, PageRecord, Quad, Word, finite_numbers, quad_to_box


class ReaderError(ValueError):
    """The input is not a dataset folder of the expected layout (names the folder and the layout)."""


class Skip(NamedTuple):
    """One item a reader could not use: where it is and why (never any word text)."""

    item: str
    reason: str

    @property
    def category(self) -> str:
        """The reason without its details (what reports group by)."""
        return self.reason.split(":", 1)[0]


@dataclass
class ReadResult:
    """The records of one dataset folder and the items that were skipped."""

    dataset: str
    root: Path
    records: list[PageRecord] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    _ids: set[str] = field(default_factory=set, init=False, repr=False)

    def skip(self, item: str, reason: str) -> None:
        self.skipped.append(Skip(item, reason))

    def add(self, record: PageRecord, item: str) -> None:
        """Keep ``record`` unless it has no words or its id is taken (then skip ``item``)."""
        if not record.words:
            self.skip(item, "empty page: no usable words")
        elif record.id in self._ids:
            self.skip(item, f"duplicate record id: {record.id}")
        else:
            self._ids.add(record.id)
            self.records.append(record)

    def add_page(
        self,
        item: str,
        record_id: str,
        image: Path,
        size: tuple[int, int],
        words: list[Word],
        entities: Sequence[Entity] = (),
        links: Sequence[tuple[int, int]] = (),
        split: str | None = None,
        page: int = 0,
        dpi: float | None = None,
        plain: Sequence[str] = (),
    ) -> None:
        """:meth:`add` the record of one page: ``image`` made absolute, ``source`` = :attr:`dataset`."""
        width, height = size
        record = PageRecord(
            id=record_id,
            image=absolute(image),
            width=width,
            height=height,
            words=words,
            entities=list(entities),
            links=list(links),
            page=page,
            dpi=dpi,
            source=self.dataset,
            split=split,
            plain=list(plain),
        )
        self.add(record, item)

    def records_relative_to(self, folder: str | Path) -> list[PageRecord]:
        """Copies of the records with ``image`` relative to ``folder`` (and ``root`` set to it)."""
        folder = Path(folder).resolve()
        return [
            replace(r, image=os.path.relpath(Path(r.image).resolve(), folder), root=folder) for r in self.records
        ]


class Reader(Protocol):
    """``reader(folder, split=None) -> ReadResult``; raises :class:`ReaderError` for a wrong layout."""

    def __call__(self, folder: str | Path, split: str | None = None) -> ReadResult: ...


class BoxError(ValueError):
    """A word box or quad that cannot be used; ``str(e)`` is the reason."""


def clean_box(raw: Any, width: int, height: int) -> Box:
    """A published ``[x0, y0, x1, y1]`` as a box inside the page.

    Corners given in the wrong order are swapped; a box partly outside the page is clipped
    to it. Raises :class:`BoxError` for non-numbers, zero width/height, or a box entirely
    outside the ``width`` × ``height`` page.
    """
    values = finite_numbers(raw, 4)
    if values is None:
        raise BoxError("bad word box: not four finite numbers")
    x0, x1 = sorted(values[0::2])
    y0, y1 = sorted(values[1::2])
    if x1 <= x0 or y1 <= y0:
        raise BoxError("bad word box: zero width or height")
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        raise BoxError(f"bad word box: outside the {width}x{height} page")
    return (max(x0, 0.0), max(y0, 0.0), min(x1, float(width)), min(y1, float(height)))


def quad_points(values: Sequence[Any]) -> Quad:
    """Eight numbers ``x1, y1, ..., x4, y4`` as a quad; :class:`BoxError` when not finite numbers."""
    numbers = finite_numbers(list(values), 8)
    if numbers is None:
        raise BoxError("bad word quad: not eight finite numbers")
    return tuple((numbers[i], numbers[i + 1]) for i in range(0, 8, 2))  # type: ignore[return-value]


def quad_box(quad: Quad, width: int, height: int) -> Box:
    """The clipped bounding box of ``quad`` (see :func:`clean_box`)."""
    return clean_box(list(quad_to_box(quad)), width, height)


def parse_word(
    raw: Any, where: str, result: ReadResult, geometry: Callable[[dict[str, Any]], tuple[Box, Quad | None]]
) -> Word | None:
    """A published word object as a :class:`Word`, or None after skipping ``where``.

    ``raw`` must be an object whose ``text`` is a non-blank string; ``geometry(raw)`` gives
    its box and quad (None when the dataset has none) or raises :class:`BoxError`.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        result.skip(where, "malformed word: not an object with string 'text'")
        return None
    if not raw["text"].strip():
        result.skip(where, "blank word")
        return None
    try:
        box, quad = geometry(raw)
    except BoxError as err:
        result.skip(where, str(err))
        return None
    return Word(text=raw["text"], box=box, quad=quad)


def load_json(path: Path) -> Any:
    """Parse a JSON file (UTF-8, optional BOM); :class:`ValueError` with a reason, never content."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ValueError(f"unreadable annotation file: {type(err).__name__}") from None
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise ValueError(f"malformed JSON: not UTF-8 (byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"malformed JSON: {err.msg} at line {err.lineno} column {err.colno}") from None


def load_annotation(
    path: Path, item: str, result: ReadResult, key: str, require_list: bool = True
) -> dict[str, Any] | None:
    """The JSON object of the annotation file ``path`` when it has a ``key`` list (any ``key``
    with ``require_list=False``); else None after skipping ``item`` (unreadable or malformed
    JSON, or no such list)."""
    try:
        data = load_json(path)
    except ValueError as err:
        result.skip(item, str(err))
        return None
    if not isinstance(data, dict) or key not in data or (require_list and not isinstance(data[key], list)):
        result.skip(item, f"malformed annotation: no {key!r} list")
        return None
    return data


def page_size_or_reason(path: Path, page: int = 0, dpi: float | None = None) -> tuple[int, int] | str:
    """``(width, height)`` of a page from its file headers, or the reason it cannot be used."""
    if not path.exists():
        return "missing image"
    try:
        return page_size(path, page, dpi or DEFAULT_DPI)
    except ImageLoadError as err:
        return f"unreadable image: {err.reason}"
    except Exception as err:  # noqa: BLE001 - any parser failure makes the page unusable
        return f"unreadable image: {type(err).__name__}"


def declared_size_mismatch(declared: Any, actual: tuple[int, int]) -> str | None:
    """A reason when an annotation's ``{"width", "height"}`` disagrees with the image file."""
    if not isinstance(declared, dict):
        return None
    w, h = declared.get("width"), declared.get("height")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (w, h)):
        return None
    if (w, h) != actual:
        return f"size mismatch: annotation says {w}x{h}, image is {actual[0]}x{actual[1]}"
    return None


def page_size_or_skip(
    image: Path,
    result: ReadResult,
    item: str,
    declared: Any = None,
    image_item: str | None = None,
    page: int = 0,
    dpi: float | None = None,
) -> tuple[int, int] | None:
    """``(width, height)`` of a page (:func:`page_size_or_reason`), or None after a skip.

    An unusable image skips ``image_item`` (default: the image's path relative to the
    dataset folder); an annotation size ``declared`` unlike the image's
    (:func:`declared_size_mismatch`) skips ``item``.
    """
    size = page_size_or_reason(image, page, dpi)
    if isinstance(size, str):
        result.skip(relative_item(image, result.root) if image_item is None else image_item, size)
        return None
    mismatch = declared_size_mismatch(declared, size)
    if mismatch:
        result.skip(item, mismatch)
        return None
    return size


def find_image(folder: Path, stem: str, extensions: Iterable[str]) -> Path:
    """``folder/stem.ext`` for the first extension that exists (case-insensitive), else the first."""
    extensions = list(extensions)
    for ext in extensions:
        for candidate in (folder / f"{stem}{ext}", folder / f"{stem}{ext.upper()}"):
            if candidate.is_file():
                return candidate
    return folder / f"{stem}{extensions[0]}"


def absolute(path: Path) -> str:
    """``path`` as an absolute, normalised string (symlinks kept)."""
    return os.path.abspath(path)


def relative_item(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` for messages (the path itself when outside it)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def split_from_name(name: str) -> str | None:
    """``train``/``dev``/``val``/``test`` when the folder or file name contains it, else None."""
    lower = name.lower()
    return next((key for key in ("train", "dev", "val", "test") if key in lower), None)


def check_split(folder: Path, split: str | None, available: Sequence[str]) -> None:
    """:class:`ReaderError` when ``split`` is requested but not in ``available``."""
    if split is not None and split not in available:
        found = ", ".join(available) or "none"
        raise ReaderError(f"{folder}: no split {split!r} here (found: {found})")


@dataclass(frozen=True)
class SplitLayout:
    """The files of a split folder: annotation and image subfolders, the list every
    annotation's JSON object must hold (``key``; any value with ``require_list=False``) and
    the image extensions tried, in order, for an annotation's file stem."""

    annotations: str
    images: str
    key: str
    extensions: tuple[str, ...]
    require_list: bool = True


def read_split_folders(
    dataset: str,
    folder: Path,
    splits: Sequence[tuple[str, Path]],
    split: str | None,
    layout: SplitLayout,
    read_page: Callable[[Path, dict[str, Any], Path, str, str, ReadResult], None],
    log: logging.Logger,
) -> ReadResult:
    """Read the ``(split name, split folder)`` folders of a dataset (all, or only ``split``).

    Every ``*.json`` annotation, in name order, is loaded (:func:`load_annotation`) and its
    image found (:func:`find_image`); then ``read_page(annotation file, its JSON object,
    image, item, split, result)`` reads the page.
    """
    check_split(folder, split, [name for name, _ in splits])
    result = ReadResult(dataset, folder)
    for name, path in splits:
        if split is not None and name != split:
            continue
        files = sorted((path / layout.annotations).glob("*.json"))
        log.info("%s: %d annotation files in split %s", dataset, len(files), name)
        for ann in files:
            item = relative_item(ann, result.root)
            data = load_annotation(ann, item, result, layout.key, layout.require_list)
            if data is not None:
                image = find_image(path / layout.images, ann.stem, layout.extensions)
                read_page(ann, data, image, item, name, result)
    return result
