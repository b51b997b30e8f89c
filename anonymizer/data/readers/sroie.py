"""SROIE (ICDAR 2019, task 1: text localisation) in its published layouts::

    SROIE2019/0325updated.task1train(626p)/X00016469612.jpg  X00016469612.txt  (train)
    SROIE2019/task1_2_test(361p)/X51005200931.jpg                              (test images)
    SROIE2019/text.task1_2-test（361p)/X51005200931.txt                         (test texts)

(folder names as the ICDAR download unzips them, checked against mmocr's SROIE preparer
and several public loaders; the test text folder's name has a full-width ``（``). Pass the
folder holding them, any one of them, or a folder of ``X*.jpg`` + ``X*.txt`` pairs.
Folders up to three levels down whose names contain ``task1`` are searched (task 2/3
folders are ignored); the split is ``train``/``test`` from the folder name (None when the
name has neither); images and texts are paired by file stem within a split. Copies named
``X…(1).jpg`` next to ``X….jpg`` are skipped as duplicates. Record ids are
``sroie/{split}/{stem}`` (``sroie/{stem}`` without a split).

Each non-blank text line is ``x1,y1,x2,y2,x3,y3,x4,y4,text`` (the text may contain
commas; files are UTF-8, with or without BOM, else Latin-1). SROIE's granularity is the
text **line segment**: each line becomes one :class:`~anonymizer.core.records.Word` with
its quad and bounding box (clipped to the page); there are no entities, and
``Word.line`` stays None (several segments can share a visual line). The known missing
test image (``X51006619570``) is reported as a missing image.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from anonymizer.core.records import Word
from anonymizer.data.readers.base import (
    BoxError,
    ReaderError,
    ReadResult,
    check_split,
    page_size_or_skip,
    quad_box,
    quad_points,
    relative_item,
    split_from_name,
)

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg")
MAX_DEPTH = 3
STEM = re.compile(r"^X\d+(\(\d+\))?$")  # X00016469612, and copies such as X00016469612(1)
COPY = re.compile(r"^(.+)\(\d+\)$")
EXPECTED = (
    "expected SROIE task-1 files: X*.jpg and X*.txt in '0325updated.task1train(626p)', or test images in "
    "'task1_2_test(361p)' with texts in 'text.task1_2-test（361p)'"
)


def _listing(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:  # an unreadable folder holds nothing we can use
        return []


def _folders(folder: Path) -> list[Path]:
    """``folder`` and the folders below it (up to :data:`MAX_DEPTH`) whose names contain ``task1``."""
    out, level = [folder], [folder]
    for _ in range(MAX_DEPTH):
        level = [p for d in level for p in _listing(d) if p.is_dir()]
        out.extend(p for p in level if "task1" in p.name.lower())
    return out


def find_files(folder: Path) -> dict[str | None, tuple[dict[str, Path], dict[str, Path]]]:
    """``split → ({stem: image}, {stem: text file})``; :class:`ReaderError` when there are no texts."""
    if not folder.is_dir():
        raise ReaderError(f"{folder}: not a folder; {EXPECTED}")
    default = split_from_name(folder.name)
    splits: dict[str | None, tuple[dict[str, Path], dict[str, Path]]] = {}
    for path in _folders(folder):
        split = split_from_name(path.name) if path != folder else default
        split = split if split in ("train", "test") else default
        images, texts = splits.setdefault(split, ({}, {}))
        for file in _listing(path):
            suffix = file.suffix.lower()
            target = images if suffix in IMAGE_SUFFIXES else texts if suffix == ".txt" else None
            if target is not None and STEM.match(file.stem) and file.is_file():
                target.setdefault(file.stem, file)
    if not any(texts for _, texts in splits.values()):
        raise ReaderError(f"{folder}: no SROIE task-1 text files found; {EXPECTED}")
    return {s: files for s, files in splits.items() if files[1]}


def read_sroie(folder: str | Path, split: str | None = None) -> ReadResult:
    """Read SROIE task-1 folders (see the module docstring); ``split`` keeps only that split."""
    folder = Path(folder)
    splits = find_files(folder)
    check_split(folder, split, sorted(s for s in splits if s is not None))
    result = ReadResult("sroie", folder)
    for name, (images, texts) in sorted(splits.items(), key=lambda kv: kv[0] or ""):
        if split is not None and name != split:
            continue
        log.info("sroie: %d text files in split %s", len(texts), name)
        for stem, text in sorted(texts.items()):
            copy = COPY.match(stem)
            if copy and copy.group(1) in texts:
                result.skip(relative_item(text, folder), f"duplicate copy of {copy.group(1)}")
                continue
            _read_page(text, images.get(stem), name, result)
    return result


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _read_page(text: Path, image: Path | None, split: str | None, result: ReadResult) -> None:
    item = relative_item(text, result.root)
    if image is None:
        result.skip(item, "missing image")
        return
    size = page_size_or_skip(image, result, item)
    if size is None:
        return
    width, height = size
    try:
        content = _decode(text.read_bytes())
    except OSError as err:
        result.skip(item, f"unreadable annotation file: {type(err).__name__}")
        return
    words: list[Word] = []
    for lineno, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{item} line {lineno}"
        parts = line.split(",", 8)
        if len(parts) < 9:
            result.skip(where, "malformed line: expected x1,y1,...,x4,y4,text")
            continue
        if not parts[8].strip():
            result.skip(where, "blank word")
            continue
        try:
            numbers = [float(p) for p in parts[:8]]
            quad = quad_points(numbers)
            box = quad_box(quad, width, height)
        except ValueError as err:  # float() failures and BoxError
            reason = str(err) if isinstance(err, BoxError) else "malformed line: coordinates are not numbers"
            result.skip(where, reason)
            continue
        words.append(Word(text=parts[8].strip(), box=box, quad=quad))
    record_id = f"sroie/{split}/{text.stem}" if split else f"sroie/{text.stem}"
    result.add_page(item, record_id, image, size, words, split=split)
