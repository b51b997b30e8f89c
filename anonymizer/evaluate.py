"""``python -m anonymizer.evaluate task=vae|text_edit|anonymize|pii_tagger ...``: offline evaluation.

* ``task=anonymize`` (the default): the anonymizer, built from ``anonymizer/conf/pipeline.yaml`` as the
  ``anonymize`` command builds it, on synthetic pages (or page records) with known
  sensitive values: leak rate per entity type, detection precision/recall, non-sensitive
  text preserved, surrogates read back. Runs with no inputs and no weights.
* ``task=vae model.path=<AutoencoderKL>``: PSNR, SSIM, LPIPS and OCR legibility of
  reconstructions per text-height bucket.
* ``task=text_edit model.path=<text-edit export>``: masked-region PSNR/LPIPS, OCR sentence
  accuracy and normalised edit distance of edits, unchanged pixels outside the boxes.

Writes ``metrics.json``, ``metrics.md``, ``samples.csv`` and ``samples.jsonl`` into a new
``output`` folder (an existing non-empty one is refused), prints the markdown tables and,
with ``logger=wandb``, logs metrics, a per-sample table, plots and image panels to W&B.
Exit codes: 0 done; 1 no sample could be evaluated; 2 usage error (one line, no traceback).
* ``task=pii_tagger [model.path=<export>] [data.records=<records.jsonl>]``: entity P/R/F1 per type of
  a PII tagger (the shipped one by default) on held-out synthetic pages or page records.

Configuration: ``anonymizer/conf/evaluate.yaml`` and ``anonymizer/conf/task/``.
"""

from __future__ import annotations

import datetime
import logging
import sys
import time
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from anonymizer.core.entry import FAILED, OK, UsageError, hydra_command, report_usage_error
from anonymizer.evaluation.buckets import check_edges
from anonymizer.evaluation.common import check_int, check_number, load_record_file
from anonymizer.evaluation.report import (
    Evaluation,
    check_output,
    log_wandb,
    prepare_output,
    print_markdown,
    write_outputs,
)

log = logging.getLogger("anonymizer.evaluate")

TASKS = ("anonymize", "vae", "text_edit", "pii_tagger")
USAGE_LINE = {
    "vae": "python -m anonymizer.evaluate task=vae model.path=<AutoencoderKL folder or hub id> [model.subfolder=vae]",
    "text_edit": "python -m anonymizer.evaluate task=text_edit model.path=<text-edit export folder>",
    "anonymize": "python -m anonymizer.evaluate task=anonymize [data.records=<records.jsonl>] [renderer=...]",
    "pii_tagger": "python -m anonymizer.evaluate task=pii_tagger [model.path=<export>] [data.records=<records.jsonl>]",
}


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def _with_text(cfg: DictConfig, records: bool) -> bool:
    value = cfg.get("log_text", "auto")
    if value == "auto":
        return not records
    if isinstance(value, bool):
        return value
    raise UsageError(f"log_text must be auto, true or false, got {value!r}")


# --------------------------------------------------------------------------- config checks
def check_common(cfg: DictConfig) -> str:
    """Check the settings every task shares; returns the task name."""
    name = str(cfg.task.name)
    if name not in TASKS:
        raise UsageError(f"task must be one of {list(TASKS)}, got {name!r}")
    check_int("n", cfg.n, 1)
    check_int("seed", cfg.seed, 0)
    check_int("log_images", cfg.get("log_images", 8), 0)
    _with_text(cfg, records=False)  # a bad log_text value fails here
    if name in ("vae", "text_edit"):
        if OmegaConf.is_missing(cfg.model, "path") or not str(cfg.model.path).strip():
            raise UsageError(f"model.path is required for task={name}; usage: {USAGE_LINE[name]}")
        _edges(cfg)
        check_int("metrics.ocr.upscale", cfg.metrics.ocr.upscale, 1)
        check_number("metrics.ocr.pad", cfg.metrics.ocr.pad, 0.0)
        from anonymizer.metrics.legibility import ocr_available

        if not ocr_available():
            raise UsageError("Tesseract is needed for the legibility metrics: apt-get install tesseract-ocr "
                             "(and pip install pytesseract)")
    return name


