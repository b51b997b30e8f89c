"""Tests for anonymizer.data.page_crops (folder scan and random ink-bearing crops).

Folders may hold PNG/JPEG/TIFF/PDF files; multi-page TIFFs and PDFs give one page
reference ``(path, page)`` per page.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from torch.utils.data import DataLoader

from anonymizer.core.documents import DEFAULT_DPI, DEFAULT_MAX_PAGES
from anonymizer.core.image_io import ImageLoadError
from anonymizer.core.records import TextCrop
from anonymizer.data.page_crops import PageCrops, as_page_ref, ink_level, scan_image_folder
from tests.test_documents import PdfPage, encrypt, write_pdf, write_tiff

CROP = 64
THRESHOLD = 0.02


def _text_page(path: Path, seed: int = 0) -> Path:
    """A 600×800 white page with text and rules only in its upper-left region."""
    page = Image.new("RGB", (600, 800), "white")
    draw = ImageDraw.Draw(page)
    rng = np.random.default_rng(seed)
    for row in range(12):
        y = 40 + row * 18
        words = " ".join("".join(rng.choice(list("abcdefghijklmnop"), 6)) for _ in range(4))
        for dx in (0, 1):  # bolder strokes
            draw.text((40 + dx, y), words, fill=(20, 20, 20))
    for y in range(60, 260, 25):
        draw.line((30, y, 260, y), fill=(0, 0, 0), width=2)
    page.save(path)
    return path


def _ink_fraction(crop: Image.Image, page: Path) -> float:
    grey_page = np.asarray(Image.open(page).convert("L"))
    grey = np.asarray(crop.convert("L"))
    return float(np.mean(grey < ink_level(grey_page)))


def _as_list(batch: list) -> list:
    return batch


@pytest.fixture
def page(tmp_path: Path) -> Path:
    return _text_page(tmp_path / "page.png")


# --- scan_image_folder -------------------------------------------------------------


def test_scan_folder_sorts_good_and_skips_bad(tmp_path: Path, caplog) -> None:
    root = tmp_path / "pages"
    (root / "sub").mkdir(parents=True)
    good = [
        _text_page(root / "b.png"),
        _text_page(root / "A.JPG"),
        _text_page(root / "sub" / "c.tiff"),
    ]
    corrupt = root / "corrupt.png"
    corrupt.write_text("this is not an image")
    truncated = root / "truncated.jpg"
    data = good[1].read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    small = root / "small.png"
    Image.new("RGB", (50, 300), "white").save(small)
    (root / "notes.txt").write_text("ignored")

    with caplog.at_level(logging.WARNING, logger="anonymizer.data.page_crops"):
        usable, skipped = scan_image_folder(root, min_size=CROP)

    assert usable == [(p, 0) for p in sorted(good)]
    assert {p for p, _ in skipped} == {corrupt, truncated, small}
    reasons = dict(skipped)
    assert "not a recognised image or PDF" in reasons[corrupt]
    assert "truncated" in reasons[truncated]
    assert reasons[small] == f"image is 50×300, smaller than the crop size {CROP}"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    for path, reason in skipped:
        assert any(str(path) in w and reason in w for w in warnings)
    assert not any("notes.txt" in w for w in warnings)


def test_scan_folder_not_recursive(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    top = _text_page(tmp_path / "top.png")
    _text_page(tmp_path / "sub" / "deep.png")
    assert scan_image_folder(tmp_path, min_size=CROP, recursive=False) == ([(top, 0)], [])


def test_scan_folder_max_pixels(tmp_path: Path) -> None:
    path = _text_page(tmp_path / "big.png")
    usable, skipped = scan_image_folder(tmp_path, min_size=CROP, max_pixels=1000)
    assert usable == [] and skipped[0][0] == path and "max_pixels" in skipped[0][1]


def _ruled_pdf_page(width: float = 300, height: float = 300) -> PdfPage:
    """A vector page with black rules in its upper-left region (ink for crops)."""
    return PdfPage(width, height, rects=tuple((20, 20 + 12 * k, 120, 3) for k in range(10)))


def test_scan_folder_with_pdfs_and_multipage_tiffs(tmp_path: Path, caplog) -> None:
    doc = write_pdf(tmp_path / "doc.pdf", [_ruled_pdf_page(), _ruled_pdf_page(40, 300), _ruled_pdf_page(200, 100)])
    scan = write_tiff(
        tmp_path / "scan.tif",
        [Image.new("L", (100, 100), 200), Image.new("L", (120, 90), 100), Image.new("L", (50, 50), 0)],
    )
    page = _text_page(tmp_path / "page.png")
    locked = encrypt(doc, tmp_path / "locked.pdf", user_password="secret")
    long = write_pdf(tmp_path / "long.pdf", [_ruled_pdf_page()] * 4)
    fake = tmp_path / "fake.pdf"
    Image.new("RGB", (100, 100)).save(fake, format="PNG")
    Image.new("P", (100, 100)).save(tmp_path / "ignored.gif")

    with caplog.at_level(logging.WARNING, logger="anonymizer.data.page_crops"):
        usable, skipped = scan_image_folder(tmp_path, min_size=CROP, dpi=72, max_pages=3)

    assert usable == [(doc, 0), (doc, 2), (page, 0), (scan, 0), (scan, 1)]
    assert skipped == [
        (doc, f"page 1: image is 40×300, smaller than the crop size {CROP}"),
        (fake, "content is PNG but the extension '.pdf' says PDF"),
        (locked, "encrypted PDF: a password is required to open it"),
        (long, "document has 4 pages, more than the limit of 3 (max_pages)"),
        (scan, f"page 2: image is 50×50, smaller than the crop size {CROP}"),
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"Skipping page image {p}: {reason}" for p, reason in skipped]


def test_scan_pdf_pages_are_sized_at_the_dpi(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "square.pdf", [_ruled_pdf_page(100, 100)])
    assert scan_image_folder(tmp_path, min_size=CROP, dpi=72) == ([(path, 0)], [])
    small = (path, f"image is 50×50, smaller than the crop size {CROP}")
    assert scan_image_folder(tmp_path, min_size=CROP, dpi=36) == ([], [small])
    usable, skipped = scan_image_folder(tmp_path, min_size=CROP, dpi=144, max_pixels=10_000)
    assert usable == [] and skipped[0][0] == path
    assert skipped[0][1].startswith("page 0 at 144 dpi: 200×200 = 40000 pixels exceeds the limit of 10000")


def test_scan_defaults(tmp_path: Path) -> None:
    import inspect

    defaults = inspect.signature(scan_image_folder).parameters
    assert defaults["dpi"].default == DEFAULT_DPI == 200
    assert defaults["max_pages"].default == DEFAULT_MAX_PAGES
    path = write_pdf(tmp_path / "a.pdf", [_ruled_pdf_page(72, 36)])  # 200×100 px at 200 dpi
    assert scan_image_folder(tmp_path, min_size=100) == ([(path, 0)], [])
    assert scan_image_folder(tmp_path, min_size=101)[1] == [(path, "image is 200×100, smaller than the crop size 101")]


@pytest.mark.parametrize("dpi", [0, -1, 5000, True])
def test_scan_invalid_dpi(tmp_path: Path, dpi: object) -> None:
    with pytest.raises(ValueError, match="dpi must be a number"):
        scan_image_folder(tmp_path, min_size=CROP, dpi=dpi)


@pytest.mark.parametrize("max_pages", [0, -3, True])
def test_scan_invalid_max_pages(tmp_path: Path, max_pages: object) -> None:
    with pytest.raises(ValueError, match="max_pages must be an integer >= 1 or None"):
        scan_image_folder(tmp_path, min_size=CROP, max_pages=max_pages)


def test_scan_without_page_limit(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "long.pdf", [_ruled_pdf_page(100, 100)] * 3)
    usable, skipped = scan_image_folder(tmp_path, min_size=CROP, dpi=72, max_pages=None)
    assert (usable, skipped) == ([(path, 0), (path, 1), (path, 2)], [])


def test_scan_missing_root(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        scan_image_folder(tmp_path / "missing", min_size=CROP)
    file = tmp_path / "file.png"
    file.write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        scan_image_folder(file, min_size=CROP)


# --- PageCrops ---------------------------------------------------------------------


def test_crop_size_mode_and_record(page: Path) -> None:
    ds = PageCrops([page], crop_size=CROP, length=5)
    assert len(ds) == 5
    item = ds[0]
    assert isinstance(item, TextCrop)
    assert item.image.mode == "RGB" and item.image.size == (CROP, CROP)
    assert item.text == "" and item.words == []
    with pytest.raises(IndexError):
        ds[5]


def test_deterministic_per_seed_and_index(tmp_path: Path) -> None:
    files = [_text_page(tmp_path / f"p{i}.png", seed=i) for i in range(3)]
    ds = PageCrops(files, crop_size=CROP, length=20, seed=7, cache_pages=1)
    forward = [np.asarray(ds[i].image) for i in range(20)]
    backward = [np.asarray(ds[i].image) for i in reversed(range(20))][::-1]
    fresh = PageCrops(files, crop_size=CROP, length=20, seed=7)
    clone = pickle.loads(pickle.dumps(ds))
    for i in range(20):
        assert np.array_equal(forward[i], backward[i])
        assert np.array_equal(forward[i], np.asarray(fresh[i].image))
        assert np.array_equal(forward[i], np.asarray(clone[i].image))
    other = PageCrops(files, crop_size=CROP, length=20, seed=8)
    assert any(not np.array_equal(forward[i], np.asarray(other[i].image)) for i in range(20))
    assert len({a.tobytes() for a in forward}) > 10  # items differ from each other


def test_cache_not_pickled_and_bounded(tmp_path: Path) -> None:
    files = [_text_page(tmp_path / f"p{i}.png", seed=i) for i in range(4)]
    ds = PageCrops(files, crop_size=CROP, length=30, cache_pages=2)
    for i in range(30):
        ds[i]
    assert 1 <= len(ds._cache) <= 2
    assert len(pickle.dumps(ds)) < 5_000  # no decoded pages inside
    assert len(pickle.loads(pickle.dumps(ds))._cache) == 0


def test_crops_contain_ink(page: Path) -> None:
    # The ink is confined to the top-left ~260×260 of a 600×800 page: uniform random
    # crops would mostly be blank paper.
    ds = PageCrops([page], crop_size=CROP, length=40, seed=3, ink_threshold=THRESHOLD)
    fractions = [_ink_fraction(ds[i].image, page) for i in range(len(ds))]
    inky = sum(f >= THRESHOLD for f in fractions)
    assert inky >= 32, fractions  # ~8 of 40 with a single try


def test_blank_page_falls_back(tmp_path: Path) -> None:
    path = tmp_path / "blank.png"
    Image.new("RGB", (100, 100), "white").save(path)
    ds = PageCrops([path], crop_size=CROP, length=2, max_tries=3)
    assert ds[1].image.size == (CROP, CROP)


def test_ink_level_rule() -> None:
    white = np.full((10, 10), 255, dtype=np.uint8)
    assert ink_level(white) == 191  # 255 - 0.25 * 255
    dark = np.full((10, 10), 100, dtype=np.uint8)
    assert ink_level(dark) == 68  # 100 - 32 (minimum margin)


def test_dataloader_with_workers(tmp_path: Path) -> None:
    files = [_text_page(tmp_path / "p0.png"), (write_pdf(tmp_path / "d.pdf", [PdfPage(), _ruled_pdf_page()]), 1)]
    ds = PageCrops(files, crop_size=CROP, length=8, seed=1, dpi=72)
    loader = DataLoader(ds, batch_size=4, num_workers=2, collate_fn=_as_list)
    items = [item for batch in loader for item in batch]
    assert len(items) == 8
    for i, item in enumerate(items):
        assert isinstance(item, TextCrop)
        assert np.array_equal(np.asarray(item.image), np.asarray(ds[i].image))


# --- PageCrops over page references ------------------------------------------------


def test_page_refs_select_the_page(tmp_path: Path) -> None:
    tiff = write_tiff(tmp_path / "t.tif", [Image.new("RGB", (100, 100), c) for c in ("red", "lime", "blue")])
    pdf = write_pdf(tmp_path / "d.pdf", [PdfPage(100, 100, colour=(255, 0, 0)), PdfPage(100, 100, colour=(0, 0, 255))])
    for ref, colour in [
        ((tiff, 1), (0, 255, 0)), ((tiff, 2), (0, 0, 255)), ((pdf, 1), (0, 0, 255)), (pdf, (255, 0, 0))
    ]:
        ds = PageCrops([ref], crop_size=CROP, length=3, dpi=72)
        assert all(set(ds[i].image.getdata()) == {colour} for i in range(3)), ref


def test_pdf_crops_rendered_at_the_dpi_and_contain_ink(tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "d.pdf", [_ruled_pdf_page()])  # 300 pt: 300 px at 72 dpi
    ds = PageCrops([(pdf, 0)], crop_size=CROP, length=20, seed=2, dpi=72)
    page = ds._page(0)
    assert page.grey.shape == (300, 300)
    inky = sum(np.mean(np.asarray(ds[i].image.convert("L")) < page.ink_below) >= THRESHOLD for i in range(20))
    assert inky >= 16
    assert PageCrops([(pdf, 0)], crop_size=CROP, length=1, dpi=144)._page(0).grey.shape == (600, 600)


def test_paths_and_page_zero_refs_give_the_same_crops(tmp_path: Path) -> None:
    files = [_text_page(tmp_path / f"p{i}.png", seed=i) for i in range(3)]
    by_path = PageCrops(files, crop_size=CROP, length=10, seed=4)
    by_ref = PageCrops([(str(f), 0) for f in files], crop_size=CROP, length=10, seed=4)
    assert by_path.files == by_ref.files == [(f, 0) for f in files]
    for i in range(10):
        assert np.array_equal(np.asarray(by_path[i].image), np.asarray(by_ref[i].image))


def test_as_page_ref() -> None:
    assert as_page_ref("a.pdf") == (Path("a.pdf"), 0)
    assert as_page_ref((Path("a.pdf"), np.int64(3))) == (Path("a.pdf"), 3)
    assert as_page_ref(["a.pdf", 2]) == (Path("a.pdf"), 2)  # e.g. from a YAML list
    for bad in [("a.pdf", -1), ("a.pdf", True), ("a.pdf", 1.0), ("a.pdf",), 42, ("a.pdf", 0, 1)]:
        with pytest.raises(ValueError, match="page index|path or a"):
            as_page_ref(bad)


def test_page_ref_errors_name_the_page(tmp_path: Path) -> None:
    tiff = write_tiff(tmp_path / "t.tif", [Image.new("L", (100, 100)), Image.new("L", (30, 100))])
    with pytest.raises(ImageLoadError, match=r"t\.tif: page 1: image is 30×100, smaller than the crop size 64$"):
        PageCrops([(tiff, 1)], crop_size=CROP, length=1)[0]
    with pytest.raises(ImageLoadError, match=r"t\.tif: page 5 out of range: the file has 2 page\(s\)$"):
        PageCrops([(tiff, 5)], crop_size=CROP, length=1)[0]
    with pytest.raises(ValueError, match="dpi must be a number"):
        PageCrops([tiff], crop_size=CROP, length=1, dpi=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"crop_size": 4}, "crop_size"),
        ({"length": 0}, "length"),
        ({"ink_threshold": 1.5}, "ink_threshold"),
        ({"max_tries": 0}, "max_tries"),
        ({"cache_pages": -1}, "cache_pages"),
    ],
)
def test_bad_arguments(page: Path, kwargs: dict, message: str) -> None:
    args = {"crop_size": CROP, "length": 4} | kwargs
    with pytest.raises(ValueError, match=message):
        PageCrops([page], **args)


def test_empty_file_list() -> None:
    with pytest.raises(ValueError, match="no usable page images"):
        PageCrops([], crop_size=CROP, length=4)


def test_deleted_file_raises_naming_it(page: Path) -> None:
    ds = PageCrops([page], crop_size=CROP, length=4)
    page.unlink()
    with pytest.raises(ImageLoadError, match="page.png: file not found") as info:
        ds[0]
    assert info.value.path == page


def test_page_smaller_than_crop_raises(tmp_path: Path) -> None:
    path = tmp_path / "tiny.png"
    Image.new("RGB", (40, 200), "white").save(path)
    ds = PageCrops([path], crop_size=CROP, length=1)
    expected = "tiny.png: image is 40×200, smaller than the crop size 64"
    with pytest.raises(ImageLoadError, match=expected):
        ds[0]


def test_vae_datamodule_uses_pdf_and_tiff_pages(tmp_path: Path) -> None:
    from anonymizer.data.vae_datamodule import VAEDataModule

    write_pdf(tmp_path / "doc.pdf", [_ruled_pdf_page(72, 72)] * 3)  # 200×200 px at the default dpi
    write_tiff(tmp_path / "scan.tif", [Image.new("L", (100, 100), 200), Image.new("L", (10, 10))])
    dm = VAEDataModule(
        crop_size=32, batch_size=2, num_workers=0, image_dir=str(tmp_path),
        image_crops={"train_size": 6, "val_size": 2, "val_fraction": 0.25},
    )
    dm.setup("fit")
    assert [(p.name, reason) for p, reason in dm.skipped] == [
        ("scan.tif", "page 1: image is 10×10, smaller than the crop size 32")
    ]
    pages = [ds.files for ds in (dm.train_set.source.datasets[0], dm.val_set.source.datasets[0])]
    assert sorted(pages[0] + pages[1]) == [(tmp_path / "doc.pdf", i) for i in range(3)] + [(tmp_path / "scan.tif", 0)]
    assert len(pages[1]) == 1 and not set(pages[0]) & set(pages[1])
    assert next(iter(dm.train_dataloader()))["image"].shape == (2, 3, 32, 32)
