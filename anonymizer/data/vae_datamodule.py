"""DataModule of square document crops for VAE training.

Sources, mixed when several are given: synthetic crops (the embedded default, no
downloads), random ink-bearing crops of a folder of real pages (PNG/JPEG/TIFF/PDF, every page), and
crops around the words and lines of page records (``records``, see
:mod:`anonymizer.data.record_crops`). All are deterministic per (seed, index). Batches are
``{"image": (B, 3, crop_size, crop_size) in [-1, 1]}``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from torch.utils.data import ConcatDataset, Dataset

from anonymizer.core.documents import DEFAULT_DPI
from anonymizer.core.image_io import DEFAULT_MAX_PIXELS
from anonymizer.data.loaders import SplitDataModule
from anonymizer.data.page_crops import DEFAULT_MAX_PAGES, PageCrops, scan_image_folder
from anonymizer.data.record_crops import SPLIT_KEYS, NoUsableWordsError, RecordCrops, RecordSplits, load_record_splits
from anonymizer.data.synthetic import SyntheticCrops, SyntheticStyle
from anonymizer.data.transforms import CropToTensor

log = logging.getLogger(__name__)

_VAL_SEED_OFFSET = 1_000_003  # val crops never coincide with train crops
_RECORD_CROP_KEYS = {"train_size", "val_size", "text_height", "line_prob", "min_text_height", "cache_pages"}


def _check_positive(name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"data.{name} must be an integer >= {minimum}, got {value!r}")


class VAEDataModule(SplitDataModule):
    """Document crops for the VAE; see the module docstring.

    Args:
        crop_size: side of the square crops in pixels.
        batch_size: per-process batch size.
        num_workers: DataLoader worker processes (0 = load in the main process).
        seed: base seed of all sampling.
        synthetic: ``{train_size, val_size, font_dirs, font_families, style}`` or None.
        image_dir: folder of real page images, or None.
        image_crops: ``{train_size, val_size, val_fraction, ink_threshold, max_tries,
            cache_pages, max_pixels, recursive, dpi, max_pages}`` for ``image_dir``.
        records: page records, or None: ``{train, val, val_fraction, train_splits,
            val_splits, check_pages, max_pixels}`` (files and split, see
            :func:`~anonymizer.data.record_crops.load_record_splits`) and ``{train_size,
            val_size, text_height, line_prob, min_text_height, cache_pages}`` (crops, see
            :class:`~anonymizer.data.record_crops.RecordCrops`).
    """

    def __init__(
        self,
        crop_size: int = 64,
        batch_size: int = 16,
        num_workers: int = 2,
        seed: int = 0,
        synthetic: Mapping[str, Any] | None = None,
        image_dir: str | None = None,
        image_crops: Mapping[str, Any] | None = None,
        pin_memory: bool = False,
        records: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        _check_positive("crop_size", crop_size, 8)
        _check_positive("batch_size", batch_size)
        _check_positive("num_workers", num_workers, 0)
        if synthetic is None and not image_dir and records is None:
            raise ValueError("data: give a synthetic source, an image_dir and/or records")
        self.crop_size = crop_size
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.synthetic = dict(synthetic) if synthetic is not None else None
        self.image_dir = image_dir
        self.image_crops = dict(image_crops or {})
        self.pin_memory = pin_memory
        if isinstance(records, DictConfig):
            records = OmegaConf.to_container(records, resolve=True)
        self.records = dict(records) if records is not None else None
        if self.records is not None:
            unknown = sorted(set(self.records) - SPLIT_KEYS - _RECORD_CROP_KEYS)
            if unknown:
                raise ValueError(f"data.records has unknown keys: {unknown} "
                                 f"(allowed: {sorted(SPLIT_KEYS | _RECORD_CROP_KEYS)})")
        self.record_splits: RecordSplits | None = None
        self.skipped: list[tuple[Path, str]] = []
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None

    # ------------------------------------------------------------------ sources
    def _synthetic_sets(self) -> tuple[Dataset, Dataset]:
        cfg = dict(self.synthetic)
        style = SyntheticStyle(**dict(cfg.pop("style", None) or {}))
        common = dict(
            size=self.crop_size,
            style=style,
            font_dirs=cfg.pop("font_dirs", None),
            font_families=cfg.pop("font_families", None),
        )
        train_size = cfg.pop("train_size", 10_000)
        val_size = cfg.pop("val_size", 64)
        if cfg:
            raise ValueError(f"data.synthetic has unknown keys: {sorted(cfg)}")
        train = SyntheticCrops(length=train_size, seed=self.seed, **common)
        val = SyntheticCrops(length=val_size, seed=self.seed + _VAL_SEED_OFFSET, **common)
        return train, val

    def _image_sets(self) -> tuple[Dataset, Dataset | None]:
        cfg = dict(self.image_crops)
        max_pixels = cfg.pop("max_pixels", DEFAULT_MAX_PIXELS)
        val_fraction = float(cfg.pop("val_fraction", 0.1))
        train_size = cfg.pop("train_size", 10_000)
        val_size = cfg.pop("val_size", 64)
        recursive = bool(cfg.pop("recursive", True))
        dpi = cfg.pop("dpi", DEFAULT_DPI)
        max_pages = cfg.pop("max_pages", DEFAULT_MAX_PAGES)
        crop_args = {k: cfg.pop(k) for k in ("ink_threshold", "max_tries", "cache_pages") if k in cfg}
        if cfg:
            raise ValueError(f"data.image_crops has unknown keys: {sorted(cfg)}")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"data.image_crops.val_fraction must be in [0, 1), got {val_fraction}")
        usable, skipped = scan_image_folder(
            self.image_dir, self.crop_size, max_pixels=max_pixels, recursive=recursive, dpi=dpi, max_pages=max_pages
        )
        self.skipped = skipped
        if skipped:
            log.warning("%d of %d images in %s were skipped (see warnings above)",
                        len(skipped), len(usable) + len(skipped), self.image_dir)
        if not usable:
            reasons = "; ".join(f"{p.name}: {r}" for p, r in skipped[:5])
            raise RuntimeError(
                f"no usable page images in {self.image_dir}: {len(skipped)} skipped"
                + (f" ({reasons}{' ...' if len(skipped) > 5 else ''})" if skipped
                   else " (no PNG/JPEG/TIFF/PDF files found)")
            )
        n_val = int(round(len(usable) * val_fraction))
        if val_fraction > 0 and n_val == 0 and len(usable) >= 2:
            n_val = 1
        if n_val >= len(usable):
            n_val = len(usable) - 1
        # Every k-th page goes to validation: deterministic and spread over the folder.
        val_files = usable[:: max(1, len(usable) // n_val)][:n_val] if n_val else []
        train_files = [p for p in usable if p not in set(val_files)]
        common = dict(crop_size=self.crop_size, max_pixels=max_pixels, dpi=dpi, **crop_args)
        train = PageCrops(train_files, length=train_size, seed=self.seed, **common)
        val = PageCrops(val_files, length=val_size, seed=self.seed + _VAL_SEED_OFFSET, **common) if val_files else None
        log.info("Image folder %s: %d train pages, %d val pages", self.image_dir, len(train_files), len(val_files))
        return train, val

    def _record_sets(self) -> tuple[Dataset, Dataset | None]:
        cfg = dict(self.records)
        crop_args = {k: cfg.pop(k) for k in _RECORD_CROP_KEYS if k in cfg}
        train_size = crop_args.pop("train_size", 10_000)
        val_size = crop_args.pop("val_size", 64)
        splits = load_record_splits(cfg, "data.records")
        self.record_splits = splits
        common = dict(crop_size=self.crop_size, max_pixels=cfg.get("max_pixels", DEFAULT_MAX_PIXELS), **crop_args)
        try:
            train = RecordCrops(splits.train, length=train_size, seed=self.seed, **common)
        except NoUsableWordsError as err:
            raise RuntimeError(f"no usable training pages in {cfg['train']}: {err}") from None
        val = None
        if splits.val:
            try:
                val = RecordCrops(splits.val, length=val_size, seed=self.seed + _VAL_SEED_OFFSET, **common)
            except NoUsableWordsError as err:
                log.warning("data.records: no validation crops: %s", err)
        return train, val

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        trains: list[Dataset] = []
        vals: list[Dataset] = []
        if self.synthetic is not None:
            train, val = self._synthetic_sets()
            trains.append(train)
            vals.append(val)
        if self.image_dir:
            train, val = self._image_sets()
            trains.append(train)
            if val is not None:
                vals.append(val)
        if self.records is not None:
            train, val = self._record_sets()
            trains.append(train)
            if val is not None:
                vals.append(val)
        if not vals:
            raise RuntimeError(
                "no validation data: set data.image_crops.val_fraction > 0 with at least 2 usable pages, "
                "give data.records.val (or val_fraction > 0 with at least 2 usable documents, or val_splits), "
                "or enable the synthetic source"
            )
        self.train_set = CropToTensor(ConcatDataset(trains))
        self.val_set = CropToTensor(ConcatDataset(vals))

    def describe(self) -> dict[str, Any]:
        """Sizes and skip counts, for logs and summaries."""
        return {
            "train_crops": len(self.train_set) if self.train_set is not None else None,
            "val_crops": len(self.val_set) if self.val_set is not None else None,
            "skipped_images": len(self.skipped),
            **({"records": self.record_splits.describe()} if self.record_splits is not None else {}),
        }

