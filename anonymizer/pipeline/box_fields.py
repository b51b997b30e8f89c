"""Fields in ruled boxes: tax, claim and registration forms print a small label at the top of
each box and write the value below it, left- or right-aligned, typed or by hand.

:func:`ruled_boxes` finds the boxes of a page from its rules: long horizontal and vertical ink
runs of the flattened page (:func:`~anonymizer.pipeline.field_ink.ink_box`'s rule test) are
walls, and each closed, nearly rectangular region between them, away from the page's edge, is
a box. :class:`BoxFields` then reads every box that holds a label line at its top (the first
OCR line in the box, above other content):

* the label's type comes from form context's tables
  (:meth:`~anonymizer.pipeline.form_context.FormContext.label_types`: ``2 Patient's name``,
  ``Employer's name, address, and ZIP code``, ``Nom / Surname``); a field name that is not
  personal data (``Nationality``, ``Subtotal``) leaves the box alone;
* an unknown or unreadable label (tiny print that OCR garbles) leaves the type to the value's
  shape (:data:`STRICT_SHAPES`): an amount with decimals, a date with separators, a phone
  number or an identifier of five digits or more (never a bare word or number);
* the value's lines are detections of that type (one type per line for a label of several);
  a box whose value OCR could not read or read as noise (handwriting) but holds ink below the
  label becomes :class:`~anonymizer.pipeline.field_ink.InkRegion` s of the label's type, one
  per line of writing; text detections overlapping a region join it.

A page needs :data:`MIN_FIELDS` or more labelled boxes (a known label, or a first row in print
smaller than the rows below it) to count as a box form, so the cells of ordinary tables (one
value per cell, no label) and single frames are left to the other detectors. The label rows of
a box form are never values: no detector's span may cover them.
"""

from __future__ import annotations

import dataclasses
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from anonymizer.pipeline.field_ink import InkRegion, _runs_longer, ink_box, ink_lines
from anonymizer.pipeline.form_context import PATTERN_TYPES, FormContext, shape_end
from anonymizer.pipeline.illumination import flatten_background
from anonymizer.pipeline.page_text import Detection, PageText

SOURCE = "box_field"
SCORE = 0.6
MIN_FIELDS = 3
#: Types a value under an unknown label may take from its shape alone, tried in this order.
STRICT_SHAPES = (
    ("AMOUNT", re.compile(r"[-(]?(?:[$€£]\s?)?(?:\d{1,3}(?:[ .,']\d{3})+|\d+)[.,]\d{2}\)?(?:\s?(?:€|\$|£|EUR|USD))?")),
    ("DATE_TIME", re.compile(r"\d{1,2}\s?[./-]\s?\d{1,2}\s?[./-]\s?\d{2,4}"
                             r"|\d{1,2}\s+\d{1,2}\s+\d{4}|\d{4}-\d{2}-\d{2}")),
    ("PHONE_NUMBER", re.compile(r"\+?[\d()][\d ()./-]{6,}\d")),
    ("ID_NUMBER", re.compile(r"(?=(?:\D*\d){5})[A-Z0-9][A-Z0-9 ./-]{4,}", re.IGNORECASE)),
)
_SCALE = 3  # rules are joined into regions on a grid this many times coarser than the page


@dataclass(frozen=True)
class RuledBox:
    """One box of a ruled form, in page pixels."""

    x0: float
    y0: float
    x1: float
    y1: float

    def holds(self, box: Sequence[float], pad: float = 1.0) -> bool:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        return self.x0 - pad <= cx <= self.x1 + pad and self.y0 - pad <= cy <= self.y1 + pad


