"""DataModule of self-supervised inpainting samples for the glyph-conditioned UNet.

Sources: synthetic crops (default); page records when ``records`` is given
(:class:`~anonymizer.data.record_inpaint.RecordInpaintSamples`); or short strings on plain
paper when ``plain`` is given (:class:`~anonymizer.data.plain_samples.PlainTextSamples`).

Batches (``B = batch_size``, ``R = resolution``, ``S`` = glyph processor size):

* ``image`` (B, 3, R, R) float32 in [-1, 1]; ``masked_image`` (B, 3, R, R) = ``image * (mask < 0.5)``
* ``mask`` (B, 1, R, R) float32 in {0, 1} (1 = repaint)
* ``glyph`` (B, 3, S, S) float32 TrOCR pixel values in [-1, 1]
* ``window`` (B, 4) int64: the crop window in source-crop (records: page) pixels
* ``glyph_matches`` (B,) bool; ``text``, ``glyph_text``: lists of B str
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch.utils.data import Dataset

from anonymizer.core.image_io import DEFAULT_MAX_PIXELS
from anonymizer.data.glyphs import GlyphRenderer
from anonymizer.data.inpaint_samples import InpaintSamples
from anonymizer.data.loaders import SplitDataModule
from anonymizer.data.plain_samples import PlainTextSamples
from anonymizer.data.record_crops import SPLIT_KEYS, NoUsableWordsError, RecordSplits, load_record_splits
from anonymizer.data.record_inpaint import RecordInpaintSamples
from anonymizer.data.synthetic import DEFAULT_LOCALES, SyntheticStyle

_VAL_SEED_OFFSET = 1_000_003  # as in VAEDataModule: val samples never coincide with train samples

_GLYPH_KEYS = {"font_path", "font_family", "canvas", "margin", "font_dirs", "processor"}
_PROCESSOR_KEYS = {"pretrained", "image_size"}
_SYNTHETIC_KEYS = {"font_dirs", "font_families", "style", "locales"}
_RECORD_SAMPLE_KEYS = {"text_height", "min_text_height", "only_sensitive", "whole_line_prob", "cache_pages"}
_PLAIN_KEYS = {"alphabet", "chars", "font_size", "font_family", "font_path", "ink", "paper"}


def _int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"data.{name} must be an integer >= {minimum}, got {value!r}")


def _plain(value: Any) -> Any:
    """OmegaConf containers -> plain dicts/lists (other values unchanged)."""
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def _mapping(name: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    value = _plain(value)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"data.{name} must be a mapping, got {value!r}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ValueError(f"data.{name} has unknown keys: {unknown} (allowed: {sorted(allowed)})")
    return dict(value)


def collate_inpaint(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors, turn bools into a bool tensor and keep strings as lists."""
    batch: dict[str, Any] = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        if isinstance(values[0], torch.Tensor):
            batch[key] = torch.stack(values)
        elif isinstance(values[0], bool):
            batch[key] = torch.tensor(values, dtype=torch.bool)
        else:
            batch[key] = values
    return batch


