"""``manifest.json``: the list of an export's files with their sizes and SHA-256 checksums.

Every export (:mod:`anonymizer.models.export`) writes one as the last file of its atomic
write; loaders and the model store verify it. Format (``schema`` = :data:`SCHEMA`)::

    {"schema": "anonymizer.manifest/1", "kind": "text_edit", "created": "2026-01-31T12:00:00Z",
     "created_by": "anonymizer 0.1.0", "algorithm": "sha256", "total_size": 1234,
     "files": {"unet/config.json": {"size": 912, "sha256": "9f86d0..."}, ...},
     "export": {...export info: source checkpoint, step, scaling factor or text-edit config...}}

Policy:

* Paths are relative POSIX paths inside the folder; ``manifest.json`` itself is not listed.
* Hidden files and folders (any path part starting with ``.``: ``.DS_Store``, ``.cache/``)
  are never listed, never verified and never pushed.
* Verification fails on a listed file that is missing, has another size or another
  checksum, and on an *unlisted* (non-hidden) file: loaders read whatever is in the folder
  (e.g. a second weights file), so a file the manifest does not cover is not trusted.
  Recreate the manifest deliberately with ``python -m anonymizer.store manifest <dir>``.
* A manifest guards against corruption, truncation and partial copies, not against
  someone who can rewrite both the files and the manifest (it is not signed).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

MANIFEST_NAME = "manifest.json"
SCHEMA = "anonymizer.manifest/1"
ALGORITHM = "sha256"
_CHUNK = 4 << 20
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MAX_LISTED = 5


class ManifestError(ValueError):
    """A manifest is missing, malformed, or does not match the folder's files."""


class MissingManifestError(ManifestError, FileNotFoundError):
    """The folder has no ``manifest.json``."""


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file (about 1.8 GB/s with SHA-NI; see docs/store.md)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_hidden(rel: str) -> bool:
    """True when a part of the relative path starts with ``.`` (ignored by manifests)."""
    return any(part.startswith(".") for part in PurePosixPath(rel).parts)


def check_relpath(rel: str, where: str) -> str:
    """Return ``rel`` if it is a safe relative POSIX path inside a folder, else raise."""
    path = PurePosixPath(rel)
    if (not rel or "\\" in rel or path.is_absolute() or rel != path.as_posix()
            or any(part in ("", ".", "..") for part in path.parts)):
        raise ManifestError(f"{where}: unsafe file path {rel!r} in {MANIFEST_NAME}")
    if is_hidden(rel) or rel == MANIFEST_NAME:
        raise ManifestError(f"{where}: {rel!r} may not be listed in {MANIFEST_NAME}")
    return rel


def list_files(folder: str | Path) -> list[str]:
    """Sorted relative paths of the folder's regular files, without hidden ones and the manifest."""
    root = Path(folder)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if not is_hidden(rel) and rel != MANIFEST_NAME:
                found.append(rel)
    return sorted(found)


def _version() -> str:
    try:
        return f"anonymizer {metadata.version('anonymizer')}"
    except metadata.PackageNotFoundError:
        return "anonymizer"


