"""One text per page built from OCR words, and the way back from text spans to pixels.

:func:`build_page_text` joins the words of each line with one space and the lines with
``"\\n"``, keeping every word's character span, so a detection over the text (a
:class:`Detection`: type, ``start``, ``end``) maps back to words and characters.
:func:`entity_boxes` turns a detection into one box per line that covers exactly its
characters: when an entity is only part of an OCR word (``"Email:jo@x.com"``,
``"(555)123-4567,"``) the word box is narrowed by the advance widths of a reference font
(``ImageFont.getlength`` of the prefix and the entity, scaled to the word box).

Lines come from ``Word.line`` when every word has one (in line-id order, which is the
OCR engine's reading order), otherwise from the geometric grouping of
:meth:`anonymizer.core.records.PageRecord.lines`; words within a line go left to right.
"""

from __future__ import annotations

import bisect
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import ImageFont

from anonymizer.core.geometry import Box
from anonymizer.core.records import PageRecord, Word

log = logging.getLogger(__name__)

#: Size (px) at which the reference font measures advance widths; only ratios are used.
_MEASURE_SIZE = 64


@dataclass(frozen=True)
class Detection:
    """A sensitive span ``[start, end)`` of a page text, its type, score and origin.

    ``source`` names what found it (a Presidio recognizer, ``"form_context"``,
    ``"deny_list"``); ``group`` ties together the separate lines of one multi-line value
    (an address right of its label that is interrupted by other columns).
    """

    entity_type: str
    start: int
    end: int
    score: float
    source: str
    group: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"Detection span [{self.start}, {self.end}) must be non-empty and non-negative")


@dataclass(frozen=True)
class EntityBox:
    """The pixels of one line of a detection: ``box`` covers the characters
    ``char_span`` (page-text offsets) of the words ``word_indices`` on line ``line``
    (an index into :attr:`PageText.lines`)."""

    box: Box
    line: int
    word_indices: tuple[int, ...]
    char_span: tuple[int, int]


@dataclass(frozen=True)
class PageText:
    """The text of a page and its words' character spans.

    ``spans[i]`` is the ``(start, end)`` of ``words[i]`` in ``text`` (``None`` for words
    with no visible text); ``lines`` are word indices per line in text order.
    """

    text: str
    words: tuple[Word, ...]
    spans: tuple[tuple[int, int] | None, ...]
    lines: tuple[tuple[int, ...], ...]

    @functools.cached_property
    def _order(self) -> tuple[list[int], list[int]]:
        """Word indices in text order and their start offsets (for bisection)."""
        order = [i for line in self.lines for i in line]
        return order, [self.spans[i][0] for i in order]  # type: ignore[index]

    @functools.cached_property
    def line_of(self) -> dict[int, int]:
        """Line index of each word index that is in the text."""
        return {i: n for n, line in enumerate(self.lines) for i in line}

    def words_in(self, start: int, end: int) -> list[int]:
        """Indices of the words (text order) that share at least one character with ``[start, end)``."""
        order, starts = self._order
        k = max(bisect.bisect_right(starts, start) - 1, 0)
        out = []
        for i in order[k:]:
            s, e = self.spans[i]  # type: ignore[misc]
            if s >= end:
                break
            if e > start:
                out.append(i)
        return out

    def line_box(self, line: int) -> Box:
        """Bounding box of the words of line ``line``."""
        boxes = [self.words[i].box for i in self.lines[line]]
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _clean(text: str) -> str:
    return " ".join(text.split())


def group_lines(words: Sequence[Word]) -> list[list[int]]:
    """Word indices per line, lines in line-id order (geometric order when a word has
    no line id), words left to right; words with no visible text are left out."""
    visible = [i for i, w in enumerate(words) if _clean(w.text)]
    if not visible:
        return []
    if all(words[i].line is not None for i in visible):
        groups: dict[int, list[int]] = {}
        for i in visible:
            groups.setdefault(int(words[i].line), []).append(i)  # type: ignore[arg-type]
        lines = [groups[k] for k in sorted(groups)]
    else:
        sub = [words[i] for i in visible]
        record = PageRecord(id="page", image="page", width=1, height=1, words=sub)
        lines = [[visible[j] for j in line] for line in record.lines()]
    return [sorted(line, key=lambda i: (words[i].box[0], i)) for line in lines]


