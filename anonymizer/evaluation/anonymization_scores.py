"""Anonymization metrics on pages with known sensitive values (page records).

The ground truth of a page is its record's sensitive entities (:class:`Truth`); the system's
output is the anonymized image (read again by OCR) and its boxes. Texts are compared with
:func:`anonymizer.core.text.nfkc_casefold_alnum` (case folded, letters and digits only), as the
pipeline's own verification does. All values stay in memory; results hold counts only.

* **leak**: an entity leaks when one of its lines (words joined by spaces, at least
  ``min_chars`` normalised characters) is found by :func:`~anonymizer.pipeline.verify.find_leaks`
  in the OCR words of the output page, anywhere on the page. Leak rates are over the
  entities that are **readable the same way in the input page** (:attr:`Truth.readable_in`):
  what OCR cannot read in the input cannot be measured as a leak.
* **detection recall** (:func:`entity_found`): an entity is found when the system's boxes
  cover at least ``cover`` (0.5) of the pixel area of its word boxes.
* **detection precision** (:func:`box_correct`): a box is correct when at least ``inside``
  (0.5) of its pixel area lies in the sensitive entities' lines, each line taken as the
  bounding box of its words there (spaces between words count as inside), padded above and
  below by ``pad`` (0.5) times its height (OCR boxes are often taller than the ink).
* **covered** (:func:`covered`, stricter, used by ``experiments/bench_anonymize.py``): every
  word of the entity has its centre inside a box dilated by ``px``.
* **non-sensitive text preserved** (:func:`preserved`): of the input page's OCR words that
  lie outside every sensitive ground-truth word box (dilated by ``px``), the share found
  again in the output page's OCR with the same normalised text and IoU >= ``min_iou``.
* **coverage** (:func:`value_coverage`): a sensitive value is covered when, at every place it
  is printed (each of its boxes), at least ``ink_cover`` (0.6) of its ink pixels lie in the
  regions the pipeline rewrote (the audit's boxes dilated by the renderer's margin, and the
  verification's fallback boxes) and that region changed. Ink is the minority side of an
  Otsu split of the box's grey levels (:func:`ink_mask`), so a loose hand-drawn box or
  paper around the text does not count.
* **pixels changed outside** (:func:`changed_outside`): the share of the page's pixels outside
  every sensitive value's line boxes (its words on a line and the gaps between them, dilated
  by ``outside_px``) that differ between input and output.
* **plain words kept** (:func:`plain_kept`): of a record's ``plain`` words (ordinary words known
  to be on the page) that OCR reads in the input, the share it still reads in the output.
* **surrogate read-back** (:func:`surrogate_readback`): a surrogate line (at least
  ``min_chars`` normalised characters) is read back when ``find_leaks`` finds it among the
  output OCR words whose centre lies in its box (dilated by ``px``); its CER is the edit
  distance of those words (in reading order) to the surrogate over the surrogate's length.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anonymizer.core.geometry import Box, grow_box
from anonymizer.core.records import PageRecord, Word
from anonymizer.core.text import nfkc_casefold_alnum
from anonymizer.metrics.text_accuracy import char_errors
from anonymizer.pipeline.page_text import group_lines
from anonymizer.pipeline.verify import find_leaks


# --------------------------------------------------------------------------- geometry
def intersects(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether two boxes overlap with a positive area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def centre_in(box: Sequence[float], region: Sequence[float]) -> bool:
    """Whether the centre of ``box`` lies in ``region`` (edges included)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] <= cx <= region[2] and region[1] <= cy <= region[3]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _pixels(box: Sequence[float]) -> tuple[slice, slice]:
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return slice(max(y0, 0), max(y1, 0)), slice(max(x0, 0), max(x1, 0))


