"""What the PII tagger sees of a page's words, and its BIO tag vocabulary.

Shared by training (:mod:`anonymizer.data.tagger_pages`) and the numpy inference of the
pipeline (:mod:`anonymizer.pipeline.tagger`), so both read words the same way. numpy only.

A page's words are taken in reading order (lines top to bottom, words left to right) and
turned into, per word: character ids (:data:`CHARSET`, no pretrained vocabulary; unknown
characters share one id), shape features (case, digits, punctuation) and layout features
(the box normalised to the extent of the page's words, the height relative to the median
word height, the place in its line and on the page), plus ``pos``: the word centre in
units of the median word height, from which the model's relative 2-D attention bias is
computed (:func:`relative_buckets`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from anonymizer.core.geometry import Box
from anonymizer.core.records import PII_LABELS

#: Entity types the tagger tags: the project's PII types plus ``KEY`` (a field label's text).
TAG_TYPES: tuple[str, ...] = (*sorted(PII_LABELS), "KEY")
#: BIO tags: ``O``, then ``B-<type>`` and ``I-<type>`` for each of :data:`TAG_TYPES`.
TAGS: tuple[str, ...] = ("O", *(f"{p}-{t}" for t in TAG_TYPES for p in ("B", "I")))
IGNORE = -100  # a word whose tag is unknown (e.g. a FUNSD answer: a value, type unknown)

#: Characters with their own id (0 is padding, 1 every other character).
CHARSET = (
    "".join(chr(c) for c in range(33, 127))
    + "ÄÖÜäöüßÉÈÊËÀÂÇÎÏÔÛÙéèêëàâçîïôûùœŒñÑáíóú€£¥§°–—’‘“”«»•·±×"
)
CHAR_IDS = {c: i + 2 for i, c in enumerate(CHARSET)}
CHAR_VOCAB_SIZE = len(CHARSET) + 2
MAX_CHARS = 20  # longer words keep their first 14 and last 6 characters

_PUNCT = set(".,;:!?()[]{}\"'/\\-_")
_CURRENCY = set("$€£¥")
SHAPE_FEATURES = 14
LAYOUT_FEATURES = 12
FEATURES = SHAPE_FEATURES + LAYOUT_FEATURES
#: Relative position buckets per axis: sign x log2 distance in word heights, clipped.
REL_BUCKETS_HALF = 8
REL_BUCKETS = 2 * REL_BUCKETS_HALF + 1


@dataclass
class PageFeatures:
    """One page's words in reading order: ``order[k]`` is the index (into the words given)
    of the ``k``-th word; ``chars`` ``(N, MAX_CHARS)`` int64, ``feats`` ``(N, FEATURES)``
    float32, ``pos`` ``(N, 2)`` float32 (centre in median word heights)."""

    order: np.ndarray
    chars: np.ndarray
    feats: np.ndarray
    pos: np.ndarray
    line_of: np.ndarray  # line number (0..) of each word in reading order


def char_ids(text: str) -> np.ndarray:
    """``MAX_CHARS`` character ids of ``text`` (0-padded)."""
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 6] + text[-6:]
    out = np.zeros(MAX_CHARS, dtype=np.int64)
    for k, c in enumerate(text):
        out[k] = CHAR_IDS.get(c, 1)
    return out


def shape_features(text: str) -> list[float]:
    """Case, digit, punctuation and length features of one word (:data:`SHAPE_FEATURES` values)."""
    n = max(len(text), 1)
    letters = sum(c.isalpha() for c in text)
    digits = sum(c.isdigit() for c in text)
    punct = sum(c in _PUNCT for c in text)
    upper = sum(c.isupper() for c in text)
    return [
        letters / n,
        digits / n,
        punct / n,
        upper / max(letters, 1),
        float(text[:1].isupper()),
        float(letters > 0 and upper == letters),
        float(digits > 0 and digits + punct == len(text)),
        float("@" in text),
        float(text.endswith(":")),
        float(any(c in _CURRENCY for c in text)),
        float("/" in text or "-" in text),
        float("." in text or "," in text),
        min(len(text), 30) / 10.0,
        float(any(c.isdigit() for c in text) and letters > 0),
    ]


def page_features(texts: Sequence[str], boxes: Sequence[Box], lines: Sequence[Sequence[int]]) -> PageFeatures:
    """Features of the words ``lines`` name (word indices per line, in reading order)."""
    order = np.array([i for line in lines for i in line], dtype=np.int64)
    n = len(order)
    if n == 0:
        empty = np.zeros((0,), dtype=np.int64)
        return PageFeatures(empty, np.zeros((0, MAX_CHARS), np.int64), np.zeros((0, FEATURES), np.float32),
                            np.zeros((0, 2), np.float32), empty)
    b = np.array([boxes[i] for i in order], dtype=np.float64)
    heights = np.maximum(b[:, 3] - b[:, 1], 1.0)
    h = float(np.median(heights))
    x_min, y_min = b[:, 0].min(), b[:, 1].min()
    width = max(b[:, 2].max() - x_min, h)
    height = max(b[:, 3].max() - y_min, h)
    line_of = np.array([k for k, line in enumerate(lines) for _ in line], dtype=np.int64)
    n_lines = max(len(lines), 1)
    feats = np.zeros((n, FEATURES), dtype=np.float32)
    k = 0
    for li, line in enumerate(lines):
        for j, i in enumerate(line):
            x0, y0, x1, y1 = b[k]
            feats[k, :SHAPE_FEATURES] = shape_features(texts[i])
            gap_before = (x0 - b[k - 1, 2]) / h if j > 0 else 10.0
            gap_after = (b[k + 1, 0] - x1) / h if j + 1 < len(line) else 10.0
            feats[k, SHAPE_FEATURES:] = [
                (x0 - x_min) / width,
                (x1 - x_min) / width,
                (y0 - y_min) / height,
                (y1 - y_min) / height,
                math.log(heights[k] / h),
                j / max(len(line) - 1, 1),
                float(j == 0),
                float(j == len(line) - 1),
                li / n_lines,
                min(len(line), 20) / 10.0,
                min(max(gap_before, -2.0), 10.0) / 5.0,
                min(max(gap_after, -2.0), 10.0) / 5.0,
            ]
            k += 1
    chars = np.stack([char_ids(texts[i]) for i in order])
    pos = np.stack([(b[:, 0] + b[:, 2]) / 2 / h, (b[:, 1] + b[:, 3]) / 2 / h], axis=1).astype(np.float32)
    return PageFeatures(order, chars, feats, pos, line_of)


def relative_buckets(pos: np.ndarray) -> np.ndarray:
    """``(..., N, N, 2)`` bucket ids (0..REL_BUCKETS-1) of the x and y offsets between words,
    from ``pos`` ``(..., N, 2)``: sign x floor(2 log2(1 + |d|)), clipped (numpy twin of the
    model's torch version)."""
    d = pos[..., None, :, :] - pos[..., :, None, :]
    mag = np.minimum(np.floor(2.0 * np.log2(1.0 + np.abs(d))), REL_BUCKETS_HALF)
    return (np.sign(d) * mag + REL_BUCKETS_HALF).astype(np.int64)


def tag_id(label: str | None, begin: bool) -> int:
    """The tag id of a word of an entity ``label`` (``None``: outside)."""
    if label is None:
        return 0
    return TAGS.index(f"{'B' if begin else 'I'}-{label}")


def decode_spans(tags: Sequence[int], line_of: Sequence[int] | None = None) -> list[tuple[str, int, int]]:
    """``(type, first, last + 1)`` spans (positions in the sequence) of BIO tag ids. An ``I``
    that does not continue a span of its type starts one; spans never cross a line when
    ``line_of`` is given."""
    spans: list[tuple[str, int, int]] = []
    cur: list = []
    for k, t in enumerate(tags):
        name = TAGS[int(t)] if 0 <= int(t) < len(TAGS) else "O"
        if name == "O":
            cur = []
            continue
        prefix, label = name.split("-", 1)
        new_line = line_of is not None and k > 0 and line_of[k] != line_of[k - 1]
        if prefix == "I" and cur and cur[0] == label and cur[2] == k and not new_line:
            cur[2] = k + 1
            spans[-1] = (label, cur[1], k + 1)
        else:
            cur = [label, k, k + 1]
            spans.append((label, k, k + 1))
    return spans