def ruled_boxes(image: Image.Image, min_width: int = 40, min_height: int = 20, fill: float = 0.8
                ) -> list[RuledBox]:
    """The boxes enclosed by rules on ``image`` (see the module docstring): regions at least
    ``min_width`` × ``min_height`` pixels, filling ``fill`` of their bounding box."""
    from scipy import ndimage

    gray = np.asarray(flatten_background(image))
    dark = gray < 160
    height, width = dark.shape
    walls = _runs_longer(dark, max(min_width, width // 25)) | _runs_longer(dark.T, max(min_height, height // 60)).T
    h, w = height // _SCALE, width // _SCALE
    coarse = walls[: h * _SCALE, : w * _SCALE].reshape(h, _SCALE, w, _SCALE).any(axis=(1, 3))
    labels, count = ndimage.label(~coarse)
    out = []
    for k, found in enumerate(ndimage.find_objects(labels), start=1):
        if found is None:
            continue
        ys, xs = found
        if ys.start == 0 or xs.start == 0 or ys.stop >= h or xs.stop >= w:
            continue  # the page around the boxes
        bw, bh = (xs.stop - xs.start) * _SCALE, (ys.stop - ys.start) * _SCALE
        if bw < min_width or bh < min_height or bw * bh > 0.5 * width * height:
            continue
        area = int((labels[found] == k).sum())
        if area < fill * (xs.stop - xs.start) * (ys.stop - ys.start):
            continue
        out.append(RuledBox(xs.start * _SCALE, ys.start * _SCALE, xs.stop * _SCALE, ys.stop * _SCALE))
    return out


class BoxFields:
    """Reads the fields of ruled boxes; see the module docstring.

    Args:
        form: the form context whose label tables type the boxes.
        min_conf: a value OCR read with a lower mean confidence counts as unread (its ink is
            taken instead).
        score: score of the detections and regions.
    """

    def __init__(self, form: FormContext, min_conf: float = 50.0, score: float = SCORE) -> None:
        self.form, self.min_conf, self.score = form, float(min_conf), float(score)

    def detect(self, image: Image.Image, page: PageText) -> tuple[list[Detection], list[InkRegion], BoxForm | None]:
        """``(detections, regions, form)`` of the page's labelled boxes; ``form`` (None: the page is
        not a box form) tells the label words, which are never values, and which box each word is in."""
        if len(page.lines) < MIN_FIELDS:
            return [], [], None
        labelled = []
        for box in ruled_boxes(image):
            words = sorted((i for i, w in enumerate(page.words) if page.spans[i] is not None and box.holds(w.box)),
                           key=lambda i: (page.words[i].box[1], page.words[i].box[0]))
            rows = _rows(page, words)
            if rows:
                types = self.form.label_types(_text(page, rows[0]))
                if types is not None or _small_print(page, rows):
                    labelled.append((box, _label_rows(page, rows), types))
        if len(labelled) < MIN_FIELDS:
            return [], [], None
        detections: list[Detection] = []
        regions: list[InkRegion] = []
        form = BoxForm([box for box, _, _ in labelled], {i for _, rows, _ in labelled for i in rows[0]})
        for box, rows, types in labelled:
            if types == ():
                continue  # a field name that is not personal data
            value_rows = rows[1:]
            if types is None and not value_rows:
                continue
            if types and (not value_rows or self._unread(page, value_rows)):
                # a known label over writing OCR could not read (or read as noise): its ink, line by line
                regions += self._ink(image, page, box, rows[0], types)
                continue
            for k, row in enumerate(value_rows):
                etype = types[min(k, len(types) - 1)] if types else self._shape_type(page, row)
                if etype is None:
                    continue
                tokens = [page.text[slice(*page.spans[i])] for i in row]  # type: ignore[misc]
                keep = shape_end(etype, tokens) if etype in PATTERN_TYPES or etype == "AMOUNT" else len(tokens)
                if keep:
                    start, end = page.spans[row[0]][0], page.spans[row[keep - 1]][1]  # type: ignore[index]
                    detections.append(Detection(etype, start, end, self.score, SOURCE))
        return detections, regions, form

    def _unread(self, page: PageText, rows: list[list[int]]) -> bool:
        confs = [page.words[i].conf for row in rows for i in row if page.words[i].conf is not None]
        return bool(confs) and statistics.mean(confs) < self.min_conf

    @staticmethod
    def _shape_type(page: PageText, row: list[int]) -> str | None:
        """The type a value under an unknown label has by its shape alone (strict: separators or a
        month for dates, five digits for identifiers), or None."""
        text = _text(page, row)
        return next((t for t, pattern in STRICT_SHAPES if pattern.fullmatch(text.strip(" .,;:"))), None)

    def _ink(self, image: Image.Image, page: PageText, box: RuledBox, label: list[int], types: Sequence[str]
             ) -> list[InkRegion]:
        """The writing in ``box`` below its label line, one region per line of writing (typed by
        ``types``, one per line)."""
        top = max(page.words[i].box[3] for i in label) + 1
        heights = [page.words[i].box[3] - page.words[i].box[1] for i in label]
        h = max(statistics.median(heights), 8.0)
        left, right = int(box.x0 + 2), int(box.x1 - 2)
        lo, hi = int(top), int(box.y1 - 2)
        if right - left < h or hi - lo < 0.5 * h:
            return []
        gray = np.asarray(flatten_background(image.crop((left, lo, right, hi))))
        out = []
        for k, (a, b) in enumerate(ink_lines(gray, 1.6 * h)):
            found = ink_box(gray[a:b], max(b - a, h), reach=1e9)
            if found is not None:
                x0, y0, x1, y1 = found
                etype = types[min(k, len(types) - 1)]
                out.append(InkRegion(etype, (left + x0, lo + a + y0, left + x1, lo + a + y1), self.score, "", SOURCE))
        return out


@dataclass
class BoxForm:
    """The labelled boxes of a box form and the words of their label rows."""

    boxes: list[RuledBox]
    labels: set[int]

    def box_of(self, box: Sequence[float]) -> int | None:
        """Index of the labelled box holding the centre of ``box``, if any."""
        return next((k for k, b in enumerate(self.boxes) if b.holds(box)), None)

    def confine(self, page: PageText, detection: Detection) -> Detection | None:
        """``detection`` without label words and cut to the words in the box of its first word
        (a value does not run from one box into the next); None when nothing is left."""
        words = [i for i in page.words_in(detection.start, detection.end) if i not in self.labels]
        if not words:
            return None
        home = self.box_of(page.words[words[0]].box)
        kept = [i for i in words if self.box_of(page.words[i].box) == home]
        if len(kept) == len(page.words_in(detection.start, detection.end)):
            return detection
        start = max(detection.start, page.spans[kept[0]][0])  # type: ignore[index]
        end = min(detection.end, page.spans[kept[-1]][1])  # type: ignore[index]
        return dataclasses.replace(detection, start=start, end=end) if end > start else None


def _label_rows(page: PageText, rows: list[list[int]]) -> list[list[int]]:
    """``rows`` with the small print at the top (the label and any sub-label such as ``TT MM
    JJJJ``) joined into the first row: the value rows are set at least 3/4 as large as the largest."""
    if len(rows) < 3:
        return rows
    height = [statistics.median(page.words[i].box[3] - page.words[i].box[1] for i in row) for row in rows]
    largest = max(height[1:])
    k = 1
    while k < len(rows) - 1 and height[k] < 0.75 * largest:
        k += 1
    return [[i for row in rows[:k] for i in row], *rows[k:]]


def _small_print(page: PageText, rows: list[list[int]]) -> bool:
    """Whether a box's first row is set smaller than the rows below it (a label over its value)."""
    if len(rows) < 2:
        return False
    height = [statistics.median(page.words[i].box[3] - page.words[i].box[1] for i in row) for row in rows]
    return height[0] <= 0.8 * statistics.median(height[1:])


def _rows(page: PageText, words: list[int]) -> list[list[int]]:
    """``words`` (top to bottom) grouped into rows by vertical overlap, each left to right."""
    rows: list[list[int]] = []
    for i in words:
        b = page.words[i].box
        if rows:
            last = [page.words[j].box for j in rows[-1]]
            top, bottom = statistics.median(x[1] for x in last), statistics.median(x[3] for x in last)
            if (b[1] + b[3]) / 2 <= bottom and (b[1] + b[3]) / 2 >= top:
                rows[-1].append(i)
                continue
        rows.append([i])
    return [sorted(row, key=lambda i: page.words[i].box[0]) for row in rows]


def _text(page: PageText, row: list[int]) -> str:
    return " ".join(page.text[slice(*page.spans[i])] for i in row)  # type: ignore[misc]
