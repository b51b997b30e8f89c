"""Resolve model sources from configs: local folders, hub ids, and store URLs (``s3://...``).

:func:`resolve_model_path` is called wherever a model is loaded from a path (builders,
glyph encoder, scheduler, ``TextEditPipeline``, the diffusion renderer):

* a hub id (``stabilityai/stable-diffusion-2-inpainting``) or a path that does not exist
  is returned unchanged (the loader reports it);
* a local folder is returned as is, after verifying its ``manifest.json`` when it has one
  (plain diffusers/transformers folders need none; ``require_manifest`` makes it compulsory,
  as for text-edit exports);
* an fsspec URL (``s3://bucket/models/<name>/<version>``; a URL without a manifest whose
  ``latest/`` has one means that version) is downloaded into the cache, verified, and the
  cached folder is returned. A cached copy is used when its manifest equals the store's
  and its files verify again; otherwise it is downloaded anew. When the store cannot be
  reached but a cached copy verifies, that copy is used with a warning.

Cache: ``$ANONYMIZER_CACHE/models`` (default ``~/.cache/anonymizer/models``), laid out as
``<protocol>/<endpoint host or 'default'>/<bucket>/<path>``. S3 endpoint and credentials
come from the environment (see :mod:`anonymizer.store.store`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from anonymizer.store.manifest import (
    MANIFEST_NAME,
    ManifestError,
    MissingManifestError,
    parse_manifest,
    read_manifest,
    verify_manifest,
)
from anonymizer.store.store import (
    StoreError,
    StoreNotFoundError,
    download_manifest_files,
    env_endpoint_url,
    is_url,
    open_fs,
    redact_url,
    storage_options,
    translate_errors,
)

log = logging.getLogger(__name__)

CACHE_ENV = "ANONYMIZER_CACHE"


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The model cache: ``cache_dir``, else ``$ANONYMIZER_CACHE/models``, else ``~/.cache/anonymizer/models``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser() / "models"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "anonymizer" / "models"


def cache_path(url: str, cache_dir: str | Path | None = None) -> Path:
    """Where ``url``'s model folder is cached (see the module docstring)."""
    parts = urlsplit(url)
    protocol = parts.scheme.lower()
    endpoint = env_endpoint_url() if protocol in ("s3", "s3a") else None
    host = urlsplit(endpoint).netloc.rsplit("@", 1)[-1] if endpoint else "default"
    components = [protocol, host, parts.netloc.rsplit("@", 1)[-1], *[c for c in parts.path.split("/") if c]]
    safe = []
    for comp in components:
        if comp in (".", ".."):
            raise StoreError(f"{redact_url(url)}: '.' and '..' are not allowed in model URLs")
        safe.append(re.sub(r"[^A-Za-z0-9._-]", "_", comp))
    return cache_root(cache_dir).joinpath(*safe)


def _cache_problem(folder: Path, manifest: dict[str, Any], checksums: bool) -> str | None:
    """Why ``folder`` is not a verified copy of ``manifest``'s files, or None when it is."""
    try:
        if read_manifest(folder) != manifest:
            return "the store has another version"
        verify_manifest(folder, checksums=checksums)
    except (ManifestError, OSError) as err:
        return str(err)
    return None


def remote_manifest(url: str) -> tuple[Any, str, str, bytes]:
    """``(fs, path, url, manifest.json bytes)`` of a store folder (or of its ``latest/``)."""
    fs, path = open_fs(url, **storage_options(url))
    path, url = path.rstrip("/"), url.rstrip("/")
    where = redact_url(url)
    with translate_errors(where):
        fs.invalidate_cache()
        for sub in ("", "/latest"):
            try:
                data = fs.cat_file(f"{path}{sub}/{MANIFEST_NAME}")
            except FileNotFoundError:
                continue
            return fs, path + sub, url + sub, data
    raise StoreNotFoundError(f"{where}: no {MANIFEST_NAME} there or in latest/ (give <store>/<name>/<version>)")


def _fetch(url: str, cache_dir: str | Path | None, kind: str | None, verify: bool) -> Path:
    try:
        fs, path, url, raw = remote_manifest(url)
    except StoreNotFoundError:
        raise
    except StoreError as err:  # unreachable: a verified cached copy will do
        for candidate in (cache_path(url, cache_dir), cache_path(url.rstrip("/") + "/latest", cache_dir)):
            if not (candidate / MANIFEST_NAME).is_file():
                continue
            try:
                cached = read_manifest(candidate)
            except ManifestError:
                continue
            if _cache_problem(candidate, cached, checksums=verify) is None:
                log.warning("%s; using the verified cached copy %s", err, candidate)
                _check_kind(candidate, cached, kind)
                return candidate
        raise
    manifest = parse_manifest(raw, redact_url(url))
    _check_kind(url, manifest, kind)
    local = cache_path(url, cache_dir)
    if local.is_dir():
        problem = _cache_problem(local, manifest, checksums=verify)
        if problem is None:
            log.info("Using cached %s (%s)", redact_url(url), local)
            return local
        log.warning("Cached copy %s is stale or damaged (%s); downloading %s again", local, problem, redact_url(url))
        aside = local.with_name(f".{local.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            local.rename(aside)
            shutil.rmtree(aside, ignore_errors=True)
        except FileNotFoundError:
            pass  # another process moved it first
    log.info("Downloading %s to %s", redact_url(url), local)
    try:
        download_manifest_files(fs, path, raw, local, redact_url(url), progress=True)
    except OSError:
        if local.is_dir() and _cache_problem(local, manifest, checksums=verify) is None:  # another process won
            return local
        raise
    return local


def _check_kind(where: str | Path, manifest: dict[str, Any], kind: str | None) -> None:
    if kind is not None and manifest["kind"] != kind:
        raise ManifestError(f"{redact_url(str(where))}: a {manifest['kind']!r} export, expected {kind!r}")


def as_local_path(path_or_url: str | Path) -> Path | None:
    """The local path of a folder path or ``file://`` URL; None for other URLs."""
    source = str(path_or_url)
    if is_url(source):
        return None
    if re.match(r"^(file|local)://", source, re.IGNORECASE):
        source = source.split("://", 1)[1]
    return Path(source).expanduser()


def resolve_model_path(path_or_url: str | Path, cache_dir: str | Path | None = None, *, kind: str | None = None,
                       require_manifest: bool = False, verify: bool = True) -> str:
    """A local folder or hub id for ``path_or_url`` (see the module docstring).

    ``kind`` (e.g. ``"text_edit"``) is checked against a manifest's kind; ``verify=False``
    checks file lists and sizes but skips the checksums (not recommended).
    Raises :class:`~anonymizer.store.manifest.ManifestError` (corrupt, incomplete or
    unlisted files, wrong kind, or no manifest where one is required) and
    :class:`~anonymizer.store.store.StoreError` (store unreachable, not found).
    """
    local = as_local_path(path_or_url)
    if local is None:
        return str(_fetch(str(path_or_url), cache_dir, kind, verify))
    if not local.is_dir():
        if require_manifest:
            raise FileNotFoundError(f"{local}: no such folder")
        return str(path_or_url)
    if not (local / MANIFEST_NAME).is_file():
        if require_manifest:
            raise MissingManifestError(
                f"{local}: no {MANIFEST_NAME}; re-export it, or create one for its current files with "
                f"`python -m anonymizer.store manifest {local}`"
            )
        return str(local)
    verify_manifest(local, kind=kind, checksums=verify)
    return str(local)
