"""Pages for the PII tagger: labelled words of page records -> features and BIO tags.

:func:`record_words` reads a :class:`~anonymizer.core.records.PageRecord` into words in
reading order, each with its entity (``(entity index, type)``; type :data:`UNKNOWN` for
entities whose words are values of no known type, such as FUNSD answers, which are left
out of the loss); :func:`encode_page` turns them into the model's arrays
(:mod:`anonymizer.core.word_features`). :class:`SyntheticTaggerPages` and
:class:`RecordTaggerPages` are the datasets, deterministic per ``(seed, index)``, and
:func:`collate_pages` pads a batch.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from anonymizer.core.records import PageRecord
from anonymizer.core.word_features import IGNORE, TAG_TYPES, page_features, tag_id
from anonymizer.data.ocr_noise import NoiseConfig, NoisyWord, add_ocr_noise

UNKNOWN = "?"
#: Labels of record datasets that are not PII types: FUNSD/XFUND questions are field labels
#: (``KEY``); their answers are values of unknown type (not trained); headers are ordinary text.
DEFAULT_LABEL_MAP: dict[str, str | None] = {"question": "KEY", "answer": UNKNOWN, "header": None, "other": None}


def record_words(record: PageRecord, label_map: Mapping[str, str | None] | None = None) -> list[NoisyWord]:
    """``(text, box, line, label)`` of the record's visible words in reading order; labels
    are ``(entity index, type)`` or ``None``. Entity labels outside :data:`TAG_TYPES` go
    through ``label_map`` (:data:`DEFAULT_LABEL_MAP` when ``None``); unmapped ones count as
    :data:`UNKNOWN`."""
    label_map = DEFAULT_LABEL_MAP if label_map is None else label_map
    of_word: dict[int, tuple[int, str]] = {}
    for k, e in enumerate(record.entities):
        label = e.label if e.label in TAG_TYPES else label_map.get(e.label, UNKNOWN)
        if label is None:
            continue
        for i in e.words:
            of_word.setdefault(i, (k, label))
    out: list[NoisyWord] = []
    for n, line in enumerate(record.lines()):
        for i in line:
            w = record.words[i]
            if w.text.strip():
                out.append((w.text.strip(), w.box, n, of_word.get(i)))
    return out


def _lines(words: Sequence[NoisyWord]) -> list[list[int]]:
    lines: list[list[int]] = []
    for k, w in enumerate(words):
        if lines and words[lines[-1][-1]][2] == w[2]:
            lines[-1].append(k)
        else:
            lines.append([k])
    return lines


def encode_page(words: Sequence[NoisyWord]) -> dict[str, np.ndarray]:
    """The model's arrays of ``words`` (in reading order) and their tag ids (``labels``)."""
    lines = _lines(words)
    f = page_features([w[0] for w in words], [w[1] for w in words], lines)
    labels = np.zeros(len(f.order), dtype=np.int64)
    prev = None
    for k, i in enumerate(f.order):
        label = words[i][3]
        if label is None:
            labels[k] = 0
        elif label[1] == UNKNOWN:
            labels[k] = IGNORE
        else:
            labels[k] = tag_id(label[1], begin=label != prev)
        prev = label
    return {"chars": f.chars, "feats": f.feats, "pos": f.pos, "labels": labels, "line_of": f.line_of}


@functools.lru_cache(maxsize=1)
def ordinary_words() -> tuple[str, ...]:
    """Common English, German and French words (Faker's lorem lists): text that is no entity."""
    from faker.providers.lorem.de_DE import Provider as German
    from faker.providers.lorem.en_US import Provider as English
    from faker.providers.lorem.fr_FR import Provider as French

    return tuple(sorted({w for p in (English, German, French) for w in p.word_list if len(w) > 1}))