def box_mask(boxes: Sequence[Sequence[float]], width: int, height: int) -> np.ndarray:
    """``(height, width)`` bool mask of the pixels of ``boxes`` (coordinates rounded)."""
    mask = np.zeros((height, width), bool)
    for box in boxes:
        ys, xs = _pixels(box)
        mask[ys, xs] = True
    return mask


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Ink pixels of a grey-level patch: the smaller side of an Otsu split (dark text on light
    paper or light text on a dark band); the whole patch when it has no contrast."""
    values = gray.astype(np.uint8).ravel()
    if values.size == 0 or int(values.max()) - int(values.min()) < 24:
        return np.ones(gray.shape, bool)
    hist = np.bincount(values, minlength=256).astype(np.float64)
    levels = np.arange(256)
    w0 = np.cumsum(hist)
    m0 = np.cumsum(hist * levels)
    total, mean = w0[-1], m0[-1]
    w1 = total - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean * w0 - m0 * total) ** 2 / (w0 * w1)
    threshold = int(np.nanargmax(np.where((w0 > 0) & (w1 > 0), between, np.nan)))
    dark = gray <= threshold
    return dark if dark.sum() * 2 <= gray.size else ~dark


# --------------------------------------------------------------------------- ground truth
@dataclass
class Truth:
    """The sensitive ground truth of one page (values in memory only)."""

    labels: list[str]  # per sensitive entity
    word_boxes: list[list[Box]]  # per entity, its words' boxes
    pieces: list[str]  # one per line of each entity
    owner: list[int]  # entity of each piece
    checkable: list[bool]  # per entity: some line has >= min_chars normalised characters
    readable_in: list[bool]  # per entity: readable in the input page's OCR
    line_boxes: list[list[Box]] = field(default_factory=list)  # per entity, the bounding box of each line


def page_truth(record: PageRecord, input_words: list[Word], min_chars: int) -> Truth:
    """The sensitive entities of ``record``, their lines, and which are readable in ``input_words``."""
    labels: list[str] = []
    word_boxes: list[list[Box]] = []
    pieces: list[str] = []
    owner: list[int] = []
    line_boxes: list[list[Box]] = []
    for entity in (e for e in record.entities if e.sensitive and e.words):
        k = len(labels)
        labels.append(entity.label)
        word_boxes.append([record.words[i].box for i in entity.words])
        lines: dict[Any, list[int]] = {}
        for i in entity.words:
            lines.setdefault(record.words[i].line, []).append(i)
        boxes = []
        for idx in lines.values():
            pieces.append(" ".join(record.words[i].text for i in idx))
            owner.append(k)
            bs = [record.words[i].box for i in idx]
            boxes.append((min(b[0] for b in bs), min(b[1] for b in bs), max(b[2] for b in bs), max(b[3] for b in bs)))
        line_boxes.append(boxes)
    checkable = [False] * len(labels)
    for piece, k in zip(pieces, owner):
        checkable[k] |= len(nfkc_casefold_alnum(piece)) >= min_chars
    readable = leaked_entities(input_words, pieces, owner, len(labels), min_chars)
    return Truth(labels, word_boxes, pieces, owner, checkable, readable, line_boxes)


# --------------------------------------------------------------------------- metrics
def leaked_entities(words: list[Word], pieces: list[str], owner: list[int], n: int, min_chars: int) -> list[bool]:
    """Per entity: whether one of its lines (``pieces``, entity ``owner``) is readable in ``words``."""
    out = [False] * n
    for leak in find_leaks(words, pieces, min_chars):
        out[owner[leak.index]] = True
    return out


def preserved(
    input_words: list[Word], output_words: list[Word], truth: Truth, px: float, min_iou: float
) -> tuple[int, int]:
    """(found again, considered): input OCR words outside the sensitive boxes re-read in the output."""
    sensitive = [grow_box(b, px) for boxes in truth.word_boxes for b in boxes]
    by_text: dict[str, list[Box]] = defaultdict(list)
    for w in output_words:
        by_text[nfkc_casefold_alnum(w.text)].append(w.box)
    found = considered = 0
    for w in input_words:
        text = nfkc_casefold_alnum(w.text)
        if not text or any(intersects(w.box, s) for s in sensitive):
            continue
        considered += 1
        found += any(iou(w.box, b) >= min_iou for b in by_text.get(text, ()))
    return found, considered


def rewritten_mask(input_image: Any, output_image: Any, boxes: Sequence[Sequence[float]], margin: int) -> np.ndarray:
    """Pixels of the regions the pipeline rewrote: each of ``boxes`` dilated by ``margin``
    (clipped to the page) whose pixels changed somewhere between input and output."""
    before = np.asarray(input_image.convert("RGB"), np.int16)
    after = np.asarray(output_image.convert("RGB"), np.int16)
    height, width = before.shape[:2]
    mask = np.zeros((height, width), bool)
    for box in boxes:
        ys, xs = _pixels(grow_box(box, margin))
        if np.any(before[ys, xs] != after[ys, xs]):
            mask[ys, xs] = True
    return mask


def value_coverage(record: PageRecord, input_image: Any, rewritten: np.ndarray, ink_cover: float = 0.6
                   ) -> list[bool]:
    """Per sensitive entity of ``record`` (in order): whether at each of its word boxes at least
    ``ink_cover`` of the ink pixels (:func:`ink_mask`) lie in ``rewritten``."""
    gray = np.asarray(input_image.convert("L"))
    out = []
    for entity in (e for e in record.entities if e.sensitive and e.words):
        ok = True
        for box in {record.words[i].box for i in entity.words}:
            ys, xs = _pixels(box)
            ink = ink_mask(gray[ys, xs])
            total = int(ink.sum())
            ok = ok and total > 0 and int(rewritten[ys, xs][ink].sum()) >= ink_cover * total
        out.append(ok)
    return out


def changed_outside(input_image: Any, output_image: Any, boxes: Sequence[Sequence[float]], px: float
                    ) -> tuple[int, int]:
    """(changed, considered): pixels outside ``boxes`` dilated by ``px`` that differ between the pages."""
    before = np.asarray(input_image.convert("RGB"))
    after = np.asarray(output_image.convert("RGB"))
    height, width = before.shape[:2]
    outside = ~box_mask([grow_box(b, px) for b in boxes], width, height)
    changed = np.any(before != after, axis=2)
    return int((changed & outside).sum()), int(outside.sum())


def plain_kept(plain: Sequence[str], input_words: list[Word], output_words: list[Word]) -> tuple[int, int]:
    """(still read, read in the input): ``plain`` words (normalised) among the OCR words of
    the input page, and of those, the ones also among the output page's."""
    before = {nfkc_casefold_alnum(w.text) for w in input_words}
    after = {nfkc_casefold_alnum(w.text) for w in output_words}
    wanted = [t for t in (nfkc_casefold_alnum(p) for p in plain) if t and t in before]
    return sum(t in after for t in wanted), len(wanted)


