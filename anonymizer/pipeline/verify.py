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

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from anonymizer.core.geometry import Box, clip_box
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


# --------------------------------------------------------------------------- changed regions only
#: ``verify.scope``: ``regions`` re-reads the replaced regions only, ``page`` the whole output page.
SCOPES = ("regions", "page")
_GAP = 24  # white pixels between the regions stacked for one OCR call


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def verification_regions(boxes: Sequence[Box], words: Sequence[Word], size: tuple[int, int],
                         margin: float) -> list[Box]:
    """The parts of the page to read again: each replaced box dilated by ``margin`` (the
    renderers' guarantee: no pixel outside it changes), grown to every first-pass word it
    touches and to the whole text line of those words (so a value that runs past the box
    edge is read whole), repeated until nothing more is touched; overlapping regions merged.

    Every first-pass word then lies either wholly inside a region or outside all of them.
    """
    width, height = size
    lines: dict[int | None, list[int]] = {}
    for i, w in enumerate(words):
        lines.setdefault(w.line if w.line is not None else -1 - i, []).append(i)
    regions = [clip_box((b[0] - margin, b[1] - margin, b[2] + margin, b[3] + margin), size) for b in boxes]
    regions = [r for r in regions if r[2] > r[0] and r[3] > r[1]]
    changed = True
    while changed:
        changed = False
        grown: list[Box] = []
        for region in regions:
            touched = [i for i, w in enumerate(words) if _overlap(w.box, region)]
            line_ids = {words[i].line if words[i].line is not None else -1 - i for i in touched}
            members = [words[i].box for key in line_ids for i in lines[key]]
            new = clip_box(_union([region, *members]), (width, height)) if members else region
            changed |= new != region
            grown.append(new)
        merged: list[Box] = []
        for region in grown:  # merge overlapping regions (repeat until none overlap)
            while True:
                hit = next((k for k, other in enumerate(merged) if _overlap(region, other)), None)
                if hit is None:
                    break
                region = _union([region, merged.pop(hit)])
                changed = True
            merged.append(region)
        regions = merged
    return regions


def read_regions(ocr: Any, image: Image.Image, regions: Sequence[Box], pad: int = 6) -> list[Word]:
    """OCR ``regions`` of ``image`` in one call: each region (with ``pad`` pixels of context)
    is pasted on a blank sheet below the previous one, the sheet is read once and each word
    goes back to page coordinates. Words whose centre falls outside every region are dropped;
    line ids are those of the sheet (regions never share a line)."""
    if not regions:
        return []
    crops = []
    for region in regions:
        x0, y0 = max(0, math.floor(region[0]) - pad), max(0, math.floor(region[1]) - pad)
        x1, y1 = min(image.width, math.ceil(region[2]) + pad), min(image.height, math.ceil(region[3]) + pad)
        crops.append(((x0, y0), image.crop((x0, y0, x1, y1))))
    sheet_w = max(c.width for _, c in crops) + 2 * _GAP
    sheet_h = sum(c.height for _, c in crops) + _GAP * (len(crops) + 1)
    paper = _paper(image)
    sheet = Image.new(image.mode, (sheet_w, sheet_h), paper)
    slots: list[tuple[int, int, int, int]] = []  # sheet y0, y1; page dx, dy
    y = _GAP
    for (x0, y0), crop in crops:
        sheet.paste(crop, (_GAP, y))
        slots.append((y, y + crop.height, x0 - _GAP, y0 - y))
        y += crop.height + _GAP
    if "dpi" in image.info:
        sheet.info["dpi"] = image.info["dpi"]
    out: list[Word] = []
    for w in ocr.read(sheet):
        cy = (w.box[1] + w.box[3]) / 2
        for (top, bottom, dx, dy), region in zip(slots, regions):
            if top <= cy < bottom:
                box = (w.box[0] + dx, w.box[1] + dy, w.box[2] + dx, w.box[3] + dy)
                cx, cy_page = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
                if region[0] <= cx <= region[2] and region[1] <= cy_page <= region[3]:
                    out.append(Word(text=w.text, box=box, line=w.line, conf=w.conf))
                break
    return out


def _paper(image: Image.Image) -> Any:
    """The most common colour of a small copy of ``image`` (the paper)."""
    small = image.reduce(8) if min(image.size) >= 64 else image
    colors = small.getcolors(small.width * small.height) or [(1, 255 if image.mode == "L" else (255, 255, 255))]
    return max(colors, key=lambda c: c[0])[1]


def words_after_edit(ocr: Any, output: Image.Image, first_pass: Sequence[Word], boxes: Sequence[Box],
                     margin: float) -> tuple[list[Word], list[Box]]:
    """The words of the edited ``output`` page without reading it all: the first-pass words
    outside :func:`verification_regions` (their pixels did not change) and the words read
    again inside them (:func:`read_regions`); and the regions read."""
    regions = verification_regions(boxes, first_pass, output.size, margin)
    kept = [w for w in first_pass if not any(_overlap(w.box, r) for r in regions)]
    base = 1 + max((w.line for w in kept if w.line is not None), default=-1)
    fresh = [Word(text=w.text, box=w.box, line=base + (w.line or 0), conf=w.conf)
             for w in read_regions(ocr, output, regions)]
    return kept + fresh, regions
