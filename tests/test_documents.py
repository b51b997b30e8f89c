"""Tests for anonymizer.core.documents: the safe document-page I/O layer.

Spec: EXIF orientation; modes L, LA, P, RGBA, CMYK, I;16 converted correctly; multi-page
TIFF; PDF pages rendered with pypdfium2 at a configured DPI; Pillow's decompression-bomb
guard with a configurable pixel limit; truncated or corrupt files, empty files, wrong
extensions, encrypted PDFs get a clear error naming the file and the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfWriter

from anonymizer.core import documents
from anonymizer.core.documents import (
    DOCUMENT_EXTENSIONS,
    MAX_DPI,
    check_document,
    count_pages,
    iter_pages,
    load_page,
    page_size,
    sniff_format,
)
from anonymizer.core.image_io import ImageLoadError

WHITE, BLACK = (255, 255, 255), (0, 0, 0)

# --- helpers -----------------------------------------------------------------------


@dataclass
class PdfPage:
    """One vector PDF page: a background colour and black rectangles.

    Rectangles are ``(x, y, width, height)`` in points from the page's top-left corner.
    """

    width: float = 200
    height: float = 100
    rects: tuple[tuple[float, float, float, float], ...] = ()
    colour: tuple[int, int, int] = WHITE


def _content(page: PdfPage) -> bytes:
    r, g, b = (c / 255 for c in page.colour)
    ops = [f"{r:g} {g:g} {b:g} rg 0 0 {page.width:g} {page.height:g} re f", "0 0 0 rg"]
    for x, y, w, h in page.rects:
        ops.append(f"{x:g} {page.height - y - h:g} {w:g} {h:g} re f")
    return ("\n".join(ops) + "\n").encode()


def pdf_bytes(pages: list[PdfPage]) -> bytes:
    """A minimal, valid, uncompressed PDF with exact vector content (exact pixel values)."""
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode()]
    for i, page in enumerate(pages):
        box = f"[0 0 {page.width:g} {page.height:g}]"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox {box} /Contents {4 + 2 * i} 0 R >>".encode())
        content = _content(page)
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def write_pdf(path: Path, pages: list[PdfPage]) -> Path:
    path.write_bytes(pdf_bytes(pages))
    return path


def write_tiff(path: Path, frames: list[Image.Image]) -> Path:
    frames[0].save(path, save_all=True, append_images=frames[1:])
    return path


def encrypt(src: Path, dst: Path, user_password: str, owner_password: str | None = None) -> Path:
    writer = PdfWriter(clone_from=src)
    writer.encrypt(user_password, owner_password, algorithm="RC4-128")
    writer.write(dst)
    return dst


def ink_box(img: Image.Image) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` (exclusive) of the dark pixels."""
    ys, xs = np.nonzero(np.asarray(img.convert("L")) < 128)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def expect_error(call: Callable[[], object], path: Path, pattern: str) -> ImageLoadError:
    """``call()`` raises ImageLoadError for ``path`` whose reason matches ``pattern``."""
    with pytest.raises(ImageLoadError) as info:
        call()
    err = info.value
    assert err.path == path
    assert str(err) == f"{path}: {err.reason}"
    assert re.search(pattern, err.reason), err.reason
    return err


@pytest.fixture
def rect_pdf(tmp_path: Path) -> Path:
    """200×100 pt page with a black 40×10 pt rectangle at (20, 30) pt from the top-left."""
    return write_pdf(tmp_path / "rect.pdf", [PdfPage(rects=((20, 30, 40, 10),))])


@pytest.fixture
def three_page_tiff(tmp_path: Path) -> Path:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [Image.new("RGB", (30 + 10 * k, 20 + 5 * k), c) for k, c in enumerate(colours)]
    return write_tiff(tmp_path / "three.tif", frames)


@pytest.fixture
def two_page_pdf(tmp_path: Path) -> Path:
    return write_pdf(tmp_path / "two.pdf", [PdfPage(colour=(255, 0, 0)), PdfPage(50, 80, colour=(0, 0, 255))])


# --- PDF rendering at a DPI --------------------------------------------------------


