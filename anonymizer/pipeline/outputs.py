"""Atomic, never-overwriting writers of anonymized documents and their audit JSON.

A document is written in the format of its input: PNG and JPEG pages as one image, TIFF
as a multi-page TIFF, PDF as an image-only PDF whose pages keep their size in points (the
pages are rendered at ``dpi`` and written back at ``dpi``). Nothing of the input file
survives except pixels: no text layer, no metadata (EXIF, XMP, PDF info), no thumbnails,
which is what makes a PDF's hidden text and a photo's EXIF safe.
:func:`encode_document` returns the same bytes in memory (what the HTTP API sends back).

Writes go to a temporary file in the target folder, then are published with a hard link
(which fails when the target exists, so a file that appears meanwhile is not replaced) or
``os.replace`` when overwriting is allowed.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image

#: Output format per input format (as :func:`anonymizer.data.documents.check_document` names them).
FORMATS = ("PNG", "JPEG", "TIFF", "PDF")


def _publish(path: Path, write: Callable[[BinaryIO], None], overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: output exists; pass overwrite=true to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w+b") as f:  # read access: multi-page TIFF writing seeks back
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise FileExistsError(f"{path}: output exists; pass overwrite=true to replace it") from None
            except OSError:  # file systems without hard links: best effort
                if path.exists():
                    raise FileExistsError(f"{path}: output exists; pass overwrite=true to replace it") from None
                os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _prepare(name: str, pages: Sequence[Image.Image], fmt: str, jpeg_quality: int) -> list[Image.Image]:
    """Validated RGB copies of ``pages`` without their info/EXIF; ``name`` starts the errors."""
    if fmt not in FORMATS:
        raise ValueError(f"{name}: cannot write format {fmt!r} (supported: {', '.join(FORMATS)})")
    if not pages:
        raise ValueError(f"{name}: no pages to write")
    if fmt in ("PNG", "JPEG") and len(pages) != 1:
        raise ValueError(f"{name}: {fmt} holds one page, got {len(pages)}")
    if not 1 <= int(jpeg_quality) <= 100:
        raise ValueError(f"jpeg_quality must be in [1, 100], got {jpeg_quality}")
    rgb = [p if p.mode == "RGB" else p.convert("RGB") for p in pages]
    return [Image.frombytes("RGB", p.size, p.tobytes()) for p in rgb]  # no info/EXIF carried over


def _save(f: BinaryIO, clean: Sequence[Image.Image], fmt: str, dpi: float, jpeg_quality: int) -> None:
    first, rest = clean[0], list(clean[1:])
    if fmt == "PNG":
        first.save(f, "PNG", optimize=False)
    elif fmt == "JPEG":
        first.save(f, "JPEG", quality=int(jpeg_quality), subsampling=0)
    elif fmt == "TIFF":
        first.save(f, "TIFF", save_all=True, append_images=rest, compression="tiff_deflate")
    else:
        first.save(f, "PDF", save_all=True, append_images=rest, resolution=float(dpi))


def write_document(
    path: str | Path,
    pages: Sequence[Image.Image],
    fmt: str,
    dpi: float = 200,
    jpeg_quality: int = 95,
    overwrite: bool = False,
) -> None:
    """Write ``pages`` (RGB) to ``path`` in ``fmt`` (one of :data:`FORMATS`), atomically.

    Raises:
        ValueError: unknown format, no pages, or several pages for PNG/JPEG.
        FileExistsError: ``path`` exists and ``overwrite`` is false.
    """
    path = Path(path)
    clean = _prepare(str(path), pages, fmt, jpeg_quality)
    _publish(path, lambda f: _save(f, clean, fmt, dpi, jpeg_quality), overwrite)


def encode_document(pages: Sequence[Image.Image], fmt: str, dpi: float = 200, jpeg_quality: int = 95) -> bytes:
    """The bytes :func:`write_document` would write, in memory (same format rules, no metadata).

    Raises:
        ValueError: unknown format, no pages, or several pages for PNG/JPEG.
    """
    clean = _prepare("document", pages, fmt, jpeg_quality)
    buffer = io.BytesIO()
    _save(buffer, clean, fmt, dpi, jpeg_quality)
    return buffer.getvalue()


def write_json(path: str | Path, data: Any, overwrite: bool = False) -> None:
    """Write ``data`` as indented UTF-8 JSON to ``path``, atomically (see :func:`write_document`)."""
    payload = (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    _publish(Path(path), lambda f: f.write(payload), overwrite)
