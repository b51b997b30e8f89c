"""Corpora for batch anonymization: documents and outputs named by local paths or fsspec
URLs (``s3://bucket/scans/``, ``file:///data/scans``), and the output's ``manifest.jsonl``.

A :class:`Job` is one document to anonymize: its path relative to the input (also its
output's), where to read it and where to write it. Plain paths are used as they are (the
command's own checks apply); ``<protocol>://`` URLs (``file://`` included) go through fsspec:
documents are listed with ``find``, read as bytes, and outputs are written to a temporary
name next to the target and moved onto it (a rename where the file system has one; an object
store publishes the object whole). :func:`plan_jobs` drops documents whose output (or
non-failed audit) exists, which is what makes a rerun resume.

``manifest.jsonl`` (one JSON object a line, sorted by document) records each document's
status, reason, pages, entity counts per type, leaks redacted and seconds: never text.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from anonymizer.core.documents import DOCUMENT_EXTENSIONS
from anonymizer.core.outputs import write_bytes
from anonymizer.pipeline.audit import AUDIT_SUFFIX, is_failed_audit
from anonymizer.store.store import StoreError, open_fs, redact_url

MANIFEST_NAME = "manifest.jsonl"
#: The fields of a manifest line.
MANIFEST_FIELDS = ("document", "status", "reason", "pages", "entities", "leaks", "seconds")

__all__ = ["MANIFEST_NAME", "CorpusError", "Job", "fetch", "is_corpus_url", "list_url_documents", "plan_jobs",
           "publish", "read_manifest", "write_manifest"]


class CorpusError(ValueError):
    """An input or output URL that cannot be used (one line naming it and the reason)."""


@dataclass(frozen=True)
class Job:
    """One document to anonymize.

    Attributes:
        document: its path relative to the input (POSIX separators), also its output's.
        source: where it is read (a local path or a URL).
        target: where its output goes (a local path or a URL); the audit goes next to it.
        replace_audit: an earlier audit there records a failure: this run replaces it.
    """

    document: str
    source: str
    target: str
    replace_audit: bool = False


def is_corpus_url(value: str) -> bool:
    """Whether ``value`` is a ``<protocol>://`` URL (``file://`` too) rather than a plain path."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", str(value)) is not None


def _fs(url: str) -> tuple[Any, str]:
    try:
        return open_fs(url)
    except StoreError as err:
        raise CorpusError(str(err)) from None


def join(base: str, relative: str) -> str:
    """``relative`` (POSIX) under the folder ``base`` (a path or a URL)."""
    if is_corpus_url(base):
        return base.rstrip("/") + "/" + relative
    return str(Path(base) / relative)


def list_url_documents(source: str, output: str, recursive: bool = True) -> list[tuple[str, str]]:
    """``(relative path, URL)`` of the documents under the URL ``source``, sorted; a file
    URL is one document. The output may not be the input folder or lie inside it.

    Raises:
        CorpusError: the input cannot be listed or does not exist, or the output is inside it.
    """
    fs, root = _fs(source)
    shown = redact_url(source)
    try:
        if fs.isfile(root):
            return [(PurePosixPath(root).name, fs.unstrip_protocol(root))]
        if not fs.isdir(root):
            raise CorpusError(f"input {shown} does not exist")
        found = fs.find(root) if recursive else fs.ls(root, detail=False)
    except CorpusError:
        raise
    except Exception as err:  # noqa: BLE001 - backends raise many types; one line with the type
        raise CorpusError(f"input {shown} cannot be listed ({type(err).__name__})") from None
    if is_corpus_url(output):
        out_fs, out_root = _fs(output)
        same = type(out_fs) is type(fs)
        out_path, in_path = PurePosixPath(out_root), PurePosixPath(root)
        if same and (out_path == in_path or (recursive and in_path in out_path.parents)):
            raise CorpusError(f"output {redact_url(output)} is inside the input folder; choose a folder outside it "
                              "(inputs are never modified)")
    base = root.rstrip("/")
    docs = []
    for path in sorted(found):
        if PurePosixPath(path).suffix.lower() in DOCUMENT_EXTENSIONS:
            docs.append((path[len(base) + 1:], fs.unstrip_protocol(path)))
    return docs


