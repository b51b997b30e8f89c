"""Atomic, never-overwriting writers of anonymized documents and their audit JSON.

A document is written in the format of its input: PNG and JPEG pages as one image, TIFF
as a multi-page TIFF, PDF as an image-only PDF whose pages keep their size in points.
Pages are written as they come (:class:`PageWriter`): a document never has to be held in
memory. Nothing of the input file survives except pixels and the resolution: no text
layer, no metadata (EXIF, XMP, PDF info), no thumbnails, which is what makes a PDF's
hidden text and a photo's EXIF safe. Each page's resolution is its ``info["dpi"]`` (the
rendering dpi of a PDF page, the declared one of an image) or the writer's ``dpi``; PNG,
JPEG and TIFF outputs declare it, PDF pages get their size in points from it.

The pixels written are the pixels given, except in JPEG outputs (the input's format, at
``jpeg_quality``, no chroma subsampling): PDF pages are stored losslessly (the page's PNG
encoding as a FlateDecode image with PNG predictors), so the raster that verification
read is the raster a reader renders.
:func:`encode_document` returns the same bytes in memory (what the HTTP API sends back).

Writes go to a temporary file in the target folder, then are published with a hard link
(which fails when the target exists, so a file that appears meanwhile is not replaced) or
``os.replace`` when overwriting is allowed. Published files get the usual mode for new
files (``0o666`` less the process umask), not the temporary file's ``0o600``.
"""

from __future__ import annotations

import glob
import io
import json
import os
import re
import struct
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image, TiffImagePlugin

#: Output format per input format (as :func:`anonymizer.core.documents.check_document` names them).
FORMATS = ("PNG", "JPEG", "TIFF", "PDF")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- files
def file_mode() -> int:
    """The mode a new file gets in this process: ``0o666`` less the umask."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)  # no /proc: read it by setting it (and put it back at once)
    os.umask(umask)
    return 0o666 & ~umask


def _exists_error(path: Path) -> FileExistsError:
    return FileExistsError(f"{path}: output exists; pass overwrite=true to replace it")


#: Suffix of the temporary file a writer fills next to its target (``.<name>.<random>.part``).
TEMP_SUFFIX = ".part"


def remove_unpublished(path: str | Path) -> int:
    """Remove the temporary files a writer of ``path`` left behind when its process was killed
    before publishing (``.<name>.<8 random characters>.part`` next to it, as
    :func:`tempfile.mkstemp` names them); returns how many."""
    path = Path(path)
    prefix, removed = f".{path.name}.", 0
    for tmp in path.parent.glob(f"{glob.escape(prefix)}*{TEMP_SUFFIX}"):
        if re.fullmatch(r"[a-z0-9_]{8}", tmp.name[len(prefix) : -len(TEMP_SUFFIX)]):
            with suppress(OSError):
                tmp.unlink()
                removed += 1
    return removed


@contextmanager
def _atomic(path: Path, overwrite: bool) -> Iterator[BinaryIO]:
    """A temporary file next to ``path``, published as ``path`` when the block succeeds."""
    if path.exists() and not overwrite:
        raise _exists_error(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "w+b") as f:  # read access: multi-page TIFF writing seeks back
            yield f
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise _exists_error(path) from None
            except OSError:  # file systems without hard links: best effort
                if path.exists():
                    raise _exists_error(path) from None
                os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _publish(path: Path, write: Callable[[BinaryIO], None], overwrite: bool) -> None:
    with _atomic(path, overwrite) as f:
        write(f)


# --------------------------------------------------------------------------- pages
def _check_format(fmt: str, jpeg_quality: int) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"cannot write format {fmt!r} (supported: {', '.join(FORMATS)})")
    if isinstance(jpeg_quality, bool) or not isinstance(jpeg_quality, int) or not 1 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality must be an integer in [1, 100], got {jpeg_quality!r}")


def _clean(page: Image.Image) -> Image.Image:
    """An RGB copy of ``page`` without its info/EXIF."""
    rgb = page if page.mode == "RGB" else page.convert("RGB")
    return Image.frombytes("RGB", rgb.size, rgb.tobytes())


def _resolution(page: Image.Image, default: float | None) -> tuple[float, float] | None:
    dpi = page.info.get("dpi")
    try:
        x, y = (float(v) for v in dpi)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return (float(default), float(default)) if default else None
    return (x, y) if x > 0 and y > 0 else ((float(default), float(default)) if default else None)


def png_image_data(image: Image.Image) -> bytes:
    """The zlib stream of an 8-bit RGB image's PNG encoding (rows with PNG filter bytes):
    a PDF ``FlateDecode`` image with ``/Predictor 15``."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=6)
    data = buffer.getvalue()
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("the PNG encoder wrote no PNG")
    pos, chunks = len(_PNG_SIGNATURE), []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR" and body[8:10] != b"\x08\x02" or kind == b"IHDR" and body[12] != 0:
            raise ValueError("expected an 8-bit RGB, non-interlaced PNG")
        if kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    return b"".join(chunks)


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