@pytest.mark.parametrize("dpi", [72, 144, 36])
def test_pdf_rectangle_lands_at_scaled_place(rect_pdf: Path, dpi: int) -> None:
    scale = dpi / 72
    img = load_page(rect_pdf, 0, dpi=dpi)
    assert img.mode == "RGB"
    assert img.size == (200 * scale, 100 * scale) == page_size(rect_pdf, 0, dpi=dpi)
    assert ink_box(img) == (20 * scale, 30 * scale, 60 * scale, 40 * scale)
    px = np.asarray(img)
    assert (px[int(35 * scale), int(40 * scale)] == BLACK).all()  # inside the rectangle
    assert (px[int(20 * scale), int(40 * scale)] == WHITE).all()  # above it
    assert (px[int(35 * scale), int(100 * scale)] == WHITE).all()  # right of it


def test_pdf_default_dpi_is_200(rect_pdf: Path) -> None:
    assert documents.DEFAULT_DPI == 200
    assert load_page(rect_pdf).size == (math.ceil(200 * 200 / 72), math.ceil(100 * 200 / 72)) == (556, 278)


@pytest.mark.parametrize("dpi", [72, 150, 333.3])
def test_pdf_fractional_page_size_agrees_with_render(tmp_path: Path, dpi: float) -> None:
    # 100.3 pt at 72 dpi: pypdfium2 renders ceil(100.3) = 101 pixels; page_size must agree.
    path = write_pdf(tmp_path / "odd.pdf", [PdfPage(100.3, 50.6)])
    expected = (math.ceil(100.3 * dpi / 72), math.ceil(50.6 * dpi / 72))
    assert page_size(path, 0, dpi=dpi) == expected
    assert load_page(path, 0, dpi=dpi).size == expected


def test_pdf_pages_in_order_with_their_colours_and_sizes(two_page_pdf: Path) -> None:
    assert count_pages(two_page_pdf) == 2
    pages = list(iter_pages(two_page_pdf, dpi=72))
    assert [index for index, _ in pages] == [0, 1]
    assert [img.size for _, img in pages] == [(200, 100), (50, 80)]
    assert set(pages[0][1].getdata()) == {(255, 0, 0)}
    assert set(pages[1][1].getdata()) == {(0, 0, 255)}
    assert np.array_equal(np.asarray(load_page(two_page_pdf, 1, dpi=72)), np.asarray(pages[1][1]))
    assert page_size(two_page_pdf, 1, dpi=144) == (100, 160)


def test_pdf_rotate_entry_swaps_sides(two_page_pdf: Path, tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=two_page_pdf)
    writer.pages[0].rotate(90)
    path = tmp_path / "rotated.pdf"
    writer.write(path)
    assert page_size(path, 0, dpi=72) == (100, 200) == load_page(path, 0, dpi=72).size
    assert load_page(path, 1, dpi=72).size == (50, 80)


def test_pdf_written_by_pillow(tmp_path: Path) -> None:
    # Pillow embeds each page as a JPEG image: 200×100 px at 100 dpi = 144×72 pt.
    path = tmp_path / "scan.pdf"
    Image.new("RGB", (200, 100), (200, 30, 30)).save(
        path, save_all=True, append_images=[Image.new("RGB", (100, 200), (30, 30, 200))], resolution=100
    )
    assert count_pages(path) == 2
    first, second = load_page(path, 0, dpi=100), load_page(path, 1, dpi=100)
    assert first.size == (200, 100) and second.size == (100, 200)
    assert np.abs(np.asarray(first)[50, 100].astype(int) - (200, 30, 30)).max() <= 3
    assert np.abs(np.asarray(second)[100, 50].astype(int) - (30, 30, 200)).max() <= 3


def test_pdf_with_only_an_owner_password_opens(rect_pdf: Path, tmp_path: Path) -> None:
    path = encrypt(rect_pdf, tmp_path / "owner.pdf", user_password="", owner_password="secret")
    assert b"/Encrypt" in path.read_bytes()
    assert count_pages(path) == 1
    assert ink_box(load_page(path, 0, dpi=72)) == (20, 30, 60, 40)


