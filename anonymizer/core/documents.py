"""Safe loading of document pages: raster images (PNG, JPEG, TIFF incl. multi-page) and PDFs.

The one entry point for every reader, DataModule and the anonymization pipeline. A file's
type is recognised from its first bytes and must agree with its extension (a ``.png``
holding JPEG data is rejected, so no file is silently read as something else). PDF pages
are rendered with pypdfium2 (PDFium) at a configured DPI (``0 < dpi <= MAX_DPI``), their
pixel count checked before rendering; a PDF without its ``%%EOF`` end marker is rejected
as truncated (PDFium would silently repair some). Raster pages go through
:func:`~anonymizer.core.image_io.load_image_rgb` (EXIF orientation, every mode to 8-bit
RGB, the decompression-bomb guard). Every failure is an
:class:`~anonymizer.core.image_io.ImageLoadError` whose message is ``"{path}: {reason}"``;
messages never contain document content.

PDFium runs in this process unless :func:`iter_pages` is asked to isolate it: then each
PDF is opened, counted and rendered in a child process, which is killed when a step takes
longer than ``render_timeout_s`` (:mod:`anonymizer.core.pdf_pages`; the anonymizer does
this with every PDF). Every loaded page carries its resolution in ``info["dpi"]`` when
known (the rendering dpi of a PDF page, the declared one of an image), so writers can
declare it.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import Image

from anonymizer.core.image_io import (
    DEFAULT_MAX_PIXELS,
    ImageLoadError,
    _check_file,
    check_frame_index,
    check_pixel_count,
    count_frames,
    image_size,
    load_image_rgb,
)
from anonymizer.core.pdf_pages import PdfPages

DEFAULT_DPI = 200
MAX_DPI = 1200
DEFAULT_MAX_PAGES = 1000  # per document, for folder scans

#: Extension (lower case) → the format its content must have.
EXTENSION_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".pdf": "PDF",
}
DOCUMENT_EXTENSIONS = tuple(EXTENSION_FORMATS)

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}  # DIB header sizes after the 14-byte file header
_PDF_HEADER_WINDOW = 1024  # the PDF spec lets "%PDF-" start anywhere in the first 1024 bytes
_PDF_TAIL_WINDOW = 1024  # ... and readers accept "%%EOF" anywhere in the last 1024 bytes


def sniff_format(path: str | Path) -> str | None:
    """The format of ``path`` from its first bytes (``"PNG"``, ``"JPEG"``, ``"TIFF"``,
    ``"PDF"``, ``"GIF"``, ``"BMP"``, ``"WEBP"``), or None when unrecognised."""
    with open(path, "rb") as f:
        head = f.read(_PDF_HEADER_WINDOW)
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "BMP"
    if b"%PDF-" in head:
        return "PDF"
    return None


def check_document(path: str | Path) -> str:
    """Validate that ``path`` is a readable file of a supported type whose content matches
    its extension; returns the format (``"PNG"``, ``"JPEG"``, ``"TIFF"`` or ``"PDF"``).

    Raises:
        ImageLoadError: missing, empty, unsupported extension, unrecognised content, or
            content of another format than the extension says.
    """
    path = Path(path)
    _check_file(path)
    expected = EXTENSION_FORMATS.get(path.suffix.lower())
    if expected is None:
        supported = ", ".join(DOCUMENT_EXTENSIONS)
        raise ImageLoadError(
            path, f"unsupported file type {path.suffix or '(no extension)'!r} (supported: {supported})"
        )
    try:
        actual = sniff_format(path)
    except OSError as err:
        raise ImageLoadError(path, f"cannot read the file ({type(err).__name__})") from None
    if actual is None:
        raise ImageLoadError(path, f"content is not a recognised image or PDF (extension says {expected})")
    if actual != expected:
        raise ImageLoadError(path, f"content is {actual} but the extension {path.suffix!r} says {expected}")
    return actual


def check_dpi(dpi: object) -> float:
    """``dpi`` as a float when it is a real number in ``(0, MAX_DPI]`` (not a bool).

    Raises:
        ValueError: otherwise (for configuration checks before any file is read).
    """
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Real) or not 0 < dpi <= MAX_DPI:
        raise ValueError(f"dpi must be a number in (0, {MAX_DPI}], got {dpi!r}")
    return float(dpi)


def _check_dpi(path: Path, dpi: object) -> float:
    try:
        return check_dpi(dpi)
    except ValueError as err:
        raise ImageLoadError(path, str(err)) from None


def check_max_pages(max_pages: object) -> None:
    """Raise ValueError unless ``max_pages`` is None or an integer >= 1 (not a bool)."""
    if max_pages is not None and (
        isinstance(max_pages, bool) or not isinstance(max_pages, numbers.Integral) or max_pages < 1
    ):
        raise ValueError(f"max_pages must be an integer >= 1 or None, got {max_pages!r}")


def _check_page_in_range(path: Path, page: int, n_pages: int) -> None:
    if page >= n_pages:
        raise ImageLoadError(path, f"page {page} out of range: the file has {n_pages} page(s)")


def _check_pdf_tail(path: Path) -> None:
    """A complete PDF ends with ``%%EOF`` (readers accept it within the last 1024 bytes);
    PDFium silently repairs some truncated files, so this is checked explicitly."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - _PDF_TAIL_WINDOW))
            tail = f.read()
    except OSError as err:
        raise ImageLoadError(path, f"cannot read the PDF ({type(err).__name__})") from None
    if b"%%EOF" not in tail:
        raise ImageLoadError(path, f"truncated PDF: no %%EOF end marker in its last {_PDF_TAIL_WINDOW} bytes")


