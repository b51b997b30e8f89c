"""DataModule of labelled pages for the PII tagger (:mod:`anonymizer.data.tagger_pages`).

Sources, mixed when several are given:

* ``synthetic`` (the embedded default, no downloads): ``train_pages`` pages of the page
  generator (every family in ``page.kinds``, the real-document ones included) laid out once
  in ``setup``, each seen through fresh simulated OCR noise every time it is drawn
  (``train_size`` items per epoch). Validation pages come from another seed (whole
  documents never shared with training); ``test_seed`` names the held-out seed of the
  evaluation (``python -m anonymizer.evaluate task=pii_tagger``).
* ``records``: page records (FUNSD/XFUND/CORD/SROIE/truth readers, or synthetic pages
  read through Tesseract by ``python -m anonymizer.data.prepare``), split by document
  (:func:`~anonymizer.data.record_crops.load_record_splits`); labels outside the tag types
  go through ``label_map`` (FUNSD ``question`` -> ``KEY``, ``answer`` -> not trained).

Batches are :func:`~anonymizer.data.tagger_pages.collate_pages` dicts. Exact resume as for
the other DataModules (:class:`~anonymizer.data.loaders.SplitDataModule`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import ConcatDataset, Dataset

from anonymizer.core.word_features import IGNORE, TAGS
from anonymizer.data.loaders import SplitDataModule
from anonymizer.data.ocr_noise import NoiseConfig
from anonymizer.data.record_crops import SPLIT_KEYS, load_record_splits
from anonymizer.data.tagger_pages import TaggerPages, collate_pages, record_words, synthetic_words

log = logging.getLogger(__name__)

_VAL_SEED_OFFSET = 1_000_003
_SYNTH_KEYS = {"train_pages", "train_size", "val_pages", "val_seed", "test_seed", "page", "workers", "distractors"}
_RECORD_KEYS = {"label_map", "repeat"}


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value


class PiiTaggerDataModule(SplitDataModule):
    """Labelled pages for :class:`~anonymizer.models.pii_tagger_module.PiiTaggerModule`;
    see the module docstring.

    Args:
        batch_size: pages per batch.
        num_workers: DataLoader worker processes.
        seed: base seed (page noise and order).
        max_words: a longer page is cut to a random run of whole lines of this many words.
        noise: :class:`~anonymizer.data.ocr_noise.NoiseConfig` rates (``None``: no noise).
        synthetic: ``{train_pages, train_size, val_pages, val_seed, test_seed, page, workers,
            distractors}`` (``page``: :class:`~anonymizer.data.synth_pages.PageConfig` fields;
            ``distractors``: lines of ordinary words added per page on average) or None.
        records: ``load_record_splits`` keys plus ``label_map`` and ``repeat`` (draws of
            each training record per epoch), or None.
    """

    collate_fn = staticmethod(collate_pages)

    def __init__(self, batch_size: int = 16, num_workers: int = 0, seed: int = 0, max_words: int = 320,
                 noise: Mapping[str, Any] | None = None, synthetic: Mapping[str, Any] | None = None,
                 records: Mapping[str, Any] | None = None, pin_memory: bool = False) -> None:
        super().__init__()
        for name, value, low in (("batch_size", batch_size, 1), ("num_workers", num_workers, 0),
                                 ("max_words", max_words, 8)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"data.{name} must be an integer >= {low}, got {value!r}")
        if synthetic is None and records is None:
            raise ValueError("data: give a synthetic source and/or records")
        self.batch_size, self.num_workers, self.seed, self.max_words = batch_size, num_workers, seed, max_words
        self.pin_memory = pin_memory
        self.noise = NoiseConfig(**dict(_plain(noise))) if noise is not None else None
        self.synthetic = dict(_plain(synthetic)) if synthetic is not None else None
        self.records = dict(_plain(records)) if records is not None else None
        for name, spec, keys in (("synthetic", self.synthetic, _SYNTH_KEYS),
                                 ("records", self.records, SPLIT_KEYS | _RECORD_KEYS)):
            unknown = sorted(set(spec or {}) - keys)
            if unknown:
                raise ValueError(f"data.{name} has unknown keys: {unknown} (allowed: {sorted(keys)})")
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.sizes: dict[str, int] = {}

    def _synthetic_sets(self) -> tuple[Dataset, Dataset]:
        cfg = self.synthetic
        page, workers = cfg.get("page") or {}, int(cfg.get("workers", 0))
        n_train, n_val = int(cfg.get("train_pages", 1000)), int(cfg.get("val_pages", 64))
        val_seed = int(cfg.get("val_seed", self.seed + _VAL_SEED_OFFSET))
        train_words = synthetic_words(n_train, self.seed, page, workers)
        val_words = synthetic_words(n_val, val_seed, page, workers)
        self.sizes.update(synthetic_train_pages=n_train, synthetic_val_pages=n_val)
        distractors = float(cfg.get("distractors", 0.0))
        train = TaggerPages(train_words, int(cfg.get("train_size", 20 * n_train)), self.seed, self.noise,
                            self.max_words, distractors)
        val = TaggerPages(val_words, None, val_seed, self.noise, self.max_words, distractors)
        return train, val

    def _record_sets(self) -> tuple[Dataset, Dataset | None]:
        cfg = dict(self.records)
        label_map = cfg.pop("label_map", None)
        repeat = int(cfg.pop("repeat", 1))
        cfg.setdefault("check_pages", False)  # the tagger reads words only
        splits = load_record_splits(cfg, "data.records")
        train_words = [record_words(r, label_map) for r in splits.train]
        val_words = [record_words(r, label_map) for r in splits.val]
        self.sizes.update(record_train_pages=len(train_words), record_val_pages=len(val_words))
        train = TaggerPages(train_words, repeat * len(train_words), self.seed + 1, self.noise, self.max_words)
        val = TaggerPages(val_words, None, self.seed + _VAL_SEED_OFFSET, None, self.max_words) if val_words else None
        return train, val

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        trains, vals = [], []
        if self.synthetic is not None:
            train, val = self._synthetic_sets()
            trains.append(train)
            vals.append(val)
        if self.records is not None:
            train, val = self._record_sets()
            trains.append(train)
            if val is not None:
                vals.append(val)
        self.train_set = ConcatDataset(trains)
        self.val_set = ConcatDataset(vals)
        log.info("Tagger pages: %s", self.sizes)

    def class_counts(self, pages: int = 200) -> np.ndarray:
        """Tag counts over (up to) the first ``pages`` training items, for class weights."""
        self.setup()
        counts: Counter[int] = Counter()
        for i in range(min(pages, len(self.train_set))):
            counts.update(int(t) for t in self.train_set[i]["labels"] if t != IGNORE)
        return np.array([counts.get(k, 0) for k in range(len(TAGS))], dtype=np.float64)

    def describe(self) -> dict[str, Any]:
        return dict(self.sizes)
