"""Token- and entity-level precision/recall/F1 of BIO tag sequences, per type, and the
token confusion matrix over types (``O`` first). An entity counts as found when a predicted
span has its type and exactly its words; words whose true tag is ignored (``IGNORE``) do not
count, and neither do predicted spans that touch one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from anonymizer.core.word_features import IGNORE, TAG_TYPES, TAGS, decode_spans

_TYPE_OF_TAG = np.array([0] + [1 + TAG_TYPES.index(t.split("-", 1)[1]) for t in TAGS[1:]], dtype=np.int64)


def _prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass
class TaggingScores:
    """Counts accumulated over pages by :meth:`update`; :meth:`compute` gives the scores."""

    entity: dict[str, list[int]] = field(default_factory=lambda: {t: [0, 0, 0] for t in TAG_TYPES})
    confusion: np.ndarray = field(default_factory=lambda: np.zeros((len(TAG_TYPES) + 1,) * 2, dtype=np.int64))

    def update(self, true: Sequence[int], pred: Sequence[int], line_of: Sequence[int] | None = None) -> None:
        """Add one page: true and predicted tag ids of its words in reading order."""
        true, pred = np.asarray(true, dtype=np.int64), np.asarray(pred, dtype=np.int64)
        keep = true != IGNORE
        np.add.at(self.confusion, (_TYPE_OF_TAG[true[keep]], _TYPE_OF_TAG[pred[keep]]), 1)
        ignored = set(np.flatnonzero(~keep).tolist())
        t_spans = set(decode_spans(np.where(keep, true, 0), line_of))
        p_spans = {s for s in decode_spans(pred, line_of) if not ignored.intersection(range(s[1], s[2]))}
        for label, *_ in t_spans & p_spans:
            self.entity[label][0] += 1
        for label, *_ in p_spans - t_spans:
            self.entity[label][1] += 1
        for label, *_ in t_spans - p_spans:
            self.entity[label][2] += 1

    def compute(self) -> dict[str, float]:
        """``f1``/``precision``/``recall`` (entities, micro over every type), ``f1_pii`` (without
        ``KEY``), ``f1/<TYPE>`` etc. for types that occur, and ``token_f1`` (words, type level)."""
        out: dict[str, float] = {}
        for name, types in (("", TAG_TYPES), ("_pii", tuple(t for t in TAG_TYPES if t != "KEY"))):
            tp, fp, fn = (sum(self.entity[t][k] for t in types) for k in range(3))
            p, r, f = _prf(tp, fp, fn)
            out[f"precision{name}"], out[f"recall{name}"], out[f"f1{name}"] = p, r, f
        for t in TAG_TYPES:
            tp, fp, fn = self.entity[t]
            if tp + fp + fn:
                out[f"precision/{t}"], out[f"recall/{t}"], out[f"f1/{t}"] = _prf(tp, fp, fn)
        c = self.confusion
        tp = float(np.trace(c) - c[0, 0])
        fp = float(c[:, 1:].sum() - (np.trace(c) - c[0, 0]))
        fn = float(c[1:, :].sum() - (np.trace(c) - c[0, 0]))
        out["token_precision"], out["token_recall"], out["token_f1"] = _prf(tp, fp, fn)
        return out

    def support(self) -> dict[str, int]:
        """True entities per type."""
        return {t: v[0] + v[2] for t, v in self.entity.items() if v[0] + v[2]}
