"""One upload through the pipeline, in memory: check → pages → anonymize → encode → audit.

Runs on a worker thread. Pages are encoded as they are done (the document's pages are not
all held at once). A PDF is opened and rendered in its own child process, under
``io.render_timeout_s`` per step and stopped at once when the request is given up. The
result is the anonymized file's bytes (the input's format; PDFs image-only, as the
command line writes them) and the document's audit record
(:meth:`~anonymizer.pipeline.document.DocumentAnonymizer.audit`), which holds no original value.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anonymizer.core.documents import EXTENSION_FORMATS, iter_pages
from anonymizer.core.image_io import ImageLoadError
from anonymizer.core.outputs import PageWriter
from anonymizer.core.pdf_pages import PdfPages
from anonymizer.pipeline.document import DocumentAnonymizer
from anonymizer.pipeline.ocr import OcrTimeout
from anonymizer.serving.errors import ApiError
from anonymizer.serving.limits import EXTENSIONS, MEDIA_TYPES, check_upload, load_error


@dataclass(frozen=True)
class Anonymized:
    """The anonymized document and its audit."""

    data: bytes
    format: str
    filename: str
    audit: dict[str, Any]

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


def output_name(filename: str | None, fmt: str) -> str:
    """The client's name when its extension fits ``fmt``, else its stem (or ``document``)
    with the format's extension (``scan.jpeg`` stays, ``blob`` → ``blob.pdf``)."""
    stem = filename or "document"
    suffix = Path(stem).suffix.lower()
    if EXTENSION_FORMATS.get(suffix) == fmt:
        return stem
    if suffix in EXTENSION_FORMATS:  # the client's extension names another format
        stem = stem[: -len(suffix)]
    return (stem or "document") + EXTENSIONS[fmt]


class DocumentService:
    """Anonymizes uploaded files with a shared pipeline.

    Args:
        pipeline: the pipeline, safe to call from several threads (built with
            :data:`~anonymizer.serving.threadsafe.THREAD_SAFE`).
        dpi, jpeg_quality: PDF resolution, JPEG output quality.
        max_pages, max_pixels, max_document_pixels: limits per upload.
        render_timeout_s: seconds per PDF step (opening, page sizes, one page; None: no limit).
    """

    def __init__(
        self,
        pipeline: DocumentAnonymizer,
        dpi: float = 200,
        jpeg_quality: int = 95,
        max_pages: int = 20,
        max_pixels: int = 50_000_000,
        max_document_pixels: int = 200_000_000,
        render_timeout_s: float | None = 20.0,
    ) -> None:
        self.pipeline = pipeline
        self.dpi = float(dpi)
        self.jpeg_quality = int(jpeg_quality)
        self.max_pages = int(max_pages)
        self.max_pixels = int(max_pixels)
        self.max_document_pixels = int(max_document_pixels)
        self.render_timeout_s = render_timeout_s

    def __call__(self, path: Path, filename: str | None, should_stop: Callable[[], bool] | None = None) -> Anonymized:
        """Anonymize the uploaded file at ``path`` (renamed to its format's extension).

        Raises:
            ApiError: the upload is rejected (400, 413, 415, 422; 422 also for a PDF step over
                ``render_timeout_s`` and a page whose OCR took longer than ``ocr.timeout``).
            anonymizer.core.pdf_pages.Cancelled: ``should_stop()`` became true (between pages, or
                while a PDF page was rendering: its process is killed).
        """
        started = time.perf_counter()
        info = check_upload(path, self.max_pages, self.max_pixels, self.max_document_pixels, self.dpi,
                            lambda p: PdfPages(p, self.render_timeout_s, should_stop))
        audits: list[dict[str, Any]] = []
        try:
            if info.pdf is not None:
                pdf = info.pdf
                pages = ((i, pdf.render(i, self.dpi, self.max_pixels)) for i in range(len(pdf)))
            else:
                pages = iter_pages(info.path, dpi=self.dpi, max_pixels=self.max_pixels, max_pages=self.max_pages)
            buffer = io.BytesIO()
            writer = PageWriter(buffer, info.format, dpi=self.dpi, jpeg_quality=self.jpeg_quality)
            for image in self.pipeline.anonymize_pages(pages, should_stop, audits):
                writer.add(image)
            writer.finish()
        except ImageLoadError as err:
            raise load_error(err, info.format) from None
        except OcrTimeout as err:
            raise ApiError(422, f"the upload ({info.format}): page {len(audits)} cannot be read: {err}") from None
        finally:
            if info.pdf is not None:
                info.pdf.close()
        name = output_name(filename, info.format)
        audit = self.pipeline.audit(
            input_name=filename or "upload", output_name=name, status="ok", reason=None, pages_audit=audits,
            seconds=time.perf_counter() - started,
        )
        return Anonymized(buffer.getvalue(), info.format, name, audit)
