"""A model store on a local folder or any fsspec URL (``s3://`` for S3, R2, MinIO; ``gs://``).

Layout: ``<store>/<name>/<version>/`` holds an export's files and its ``manifest.json``
(see :mod:`anonymizer.store.manifest`); ``version`` defaults to ``latest``.

* ``push`` verifies the local manifest, uploads the files, checks their sizes in the
  store, and uploads ``manifest.json`` last: a partial push has no manifest, so it is
  neither listed nor pullable. An existing version is replaced only with ``overwrite``
  (its manifest is deleted first).
* ``pull`` downloads the files the manifest lists into a hidden temporary folder next to
  the destination, verifies every size and checksum, and renames it into place; on any
  failure nothing is left behind. An existing destination is replaced only with ``overwrite``.

S3 credentials come only from the environment or the standard AWS config
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, ``~/.aws/...``), never
from arguments or configs, and are never printed. The endpoint (R2:
``https://<account>.r2.cloudflarestorage.com``) is ``endpoint_url`` or botocore's
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``; the region ``AWS_REGION`` (R2: ``auto``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import fsspec
from fsspec.callbacks import Callback

from anonymizer.store.manifest import (
    MANIFEST_NAME,
    ManifestError,
    MissingManifestError,
    parse_manifest,
    verify_manifest,
)

log = logging.getLogger(__name__)

DEFAULT_VERSION = "latest"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_LOCAL = ("file", "local")


class StoreError(OSError):
    """A store operation failed (not found, already exists, unreachable, access denied...)."""


class StoreNotFoundError(StoreError, FileNotFoundError):
    """The store, bucket, model or file does not exist."""


class StoreNameError(StoreError, ValueError):
    """A model name or version is not allowed."""


def check_name(value: str, what: str = "name") -> str:
    """Validate a model name or version: 1-128 of ``A-Z a-z 0-9 . _ -``, starting with a letter
    or digit (so no ``..``, no slashes, no hidden names)."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise StoreNameError(
            f"invalid model {what} {value!r}: use 1-128 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit (no slashes)"
        )
    return value


def redact_url(url: str) -> str:
    """``url`` without user info (``https://user:secret@host`` -> ``https://host``) for messages."""
    parts = urlsplit(str(url))
    if parts.username is None and parts.password is None:
        return str(url)
    host = parts.hostname or ""
    return urlunsplit(parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")))


def is_url(value: str) -> bool:
    """True for ``<protocol>://...`` strings other than ``file://``."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", str(value))
    return bool(match) and match.group(1).lower() not in _LOCAL


def env_endpoint_url() -> str | None:
    """The S3 endpoint botocore would use from the environment (``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL``)."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def storage_options(url: str, endpoint_url: str | None = None, region: str | None = None,
                    profile: str | None = None) -> dict[str, Any]:
    """fsspec options for ``url``: for ``s3://``, the endpoint, region, profile and a 10 s connect timeout."""
    protocol = str(url).split("://", 1)[0].lower() if "://" in str(url) else "file"
    if protocol not in ("s3", "s3a"):
        if endpoint_url or region or profile:
            raise StoreError(f"{redact_url(url)}: endpoint, region and profile options apply to s3:// stores only")
        return {}
    options: dict[str, Any] = {"config_kwargs": {"connect_timeout": 10}}
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    if region:
        options["client_kwargs"] = {"region_name": region}
    if profile:
        options["profile"] = profile
    return options


def _describe(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, FileNotFoundError):
        return f"not found ({text})"
    if isinstance(err, PermissionError):
        return f"access denied ({text})"
    return f"{type(err).__name__}: {text}"


@contextmanager
def translate_errors(where: str) -> Iterator[None]:
    """Turn backend errors (botocore, aiohttp, OS) into one-line :class:`StoreError`."""
    try:
        yield
    except (StoreError, ManifestError):
        raise
    except FileNotFoundError as err:
        raise StoreNotFoundError(f"{where}: {_describe(err)}") from err
    except Exception as err:  # backends raise many types; the message keeps the reason
        raise StoreError(f"{where}: {_describe(err)}") from err


def open_fs(url: str, **options: Any) -> tuple[fsspec.AbstractFileSystem, str]:
    """``(filesystem, path)`` for a local folder or fsspec URL (clear error for a missing backend)."""
    try:
        return fsspec.core.url_to_fs(str(url), **options)
    except ImportError as err:
        raise StoreError(f"{redact_url(url)}: {err}") from None
    except ValueError as err:
        raise StoreError(f"{redact_url(url)}: {err}") from None