def _pdfium_reason(err: Exception) -> str:
    """PDFium's own error name (e.g. ``"Data format error"``), never document content."""
    match = re.search(r"\(PDFium: ([^)]*)\)", str(err))
    return match.group(1) if match else "unknown error"


def _open_pdf(path: Path):  # -> pypdfium2.PdfDocument
    import pypdfium2 as pdfium

    _check_pdf_tail(path)
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as err:
        reason = _pdfium_reason(err)
        if "password" in reason.lower():
            raise ImageLoadError(path, "encrypted PDF: a password is required to open it") from None
        if "security" in reason.lower():
            raise ImageLoadError(path, "PDF uses an unsupported security handler") from None
        raise ImageLoadError(path, f"corrupt PDF: PDFium cannot parse it ({reason})") from None
    except OSError as err:
        raise ImageLoadError(path, f"cannot read the PDF ({type(err).__name__})") from None
    if len(pdf) == 0:
        pdf.close()
        raise ImageLoadError(path, "PDF has no pages")
    return pdf


def count_pages(path: str | Path) -> int:
    """Number of pages of a document: 1 for PNG/JPEG, frames of a TIFF, pages of a PDF.

    Animated PNGs and multi-picture JPEGs (MPO) count as one page: their first image.

    Raises:
        ImageLoadError: see :func:`check_document`, plus unreadable/encrypted PDFs.
    """
    path = Path(path)
    kind = check_document(path)
    return _count_pages(path, kind)


def _count_pages(path: Path, kind: str) -> int:
    if kind == "TIFF":
        return count_frames(path)
    if kind != "PDF":
        return 1
    pdf = _open_pdf(path)
    try:
        return len(pdf)
    finally:
        pdf.close()


def page_size(path: str | Path, page: int = 0, dpi: float = DEFAULT_DPI) -> tuple[int, int]:
    """``(width, height)`` in pixels of page ``page`` as :func:`load_page` returns it, read
    from the headers without decoding pixels (EXIF rotation by 90° swaps the sides).

    Raises:
        ImageLoadError: as :func:`load_page` for files that cannot be opened.
    """
    path = Path(path)
    kind = check_document(path)
    page = check_frame_index(path, page)
    scale = _check_dpi(path, dpi) / 72.0
    if kind != "PDF":
        if kind != "TIFF":  # TIFF frames are checked by image_io
            _check_page_in_range(path, page, 1)
        return image_size(path, frame=page)
    pdf = _open_pdf(path)
    try:
        _check_page_in_range(path, page, len(pdf))
        pdf_page = _get_pdf_page(path, pdf, page)
        try:
            return _pdf_pixel_size(pdf_page, scale)
        finally:
            pdf_page.close()
    finally:
        pdf.close()


