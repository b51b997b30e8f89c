"""One page through the pipeline: OCR → detection → boxes → surrogates → render → verify.

:class:`PageAnonymizer` holds the shared, loaded-once parts (OCR engine, detector,
renderer); :class:`DocumentContext` holds what must be consistent across the pages of one
document (the surrogate generator and the ids of distinct values). The result of a page is
the new image and its audit entry, which has positions, types, scores, surrogates and the
verification outcome, never an original value. Originals exist only in memory while the
page is processed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageChops, ImageFont

from anonymizer.core.geometry import Box, clip_box
from anonymizer.core.text import nfkc_casefold_alnum
from anonymizer.pipeline.detect import PiiDetector
from anonymizer.pipeline.field_ink import InkRegion
from anonymizer.pipeline.ocr import OcrEngine
from anonymizer.pipeline.page_text import Detection, PageText, entity_boxes, reference_font
from anonymizer.pipeline.render import Renderer, Replacement
from anonymizer.pipeline.render.base import nearest_context
from anonymizer.pipeline.render.redact import RedactRenderer
from anonymizer.pipeline.surrogates import SurrogateGenerator
from anonymizer.pipeline.surrogates.amounts import plan_amounts
from anonymizer.pipeline.verify import SCOPES, find_leaks, words_after_edit

log = logging.getLogger(__name__)

FALLBACKS = ("redact", "none")


@dataclass
class DocumentContext:
    """Per-document state: one surrogate generator (same value → same surrogate on every
    page) and short ids for distinct values (``v1``, ``v2``...) keyed by an HMAC under a
    random per-document key, so the audit shows which boxes hold the same value without
    holding the value."""

    surrogates: SurrogateGenerator
    _key: bytes = field(default_factory=lambda: os.urandom(32), repr=False)
    _ids: dict[bytes, str] = field(default_factory=dict, repr=False)
    unread: int = 0  # unread field values planned so far (their surrogates are keyed by this count)

    def value_id(self, entity_type: str, value: str) -> str:
        digest = hmac.new(self._key, f"{entity_type}\x00{nfkc_casefold_alnum(value)}".encode(), hashlib.sha256).digest()
        if digest not in self._ids:
            self._ids[digest] = f"v{len(self._ids) + 1}"
        return self._ids[digest]


@dataclass
class PageResult:
    """The anonymized page and its audit entry (JSON-ready, no originals)."""

    image: Image.Image
    audit: dict[str, Any]


def split_lines(surrogate: str, pieces: Sequence[str]) -> list[str] | None:
    """The surrogate's lines for the original's line ``pieces``, or None when the
    surrogate does not have one non-empty line per piece (the caller then draws a
    surrogate per line)."""
    if len(pieces) == 1:
        line = " ".join(surrogate.split())
        return [line] if line else None
    lines = [" ".join(line.split()) for line in surrogate.split("\n")]
    lines = [line for line in lines if line]
    return lines if len(lines) == len(pieces) else None


class PageAnonymizer:
    """Anonymizes pages with a loaded OCR engine, detector and renderer.

    Args:
        ocr: the OCR engine (also used for verification).
        detector: the PII detector.
        renderer: draws the surrogates (``classical``, ``diffusion`` or ``redact``).
        verify: OCR the output again and look for every original value.
        fallback: ``"redact"`` (default): solid boxes over any place where an original
            value is still readable; ``"none"``: only flag it in the audit.
        fallback_color: colour of the fallback boxes.
        min_chars: values with fewer letters/digits are not searched by verification.
        fit_surrogates: ask the surrogate generator for a variant that fits the box width
            (measured with the reference font at the box height).
        verify_scope: ``"regions"``: read again only the replaced regions (each box grown to
            its text lines) and reuse the first pass's words elsewhere, whose pixels did not
            change (the whole page is read again if any pixel outside the regions changed);
            ``"page"``: read the whole output page again.
    """

    def __init__(
        self,
        ocr: OcrEngine,
        detector: PiiDetector,
        renderer: Renderer,
        verify: bool = True,
        fallback: str = "redact",
        fallback_color: str | Sequence[int] = "black",
        min_chars: int = 3,
        fit_surrogates: bool = True,
        verify_scope: str = "regions",
    ) -> None:
        if verify_scope not in SCOPES:
            raise ValueError(f"verify.scope must be one of {list(SCOPES)}, got {verify_scope!r}")
        if fallback not in FALLBACKS:
            raise ValueError(f"verify.fallback must be one of {FALLBACKS}, got {fallback!r}")
        if isinstance(min_chars, bool) or not isinstance(min_chars, int) or min_chars < 1:
            raise ValueError(f"verify.min_chars must be an integer >= 1, got {min_chars!r}")
        self.ocr = ocr
        self.detector = detector
        self.renderer = renderer
        self.verify = bool(verify)
        self.fallback = fallback
        self.redactor = RedactRenderer(color=fallback_color, margin=getattr(renderer, "margin", 2))
        self.min_chars = min_chars
        self.fit_surrogates = bool(fit_surrogates)
        self.verify_scope = verify_scope
        self._font: ImageFont.FreeTypeFont | ImageFont.ImageFont | None = None

    def __call__(self, image: Image.Image, doc: DocumentContext, page_index: int = 0) -> PageResult:
        clock = _Stages()
        image = image if image.mode == "RGB" else image.convert("RGB")
        words = self.ocr.read(image)
        clock.lap("ocr")
        page, detections, regions = self.detector.detect_page(image, words)
        clock.lap("detection")
        entities, replacements, originals = self._plan(page, detections, doc, image.size)
        self._plan_regions(regions, page, doc, entities, replacements, image.size)
        clock.lap("surrogates")
        output = self.renderer(image, replacements) if replacements else image.copy()
        clock.lap("render")
        verification = ({"checked": False} if not self.verify else
                        self._verify(output, originals, entities, image, words, [r.box for r in replacements]))
        if verification.get("redacted"):
            output = self.redactor(output, [Replacement(box=b, text="-") for b in verification["redacted"]])
        clock.lap("verification")
        audit = {
            "page": page_index,
            "width": image.width,
            "height": image.height,
            "ocr_words": len(words),
            "policy": getattr(self.detector, "policy", None),
            "entities": entities,
            "verification": verification,
            "seconds": round(clock.total, 3),
            "stages": clock.rounded(),
        }
        log.debug("page %d: %d entities %s", page_index, len(entities), dict(Counter(e["type"] for e in entities)))
        return PageResult(output, audit)

    # ------------------------------------------------------------------ planning
    def _measure(self, height: float):
        if self._font is None:
            self._font = reference_font()
        font = self._font
        size = max(int(round(height)), 4)
        if isinstance(font, ImageFont.FreeTypeFont):
            font = font.font_variant(size=size)
        return lambda s: float(font.getlength(s))

    def _plan(
        self, page: PageText, detections: Sequence[Detection], doc: DocumentContext, size: tuple[int, int]
    ) -> tuple[list[dict[str, Any]], list[Replacement], list[tuple[int, str]]]:
        entities: list[dict[str, Any]] = []
        replacements: list[Replacement] = []
        originals: list[tuple[int, str]] = []  # (entity index, value or one line of it), memory only
        width, height = size
        # Page context for the renderer: OCR words that no detection touches (labels, headings,
        # prose), at least 3 characters, confidently read; the 8 nearest go with each box.
        sensitive = {i for det in detections for i in page.words_in(det.start, det.end)}
        safe = [
            (clip_box(w.box, (width, height)), " ".join(w.text.split()))
            for i, w in enumerate(page.words)
            if i not in sensitive and page.spans[i] is not None and len("".join(w.text.split())) >= 3
            and (w.conf is None or w.conf >= 60) and _usable(w.box, width, height)
        ]
        amounts = [page.text[d.start : d.end] for d in detections if d.entity_type == "AMOUNT"]
        if len(amounts) > 2:  # totals and balances stay the sums of the amounts they add up
            for original, total in plan_amounts(amounts, lambda t: doc.surrogates.surrogate("AMOUNT", t)).items():
                doc.surrogates.pin("AMOUNT", original, total)
        for det in detections:
            boxes = [b for b in entity_boxes(det, page) if _usable(b.box, width, height)]
            if not boxes:
                continue
            pieces = [page.text[b.char_span[0] : b.char_span[1]] for b in boxes]
            value = "\n".join(pieces)
            kwargs: dict[str, Any] = {}
            if self.fit_surrogates and len(boxes) == 1:
                x0, y0, x1, y1 = boxes[0].box
                kwargs = {"max_width": x1 - x0, "measure": self._measure(y1 - y0)}
            surrogate = doc.surrogates.surrogate(det.entity_type, value, **kwargs)
            parts = split_lines(surrogate, pieces)
            if parts is None:  # one surrogate per line, each consistent with itself
                parts = [doc.surrogates.surrogate(det.entity_type, piece) for piece in pieces]
                parts = [" ".join(p.split()) or "#" * len(piece.strip()) for p, piece in zip(parts, pieces)]
            index = len(entities)
            clipped = [clip_box(b.box, (width, height)) for b in boxes]
            for box, piece, part in zip(clipped, pieces, parts):
                replacements.append(
                    Replacement(box=box, text=part, original_length=len(piece), label=det.entity_type,
                                context=nearest_context(box, safe))
                )
                originals.append((index, piece))
            if len(pieces) > 1:
                originals.append((index, " ".join(pieces)))
            entities.append(
                {
                    "type": det.entity_type,
                    "score": round(float(det.score), 3),
                    "source": det.source,
                    "value_id": doc.value_id(det.entity_type, value),
                    "boxes": [[round(v, 1) for v in box] for box in clipped],
                    "surrogate": parts,
                }
            )
        return entities, replacements, originals

    def _plan_regions(self, regions: Sequence[InkRegion], page: PageText, doc: DocumentContext,
                      entities: list[dict[str, Any]], replacements: list[Replacement], size: tuple[int, int]) -> None:
        """Entities and replacements for unread field values: a surrogate of the type keyed by the
        region's order in the document (the original is unknown, so it is neither keyed by it nor
        searched for by verification); with the secret the same on every run, else random."""
        width, height = size
        words = [(clip_box(w.box, (width, height)), " ".join(w.text.split())) for w in page.words
                 if (w.conf is None or w.conf >= 60) and len(w.text.strip()) >= 3 and _usable(w.box, width, height)]
        for region in regions:
            box = clip_box(region.box, (width, height))
            if not _usable(box, width, height):
                continue
            kwargs: dict[str, Any] = {}
            if self.fit_surrogates:
                kwargs = {"max_width": box[2] - box[0], "measure": self._measure(box[3] - box[1])}
            doc.unread += 1  # its own surrogate per region; reproducible with the secret (order, not text)
            fresh = doc.surrogates.derived("unread", str(doc.unread), region.entity_type)
            surrogate = " ".join(fresh.surrogate(region.entity_type, region.template, **kwargs).split())
            replacements.append(Replacement(box=box, text=surrogate, original_length=len(region.template),
                                            label=region.entity_type, context=nearest_context(box, words)))
            entities.append({
                "type": region.entity_type, "score": round(float(region.score), 3), "source": region.source,
                "value_id": doc.value_id(region.entity_type, f"\x00unread:{len(entities)}:{box}"),
                "boxes": [[round(v, 1) for v in box]], "surrogate": [surrogate], "read": False,
            })

    # ------------------------------------------------------------------ verification
    def _verify(
        self, output: Image.Image, originals: Sequence[tuple[int, str]], entities: list[dict[str, Any]],
        image: Image.Image | None = None, first_pass: Sequence[Any] = (), boxes: Sequence[Box] = (),
    ) -> dict[str, Any]:
        scope, regions = "page", None
        if self.verify_scope == "regions" and image is not None:
            words, regions = words_after_edit(self.ocr, output, first_pass, boxes, getattr(self.renderer, "margin", 2))
            if _changed_outside(image, output, regions):  # a renderer broke its margin promise: read it all
                log.warning("verification: pixels changed outside the replaced regions; the whole page is read again")
                regions = None
            else:
                scope = "regions"
        if regions is None:
            words = self.ocr.read(output)
        values = [v for _, v in originals]
        leaks = find_leaks(words, values, self.min_chars)
        checked = sum(1 for v in values if len(nfkc_casefold_alnum(v)) >= self.min_chars)
        found: list[dict[str, Any]] = []
        redact: list[Box] = []
        for leak in leaks:
            entity = originals[leak.index][0]
            boxes = [[round(v, 1) for v in clip_box(b, (output.width, output.height))] for b in leak.boxes]
            found.append({"entity": entity, "type": entities[entity]["type"], "boxes": boxes})
            redact.extend(tuple(b) for b in boxes)  # type: ignore[misc]
        unique = sorted(set(redact))
        result: dict[str, Any] = {
            "checked": True,
            "scope": scope,
            "regions_read": len(regions) if regions is not None else None,
            "values_checked": checked,
            "values_too_short": len(values) - checked,
            "leaks": found,
            "passed": not found,
            "action": ("redacted" if self.fallback == "redact" else "flagged") if found else None,
        }
        if found and self.fallback == "redact":
            result["redacted"] = unique
        if found:
            log.warning("verification: %d original value(s) still readable on a page (%s); %s",
                        len(found), ", ".join(sorted({f["type"] for f in found})), result["action"])
        return result


class _Stages:
    """Seconds per pipeline stage of one page (``lap(name)`` closes the stage running since the last lap)."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self.last
        self.last = now

    @property
    def total(self) -> float:
        return time.perf_counter() - self.start

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.seconds.items()}


def _changed_outside(before: Image.Image, after: Image.Image, regions: Sequence[Box]) -> bool:
    """Whether any pixel of ``after`` differs from ``before`` outside ``regions``."""
    if before.size != after.size:
        return True
    diff = ImageChops.difference(before.convert("RGB"), after.convert("RGB")).convert("L")
    for x0, y0, x1, y1 in regions:
        diff.paste(0, (int(x0), int(y0), int(-(-x1 // 1)), int(-(-y1 // 1))))
    return diff.getbbox() is not None


def _usable(box: Box, width: int, height: int) -> bool:
    x0, y0, x1, y1 = clip_box(box, (width, height))
    return x1 - x0 >= 1 and y1 - y0 >= 1
