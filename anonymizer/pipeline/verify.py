"""Re-OCR verification: is any original sensitive value still readable on the output page?

Values and OCR text are compared after :func:`~anonymizer.core.text.nfkc_casefold_alnum` (case
folded, everything but letters and digits removed, so ``"555-123 4567"`` and ``"(555) 1234567"``
are the same).
A value is *readable* when its normalised form occurs inside the normalised text of one
OCR line of the output (words of a line concatenated), so a value split over several OCR
words is still found. Values shorter than ``min_chars`` normalised characters are not
searched (a two-letter name would match everywhere); the threshold is configurable.

The originals live only in memory for the duration of the check; results carry indices,
types and boxes, never text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from anonymizer.core.geometry import Box
from anonymizer.core.records import Word
from anonymizer.core.text import nfkc_casefold_alnum
from anonymizer.pipeline.page_text import group_lines


@dataclass(frozen=True)
class Leak:
    """Value ``index`` (into the checked list) is readable in the output at ``boxes`` (one per line)."""

    index: int
    boxes: tuple[Box, ...]


def _line_index(words: Sequence[Word], line: Sequence[int]) -> tuple[str, list[int]]:
    """The normalised text of one OCR line and, per character, the word it comes from."""
    chars: list[str] = []
    owner: list[int] = []
    for i in line:
        piece = nfkc_casefold_alnum(words[i].text)
        chars.append(piece)
        owner.extend([i] * len(piece))
    return "".join(chars), owner


def _union(boxes: Sequence[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def find_leaks(words: Sequence[Word], values: Sequence[str], min_chars: int = 3) -> list[Leak]:
    """Which of ``values`` are readable in the OCR ``words`` of an output page, and where.

    Args:
        words: OCR words of the output page.
        values: the original sensitive values (each may be one line of a multi-line value).
        min_chars: values with fewer normalised characters are not searched.

    Returns:
        One :class:`Leak` per readable value, with the box of the matching words on each
        line where it occurs.
    """
    if min_chars < 1:
        raise ValueError(f"verify.min_chars must be >= 1, got {min_chars}")
    lines = [_line_index(words, line) for line in group_lines(words)]
    leaks: list[Leak] = []
    for index, value in enumerate(values):
        needle = nfkc_casefold_alnum(value)
        if len(needle) < min_chars:
            continue
        boxes: list[Box] = []
        for text, owner in lines:
            start = text.find(needle)
            while start >= 0:
                hit = sorted(set(owner[start : start + len(needle)]))
                boxes.append(_union([words[i].box for i in hit]))
                start = text.find(needle, start + 1)
        if boxes:
            leaks.append(Leak(index, tuple(boxes)))
    return leaks