class _Progress:
    """Byte progress over a transfer: a rich bar on a terminal, nothing otherwise."""

    def __init__(self, enabled: bool, description: str, total: int) -> None:
        self.bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            console = Console(stderr=True)
            if console.is_terminal:
                self.bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                    TransferSpeedColumn(), TimeRemainingColumn(), console=console, transient=True)
                self.task = self.bar.add_task(description, total=total)
                self.bar.start()

    def advance(self, nbytes: int) -> None:
        if self.bar is not None and nbytes:
            self.bar.advance(self.task, nbytes)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


class _FileCallback(Callback):
    """fsspec callback forwarding one file's byte counts to :class:`_Progress`."""

    def __init__(self, progress: _Progress) -> None:
        super().__init__()
        self.progress = progress

    def relative_update(self, inc: int = 1) -> None:
        self.value += inc
        self.progress.advance(inc)

    def absolute_update(self, value: int) -> None:
        self.relative_update(value - self.value)

    def finish(self, size: int) -> None:
        """Account for bytes the backend did not report (local copies report none)."""
        self.relative_update(max(size - self.value, 0))


def download_manifest_files(fs: fsspec.AbstractFileSystem, remote_dir: str, manifest_bytes: bytes,
                            dest: Path, where: str, progress: bool = False) -> Path:
    """Download the files a manifest lists from ``remote_dir`` into ``dest`` atomically.

    ``manifest_bytes`` is the store's ``manifest.json``. Files go to a hidden temporary
    sibling of ``dest``, are verified against it (written there unchanged), and the folder
    is renamed to ``dest``, which must not exist. On any error the temporary folder is removed.
    """
    manifest = parse_manifest(manifest_bytes, where)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.pull-{uuid.uuid4().hex[:8]}")
    bar = _Progress(progress, f"pull {where}", int(manifest.get("total_size") or 0))
    try:
        tmp.mkdir()
        for rel, entry in manifest["files"].items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            callback = _FileCallback(bar)
            with translate_errors(f"{where}/{rel}"):
                fs.get_file(f"{remote_dir}/{rel}", str(target), callback=callback)
            callback.finish(entry["size"])
        (tmp / MANIFEST_NAME).write_bytes(manifest_bytes)
        try:
            verify_manifest(tmp)
        except ManifestError as err:
            raise ManifestError(str(err).replace(str(tmp), where, 1)) from None
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        bar.close()
    return dest


@dataclass(frozen=True)
class StoreEntry:
    """One listed model version."""

    name: str
    version: str
    kind: str
    files: int
    size: int
    created: str
    url: str


