"""``task=vae``: how well an ``AutoencoderKL`` reconstructs document text crops.

Samples (:class:`VaeSample`) are square crops with one known line of text: synthetic crops
(:class:`~anonymizer.data.synthetic.SyntheticCrops`, the VAE's training data) or crops
around the words and lines of page records (:class:`~anonymizer.data.record_crops.RecordCrops`).
The evaluated line is the run of words on one line lying fully inside the crop with the
most characters (:func:`pick_line`); its **text height** is the median height of its word
boxes in crop pixels (as ``text_height`` in the record configs), which picks the bucket.

Per crop (:func:`evaluate_vae`): PSNR, SSIM and LPIPS of the reconstruction against the
original (whole crop), and Tesseract (one line, :func:`~anonymizer.metrics.legibility.ocr_box`)
on the line of the original and of the reconstruction against the ground-truth text:
CER and word accuracy each (:mod:`anonymizer.metrics.text_accuracy`). The original's
reading is the ceiling; the reconstruction's loss against it is what the VAE costs.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL
from PIL import Image

from anonymizer.core.entry import UsageError
from anonymizer.core.geometry import Box, images_to_tensor, tensor_to_array
from anonymizer.core.records import PageRecord, TextCrop, Word
from anonymizer.core.text import nfkc_single_spaced
from anonymizer.evaluation.buckets import OVERALL, bucket_labels, bucket_of
from anonymizer.evaluation.common import looks_local, torch_dtype
from anonymizer.evaluation.report import Evaluation, Table, grid, mean, progress, ratio
from anonymizer.metrics.image_quality import Lpips, psnr, ssim
from anonymizer.metrics.legibility import ocr_box
from anonymizer.metrics.text_accuracy import char_errors, word_matches

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- model
def load_autoencoder(path: str, subfolder: str | None = None, dtype: str = "float32",
                     device: str = "cpu") -> AutoencoderKL:
    """The ``AutoencoderKL`` at ``path`` (a local diffusers folder, a hub id, or a store URL
    such as ``s3://bucket/models/doc-vae/v1``) in eval mode. A folder with a ``manifest.json``
    (our exports) is verified first.

    Raises:
        UsageError: naming ``path`` when it cannot be loaded.
    """
    from anonymizer.store.resolve import resolve_model_path

    torch_type = torch_dtype(dtype)
    try:
        path = resolve_model_path(path)
    except (OSError, ValueError) as err:
        raise UsageError(f"model.path={path}: {str(err).strip().splitlines()[0][:300]}") from None
    local = Path(path).expanduser()
    if looks_local(path):
        folder = local / (subfolder or "")
        if not folder.is_dir():
            raise UsageError(f"model.path={path}: no such folder" + (f" ({folder})" if subfolder else ""))
        if not (folder / "config.json").is_file():
            hint = "; add model.subfolder=vae" if not subfolder and (folder / "vae" / "config.json").is_file() else ""
            raise UsageError(
                f"model.path={path}: not a diffusers AutoencoderKL folder (no config.json in {folder}){hint}"
            )
    try:
        vae = AutoencoderKL.from_pretrained(str(local) if local.exists() else path, subfolder=subfolder,
                                            torch_dtype=torch_type)
    except (OSError, ValueError, RuntimeError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"model.path={path}: cannot load an AutoencoderKL ({reason[:300]})") from None
    return vae.to(device).eval()


# --------------------------------------------------------------------------- samples
@dataclass
class VaeSample:
    """One crop and its evaluated line: ``box`` in crop pixels, ``text``, ``height`` (px)."""

    id: str
    image: Image.Image
    text: str
    box: Box
    height: float


def pick_line(crop: TextCrop, min_height: float = 4.0, gap_factor: float = 2.0) -> tuple[str, Box, float] | None:
    """``(text, box, height)`` of the line run of ``crop`` evaluated (see the module docstring), or None.

    Words must lie strictly inside the crop and be at least ``min_height`` pixels tall; a
    line is split where the gap between two words exceeds ``gap_factor`` times the taller.
    """
    from anonymizer.data.record_crops import line_segments, median_text_height, union_box

    width, height = crop.image.size
    words: list[Word] = [
        w for w in crop.words
        if w.text.strip() and w.box[0] > 0 and w.box[1] > 0 and w.box[2] < width and w.box[3] < height
        and w.box[3] - w.box[1] >= min_height and w.box[2] - w.box[0] >= 1
    ]
    if not words:
        return None
    record = PageRecord(id="crop", image="crop", width=width, height=height, words=words)
    segments = line_segments(record, set(range(len(words))), gap_factor)
    if not segments:
        return None

    def length(seg: list[int]) -> tuple[int, float]:
        return (sum(len(words[i].text) for i in seg), -min(words[i].box[1] for i in seg))

    best = max(segments, key=length)
    text = " ".join(" ".join(words[i].text.split()) for i in best)
    return text, union_box([words[i].box for i in best]), median_text_height(record, best)


def synthetic_vae_samples(n: int, seed: int = 0, crop_size: int = 64, synthetic: dict[str, Any] | None = None,
                          max_attempts: int = 8) -> list[VaeSample]:
    """``n`` samples from synthetic crops ``0, 1, ...`` of ``seed`` (crops without a complete
    line are passed over, at most ``n * max_attempts`` crops are rendered). ``synthetic``:
    ``font_dirs``, ``font_families`` and ``style`` (:class:`SyntheticStyle` keys)."""
    from anonymizer.data.synthetic import SyntheticCrops, SyntheticStyle

    cfg = dict(synthetic or {})
    style = SyntheticStyle(**dict(cfg.pop("style", None) or {}))
    crops = SyntheticCrops(size=crop_size, length=n * max_attempts, seed=seed, style=style,
                           font_dirs=cfg.pop("font_dirs", None), font_families=cfg.pop("font_families", None))
    if cfg:
        raise UsageError(f"data.synthetic has unknown keys: {sorted(cfg)}")
    samples: list[VaeSample] = []
    for index in range(len(crops)):
        if len(samples) == n:
            break
        crop = crops[index]
        line = pick_line(crop)
        if line is not None:
            samples.append(VaeSample(f"synthetic-{seed}-{index}", crop.image, *line))
    return samples


def record_vae_samples(records: Sequence[PageRecord], n: int, seed: int, crop_size: int,
                       text_height: Sequence[float] | None = None, min_text_height: float = 6.0,
                       max_pixels: int | None = None, max_attempts: int = 8) -> tuple[list[VaeSample], int]:
    """``n`` samples from crops around lines of ``records`` (:class:`RecordCrops` with
    ``line_prob=1``) and the number of crops that could not be cut (unreadable pages)."""
    from anonymizer.data.record_crops import NoUsableWordsError, RecordCrops

    kwargs = {"max_pixels": max_pixels} if max_pixels is not None else {}
    try:
        crops = RecordCrops(records, crop_size, length=n * max_attempts, seed=seed, text_height=text_height,
                            line_prob=1.0, min_text_height=min_text_height, **kwargs)
    except NoUsableWordsError as err:
        raise UsageError(f"data.records: {err}") from None
    samples: list[VaeSample] = []
    failed = 0
    for index in range(len(crops)):
        if len(samples) == n:
            break
        try:
            crop = crops[index]
        except RuntimeError:  # no page could be loaded (warned per page)
            failed += 1
            continue
        line = pick_line(crop)
        if line is not None:
            record = crops.records[crops.pick(index).record_index]
            samples.append(VaeSample(f"{record.id}#{index}", crop.image, *line))
    return samples, failed


# --------------------------------------------------------------------------- evaluation
@torch.no_grad()
def reconstruct(vae: AutoencoderKL, images: Sequence[Image.Image], sample: bool = False,
                generator: torch.Generator | None = None) -> list[Image.Image]:
    """Encode and decode ``images``: the posterior mean (``sample=False``) or a sample."""
    x = images_to_tensor(images).to(vae.device, vae.dtype)
    posterior = vae.encode(x).latent_dist
    latents = posterior.sample(generator=generator) if sample else posterior.mode()
    return [Image.fromarray(a) for a in tensor_to_array(vae.decode(latents).sample)]


@dataclass
class VaeResult:
    """Metrics of one crop (texts kept for notebooks; the CLI writes them only when allowed)."""

    id: str
    height: float
    bucket: str
    text: str
    psnr: float | None = None
    ssim: float | None = None
    lpips: float | None = None
    ocr_original: str | None = None
    ocr_reconstruction: str | None = None
    errors_original: int = 0  # character edits of the original's reading
    errors_reconstruction: int = 0
    chars: int = 0  # ground-truth length
    words_original: int = 0  # ground-truth words read in the original
    words_reconstruction: int = 0
    words: int = 0  # ground-truth words
    error: str | None = None  # why the sample failed (no text)
    original: Image.Image | None = field(default=None, repr=False)
    reconstruction: Image.Image | None = field(default=None, repr=False)

    def row(self, with_text: bool) -> dict[str, Any]:
        """Per-sample file row; texts only with ``with_text``."""
        row = {
            "id": self.id, "bucket": self.bucket, "text_height": round(self.height, 2),
            "psnr": self.psnr, "ssim": self.ssim, "lpips": self.lpips,
            "cer_original": ratio(self.errors_original, self.chars),
            "cer_reconstruction": ratio(self.errors_reconstruction, self.chars),
            "word_acc_original": ratio(self.words_original, self.words),
            "word_acc_reconstruction": ratio(self.words_reconstruction, self.words),
            "chars": self.chars, "error": self.error,
        }
        if with_text:
            row.update(text=self.text, ocr_original=self.ocr_original, ocr_reconstruction=self.ocr_reconstruction)
        return row


def evaluate_vae(vae: AutoencoderKL, samples: Sequence[VaeSample], lpips: Lpips | None, edges: Sequence[float],
                 batch_size: int = 16, sample: bool = False, seed: int = 0, ocr: bool = True,
                 ocr_upscale: int = 4, ocr_pad: float = 0.25, keep_images: bool = True,
                 show_progress: bool = False) -> list[VaeResult]:
    """Reconstruct every sample and measure it (see the module docstring).

    A batch whose reconstruction fails marks its samples failed; a failing OCR or metric
    marks only its sample. ``keep_images`` keeps original and reconstruction on the results.
    """
    generator = torch.Generator(device=vae.device).manual_seed(seed)
    results = [VaeResult(s.id, s.height, bucket_of(s.height, edges), s.text) for s in samples]
    batches = [list(range(i, min(i + batch_size, len(samples)))) for i in range(0, len(samples), batch_size)]
    for batch in progress(batches, "reconstructing", show_progress):
        originals = [samples[i].image for i in batch]
        try:
            recons = reconstruct(vae, originals, sample, generator)
            scores = {"psnr": psnr(recons, originals), "ssim": ssim(recons, originals)}
            if lpips is not None:
                scores["lpips"] = lpips(recons, originals)
        except Exception as err:  # noqa: BLE001 - counted and reported, the others go on
            log.warning("reconstruction failed for %d sample(s): %s", len(batch), type(err).__name__)
            for i in batch:
                results[i].error = f"reconstruction failed ({type(err).__name__})"
            continue
        for k, i in enumerate(batch):
            r, s = results[i], samples[i]
            r.psnr, r.ssim = scores["psnr"][k], scores["ssim"][k]
            r.lpips = scores["lpips"][k] if "lpips" in scores else None
            if keep_images:
                r.original, r.reconstruction = s.image, recons[k]
            r.chars = len(nfkc_single_spaced(s.text))
            r.words = len(nfkc_single_spaced(s.text).split())
            if not ocr:
                continue
            try:
                pad = ocr_pad * s.height
                r.ocr_original = ocr_box(s.image, s.box, pad, ocr_upscale)
                r.ocr_reconstruction = ocr_box(recons[k], s.box, pad, ocr_upscale)
            except Exception as err:  # noqa: BLE001 - recorded on the sample, the others go on
                r.error = f"OCR failed ({type(err).__name__})"
                continue
            r.errors_original = char_errors(r.ocr_original, s.text)[0]
            r.errors_reconstruction = char_errors(r.ocr_reconstruction, s.text)[0]
            r.words_original = word_matches(r.ocr_original, s.text)[0]
            r.words_reconstruction = word_matches(r.ocr_reconstruction, s.text)[0]
    return results


def _group(results: Sequence[VaeResult], ocr: bool) -> dict[str, Any]:
    chars, words = sum(r.chars for r in results), sum(r.words for r in results)
    cer_o = ratio(sum(r.errors_original for r in results), chars) if ocr else None
    cer_r = ratio(sum(r.errors_reconstruction for r in results), chars) if ocr else None
    acc_o = ratio(sum(r.words_original for r in results), words) if ocr else None
    acc_r = ratio(sum(r.words_reconstruction for r in results), words) if ocr else None
    return {
        "n": len(results),
        "psnr": mean(r.psnr for r in results),
        "ssim": mean(r.ssim for r in results),
        "lpips": mean(r.lpips for r in results),
        "cer_original": cer_o,
        "cer_reconstruction": cer_r,
        "cer_delta": cer_r - cer_o if cer_o is not None and cer_r is not None else None,
        "word_acc_original": acc_o,
        "word_acc_reconstruction": acc_r,
        "word_acc_ratio": ratio(acc_r, acc_o) if acc_o is not None and acc_r is not None else None,
    }


COLUMNS = [("text height (px)", None), ("n", "n"), ("PSNR", "psnr"), ("SSIM", "ssim"), ("LPIPS", "lpips"),
           ("CER orig.", "cer_original"), ("CER recon.", "cer_reconstruction"), ("ΔCER", "cer_delta"),
           ("word acc. orig.", "word_acc_original"), ("word acc. recon.", "word_acc_reconstruction"),
           ("recon./orig.", "word_acc_ratio")]


def summarize_vae(results: Sequence[VaeResult], edges: Sequence[float], ocr: bool = True) -> dict[str, dict[str, Any]]:
    """Metrics per text-height bucket and overall (``all``) over the samples that did not fail.

    Means over samples for PSNR (finite values), SSIM and LPIPS; corpus rates for CER
    (summed edits / summed characters) and word accuracy (summed words read / summed words).
    OCR metrics are n/a (None) unless ``ocr`` and every sample was read by OCR.
    """
    ok = [r for r in results if r.error is None]
    ocr = ocr and all(r.ocr_original is not None and r.ocr_reconstruction is not None for r in ok)
    groups = {label: _group([r for r in ok if r.bucket == label], ocr) for label in bucket_labels(edges)}
    groups[OVERALL] = _group(ok, ocr)
    return groups


def vae_evaluation(results: Sequence[VaeResult], edges: Sequence[float], info: dict[str, Any], with_text: bool,
                   ocr: bool = True, n_images: int = 8) -> Evaluation:
    """The :class:`Evaluation` (summary, table, rows, panels, plots) of ``results``."""
    groups = summarize_vae(results, edges, ocr)
    failed = sum(r.error is not None for r in results)
    rows = [[label] + [g[key] for _, key in COLUMNS[1:]] for label, g in groups.items()]
    table = Table(f"VAE reconstruction by text height ({info.get('model', {}).get('path', '')})",
                  [c for c, _ in COLUMNS], rows)
    lp = info.get("lpips") or {}
    notes = [f"{len(results)} crops, {failed} failed; text height = median word-box height of the evaluated line "
             "(crop pixels); CER and word accuracy of Tesseract (--psm 7) against the ground truth; "
             "PSNR/SSIM/LPIPS on the whole crop",
             f"LPIPS: {lp.get('net', 'vgg')} with {lp.get('backbone_weights', 'n/a')} trunk weights"
             + (" (random features: not comparable with published LPIPS)"
                if lp.get("backbone_weights") == "random" else "")]
    images = [(f"{r.id} | text height {r.height:.0f} px | PSNR {r.psnr:.1f}"
               + (f" | {r.text!r} → {r.ocr_reconstruction!r}" if with_text else ""),
               grid([r.original, r.reconstruction]))
              for r in results if r.original is not None and r.reconstruction is not None][:n_images]
    plots = {key: {label: g[key] for label, g in groups.items() if label != OVERALL and g["n"]}
             for key in ("psnr", "ssim", "lpips", "cer_reconstruction", "word_acc_reconstruction", "word_acc_ratio")}
    summary = {**info, "n_samples": len(results), "n_failed": failed,
               "failures": dict(Counter(r.error for r in results if r.error)),
               "metrics": {"overall": groups[OVERALL],
                           "by_text_height": {k: v for k, v in groups.items() if k != OVERALL}}}
    return Evaluation("vae", summary, [table], [r.row(with_text) for r in results], images, plots, notes)
