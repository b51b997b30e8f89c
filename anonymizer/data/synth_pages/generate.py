"""Generating pages: :func:`generate_page` (one page in memory) and :func:`write_pages` (a dataset).

Page ``index`` of ``seed`` depends only on ``(seed, index, config)`` and the fonts found:
the same arguments give byte-identical images and records in any process. The page's
content and its scan effects use independent random streams, so switching the effects
off (``scan.enabled=false``) keeps the text, layout and (unrotated) boxes unchanged.
Fonts and Faker instances are cached per process: generate pages from one thread at a
time (use ``write_pages(workers=...)`` for parallelism).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from anonymizer.core.fonts import find_fonts
from anonymizer.core.records import PageRecord, write_records
from anonymizer.data.checks import check_int
from anonymizer.data.synth_pages.config import BASE_KINDS, KINDS, REAL_KINDS, PageConfig
from anonymizer.data.synth_pages.families import LAYOUTS, page_size
from anonymizer.data.synth_pages.pens import find_hand_fonts
from anonymizer.data.synth_pages.render import FontBook, LayoutError, Page
from anonymizer.data.synth_pages.scan import print_and_scan
from anonymizer.data.synth_pages.typeset import Ctx, PageFull
from anonymizer.data.synth_pages.values import Values

SOURCE = "synth_pages"
RECORDS_FILE = "records.jsonl"
JPEG_QUALITY = 92


@functools.lru_cache(maxsize=4)
def _font_book(font_dirs: tuple[str, ...] | None, families: tuple[str, ...]) -> FontBook:
    return FontBook(find_fonts(font_dirs, families))


@functools.lru_cache(maxsize=8)
def _values(locale: str) -> Values:
    return Values(locale)


def page_id(seed: int, index: int, kind: str) -> str:
    """The record id (also the image's file name): ``s<seed>-<index>-<kind>``."""
    return f"s{seed}-{index:06d}-{kind}"


def _layout(kind: str, locale: str, rng: random.Random, cfg: PageConfig) -> Page:
    fonts = _font_book(cfg.font_dirs, cfg.font_families)
    values = _values(locale)
    values.reset(rng)
    receipt = kind == "receipt"
    if kind in BASE_KINDS:
        width, height = cfg.receipt_width if receipt else cfg.width, cfg.height
    else:
        width, height = page_size(kind, rng, cfg.width, cfg.height, cfg.card_width)
    card = width > height  # a card page is the card itself
    if receipt:
        family = rng.choice(fonts.of_kind("mono") if rng.random() < 0.6 else fonts.of_kind("sans"))
    elif kind == "letter":
        family = rng.choice(fonts.of_kind("serif", "sans"))
    else:
        family = rng.choice(fonts.of_kind("sans", "serif"))
    head = family if rng.random() < 0.6 else rng.choice(fonts.of_kind("sans", "serif"))
    lo, hi = cfg.margin
    if receipt:
        lo, hi = max(10, lo // 3), max(10, hi // 3)
    elif card:
        lo, hi = max(6, width // 60), max(8, width // 30)
    mx, mt = rng.randint(lo, hi), rng.randint(lo, hi)
    page = Page(width, height)
    ctx = Ctx(
        page=page, rng=rng, values=values, fonts=fonts, locale=locale, family=family, head_family=head,
        size=rng.randint(*cfg.font_size), spacing=rng.uniform(*cfg.line_spacing),
        left=mx, top=mt, right=width - mx - rng.randint(0, lo // 2), bottom=height - rng.randint(lo, hi),
        colon=" :" if locale == "fr_FR" and rng.random() < 0.5 else rng.choice([":", ":", ""]),
    )
    if kind in REAL_KINDS:
        ctx.hand_fonts = find_hand_fonts(cfg.font_dirs, cfg.hand_fonts)
        ctx.hand_prob = cfg.hand_prob
    try:
        LAYOUTS[kind](ctx)
    except PageFull:  # the page is full: what is drawn so far is the page
        pass
    return page


def _draw(index: int, seed: int, cfg: PageConfig) -> tuple[Page, str, np.random.SeedSequence]:
    """The laid-out page ``index`` of ``seed``, its kind and the seed sequence of its scan effects."""
    index, seed = check_int("index", index, 0), check_int("seed", seed, 0)
    content_seq, scan_seq = np.random.SeedSequence([seed, index]).spawn(2)
    rng = random.Random(int(content_seq.generate_state(1, np.uint64)[0]))
    kinds = [k for k in KINDS if cfg.kinds.get(k, 0) > 0]
    kind = rng.choices(kinds, [cfg.kinds[k] for k in kinds])[0]
    locale = rng.choice(cfg.locales)
    base = rng.getrandbits(64)
    for attempt in range(4):  # a layout that overflows the page is redrawn (rare)
        try:
            return _layout(kind, locale, random.Random(base + attempt), cfg), kind, scan_seq
        except LayoutError:
            if attempt == 3:
                raise
    raise AssertionError("unreachable")


def generate_record(index: int, seed: int = 0, config: PageConfig | None = None) -> PageRecord:
    """The record of page ``index`` of ``seed`` as laid out, without printing and scanning it
    (the words and entities of :func:`generate_page`, unrotated boxes; about 5x faster)."""
    cfg = config if config is not None else PageConfig()
    page, kind, _ = _draw(index, seed, cfg)
    rid = page_id(seed, index, kind)
    return page.record(rid, f"images/{rid}.{cfg.image_format}", SOURCE)


def generate_page(index: int, seed: int = 0, config: PageConfig | None = None) -> tuple[Image.Image, PageRecord]:
    """Render page ``index`` of ``seed``: the RGB image and its record.

    The record's ``image`` is ``images/<id>.<format>``, relative to the dataset folder
    that :func:`write_pages` writes; its ``root`` is unset.
    """
    cfg = config if config is not None else PageConfig()
    page, kind, scan_seq = _draw(index, seed, cfg)
    image, words = print_and_scan(page.ink, page.words, cfg.scan, int(scan_seq.generate_state(1, np.uint64)[0]))
    rid = page_id(seed, index, kind)
    record = page.record(rid, f"images/{rid}.{cfg.image_format}", SOURCE)
    record.words = words
    return image, record


def _save(image: Image.Image, path: Path, image_format: str) -> None:
    """Write ``image`` to ``path`` atomically (temp file + rename)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if image_format == "jpg":
                image.save(f, format="JPEG", quality=JPEG_QUALITY)
            else:
                image.save(f, format="PNG", compress_level=1)  # noisy scans barely compress
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _make(args: tuple[int, int, PageConfig, str]) -> PageRecord:
    index, seed, cfg, out = args
    image, record = generate_page(index, seed, cfg)
    _save(image, Path(out) / record.image, cfg.image_format)
    return record


@dataclass
class Summary:
    """What :func:`write_pages` wrote."""

    pages: int
    words: int
    records_path: Path
    seconds: float
    kinds: Counter = field(default_factory=Counter)
    sensitive: Counter = field(default_factory=Counter)  # sensitive entities per label
    keys: int = 0

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else float("inf")


def write_pages(
    n: int,
    out: str | Path,
    seed: int = 0,
    config: PageConfig | None = None,
    overwrite: bool = False,
    workers: int = 0,
    on_page: Callable[[PageRecord], None] | None = None,
) -> Summary:
    """Write ``n`` pages to ``out/images/<id>.<format>`` and their records to ``out/records.jsonl``.

    Images are written one by one (each atomically), the records file last and atomically,
    so a run that fails leaves no records file. ``workers`` > 0 renders in that many
    (spawned) processes, with the same output. ``on_page`` is called with each record in index order.

    Raises:
        ValueError: ``n`` < 1, a negative ``seed`` or ``workers``.
        FileExistsError: ``out/records.jsonl`` exists and ``overwrite`` is false (checked first).
    """
    n, seed = check_int("n", n, 1), check_int("seed", seed, 0)
    workers = check_int("workers", workers, 0)
    cfg = config if config is not None else PageConfig()
    out = Path(out)
    records_path = out / RECORDS_FILE
    if records_path.exists() and not overwrite:
        raise FileExistsError(f"{records_path} already exists; pass overwrite=true to replace it")
    (out / "images").mkdir(parents=True, exist_ok=True)
    _font_book(cfg.font_dirs, cfg.font_families)  # fail early when no font is found
    start = time.perf_counter()
    jobs = [(i, seed, cfg, str(out)) for i in range(n)]
    records: list[PageRecord] = []
    if workers:
        # spawn: workers import only this package, nothing forked from the caller (threads, torch).
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = pool.map(_make, jobs, chunksize=max(1, min(8, n // (4 * workers))))
            for record in results:
                records.append(record)
                if on_page:
                    on_page(record)
    else:
        for job in jobs:
            records.append(_make(job))
            if on_page:
                on_page(records[-1])
    write_records(records_path, records, overwrite=overwrite)
    summary = Summary(pages=n, words=sum(len(r.words) for r in records), records_path=records_path,
                      seconds=time.perf_counter() - start)
    for r in records:
        summary.kinds[r.id.rsplit("-", 1)[1]] += 1
        summary.sensitive.update(e.label for e in r.entities if e.sensitive)
        summary.keys += sum(e.label == "KEY" for e in r.entities)
    return summary
