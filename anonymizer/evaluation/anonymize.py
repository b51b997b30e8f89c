"""``task=anonymize``: the anonymizer on pages with known sensitive values.

Pages come from the synthetic generator (:func:`synthetic_pages`, in memory) or from page
records with sensitive entities (:func:`record_pages`). Each page is one document: it goes
through the :class:`~anonymizer.pipeline.document.DocumentAnonymizer` built from
``anonymizer/conf/pipeline.yaml`` (the same pipeline as the ``anonymize`` command) with its OCR
engine wrapped in :class:`CachedOcr`, and the input and the output are read by that
engine. :func:`anonymizer.evaluation.anonymization_scores.score_page` turns that into counts: leaks
per entity type (over values readable by OCR in the input), detection recall and
precision, non-sensitive words preserved and surrogates read back.

Privacy: original values exist only in memory. :class:`PageEvaluation` and everything the
CLI writes hold ids, types and counts; images logged are anonymized output pages only.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from anonymizer.core.records import PageRecord, Word
from anonymizer.evaluation.anonymization_scores import PageScore, score_page
from anonymizer.evaluation.report import Evaluation, Table, progress, ratio
from anonymizer.pipeline.document import DocumentAnonymizer, Wrappers, pipeline_config

log = logging.getLogger(__name__)


class CachedOcr:
    """An OCR engine that remembers its last readings by image content, so the evaluation's
    reading of the input and of the output reuses the pipeline's own (same engine, same
    settings): the pipeline reads the input, and verification reads the rendered output
    (the final output when no fallback box was drawn)."""

    def __init__(self, engine: Any, size: int = 4) -> None:
        self.engine = engine
        self.size = size
        self._cache: OrderedDict[bytes, list[Word]] = OrderedDict()

    @staticmethod
    def key(image: Image.Image) -> bytes:
        digest = hashlib.blake2b(image.tobytes(), digest_size=16)
        digest.update(f"{image.mode}{image.size}".encode())
        return digest.digest()

    def read(self, image: Image.Image) -> list[Word]:
        key = self.key(image)
        if key in self._cache:
            self._cache.move_to_end(key)
            return list(self._cache[key])
        words = self.engine.read(image)
        self._cache[key] = list(words)
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return words

    def __getattr__(self, name: str) -> Any:  # settings of the wrapped engine (lang, psm, ...)
        if name in ("engine", "size", "_cache"):
            raise AttributeError(name)
        return getattr(self.engine, name)


#: The wrappers of the pipeline under evaluation: its OCR readings are cached, so that the
#: evaluation reads the input and the output with the pipeline's own readings.
EVALUATION = Wrappers(ocr=CachedOcr)


def build_anonymizer(overrides: Sequence[str] = ()) -> tuple[DocumentAnonymizer, Any]:
    """``(pipeline, config)`` from ``anonymizer/conf/pipeline.yaml`` with Hydra ``overrides`` (e.g.
    ``["renderer=redact", "ocr.scale=2"]``), built with :data:`EVALUATION`. For notebooks;
    the command builds from its own composed config."""
    cfg = pipeline_config(overrides)
    return DocumentAnonymizer.from_config(cfg, wrappers=EVALUATION), cfg


# --------------------------------------------------------------------------- pages
@dataclass
class Page:
    """One page to evaluate: an id, the image (None when it could not be loaded) and its record."""

    id: str
    image: Image.Image | None
    record: PageRecord
    error: str | None = None


def synthetic_pages(n: int, seed: int, page: dict[str, Any] | None = None) -> Iterator[Page]:
    """Pages ``0..n-1`` of the synthetic generator for ``seed`` (``page``: ``PageConfig`` keys)."""
    from anonymizer.data.synth_pages import PageConfig, generate_page

    config = PageConfig.from_mapping(dict(page or {}))
    for index in range(n):
        image, record = generate_page(index, seed, config)
        yield Page(record.id, image, record)


def record_pages(records: Sequence[PageRecord], n: int, max_pixels: int | None = None) -> Iterator[Page]:
    """The first ``n`` records with their page images; a page that cannot be loaded is
    yielded with ``image=None`` and the reason (naming the file, never content)."""
    from anonymizer.core.documents import load_page
    from anonymizer.core.image_io import ImageLoadError
    from anonymizer.data.record_crops import page_dpi

    for record in list(records)[:n]:
        try:
            kwargs = {"max_pixels": max_pixels} if max_pixels is not None else {}
            image = load_page(record.image_path, record.page, page_dpi(record), **kwargs)
            if abs(image.width - record.width) > 1 or abs(image.height - record.height) > 1:
                raise ImageLoadError(record.image_path, f"page is {image.width}x{image.height} pixels but the record "
                                                        f"says {record.width}x{record.height}")
        except ImageLoadError as err:
            yield Page(record.id, None, record, str(err))
            continue
        yield Page(record.id, image, record)


def page_kind(record: PageRecord) -> str:
    """The page kind of synthetic pages (``form``, ``tax_form``, ...), else the record's source."""
    from anonymizer.data.synth_pages.config import KINDS

    if record.source == "synth_pages":
        tail = record.id.rsplit("-", 1)[-1]
        if tail in KINDS:
            return tail
    return record.source or "records"