def covered(truth: Truth, boxes: list[Box], px: float) -> list[bool]:
    """Per entity: every word's centre lies in one of ``boxes`` dilated by ``px``."""
    regions = [grow_box(b, px) for b in boxes]
    return [all(any(centre_in(wb, r) for r in regions) for wb in wbs) for wbs in truth.word_boxes]


def entity_found(truth: Truth, boxes: Sequence[Sequence[float]], width: int, height: int,
                 cover: float = 0.5) -> list[bool]:
    """Per entity: ``boxes`` cover at least ``cover`` of its word boxes' pixel area (detection recall)."""
    mask = box_mask(boxes, width, height)
    out = []
    for wbs in truth.word_boxes:
        total = hit = 0
        for b in wbs:
            ys, xs = _pixels(b)
            total += mask[ys, xs].size
            hit += int(mask[ys, xs].sum())
        out.append(total > 0 and hit >= cover * total)
    return out


def box_correct(truth: Truth, boxes: Sequence[Sequence[float]], width: int, height: int,
                inside: float = 0.5, pad: float = 0.5) -> list[bool]:
    """Per box: at least ``inside`` of its pixel area lies in the sensitive lines (padded
    vertically by ``pad`` x their height); boxes without pixels count as wrong (precision)."""
    lines = [(b[0], b[1] - pad * (b[3] - b[1]), b[2], b[3] + pad * (b[3] - b[1]))
             for boxes_ in truth.line_boxes for b in boxes_]
    mask = box_mask(lines, width, height)
    out = []
    for box in boxes:
        ys, xs = _pixels(box)
        size = mask[ys, xs].size
        out.append(size > 0 and int(mask[ys, xs].sum()) >= inside * size)
    return out