def _edges(cfg: DictConfig) -> list[float]:
    try:
        return check_edges(_plain(cfg.metrics.height_buckets))
    except ValueError as err:
        raise UsageError(str(err)) from None


def _lpips(cfg: DictConfig, device: str):
    from anonymizer.metrics.image_quality import Lpips

    spec = dict(_plain(cfg.metrics.lpips))
    try:
        return Lpips(net=str(spec.get("net", "vgg")), backbone_weights=str(spec.get("backbone_weights", "random")),
                     seed=int(spec.get("seed", 0)), device=device)
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        raise UsageError(f"metrics.lpips: {err}") from None


def _records(cfg: DictConfig):
    path = cfg.data.get("records")
    if not path:
        return None
    return load_record_file(str(path), _plain(cfg.data.get("splits")))


def _summary_info(cfg: DictConfig, name: str) -> dict[str, Any]:
    return {
        "schema": "anonymizer.evaluate/1",
        "task": name,
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "n": int(cfg.n),
        "seed": int(cfg.seed),
    }


# --------------------------------------------------------------------------- tasks
def run_vae(cfg: DictConfig, show_progress: bool) -> Evaluation:
    """``task=vae`` from the composed config (plain arguments from here on)."""
    from anonymizer.evaluation.vae import (
        evaluate_vae,
        load_autoencoder,
        record_vae_samples,
        synthetic_vae_samples,
        vae_evaluation,
    )

    edges = _edges(cfg)
    batch_size = check_int("batch_size", cfg.batch_size, 1)
    crop_size = check_int("data.crop_size", cfg.data.crop_size, 16)
    n, seed, device = int(cfg.n), int(cfg.seed), str(cfg.device)
    records = _records(cfg)
    vae = load_autoencoder(str(cfg.model.path), cfg.model.get("subfolder"), str(cfg.model.get("dtype", "float32")),
                           device)
    lpips = _lpips(cfg, device)
    started = time.perf_counter()
    data_info: dict[str, Any] = {"crop_size": crop_size}
    try:
        if records is None:
            samples = synthetic_vae_samples(n, seed, crop_size, _plain(cfg.data.synthetic))
            data_info.update(source="synthetic", synthetic=_plain(cfg.data.synthetic))
            skipped = 0
        else:
            samples, skipped = record_vae_samples(records, n, seed, crop_size, _plain(cfg.data.get("text_height")),
                                                  float(cfg.data.get("min_text_height", 6)),
                                                  cfg.data.get("max_pixels"))
            data_info.update(source="records", records=str(cfg.data.records), record_pages=len(records),
                             text_height=_plain(cfg.data.get("text_height")), unloadable_crops=skipped)
    except (ValueError, TypeError) as err:  # SyntheticStyle / RecordCrops settings
        raise UsageError(f"data: {err}") from None
    if not samples:
        raise UsageError(f"no crop with a complete line of text in the data ({data_info['source']}); "
                         "use a larger data.crop_size or smaller text")
    with_text = _with_text(cfg, records is not None)
    results = evaluate_vae(vae, samples, lpips, edges, batch_size=batch_size, sample=bool(cfg.model.get("sample")),
                           seed=seed, ocr_upscale=int(cfg.metrics.ocr.upscale), ocr_pad=float(cfg.metrics.ocr.pad),
                           keep_images=True, show_progress=show_progress)
    seconds = time.perf_counter() - started
    info = {**_summary_info(cfg, "vae"),
            "model": {"path": str(cfg.model.path), "subfolder": cfg.model.get("subfolder"),
                      "dtype": str(cfg.model.get("dtype", "float32")), "sample": bool(cfg.model.get("sample")),
                      "scaling_factor": float(getattr(vae.config, "scaling_factor", 1.0))},
            "device": device, "data": data_info, "lpips": lpips.describe(), "height_buckets": edges,
            "ocr": {"engine": "tesseract --psm 7", **_plain(cfg.metrics.ocr)}, "texts_written": with_text,
            "seconds": round(seconds, 2), "seconds_per_sample": round(seconds / len(samples), 4)}
    return vae_evaluation(results, edges, info, with_text, n_images=int(cfg.log_images))