# --------------------------------------------------------------------------- evaluation
@dataclass
class PageEvaluation:
    """The outcome of one page: counts (:class:`PageScore`), seconds, the anonymized image and
    its audit entry (kept for notebooks; the CLI writes neither), or the failure reason."""

    id: str
    kind: str
    score: PageScore = field(default_factory=PageScore)
    personal: PageScore | None = None  # the counts over personal values only, when the record has scopes
    seconds: float = 0.0
    error: str | None = None
    output: Image.Image | None = field(default=None, repr=False)
    audit: dict[str, Any] | None = field(default=None, repr=False)

    def row(self) -> dict[str, Any]:
        """Per-page file row: counts only (no text, no surrogates)."""
        s = self.score
        return {
            "id": self.id, "kind": self.kind, "error": self.error, "seconds": round(self.seconds, 3),
            "entities": sum(s.entities.values()), "readable_in_input": sum(s.readable.values()),
            "leaked": sum(s.leaked.values()), "leaked_unreadable_in_input": s.leaked_unreadable,
            "detected": sum(s.found.values()), "boxes": sum(s.boxes.values()),
            "boxes_correct": sum(s.boxes_correct.values()), "words_kept": s.kept, "words_considered": s.kept_of,
            "surrogate_lines": sum(s.surrogates.values()), "surrogates_read": sum(s.surrogates_read.values()),
            "surrogate_char_errors": s.surrogate_errors, "surrogate_chars": s.surrogate_chars,
            "fallback_boxes": s.fallback_boxes, "covered": sum(s.covered.values()),
            "pixels_changed_outside": s.changed_outside, "pixels_outside": s.outside,
            "plain_words_kept": s.plain_kept, "plain_words_read": s.plain_read,
            "leaked_by_type": dict(s.leaked), "readable_by_type": dict(s.readable),
            "entities_by_type": dict(s.entities),
        }


def draws_text(renderer: Any) -> bool:
    """Whether ``renderer`` draws surrogate text (not the solid boxes of ``redact``)."""
    from anonymizer.pipeline.render.redact import RedactRenderer

    return not isinstance(renderer, RedactRenderer)


def evaluate_page(anonymizer: DocumentAnonymizer, page: Page, metrics: dict[str, Any] | None = None,
                  keep_output: bool = True) -> PageEvaluation:
    """Anonymize ``page`` as one document and score it; never raises for a failing page.

    The input and the output are read by ``anonymizer``'s OCR engine; built with
    :data:`EVALUATION` (:class:`CachedOcr`), those readings are shared with the pipeline's
    own. ``metrics``: keyword arguments of
    :func:`~anonymizer.evaluation.anonymization_scores.score_page` (``min_chars``, ``px``, ``min_iou``,
    ``cover``, ``inside``, ``pad``). Surrogates are read back only when the renderer draws
    text (:func:`draws_text`).
    """
    result = PageEvaluation(page.id, page_kind(page.record))
    if page.image is None:
        result.error = page.error or "page not loadable"
        return result
    parts = anonymizer.page_anonymizer
    ocr = parts.ocr
    started = time.perf_counter()
    try:
        image = page.image if page.image.mode == "RGB" else page.image.convert("RGB")
        input_words = ocr.read(image)
        out = anonymizer.anonymize_page(image)
        result.seconds = time.perf_counter() - started
        output_words = ocr.read(out.image)
        kwargs = dict(metrics or {}, readback=draws_text(parts.renderer), images=(image, out.image),
                      margin=int(getattr(parts.renderer, "margin", 0) or 0))
        result.score = score_page(page.record, input_words, output_words, out.audit, **kwargs)
        if any(e.scope is not None for e in page.record.entities):
            result.personal = score_page(page.record, input_words, output_words, out.audit, **kwargs,
                                         scope="personal")
    except Exception as err:  # noqa: BLE001 - one page must not stop the evaluation; no content in the reason
        result.error = f"{type(err).__name__} while processing"
        log.warning("%s: %s", page.id, result.error)
        return result
    if keep_output:
        result.output, result.audit = out.image, out.audit
    return result


