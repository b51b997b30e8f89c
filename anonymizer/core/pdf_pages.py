"""PDF pages rendered by PDFium in a child process, each step under a time budget.

PDFium cannot be interrupted in-process: one page whose drawing commands expand to
megabytes renders for minutes. :class:`PdfPages` opens a PDF in a child process and asks
it for the page count, the page sizes and one rendered page at a time; every answer must
come within ``timeout_s`` seconds, else the child is killed and the call raises
:class:`~anonymizer.core.image_io.ImageLoadError` naming the step and the budget (the
caller goes on with its next document). ``should_stop()`` is polled while waiting: when it
turns true the child is killed at once and :class:`Cancelled` is raised. A child that dies
(a PDFium crash, memory exhausted) fails its document with that reason and nothing else.

Each document has its own child (``python -c`` importing this module: about 0.2 s to
start; nothing of the parent's state, threads or main module is inherited): no PDFium
state is shared, so threads need no lock around it and PDFs render in parallel. The
checks and error messages are those of :mod:`anonymizer.core.documents` (the child runs
its functions); the child's output is discarded, and it ends when its parent does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from PIL import Image

import anonymizer
from anonymizer.core.image_io import ImageLoadError

POLL_S = 0.05  # how often a waiting call looks at should_stop()
KEY = "io.render_timeout_s"
_PACKAGE_ROOT = str(Path(anonymizer.__file__).resolve().parent.parent)


class Cancelled(RuntimeError):
    """Processing was stopped because the caller asked it to (between pages, or by killing
    the PDF child process)."""


def child_main(read_fd: str, write_fd: str, path: str) -> None:
    """The child process: open ``path``, answer requests on the pipe ``read_fd`` (answers on
    ``write_fd``) until the parent closes it."""
    from anonymizer.core import documents

    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    requests, conn = Connection(int(read_fd), writable=False), Connection(int(write_fd), readable=False)
    pdf = None
    try:
        try:
            pdf = documents._open_pdf(Path(path))
        except ImageLoadError as err:
            conn.send(("error", err.reason))
            return
        conn.send(("ok", len(pdf)))
        while True:
            try:
                request = requests.recv()
            except EOFError:
                return
            try:
                conn.send(("ok", _answer(documents, Path(path), pdf, request)))
            except ImageLoadError as err:
                conn.send(("error", err.reason))
    finally:
        if pdf is not None:
            pdf.close()
        requests.close()
        conn.close()


def _exit_with_parent(parent: int) -> None:
    """End the child when its parent is gone, even in the middle of a render (PDFium runs
    without the GIL)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _answer(documents: Any, path: Path, pdf: Any, request: tuple) -> Any:
    kind, *args = request
    if kind == "sizes":
        (dpi,) = args
        sizes = []
        for index in range(len(pdf)):
            page = documents._get_pdf_page(path, pdf, index)
            try:
                sizes.append(documents._pdf_pixel_size(page, dpi / 72.0))
            finally:
                page.close()
        return sizes
    index, dpi, max_pixels = args
    image = documents._render_pdf_page(path, pdf, index, dpi, max_pixels)
    return image.size, image.tobytes()


class PdfPages:
    """One PDF opened in a child process (see the module docstring).

    Args:
        path: the PDF (its type already checked).
        timeout_s: seconds allowed for opening it and counting its pages, for reading all
            page sizes, and for rendering one page (None: no limit; the child can still be
            stopped through ``should_stop``).
        should_stop: polled while waiting; true kills the child and raises :class:`Cancelled`.

    Raises:
        ImageLoadError: the PDF cannot be opened (encrypted, corrupt, no pages, truncated),
            or opening it took longer than ``timeout_s``.
    """

    def __init__(
        self, path: str | Path, timeout_s: float | None, should_stop: Callable[[], bool] | None = None
    ) -> None:
        self.path = Path(path)
        self.timeout_s = None if timeout_s is None else float(timeout_s)
        self.should_stop = should_stop
        child_reads, to_child = os.pipe()
        from_child, child_writes = os.pipe()
        code = "import sys; from anonymizer.core.pdf_pages import child_main; child_main(*sys.argv[1:])"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (_PACKAGE_ROOT, os.environ.get("PYTHONPATH"))))}
        try:
            self._proc: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-P", "-c", code, str(child_reads), str(child_writes), str(self.path)],
                pass_fds=(child_reads, child_writes), env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        finally:
            os.close(child_reads)
            os.close(child_writes)
        self._requests = Connection(to_child, readable=False)
        self._conn = Connection(from_child, writable=False)
        try:
            self.pages: int = self._wait("opening the PDF")
        except BaseException:
            self.close()
            raise

    def __len__(self) -> int:
        return self.pages

    def __enter__(self) -> PdfPages:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sizes(self, dpi: float) -> list[tuple[int, int]]:
        """``(width, height)`` in pixels of every page rendered at ``dpi``."""
        return [tuple(s) for s in self._call(("sizes", float(dpi)), "reading the page sizes")]

    def render(self, index: int, dpi: float, max_pixels: int | None) -> Image.Image:
        """Page ``index`` rendered at ``dpi`` over white, as RGB with ``info["dpi"]`` set."""
        size, data = self._call(("render", int(index), float(dpi), max_pixels), f"rendering page {index}")
        image = Image.frombytes("RGB", size, data)
        image.info["dpi"] = (float(dpi), float(dpi))
        return image

    def close(self) -> None:
        """Stop the child (idempotent)."""
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        self._requests.close()
        self._conn.close()
        try:
            proc.wait(timeout=1.0)  # it exits by itself when its pipe closes
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
        self.close()

    def _call(self, request: tuple, what: str) -> Any:
        if self._proc is None:
            raise ImageLoadError(self.path, f"{what}: the PDF process was stopped earlier")
        try:
            self._requests.send(request)
        except OSError:
            return self._died(what)
        return self._wait(what)

    def _wait(self, what: str) -> Any:
        deadline = time.monotonic() + (self.timeout_s if self.timeout_s is not None else float("inf"))
        while not self._conn.poll(max(0.0, min(POLL_S, deadline - time.monotonic()))):
            if self.should_stop is not None and self.should_stop():
                self._kill()
                raise Cancelled(f"stopped while {what}")
            if time.monotonic() >= deadline:
                self._kill()
                raise ImageLoadError(
                    self.path, f"{what} took longer than {self.timeout_s:g} s ({KEY}): the PDF is too complex"
                )
        try:
            status, payload = self._conn.recv()
        except (EOFError, OSError):
            return self._died(what)
        if status == "error":
            raise ImageLoadError(self.path, payload)
        return payload

    def _died(self, what: str) -> Any:
        proc = self._proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                pass
        self._kill()
        raise ImageLoadError(self.path, f"{what}: PDFium stopped unexpectedly (exit code {code})")