def run_text_edit(cfg: DictConfig, show_progress: bool) -> Evaluation:
    """``task=text_edit`` from the composed config."""
    from anonymizer.evaluation.text_edit import (
        evaluate_text_edit,
        load_text_edit,
        plain_text_edit_samples,
        record_text_edit_samples,
        synthetic_text_edit_samples,
        text_edit_evaluation,
    )

    edges = _edges(cfg)
    lpips_side = check_int("metrics.lpips_side", cfg.metrics.lpips_side, 16)
    sampling = dict(_plain(cfg.sampling))
    check_int("sampling.num_inference_steps", sampling.get("num_inference_steps", 20), 1)
    n, seed, device = int(cfg.n), int(cfg.seed), str(cfg.device)
    max_words = check_int("data.max_words", cfg.data.max_words, 1)
    records = _records(cfg)
    pipe = load_text_edit(str(cfg.model.path), str(cfg.model.get("dtype", "float32")), device)
    lpips = _lpips(cfg, device)
    started = time.perf_counter()
    synthetic = dict(_plain(cfg.data.synthetic))
    source_size = check_int("data.source_size", cfg.data.source_size, 16)
    plain = _plain(cfg.data.get("plain"))
    if plain is not None and records is not None:
        raise UsageError("data.records and data.plain are two sources: give one of them")
    try:
        if plain is not None:
            samples, skipped = plain_text_edit_samples(pipe, n, seed, source_size, plain), 0
        elif records is None:
            samples, skipped = synthetic_text_edit_samples(pipe, n, seed, source_size, max_words, synthetic)
        else:
            samples, skipped = record_text_edit_samples(
                pipe, records, n, seed, max_words, _plain(cfg.data.get("text_height")),
                float(cfg.data.get("min_text_height", 6)), bool(cfg.data.get("only_sensitive", False)),
                synthetic.get("locales"), cfg.data.get("max_pixels"))
    except (ValueError, TypeError) as err:  # SyntheticStyle / RecordInpaintSamples settings
        raise UsageError(f"data: {err}") from None
    if plain is not None:
        data_info: dict[str, Any] = {"source": "plain", "source_size": source_size, "plain": plain}
    elif records is None:
        data_info = {"source": "synthetic", "source_size": source_size, "max_words": max_words,
                     "synthetic": synthetic}
    else:
        data_info = {"source": "records", "records": str(cfg.data.records), "record_pages": len(records),
                     "max_words": max_words, "only_sensitive": bool(cfg.data.get("only_sensitive", False)),
                     "text_height": _plain(cfg.data.get("text_height"))}
    data_info["unusable_items"] = skipped
    if not samples:
        raise UsageError(f"no sample with a usable run of words in the data ({data_info['source']})")
    with_text = _with_text(cfg, records is not None)
    results = evaluate_text_edit(pipe, samples, lpips, edges, sampling, ocr_upscale=int(cfg.metrics.ocr.upscale),
                                 ocr_pad=float(cfg.metrics.ocr.pad), lpips_side=lpips_side, keep_images=True,
                                 show_progress=show_progress)
    seconds = time.perf_counter() - started
    info = {**_summary_info(cfg, "text_edit"),
            "model": {"path": str(cfg.model.path), "dtype": str(cfg.model.get("dtype", "float32")),
                      "resolution": pipe.resolution, "crop_side": pipe.crop_side, "mask_margin": pipe.mask_margin},
            "device": device, "sampling": sampling, "data": data_info, "lpips": lpips.describe(),
            "lpips_side": lpips_side, "height_buckets": edges,
            "ocr": {"engine": "tesseract --psm 7", **_plain(cfg.metrics.ocr)}, "texts_written": with_text,
            "seconds": round(seconds, 2), "seconds_per_sample": round(seconds / len(samples), 4)}
    return text_edit_evaluation(results, edges, info, with_text, n_images=int(cfg.log_images))


