"""Random ink-bearing square crops from a folder of real (unannotated) document pages.

The folder may hold PNG, JPEG, TIFF (multi-page too) and PDF files; every page is one
*page reference* ``(path, page_index)`` loaded through :mod:`anonymizer.core.documents`
(PDF pages rendered at ``dpi``).

Ink rule: a page's *paper level* is the median of its greyscale values (pages are
mostly paper). A pixel is *ink* when its grey value is below
``paper - max(INK_MIN_MARGIN, INK_REL_MARGIN * paper)``, i.e. below 75 % of the paper
level on light paper, and at least 32 grey levels darker than it on dark scans. A crop
contains ink when its ink fraction is at least ``ink_threshold``.
"""

from __future__ import annotations

import logging
import numbers
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from rich.progress import track
from torch.utils.data import Dataset

from anonymizer.core.documents import (
    DEFAULT_DPI,
    DEFAULT_MAX_PAGES,
    DOCUMENT_EXTENSIONS,
    check_dpi,
    check_max_pages,
    count_pages,
    load_page,
)
from anonymizer.core.image_io import DEFAULT_MAX_PIXELS, ImageLoadError
from anonymizer.core.page_cache import PageCache
from anonymizer.core.records import TextCrop

log = logging.getLogger(__name__)

INK_REL_MARGIN = 0.25
INK_MIN_MARGIN = 32
_PROGRESS_MIN_FILES = 50

PageRef = tuple[Path, int]
"""One page of a document: ``(path, 0-based page index)``."""


def scan_image_folder(
    root: str | Path,
    min_size: int,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    recursive: bool = True,
    dpi: float = DEFAULT_DPI,
    max_pages: int | None = DEFAULT_MAX_PAGES,
) -> tuple[list[PageRef], list[tuple[Path, str]]]:
    """List and validate the document pages under ``root``.

    Files are selected by extension (:data:`DOCUMENT_EXTENSIONS`, case-insensitive) in
    sorted order; other files are ignored. Every page is fully decoded with
    :func:`~anonymizer.core.documents.load_page` (PDFs at ``dpi``). A file that cannot be
    opened or has more than ``max_pages`` pages is skipped whole; a page that fails to
    load or whose shorter side is below ``min_size`` is skipped alone (its reason names
    the page when the file has several). Each skip logs one warning.

    Returns:
        ``(usable, skipped)``: ``(path, page_index)`` references of the good pages, and
        ``(path, reason)`` pairs.

    Raises:
        FileNotFoundError: ``root`` does not exist or is not a directory.
        ValueError: ``dpi`` or ``max_pages`` is invalid.
    """
    root = Path(root)
    check_dpi(dpi)
    check_max_pages(max_pages)
    if not root.is_dir():
        what = "is not a directory" if root.exists() else "does not exist"
        raise FileNotFoundError(f"page image folder {root} {what}")
    candidates = root.rglob("*") if recursive else root.iterdir()
    files = sorted(
        p for p in candidates if p.suffix.lower() in DOCUMENT_EXTENSIONS and p.is_file()
    )
    show = len(files) >= _PROGRESS_MIN_FILES and sys.stderr.isatty()
    usable: list[PageRef] = []
    skipped: list[tuple[Path, str]] = []
    for path in track(files, description=f"Checking documents in {root}", disable=not show):
        good, bad = _scan_document(path, min_size, max_pixels, dpi, max_pages)
        usable.extend(good)
        for reason in bad:
            log.warning("Skipping page image %s: %s", path, reason)
            skipped.append((path, reason))
    return usable, skipped


def _scan_document(
    path: Path, min_size: int, max_pixels: int | None, dpi: float, max_pages: int | None
) -> tuple[list[PageRef], list[str]]:
    """The usable page references of one file and the reasons of its skipped pages."""
    try:
        n_pages = count_pages(path)
    except ImageLoadError as err:
        return [], [err.reason]
    if max_pages is not None and n_pages > max_pages:
        return [], [f"document has {n_pages} pages, more than the limit of {max_pages} (max_pages)"]
    good: list[PageRef] = []
    bad: list[str] = []
    for page in range(n_pages):
        try:
            image = load_page(path, page, dpi, max_pixels)
            reason = _size_problem(image, min_size)
        except ImageLoadError as err:
            reason = err.reason
        if reason is None:
            good.append((path, page))
        else:
            bad.append(_name_page(page, reason) if n_pages > 1 else reason)
    return good, bad


def _size_problem(image: Image.Image, min_size: int) -> str | None:
    if min(image.size) < min_size:
        return f"image is {image.width}×{image.height}, smaller than the crop size {min_size}"
    return None


def _name_page(page: int, reason: str) -> str:
    """``reason`` prefixed with ``"page N: "`` unless it already names the page."""
    prefix = f"page {page}"
    return reason if reason.startswith(prefix + " ") or reason.startswith(prefix + ":") else f"{prefix}: {reason}"