def test_max_dpi_is_accepted(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "small.pdf", [PdfPage(9, 18, rects=((0, 0, 3, 3),))])
    img = load_page(path, 0, dpi=MAX_DPI)
    assert img.size == (150, 300)
    assert np.abs(np.subtract(ink_box(img), (0, 0, 50, 50))).max() <= 1  # 3 pt at 1200/72 px per pt


# --- raster pages ------------------------------------------------------------------


def test_multipage_tiff_frames(three_page_tiff: Path) -> None:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    assert count_pages(three_page_tiff) == 3
    for k, colour in enumerate(colours):
        img = load_page(three_page_tiff, k)
        assert img.size == (30 + 10 * k, 20 + 5 * k) == page_size(three_page_tiff, k)
        assert set(img.getdata()) == {colour}
    pages = list(iter_pages(three_page_tiff))
    assert [(i, img.getpixel((0, 0))) for i, img in pages] == list(enumerate(colours))


def test_raster_ignores_dpi(three_page_tiff: Path) -> None:
    assert load_page(three_page_tiff, 1, dpi=72).size == load_page(three_page_tiff, 1, dpi=600).size == (40, 25)
    assert page_size(three_page_tiff, 1, dpi=600) == (40, 25)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_animated_png_and_mpo_jpeg_are_one_page(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"multi{suffix}"
    fmt = {"format": "MPO"} if suffix == ".jpg" else {}
    Image.new("RGB", (16, 16), (250, 0, 0)).save(
        path, save_all=True, append_images=[Image.new("RGB", (16, 16), (0, 0, 250))], **fmt
    )
    assert Image.open(path).n_frames == 2  # Pillow sees two frames
    assert count_pages(path) == 1
    assert [i for i, _ in iter_pages(path)] == [0]
    assert load_page(path).getpixel((8, 8))[0] > 240
    expect_error(lambda: load_page(path, 1), path, r"^page 1 out of range: the file has 1 page\(s\)$")


# EXIF orientation: a black 10×10 square stored at the top-left of a 40×20 image.
_ORIENTED = {
    1: ((40, 20), (0, 0)),
    3: ((40, 20), (30, 10)),  # rotated 180°: bottom-right
    6: ((20, 40), (10, 0)),  # rotated 90° clockwise: top-right
    8: ((20, 40), (0, 30)),  # rotated 90° counter-clockwise: bottom-left
}


@pytest.mark.parametrize("suffix", [".jpg", ".tif", ".png"])
@pytest.mark.parametrize("orientation", sorted(_ORIENTED))
def test_exif_orientation(tmp_path: Path, suffix: str, orientation: int) -> None:
    img = Image.new("RGB", (40, 20), WHITE)
    img.paste(BLACK, (0, 0, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}{suffix}"
    img.save(path, exif=exif, **({"quality": 95} if suffix == ".jpg" else {}))
    size, (left, top) = _ORIENTED[orientation]
    out = load_page(path)
    assert out.size == size == page_size(path)
    assert ink_box(out) == (left, top, left + 10, top + 10)


def _image(mode: str, size: tuple[int, int], values: list) -> Image.Image:
    img = Image.new(mode, size)
    for x, value in enumerate(values):
        img.putpixel((x, 0), value)
    return img


def _palette_image() -> Image.Image:
    img = _image("P", (2, 1), [0, 1])
    img.putpalette([10, 20, 30, 200, 100, 50])
    return img


_MODES = {
    # mode: (image, file suffix, expected RGB of each pixel of the first row)
    "L": (lambda: _image("L", (3, 1), [0, 77, 200]), ".png", [(0, 0, 0), (77, 77, 77), (200, 200, 200)]),
    "LA": (lambda: _image("LA", (2, 1), [(0, 0), (50, 255)]), ".png", [WHITE, (50, 50, 50)]),
    "P": (_palette_image, ".png", [(10, 20, 30), (200, 100, 50)]),
    "RGBA": (
        lambda: _image("RGBA", (3, 1), [(0, 0, 0, 0), (10, 20, 30, 255), (0, 0, 0, 128)]),
        ".png",
        [WHITE, (10, 20, 30), (127, 127, 127)],
    ),
    "CMYK": (
        lambda: _image("CMYK", (3, 1), [(0, 255, 255, 0), (0, 0, 0, 255), (0, 0, 0, 0)]),
        ".tif",
        [(255, 0, 0), (0, 0, 0), WHITE],
    ),
    "I;16": (lambda: _image("I;16", (4, 1), [0, 1000, 25800, 65535]), ".png", [(v, v, v) for v in (0, 4, 100, 255)]),
}


@pytest.mark.parametrize("mode", sorted(_MODES))
def test_modes_convert_to_rgb(tmp_path: Path, mode: str) -> None:
    make, suffix, expected = _MODES[mode]
    path = tmp_path / f"mode{suffix}"
    make().save(path)
    assert Image.open(path).mode == mode
    out = load_page(path, dpi=72)
    assert out.mode == "RGB"
    got = [out.getpixel((x, 0)) for x in range(len(expected))]
    for pixel, want in zip(got, expected):
        assert max(abs(a - b) for a, b in zip(pixel, want)) <= 1, (got, expected)  # RGBA blends ±1


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(path, quality=100)
    r, g, b = load_page(path).getpixel((4, 4))
    assert r >= 250 and g <= 5 and b <= 5


# --- pixel limits (decompression-bomb guard) ---------------------------------------


def test_max_pixels_raster_rejected_from_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    Image.new("L", (100, 100), 255).save(path)
    decoded = []
    original = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(1) or original(self))
    expect_error(
        lambda: load_page(path, max_pixels=9_999),
        path,
        r"^100×100 = 10000 pixels exceeds the limit of 9999 \(max_pixels\)$",
    )
    assert decoded == []
    monkeypatch.undo()
    assert load_page(path, max_pixels=10_000).size == (100, 100)


def test_max_pixels_pdf_at_high_dpi_rejected_before_rendering(rect_pdf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdfium2 as pdfium

    rendered = []
    original = pdfium.PdfPage.render
    monkeypatch.setattr(pdfium.PdfPage, "render", lambda self, **kw: rendered.append(1) or original(self, **kw))
    assert load_page(rect_pdf, dpi=300, max_pixels=1_000_000).size == (834, 417)  # 347 778 pixels
    assert rendered == [1]
    err = expect_error(
        lambda: load_page(rect_pdf, dpi=1200, max_pixels=1_000_000),
        rect_pdf,
        r"^page 0 at 1200 dpi: 3334×1667 = 5557778 pixels exceeds the limit of 1000000 \(max_pixels",
    )
    assert "lower the dpi" in err.reason
    expect_error(lambda: list(iter_pages(rect_pdf, dpi=1200, max_pixels=1_000_000)), rect_pdf, "exceeds the limit")
    assert rendered == [1]


def test_pillow_limit_applies_to_pdf_without_max_pixels(rect_pdf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5_000)
    expect_error(
        lambda: load_page(rect_pdf, dpi=72, max_pixels=None),
        rect_pdf,
        r"^page 0 at 72 dpi: decompression bomb: 200×100 = 20000 pixels exceeds Pillow's limit of 10000",
    )
    assert load_page(rect_pdf, dpi=36, max_pixels=None).size == (100, 50)


def test_pillow_limit_applies_to_later_tiff_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_tiff(tmp_path / "bomb.tif", [Image.new("L", (10, 10)), Image.new("L", (200, 100))])
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5_000)
    assert load_page(path, 0, max_pixels=None).size == (10, 10)
    expect_error(lambda: load_page(path, 1, max_pixels=None), path, r"^decompression bomb: 200×100 = 20000 pixels")


# --- bad inputs: clear errors naming the file and the reason -----------------------

_ALL_READERS = {
    "load_page": lambda p: load_page(p),
    "page_size": lambda p: page_size(p),
    "count_pages": lambda p: count_pages(p),
    "iter_pages": lambda p: list(iter_pages(p)),
}


@pytest.fixture(params=sorted(_ALL_READERS))
def reader(request: pytest.FixtureRequest) -> Callable[[Path], object]:
    return _ALL_READERS[request.param]


def test_missing_file(tmp_path: Path, reader) -> None:
    expect_error(lambda: reader(tmp_path / "nope.pdf"), tmp_path / "nope.pdf", "^file not found$")


def test_empty_file(tmp_path: Path, reader) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    expect_error(lambda: reader(path), path, r"^file is empty \(0 bytes\)$")


def test_directory(tmp_path: Path, reader) -> None:
    path = tmp_path / "folder.png"
    path.mkdir()
    expect_error(lambda: reader(path), path, "^not a regular file$")


@pytest.mark.parametrize(
    ("name", "shown"), [("anim.gif", "'.gif'"), ("notes.txt", "'.txt'"), ("README", "'(no extension)'")]
)
def test_unsupported_extension(tmp_path: Path, reader, name: str, shown: str) -> None:
    path = tmp_path / name
    if name.endswith(".gif"):
        Image.new("P", (4, 4)).save(path)
    else:
        path.write_text("plain text")
    err = expect_error(lambda: reader(path), path, f"^unsupported file type {re.escape(shown)}")
    assert all(ext in err.reason for ext in DOCUMENT_EXTENSIONS)


def test_pdf_bytes_named_png(rect_pdf: Path, tmp_path: Path, reader) -> None:
    path = tmp_path / "really_a_pdf.png"
    path.write_bytes(rect_pdf.read_bytes())
    expect_error(lambda: reader(path), path, r"^content is PDF but the extension '\.png' says PNG$")


def test_png_bytes_named_jpg(tmp_path: Path, reader) -> None:
    path = tmp_path / "really_a_png.JPG"
    Image.new("RGB", (8, 8)).save(path, format="PNG")
    expect_error(lambda: reader(path), path, r"^content is PNG but the extension '\.JPG' says JPEG$")


def test_random_bytes_named_png(tmp_path: Path, reader) -> None:
    path = tmp_path / "noise.png"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert sniff_format(path) is None
    expect_error(lambda: reader(path), path, r"^content is not a recognised image or PDF \(extension says PNG\)$")


def test_text_named_pdf_does_not_leak_content(tmp_path: Path, reader) -> None:
    path = tmp_path / "letter.pdf"
    path.write_text("%PDF-1.4\nSECRET account 12345\n" * 20)
    err = expect_error(lambda: reader(path), path, "^truncated PDF")
    assert "SECRET" not in str(err) and "12345" not in str(err)


def test_bmp_is_sniffed_but_text_starting_with_bm_is_not(tmp_path: Path) -> None:
    bmp = tmp_path / "a.png"
    Image.new("RGB", (4, 4)).save(bmp, format="BMP")
    text = tmp_path / "b.png"
    text.write_text("BMW service invoice, total 120 EUR")
    assert sniff_format(bmp) == "BMP"
    assert sniff_format(text) is None
    expect_error(lambda: check_document(bmp), bmp, r"^content is BMP but the extension '\.png' says PNG$")


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif"])
def test_truncated_raster(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(0)
    full = tmp_path / f"full{suffix}"
    Image.fromarray(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)).save(full)
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    expect_error(lambda: load_page(path), path, "truncated")


def test_truncated_pdf(two_page_pdf: Path, tmp_path: Path, reader) -> None:
    data = two_page_pdf.read_bytes()
    path = tmp_path / "cut.pdf"
    for keep in (len(data) // 2, len(data) - 8):  # mid-file; only the end marker lost
        path.write_bytes(data[:keep])
        expect_error(lambda: reader(path), path, r"^truncated PDF: no %%EOF end marker in its last 1024 bytes$")


def test_corrupt_pdf(tmp_path: Path, reader) -> None:
    path = tmp_path / "corrupt.pdf"
    path.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n")
    expect_error(lambda: reader(path), path, r"^corrupt PDF: PDFium cannot parse it \(Data format error\)$")


def test_pdf_with_a_broken_page_object(tmp_path: Path) -> None:
    path = tmp_path / "broken_page.pdf"
    path.write_bytes(pdf_bytes([PdfPage()]).replace(b"/Kids [3 0 R]", b"/Kids [9 0 R]"))
    assert count_pages(path) == 1
    for call in (lambda: load_page(path), lambda: page_size(path), lambda: list(iter_pages(path))):
        expect_error(call, path, r"^page 0: corrupt page \(PDFium cannot load it\)$")


def test_encrypted_pdf(two_page_pdf: Path, tmp_path: Path, reader) -> None:
    path = encrypt(two_page_pdf, tmp_path / "locked.pdf", user_password="secret")
    expect_error(lambda: reader(path), path, "^encrypted PDF: a password is required to open it$")


@pytest.mark.parametrize(("fixture", "n_pages"), [("three_page_tiff", 3), ("two_page_pdf", 2)])
def test_page_out_of_range(request: pytest.FixtureRequest, fixture: str, n_pages: int) -> None:
    path = request.getfixturevalue(fixture)
    load_page(path, n_pages - 1)  # the last page is fine
    pattern = rf"^page {n_pages} out of range: the file has {n_pages} page\(s\)$"
    expect_error(lambda: load_page(path, n_pages), path, pattern)
    expect_error(lambda: page_size(path, n_pages), path, pattern)


def test_page_out_of_range_single_page(rect_pdf: Path, tmp_path: Path) -> None:
    png = tmp_path / "one.png"
    Image.new("RGB", (8, 8)).save(png)
    for path in (png, rect_pdf):
        expect_error(lambda path=path: load_page(path, 1), path, r"^page 1 out of range: the file has 1 page\(s\)$")
        expect_error(lambda path=path: page_size(path, 1), path, r"^page 1 out of range")


@pytest.mark.parametrize("page", [-1, True, 1.0, "0"])
@pytest.mark.parametrize("fixture", ["three_page_tiff", "two_page_pdf", "rect_pdf"])
def test_invalid_page_index(request: pytest.FixtureRequest, fixture: str, page: object) -> None:
    path = request.getfixturevalue(fixture)
    pattern = rf"^page index must be an integer >= 0, got {re.escape(repr(page))}$"
    expect_error(lambda: load_page(path, page), path, pattern)
    expect_error(lambda: page_size(path, page), path, pattern)


def test_numpy_page_index_accepted(three_page_tiff: Path) -> None:
    assert load_page(three_page_tiff, np.int64(2)).getpixel((0, 0)) == (0, 0, 255)


@pytest.mark.parametrize("fixture", ["three_page_tiff", "two_page_pdf"])
def test_max_pages_exceeded(request: pytest.FixtureRequest, fixture: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = request.getfixturevalue(fixture)
    n_pages = count_pages(path)
    assert len(list(iter_pages(path, max_pages=n_pages))) == n_pages
    monkeypatch.setattr(documents, "load_image_rgb", lambda *a, **k: pytest.fail("decoded a raster page"))
    monkeypatch.setattr(documents, "_render_pdf_page", lambda *a, **k: pytest.fail("rendered a PDF page"))
    pattern = rf"^document has {n_pages} pages, more than the limit of {n_pages - 1} \(max_pages\)$"
    expect_error(lambda: next(iter_pages(path, max_pages=n_pages - 1)), path, pattern)


@pytest.mark.parametrize("max_pages", [0, -1, True, 2.5])
def test_invalid_max_pages(rect_pdf: Path, max_pages: object) -> None:
    with pytest.raises(ValueError, match="max_pages must be an integer >= 1 or None"):
        next(iter_pages(rect_pdf, max_pages=max_pages))


@pytest.mark.parametrize("dpi", [0, -72, MAX_DPI + 1, True, float("nan"), float("inf"), "72", None])
def test_invalid_dpi(rect_pdf: Path, three_page_tiff: Path, dpi: object) -> None:
    pattern = rf"^dpi must be a number in \(0, {MAX_DPI}\], got {re.escape(repr(dpi))}$"
    for path in (rect_pdf, three_page_tiff):  # checked for raster files too: a config error
        expect_error(lambda path=path: load_page(path, 0, dpi=dpi), path, pattern)
        expect_error(lambda path=path: page_size(path, 0, dpi=dpi), path, pattern)
        expect_error(lambda path=path: list(iter_pages(path, dpi=dpi)), path, pattern)
    with pytest.raises(ValueError, match="dpi must be a number"):
        documents.check_dpi(dpi)


def test_errors_are_picklable(tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "nope.pdf"
    with pytest.raises(ImageLoadError) as info:
        load_page(path)
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.path, copy.reason, str(copy)) == (path, "file not found", f"{path}: file not found")