class ModelStore:
    """Push, pull and list exports in ``<url>/<name>/<version>/`` (see the module docstring)."""

    def __init__(self, url: str | Path, endpoint_url: str | None = None, region: str | None = None,
                 profile: str | None = None) -> None:
        self.url = str(url).rstrip("/") or "/"
        self.display = redact_url(self.url)
        self.fs, self.root = open_fs(self.url, **storage_options(self.url, endpoint_url, region, profile))
        self.root = self.root.rstrip("/")
        self.local = "file" in _protocols(self.fs)

    def _path(self, name: str, version: str) -> str:
        return f"{self.root}/{check_name(name)}/{check_name(version, 'version')}"

    def _where(self, name: str, version: str) -> str:
        return f"{self.display}/{name}/{version}"

    def _check_root(self) -> None:
        """Raise unless the local folder, or the bucket of a remote store, exists."""
        with translate_errors(self.display):
            self.fs.invalidate_cache()
            if self.local and not self.fs.isdir(self.root):
                raise StoreNotFoundError(f"{self.display}: the store does not exist (no such folder)")
            if self.local:
                return
            bucket = self.root.split("/", 1)[0]
            try:
                self.fs.info(bucket)
            except FileNotFoundError:
                raise StoreNotFoundError(
                    f"{self.display}: the store does not exist (no such bucket {bucket!r})"
                ) from None
            except PermissionError:
                pass  # credentials scoped to objects: the operation itself reports what it may not do

    def _manifest_bytes(self, name: str, version: str) -> bytes:
        path, where = self._path(name, version), self._where(name, version)
        with translate_errors(where):
            self.fs.invalidate_cache()
            try:
                return self.fs.cat_file(f"{path}/{MANIFEST_NAME}")
            except FileNotFoundError:
                self._check_root()
                raise StoreNotFoundError(f"{where}: no such model in the store") from None

    def manifest(self, name: str, version: str = DEFAULT_VERSION) -> dict[str, Any]:
        """The manifest of ``name``/``version``; :class:`StoreNotFoundError` when it is not in the store."""
        return parse_manifest(self._manifest_bytes(name, version), self._where(name, version))

    def exists(self, name: str, version: str = DEFAULT_VERSION) -> bool:
        """Whether a complete (manifest-bearing) ``name``/``version`` is in the store."""
        with translate_errors(self._where(name, version)):
            self.fs.invalidate_cache()
            return self.fs.isfile(f"{self._path(name, version)}/{MANIFEST_NAME}")

    def list(self) -> list[StoreEntry]:
        """Every complete model version, sorted by name and version."""
        self._check_root()
        with translate_errors(self.display):
            found = sorted(self.fs.glob(f"{self.root}/*/*/{MANIFEST_NAME}"))
        entries = []
        for path in found:
            version_dir = path.rsplit("/", 1)[0]
            name, version = version_dir.split("/")[-2:]
            where = self._where(name, version)
            try:
                with translate_errors(where):
                    manifest = parse_manifest(self.fs.cat_file(path), where)
            except (StoreError, ManifestError) as err:
                log.warning("Skipping %s", err)
                continue
            entries.append(StoreEntry(name, version, manifest["kind"], len(manifest["files"]),
                                      int(manifest.get("total_size") or 0), str(manifest.get("created", "")), where))
        return entries

    def push(self, folder: str | Path, name: str, version: str = DEFAULT_VERSION, overwrite: bool = False,
             progress: bool = False) -> str:
        """Upload a verified export folder as ``name``/``version``; returns its store URL."""
        remote, where = self._path(name, version), self._where(name, version)
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise StoreError(f"{folder}: no such folder")
        try:
            manifest = verify_manifest(folder)
        except MissingManifestError as err:
            raise MissingManifestError(
                f"{err}; create one with `python -m anonymizer.store manifest {folder}`"
            ) from None
        if self.local:
            with translate_errors(self.display):
                self.fs.makedirs(self.root, exist_ok=True)
        else:
            self._check_root()
        with translate_errors(where):
            self.fs.invalidate_cache()
            if self.fs.isfile(f"{remote}/{MANIFEST_NAME}"):
                if not overwrite:
                    raise StoreError(f"{where}: already in the store (use --overwrite to replace it)")
                self.fs.rm_file(f"{remote}/{MANIFEST_NAME}")
            if self.fs.exists(remote):
                log.info("Removing the previous or partial upload at %s", where)
                self.fs.rm(remote, recursive=True)
        bar = _Progress(progress, f"push {name}/{version}", int(manifest["total_size"]))
        try:
            for rel, entry in manifest["files"].items():
                if self.local:
                    self.fs.makedirs(f"{remote}/{rel}".rsplit("/", 1)[0], exist_ok=True)
                callback = _FileCallback(bar)
                with translate_errors(f"{where}/{rel}"):
                    self.fs.put_file(str(folder / rel), f"{remote}/{rel}", callback=callback)
                callback.finish(entry["size"])
        finally:
            bar.close()
        with translate_errors(where):
            self.fs.invalidate_cache()
            found = self.fs.find(remote, detail=True)
            for rel, entry in manifest["files"].items():
                size = found.get(f"{remote}/{rel}", {}).get("size")
                if size != entry["size"]:
                    raise StoreError(f"{where}/{rel}: uploaded {size} bytes, expected {entry['size']}")
            self.fs.put_file(str(folder / MANIFEST_NAME), f"{remote}/{MANIFEST_NAME}")
        return where

    def pull(self, name: str, dest: str | Path, version: str = DEFAULT_VERSION, overwrite: bool = False,
             progress: bool = False) -> Path:
        """Download ``name``/``version`` into ``dest`` (verified, atomic); returns ``dest``."""
        dest = Path(dest).expanduser()
        if dest.exists() and not overwrite:
            raise StoreError(f"{dest}: already exists (use --overwrite to replace it)")
        raw = self._manifest_bytes(name, version)
        if not dest.exists():
            return download_manifest_files(self.fs, self._path(name, version), raw, dest,
                                           self._where(name, version), progress)
        staged = dest.with_name(f".{dest.name}.new-{uuid.uuid4().hex[:8]}")
        download_manifest_files(self.fs, self._path(name, version), raw, staged,
                                self._where(name, version), progress)
        old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
        dest.rename(old)
        staged.rename(dest)
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink()
        return dest


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
