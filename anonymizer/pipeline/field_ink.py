"""Values written into form fields that OCR cannot read: handwriting, stamps, faint print.

A filled-in paper form (an intake form, an application, a signed tax form) carries its
personal data in handwriting that OCR reads as nothing or as noise (``Sally Walker`` →
``SAL. Wa |ker``), so no pattern or shape check can confirm it. The field's label is still
printed and read: whatever ink stands in the field is its value. :class:`FieldInk` looks,
for every field of a colon label (:meth:`~anonymizer.pipeline.form_context.FormContext.fields`:
from the label's end to the next label on the row), at the ink there when OCR read nothing
in the field or read it with a mean confidence below ``min_conf``:

* the field's area reaches ``rise`` line heights above the label's line and ``drop`` below it
  (handwriting rises above the printed line and crosses the rule under it), but never onto
  a neighbouring line of confidently read print (the median band of its words), nor past the
  half-way line to the row of another label above or below;
* the value is the first run of ink from the label on: a gap wider than two line heights
  ends it (the next field's ink on the row is not this value);
* the page is flattened (:func:`~anonymizer.pipeline.illumination.flatten_background`) and
  thresholded; horizontal rules (runs longer than ``rule`` line heights: the underline of a
  fill-in field, box borders) and specks are removed;
* the box around the remaining ink becomes an :class:`InkRegion` of the label's type; text
  detections that overlap it (noise read from the handwriting) are dropped and their boxes
  join the region.

The original text of a region is unknown, so its surrogate is drawn at random for the type
(:data:`TEMPLATES` give the format) and verification cannot search for it; the audit marks
such entities ``"read": false``.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from anonymizer.pipeline.form_context import Field
from anonymizer.pipeline.illumination import flatten_background
from anonymizer.pipeline.page_text import Detection, PageText, entity_boxes

SOURCE = "field_ink"
#: A value of each type in the format of its surrogate (unread values have no original).
TEMPLATES = {
    "PERSON": "Jane Doe", "LOCATION": "12 Main Street", "ORGANIZATION": "Acme Corporation",
    "DATE_TIME": "01/02/2000", "PHONE_NUMBER": "(555) 010-0100", "EMAIL_ADDRESS": "jane.doe@example.com",
    "ID_NUMBER": "A1234567", "NATIONAL_ID": "AB123456C", "US_SSN": "123-45-6789", "AMOUNT": "$100.00",
    "IBAN_CODE": "DE89370400440532013000", "CREDIT_CARD": "4111 1111 1111 1111", "URL": "www.example.com",
}


#: Labels (their letters) whose values have a format of their own within the type.
LABEL_TEMPLATES = (
    (re.compile(r".*(?:zip|postcode|postalcode|plz|codepostal).*"), "12345"),
    (re.compile(r"(?:city|town|place|ort|plaats|woonplaats|ville|stadt|stad|county).*"), "Springfield"),
    (re.compile(r"(?:state|province|region)"), "NY"),
)


@dataclass(frozen=True)
class InkRegion:
    """Ink of an unread field value: its type, box (page pixels), score and the label's letters."""

    entity_type: str
    box: tuple[float, float, float, float]
    score: float
    label: str = ""
    source: str = SOURCE

    @property
    def template(self) -> str:
        """A value in the format of the field (what the surrogate imitates)."""
        for pattern, value in LABEL_TEMPLATES:
            if pattern.fullmatch(self.label):
                return value
        return TEMPLATES.get(self.entity_type, "A1234567")


def _runs_longer(mask: np.ndarray, length: int) -> np.ndarray:
    """Pixels of ``mask`` on horizontal runs longer than ``length``."""
    out = np.zeros_like(mask)
    for y in range(mask.shape[0]):
        row = mask[y].astype(np.int8)
        edges = np.flatnonzero(np.diff(np.concatenate(([0], row, [0]))))
        for start, end in zip(edges[0::2], edges[1::2]):
            if end - start > length:
                out[y, start:end] = True
    return out


def _shift(mask: np.ndarray, dy: int = 0, dx: int = 0) -> np.ndarray:
    """``mask`` moved by ``dy`` rows and ``dx`` columns (vacated cells False)."""
    out = np.zeros_like(mask)
    h, w = mask.shape
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = mask[max(-dy, 0) : h - max(dy, 0),
                                                                           max(-dx, 0) : w - max(dx, 0)]
    return out


