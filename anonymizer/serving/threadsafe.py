"""What the worker threads may share, and locks for what they may not.

Checked for the pipeline's parts (one :class:`~anonymizer.pipeline.document.DocumentAnonymizer`
built at startup with :data:`THREAD_SAFE`, shared by every worker):

* **Tesseract** in process (``ocr.engine=tesseract``): each worker thread loads its own
  ``tesserocr`` API on its first page (thread-local), so concurrent calls are safe (no API
  object is shared). Through the binary (``tesseract_cli``) it
  runs as a subprocess per call (pytesseract writes each image to its own temporary file):
  concurrent calls are safe too. Only a configured ``tesseract_cmd`` is switched through a
  module-level global per call; the server sets that global once instead
  (:func:`process_wide_tesseract_cmd`). RapidOCR also keeps one engine per thread.
* **PDFium** is not thread-safe, not even on different documents: the server never calls
  it. Each uploaded PDF is counted and rendered in its own child process
  (:class:`~anonymizer.core.pdf_pages.PdfPages`), so PDFs render in parallel and a PNG
  never waits on a PDF.
* **Renderers**: the classical renderer caches the measured context words of the page it
  saw last on the instance; the diffusion renderer holds a torch model and its sampler.
  Calls are serialized with a lock. The fallback redactor keeps no state.
* **Detector**: Presidio's analyzer and its spaCy pipeline are not documented as
  thread-safe; calls are serialized (a few milliseconds per page).
* Surrogates and value ids are per document (a new generator per request); the fonts
  cached with ``functools.lru_cache`` are Pillow FreeType objects whose calls hold the GIL.
* Raster loading silences Pillow's decompression-bomb warning with
  ``warnings.catch_warnings`` (not thread-safe: concurrent loads may leave that warning
  silenced for the process). Harmless here: every load has an explicit pixel limit.

So OCR (twice per page with verification: most of a page's time) runs in parallel and
detection and rendering take turns.
"""

from __future__ import annotations

import threading
from typing import Any, TypeVar

from anonymizer.pipeline.document import Wrappers

T = TypeVar("T")


class Serialized:
    """A proxy whose calls (of the object and of its methods) hold one lock."""

    def __init__(self, target: Any, lock: threading.Lock | threading.RLock | None = None) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_lock", lock or threading.RLock())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self._target(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value) or isinstance(value, type):
            return value
        lock = self._lock

        def locked(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return value(*args, **kwargs)

        return locked

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __repr__(self) -> str:
        return f"Serialized({self._target!r})"


def process_wide_tesseract_cmd(ocr: T) -> T:
    """``ocr``, as it is built, with a configured ``tesseract_cmd`` made pytesseract's
    process-wide setting, so that its calls no longer switch that global (not thread-safe).
    An engine without one is returned as it is."""
    cmd = getattr(ocr, "tesseract_cmd", None)
    if cmd:
        import pytesseract

        pytesseract.pytesseract.tesseract_cmd = cmd
        ocr.tesseract_cmd = None  # type: ignore[attr-defined]
    return ocr


#: The wrappers that make a pipeline safe to call from several threads at once
#: (``DocumentAnonymizer.from_config(cfg, wrappers=THREAD_SAFE)``): the renderer and the
#: detector take turns (:class:`Serialized`); OCR runs in parallel.
THREAD_SAFE = Wrappers(ocr=process_wide_tesseract_cmd, detector=Serialized, renderer=Serialized)