def add_distractors(words: Sequence[NoisyWord], rng: random.Random, lines: int) -> list[NoisyWord]:
    """``words`` with ``lines`` extra lines of ordinary words (titles, headings, column headers:
    Title Case, UPPER CASE or lower case; labelled outside) inserted between the page's lines,
    the lines below moved down. Teaches the tagger that a capitalised unknown word is not a name."""
    if not words or lines <= 0:
        return list(words)
    vocab = ordinary_words()
    rows: list[list[NoisyWord]] = []
    for w in words:
        if rows and rows[-1][-1][2] == w[2]:
            rows[-1].append(w)
        else:
            rows.append([w])
    h = sorted(w[1][3] - w[1][1] for w in words)[len(words) // 2]
    left = min(w[1][0] for w in words)
    right = max(w[1][2] for w in words)
    for _ in range(lines):
        at = rng.randint(0, len(rows))
        y0 = rows[at][0][1][1] if at < len(rows) else rows[-1][0][1][3] + 0.5 * h
        size = h * rng.choice((1.0, 1.0, 1.3, 1.8))
        case = rng.choice((str.title, str.title, str.upper, str.lower, str.capitalize))
        texts = [case(rng.choice(vocab)) for _ in range(rng.randint(1, 4))]
        x = rng.uniform(left, max(left, (left + right) / 2))
        new = []
        for t in texts:
            width = 0.55 * size * len(t)
            new.append((t, (x, y0, x + width, y0 + size), -1, None))
            x += width + 0.4 * size
        shift = size + 0.5 * h
        rows = rows[:at] + [new] + [[(t, (b[0], b[1] + shift, b[2], b[3] + shift), ln, lab)
                                     for t, b, ln, lab in row] for row in rows[at:]]
    return [(t, b, n, lab) for n, row in enumerate(rows) for t, b, _, lab in row]


def window(words: Sequence[NoisyWord], max_words: int, rng: random.Random) -> list[NoisyWord]:
    """At most ``max_words`` words: a random run of whole lines when the page has more."""
    if len(words) <= max_words:
        return list(words)
    starts = [k for k in range(len(words)) if k == 0 or words[k][2] != words[k - 1][2]]
    starts = [s for s in starts if s <= len(words) - max_words] or [0]
    s = rng.choice(starts)
    return list(words[s : s + max_words])


class TaggerPages(Dataset):
    """Records seen through OCR noise: item ``i`` is record ``i % len(records)`` with noise
    (and ``distractors`` lines of ordinary words on average, :func:`add_distractors`) drawn
    from ``(seed, i)``."""

    def __init__(self, records: Sequence[Sequence[NoisyWord]], length: int | None, seed: int,
                 noise: NoiseConfig | None, max_words: int, distractors: float = 0.0) -> None:
        if not records:
            raise ValueError("no pages to train the tagger on")
        self.records = list(records)
        self.length = len(self.records) if length is None else int(length)
        self.seed = seed
        self.noise = noise
        self.max_words = max_words
        self.distractors = float(distractors)

    def __len__(self) -> int:
        return self.length

    def words(self, index: int) -> list[NoisyWord]:
        """The words of item ``index``: distractors, noise and window applied."""
        rng = random.Random(self.seed * 1_000_003 + index)
        words = self.records[index % len(self.records)]
        if self.distractors > 0:  # expected extra lines per page
            n = int(self.distractors) + (rng.random() < self.distractors - int(self.distractors))
            words = add_distractors(words, rng, n)
        if self.noise is not None and self.noise.enabled():
            words = add_ocr_noise(words, rng, self.noise)
        return window(words, self.max_words, rng)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return encode_page(self.words(index))


def _synthetic_words(args: tuple[int, int, dict[str, Any]]) -> list[NoisyWord]:
    from anonymizer.data.synth_pages import PageConfig, generate_record

    index, seed, page = args
    return record_words(generate_record(index, seed, PageConfig.from_mapping(dict(page))))


def synthetic_words(count: int, seed: int, page: Mapping[str, Any], workers: int = 0) -> list[list[NoisyWord]]:
    """The labelled words of synthetic pages ``0..count-1`` of ``seed`` (``workers`` processes)."""
    jobs = [(i, seed, dict(page)) for i in range(count)]
    if workers > 0 and count > 1:
        with ProcessPoolExecutor(workers) as pool:
            return list(pool.map(_synthetic_words, jobs, chunksize=8))
    return [_synthetic_words(j) for j in jobs]


def collate_pages(items: Sequence[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    """Pad pages to the longest: ``chars (B, N, C)``, ``feats (B, N, F)``, ``pos (B, N, 2)``,
    ``mask (B, N)`` (true for words), ``labels (B, N)`` (:data:`IGNORE` on padding), ``line_of``."""
    n = max(max(len(it["labels"]) for it in items), 1)
    b = len(items)
    first = items[0]
    chars = np.zeros((b, n, first["chars"].shape[1]), dtype=np.int64)
    feats = np.zeros((b, n, first["feats"].shape[1]), dtype=np.float32)
    pos = np.zeros((b, n, 2), dtype=np.float32)
    mask = np.zeros((b, n), dtype=bool)
    labels = np.full((b, n), IGNORE, dtype=np.int64)
    line_of = np.full((b, n), -1, dtype=np.int64)
    for k, it in enumerate(items):
        m = len(it["labels"])
        chars[k, :m], feats[k, :m], pos[k, :m] = it["chars"], it["feats"], it["pos"]
        mask[k, :m], labels[k, :m], line_of[k, :m] = True, it["labels"], it["line_of"]
    return {key: torch.from_numpy(v) for key, v in
            {"chars": chars, "feats": feats, "pos": pos, "mask": mask, "labels": labels, "line_of": line_of}.items()}