class _PdfStream:
    """An image-only PDF written page by page (objects 1 and 2, the catalog and the page
    tree, come last; the cross-reference table lists every offset)."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.start = f.tell()
        self.offsets: dict[int, int] = {}
        self.kids: list[int] = []
        self.f.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _object(self, number: int, head: str, stream: bytes | None = None) -> None:
        self.offsets[number] = self.f.tell() - self.start
        self.f.write(f"{number} 0 obj\n{head}\n".encode("ascii"))
        if stream is not None:
            self.f.write(b"stream\n" + stream + b"\nendstream\n")
        self.f.write(b"endobj\n")

    def add(self, page: Image.Image, dpi: tuple[float, float]) -> None:
        image, content, number = len(self.offsets) + 3, len(self.offsets) + 4, len(self.offsets) + 5
        width, height = page.size
        data = png_image_data(page)
        self._object(image, f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} "
                            f"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode /DecodeParms "
                            f"<< /Predictor 15 /Colors 3 /BitsPerComponent 8 /Columns {width} >> "
                            f"/Length {len(data)} >>", data)
        w_pt, h_pt = _number(width * 72.0 / dpi[0]), _number(height * 72.0 / dpi[1])
        draw = f"q {w_pt} 0 0 {h_pt} 0 0 cm /Im0 Do Q".encode("ascii")
        self._object(content, f"<< /Length {len(draw)} >>", draw)
        self._object(number, f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w_pt} {h_pt}] "
                             f"/Resources << /XObject << /Im0 {image} 0 R >> >> /Contents {content} 0 R >>")
        self.kids.append(number)

    def finish(self) -> None:
        kids = " ".join(f"{k} 0 R" for k in self.kids)
        self._object(2, f"<< /Type /Pages /Kids [{kids}] /Count {len(self.kids)} >>")
        self._object(1, "<< /Type /Catalog /Pages 2 0 R >>")
        size = max(self.offsets) + 1
        xref = self.f.tell() - self.start
        rows = ["0000000000 65535 f \n"] + [
            f"{self.offsets[n]:010d} 00000 n \n" if n in self.offsets else "0000000000 65535 f \n"
            for n in range(1, size)
        ]
        self.f.write(f"xref\n0 {size}\n{''.join(rows)}trailer\n<< /Size {size} /Root 1 0 R >>\n"
                     f"startxref\n{xref}\n%%EOF\n".encode("ascii"))


class PageWriter:
    """Writes the pages of one document to the binary file ``f`` in ``fmt``, one at a time.

    Args:
        f: a file opened for reading and writing (TIFF writing seeks back).
        fmt: one of :data:`FORMATS`.
        dpi: resolution of pages whose ``info`` has none (PDF pages need one: 72 when neither).
        jpeg_quality: JPEG outputs.

    Raises:
        ValueError: unknown format or JPEG quality; from :meth:`add`, a second page for PNG/JPEG;
            from :meth:`finish`, no pages.
    """

    def __init__(self, f: BinaryIO, fmt: str, dpi: float | None = None, jpeg_quality: int = 95) -> None:
        _check_format(fmt, jpeg_quality)
        self.f = f
        self.fmt = fmt
        self.dpi = dpi
        self.jpeg_quality = int(jpeg_quality)
        self.pages = 0
        self._tiff: TiffImagePlugin.AppendingTiffWriter | None = None
        self._pdf: _PdfStream | None = None

    def add(self, page: Image.Image) -> None:
        """Write ``page`` (any mode; written as RGB)."""
        if self.fmt in ("PNG", "JPEG") and self.pages:
            raise ValueError(f"{self.fmt} holds one page, got more")
        dpi = _resolution(page, self.dpi)
        clean = _clean(page)
        options: dict[str, Any] = {"dpi": dpi} if dpi else {}
        if self.fmt == "PNG":
            clean.save(self.f, "PNG", **options)
        elif self.fmt == "JPEG":
            clean.save(self.f, "JPEG", quality=self.jpeg_quality, subsampling=0, **options)
        elif self.fmt == "TIFF":
            if self._tiff is None:
                self._tiff = TiffImagePlugin.AppendingTiffWriter(self.f)
            clean.save(self._tiff, "TIFF", compression="tiff_deflate", **options)
            self._tiff.newFrame()
        else:
            if self._pdf is None:
                self._pdf = _PdfStream(self.f)
            self._pdf.add(clean, dpi or (72.0, 72.0))
        self.pages += 1

    def finish(self) -> None:
        """Complete the file.

        Raises:
            ValueError: no page was added.
        """
        if not self.pages:
            raise ValueError("no pages to write")
        if self._tiff is not None:
            self._tiff.finalize()
        if self._pdf is not None:
            self._pdf.finish()


@contextmanager
def document_writer(
    path: str | Path, fmt: str, dpi: float | None = None, jpeg_quality: int = 95, overwrite: bool = False
) -> Iterator[PageWriter]:
    """A :class:`PageWriter` on a temporary file next to ``path``; the document is published
    as ``path`` when the block ends without an error, and nothing is left otherwise.

    Raises:
        FileExistsError: ``path`` exists (when the block starts or ends) and ``overwrite`` is false.
        ValueError: see :class:`PageWriter`.
    """
    path = Path(path)
    _check_format(fmt, jpeg_quality)
    with _atomic(path, overwrite) as f:
        writer = PageWriter(f, fmt, dpi, jpeg_quality)
        yield writer
        writer.finish()


def write_document(
    path: str | Path,
    pages: Iterable[Image.Image],
    fmt: str,
    dpi: float | None = 200,
    jpeg_quality: int = 95,
    overwrite: bool = False,
) -> None:
    """Write ``pages`` to ``path`` in ``fmt`` (one of :data:`FORMATS`), atomically, one page
    at a time (``pages`` may be a generator).

    Raises:
        ValueError: unknown format, no pages, or several pages for PNG/JPEG.
        FileExistsError: ``path`` exists and ``overwrite`` is false.
    """
    with document_writer(path, fmt, dpi, jpeg_quality, overwrite) as writer:
        for page in pages:
            writer.add(page)


def encode_document(pages: Iterable[Image.Image], fmt: str, dpi: float | None = 200, jpeg_quality: int = 95) -> bytes:
    """The bytes :func:`write_document` would write, in memory (same format rules, no metadata).

    Raises:
        ValueError: unknown format, no pages, or several pages for PNG/JPEG.
    """
    buffer = io.BytesIO()
    writer = PageWriter(buffer, fmt, dpi, jpeg_quality)
    for page in pages:
        writer.add(page)
    writer.finish()
    return buffer.getvalue()


def write_bytes(path: str | Path, data: bytes, overwrite: bool = False) -> None:
    """Write ``data`` to ``path``, atomically (see :func:`write_document`)."""
    _publish(Path(path), lambda f: f.write(data), overwrite)


def write_json(path: str | Path, data: Any, overwrite: bool = False) -> None:
    """Write ``data`` as indented UTF-8 JSON to ``path``, atomically (see :func:`write_document`)."""
    payload = (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    _publish(Path(path), lambda f: f.write(payload), overwrite)
