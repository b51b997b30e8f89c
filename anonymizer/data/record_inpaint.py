"""Inpainting samples (DiffUTE-style text editing) cut from page records.

A sample masks a run of consecutive words of one record line and asks for the page's own
pixels back, with the run's text as glyph: the same items as
:class:`~anonymizer.data.inpaint_samples.InpaintSamples`, so the same DataModule, model and
callbacks train on synthetic crops or on real annotated pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from anonymizer.core.geometry import Box
from anonymizer.core.image_io import DEFAULT_MAX_PIXELS
from anonymizer.core.records import PageRecord
from anonymizer.data.glyphs import GlyphRenderer
from anonymizer.data.inpaint_samples import add_glyph, make_inpaint_sample, resampled_neighbourhood
from anonymizer.data.record_crops import (
    LoadedPage,
    RecordPages,
    check_height_range,
    check_int,
    check_number,
    line_segments,
    text_scale,
    union_box,
    usable_words,
)
from anonymizer.data.synthetic import DEFAULT_LOCALES


def run_text(record: PageRecord, indices: Sequence[int]) -> str:
    """The run's words joined by single spaces (whitespace inside words collapsed)."""
    return " ".join(" ".join(record.words[i].text.split()) for i in indices)


@dataclass(frozen=True)
class RecordRun:
    """The words of one sample: ``words`` (indices, left to right) of record ``record_index``,
    their union ``box`` in page pixels and the page ``scale`` applied before windowing."""

    record_index: int
    words: tuple[int, ...]
    box: Box
    scale: float


