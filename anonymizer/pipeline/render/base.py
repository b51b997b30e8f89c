"""The renderers' input type, protocol and the shared box checks and compositing.

Every renderer takes a page and a list of :class:`Replacement` (one per line box of an
entity) and returns a new page in which only pixels inside the union of the boxes dilated
by ``margin`` pixels may differ from the input: :meth:`BaseRenderer.__call__` validates
the replacements, lets the subclass draw on a copy, then composites that copy into the
original inside the dilated boxes only.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from anonymizer.core.geometry import Box, check_box, dilated_mask


@dataclass(frozen=True)
class Replacement:
    """One line box of an entity and the surrogate text to draw in it.

    ``box`` is ``(x0, y0, x1, y1)`` in page pixels. ``original_length`` is the number of
    characters of the original text in the box (never the text itself); it helps the
    classical renderer match the font's width. ``text`` is kept out of ``repr``.

    ``context`` holds OCR words of the same page that are *not* sensitive (field labels,
    headings, prose) as ``(box, text)`` pairs, nearest first (see :func:`nearest_context`):
    the classical renderer identifies the page's face and size by re-typesetting them and
    comparing with their pixels. It is kept out of ``repr`` too; empty: per-box statistics only.
    """

    box: Box
    text: str = field(repr=False)
    original_length: int | None = None
    label: str | None = None
    context: tuple[tuple[Box, str], ...] = field(default=(), repr=False)


@runtime_checkable
class Renderer(Protocol):
    """Draws surrogates: ``renderer(page, replacements) -> new page``."""

    name: str
    margin: int

    def __call__(self, page: Image.Image, replacements: Sequence[Replacement]) -> Image.Image: ...


def check_replacements(replacements: Sequence[Replacement], size: tuple[int, int]) -> list[Box]:
    """The boxes as float tuples; ValueError naming the box index (never the text) when bad."""
    boxes: list[Box] = []
    for i, rep in enumerate(replacements):
        if not isinstance(rep, Replacement):
            raise ValueError(f"box {i}: expected a Replacement, got {type(rep).__name__}")
        box = check_box(rep.box, size, index=i)
        if not isinstance(rep.text, str) or not rep.text.strip():
            raise ValueError(f"box {i}: the replacement text is empty")
        n = rep.original_length
        if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1):
            raise ValueError(f"box {i}: original_length must be a positive integer or None")
        _check_context(i, rep.context)
        boxes.append(box)
    return boxes


def _check_context(i: int, context: object) -> None:
    """ValueError naming the box and entry index (never a text) for a malformed ``context``;
    boxes outside the page are allowed (the renderer skips them)."""
    if not isinstance(context, tuple):
        raise ValueError(f"box {i}: context must be a tuple of (box, text) pairs, got a {type(context).__name__}")
    for j, item in enumerate(context):
        try:
            cbox, text = item
            values = [float(v) for v in cbox]
        except (TypeError, ValueError):
            raise ValueError(f"box {i}: context word {j} must be a (box, text) pair") from None
        if len(values) != 4 or not isinstance(text, str):
            raise ValueError(f"box {i}: context word {j} must be a ((x0, y0, x1, y1), text) pair")


def same_line(a: Box, b: Box) -> bool:
    """True when the boxes overlap vertically by at least half the smaller height."""
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap >= 0.5 * min(a[3] - a[1], b[3] - b[1])


def nearest_context(box: Box, words: Sequence[tuple[Box, str]], limit: int = 8) -> tuple[tuple[Box, str], ...]:
    """The ``limit`` words of ``words`` nearest to ``box``: those on the same line first (by
    horizontal gap), then the others by a distance that counts vertical offsets three times
    (nearby lines first, then the rest of the page). ``words`` must already be the
    non-sensitive ones (the caller's filter)."""
    x0, y0, x1, y1 = box
    ranked = []
    for k, (b, _) in enumerate(words):
        dx = max(b[0] - x1, x0 - b[2], 0.0)
        if same_line(box, b):
            ranked.append((0, dx, k))
        else:
            ranked.append((1, 3 * abs((b[1] + b[3]) / 2 - (y0 + y1) / 2) + dx, k))
    ranked.sort()
    return tuple((tuple(float(v) for v in words[k][0]), words[k][1]) for *_, k in ranked[:limit])  # type: ignore[misc]


def check_margin(margin: object) -> int:
    """``margin`` as a non-negative int."""
    if isinstance(margin, bool) or not isinstance(margin, numbers.Integral) or margin < 0:
        raise ValueError(f"margin must be an integer >= 0, got {margin!r}")
    return int(margin)


class BaseRenderer:
    """Validation, copy and the outside-box invariant; subclasses implement :meth:`_render`."""

    name = "base"

    def __init__(self, margin: int = 2) -> None:
        self.margin = check_margin(margin)

    def __call__(self, page: Image.Image, replacements: Sequence[Replacement]) -> Image.Image:
        """Return a new RGB page with the replacements drawn; ``page`` is not modified."""
        rgb = page.convert("RGB")
        original = np.array(rgb)
        boxes = check_replacements(replacements, rgb.size)
        if not boxes:
            return Image.fromarray(original)
        edited = np.asarray(self._render(rgb, boxes, list(replacements)).convert("RGB"))
        if edited.shape != original.shape:
            raise RuntimeError(f"{self.name} renderer returned a {edited.shape} image for a {original.shape} page")
        inside = dilated_mask(boxes, self.margin, rgb.size)
        out = original.copy()
        out[inside] = edited[inside]
        return Image.fromarray(out)

    def _render(self, page: Image.Image, boxes: list[Box], replacements: list[Replacement]) -> Image.Image:
        raise NotImplementedError