class InpaintDataModule(SplitDataModule):
    """Inpainting samples with glyph conditioning; see the module docstring for the batch.

    Args:
        resolution: side of the model input in pixels.
        crop_side: minimum side of the window around the masked box (widened for long runs).
        source_size: side of the synthetic crops the windows are cut from.
        mask_margin: dilation of the masked box in window pixels (before resizing).
        max_words: most words in a masked run.
        random_glyph_fraction: share of samples whose glyph shows another string (keep 0,
            see :class:`~anonymizer.data.inpaint_samples.InpaintSamples`).
        batch_size: per-process batch size.
        num_workers: DataLoader worker processes (0 = load in the main process).
        seed: base seed of all sampling; validation uses ``seed + 1_000_003``.
        train_size: samples per training epoch.
        val_size: validation samples.
        glyph: ``{font_path, font_family, canvas, margin, font_dirs, processor: {pretrained,
            image_size}}`` for :class:`~anonymizer.data.glyphs.GlyphRenderer`.
        synthetic: ``{font_dirs, font_families, locales, style}`` of the source crops.
        pin_memory: DataLoader ``pin_memory``.
        records: page records replacing the synthetic source, or None: ``{train, val,
            val_fraction, train_splits, val_splits, check_pages, max_pixels}`` (files and
            split, see :func:`~anonymizer.data.record_crops.load_record_splits`) and
            ``{text_height, min_text_height, only_sensitive, whole_line_prob, cache_pages}``
            (see :class:`~anonymizer.data.record_inpaint.RecordInpaintSamples`).
        plain: short strings on plain paper replacing the synthetic source, or None: ``{alphabet,
            chars, font_size, font_family, font_path, ink, paper}`` (see
            :class:`~anonymizer.data.plain_samples.PlainTextSamples`).
        log_text: whether callbacks may log the batch's target texts (image captions and
            the glyph panel, which renders them). None: True for synthetic text, False for
            records (real documents may hold personal data; captions then show lengths).
    """

    collate_fn = collate_inpaint

    def __init__(
        self,
        resolution: int = 64,
        crop_side: int = 64,
        source_size: int = 128,
        mask_margin: int = 2,
        max_words: int = 3,
        random_glyph_fraction: float = 0.0,
        batch_size: int = 8,
        num_workers: int = 2,
        seed: int = 0,
        train_size: int = 10_000,
        val_size: int = 32,
        glyph: Mapping[str, Any] | None = None,
        synthetic: Mapping[str, Any] | None = None,
        pin_memory: bool = False,
        records: Mapping[str, Any] | None = None,
        log_text: bool | None = None,
        plain: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        _int("resolution", resolution, 8)
        _int("crop_side", crop_side, 8)
        _int("source_size", source_size, 16)
        if source_size < crop_side:
            raise ValueError(f"data.source_size ({source_size}) must be >= data.crop_side ({crop_side})")
        _int("mask_margin", mask_margin, 0)
        _int("max_words", max_words, 1)
        f = random_glyph_fraction
        if isinstance(f, bool) or not isinstance(f, numbers.Real) or not 0.0 <= f <= 1.0:
            raise ValueError(f"data.random_glyph_fraction must be a number in [0, 1], got {f!r}")
        _int("batch_size", batch_size, 1)
        _int("num_workers", num_workers, 0)
        _int("seed", seed, 0)
        _int("train_size", train_size, 1)
        _int("val_size", val_size, 1)
        self.glyph_cfg = _mapping("glyph", glyph, _GLYPH_KEYS)
        self.glyph_cfg["processor"] = _mapping("glyph.processor", self.glyph_cfg.get("processor"), _PROCESSOR_KEYS)
        self.synthetic_cfg = _mapping("synthetic", synthetic, _SYNTHETIC_KEYS)
        self.style = SyntheticStyle(**(self.synthetic_cfg.pop("style", None) or {}))
        self.records_cfg = (
            _mapping("records", records, SPLIT_KEYS | _RECORD_SAMPLE_KEYS) if records is not None else None
        )
        self.plain_cfg = _mapping("plain", plain, _PLAIN_KEYS) if plain is not None else None
        if self.records_cfg is not None and self.plain_cfg is not None:
            raise ValueError("data.records and data.plain are two sources: give one of them")
        if log_text is not None and not isinstance(log_text, bool):
            raise ValueError(f"data.log_text must be true, false or null, got {log_text!r}")
        self.log_text = log_text if log_text is not None else self.records_cfg is None
        self.record_splits: RecordSplits | None = None
        self.sample_args = dict(
            resolution=int(resolution),
            crop_side=int(crop_side),
            source_size=int(source_size),
            mask_margin=int(mask_margin),
            max_words=int(max_words),
            random_glyph_fraction=float(f),
        )
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers)
        self.seed = int(seed)
        self.train_size = int(train_size)
        self.val_size = int(val_size)
        self.pin_memory = pin_memory
        self.glyph: GlyphRenderer | None = None
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None

    def build_glyph_renderer(self) -> GlyphRenderer:
        """The glyph renderer of the config (also what the model needs for blank glyphs)."""
        if self.glyph is None:
            self.glyph = GlyphRenderer(**self.glyph_cfg)
        return self.glyph

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        if self.records_cfg is not None:
            self._setup_records()
            return
        if self.plain_cfg is not None:
            args = {k: v for k, v in self.sample_args.items() if k != "max_words"}
            common = dict(args, glyph=self.build_glyph_renderer(), **self.plain_cfg)
            self.train_set = PlainTextSamples(length=self.train_size, seed=self.seed, **common)
            self.val_set = PlainTextSamples(length=self.val_size, seed=self.seed + _VAL_SEED_OFFSET, **common)
            return
        common = dict(self.sample_args, glyph=self.build_glyph_renderer(), style=self.style, **self.synthetic_cfg)
        self.train_set = InpaintSamples(length=self.train_size, seed=self.seed, **common)
        self.val_set = InpaintSamples(length=self.val_size, seed=self.seed + _VAL_SEED_OFFSET, **common)

    def _setup_records(self) -> None:
        cfg = dict(self.records_cfg)
        sample_args = {k: cfg.pop(k) for k in _RECORD_SAMPLE_KEYS if k in cfg}
        splits = load_record_splits(cfg, "data.records")
        self.record_splits = splits
        if not splits.val:
            raise RuntimeError(
                f"no validation pages from {cfg['train']}: give data.records.val, data.records.val_splits, "
                "or data.records.val_fraction > 0 with at least 2 usable documents"
            )
        args = {k: v for k, v in self.sample_args.items() if k != "source_size"}
        common = dict(args, glyph=self.build_glyph_renderer(),
                      locales=self.synthetic_cfg.get("locales") or DEFAULT_LOCALES,
                      max_pixels=cfg.get("max_pixels", DEFAULT_MAX_PIXELS), **sample_args)
        sets = []
        for name, records, length, seed in (("train", splits.train, self.train_size, self.seed),
                                            ("val", splits.val, self.val_size, self.seed + _VAL_SEED_OFFSET)):
            try:
                sets.append(RecordInpaintSamples(records, length=length, seed=seed, **common))
            except NoUsableWordsError as err:
                raise RuntimeError(f"no usable {name} pages in {cfg.get(name) or cfg['train']}: {err}") from None
        self.train_set, self.val_set = sets

    def text_height_range(self, n: int = 256, quantiles: tuple[float, float] = (0.05, 0.95)) -> list[float] | None:
        """``[low, high]`` text height of the training samples in window pixels (before the
        resize to ``resolution``): ``records.text_height`` when set, else the ``quantiles`` of the
        run heights of ``n`` training samples. None before ``setup``. Exports record it, and the
        text-edit pipeline resamples boxes into it."""
        if self.train_set is None:
            return None
        configured = (self.records_cfg or {}).get("text_height")
        if configured is not None:
            return [float(configured[0]), float(configured[1])]
        heights = self.train_set.text_heights(n)
        if not heights:
            return None
        low, high = np.quantile(heights, quantiles)
        return [round(float(low), 2), round(float(high), 2)]

    def describe(self) -> dict[str, Any]:
        """Sizes and glyph settings, for logs, summaries and export configs."""
        return {
            "train_samples": len(self.train_set) if self.train_set is not None else None,
            "val_samples": len(self.val_set) if self.val_set is not None else None,
            **self.sample_args,
            "glyph": self.glyph.describe() if self.glyph is not None else None,
            "log_text": self.log_text,
            **({"records": self.record_splits.describe()} if self.record_splits is not None else {}),
            **({"plain": self.plain_cfg} if self.plain_cfg is not None else {}),
        }