def _existing(output: str) -> set[str]:
    """The files under the output folder, relative to it (POSIX)."""
    fs, root = _fs(output)
    if not fs.isdir(root):
        return set()
    base = root.rstrip("/")
    return {p[len(base) + 1:].replace("\\", "/") for p in fs.find(root)}


def plan_jobs(jobs: list[Job], output: str, overwrite: bool) -> tuple[list[Job], list[Job]]:
    """``(to do, kept)``: without ``overwrite``, a document whose output exists, or whose
    audit exists and does not record a failure, is kept; one with only a failed audit is
    done again and its audit replaced. The output folder is listed once."""
    if overwrite:
        return list(jobs), []
    existing = _existing(output)
    todo, kept = [], []
    for job in jobs:
        audit = job.document + AUDIT_SUFFIX
        if job.document in existing:
            kept.append(job)
        elif audit in existing:
            if is_failed_audit(read_bytes(join(output, audit))):
                todo.append(replace(job, replace_audit=True))
            else:
                kept.append(job)
        else:
            todo.append(job)
    return todo, kept


def read_bytes(location: str) -> bytes:
    """The bytes of a local path or URL (b"" when it cannot be read)."""
    try:
        if not is_corpus_url(location):
            return Path(location).read_bytes()
        fs, path = _fs(location)
        return fs.cat_file(path)
    except (OSError, CorpusError):
        return b""


def fetch(url: str, folder: Path) -> Path:
    """Copy the document at ``url`` into ``folder`` under its own name; returns the copy.

    Raises:
        OSError: it cannot be read.
    """
    fs, path = _fs(url)
    local = folder / PurePosixPath(path).name
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with fs.open(path, "rb") as src, open(local, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
    except OSError:
        raise
    except Exception as err:  # noqa: BLE001 - backends raise many types
        raise OSError(f"cannot read the input ({type(err).__name__})") from None
    return local


def publish(local: Path, url: str, overwrite: bool) -> None:
    """Copy ``local`` to ``url`` under a temporary name, then move it onto ``url``.

    Raises:
        FileExistsError: ``url`` exists and ``overwrite`` is false.
        OSError: it cannot be written.
    """
    fs, path = _fs(url)
    if not overwrite and fs.exists(path):
        raise FileExistsError(path)
    parent, name = PurePosixPath(path).parent, PurePosixPath(path).name
    tmp = str(parent / f".{name}.{uuid.uuid4().hex}.part")
    try:
        fs.makedirs(str(parent), exist_ok=True)
        fs.put_file(str(local), tmp)
        fs.mv(tmp, path)
    except OSError:
        raise
    except Exception as err:  # noqa: BLE001 - backends raise many types
        raise OSError(f"cannot write the output ({type(err).__name__})") from None
    finally:
        try:
            if fs.exists(tmp):
                fs.rm_file(tmp)
        except Exception:  # noqa: BLE001 - best effort clean-up
            pass


def read_manifest(output: str) -> dict[str, dict[str, Any]]:
    """The records of the output's ``manifest.jsonl`` by document ({} when there is none)."""
    records = {}
    for line in read_bytes(join(output, MANIFEST_NAME)).decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("document"), str):
            records[record["document"]] = record
    return records


def write_manifest(output: str, records: Iterable[dict[str, Any]]) -> None:
    """Replace the output's ``manifest.jsonl`` with ``records`` (sorted by document),
    atomically.

    Raises:
        OSError: it cannot be written.
    """
    rows = sorted(({k: r.get(k) for k in MANIFEST_FIELDS} for r in records), key=lambda r: r["document"])
    data = "".join(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n" for r in rows).encode("utf-8")
    target = join(output, MANIFEST_NAME)
    if not is_corpus_url(output):
        write_bytes(target, data, overwrite=True)
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="anonymizer-manifest-") as tmp:
        local = Path(tmp) / MANIFEST_NAME
        local.write_bytes(data)
        publish(local, target, overwrite=True)
