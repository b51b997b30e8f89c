"""PDFs opened and rendered in a child process: a time budget per step, stopping on request,
crash isolation, and the same pages and errors as rendering in-process."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anonymizer.core.documents import iter_pages
from anonymizer.core.image_io import ImageLoadError
from anonymizer.core.pdf_pages import Cancelled, PdfPages
from tests.crafted_files import heavy_pdf

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def two_pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "two.pdf"
    first = Image.new("RGB", (144, 72), (200, 30, 30))
    first.paste((0, 0, 255), (20, 10, 60, 40))
    first.save(path, save_all=True, append_images=[Image.new("RGB", (72, 144), (30, 200, 30))], resolution=72.0)
    return path


@pytest.fixture(scope="module")
def heavy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "heavy.pdf"
    path.write_bytes(heavy_pdf())
    return path


def test_pages_match_in_process_rendering(two_pages: Path) -> None:
    inside = list(iter_pages(two_pages, dpi=100))
    isolated = list(iter_pages(two_pages, dpi=100, isolate=True, render_timeout_s=30))
    assert [i for i, _ in isolated] == [0, 1]
    for (_, a), (_, b) in zip(inside, isolated):
        assert b.size == a.size and b.info["dpi"] == a.info["dpi"] == (100.0, 100.0)
        assert np.array_equal(np.asarray(a), np.asarray(b))
    with PdfPages(two_pages, 30) as pdf:
        assert len(pdf) == 2 and pdf.sizes(100) == [a.size for _, a in inside]


def test_a_page_over_the_budget_fails_alone_and_its_process_is_killed(heavy: Path, two_pages: Path) -> None:
    started = time.monotonic()
    pdf = PdfPages(heavy, 1.0)
    child = pdf._proc
    with pytest.raises(ImageLoadError, match=r"rendering page 0 took longer than 1 s \(io.render_timeout_s\)"):
        pdf.render(0, 200, None)
    assert time.monotonic() - started < 30  # rendering it takes minutes
    assert child.poll() is not None  # killed, not left running
    with pytest.raises(ImageLoadError, match="stopped earlier"):
        pdf.render(0, 200, None)
    assert len(list(iter_pages(two_pages, dpi=72, isolate=True, render_timeout_s=30))) == 2  # the next one is fine


def test_stopping_kills_the_rendering_at_once(heavy: Path) -> None:
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    with pytest.raises(Cancelled, match="rendering page 0"):
        list(iter_pages(heavy, dpi=200, isolate=True, render_timeout_s=None, should_stop=stop.is_set))
    assert time.monotonic() - started < 10


def test_a_crashed_child_fails_its_document_with_a_reason(two_pages: Path) -> None:
    with PdfPages(two_pages, 30) as pdf:
        pdf._proc.kill()  # what a PDFium crash looks like from here
        pdf._proc.wait()
        with pytest.raises(ImageLoadError, match="PDFium stopped unexpectedly"):
            pdf.render(0, 72, None)


def test_errors_are_those_of_in_process_loading(two_pages: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.4\nnot a pdf at all\n%%EOF\n")
    with pytest.raises(ImageLoadError) as inside:
        list(iter_pages(corrupt))
    with pytest.raises(ImageLoadError) as isolated:
        list(iter_pages(corrupt, isolate=True, render_timeout_s=30))
    assert str(isolated.value) == str(inside.value) and "corrupt PDF" in str(inside.value)
    with pytest.raises(ImageLoadError, match="more than the limit of 1"):
        list(iter_pages(two_pages, max_pages=1, isolate=True, render_timeout_s=30))
    with PdfPages(two_pages, 30) as pdf, pytest.raises(ImageLoadError, match="exceeds the limit of 100"):
        pdf.render(0, 100, 100)


def test_pdfs_render_in_parallel_without_a_shared_lock(heavy: Path, two_pages: Path) -> None:
    """A slow PDF in one thread does not hold up another thread's PDF."""
    stop = threading.Event()
    outcome: list[BaseException] = []

    def render_slowly() -> None:
        try:
            list(iter_pages(heavy, isolate=True, should_stop=stop.is_set))
        except BaseException as err:  # noqa: BLE001 - checked below
            outcome.append(err)

    slow = threading.Thread(target=render_slowly)
    slow.start()
    try:
        time.sleep(0.5)
        started = time.monotonic()
        assert len(list(iter_pages(two_pages, dpi=72, isolate=True, render_timeout_s=30))) == 2
        assert time.monotonic() - started < 10
        assert slow.is_alive()  # still rendering the heavy page meanwhile
    finally:
        stop.set()
        slow.join()
    assert len(outcome) == 1 and isinstance(outcome[0], Cancelled)