def evaluate_pages(anonymizer: DocumentAnonymizer, pages: Sequence[Page] | Iterator[Page], n: int,
                   metrics: dict[str, Any] | None = None, keep_outputs: int = 8,
                   show_progress: bool = False) -> list[PageEvaluation]:
    """:func:`evaluate_page` on every page; outputs (images, audits) kept for the first ``keep_outputs``."""
    results: list[PageEvaluation] = []
    items = _Sized(pages, n)
    for page in progress(items, "anonymizing", show_progress):
        results.append(evaluate_page(anonymizer, page, metrics, keep_output=len(results) < keep_outputs))
    return results


class _Sized:
    """An iterator with a known length (for the progress bar)."""

    def __init__(self, items: Any, n: int) -> None:
        self.items, self.n = items, n

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)


# --------------------------------------------------------------------------- summary
def total_score(results: Sequence[PageEvaluation], personal: bool = False) -> PageScore:
    """The summed counts of the pages that did not fail (``personal``: over personal values only,
    pages without scopes counting all their values)."""
    total = PageScore()
    for r in results:
        if r.error is None:
            total.add(r.personal if personal and r.personal is not None else r.score)
    return total


def _value_figures(t: PageScore) -> tuple[dict[str, Any], dict[str, Any]]:
    """Overall and per-type value figures (coverage, leaks, recall) of ``t``."""
    readable, leaked = sum(t.readable.values()), sum(t.leaked.values())
    entities, found, covered = sum(t.entities.values()), sum(t.found.values()), sum(t.covered.values())
    overall = {
        "entities": entities,
        "covered": covered,
        "coverage": ratio(covered, entities),
        "readable_in_input": readable,
        "leaked": leaked,
        "leak_rate": ratio(leaked, readable),
        "leaked_unreadable_in_input": t.leaked_unreadable,
        "detected": found,
        "detection_recall": ratio(found, entities),
    }
    by_type = {
        label: {
            "entities": t.entities[label], "covered": t.covered[label],
            "coverage": ratio(t.covered[label], t.entities[label]),
            "readable_in_input": t.readable[label], "leaked": t.leaked[label],
            "leak_rate": ratio(t.leaked[label], t.readable[label]),
            "detected": t.found[label], "detection_recall": ratio(t.found[label], t.entities[label]),
        }
        for label in sorted(t.entities)
    }
    return overall, by_type


def summarize_anonymize(results: Sequence[PageEvaluation]) -> dict[str, Any]:
    """Overall rates and per-type tables from the pages' counts (see the module docstring);
    ``personal``: the value figures over personal values only, when the records have scopes."""
    t = total_score(results)
    values, by_type = _value_figures(t)
    boxes, correct = sum(t.boxes.values()), sum(t.boxes_correct.values())
    lines, read = sum(t.surrogates.values()), sum(t.surrogates_read.values())
    ok = [r for r in results if r.error is None]
    overall = {
        "pages": len(ok),
        **values,
        "detection_precision": ratio(correct, boxes),
        "boxes": boxes,
        "non_sensitive_word_recall": ratio(t.kept, t.kept_of),
        "non_sensitive_words": t.kept_of,
        "plain_words_kept": ratio(t.plain_kept, t.plain_read),
        "plain_words_read_in_input": t.plain_read,
        "pixels_changed_outside": ratio(t.changed_outside, t.outside),
        "surrogate_lines": lines,
        "surrogate_readback_rate": ratio(read, lines),
        "surrogate_cer": ratio(t.surrogate_errors, t.surrogate_chars),
        "fallback_boxes": t.fallback_boxes,
        "seconds_per_page": sum(r.seconds for r in ok) / len(ok) if ok else None,
    }
    by_detected_type = {
        label: {"boxes": t.boxes[label], "correct": t.boxes_correct[label],
                "precision": ratio(t.boxes_correct[label], t.boxes[label]),
                "surrogate_lines": t.surrogates[label],
                "surrogate_readback_rate": ratio(t.surrogates_read[label], t.surrogates[label])}
        for label in sorted(set(t.boxes) | set(t.surrogates))
    }
    out = {"overall": overall, "by_entity_type": by_type, "by_detected_type": by_detected_type}
    if any(r.personal is not None for r in ok):
        personal, personal_by_type = _value_figures(total_score(results, personal=True))
        out["personal"] = {"overall": personal, "by_entity_type": personal_by_type}
    return out


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}% ({a}/{b})" if b else "n/a"


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _type_table(title: str, overall: dict[str, Any], by_type: dict[str, Any]) -> Table:
    rows = [[label, v["entities"], _rate(v["coverage"]), v["readable_in_input"], v["leaked"], _rate(v["leak_rate"]),
             _rate(v["detection_recall"])] for label, v in by_type.items()]
    o = overall
    rows.append(["**all**", o["entities"], _rate(o["coverage"]), o["readable_in_input"], o["leaked"],
                 _rate(o["leak_rate"]), _rate(o["detection_recall"])])
    return Table(title, ["entity type", "values", "coverage", "readable in input", "leaked", "leak rate",
                         "detection recall"], rows)