def build_page_text(words: Sequence[Word]) -> PageText:
    """Join ``words`` into one text: one space between the words of a line, ``"\\n"``
    between lines (runs of whitespace inside a word become one space)."""
    lines = group_lines(words)
    spans: list[tuple[int, int] | None] = [None] * len(words)
    parts: list[str] = []
    pos = 0
    for n, line in enumerate(lines):
        if n:
            parts.append("\n")
            pos += 1
        for k, i in enumerate(line):
            if k:
                parts.append(" ")
                pos += 1
            token = _clean(words[i].text)
            spans[i] = (pos, pos + len(token))
            parts.append(token)
            pos += len(token)
    return PageText(
        text="".join(parts), words=tuple(words), spans=tuple(spans), lines=tuple(tuple(line) for line in lines)
    )


@functools.lru_cache(maxsize=8)
def reference_font(path: str | None = None) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The font whose advance widths place characters inside a word box: ``path``, else
    DejaVu Sans when installed, else Pillow's default font."""
    if path:
        return ImageFont.truetype(path, _MEASURE_SIZE)
    try:
        from anonymizer.core.fonts import FontNotFoundError, find_fonts

        faces = find_fonts(families=("DejaVuSans",))
        faces = [f for f in faces if f.family == "DejaVuSans" and not (f.bold or f.italic)]
        if faces:
            return ImageFont.truetype(faces[0].path, _MEASURE_SIZE)
    except (FontNotFoundError, OSError):
        pass
    log.info("DejaVu Sans not found; measuring characters with Pillow's default font")
    return ImageFont.load_default(size=_MEASURE_SIZE)


def char_x_range(word: Word, text: str, a: int, b: int, font=None) -> tuple[float, float]:
    """Horizontal extent in pixels of ``text[a:b]`` inside ``word`` (whose box holds ``text``).

    The advance positions of the reference font (prefix length, prefix + part length) are
    mapped linearly from the word's ink extent onto the word box and clamped to it.
    """
    x0, _, x1, _ = word.box
    if a <= 0 and b >= len(text):
        return x0, x1
    font = font or reference_font()
    ink0, _, ink1, _ = font.getbbox(text)
    if ink1 <= ink0:  # nothing measurable: fall back to character counts
        lo, hi, pa, pb = 0.0, float(len(text)), float(a), float(b)
    else:
        lo, hi = float(ink0), float(ink1)
        pa, pb = font.getlength(text[:a]), font.getlength(text[:b])
    scale = (x1 - x0) / (hi - lo)
    xa = x0 + (pa - lo) * scale
    xb = x0 + (pb - lo) * scale
    return max(x0, min(xa, x1)), max(x0, min(xb, x1))


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def entity_boxes(detection: Detection, page: PageText, font=None) -> list[EntityBox]:
    """Boxes that cover exactly the characters of ``detection``, one per line it touches.

    On each line the box runs from the first to the last character of the detection on
    that line (partial words narrowed with :func:`char_x_range`); its height is that of
    the words involved. Leading/trailing whitespace of the span is ignored.
    """
    start, end = _strip(page.text, detection.start, detection.end)
    by_line: dict[int, list[int]] = {}
    for i in page.words_in(start, end):
        by_line.setdefault(page.line_of[i], []).append(i)
    out = []
    for line, idx in sorted(by_line.items()):
        first, last = idx[0], idx[-1]
        s0, e0 = page.spans[first]  # type: ignore[misc]
        s1, e1 = page.spans[last]  # type: ignore[misc]
        a, b = max(start, s0), min(end, e1)
        w0, w1 = page.words[first], page.words[last]
        t0, t1 = page.text[s0:e0], page.text[s1:e1]
        xa, _ = char_x_range(w0, t0, a - s0, min(b, e0) - s0, font)
        _, xb = char_x_range(w1, t1, max(a, s1) - s1, b - s1, font)
        y0 = min(page.words[i].box[1] for i in idx)
        y1 = max(page.words[i].box[3] for i in idx)
        out.append(EntityBox(box=(xa, y0, xb, y1), line=line, word_indices=tuple(idx), char_span=(a, b)))
    return out