def surrogates_read(audit: dict[str, Any], output_words: list[Word], px: float, min_chars: int) -> tuple[int, int]:
    """(read back, checked) over the surrogate lines of an audit."""
    lines = surrogate_readback(audit, output_words, px, min_chars)
    return sum(r.read for r in lines), len(lines)


@dataclass(frozen=True)
class SurrogateLine:
    """One surrogate line of an audit, read again in the output (no text kept)."""

    type: str
    read: bool
    errors: int  # edit distance of the OCR words in its box to the surrogate
    chars: int  # the surrogate's length (CER denominator)


def surrogate_readback(
    audit: dict[str, Any], output_words: list[Word], px: float, min_chars: int
) -> list[SurrogateLine]:
    """Each surrogate line of ``audit`` with at least ``min_chars`` normalised characters,
    read back in the output (see the module docstring)."""
    out: list[SurrogateLine] = []
    for entity in audit["entities"]:
        for box, part in zip(entity["boxes"], entity["surrogate"]):
            if len(nfkc_casefold_alnum(part)) < min_chars:
                continue
            region = grow_box(box, px)
            inside = [w for w in output_words if centre_in(w.box, region)]
            read = bool(inside and find_leaks(inside, [part], min_chars))
            reading = " ".join(inside[i].text for line in group_lines(inside) for i in line)
            errors, chars = char_errors(reading, part)
            out.append(SurrogateLine(entity["type"], read, errors, chars))
    return out