def load_page(
    path: str | Path,
    page: int = 0,
    dpi: float = DEFAULT_DPI,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Page ``page`` (0-based) of a document as a fully decoded RGB image.

    PDF pages are rendered at ``dpi`` (72 PDF points per inch) over white; their pixel
    count is checked against ``max_pixels`` (and Pillow's hard decompression-bomb limit)
    before rendering. Raster files ignore ``dpi`` but it must still be valid.

    Raises:
        ImageLoadError: naming the file and the reason (see :func:`check_document`,
            :func:`~anonymizer.core.image_io.load_image_rgb`), invalid page index or dpi,
            page out of range, encrypted or corrupt PDF, too many pixels.
    """
    path = Path(path)
    kind = check_document(path)
    page = check_frame_index(path, page)
    dpi = _check_dpi(path, dpi)
    if kind != "PDF":
        if kind != "TIFF":  # TIFF frames are checked by image_io
            _check_page_in_range(path, page, 1)
        return load_image_rgb(path, max_pixels, frame=page)
    pdf = _open_pdf(path)
    try:
        _check_page_in_range(path, page, len(pdf))
        return _render_pdf_page(path, pdf, page, dpi, max_pixels)
    finally:
        pdf.close()


def iter_pages(
    path: str | Path,
    dpi: float = DEFAULT_DPI,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_pages: int | None = None,
    isolate: bool = False,
    render_timeout_s: float | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[int, Image.Image]]:
    """Yield ``(page_index, RGB image)`` for every page of a document, in order.

    With ``isolate``, a PDF is opened and rendered in a child process that gets
    ``render_timeout_s`` seconds per step (None: no limit) and is killed when
    ``should_stop()`` turns true (:class:`~anonymizer.core.pdf_pages.PdfPages`); without
    it, in this process.

    Raises:
        ImageLoadError: as :func:`load_page`, when the document has more than
            ``max_pages`` pages (checked before any page is decoded), and when an
            isolated PDF step takes longer than ``render_timeout_s``.
        anonymizer.core.pdf_pages.Cancelled: ``should_stop()`` turned true during a PDF step.
        ValueError: ``max_pages`` is not None or an integer >= 1.
    """
    path = Path(path)
    check_max_pages(max_pages)
    kind = check_document(path)
    dpi = _check_dpi(path, dpi)
    if kind == "PDF" and isolate:
        with PdfPages(path, render_timeout_s, should_stop) as pdf:
            _check_page_count(path, len(pdf), max_pages)
            for index in range(len(pdf)):
                yield index, pdf.render(index, dpi, max_pixels)
        return
    n = _count_pages(path, kind)
    _check_page_count(path, n, max_pages)
    if kind != "PDF":
        for index in range(n):
            yield index, load_image_rgb(path, max_pixels, frame=index)
        return
    pdf = _open_pdf(path)
    try:
        for index in range(n):
            yield index, _render_pdf_page(path, pdf, index, dpi, max_pixels)
    finally:
        pdf.close()


def _check_page_count(path: Path, n: int, max_pages: int | None) -> None:
    if max_pages is not None and n > max_pages:
        raise ImageLoadError(path, f"document has {n} pages, more than the limit of {max_pages} (max_pages)")


def _get_pdf_page(path: Path, pdf, index: int):  # -> pypdfium2.PdfPage
    import pypdfium2 as pdfium

    try:
        return pdf[index]
    except pdfium.PdfiumError:
        raise ImageLoadError(path, f"page {index}: corrupt page (PDFium cannot load it)") from None


def _pdf_pixel_size(page, scale: float) -> tuple[int, int]:
    """Rendered ``(width, height)`` of ``page``; rounds up exactly as pypdfium2's renderer."""
    width_pt, height_pt = page.get_size()
    return math.ceil(width_pt * scale), math.ceil(height_pt * scale)


def _render_pdf_page(path: Path, pdf, index: int, dpi: float, max_pixels: int | None) -> Image.Image:
    import pypdfium2 as pdfium

    page = _get_pdf_page(path, pdf, index)
    try:
        width, height = _pdf_pixel_size(page, dpi / 72.0)
        if width <= 0 or height <= 0:
            raise ImageLoadError(path, f"page {index}: zero width or height at {dpi:g} dpi")
        check_pixel_count(
            path, width, height, max_pixels,
            where=f"page {index} at {dpi:g} dpi: ", hint="; lower the dpi or raise the limit",
        )
        try:
            bitmap = page.render(scale=dpi / 72.0, fill_color=(255, 255, 255, 255))
            image = bitmap.to_pil().convert("RGB")
            image.info["dpi"] = (dpi, dpi)
            return image
        except pdfium.PdfiumError:
            raise ImageLoadError(path, f"page {index}: PDFium failed to render it") from None
    finally:
        page.close()
