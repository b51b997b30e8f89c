"""The internal data format shared by every data source.

A source yields :class:`TextCrop` objects: an RGB image together with the text drawn on
it and one :class:`Word` per drawn word. Real page images without annotations yield a
``TextCrop`` with empty ``text`` and ``words``. Boxes are axis-aligned, in pixels of the
image they belong to, as ``(x0, y0, x1, y1)`` with ``x0 < x1`` and ``y0 < y1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Word:
    """One word and its axis-aligned box ``(x0, y0, x1, y1)`` in image pixels."""

    text: str
    box: Box


@dataclass
class TextCrop:
    """An RGB image with the text drawn on it (lines joined by ``\\n``) and its words."""

    image: Image.Image
    text: str = ""
    words: list[Word] = field(default_factory=list)
