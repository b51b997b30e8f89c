"""``task=text_edit``: a text-edit export evaluated with the DiffUTE/AnyText protocol.

Samples (:class:`TextEditSample`) are a source image with one box around a run of words
of one line, its text and another target string: synthetic crops
(:class:`~anonymizer.data.inpaint_samples.InpaintSamples`), record pages
(:class:`~anonymizer.data.record_inpaint.RecordInpaintSamples`) or short strings on plain
paper (:class:`~anonymizer.data.plain_samples.PlainTextSamples`, the proof setting), cut as
for training; the other string is :func:`~anonymizer.data.inpaint_samples.other_text`
(document-like content of about the same length, seeded per sample), or for plain strings
another string of the same alphabet and length.

Per sample (:func:`evaluate_text_edit`), the pipeline re-draws the box twice:

(a) **reconstruction**, with the box's own text as target: PSNR and LPIPS of the masked
    region (the box dilated by the export's ``mask_margin``) against the original;
(b) **edit**, with the other string: Tesseract (one line) on the box against the target
    string: sentence accuracy and ``1 - NED`` (:mod:`anonymizer.metrics.text_accuracy`);
    the same OCR of the original box against its own text is the reference ceiling;
(c) **unchanged outside**: the share of pixels outside the dilated box that are
    bit-identical to the input (both edits; must be 1.0);
(d) **glyph effect**: OCR CER of both re-drawings against the box's *own* text: ``ocr_cer``
    (reconstruction, its own glyph) and ``ocr_cer_shuffled`` (the edit, another string's glyph),
    and ``glyph_effect = ocr_cer_shuffled - ocr_cer`` (corpus CERs). A model that ignores its
    glyph draws the same either way: effect 0; one that writes its glyph: close to the CER
    between unrelated strings. ``sentence_acc_shuffled`` is how often the edit still reads as
    the original text (the control of ``sentence_acc_reconstruction``).

LPIPS needs at least 16 pixels per side: the region is resized (bicubic) so that its
shorter side is ``lpips_side`` pixels first.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from anonymizer.core.entry import UsageError
from anonymizer.core.geometry import Box, dilate_box
from anonymizer.core.records import PageRecord
from anonymizer.core.text import nfkc_single_spaced
from anonymizer.evaluation.buckets import OVERALL, bucket_labels, bucket_of
from anonymizer.evaluation.common import torch_dtype
from anonymizer.evaluation.report import Evaluation, Table, grid, mean, progress
from anonymizer.metrics.image_quality import Lpips, psnr, resize_min_side, unchanged_outside
from anonymizer.metrics.legibility import ocr_box
from anonymizer.metrics.text_accuracy import cer, ned

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- model
def load_text_edit(path: str, dtype: str = "float32", device: str = "cpu"):
    """The :class:`~anonymizer.pipeline.text_edit.TextEditPipeline` of the export at ``path``.

    Raises:
        UsageError: naming ``path`` when it is not a loadable text-edit export.
    """
    from anonymizer.pipeline.text_edit import TextEditPipeline

    torch_type = torch_dtype(dtype)
    if "://" not in path and not Path(path).expanduser().is_dir():
        raise UsageError(f"model.path={path}: no such folder (a text-edit export, e.g. export/text_edit of a run)")
    try:
        return TextEditPipeline.from_pretrained(path, device=device, dtype=torch_type)
    except (OSError, ValueError, RuntimeError, KeyError) as err:
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise UsageError(f"model.path={path}: cannot load a text-edit export ({reason[:300]})") from None


# --------------------------------------------------------------------------- samples
@dataclass
class TextEditSample:
    """A source image, the ``box`` of a run of words, its ``text``, the ``target`` string of
    the edit and the text height (median word-box height, source pixels)."""

    id: str
    image: Image.Image
    box: Box
    text: str
    target: str
    height: float


def _target(text: str, seed: int, index: int, locales: Sequence[str]) -> str:
    from anonymizer.data.inpaint_samples import other_text

    return other_text(text, np.random.default_rng([seed, index, 3]), tuple(locales))


def synthetic_text_edit_samples(pipe: Any, n: int, seed: int, source_size: int = 128, max_words: int = 3,
                                synthetic: dict[str, Any] | None = None) -> tuple[list[TextEditSample], int]:
    """``n`` samples cut from synthetic crops as :class:`InpaintSamples` picks them (with the
    export's ``crop_side`` and ``mask_margin``), and the number of indices without a word."""
    from anonymizer.data.inpaint_samples import InpaintSamples
    from anonymizer.data.synthetic import DEFAULT_LOCALES, SyntheticStyle

    cfg = dict(synthetic or {})
    style = SyntheticStyle(**dict(cfg.pop("style", None) or {}))
    locales = tuple(cfg.pop("locales", None) or DEFAULT_LOCALES)
    dataset = InpaintSamples(length=n, seed=seed, resolution=pipe.resolution, crop_side=pipe.crop_side,
                             source_size=source_size, mask_margin=pipe.mask_margin, max_words=max_words,
                             glyph=pipe.glyph, style=style, font_dirs=cfg.pop("font_dirs", None),
                             font_families=cfg.pop("font_families", None), locales=locales)
    if cfg:
        raise UsageError(f"data.synthetic has unknown keys: {sorted(cfg)}")
    samples, failed = [], 0
    for index in range(n):
        try:
            choice = dataset.pick(index)
        except RuntimeError:
            failed += 1
            continue
        height = float(np.median([w.box[3] - w.box[1] for w in choice.words]))
        samples.append(TextEditSample(f"synthetic-{seed}-{index}", choice.crop.image, choice.box, choice.text,
                                      _target(choice.text, seed, index, locales), height))
    return samples, failed


def plain_text_edit_samples(pipe: Any, n: int, seed: int, source_size: int = 56,
                            plain: dict[str, Any] | None = None) -> list[TextEditSample]:
    """``n`` strings on plain paper as :class:`PlainTextSamples` draws them (with the export's
    ``crop_side`` and ``mask_margin``); the target is another string of the same alphabet and
    length (seeded per sample)."""
    from anonymizer.data.plain_samples import PlainTextSamples

    dataset = PlainTextSamples(length=n, seed=seed, resolution=pipe.resolution, crop_side=pipe.crop_side,
                               source_size=source_size, mask_margin=pipe.mask_margin, glyph=pipe.glyph,
                               **dict(plain or {}))
    samples = []
    for index in range(n):
        image, box, text = dataset.pick(index)
        rng = np.random.default_rng([seed, index, 3])
        target = text
        while target == text and len(set(dataset.alphabet)) > 1:
            target = "".join(rng.choice(list(dataset.alphabet), size=len(text)))
        samples.append(TextEditSample(f"plain-{seed}-{index}", image, box, text, target, float(box[3] - box[1])))
    return samples


def record_text_edit_samples(pipe: Any, records: Sequence[PageRecord], n: int, seed: int, max_words: int = 3,
                             text_height: Sequence[float] | None = None, min_text_height: float = 6.0,
                             only_sensitive: bool = False, locales: Sequence[str] | None = None,
                             max_pixels: int | None = None) -> tuple[list[TextEditSample], int]:
    """``n`` samples from runs of words of ``records`` (:class:`RecordInpaintSamples`): the
    resampled neighbourhood of the run is the source image. Returns them and the number of
    items whose page could not be loaded."""
    from anonymizer.data.record_crops import NoUsableWordsError
    from anonymizer.data.record_inpaint import RecordInpaintSamples, run_text
    from anonymizer.data.synthetic import DEFAULT_LOCALES

    locales = tuple(locales or DEFAULT_LOCALES)
    kwargs = {"max_pixels": max_pixels} if max_pixels is not None else {}
    try:
        dataset = RecordInpaintSamples(records, length=n, seed=seed, resolution=pipe.resolution,
                                       crop_side=pipe.crop_side, mask_margin=pipe.mask_margin, max_words=max_words,
                                       text_height=text_height, min_text_height=min_text_height,
                                       only_sensitive=only_sensitive, glyph=pipe.glyph, locales=locales, **kwargs)
    except NoUsableWordsError as err:
        raise UsageError(f"data.records: {err}") from None
    samples, failed = [], 0
    for index in range(n):
        try:
            run = dataset.pick(index)
            page = dataset.page(run.record_index)
            if page is None:
                raise RuntimeError("page not loadable")
            region, box, _ = dataset._window_source(run, page.image)  # the neighbourhood training cuts
        except RuntimeError:
            failed += 1
            continue
        record = dataset.records[run.record_index]
        text = run_text(record, run.words)
        height = float(np.median([record.words[i].box[3] - record.words[i].box[1] for i in run.words])) * run.scale
        samples.append(TextEditSample(f"{record.id}#{index}", region, box, text,
                                      _target(text, seed, index, locales), height))
    return samples, failed


# --------------------------------------------------------------------------- evaluation
@dataclass
class TextEditResult:
    """Metrics of one sample; texts and images are kept for notebooks (the CLI writes texts
    only when allowed). ``images``: ``original``, ``reconstruction``, ``edit`` (windows
    around the box) and ``glyph`` (the target's glyph image)."""

    id: str
    height: float
    bucket: str
    text: str
    target: str
    region_psnr: float | None = None
    region_lpips: float | None = None
    unchanged_outside: float | None = None
    ocr_original: str | None = None
    ocr_reconstruction: str | None = None
    ocr_edit: str | None = None
    error: str | None = None
    images: dict[str, Image.Image] = field(default_factory=dict, repr=False)

    def scores(self) -> dict[str, float | None]:
        """Exact matches and ``1 - NED`` of the three readings (None without OCR)."""
        out: dict[str, float | None] = {}
        for name, reading, truth in (("original", self.ocr_original, self.text),
                                     ("reconstruction", self.ocr_reconstruction, self.text),
                                     ("edit", self.ocr_edit, self.target),
                                     ("shuffled", self.ocr_edit, self.text)):
            if reading is None:
                out[f"exact_{name}"] = out[f"ned_score_{name}"] = None
            else:
                out[f"exact_{name}"] = float(nfkc_single_spaced(reading) == nfkc_single_spaced(truth))
                out[f"ned_score_{name}"] = 1.0 - ned(reading, truth)
        return out

    def row(self, with_text: bool) -> dict[str, Any]:
        """Per-sample file row; texts only with ``with_text``."""
        row = {"id": self.id, "bucket": self.bucket, "text_height": round(self.height, 2),
               "region_psnr": self.region_psnr, "region_lpips": self.region_lpips,
               "unchanged_outside": self.unchanged_outside, **self.scores(), "error": self.error}
        if with_text:
            row.update(text=self.text, target=self.target, ocr_original=self.ocr_original,
                       ocr_reconstruction=self.ocr_reconstruction, ocr_edit=self.ocr_edit)
        return row


def _window(image: Image.Image, box: Box, side: int) -> Image.Image:
    from anonymizer.data.inpaint_samples import crop_around_box

    return crop_around_box(image, box, side)[0]


def evaluate_text_edit(pipe: Any, samples: Sequence[TextEditSample], lpips: Lpips | None, edges: Sequence[float],
                       sampling: dict[str, Any] | None = None, ocr: bool = True, ocr_upscale: int = 4,
                       ocr_pad: float = 2.0, lpips_side: int = 64, keep_images: bool = True,
                       show_progress: bool = False) -> list[TextEditResult]:
    """Edit every sample twice and measure it (see the module docstring); a failing sample
    is marked (``error``) and the others go on."""
    sampling = dict(sampling or {})
    margin = pipe.mask_margin
    results = []
    for s in progress(list(samples), "editing", show_progress):
        r = TextEditResult(s.id, s.height, bucket_of(s.height, edges), s.text, s.target)
        results.append(r)
        try:
            recon = pipe(s.image, [s.box], [s.text], **sampling)
            edit = pipe(s.image, [s.box], [s.target], **sampling)
        except Exception as err:  # noqa: BLE001 - counted and reported
            r.error = f"edit failed ({type(err).__name__})"
            log.warning("%s: edit failed (%s)", s.id, type(err).__name__)
            continue
        region = dilate_box(s.box, margin, s.image.size)
        before, after = s.image.crop(region), recon.crop(region)
        r.region_psnr = psnr(after, before)[0]
        if lpips is not None:
            r.region_lpips = lpips(resize_min_side(after, lpips_side), resize_min_side(before, lpips_side))[0]
        r.unchanged_outside = min(unchanged_outside(s.image, recon, [s.box], margin),
                                  unchanged_outside(s.image, edit, [s.box], margin))
        if keep_images:
            side = pipe.crop_side
            r.images = {"original": _window(s.image, s.box, side), "reconstruction": _window(recon, s.box, side),
                        "edit": _window(edit, s.box, side), "glyph": pipe.glyph.image(s.target)}
        if ocr:
            try:
                r.ocr_original = ocr_box(s.image, s.box, ocr_pad, ocr_upscale)
                r.ocr_reconstruction = ocr_box(recon, s.box, ocr_pad, ocr_upscale)
                r.ocr_edit = ocr_box(edit, s.box, ocr_pad, ocr_upscale)
            except Exception as err:  # noqa: BLE001 - recorded on the sample, the others go on
                r.error = f"OCR failed ({type(err).__name__})"
    return results


def _group(results: Sequence[TextEditResult]) -> dict[str, Any]:
    scores = [r.scores() for r in results]
    out: dict[str, Any] = {
        "n": len(results),
        "region_psnr": mean(r.region_psnr for r in results),
        "region_lpips": mean(r.region_lpips for r in results),
    }
    for name in ("edit", "original", "reconstruction", "shuffled"):
        out[f"sentence_acc_{name}"] = mean(s[f"exact_{name}"] for s in scores)
        out[f"ned_score_{name}"] = mean(s[f"ned_score_{name}"] for s in scores)
    read = [r for r in results if r.ocr_reconstruction is not None and r.ocr_edit is not None]
    out["ocr_cer"] = cer([r.ocr_reconstruction for r in read], [r.text for r in read]) if read else None
    out["ocr_cer_shuffled"] = cer([r.ocr_edit for r in read], [r.text for r in read]) if read else None
    out["glyph_effect"] = out["ocr_cer_shuffled"] - out["ocr_cer"] if read else None
    values = [r.unchanged_outside for r in results if r.unchanged_outside is not None]
    out["unchanged_outside"] = mean(values)
    out["unchanged_outside_min"] = min(values) if values else None
    return out


COLUMNS = [("text height (px)", None), ("n", "n"), ("masked PSNR", "region_psnr"), ("masked LPIPS", "region_lpips"),
           ("sent. acc. edit", "sentence_acc_edit"), ("1-NED edit", "ned_score_edit"),
           ("sent. acc. original", "sentence_acc_original"), ("1-NED original", "ned_score_original"),
           ("sent. acc. recon.", "sentence_acc_reconstruction"),
           ("sent. acc. recon., other glyph", "sentence_acc_shuffled"),
           ("CER recon.", "ocr_cer"), ("CER recon., other glyph", "ocr_cer_shuffled"), ("glyph effect", "glyph_effect"),
           ("unchanged outside", "unchanged_outside")]


def summarize_text_edit(results: Sequence[TextEditResult], edges: Sequence[float]) -> dict[str, dict[str, Any]]:
    """Means per text-height bucket and overall (``all``) over the samples that did not fail."""
    ok = [r for r in results if r.error is None]
    groups = {label: _group([r for r in ok if r.bucket == label]) for label in bucket_labels(edges)}
    groups[OVERALL] = _group(ok)
    return groups


def text_edit_evaluation(results: Sequence[TextEditResult], edges: Sequence[float], info: dict[str, Any],
                         with_text: bool, n_images: int = 8) -> Evaluation:
    """The :class:`Evaluation` (summary, table, rows, panels, plots) of ``results``."""
    groups = summarize_text_edit(results, edges)
    failed = sum(r.error is not None for r in results)
    rows = [[label] + [g[key] for _, key in COLUMNS[1:]] for label, g in groups.items()]
    table = Table(f"Text edit ({info.get('model', {}).get('path', '')})", [c for c, _ in COLUMNS], rows)
    lp = info.get("lpips") or {}
    notes = [f"{len(results)} samples, {failed} failed; edit = the box re-drawn with another string (OCR vs that "
             "string), recon. = re-drawn with its own text (masked PSNR/LPIPS vs the original), original = OCR of "
             "the input box (the ceiling); 1-NED = 1 - edit distance / max length (AnyText's NED); other glyph = "
             "the edit read against the box's own text; glyph effect = its CER - the reconstruction's CER "
             "(0 when the model ignores its glyph)",
             f"LPIPS: {lp.get('net', 'vgg')} with {lp.get('backbone_weights', 'n/a')} trunk weights, region resized "
             f"to a shorter side of {info.get('lpips_side', 64)} px"]
    images = []
    for r in results:
        if len(images) == n_images:
            break
        if r.images:
            cells = [r.images["original"], r.images["reconstruction"], r.images["edit"]]
            if with_text:
                cells.insert(2, r.images["glyph"].resize((r.images["edit"].width, r.images["glyph"].height
                                                          * r.images["edit"].width // r.images["glyph"].width)))
            caption = f"{r.id} | original | reconstruction | " + ("glyph | " if with_text else "") + "edit"
            if with_text:
                caption += f" | {r.target!r} → {r.ocr_edit!r}"
            images.append((caption, grid(cells)))
    plots = {key: {label: g[key] for label, g in groups.items() if label != OVERALL and g["n"]}
             for key in ("region_psnr", "region_lpips", "sentence_acc_edit", "ned_score_edit", "glyph_effect")}
    summary = {**info, "n_samples": len(results), "n_failed": failed,
               "failures": dict(Counter(r.error for r in results if r.error)),
               "metrics": {"overall": groups[OVERALL],
                           "by_text_height": {k: v for k, v in groups.items() if k != OVERALL}}}
    return Evaluation("text_edit", summary, [table], [r.row(with_text) for r in results], images, plots, notes)