def build_manifest(folder: str | Path, kind: str, export: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Hash the folder's files and return the manifest (not written)."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    if not kind or not isinstance(kind, str):
        raise ValueError(f"{root}: manifest kind must be a non-empty string, got {kind!r}")
    files = {}
    for rel in list_files(root):
        path = root / rel
        files[rel] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
    if not files:
        raise ManifestError(f"{root}: no files to list in a manifest")
    return {
        "schema": SCHEMA,
        "kind": kind,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "created_by": _version(),
        "algorithm": ALGORITHM,
        "total_size": sum(f["size"] for f in files.values()),
        "files": files,
        "export": dict(export or {}),
    }


def write_manifest(folder: str | Path, kind: str, export: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write ``folder/manifest.json`` for the folder's current files (atomically) and return it."""
    manifest = build_manifest(folder, kind, export)
    target = Path(folder) / MANIFEST_NAME
    tmp = target.with_name(f".{MANIFEST_NAME}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, target)
    return manifest


def parse_manifest(data: bytes | str, where: str) -> dict[str, Any]:
    """Parse and validate manifest text; ``where`` names its folder or URL in errors."""
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ManifestError(f"{where}: {MANIFEST_NAME} is not valid JSON ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        found = manifest.get("schema") if isinstance(manifest, dict) else type(manifest).__name__
        raise ManifestError(f"{where}: {MANIFEST_NAME} has schema {found!r}, expected {SCHEMA!r}")
    if manifest.get("algorithm", ALGORITHM) != ALGORITHM:
        raise ManifestError(f"{where}: unsupported checksum algorithm {manifest.get('algorithm')!r}")
    if not isinstance(manifest.get("kind"), str) or not manifest["kind"]:
        raise ManifestError(f"{where}: {MANIFEST_NAME} has no kind")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ManifestError(f"{where}: {MANIFEST_NAME} lists no files")
    for rel, entry in files.items():
        check_relpath(rel, where)
        if (not isinstance(entry, dict) or not isinstance(entry.get("size"), int) or entry["size"] < 0
                or not isinstance(entry.get("sha256"), str) or not _HEX64.match(entry["sha256"])):
            raise ManifestError(f"{where}: {MANIFEST_NAME} entry of {rel!r} needs an integer size and a sha256")
    return manifest


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """Read and validate ``folder/manifest.json`` (:class:`MissingManifestError` when absent)."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        raise MissingManifestError(f"{folder}: no {MANIFEST_NAME}")
    return parse_manifest(path.read_bytes(), str(folder))


def _summary(problems: list[str]) -> str:
    more = len(problems) - _MAX_LISTED
    return "; ".join(problems[:_MAX_LISTED]) + (f"; and {more} more" if more > 0 else "")


def verify_manifest(folder: str | Path, kind: str | None = None, checksums: bool = True) -> dict[str, Any]:
    """Check the folder against its manifest and return the manifest.

    Raises :class:`MissingManifestError` without a manifest, and :class:`ManifestError`
    naming the folder, the files and the reason (missing, size mismatch, unlisted file,
    checksum mismatch, or another ``kind`` than expected). Sizes and the file list are
    checked before anything is hashed; ``checksums=False`` stops there.
    """
    root = Path(folder)
    manifest = read_manifest(root)
    if kind is not None and manifest["kind"] != kind:
        raise ManifestError(f"{root}: a {manifest['kind']!r} export, expected {kind!r}")
    problems = []
    for rel, entry in manifest["files"].items():
        path = root / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
        elif (size := path.stat().st_size) != entry["size"]:
            problems.append(f"{rel}: size {size} bytes, expected {entry['size']}")
    problems += [f"{rel}: not listed in {MANIFEST_NAME}" for rel in list_files(root) if rel not in manifest["files"]]
    if not problems and checksums:
        for rel, entry in manifest["files"].items():
            if sha256_file(root / rel) != entry["sha256"]:
                problems.append(f"{rel}: checksum mismatch")
    if problems:
        raise ManifestError(f"{root}: {_summary(problems)}")
    return manifest


def infer_kind(folder: str | Path) -> str:
    """Guess a folder's kind: ``text_edit``, ``autoencoder``, a diffusers/transformers class, or ``other``."""
    root = Path(folder)
    if (root / "text_edit_config.json").is_file():
        return "text_edit"
    for name in ("config.json", "scheduler_config.json"):
        try:
            config = json.loads((root / name).read_text())
        except (OSError, ValueError):
            continue
        cls = config.get("_class_name") if isinstance(config, dict) else None
        if cls == "AutoencoderKL":
            return "autoencoder"
        if isinstance(cls, str):
            return cls
        if isinstance(config, dict) and isinstance(config.get("model_type"), str):
            return config["model_type"]
    return "other"
