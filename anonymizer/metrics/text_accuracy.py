"""Text recognition accuracy of OCR readings against ground-truth strings.

Every function compares strings after :func:`~anonymizer.core.text.nfkc_single_spaced` (Unicode NFKC, runs of
whitespace collapsed to one space, ends stripped); case and punctuation count. Edit
distances are Levenshtein distances over characters (insertion, deletion and substitution
cost 1), computed by ``torchmetrics.functional.text.edit_distance``.

* **CER** (character error rate): ``edit distance / len(target)``; over several pairs the
  corpus rate ``sum(edit distances) / sum(len(targets))`` (torchmetrics' ``char_error_rate``).
  An empty target gives 0 when the reading is empty too, else 1 per read character.
* **word accuracy**: the share of the target's words (split on spaces) that the reading
  contains, as multisets: ``|words(target) ∩ words(reading)| / |words(target)|`` (order is
  ignored, a repeated word must be read as often). Over several pairs: summed matches over
  summed target words.
* **sentence accuracy**: the share of pairs whose reading equals the target exactly.
* **NED** (normalised edit distance): ``edit distance / max(len(reading), len(target))`` in
  [0, 1] (0 when both are empty); AnyText and DiffUTE report its complement ``1 - NED``
  (:func:`ned_score`, higher is better), averaged over pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from torchmetrics.functional.text import edit_distance as _edit_distance

from anonymizer.core.text import nfkc_single_spaced


def _pairs(predictions: Sequence[str], targets: Sequence[str]) -> tuple[list[str], list[str]]:
    if isinstance(predictions, str) or isinstance(targets, str):
        raise TypeError("give lists of strings (one reading per target)")
    if len(predictions) != len(targets):
        raise ValueError(f"got {len(predictions)} readings for {len(targets)} targets")
    return [nfkc_single_spaced(p) for p in predictions], [nfkc_single_spaced(t) for t in targets]


def edit_distance(prediction: str, target: str) -> int:
    """Levenshtein distance between the normalised strings."""
    p, t = nfkc_single_spaced(prediction), nfkc_single_spaced(target)
    if not p or not t:  # torchmetrics needs non-empty inputs for a per-pair result
        return max(len(p), len(t))
    return int(_edit_distance([p], [t], reduction="sum"))


def char_errors(prediction: str, target: str) -> tuple[int, int]:
    """``(edit distance, target length)``: the numerator and denominator of the CER."""
    return edit_distance(prediction, target), len(nfkc_single_spaced(target))


def cer(predictions: Sequence[str], targets: Sequence[str]) -> float:
    """Corpus character error rate: summed edit distances over summed target lengths.

    0.0 for no pairs; with only empty targets, the number of read characters (each is an error).
    """
    preds, tgts = _pairs(predictions, targets)
    errors = sum(edit_distance(p, t) for p, t in zip(preds, tgts))
    chars = sum(len(t) for t in tgts)
    return errors / chars if chars else float(errors)


def word_matches(prediction: str, target: str) -> tuple[int, int]:
    """``(target words read, target words)``: multiset overlap of the space-separated words."""
    want = Counter(nfkc_single_spaced(target).split())
    got = Counter(nfkc_single_spaced(prediction).split())
    return sum((want & got).values()), sum(want.values())


def word_accuracy(predictions: Sequence[str], targets: Sequence[str]) -> float:
    """Summed :func:`word_matches` over summed target words (1.0 when no target has a word)."""
    preds, tgts = _pairs(predictions, targets)
    hits = total = 0
    for p, t in zip(preds, tgts):
        a, b = word_matches(p, t)
        hits, total = hits + a, total + b
    return hits / total if total else 1.0


def sentence_accuracy(predictions: Sequence[str], targets: Sequence[str]) -> float:
    """Share of pairs read exactly (after normalisation); 0.0 for no pairs."""
    preds, tgts = _pairs(predictions, targets)
    return sum(p == t for p, t in zip(preds, tgts)) / len(tgts) if tgts else 0.0


def ned(prediction: str, target: str) -> float:
    """Normalised edit distance ``edit distance / max(len(prediction), len(target))`` in [0, 1]."""
    p, t = nfkc_single_spaced(prediction), nfkc_single_spaced(target)
    longest = max(len(p), len(t))
    return edit_distance(p, t) / longest if longest else 0.0


def ned_score(predictions: Sequence[str], targets: Sequence[str]) -> float:
    """AnyText's "NED": the mean of ``1 - ned`` over pairs (higher is better); 0.0 for no pairs."""
    preds, tgts = _pairs(predictions, targets)
    return sum(1.0 - ned(p, t) for p, t in zip(preds, tgts)) / len(tgts) if tgts else 0.0
