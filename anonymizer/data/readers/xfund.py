"""XFUND (Xu et al., 2021) in its published v1.0 release layout::

    XFUND/de.train.json   de.train/de_train_0.jpg ...   (de.train.zip unzipped)
          de.val.json     de.val/de_val_0.jpg ...

Each ``{lang}.{split}.json`` is ``{"lang", "version", "split", "documents": [{"id",
"uid", "document": [FUNSD-style entries], "img": {"fname", "width", "height"}}]}``
(checked against the LayoutXLM ``xfun.py`` loader in microsoft/unilm and mmocr's XFUND
preparer and sample annotation). The release's zips hold the images at their top level,
so an image ``fname`` is looked for in ``{lang}.{split}/``, then ``{lang}_{split}/``
(mmocr's name), then next to the JSON file. Images still inside ``{lang}.{split}.zip``
are not read from the zip: when none of a file's images is found and the zip is there,
the file is skipped with the ``unzip`` command to run (a :class:`ReaderError` when
nothing at all could be read). ``fname`` must be a plain file name.

Pass the folder with the JSON files (or one JSON file). Splits come from the file names
(``train``, ``val``); record ids are ``xfund/{split}/{document id}`` (document ids such as
``de_train_0`` carry the language). Entries are read by :mod:`anonymizer.data.readers.form`;
a document whose ``img`` width/height disagree with the image file is skipped.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from anonymizer.data.readers.base import (
    ReaderError,
    ReadResult,
    check_split,
    load_annotation,
    page_size_or_skip,
)
from anonymizer.data.readers.form import parse_form

log = logging.getLogger(__name__)

FILE_NAME = re.compile(r"^([A-Za-z]{2,3}(?:[-_][A-Za-z]+)?)\.([A-Za-z]+)\.json$")
EXPECTED = "expected XFUND's layout: {lang}.{split}.json files (e.g. de.train.json) with the images in {lang}.{split}/"


def find_files(folder: Path) -> list[tuple[str, str, Path]]:
    """``(lang, split, json file)`` of an XFUND folder or file; :class:`ReaderError` when none."""
    if folder.is_file():
        files = [folder]
    elif folder.is_dir():
        files = sorted(folder.glob("*.json"))
    else:
        raise ReaderError(f"{folder}: does not exist; {EXPECTED}")
    found = [(m.group(1), m.group(2), f) for f in files if (m := FILE_NAME.match(f.name))]
    if not found:
        raise ReaderError(f"{folder}: not an XFUND folder; {EXPECTED}")
    return found


def read_xfund(folder: str | Path, split: str | None = None) -> ReadResult:
    """Read an XFUND folder (see the module docstring); ``split`` keeps only that split."""
    folder = Path(folder)
    files = find_files(folder)
    check_split(folder, split, sorted({s for _, s, _ in files}))
    result = ReadResult("xfund", folder if folder.is_dir() else folder.parent)
    zipped: list[str] = []
    for lang, name, path in files:
        if split is None or name == split:
            _read_file(lang, name, path, result, zipped)
    if not result.records and zipped:
        raise ReaderError(f"{result.root}: images are still zipped; " + "; ".join(zipped))
    return result


def _image_dirs(path: Path, lang: str, split: str) -> list[Path]:
    return [path.parent / f"{lang}.{split}", path.parent / f"{lang}_{split}", path.parent]


def _fname(doc: dict[str, Any]) -> str | None:
    img = doc.get("img")
    fname = img.get("fname") if isinstance(img, dict) else None
    if not isinstance(fname, str) or fname in ("", ".", "..") or "/" in fname or "\\" in fname:
        return None
    return fname


def _read_file(lang: str, split: str, path: Path, result: ReadResult, zipped: list[str]) -> None:
    data = load_annotation(path, path.name, result, "documents")
    if data is None:
        return
    docs = data["documents"]
    dirs = _image_dirs(path, lang, split)
    names = [n for d in docs if isinstance(d, dict) and (n := _fname(d))]
    archive = path.parent / f"{lang}.{split}.zip"
    if names and archive.is_file() and not any((d / n).is_file() for d in dirs for n in names):
        command = f"unzip {archive} -d {dirs[0]}"
        result.skip(f"{path.name} ({len(docs)} documents)", f"images still zipped: run {command}")
        zipped.append(f"run: {command}")
        return
    log.info("xfund: %d documents in %s", len(docs), path.name)
    for n, doc in enumerate(docs):
        _read_document(doc, f"{path.name} documents[{n}]", split, dirs, result)


def _read_document(doc: Any, item: str, split: str, dirs: list[Path], result: ReadResult) -> None:
    if not isinstance(doc, dict):
        result.skip(item, "malformed document: not an object")
        return
    doc_id = doc.get("id")
    if not isinstance(doc_id, str) or not doc_id:
        result.skip(item, "malformed document: 'id' is not a non-empty string")
        return
    item = f"{item} (id {doc_id})"
    fname = _fname(doc)
    if fname is None:
        result.skip(item, "malformed document: 'img.fname' is not a plain file name")
        return
    image = next((d / fname for d in dirs if (d / fname).is_file()), dirs[0] / fname)
    size = page_size_or_skip(image, result, item, doc.get("img"), image_item=f"{item} image {fname}")
    if size is None:
        return
    words, entities, links = parse_form(doc.get("document"), *size, item, result)
    result.add_page(item, f"xfund/{split}/{doc_id}", image, size, words, entities, links, split=split)
