"""Training data from page records (:mod:`anonymizer.core.records`): the shared plumbing and
square text crops for the VAE.

* :func:`load_record_splits` reads the JSONL file(s) named by a ``records`` config, reports
  invalid lines (count and the first reasons, which name file, line and field, never word
  text) and skips them, checks every page's file from its headers (missing, unreadable,
  wrong type, page out of range, more than ``max_pixels``, size unlike the record's: skipped
  with a warning naming the record id and the reason), and splits train/val by document.
* :class:`RecordPages` holds usable records and decodes pages lazily into a per-process LRU
  cache; a page that passed the header check but fails to decode is skipped with one warning
  per process and another page is drawn (deterministically).
* :class:`RecordCrops` cuts ``crop_size`` squares around a word or a line of text.

Messages of this module name files, record ids and reasons, never word text.
"""

from __future__ import annotations

import hashlib
import logging
import math
import numbers
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from rich.progress import track
from torch.utils.data import Dataset

from anonymizer.core.documents import DEFAULT_DPI, load_page, page_size
from anonymizer.core.geometry import Box
from anonymizer.core.image_io import DEFAULT_MAX_PIXELS, ImageLoadError
from anonymizer.core.page_cache import PageCache
from anonymizer.core.records import PageRecord, TextCrop, Word, read_records
from anonymizer.data.checks import check_int, check_number
from anonymizer.data.inpaint_samples import paper_color

log = logging.getLogger(__name__)

GAP_FACTOR = 2.0  # a line is split where the gap between two words exceeds this × the taller one
SIZE_TOLERANCE = 1  # pixels a decoded page may differ from the record's width/height
_MAX_REASONS = 3
_PROGRESS_MIN_PAGES = 200
_PAGE_DRAWS = 8  # random page draws before a deterministic scan for a loadable page

class NoUsableWordsError(ValueError):
    """None of a dataset's records has a word it can use (text, height, entity filters)."""


#: Keys of a ``records`` config read by :func:`load_record_splits`.
SPLIT_KEYS = frozenset({"train", "val", "val_fraction", "train_splits", "val_splits", "max_pixels", "check_pages"})


# --------------------------------------------------------------------------- words and lines
def box_height(box: Box) -> float:
    return float(box[3] - box[1])


def usable_words(record: PageRecord, min_text_height: float, only: Collection[int] | None = None) -> set[int]:
    """Indices of words with visible text (not only whitespace) and a box at least
    ``min_text_height`` pixels tall and 1 pixel wide, restricted to ``only`` when given."""
    return {
        i
        for i, w in enumerate(record.words)
        if w.text.strip() and box_height(w.box) >= min_text_height and w.box[2] - w.box[0] >= 1
        and (only is None or i in only)
    }


def line_segments(record: PageRecord, usable: Collection[int], gap_factor: float = GAP_FACTOR) -> list[list[int]]:
    """Runs of consecutive usable words of each line of ``record`` (:meth:`PageRecord.lines`),
    left to right, split at unusable words and at gaps wider than ``gap_factor`` times the
    taller of the two neighbours (columns of a form that share a line)."""
    words = record.words
    segments: list[list[int]] = []
    for line in record.lines():
        current: list[int] = []
        for i in line:
            if i not in usable:
                if current:
                    segments.append(current)
                current = []
                continue
            if current:
                prev, word = words[current[-1]].box, words[i].box
                if word[0] - prev[2] > gap_factor * max(box_height(prev), box_height(word)):
                    segments.append(current)
                    current = []
            current.append(i)
        if current:
            segments.append(current)
    return segments