def _thin_lines(ink: np.ndarray, length: int, gap: int = 3) -> np.ndarray:
    """Ink of thin horizontal lines longer than ``length`` with gaps up to ``gap`` pixels (dotted
    leaders and broken rules): runs of the horizontally closed mask with no ink ``gap`` rows
    above or below them (writing is taller than that)."""
    closed = ink.copy()
    for dx in range(1, gap + 1):
        closed |= _shift(ink, dx=dx) | _shift(ink, dx=-dx)
    thin = _runs_longer(closed, length) & ~(_shift(ink, dy=gap + 1) | _shift(ink, dy=-(gap + 1)))
    spread = thin.copy()
    for dx in range(1, gap + 1):
        spread |= _shift(thin, dx=dx) | _shift(thin, dx=-dx)
    return spread & ink


def ink_box(gray: np.ndarray, line_height: float, rule: float = 3.0, dark: int = 200, reach: float = 8.0
            ) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` of the first run of ink from the left in a flattened grey patch,
    rules (solid or dotted: ink one cell high) and specks removed; ``None`` when there is too
    little of it, or when it starts more than ``reach`` line heights from the patch's left edge
    (a value is written next to its label; ink far off is another field's or a box border)."""
    ink = gray < dark
    if not ink.any():
        return None
    ink &= ~_runs_longer(ink, int(rule * line_height))
    ink &= ~_thin_lines(ink, int(rule * line_height))
    ink &= ~_runs_longer(ink.T, int(2.5 * line_height)).T  # box borders
    cell = max(2, int(line_height // 6))
    h, w = ink.shape
    blocks = ink[: h - h % cell, : w - w % cell].reshape(h // cell, cell, w // cell, cell).sum(axis=(1, 3))
    keep = blocks >= max(2, cell * cell // 6)
    keep[:, keep.sum(axis=0) < 2] = False  # columns one cell high: dotted or thin rules, not writing
    if keep.sum() < 3:
        return None
    columns = np.flatnonzero(keep.any(axis=0))
    # runs of ink separated by gaps wider than two line heights; the value is the first run from
    # the left that is wide enough to be writing (a fragment of a rule or a speck is not)
    cuts = np.flatnonzero(np.diff(columns) * cell > 2 * line_height)
    for run in np.split(columns, cuts + 1):
        x0, x1 = int(run[0]) * cell, int(run[-1] + 1) * cell
        if x0 > reach * line_height:
            return None
        if x1 - x0 >= 0.6 * line_height:
            ys = np.flatnonzero(keep[:, run[0] : run[-1] + 1].any(axis=1))
            return x0, int(ys.min()) * cell, x1, int(ys.max() + 1) * cell
    return None


class FieldInk:
    """Finds unread field values; see the module docstring.

    Args:
        min_conf: a field whose words OCR read with at least this mean confidence (0..100)
            is left to the text detectors.
        rise, drop: the field's area above / below the label's line, in line heights.
        rule: horizontal ink runs longer than this × line height are rules, not writing.
        score: score of the regions.
    """

    def __init__(self, min_conf: float = 70.0, rise: float = 1.3, drop: float = 0.7, rule: float = 3.0,
                 score: float = 0.6) -> None:
        self.min_conf, self.rise, self.drop = float(min_conf), float(rise), float(drop)
        self.rule, self.score = float(rule), float(score)

    def detect(self, image: Image.Image, page: PageText, fields: Sequence[Field],
               detections: Sequence[Detection]) -> tuple[list[Detection], list[InkRegion]]:
        """``(detections kept, regions)``: the regions of unread fields, and the text detections
        that are not noise inside one of them."""
        regions: list[InkRegion] = []
        for field in fields:
            words = [page.words[i] for i in field.words]
            confs = [w.conf for w in words if w.conf is not None]
            if words and confs and statistics.mean(confs) >= self.min_conf:
                continue
            box = self._ink(image, page, field, fields)
            if box is not None:
                regions.append(InkRegion(field.entities[0], box, self.score, field.label))
        return merge_regions(page, detections, regions)

    def _ink(self, image: Image.Image, page: PageText, field: Field, fields: Sequence[Field]
             ) -> tuple[float, float, float, float] | None:
        x0, y0, x1, y1 = field.box
        h = field.line_height
        x1 = max(x1, 0.98 * image.width) if field.open_end else x1
        # half-way to the rows of other labels above and below, and their fields
        top, bottom = max(y0 - self.rise * h, field.limits[0]), min(y1 + self.drop * h, field.limits[1])
        for other in fields:
            ox0, oy0, ox1, oy1 = other.box
            if ox1 <= x0 or ox0 >= x1 or other is field:
                continue
            if oy1 <= y0:
                top = max(top, (oy1 + y0) / 2)
            elif oy0 >= y1:
                bottom = min(bottom, (y1 + oy0) / 2)
        for line in page.lines:  # confidently read lines above and below (their median band) bound the area
            over = [page.words[i] for i in line if page.words[i].box[2] > x0 and page.words[i].box[0] < x1]
            if (sum(c.isalnum() for w in over for c in w.text) < 3
                    or statistics.median(w.conf if w.conf is not None else 100.0 for w in over) < self.min_conf):
                continue  # not a line of print: stray marks or handwriting read as noise
            boxes = [w.box for w in over]
            if statistics.median(b[3] for b in boxes) <= y0 + 0.25 * h:  # above: clear of its descenders
                top = max(top, max(b[3] for b in boxes) + 1)
            elif statistics.median(b[1] for b in boxes) >= y1 - 0.25 * h:  # below: clear of its ascenders
                bottom = min(bottom, min(b[1] for b in boxes) - 1)
        left, right = int(max(x0 + 0.2 * h, 0)), int(min(x1 - 0.2 * h, image.width))
        top, bottom = int(max(top, 0)), int(min(bottom, image.height))
        if right - left < h or bottom - top < 0.5 * h:
            return None
        found = ink_box(np.asarray(flatten_background(image.crop((left, top, right, bottom)))), h, self.rule)
        if found is None:
            return None
        pad = 0.2 * h  # the box drawn around the ink, within the field's area
        bx0, by0, bx1, by1 = found
        return (max(left, left + bx0 - pad), max(top, top + by0 - pad), min(right, left + bx1 + pad),
                min(bottom, top + by1 + pad))


def merge_regions(page: PageText, detections: Sequence[Detection], regions: Sequence[InkRegion]
                  ) -> tuple[list[Detection], list[InkRegion]]:
    """``(detections, regions)`` where a text detection overlapping a region (text read from the
    writing) is dropped and its boxes join the region; overlapping regions become one."""
    merged: list[InkRegion] = []
    for r in sorted(regions, key=lambda r: (r.box[1], r.box[0])):
        hit = next((k for k, m in enumerate(merged) if _overlap(m.box, r.box)), None)
        if hit is None:
            merged.append(r)
        else:
            m = merged[hit]
            merged[hit] = InkRegion(m.entity_type, _union([m.box, r.box]), m.score, m.label, m.source)
    kept = []
    for d in detections:
        boxes = [b.box for b in entity_boxes(d, page)]
        hit = next((k for k, r in enumerate(merged) if any(_overlap(b, r.box) for b in boxes)), None)
        if hit is None:
            kept.append(d)
            continue
        r = merged[hit]
        merged[hit] = InkRegion(r.entity_type, _union([r.box, *boxes]), r.score, r.label, r.source)
    return kept, merged


def ink_lines(gray: np.ndarray, line_height: float) -> list[tuple[int, int]]:
    """Row ranges ``[(top, bottom), ...]`` of the lines of writing in a patch: runs of rows with
    ink separated by at least a quarter line height of blank rows (rules removed first)."""
    ink = gray < 200
    ink &= ~_runs_longer(ink, int(3 * line_height))
    rows = np.flatnonzero(ink.sum(axis=1) >= 2)
    if not len(rows):
        return []
    cuts = np.flatnonzero(np.diff(rows) > max(2, line_height / 4))
    return [(int(run[0]), int(run[-1]) + 1) for run in np.split(rows, cuts + 1) if run[-1] - run[0] >= 3]


def _overlap(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _union(boxes: Sequence[Sequence[float]]) -> tuple[float, float, float, float]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
