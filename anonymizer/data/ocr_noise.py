"""Simulated OCR noise on labelled words: splits, merges, character substitutions, dropped
punctuation and box jitter, keeping every word's label (the tagger's training pages).

Words are ``(text, box, line, label)`` with ``label`` an entity key (any hashable that
identifies the entity, or ``None`` outside entities). A split gives both pieces the
word's label; words are merged only within one entity or outside entities, so labels
stay exact. Deterministic for a given ``random.Random`` state.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from anonymizer.core.geometry import Box

#: Characters OCR confuses, each with what it is misread as.
CONFUSIONS: dict[str, str] = {
    "0": "OoD", "O": "0QD", "o": "0ec", "1": "lI7|", "l": "1I|", "I": "1l|", "5": "S", "S": "5$", "8": "B3",
    "B": "8", "2": "Z", "Z": "2", "6": "b", "b": "6h", "e": "co", "c": "e(", "a": "o", "n": "r", "m": "rn",
    "u": "v", "v": "u", "g": "q9", "9": "g", "t": "f", "f": "t", "h": "b", ",": ".", ".": ",", "-": "~",
    "@": "a", "i": "l", "r": "n",
}
_TRAILING = ".,;:"


@dataclass(frozen=True)
class NoiseConfig:
    """Rates of :func:`add_ocr_noise`; all 0 leaves the words unchanged."""

    substitute: float = 0.015    # per character
    drop_punct: float = 0.15     # per word ending in punctuation
    split: float = 0.03          # per word of 4+ characters
    merge: float = 0.03          # per pair of neighbours on a line (same entity or both outside)
    drop_char: float = 0.004     # per character
    case: float = 0.01           # per word: all upper or all lower case
    jitter: float = 0.08         # box jitter as a fraction of the word height

    def enabled(self) -> bool:
        return any((self.substitute, self.drop_punct, self.split, self.merge, self.drop_char, self.case,
                    self.jitter))


NoisyWord = tuple[str, Box, int, Hashable | None]


def _substitute(text: str, rng: random.Random, cfg: NoiseConfig) -> str:
    out = []
    for c in text:
        r = rng.random()
        if r < cfg.drop_char and len(text) > 2:
            continue
        if r < cfg.drop_char + cfg.substitute and c in CONFUSIONS:
            c = rng.choice(CONFUSIONS[c])
        out.append(c)
    return "".join(out) or text


def add_ocr_noise(words: Sequence[NoisyWord], rng: random.Random, cfg: NoiseConfig) -> list[NoisyWord]:
    """Noisy copies of ``words`` (``(text, box, line, label)``, in reading order)."""
    out: list[NoisyWord] = []
    k = 0
    while k < len(words):
        text, box, line, label = words[k]
        x0, y0, x1, y1 = box
        if (k + 1 < len(words) and words[k + 1][2] == line and words[k + 1][3] == label
                and rng.random() < cfg.merge):
            nt, nb, _, _ = words[k + 1]
            text, box = text + nt, (min(x0, nb[0]), min(y0, nb[1]), max(x1, nb[2]), max(y1, nb[3]))
            x0, y0, x1, y1 = box
            k += 1
        k += 1
        if len(text) > 1 and text[-1] in _TRAILING and rng.random() < cfg.drop_punct:
            text = text[:-1]
        text = _substitute(text, rng, cfg)
        if rng.random() < cfg.case:
            text = text.upper() if rng.random() < 0.5 else text.lower()
        h = y1 - y0
        if cfg.jitter:
            j = cfg.jitter * h
            x0, x1 = x0 + rng.uniform(-j, j), x1 + rng.uniform(-j, j)
            y0, y1 = y0 + rng.uniform(-j, j), y1 + rng.uniform(-j, j)
            if x1 <= x0 + 1:
                x1 = x0 + 1
            if y1 <= y0 + 1:
                y1 = y0 + 1
        if len(text) >= 4 and rng.random() < cfg.split:
            cut = rng.randint(1, len(text) - 1)
            xm = x0 + (x1 - x0) * cut / len(text)
            out.append((text[:cut], (x0, y0, xm, y1), line, label))
            out.append((text[cut:], (xm + 1, y0, max(x1, xm + 2), y1), line, label))
        else:
            out.append((text, (x0, y0, x1, y1), line, label))
    return out