def _pipeline_summary(cfg: DictConfig) -> dict[str, Any]:
    """The pipeline settings for metrics.json: allow/deny lists as counts (they may hold real names)."""
    detect = dict(_plain(cfg.detect))
    detect["allow_list"] = len(detect.get("allow_list") or [])
    detect["deny_list"] = {k: len(v or []) for k, v in (detect.get("deny_list") or {}).items()}
    ocr = {k: v for k, v in dict(_plain(cfg.ocr)).items() if k != "extra_config"}
    return {"renderer": _plain(cfg.renderer), "ocr": ocr, "detect": detect, "verify": _plain(cfg.verify),
            "surrogates": _plain(cfg.surrogates)}


def run_anonymize(cfg: DictConfig, show_progress: bool) -> Evaluation:
    """``task=anonymize`` from the composed config (the pipeline keys of anonymizer/conf/pipeline.yaml)."""
    from anonymizer.evaluation.anonymize import (
        EVALUATION,
        anonymize_evaluation,
        evaluate_pages,
        record_pages,
        synthetic_pages,
    )
    from anonymizer.pipeline.document import DocumentAnonymizer, PipelineError

    m = dict(_plain(cfg.metrics))
    metrics = {
        "min_chars": check_int("metrics.min_chars", m.get("min_chars", 3), 1),
        "px": check_number("metrics.dilate", m.get("dilate", 3.0), 0.0),
        "min_iou": check_number("metrics.iou", m.get("iou", 0.5), 0.0, 1.0),
        "cover": check_number("metrics.cover", m.get("cover", 0.5), 0.0, 1.0),
        "inside": check_number("metrics.inside", m.get("inside", 0.5), 0.0, 1.0),
        "pad": check_number("metrics.pad", m.get("pad", 0.5), 0.0),
        "ink_cover": check_number("metrics.ink_cover", m.get("ink_cover", 0.6), 0.0, 1.0),
        "outside_px": check_number("metrics.outside_px", m.get("outside_px", 4.0), 0.0),
    }
    n, seed = int(cfg.n), int(cfg.seed)
    records = _records(cfg)
    if records is None:
        from anonymizer.data.synth_pages import PageConfig

        page_cfg = dict(_plain(cfg.data.get("page")) or {})
        try:
            PageConfig.from_mapping(page_cfg)  # bad keys or values fail here, before any work
        except (ValueError, TypeError) as err:
            raise UsageError(f"data.page: {err}") from None
        pages = synthetic_pages(n, seed, page_cfg)
        data_info: dict[str, Any] = {"source": "synthetic", "page": page_cfg}
    else:
        pages = record_pages(records, n, cfg.io.get("max_pixels"))
        n = min(n, len(records))
        data_info = {"source": "records", "records": str(cfg.data.records), "record_pages": len(records),
                     "with_sensitive_entities": sum(any(e.sensitive for e in r.entities) for r in records)}
    try:
        anonymizer = DocumentAnonymizer.from_config(cfg, wrappers=EVALUATION)
    except PipelineError as err:
        raise UsageError(str(err)) from None
    started = time.perf_counter()
    results = evaluate_pages(anonymizer, pages, n, metrics=metrics, keep_outputs=int(cfg.log_images),
                             show_progress=show_progress)
    seconds = time.perf_counter() - started
    info = {**_summary_info(cfg, "anonymize"), "renderer": str(cfg.renderer.name), "pipeline": _pipeline_summary(cfg),
            "data": data_info, "metrics_settings": metrics,
            "surrogates_consistent_across_pages": anonymizer.consistent,
            "seconds": round(seconds, 2), "seconds_per_page": round(seconds / max(len(results), 1), 3)}
    return anonymize_evaluation(results, info, n_images=int(cfg.log_images))


