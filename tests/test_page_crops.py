"""Tests for anonymizer.data.page_crops (folder scan and random ink-bearing crops)."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from torch.utils.data import DataLoader

from anonymizer.data.image_io import ImageLoadError
from anonymizer.data.page_crops import PageCrops, ink_level, scan_image_folder
from anonymizer.data.records import TextCrop

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

    assert usable == sorted(good)
    assert {p for p, _ in skipped} == {corrupt, truncated, small}
    reasons = dict(skipped)
    assert "not an image" in reasons[corrupt]
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
    assert scan_image_folder(tmp_path, min_size=CROP, recursive=False) == ([top], [])


def test_scan_folder_max_pixels(tmp_path: Path) -> None:
    path = _text_page(tmp_path / "big.png")
    usable, skipped = scan_image_folder(tmp_path, min_size=CROP, max_pixels=1000)
    assert usable == [] and skipped[0][0] == path and "max_pixels" in skipped[0][1]


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
    files = [_text_page(tmp_path / f"p{i}.png", seed=i) for i in range(2)]
    ds = PageCrops(files, crop_size=CROP, length=8, seed=1)
    loader = DataLoader(ds, batch_size=4, num_workers=2, collate_fn=_as_list)
    items = [item for batch in loader for item in batch]
    assert len(items) == 8
    for i, item in enumerate(items):
        assert isinstance(item, TextCrop)
        assert np.array_equal(np.asarray(item.image), np.asarray(ds[i].image))


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
