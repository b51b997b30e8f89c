"""Tests for anonymizer.core.image_io (load_image_rgb, image_size, count_frames, pixel limits)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from anonymizer.core.image_io import (
    ImageLoadError,
    check_pixel_count,
    count_frames,
    image_size,
    load_image_rgb,
    pillow_pixel_limit,
)


def _pixels(img: Image.Image) -> list[tuple[int, int, int]]:
    return list(img.getdata())


def _save(img: Image.Image, path: Path, **kwargs) -> Path:
    img.save(path, **kwargs)
    return path


def _check_rgb(img: Image.Image, size: tuple[int, int]) -> None:
    assert img.mode == "RGB"
    assert img.size == size


# --- good modes --------------------------------------------------------------------


def test_mode_1(tmp_path: Path) -> None:
    img = Image.new("1", (2, 1), 0)
    img.putpixel((1, 0), 1)
    out = load_image_rgb(_save(img, tmp_path / "a.png"))
    _check_rgb(out, (2, 1))
    assert _pixels(out) == [(0, 0, 0), (255, 255, 255)]


def test_mode_l(tmp_path: Path) -> None:
    img = Image.fromarray(np.array([[0, 77, 200]], dtype=np.uint8))
    assert img.mode == "L"
    out = load_image_rgb(_save(img, tmp_path / "a.png"))
    assert _pixels(out) == [(0, 0, 0), (77, 77, 77), (200, 200, 200)]


def test_mode_la_transparent_is_white(tmp_path: Path) -> None:
    img = Image.new("LA", (2, 1), (0, 0))  # black, fully transparent
    img.putpixel((1, 0), (50, 255))  # opaque dark grey
    path = _save(img, tmp_path / "a.png")
    assert Image.open(path).mode == "LA"
    assert _pixels(load_image_rgb(path)) == [(255, 255, 255), (50, 50, 50)]


def test_mode_p(tmp_path: Path) -> None:
    img = Image.new("P", (2, 1), 0)
    img.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    img.putpixel((1, 0), 1)
    path = _save(img, tmp_path / "a.png")
    assert Image.open(path).mode == "P"
    assert _pixels(load_image_rgb(path)) == [(10, 20, 30), (200, 100, 50)]


def test_mode_p_with_transparency_is_white(tmp_path: Path) -> None:
    img = Image.new("P", (2, 1), 0)
    img.putpalette([255, 0, 0, 0, 0, 0] + [0] * 762)  # index 1 is black
    img.putpixel((1, 0), 1)
    path = _save(img, tmp_path / "a.png", transparency=1)
    assert "transparency" in Image.open(path).info
    assert _pixels(load_image_rgb(path)) == [(255, 0, 0), (255, 255, 255)]


def test_mode_rgb(tmp_path: Path) -> None:
    img = Image.new("RGB", (3, 2), (1, 2, 3))
    out = load_image_rgb(_save(img, tmp_path / "a.png"))
    _check_rgb(out, (3, 2))
    assert set(_pixels(out)) == {(1, 2, 3)}


def test_mode_rgba_transparent_is_white_and_partial_is_blended(tmp_path: Path) -> None:
    img = Image.new("RGBA", (3, 1), (0, 0, 0, 0))
    img.putpixel((1, 0), (10, 20, 30, 255))
    img.putpixel((2, 0), (0, 0, 0, 128))
    out = load_image_rgb(_save(img, tmp_path / "a.png"))
    px = _pixels(out)
    assert px[0] == (255, 255, 255)
    assert px[1] == (10, 20, 30)
    assert all(126 <= c <= 128 for c in px[2])  # half-transparent black over white


@pytest.mark.parametrize("suffix", [".tif", ".jpg"])
def test_mode_cmyk(tmp_path: Path, suffix: str) -> None:
    img = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # pure red
    path = _save(img, tmp_path / f"a{suffix}", **({"quality": 100} if suffix == ".jpg" else {}))
    assert Image.open(path).mode == "CMYK"
    out = load_image_rgb(path)
    _check_rgb(out, (8, 8))
    r, g, b = out.getpixel((4, 4))
    assert r >= 250 and g <= 5 and b <= 5


@pytest.mark.parametrize("mode", ["I;16", "I;16B"])
def test_mode_i16_scaled_by_257(tmp_path: Path, mode: str) -> None:
    img = Image.new(mode, (4, 1))
    for x, v in enumerate([0, 1000, 25800, 65535]):  # v / 257 rounded: 0, 4, 100, 255
        img.putpixel((x, 0), v)
    suffix = ".png" if mode == "I;16" else ".tif"
    path = _save(img, tmp_path / f"a{suffix}")
    assert Image.open(path).mode == mode
    assert [r for r, _, _ in _pixels(load_image_rgb(path))] == [0, 4, 100, 255]


def test_mode_i_8bit_range_kept(tmp_path: Path) -> None:
    img = Image.new("I", (2, 1))
    img.putpixel((1, 0), 200)
    path = _save(img, tmp_path / "a.tif")
    assert Image.open(path).mode == "I"
    assert _pixels(load_image_rgb(path)) == [(0, 0, 0), (200, 200, 200)]


def test_mode_i_16bit_range_scaled(tmp_path: Path) -> None:
    img = Image.new("I", (2, 1))
    img.putpixel((0, 0), 65535)
    img.putpixel((1, 0), 30000)
    path = _save(img, tmp_path / "a.tif")
    assert _pixels(load_image_rgb(path)) == [(255, 255, 255), (117, 117, 117)]


def test_mode_i_out_of_range_rejected(tmp_path: Path) -> None:
    img = Image.new("I", (2, 1))
    img.putpixel((0, 0), 70000)
    path = _save(img, tmp_path / "odd.tif")
    with pytest.raises(ImageLoadError, match=r"odd\.tif: .*outside 0\.\.65535"):
        load_image_rgb(path)


def test_exif_orientation_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (40, 20), "white")
    img.paste((0, 0, 0), (0, 0, 10, 10))  # black square at the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    path = _save(img, tmp_path / "rot.jpg", exif=exif, quality=95)
    out = load_image_rgb(path)
    assert out.size == (20, 40)
    assert max(out.getpixel((15, 5))) < 30  # black now at the top-right
    assert min(out.getpixel((5, 5))) > 225
    assert min(out.getpixel((5, 35))) > 225


def test_multipage_tiff_loads_first_page(tmp_path: Path) -> None:
    first = Image.new("RGB", (5, 6), (255, 0, 0))
    second = Image.new("RGB", (7, 7), (0, 0, 255))
    path = _save(first, tmp_path / "multi.tif", save_all=True, append_images=[second])
    assert getattr(Image.open(path), "n_frames", 1) == 2
    out = load_image_rgb(path)
    assert out.size == (5, 6)
    assert out.getpixel((2, 2)) == (255, 0, 0)


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_image_size_matches_loaded_size_for_rotated_exif(tmp_path: Path, suffix: str) -> None:
    # Pillow's TIFF plugin already reports the oriented size; JPEG reports the stored one.
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _save(Image.new("RGB", (40, 20), "white"), tmp_path / f"rot{suffix}", exif=exif)
    assert image_size(path) == (20, 40) == load_image_rgb(path).size


def test_multipage_tiff_frames_and_sizes(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (5 + k, 6), c) for k, c in enumerate([(255, 0, 0), (0, 0, 255)])]
    path = _save(frames[0], tmp_path / "multi.tif", save_all=True, append_images=frames[1:])
    assert count_frames(path) == 2
    assert image_size(path, 1) == (6, 6) == load_image_rgb(path, frame=1).size
    assert load_image_rgb(path, frame=1).getpixel((0, 0)) == (0, 0, 255)


@pytest.mark.parametrize("frame", [-1, True, 0.0])
def test_invalid_frame_index(tmp_path: Path, frame: object) -> None:
    path = _save(Image.new("RGB", (4, 4)), tmp_path / "a.tif")
    pattern = rf"page index must be an integer >= 0, got {re.escape(repr(frame))}"
    _raises(path, pattern, frame=frame)
    with pytest.raises(ImageLoadError, match=pattern):
        image_size(path, frame)


def test_frame_out_of_range(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (4, 4)), tmp_path / "a.tif")
    _raises(path, r"^page 1 out of range: the file has 1 page\(s\)$", frame=1)
    with pytest.raises(ImageLoadError, match=r"page 1 out of range"):
        image_size(path, 1)


def test_pillow_limit_checked_on_later_frames(tmp_path: Path, monkeypatch) -> None:
    frames = [Image.new("L", (10, 10)), Image.new("L", (200, 100))]
    path = _save(frames[0], tmp_path / "bomb.tif", save_all=True, append_images=frames[1:])
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5_000)
    assert pillow_pixel_limit() == 10_000
    assert load_image_rgb(path, max_pixels=None, frame=0).size == (10, 10)
    _raises(
        path, r"^decompression bomb: 200×100 = 20000 pixels exceeds Pillow's limit of 10000", max_pixels=None, frame=1
    )


def test_check_pixel_count_messages(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "x.png"
    check_pixel_count(path, 10, 10, 100)  # at the limit: fine
    with pytest.raises(
        ImageLoadError, match=r"x\.png: p 1: 10×11 = 110 pixels exceeds the limit of 100 \(max_pixels; hint\)$"
    ):
        check_pixel_count(path, 10, 11, 100, where="p 1: ", hint="; hint")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert pillow_pixel_limit() is None
    check_pixel_count(path, 10**5, 10**5, None)  # no limit at all


def test_returns_independent_decoded_image(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (4, 4), (9, 9, 9)), tmp_path / "a.png")
    out = load_image_rgb(path)
    path.unlink()  # data must already be in memory
    assert out.getpixel((0, 0)) == (9, 9, 9)


# --- bad files ---------------------------------------------------------------------


def _raises(path: Path, reason_pattern: str, **kwargs) -> ImageLoadError:
    with pytest.raises(ImageLoadError) as info:
        load_image_rgb(path, **kwargs)
    err = info.value
    assert err.path == path
    assert str(err) == f"{path}: {err.reason}"
    assert path.name in str(err)
    assert re.search(reason_pattern, err.reason), err.reason
    return err


def test_missing_file(tmp_path: Path) -> None:
    _raises(tmp_path / "nope.png", "not found")


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "dir.png").mkdir()
    _raises(tmp_path / "dir.png", "not a regular file")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    _raises(path, r"empty \(0 bytes\)")


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("SECRET account number 12345\n" * 20)
    err = _raises(path, "not an image")
    assert "SECRET" not in str(err)


def _noise(size: tuple[int, int] = (96, 64)) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated(tmp_path: Path, suffix: str) -> None:
    full = _save(_noise(), tmp_path / f"full{suffix}")
    data = full.read_bytes()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: len(data) // 2])
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    _raises(path, "truncated")
    assert ImageFile.LOAD_TRUNCATED_IMAGES == before


def test_truncated_rejected_even_if_global_flag_set(tmp_path: Path, monkeypatch) -> None:
    full = _save(_noise(), tmp_path / "full.png")
    path = tmp_path / "cut.png"
    path.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    _raises(path, "truncated")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored


def test_corrupt_data(tmp_path: Path) -> None:
    full = _save(_noise(), tmp_path / "full.png")
    data = bytearray(full.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 200] = bytes(200)  # zero a block inside the IDAT data
    path = tmp_path / "corrupt.png"
    path.write_bytes(bytes(data))
    _raises(path, "corrupt|truncated")


def test_decompression_bomb_rejected_before_decoding(tmp_path: Path, monkeypatch) -> None:
    path = _save(Image.new("1", (12000, 12000), 1), tmp_path / "bomb.png")
    assert path.stat().st_size < 1_000_000
    limit_before = Image.MAX_IMAGE_PIXELS
    decoded = []
    original_load = ImageFile.ImageFile.load
    monkeypatch.setattr(
        ImageFile.ImageFile, "load", lambda self: decoded.append(1) or original_load(self)
    )
    expected = r"12000×12000 = 144000000 pixels exceeds the limit of 10000000"
    err = _raises(path, expected, max_pixels=10_000_000)
    assert "max_pixels" in err.reason
    assert decoded == []
    assert Image.MAX_IMAGE_PIXELS == limit_before


def test_pil_bomb_error_reported(tmp_path: Path) -> None:
    path = _save(Image.new("1", (20000, 20000), 1), tmp_path / "huge.png")  # > 2× PIL's limit
    _raises(path, "decompression bomb", max_pixels=None)


def test_mode_f_unsupported(tmp_path: Path) -> None:
    path = _save(Image.new("F", (4, 4), 0.5), tmp_path / "float.tif")
    assert Image.open(path).mode == "F"
    _raises(path, r"unsupported image mode 'F'")


def test_error_is_value_error_and_picklable(tmp_path: Path) -> None:
    import pickle

    err = ImageLoadError(tmp_path / "x.png", "file not found")
    assert isinstance(err, ValueError)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.path, copy.reason, str(copy)) == (err.path, err.reason, str(err))
