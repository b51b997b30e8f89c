"""Safe loading of untrusted page images into fully decoded 8-bit RGB (and an in-memory
JPEG round trip, the compression effect of the synthetic generators).

Every failure is reported as :class:`ImageLoadError` naming the file and a human reason;
messages never contain image content.
"""

from __future__ import annotations

import io
import numbers
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
DEFAULT_MAX_PIXELS = 100_000_000

_TO_RGB = {"1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr"}
_WITH_ALPHA = {"LA", "PA", "RGBA", "La", "RGBa"}
_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N"}


class ImageLoadError(ValueError):
    """An image file that cannot be used; ``str(e)`` is ``"{path}: {reason}"``."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def __reduce__(self):  # keep picklable across DataLoader worker processes
        return (type(self), (self.path, self.reason))


def load_image_rgb(
    path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS, frame: int = 0
) -> Image.Image:
    """Load ``path`` as a fully decoded RGB image with its EXIF orientation applied.

    ``frame`` selects the frame of multi-frame files (the page of a multi-page TIFF,
    0-based); :func:`count_frames` tells how many there are. Transparent
    pixels are composited over white; 16-bit greyscale is scaled to 8 bit by the range
    of its type. Images with more than ``max_pixels`` pixels are rejected from their
    header, before decoding (``None`` disables this check; Pillow's hard
    decompression-bomb limit, :func:`pillow_pixel_limit`, still applies to every frame).

    Raises:
        ImageLoadError: missing/empty/unreadable file, unknown format, truncated or
            corrupt data, too many pixels, zero size, or an unsupported mode.
    """
    path = Path(path)
    _check_file(path)
    restore_truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        if restore_truncated:  # only touch the global if someone turned it on; restored below
            ImageFile.LOAD_TRUNCATED_IMAGES = False
        with warnings.catch_warnings():
            if max_pixels is not None:  # our explicit check below replaces PIL's warning
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return _open_and_decode(path, max_pixels, frame)
    finally:
        if restore_truncated:
            ImageFile.LOAD_TRUNCATED_IMAGES = restore_truncated


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ImageLoadError(path, "file not found")
    if not path.is_file():
        raise ImageLoadError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise ImageLoadError(path, "file is empty (0 bytes)")


def count_frames(path: str | Path) -> int:
    """Number of frames (pages) of an image file, read from its headers.

    Raises:
        ImageLoadError: as :func:`load_image_rgb` for files that cannot be opened.
    """
    path = Path(path)
    _check_file(path)
    with _open(path) as img:
        return _n_frames(img, path)


def image_size(path: str | Path, frame: int = 0) -> tuple[int, int]:
    """``(width, height)`` of frame ``frame`` as :func:`load_image_rgb` returns it (EXIF
    orientations 5–8 swap the sides), read from the headers without decoding pixels."""
    path = Path(path)
    _check_file(path)
    frame = check_frame_index(path, frame)
    with _open(path) as img:
        _seek_frame(img, path, frame)
        width, height = _stored_size(img)
        try:
            orientation = img.getexif().get(0x0112, 1)
        except Exception:  # noqa: BLE001 - malformed EXIF is reported when the pixels are loaded
            orientation = 1
        return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _stored_size(img: Image.Image) -> tuple[int, int]:
    """``(width, height)`` as stored, before EXIF orientation: Pillow's TIFF plugin
    already reports the oriented size, so TIFFs are read from their tags."""
    if img.format == "TIFF":
        try:
            return int(img.tag_v2[256]), int(img.tag_v2[257])
        except (KeyError, TypeError, ValueError):
            return img.size
    return img.size


def check_frame_index(path: Path, frame: object) -> int:
    """``frame`` as an ``int`` when it is an integer >= 0 (not a bool), else ImageLoadError."""
    if isinstance(frame, bool) or not isinstance(frame, numbers.Integral) or frame < 0:
        raise ImageLoadError(path, f"page index must be an integer >= 0, got {frame!r}")
    return int(frame)


def pillow_pixel_limit() -> int | None:
    """Pillow's hard decompression-bomb limit (``2 × Image.MAX_IMAGE_PIXELS``), or None
    when it is disabled."""
    return 2 * Image.MAX_IMAGE_PIXELS if Image.MAX_IMAGE_PIXELS else None


def check_pixel_count(
    path: Path, width: int, height: int, max_pixels: int | None, where: str = "", hint: str = ""
) -> None:
    """Reject a ``width``×``height`` image above ``max_pixels`` or Pillow's hard limit.

    ``where`` prefixes the reason (e.g. ``"page 2: "``); ``hint`` follows ``max_pixels``.
    """
    pixels = width * height
    if max_pixels is not None and pixels > max_pixels:
        raise ImageLoadError(
            path,
            f"{where}{width}×{height} = {pixels} pixels exceeds the limit of {max_pixels} "
            f"(max_pixels{hint})",
        )
    hard = pillow_pixel_limit()
    if hard is not None and pixels > hard:
        raise ImageLoadError(
            path,
            f"{where}decompression bomb: {width}×{height} = {pixels} pixels exceeds Pillow's "
            f"limit of {hard} (2 × Image.MAX_IMAGE_PIXELS)",
        )


def _seek_frame(img: Image.Image, path: Path, frame: int) -> None:
    """Move ``img`` to frame ``frame`` (already validated as >= 0)."""
    if frame == 0:
        return
    n_frames = _n_frames(img, path)
    if frame >= n_frames:
        raise ImageLoadError(path, f"page {frame} out of range: the file has {n_frames} page(s)")
    try:
        img.seek(frame)
    except Exception as err:  # noqa: BLE001 - broken frame chain
        raise ImageLoadError(path, f"cannot seek to page {frame} ({type(err).__name__})") from None


def _n_frames(img: Image.Image, path: Path) -> int:
    try:
        return int(getattr(img, "n_frames", 1))
    except Exception as err:  # noqa: BLE001 - counting walks every frame header
        raise ImageLoadError(path, f"corrupt multi-frame structure ({type(err).__name__})") from None


def _open(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except UnidentifiedImageError:
        raise ImageLoadError(path, "not an image or unknown image format") from None
    except Image.DecompressionBombError as err:
        raise ImageLoadError(path, f"decompression bomb: {err}") from None
    except PermissionError:
        raise ImageLoadError(path, "permission denied") from None
    except Exception as err:  # noqa: BLE001 - any parser failure means a bad header
        raise ImageLoadError(path, f"corrupt image header ({type(err).__name__})") from None


def _open_and_decode(path: Path, max_pixels: int | None, frame: int) -> Image.Image:
    frame = check_frame_index(path, frame)
    with _open(path) as img:
        _seek_frame(img, path, frame)
        width, height = img.size
        if width <= 0 or height <= 0:
            raise ImageLoadError(path, f"image has zero width or height ({width}×{height})")
        check_pixel_count(path, width, height, max_pixels)  # Pillow checks only frame 0 on open
        try:
            img.load()
        except Image.DecompressionBombError as err:
            raise ImageLoadError(path, f"decompression bomb: {err}") from None
        except Exception as err:  # noqa: BLE001 - decoder errors vary by plugin
            kind = "truncated" if "truncated" in str(err).lower() else "corrupt"
            raise ImageLoadError(
                path, f"{kind} image data, cannot be fully decoded ({type(err).__name__})"
            ) from None
        try:
            img = ImageOps.exif_transpose(img)
        except Exception as err:  # noqa: BLE001 - malformed EXIF
            reason = f"invalid EXIF orientation data ({type(err).__name__})"
            raise ImageLoadError(path, reason) from None
        return _to_rgb(img, path)


def _to_rgb(img: Image.Image, path: Path) -> Image.Image:
    """Convert a decoded image of any supported mode to 8-bit RGB."""
    mode = img.mode
    if mode in _WITH_ALPHA or (mode in _TO_RGB and img.has_transparency_data):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode in _TO_RGB:
        return img.convert("RGB")
    if mode in _SIXTEEN_BIT or mode == "I":
        values = np.asarray(img)
        if mode == "I":
            if int(values.min()) < 0 or int(values.max()) > 65535:
                raise ImageLoadError(
                    path, "unsupported 32-bit integer image: values outside 0..65535"
                )
            if int(values.max()) > 255:
                values = (values.astype(np.int64) + 128) // 257
        else:
            values = (values.astype(np.int64) + 128) // 257
        return Image.fromarray(values.astype(np.uint8)).convert("RGB")
    raise ImageLoadError(path, f"unsupported image mode {mode!r}")


def jpeg_round_trip(image: Image.Image, quality: int) -> Image.Image:
    """``image`` encoded as JPEG at ``quality`` in memory and decoded again, as RGB."""
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as jpeg:
        return jpeg.convert("RGB")