def anonymize_evaluation(results: Sequence[PageEvaluation], info: dict[str, Any], n_images: int = 8) -> Evaluation:
    """The :class:`Evaluation` of ``results``: overall and per-type tables, per-page rows (counts
    only), plots per type and a panel of anonymized output pages (never inputs)."""
    metrics = summarize_anonymize(results)
    t = total_score(results)
    o = metrics["overall"]
    failed = sum(r.error is not None for r in results)
    rows = [
        ["coverage (values whose ink the output rewrote, every place printed)",
         _pct(sum(t.covered.values()), sum(t.entities.values()))],
        ["leak rate (values readable in the input still readable in the output)",
         _pct(sum(t.leaked.values()), sum(t.readable.values()))],
    ]
    if "personal" in metrics:
        p = metrics["personal"]["overall"]
        rows += [["coverage of personal values", _pct(p["covered"], p["entities"])],
                 ["leak rate of personal values", _pct(p["leaked"], p["readable_in_input"])]]
    rows += [
        ["detection recall (entities, >= 50 % of word-box area covered)",
         _pct(sum(t.found.values()), sum(t.entities.values()))],
        ["detection precision (boxes, >= 50 % inside sensitive lines)",
         _pct(sum(t.boxes_correct.values()), sum(t.boxes.values()))],
        ["non-sensitive words preserved (OCR word recall outside the boxes)", _pct(t.kept, t.kept_of)],
        ["plain words still read (of those read in the input)", _pct(t.plain_kept, t.plain_read)],
        ["pixels changed outside the sensitive boxes", _rate(o["pixels_changed_outside"]) if t.outside else "n/a"],
        ["surrogate lines read back in their boxes",
         _pct(sum(t.surrogates_read.values()), sum(t.surrogates.values()))],
        ["surrogate CER", o["surrogate_cer"]],
        ["leaks of values not readable in the input", t.leaked_unreadable],
        ["verification fallback boxes", t.fallback_boxes],
        ["seconds per page", o["seconds_per_page"]],
    ]
    overall = Table(f"Anonymization ({info.get('renderer', '')} renderer, {o['pages']} pages)", ["metric", "value"],
                    rows)
    tables = [overall, _type_table("Per entity type (all values)", o, metrics["by_entity_type"])]
    if "personal" in metrics:
        tables.append(_type_table("Per entity type (personal values)", metrics["personal"]["overall"],
                                  metrics["personal"]["by_entity_type"]))
    notes = [
        f"{len(results)} pages, {failed} failed; each page is one document (surrogates consistent within it)",
        "leak rate counts only values readable by OCR in the input page (what OCR cannot read there cannot be "
        "measured as a leak); OCR = the pipeline's own engine and settings",
        "coverage: a value counts when, at every place it is printed, >= "
        f"{info.get('metrics_settings', {}).get('ink_cover', 0.6)} of its ink pixels lie in regions the output rewrote",
    ]
    images = [(f"{r.id} (anonymized output)", _thumbnail(r.output)) for r in results if r.output is not None][:n_images]
    plots = {
        "coverage_by_type": {k: v["coverage"] for k, v in metrics["by_entity_type"].items()},
        "leak_rate_by_type": {k: v["leak_rate"] for k, v in metrics["by_entity_type"].items()},
        "detection_recall_by_type": {k: v["detection_recall"] for k, v in metrics["by_entity_type"].items()},
        "precision_by_detected_type": {k: v["precision"] for k, v in metrics["by_detected_type"].items()},
    }
    summary = {**info, "n_samples": len(results), "n_failed": failed,
               "failures": dict(Counter(r.error for r in results if r.error)), "metrics": metrics}
    return Evaluation("anonymize", summary, [overall, *tables[1:]], [r.row() for r in results], images, plots, notes)


def _thumbnail(image: Image.Image, side: int = 1024) -> Image.Image:
    image = image.copy()
    image.thumbnail((side, side))
    return image