def run_pii_tagger(cfg: DictConfig, show_progress: bool) -> Evaluation:
    """``task=pii_tagger`` from the composed config."""
    from anonymizer.evaluation.pii_tagger import evaluate_tagger, record_tagger_pages, synthetic_tagger_pages
    from anonymizer.pipeline.tagger import PiiTagger

    try:
        tagger = PiiTagger.load(str(cfg.model.path))
    except (OSError, ValueError) as err:
        raise UsageError(f"model.path: {err}") from None
    n, seed = int(cfg.n), int(cfg.seed)
    records = _records(cfg)
    label_map = _plain(cfg.data.get("label_map"))
    if records is None:
        page, noise = dict(_plain(cfg.data.get("page")) or {}), _plain(cfg.data.get("noise"))
        try:
            pages = synthetic_tagger_pages(n, seed, page, noise, float(cfg.data.get("distractors") or 0.0))
        except (ValueError, TypeError) as err:
            raise UsageError(f"data: {err}") from None
        data_info: dict[str, Any] = {"source": "synthetic", "page": page, "noise": noise,
                                     "distractors": cfg.data.get("distractors")}
    else:
        pages = record_tagger_pages(records, n, label_map)
        data_info = {"source": "records", "records": str(cfg.data.records), "record_pages": len(records)}
    info = {**_summary_info(cfg, "pii_tagger"), "model": str(cfg.model.path), "data": data_info}
    return evaluate_tagger(tagger, pages, info)


RUNNERS = {"vae": run_vae, "text_edit": run_text_edit, "anonymize": run_anonymize, "pii_tagger": run_pii_tagger}


# --------------------------------------------------------------------------- W&B
def open_wandb(cfg: DictConfig, config: dict[str, Any]) -> Any:
    """The W&B run when ``logger=wandb`` is configured (None otherwise)."""
    loggers = cfg.get("logger")
    if not loggers:
        return None
    run = None
    for name, node in loggers.items():
        if name != "wandb":
            log.warning("logger %s is not used by evaluate (its metrics are in the output files)", name)
            continue
        run = hydra.utils.instantiate(node).experiment
        run.config.update(config, allow_val_change=True)
    return run


# --------------------------------------------------------------------------- entry
def run(cfg: DictConfig) -> int:
    """Evaluate what ``cfg`` names; returns the exit code."""
    try:
        name = check_common(cfg)
        out = check_output(str(cfg.output))
        evaluation = RUNNERS[name](cfg, bool(cfg.get("progress", True)))
        out = prepare_output(out)
    except UsageError as err:
        return report_usage_error(err)
    evaluation.summary["output"] = str(out)
    write_outputs(out, evaluation)
    print_markdown(evaluation.markdown())
    print(f"wrote {out}/metrics.json, metrics.md, samples.csv, samples.jsonl")
    try:
        run_ = open_wandb(cfg, {k: v for k, v in evaluation.summary.items() if k != "metrics"})
        if run_ is not None:
            log_wandb(run_, evaluation)
            print(f"W&B run: {Path(run_.dir).parent if getattr(run_, 'dir', None) else run_}")
            run_.finish()
    except Exception as err:  # noqa: BLE001 - the files are written; say what failed
        print(f"error: W&B logging failed ({type(err).__name__}: {err}); the results are in {out}", file=sys.stderr)
        return FAILED
    evaluated = evaluation.summary["n_samples"] - evaluation.summary["n_failed"]
    if evaluated <= 0:
        print("error: no sample could be evaluated (see metrics.json: failures)", file=sys.stderr)
        return FAILED
    return OK


main = hydra_command("evaluate", run)


if __name__ == "__main__":
    main()