def as_page_ref(entry: str | Path | tuple[str | Path, int]) -> PageRef:
    """Normalise a path (page 0) or a ``(path, page)`` pair (tuple or list) to a :data:`PageRef`.

    Raises:
        ValueError: anything else, or a page index that is not an integer >= 0.
    """
    if isinstance(entry, (str, os.PathLike)):
        return Path(entry), 0
    if isinstance(entry, (tuple, list)) and len(entry) == 2 and isinstance(entry[0], (str, os.PathLike)):
        page = entry[1]
        if isinstance(page, bool) or not isinstance(page, numbers.Integral) or page < 0:
            raise ValueError(f"page index must be an integer >= 0, got {page!r} for {entry[0]}")
        return Path(entry[0]), int(page)
    raise ValueError(f"expected a path or a (path, page) pair, got {entry!r}")


@dataclass
class _Page:
    image: Image.Image
    grey: np.ndarray  # uint8, H×W
    ink_below: int  # grey values strictly below this count as ink


def ink_level(grey: np.ndarray) -> int:
    """Grey value below which pixels of this page count as ink (see module docstring)."""
    counts = np.bincount(grey.ravel(), minlength=256)
    paper = int(np.searchsorted(np.cumsum(counts), (grey.size + 1) // 2))
    return int(round(paper - max(INK_MIN_MARGIN, INK_REL_MARGIN * paper)))


class PageCrops(Dataset):
    """``length`` random ``crop_size``² RGB crops that contain ink, from document pages.

    ``files`` holds paths (page 0) and/or ``(path, page)`` references as returned by
    :func:`scan_image_folder`; PDF pages are rendered at ``dpi``.
    Item ``i`` depends only on ``(seed, i)`` and the page list: the page and positions
    come from ``np.random.default_rng([seed, i])``. Up to ``max_tries`` positions are
    tried; the first with ink fraction ``>= ink_threshold`` wins, else the inkiest one.
    Decoded pages are kept in a per-process LRU cache of ``cache_pages`` pages (0 turns
    it off); the cache is not pickled, so the dataset is cheap to send to workers.
    """

    def __init__(
        self,
        files: Sequence[str | Path | tuple[str | Path, int]],
        crop_size: int,
        length: int,
        seed: int = 0,
        ink_threshold: float = 0.02,
        max_tries: int = 20,
        cache_pages: int = 8,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        dpi: float = DEFAULT_DPI,
    ) -> None:
        if len(files) == 0:
            raise ValueError(
                "no usable page images were given to PageCrops (the file list is empty); "
                "check the image folder and the warnings from scan_image_folder"
            )
        _check(crop_size >= 8, f"crop_size must be >= 8, got {crop_size}")
        _check(length >= 1, f"length must be >= 1, got {length}")
        _check(0.0 <= ink_threshold <= 1.0, f"ink_threshold must be in [0, 1], got {ink_threshold}")
        _check(max_tries >= 1, f"max_tries must be >= 1, got {max_tries}")
        _check(cache_pages >= 0, f"cache_pages must be >= 0, got {cache_pages}")
        self.files: list[PageRef] = [as_page_ref(f) for f in files]
        self.crop_size = int(crop_size)
        self.length = int(length)
        self.seed = int(seed)
        self.ink_threshold = float(ink_threshold)
        self.max_tries = int(max_tries)
        self.cache_pages = int(cache_pages)
        self.max_pixels = max_pixels
        self.dpi = check_dpi(dpi)
        self._cache: PageCache[_Page] = PageCache(self.cache_pages)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> TextCrop:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for PageCrops of length {self.length}")
        rng = np.random.default_rng([self.seed, int(index)])
        page = self._page(int(rng.integers(len(self.files))))
        size = self.crop_size
        height, width = page.grey.shape
        best_xy, best_ink = (0, 0), -1.0
        for _ in range(self.max_tries):
            x = int(rng.integers(width - size + 1))
            y = int(rng.integers(height - size + 1))
            ink = float(np.count_nonzero(page.grey[y : y + size, x : x + size] < page.ink_below))
            ink /= size * size
            if ink > best_ink:
                best_xy, best_ink = (x, y), ink
            if ink >= self.ink_threshold:
                break
        x, y = best_xy
        return TextCrop(image=page.image.crop((x, y, x + size, y + size)))

    def _page(self, file_index: int) -> _Page:
        page = self._cache.get(file_index)
        if page is not None:
            return page
        path, page_index = self.files[file_index]
        try:
            image = load_page(path, page_index, self.dpi, self.max_pixels)
            reason = _size_problem(image, self.crop_size)
        except ImageLoadError as err:
            reason = err.reason
        if reason is not None:
            raise ImageLoadError(path, _name_page(page_index, reason) if page_index else reason)
        grey = np.asarray(image.convert("L"))
        page = _Page(image=image, grey=grey, ink_below=ink_level(grey))
        self._cache.put(file_index, page)
        return page


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
