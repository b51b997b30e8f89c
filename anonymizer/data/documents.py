"""Safe loading of document pages: raster images (PNG, JPEG, TIFF incl. multi-page) and PDFs.

The one entry point for every reader, DataModule and the anonymization pipeline. A file's
type is recognised from its first bytes and must agree with its extension (a ``.png``
holding JPEG data is rejected, so no file is silently read as something else). PDF pages
are rendered with pypdfium2 (PDFium) at a configured DPI; raster pages go through
:func:`~anonymizer.data.image_io.load_image_rgb` (EXIF orientation, every mode to 8-bit
RGB, the decompression-bomb guard). Every failure is an
:class:`~anonymizer.data.image_io.ImageLoadError` whose message is ``"{path}: {reason}"``;
messages never contain document content.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from anonymizer.data.image_io import (
    DEFAULT_MAX_PIXELS,
    ImageLoadError,
    _check_file,
    count_frames,
    image_size,
    load_image_rgb,
)

DEFAULT_DPI = 200
MAX_DPI = 1200

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
    (b"BM", "BMP"),
)
_PDF_HEADER_WINDOW = 1024  # the PDF spec lets "%PDF-" start anywhere in the first 1024 bytes


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
        raise ImageLoadError(path, f"unsupported file type {path.suffix or '(no extension)'!r} (supported: {supported})")
    try:
        actual = sniff_format(path)
    except OSError as err:
        raise ImageLoadError(path, f"cannot read the file ({type(err).__name__})") from None
    if actual is None:
        raise ImageLoadError(path, f"content is not a recognised image or PDF (extension says {expected})")
    if actual != expected:
        raise ImageLoadError(path, f"content is {actual} but the extension {path.suffix!r} says {expected}")
    return actual


def _check_dpi(path: Path, dpi: float) -> float:
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not 0 < dpi <= MAX_DPI:
        raise ImageLoadError(path, f"dpi must be a number in (0, {MAX_DPI}], got {dpi!r}")
    return float(dpi)


def _open_pdf(path: Path):  # -> pypdfium2.PdfDocument
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as err:
        text = str(err).lower()
        if "password" in text:
            raise ImageLoadError(path, "encrypted PDF: a password is required to open it") from None
        if "security" in text:
            raise ImageLoadError(path, "PDF uses an unsupported security handler") from None
        raise ImageLoadError(path, "corrupt or truncated PDF (PDFium cannot parse it)") from None
    except OSError as err:
        raise ImageLoadError(path, f"cannot read the PDF ({type(err).__name__})") from None


def count_pages(path: str | Path) -> int:
    """Number of pages of a document: 1 for PNG/JPEG, frames of a TIFF, pages of a PDF.

    Raises:
        ImageLoadError: see :func:`check_document`, plus unreadable/encrypted PDFs.
    """
    path = Path(path)
    kind = check_document(path)
    if kind != "PDF":
        return count_frames(path)
    pdf = _open_pdf(path)
    try:
        n = len(pdf)
    finally:
        pdf.close()
    if n == 0:
        raise ImageLoadError(path, "PDF has no pages")
    return n


def page_size(path: str | Path, page: int = 0, dpi: float = DEFAULT_DPI) -> tuple[int, int]:
    """``(width, height)`` in pixels of page ``page`` as :func:`load_page` returns it, read
    from the headers without decoding pixels (EXIF rotation by 90° swaps the sides).

    Raises:
        ImageLoadError: as :func:`load_page` for files that cannot be opened.
    """
    path = Path(path)
    kind = check_document(path)
    if kind == "PDF":
        import pypdfium2 as pdfium

        scale = _check_dpi(path, dpi) / 72.0
        pdf = _open_pdf(path)
        try:
            n = len(pdf)
            if isinstance(page, bool) or not isinstance(page, int) or not 0 <= page < n:
                raise ImageLoadError(path, f"page {page!r} out of range: the file has {n} page(s)")
            try:
                width_pt, height_pt = pdf[page].get_size()
            except pdfium.PdfiumError:
                raise ImageLoadError(path, f"page {page}: corrupt page (PDFium cannot load it)") from None
        finally:
            pdf.close()
        return round(width_pt * scale), round(height_pt * scale)
    return image_size(path, frame=page)


def load_page(
    path: str | Path,
    page: int = 0,
    dpi: float = DEFAULT_DPI,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Page ``page`` (0-based) of a document as a fully decoded RGB image.

    PDF pages are rendered at ``dpi`` (72 PDF points per inch) over white; their pixel
    count is checked against ``max_pixels`` before rendering. Raster files ignore ``dpi``.

    Raises:
        ImageLoadError: naming the file and the reason (see :func:`check_document`,
            :func:`~anonymizer.data.image_io.load_image_rgb`), page out of range,
            encrypted or corrupt PDF, too many pixels.
    """
    path = Path(path)
    kind = check_document(path)
    if kind != "PDF":
        return load_image_rgb(path, max_pixels, frame=page)
    return next(_pdf_pages(path, dpi, max_pixels, [page]))[1]


def iter_pages(
    path: str | Path,
    dpi: float = DEFAULT_DPI,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_pages: int | None = None,
) -> Iterator[tuple[int, Image.Image]]:
    """Yield ``(page_index, RGB image)`` for every page of a document, in order.

    Raises:
        ImageLoadError: as :func:`load_page`, and when the document has more than
            ``max_pages`` pages (checked before any page is decoded).
    """
    path = Path(path)
    n = count_pages(path)
    if max_pages is not None and n > max_pages:
        raise ImageLoadError(path, f"document has {n} pages, more than the limit of {max_pages} (max_pages)")
    if check_document(path) == "PDF":
        yield from _pdf_pages(path, dpi, max_pixels, range(n))
        return
    for index in range(n):
        yield index, load_image_rgb(path, max_pixels, frame=index)


def _pdf_pages(
    path: Path, dpi: float, max_pixels: int | None, pages
) -> Iterator[tuple[int, Image.Image]]:
    import pypdfium2 as pdfium

    dpi = _check_dpi(path, dpi)
    scale = dpi / 72.0
    pdf = _open_pdf(path)
    try:
        n = len(pdf)
        if n == 0:
            raise ImageLoadError(path, "PDF has no pages")
        for index in pages:
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise ImageLoadError(path, f"page index must be an integer >= 0, got {index!r}")
            if index >= n:
                raise ImageLoadError(path, f"page {index} out of range: the file has {n} page(s)")
            try:
                page = pdf[index]
                width_pt, height_pt = page.get_size()
            except pdfium.PdfiumError:
                raise ImageLoadError(path, f"page {index}: corrupt page (PDFium cannot load it)") from None
            try:
                width, height = round(width_pt * scale), round(height_pt * scale)
                if width <= 0 or height <= 0:
                    raise ImageLoadError(path, f"page {index}: zero width or height at {dpi:g} dpi")
                if max_pixels is not None and width * height > max_pixels:
                    raise ImageLoadError(
                        path,
                        f"page {index}: {width}×{height} = {width * height} pixels at {dpi:g} dpi exceeds "
                        f"the limit of {max_pixels} (max_pixels; lower the dpi or raise the limit)",
                    )
                try:
                    bitmap = page.render(scale=scale, fill_color=(255, 255, 255, 255))
                    image = bitmap.to_pil().convert("RGB")
                except pdfium.PdfiumError:
                    raise ImageLoadError(path, f"page {index}: PDFium failed to render it") from None
            finally:
                page.close()
            yield index, image
    finally:
        pdf.close()
