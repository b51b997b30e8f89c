"""Checks of an uploaded document before any page is decoded, with their HTTP status.

The type comes from the content (:func:`anonymizer.core.documents.sniff_format`), never
from the file name or the ``Content-Type`` the client sent. Then the page count and every
page's pixel size (from headers, or the PDF page size at the configured dpi) are checked
against the limits. A PDF is opened in its own child process
(:class:`~anonymizer.core.pdf_pages.PdfPages`, under ``io.render_timeout_s`` per step),
which then renders its pages: no PDF work happens in the server process, and no lock is
shared between uploads. Messages say "the upload"; they never hold the client's file name.

=====  ==========================================================================
400    empty upload
413    too many pages, too many pixels on a page or in the document
415    not a PNG, JPEG, TIFF or PDF (GIF, BMP, WebP, text, ...)
422    corrupt or truncated image or PDF, encrypted PDF, a PDF step over ``io.render_timeout_s``
=====  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from anonymizer.core.documents import count_pages, page_size, sniff_format
from anonymizer.core.image_io import ImageLoadError
from anonymizer.core.pdf_pages import PdfPages
from anonymizer.serving.errors import ApiError

#: Format → the extension the checked file gets (``documents`` wants content and extension to agree).
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif", "PDF": ".pdf"}
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "TIFF": "image/tiff", "PDF": "application/pdf"}
SUPPORTED = "PNG, JPEG, TIFF or PDF"


@dataclass(frozen=True)
class DocumentInfo:
    """A checked upload: its format, the path it now has (with the format's extension),
    the pixel size of every page as it will be loaded, and for a PDF the open child
    process that renders it (the caller closes it)."""

    format: str
    path: Path
    sizes: tuple[tuple[int, int], ...]
    pdf: PdfPages | None = None

    @property
    def pages(self) -> int:
        return len(self.sizes)


def load_error(err: ImageLoadError, fmt: str | None = None) -> ApiError:
    """The API error for a document that cannot be read (the reason never holds content)."""
    reason = err.reason
    what = f"the upload ({fmt})" if fmt else "the upload"
    if "max_pixels" in reason or "decompression bomb" in reason or "max_pages" in reason:
        return ApiError(413, f"{what} is too large: {reason}")
    if "encrypted" in reason or "security handler" in reason:
        return ApiError(422, f"{what} cannot be opened: {reason}; upload it without a password")
    return ApiError(422, f"{what} cannot be read: {reason}")


def check_upload(
    path: Path,
    max_pages: int,
    max_pixels: int,
    max_document_pixels: int,
    dpi: float,
    open_pdf: Callable[[Path], PdfPages] | None = None,
) -> DocumentInfo:
    """Check the uploaded file at ``path`` and rename it to its format's extension.

    ``open_pdf`` opens a PDF in its child process (default: :class:`PdfPages` with no time
    limit); the returned info holds it, open, for rendering.

    Raises:
        ApiError: 400, 413, 415 or 422 (see the module docstring).
    """
    if path.stat().st_size == 0:
        raise ApiError(400, "the upload is empty (0 bytes)")
    fmt = sniff_format(path)
    if fmt is None:
        raise ApiError(415, f"the upload is not a {SUPPORTED} file (its content is not a recognised image or PDF)")
    if fmt not in EXTENSIONS:
        raise ApiError(415, f"the upload is a {fmt} image, which is not supported; send a {SUPPORTED} file")
    typed = path.with_name(path.name + EXTENSIONS[fmt])
    path.rename(typed)
    pdf, checked = None, False
    try:
        if fmt == "PDF":
            pdf = (open_pdf or (lambda p: PdfPages(p, None)))(typed)
            n = len(pdf)
        else:
            n = count_pages(typed)
        if n > max_pages:
            raise ApiError(413, f"the upload ({fmt}) has {n} pages, more than the limit of {max_pages} (io.max_pages)")
        sizes = tuple(pdf.sizes(dpi)) if pdf is not None else tuple(page_size(typed, i, dpi) for i in range(n))
        _check_pixels(fmt, sizes, max_pixels, max_document_pixels, dpi)
        checked = True
    except ImageLoadError as err:
        raise load_error(err, fmt) from None
    finally:
        if pdf is not None and not checked:
            pdf.close()
    return DocumentInfo(fmt, typed, sizes, pdf)


def _check_pixels(fmt: str, sizes: tuple[tuple[int, int], ...], max_pixels: int, max_document_pixels: int,
                  dpi: float) -> None:
    for i, (width, height) in enumerate(sizes):
        if width * height > max_pixels:
            where = f" at {dpi:g} dpi" if fmt == "PDF" else ""
            raise ApiError(413, f"the upload ({fmt}): page {i} is {width}×{height} = {width * height} pixels{where}, "
                                f"more than the limit of {max_pixels} (io.max_pixels)")
    total = sum(w * h for w, h in sizes)
    if total > max_document_pixels:
        raise ApiError(413, f"the upload ({fmt}) has {total} pixels on its {len(sizes)} pages, more than the limit "
                            f"of {max_document_pixels} (server.max_document_pixels)")