def union_box(boxes: Sequence[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def median_text_height(record: PageRecord, indices: Sequence[int]) -> float:
    """Median box height of the words ``indices`` (one tall word does not make a line tall)."""
    return float(np.median([box_height(record.words[i].box) for i in indices]))


def text_scale(record: PageRecord, indices: Sequence[int], text_height: tuple[float, float] | None,
               rng: np.random.Generator) -> float:
    """The page scale that makes the words' text height (:func:`median_text_height`) a uniform
    draw from ``text_height`` (one draw from ``rng``); 1.0 when ``text_height`` is None."""
    if text_height is None:
        return 1.0
    return float(rng.uniform(*text_height)) / median_text_height(record, indices)


def check_height_range(name: str, value: Any) -> tuple[float, float] | None:
    """``[min, max]`` pixel heights as floats with ``0 < min <= max``, or None."""
    if value is None:
        return None
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be [min, max] pixel heights or null, got {value!r}") from None
    if not 0 < low <= high or not math.isfinite(high):
        raise ValueError(f"{name} must be [min, max] with 0 < min <= max, got {value!r}")
    return low, high


# --------------------------------------------------------------------------- images
def padded_crop(image: Image.Image, box: tuple[int, int, int, int], fill: tuple[int, int, int]) -> Image.Image:
    """``image`` cut to the integer ``box``; the part beyond the image is ``fill``."""
    x0, y0, x1, y1 = box
    width, height = image.size
    if x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height:
        return image.crop(box)
    out = Image.new("RGB", (x1 - x0, y1 - y0), fill)
    ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if ix0 < ix1 and iy0 < iy1:
        out.paste(image.crop((ix0, iy0, ix1, iy1)), (ix0 - x0, iy0 - y0))
    return out


def scaled_window(
    image: Image.Image, x0: float, y0: float, side: float, size: int, fill: tuple[int, int, int]
) -> Image.Image:
    """The square ``(x0, y0, x0 + side, y0 + side)`` of ``image`` (page pixels, may extend past
    the page: filled with ``fill``) resampled to ``size`` × ``size`` (Lanczos, antialiased)."""
    if side == size and float(x0).is_integer() and float(y0).is_integer():
        return padded_crop(image, (int(x0), int(y0), int(x0) + size, int(y0) + size), fill)
    ix0, iy0 = math.floor(x0), math.floor(y0)
    ix1, iy1 = math.ceil(x0 + side), math.ceil(y0 + side)
    region = padded_crop(image, (ix0, iy0, ix1, iy1), fill)
    box = (x0 - ix0, y0 - iy0, x0 - ix0 + side, y0 - iy0 + side)
    return region.resize((size, size), Image.Resampling.LANCZOS, box=box)


# --------------------------------------------------------------------------- record files
@dataclass
class RecordSplits:
    """Usable train/val records and what was dropped on the way (for ``describe()``)."""

    train: list[PageRecord]
    val: list[PageRecord]
    invalid_lines: int = 0
    skipped_pages: int = 0

    def describe(self) -> dict[str, int]:
        return {
            "train_pages": len(self.train),
            "val_pages": len(self.val),
            "invalid_record_lines": self.invalid_lines,
            "skipped_pages": self.skipped_pages,
        }


def read_record_file(path: str | Path, name: str) -> tuple[list[PageRecord], int]:
    """Valid records of ``path`` and the count of invalid lines (reported as one warning)."""
    records, errors = read_records(path)
    if errors:
        shown = "; ".join(reason for _, reason in errors[:_MAX_REASONS])
        more = f" (and {len(errors) - _MAX_REASONS} more)" if len(errors) > _MAX_REASONS else ""
        log.warning("%s: skipped %d invalid record line(s) of %s: %s%s", name, len(errors), path, shown, more)
    return records, len(errors)


def page_dpi(record: PageRecord) -> float:
    """The DPI a PDF page of ``record`` is rendered at (its own, else the default)."""
    return record.dpi if record.dpi is not None else DEFAULT_DPI


def _size_problem(record: PageRecord, size: tuple[int, int], max_pixels: int | None) -> str | None:
    width, height = size
    if abs(width - record.width) > SIZE_TOLERANCE or abs(height - record.height) > SIZE_TOLERANCE:
        return (f"page is {width}x{height} pixels but the record says {record.width}x{record.height} "
                "(boxes would not match)")
    if max_pixels is not None and width * height > max_pixels:
        return f"page has {width * height} pixels, more than max_pixels={max_pixels}"
    return None


def check_record_pages(
    records: Sequence[PageRecord], max_pixels: int | None = DEFAULT_MAX_PIXELS, name: str = "records"
) -> tuple[list[PageRecord], list[tuple[str, str]]]:
    """Split ``records`` into those whose page file looks usable from its headers and
    ``(record id, reason)`` for the others (one warning each; pixels are not decoded)."""
    usable: list[PageRecord] = []
    skipped: list[tuple[str, str]] = []
    show = len(records) >= _PROGRESS_MIN_PAGES and sys.stderr.isatty()
    for record in track(records, description=f"Checking {name} pages", disable=not show):
        try:
            reason = _size_problem(record, page_size(record.image_path, record.page, page_dpi(record)), max_pixels)
        except ImageLoadError as err:
            reason = str(err)
        if reason is None:
            usable.append(record)
        else:
            log.warning("%s: skipping page record %r: %s", name, record.id, reason)
            skipped.append((record.id, reason))
    return usable, skipped


def document_key(record: PageRecord) -> str:
    """The document a page belongs to: its source and stored image path (all pages of a
    PDF or TIFF share it), independent of where the data folder lives."""
    return f"{record.source}\x00{record.image}"


def _doc_fraction(key: str) -> float:
    return int(hashlib.sha1(key.encode()).hexdigest()[:15], 16) / 16**15


def split_by_document(records: Sequence[PageRecord], val_fraction: float) -> tuple[list[PageRecord], list[PageRecord]]:
    """Hold out the documents whose SHA-1 of :func:`document_key`, as a fraction of 1, is below
    ``val_fraction``: stable across file order, seeds and machines, and a document keeps
    its side when others are added or removed. Pages of one document never straddle the
    split. With two or more documents, ``val_fraction > 0`` holds out at least one and never
    all (the lowest / highest hashes decide)."""
    keys = sorted({document_key(r) for r in records}, key=_doc_fraction)
    val_keys = {k for k in keys if _doc_fraction(k) < val_fraction}
    if val_fraction > 0 and len(keys) >= 2:
        if not val_keys:
            val_keys = {keys[0]}
        elif len(val_keys) == len(keys):
            val_keys.discard(keys[-1])
    else:
        val_keys = set()
    return [r for r in records if document_key(r) not in val_keys], [r for r in records if document_key(r) in val_keys]


def _split_names(name: str, value: Any) -> set[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of split names or null, got {value!r}")
    return set(value)


def load_record_splits(spec: Mapping[str, Any], name: str = "data.records") -> RecordSplits:
    """Read, check and split the records of a ``records`` config (keys :data:`SPLIT_KEYS`).

    ``train`` is a JSONL file (required). Validation records come from ``val`` (a JSONL
    file) when given, else from ``train``; ``train_splits`` / ``val_splits`` keep records
    whose ``split`` field is listed (one file holding FUNSD's train and test:
    ``val_splits: [test]``; with only ``val_splits`` the train side is every other record).
    Without ``val`` and ``val_splits``, about ``val_fraction`` of the usable documents is
    held out (:func:`split_by_document`). ``check_pages`` (default true) checks every page
    file's headers here (:func:`check_record_pages`); pixels are decoded at first use.

    Raises:
        FileNotFoundError: a records file does not exist.
        RuntimeError: naming the file, when no usable training page remains.
    """
    unknown = sorted(set(spec) - SPLIT_KEYS)
    if unknown:
        raise ValueError(f"{name} has unknown keys: {unknown} (allowed: {sorted(SPLIT_KEYS)})")
    train_path = spec.get("train")
    if not train_path or not isinstance(train_path, (str, Path)):
        raise ValueError(f"{name}.train must be the path of a page-records JSONL file, got {train_path!r}")
    val_path = spec.get("val")
    val_fraction = check_number(f"{name}.val_fraction", spec.get("val_fraction", 0.1), 0.0, 1.0)
    if val_fraction >= 1.0:
        raise ValueError(f"{name}.val_fraction must be in [0, 1), got {val_fraction}")
    train_splits = _split_names(f"{name}.train_splits", spec.get("train_splits"))
    val_splits = _split_names(f"{name}.val_splits", spec.get("val_splits"))
    max_pixels = spec.get("max_pixels", DEFAULT_MAX_PIXELS)

    records, invalid = read_record_file(train_path, f"{name}.train")
    train_records = records if train_splits is None else [r for r in records if r.split in train_splits]
    if val_path:
        val_records, val_invalid = read_record_file(val_path, f"{name}.val")
        invalid += val_invalid
        if val_splits is not None:
            val_records = [r for r in val_records if r.split in val_splits]
    elif val_splits is not None:
        val_records = [r for r in records if r.split in val_splits]
        if train_splits is None:
            train_records = [r for r in records if r.split not in val_splits]
    else:
        val_records = []

    bad: list[tuple[str, str]] = []
    if spec.get("check_pages", True):
        train_records, bad = check_record_pages(train_records, max_pixels, f"{name}.train")
        if bad:
            log.warning("%s: %d of %d pages of %s skipped (see the warnings above)",
                        name, len(bad), len(bad) + len(train_records), train_path)
        val_records, bad_val = check_record_pages(val_records, max_pixels, f"{name}.val")
        bad += bad_val
    skipped = len(bad)
    if not val_path and val_splits is None:
        train_records, val_records = split_by_document(train_records, val_fraction)
    if not train_records:
        reasons = "; ".join(f"{rid}: {why}" for rid, why in bad[:_MAX_REASONS])
        raise RuntimeError(
            f"no usable training pages in {train_path}: {len(records)} valid record(s), {invalid} invalid line(s), "
            f"{skipped} page(s) skipped" + (f" ({reasons})" if reasons else "")
            + (f"; train_splits={sorted(train_splits)}" if train_splits is not None else "")
        )
    log.info("%s: %d train pages, %d val pages from %s", name, len(train_records), len(val_records), train_path)
    return RecordSplits(train_records, val_records, invalid, skipped)


# --------------------------------------------------------------------------- datasets
@dataclass
class LoadedPage:
    """A decoded page and its paper colour (median of the border pixels)."""

    image: Image.Image
    paper: tuple[int, int, int]


class RecordPages(Dataset):
    """Base of the record datasets: usable records, lazy page decoding, page draws.

    Decoded pages live in a per-process LRU cache of ``cache_pages`` pages (0: off,
    :class:`~anonymizer.core.page_cache.PageCache`), which is not pickled: the dataset is
    cheap to send to DataLoader workers. A page that fails to load (decode error, size
    unlike the record's) is remembered per process, warned about once and never drawn
    again in that process. Subclasses draw item ``index`` in ``_pick(index) -> (choice,
    page)``; :meth:`pick` returns the choice.
    """

    def __init__(self, records: Sequence[PageRecord], length: int, seed: int = 0,
                 cache_pages: int = 8, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
        owner = type(self).__name__
        self.records = list(records)
        self.length = check_int(f"{owner}.length", length, 1)
        self.seed = check_int(f"{owner}.seed", seed, 0)
        self.cache_pages = check_int(f"{owner}.cache_pages", cache_pages, 0)
        self.max_pixels = max_pixels
        self._cache: PageCache[LoadedPage] = PageCache(self.cache_pages)

    def __len__(self) -> int:
        return self.length

    def _check_index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, numbers.Integral) or not 0 <= index < self.length:
            raise IndexError(f"{type(self).__name__} index {index!r} out of range for length {self.length}")
        return int(index)

    def _usable_records(self, units: Collection[int], which: str, min_text_height: float) -> list[int]:
        """The record indices ``units`` (sorted) that have usable words; :class:`NoUsableWordsError`
        naming ``which`` words were looked for when there are none."""
        if not units:
            raise NoUsableWordsError(
                f"{type(self).__name__}: none of the {len(self.records)} page record(s) has {which} with text "
                f"and a box at least {min_text_height:g} pixels tall"
            )
        return sorted(units)

    def pick(self, index: int) -> Any:
        """What item ``index`` shows: the record, its words and how it is cut (decodes the page)."""
        return self._pick(self._check_index(index))[0]

    def _pick(self, index: int) -> tuple[Any, LoadedPage]:
        raise NotImplementedError

    def page(self, record_index: int) -> LoadedPage | None:
        """The decoded page of ``self.records[record_index]``, or None when it cannot be used."""
        if record_index in self._cache.failed:
            return None
        page = self._cache.get(record_index)
        if page is not None:
            return page
        record = self.records[record_index]
        try:
            image = load_page(record.image_path, record.page, page_dpi(record), self.max_pixels)
            reason = _size_problem(record, image.size, self.max_pixels)
        except ImageLoadError as err:
            reason = str(err)
        if reason is not None:
            log.warning("%s: skipping page record %r: %s", type(self).__name__, record.id, reason)
            self._cache.failed.add(record_index)
            return None
        page = LoadedPage(image=image, paper=paper_color(image))
        self._cache.put(record_index, page)
        return page

    def draw_page(self, rng: np.random.Generator, candidates: Sequence[int], index: int) -> tuple[int, LoadedPage]:
        """A loadable page among ``candidates`` (record indices): up to a few uniform draws
        from ``rng``, then the next loadable one after the first draw. Deterministic."""
        first = None
        for _ in range(_PAGE_DRAWS):
            r = int(candidates[int(rng.integers(len(candidates)))])
            first = r if first is None else first
            page = self.page(r)
            if page is not None:
                return r, page
        start = list(candidates).index(first)
        for k in range(len(candidates)):
            r = int(candidates[(start + k) % len(candidates)])
            page = self.page(r)
            if page is not None:
                return r, page
        raise RuntimeError(
            f"{type(self).__name__}: none of the {len(candidates)} page(s) could be loaded for item {index} "
            "(see the warnings naming each page)"
        )


@dataclass(frozen=True)
class CropChoice:
    """What item ``index`` of :class:`RecordCrops` shows: ``words`` (indices into the record's
    words: one word or a line segment) of record ``record_index``, in the page window
    ``(x0, y0, x0 + side, y0 + side)`` resampled by ``scale`` to ``crop_size``."""

    record_index: int
    words: tuple[int, ...]
    x0: float
    y0: float
    side: float
    scale: float


def _jittered_start(lo: float, hi: float, side: float, extent: int, rng: np.random.Generator) -> float:
    """Start of a window of ``side`` over the text span ``[lo, hi]``: uniform among starts
    that hold the span when it fits (else that stay within it), then moved inside
    ``[0, extent]`` when the page is that large, else centred on the page."""
    a, b = (hi - side, lo) if hi - lo <= side else (lo, hi - side)
    start = float(rng.uniform(a, b)) if b > a else float(a)
    if side <= extent:
        return min(max(start, 0.0), extent - side)
    return (extent - side) / 2


class RecordCrops(RecordPages):
    """``length`` square ``crop_size`` crops of the text of page records (:class:`TextCrop`).

    Item ``i`` depends only on ``(seed, i)`` and the records: ``np.random.default_rng([seed,
    i])`` draws a page, then with probability ``line_prob`` a line segment (words of one line
    between wide gaps, :func:`line_segments`) else a word among the page's usable words
    (:func:`usable_words`). With ``text_height = [min, max]`` the page is resampled so that
    the text's height (median word box height) becomes a uniform draw from that range (real
    scans at 200-300 dpi have text far taller than a 64-pixel crop); ``None`` keeps the page
    scale. The window holds the text at a random position when it fits (a longer line is
    cut) and stays inside the page when the page is large enough; beyond the page it is the
    paper colour. ``TextCrop.words`` are the words with text that lie fully inside the crop,
    boxes (and quads) in crop pixels, ``line`` renumbered per crop; ``text`` is their lines
    joined by ``\\n``.
    """

    def __init__(
        self,
        records: Sequence[PageRecord],
        crop_size: int,
        length: int,
        seed: int = 0,
        text_height: Sequence[float] | None = None,
        line_prob: float = 0.5,
        min_text_height: float = 4.0,
        cache_pages: int = 8,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ) -> None:
        super().__init__(records, length, seed, cache_pages, max_pixels)
        self.crop_size = check_int("RecordCrops.crop_size", crop_size, 8)
        self.text_height = check_height_range("RecordCrops.text_height", text_height)
        self.line_prob = check_number("RecordCrops.line_prob", line_prob, 0.0, 1.0)
        self.min_text_height = check_number("RecordCrops.min_text_height", min_text_height, 0.0)
        self.units: dict[int, tuple[list[int], list[list[int]]]] = {}
        for r, record in enumerate(self.records):
            usable = usable_words(record, self.min_text_height)
            if usable:
                self.units[r] = (sorted(usable), line_segments(record, usable))
        self.candidates = self._usable_records(self.units, "a word", self.min_text_height)

    def _pick(self, index: int) -> tuple[CropChoice, LoadedPage]:
        rng = np.random.default_rng([self.seed, index])
        r, page = self.draw_page(rng, self.candidates, index)
        record = self.records[r]
        words, segments = self.units[r]
        if rng.random() < self.line_prob:
            chosen = segments[int(rng.integers(len(segments)))]
        else:
            chosen = [words[int(rng.integers(len(words)))]]
        scale = text_scale(record, chosen, self.text_height, rng)
        side = self.crop_size / scale
        x0, y0, x1, y1 = union_box([record.words[i].box for i in chosen])
        width, height = page.image.size
        wx = _jittered_start(x0, x1, side, width, rng)
        wy = _jittered_start(y0, y1, side, height, rng)
        if self.text_height is None:
            wx, wy = float(round(wx)), float(round(wy))
        return CropChoice(r, tuple(chosen), wx, wy, side, scale), page

    def __getitem__(self, index: int) -> TextCrop:
        choice, page = self._pick(self._check_index(index))
        image = scaled_window(page.image, choice.x0, choice.y0, choice.side, self.crop_size, page.paper)
        return TextCrop(image=image, **self._words_in(choice))

    def _words_in(self, choice: CropChoice) -> dict[str, Any]:
        record = self.records[choice.record_index]
        x0, y0, s, eps = choice.x0, choice.y0, choice.scale, 1e-6
        x1, y1 = x0 + choice.side, y0 + choice.side

        def to_crop(x: float, y: float) -> tuple[float, float]:
            return ((x - x0) * s, (y - y0) * s)

        words: list[Word] = []
        texts: list[str] = []
        for line in record.lines():
            inside = [
                record.words[i] for i in line
                if record.words[i].text.strip()
                and record.words[i].box[0] >= x0 - eps and record.words[i].box[1] >= y0 - eps
                and record.words[i].box[2] <= x1 + eps and record.words[i].box[3] <= y1 + eps
            ]
            if not inside:
                continue
            n = len(texts)
            for w in inside:
                bx0, by0 = to_crop(w.box[0], w.box[1])
                bx1, by1 = to_crop(w.box[2], w.box[3])
                quad = tuple(to_crop(x, y) for x, y in w.quad) if w.quad is not None else None
                words.append(replace(w, box=(bx0, by0, bx1, by1), quad=quad, line=n))
            texts.append(" ".join(w.text for w in inside))
        return {"text": "\n".join(texts), "words": words}