class RecordInpaintSamples(RecordPages):
    """Self-supervised inpainting samples from page records.

    Item ``i`` depends only on ``(seed, i)`` and the records. ``np.random.default_rng([seed,
    i, 1])`` draws a page, an anchor word among its usable words (text not only whitespace,
    box at least ``min_text_height`` pixels tall; only words of ``sensitive`` entities with
    ``only_sensitive``), then with probability ``whole_line_prob`` the anchor's whole line
    segment, else a run of 1..``max_words`` consecutive words of it containing the anchor.
    Line segments are the record's lines (:meth:`PageRecord.lines`) split at unusable words
    and wide gaps (:func:`~anonymizer.data.record_crops.line_segments`); a line-level word
    (SROIE) is a one-word segment, i.e. a whole line. With ``text_height = [min, max]`` the
    page is resampled so the run's text height (median word box height) is a uniform draw
    from that range; ``None`` keeps the page scale.

    The resampled neighbourhood of the run goes through
    :func:`~anonymizer.data.inpaint_samples.make_inpaint_sample` (``crop_side`` and
    ``mask_margin`` in resampled pixels). Items as ``InpaintSamples``: ``image``, ``mask``,
    ``masked_image``, ``window`` (in page pixels, rounded), ``glyph``, ``text`` (the run's
    text), ``glyph_text``, ``glyph_matches`` (``random_glyph_fraction``: keep 0 for editing).
    """

    def __init__(
        self,
        records: Sequence[PageRecord],
        length: int,
        seed: int = 0,
        resolution: int = 64,
        crop_side: int = 64,
        mask_margin: int = 2,
        max_words: int = 3,
        whole_line_prob: float = 0.0,
        text_height: Sequence[float] | None = None,
        min_text_height: float = 6.0,
        only_sensitive: bool = False,
        random_glyph_fraction: float = 0.0,
        glyph: GlyphRenderer | None = None,
        locales: Sequence[str] = DEFAULT_LOCALES,
        cache_pages: int = 8,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ) -> None:
        super().__init__(records, length, seed, cache_pages, max_pixels)
        owner = "RecordInpaintSamples"
        self.resolution = check_int(f"{owner}.resolution", resolution, 8)
        self.crop_side = check_int(f"{owner}.crop_side", crop_side, 8)
        self.mask_margin = check_int(f"{owner}.mask_margin", mask_margin, 0)
        self.max_words = check_int(f"{owner}.max_words", max_words, 1)
        self.whole_line_prob = check_number(f"{owner}.whole_line_prob", whole_line_prob, 0.0, 1.0)
        self.text_height = check_height_range(f"{owner}.text_height", text_height)
        self.min_text_height = check_number(f"{owner}.min_text_height", min_text_height, 0.0)
        self.only_sensitive = bool(only_sensitive)
        self.random_glyph_fraction = check_number(f"{owner}.random_glyph_fraction", random_glyph_fraction, 0.0, 1.0)
        self.locales = tuple(locales)
        self.glyph = glyph if glyph is not None else GlyphRenderer()
        # per usable record: anchor word -> its segment
        self.segments: dict[int, dict[int, tuple[int, ...]]] = {}
        for r, record in enumerate(self.records):
            only = record.sensitive_words() if self.only_sensitive else None
            usable = usable_words(record, self.min_text_height, only)
            segment_of = {i: tuple(seg) for seg in line_segments(record, usable) for i in seg}
            if segment_of:
                self.segments[r] = segment_of
        which = "words of sensitive entities" if self.only_sensitive else "words"
        self.candidates = self._usable_records(self.segments, which, self.min_text_height)

    def _pick(self, index: int) -> tuple[RecordRun, LoadedPage]:
        rng = np.random.default_rng([self.seed, index, 1])
        r, page = self.draw_page(rng, self.candidates, index)
        record = self.records[r]
        segment_of = self.segments[r]
        anchors = sorted(segment_of)
        anchor = anchors[int(rng.integers(len(anchors)))]
        segment = segment_of[anchor]
        if rng.random() < self.whole_line_prob:
            run = segment
        else:
            a = segment.index(anchor)
            n = min(int(rng.integers(1, self.max_words + 1)), len(segment))
            start = int(rng.integers(max(0, a - n + 1), min(a, len(segment) - n) + 1))
            run = segment[start : start + n]
        scale = text_scale(record, run, self.text_height, rng)
        box = union_box([record.words[i].box for i in run])
        return RecordRun(r, tuple(run), box, scale), page

    def _window_source(
        self, run: RecordRun, page: Image.Image
    ) -> tuple[Image.Image, Box, tuple[float, float, float, float]]:
        """The page's neighbourhood of the run resampled by ``run.scale``, the run's box in it,
        and ``(origin_x, origin_y, scale_x, scale_y)`` mapping it back to page pixels
        (:func:`~anonymizer.data.inpaint_samples.resampled_neighbourhood`)."""
        return resampled_neighbourhood(page, run.box, run.scale, self.crop_side, self.mask_margin)

    def text_heights(self, n: int) -> list[float]:
        """Text heights (pixels) of the runs training cuts: ``n`` draws from ``text_height`` when
        it is set, else the box heights of the usable words (from the records; no page is loaded)."""
        rng = np.random.default_rng([self.seed, 3])
        if self.text_height is not None:
            return [float(v) for v in rng.uniform(*self.text_height, size=n)]
        heights = [self.records[r].words[i].box[3] - self.records[r].words[i].box[1]
                   for r in self.candidates for i in self.segments[r]]
        return [float(heights[i]) for i in rng.choice(len(heights), size=min(n, len(heights)), replace=False)]

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = self._check_index(index)
        run, page = self._pick(index)
        text = run_text(self.records[run.record_index], run.words)
        region, box, (ox, oy, sx, sy) = self._window_source(run, page.image)
        sample = make_inpaint_sample(region, box, text, self.resolution, self.crop_side, self.mask_margin)
        wx0, wy0, wx1, wy1 = sample["window"].tolist()
        sample["window"] = torch.tensor(
            [round(ox + wx0 / sx), round(oy + wy0 / sy), round(ox + wx1 / sx), round(oy + wy1 / sy)], dtype=torch.int64
        )
        rng = np.random.default_rng([self.seed, index, 2])
        return add_glyph(sample, text, rng, self.random_glyph_fraction, self.glyph, self.locales)