# --------------------------------------------------------------------------- one page
@dataclass
class PageScore:
    """Counts of one page (per entity type where it applies); no text."""

    entities: Counter = field(default_factory=Counter)  # ground-truth type -> entities
    checkable: Counter = field(default_factory=Counter)  # ... with a line of >= min_chars
    readable: Counter = field(default_factory=Counter)  # ... readable in the input page
    leaked: Counter = field(default_factory=Counter)  # ... readable in the input and in the output
    leaked_unreadable: int = 0  # read in the output although not readable in the input
    found: Counter = field(default_factory=Counter)  # ground-truth type -> entities detected (recall)
    boxes: Counter = field(default_factory=Counter)  # detected type -> boxes
    boxes_correct: Counter = field(default_factory=Counter)  # detected type -> correct boxes (precision)
    kept: int = 0  # non-sensitive input words re-read in the output
    kept_of: int = 0
    surrogates: Counter = field(default_factory=Counter)  # type -> surrogate lines checked
    surrogates_read: Counter = field(default_factory=Counter)
    surrogate_errors: int = 0
    surrogate_chars: int = 0
    fallback_boxes: int = 0  # boxes the verification redacted
    covered: Counter = field(default_factory=Counter)  # ground-truth type -> values whose ink was rewritten
    changed_outside: int = 0  # pixels changed outside the sensitive boxes
    outside: int = 0  # pixels outside the sensitive boxes
    plain_kept: int = 0  # plain words still read in the output
    plain_read: int = 0  # plain words read in the input

    def add(self, other: PageScore) -> PageScore:
        """Add ``other``'s counts to this one (in place) and return it."""
        for name in ("entities", "checkable", "readable", "leaked", "found", "boxes", "boxes_correct",
                     "surrogates", "surrogates_read", "covered"):
            getattr(self, name).update(getattr(other, name))
        for name in ("leaked_unreadable", "kept", "kept_of", "surrogate_errors", "surrogate_chars", "fallback_boxes",
                     "changed_outside", "outside", "plain_kept", "plain_read"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


def score_page(record: PageRecord, input_words: list[Word], output_words: list[Word], audit: dict[str, Any],
               min_chars: int = 3, px: float = 3.0, min_iou: float = 0.5, cover: float = 0.5,
               inside: float = 0.5, pad: float = 0.5, readback: bool = True, images: tuple[Any, Any] | None = None,
               margin: int = 0, ink_cover: float = 0.6, outside_px: float = 4.0, scope: str | None = None
               ) -> PageScore:
    """Every metric of the module docstring for one page, as counts.

    Args:
        record: the page's ground truth (sensitive entities, word boxes, ``plain`` words).
        input_words / output_words: OCR of the input and of the anonymized page.
        audit: the page's audit entry (``PageAnonymizer``): entity types, boxes, surrogates,
            verification.
        min_chars, px, min_iou, cover, inside, pad: see the module docstring.
        readback: read the surrogates back (False for renderers that draw no text, e.g. redact).
        images: ``(input, output)`` pages for the pixel metrics (coverage, pixels changed
            outside); ``None`` leaves them at zero.
        margin: the renderer's margin (pixels around each audit box it may rewrite).
        ink_cover, outside_px: see the module docstring.
        scope: count only sensitive entities of this scope (``personal``/``business``) in the
            per-entity figures (entities, leaks, recall, coverage); entities without a scope
            count in every scope. Page-level figures (words and pixels kept) use all of them.
    """
    truth = page_truth(record, input_words, min_chars)
    score = PageScore()
    boxes = [tuple(b) for e in audit["entities"] for b in e["boxes"]]
    types = [e["type"] for e in audit["entities"] for _ in e["boxes"]]
    leaked = leaked_entities(output_words, truth.pieces, truth.owner, len(truth.labels), min_chars)
    found = entity_found(truth, boxes, record.width, record.height, cover)
    hit_ink = [False] * len(truth.labels)
    redacted = [tuple(b) for b in audit.get("verification", {}).get("redacted", [])]
    if images is not None:
        rewritten = rewritten_mask(images[0], images[1], boxes, margin) | rewritten_mask(*images, redacted, 0)
        hit_ink = value_coverage(record, images[0], rewritten, ink_cover)
        sensitive_boxes = [b for lines in truth.line_boxes for b in lines]  # a value's words and the gaps between them
        score.changed_outside, score.outside = changed_outside(images[0], images[1], sensitive_boxes, outside_px)
    scopes = [e.scope for e in record.entities if e.sensitive and e.words]
    for label, ok, was, now, hit, inked, where in zip(truth.labels, truth.checkable, truth.readable_in, leaked,
                                                      found, hit_ink, scopes):
        if scope is not None and where is not None and where != scope:
            continue
        score.entities[label] += 1
        score.checkable[label] += ok
        score.readable[label] += was
        score.leaked[label] += was and now
        score.leaked_unreadable += now and not was
        score.found[label] += hit
        score.covered[label] += inked
    for etype, ok in zip(types, box_correct(truth, boxes, record.width, record.height, inside, pad)):
        score.boxes[etype] += 1
        score.boxes_correct[etype] += ok
    score.kept, score.kept_of = preserved(input_words, output_words, truth, px, min_iou)
    score.plain_kept, score.plain_read = plain_kept(record.plain, input_words, output_words)
    for line in surrogate_readback(audit, output_words, px, min_chars) if readback else []:
        score.surrogates[line.type] += 1
        score.surrogates_read[line.type] += line.read
        score.surrogate_errors += line.errors
        score.surrogate_chars += line.chars
    score.fallback_boxes = len(redacted)
    return score
