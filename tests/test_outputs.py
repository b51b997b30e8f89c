"""The document writers: pages written as they come, the pixels given are the pixels
written (PDF included), the real resolution declared, usual file modes, nothing left behind."""

from __future__ import annotations

import io
import os
import stat

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from anonymizer.core.outputs import FORMATS, encode_document, write_document


def noisy(width: int, height: int, seed: int, dpi: float | None = None) -> Image.Image:
    """Random pixels: any lossy step changes some of them."""
    image = Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))
    if dpi is not None:
        image.info["dpi"] = (dpi, dpi)
    return image


def test_pdf_pages_hold_exactly_the_pixels_given(tmp_path) -> None:
    """The raster verification read is the raster a PDF reader gets (it was JPEG at quality 75)."""
    pages = [noisy(200, 120, 0, dpi=200.0), noisy(150, 90, 1, dpi=100.0)]
    write_document(tmp_path / "doc.pdf", pages, "PDF")
    reader = PdfReader(tmp_path / "doc.pdf")
    assert len(reader.pages) == 2
    for page, original, (w_pt, h_pt) in zip(reader.pages, pages, [(72.0, 43.2), (108.0, 64.8)]):
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx((w_pt, h_pt))
        (embedded,) = page.images
        assert np.array_equal(np.asarray(embedded.image.convert("RGB")), np.asarray(original))
        assert "/Font" not in str(page.get("/Resources"))  # image-only: no text layer
    assert reader.metadata is None or not dict(reader.metadata)


def test_pdf_is_rendered_by_pdfium_at_its_size(tmp_path) -> None:
    import pypdfium2 as pdfium

    write_document(tmp_path / "doc.pdf", [noisy(300, 150, 2, dpi=150.0)], "PDF")
    pdf = pdfium.PdfDocument(str(tmp_path / "doc.pdf"))
    try:
        assert pdf[0].get_size() == pytest.approx((144.0, 72.0))
        assert pdf[0].render(scale=1).to_pil().size == (144, 72)
    finally:
        pdf.close()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_raster_outputs_declare_the_pages_resolution(tmp_path, fmt: str) -> None:
    path = tmp_path / f"out.{fmt.lower()}"
    write_document(path, [noisy(64, 48, 3, dpi=300.0)], fmt)
    with Image.open(path) as image:
        assert image.info["dpi"] == pytest.approx((300.0, 300.0), abs=0.01)  # PNG stores dots per metre


def test_multipage_tiff_keeps_each_frames_resolution_and_pixels(tmp_path) -> None:
    pages = [noisy(64, 48, 4, dpi=300.0), noisy(40, 30, 5, dpi=150.0)]
    write_document(tmp_path / "out.tif", iter(pages), "TIFF")
    with Image.open(tmp_path / "out.tif") as tif:
        assert tif.n_frames == 2
        for index, page in enumerate(pages):
            tif.seek(index)
            assert tif.info["dpi"] == pytest.approx(page.info["dpi"])
            assert np.array_equal(np.asarray(tif.convert("RGB")), np.asarray(page))


def test_pages_are_written_as_they_come(tmp_path) -> None:
    """The writer keeps no page: each can be freed once written (memory flat in page count)."""
    import gc
    import weakref

    alive = []

    def pages():
        for seed in range(5):
            page = noisy(80, 60, seed, dpi=100.0)
            alive.append(weakref.ref(page))
            yield page
            del page
            gc.collect()
            assert sum(ref() is not None for ref in alive) <= 1

    for fmt in ("TIFF", "PDF"):
        alive.clear()
        write_document(tmp_path / f"doc.{fmt.lower()}", pages(), fmt)
    assert len(PdfReader(tmp_path / "doc.pdf").pages) == 5


def test_outputs_get_the_usual_file_mode(tmp_path) -> None:
    from anonymizer.core.outputs import file_mode

    old = os.umask(0o027)
    try:
        write_document(tmp_path / "a.png", [noisy(8, 8, 6)], "PNG")
        assert file_mode() == 0o640
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.png").stat().st_mode) == 0o640  # not mkstemp's 0o600
    write_document(tmp_path / "b.png", [noisy(8, 8, 6)], "PNG")
    assert stat.S_IMODE((tmp_path / "b.png").stat().st_mode) == 0o666 & ~old


def test_a_failure_while_writing_leaves_nothing(tmp_path) -> None:
    from anonymizer.core.outputs import document_writer

    def pages():
        yield noisy(32, 32, 7, dpi=100.0)
        raise RuntimeError("page 2 failed")

    with pytest.raises(RuntimeError, match="page 2 failed"):
        write_document(tmp_path / "doc.pdf", pages(), "PDF")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="no pages"), document_writer(tmp_path / "empty.tif", "TIFF"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_existing_outputs_are_kept_and_format_rules_hold(tmp_path) -> None:
    (tmp_path / "a.png").write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        write_document(tmp_path / "a.png", [noisy(8, 8, 8)], "PNG")
    assert (tmp_path / "a.png").read_bytes() == b"keep"
    with pytest.raises(ValueError, match="one page"):
        encode_document([noisy(8, 8, 8), noisy(8, 8, 9)], "PNG")
    with pytest.raises(ValueError, match="cannot write format"):
        encode_document([noisy(8, 8, 8)], "GIF")
    with pytest.raises(ValueError, match="jpeg_quality"):
        encode_document([noisy(8, 8, 8)], "JPEG", jpeg_quality=0)
    for fmt in FORMATS:  # the in-memory encoding is a readable file of the format
        data = encode_document([noisy(16, 12, 10, dpi=100.0)], fmt)
        if fmt == "PDF":
            assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
        else:
            with Image.open(io.BytesIO(data)) as image:
                assert image.format == fmt and image.size == (16, 12)
