"""``python -m anonymizer.anonymize input=<file or folder> output=<folder>``: anonymize documents.

Every PNG/JPEG/TIFF/PDF under ``input`` goes through OCR → PII detection → consistent
surrogates → rendering (``renderer=classical|diffusion|redact``) → re-OCR verification.
The output folder mirrors the inputs' relative paths with the same names and formats;
next to each output, ``<file name>.audit.json`` records boxes, entity types, surrogates,
the renderer and the verification (never an original value). Inputs are never modified,
writes are atomic, existing outputs are kept unless ``overwrite=true``. A failing document
is reported and the others are still done; the exit code is 1 when any document failed,
2 for usage errors (missing or wrong ``input``/``output``, a component that cannot start).
The in-memory steps of one document (:func:`anonymize_pages`, :func:`document_audit`) are
shared with the HTTP API (:mod:`anonymizer.serving`).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from anonymizer.data.documents import DOCUMENT_EXTENSIONS, check_document, iter_pages
from anonymizer.data.image_io import ImageLoadError
from anonymizer.pipeline.outputs import write_document, write_json

log = logging.getLogger("anonymizer.anonymize")

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
OK, FAILED, USAGE = 0, 1, 2
AUDIT_SUFFIX = ".audit.json"
AUDIT_VERSION = "anonymizer.audit/1"


class UsageError(ValueError):
    """A problem with the command itself (paths, components), reported in one line."""


@dataclass
class DocumentOutcome:
    """What happened to one input (no text content)."""

    input: Path
    output: Path | None
    status: str  # "ok" | "failed" | "exists"
    reason: str | None = None
    pages: int = 0
    entities: Counter = field(default_factory=Counter)
    leaks: int = 0


# --------------------------------------------------------------------------- inputs
def list_inputs(source: Path, output: Path, recursive: bool = True) -> tuple[Path, list[Path]]:
    """``(root, files)``: the documents to process and the folder their paths are relative to.

    A file is taken as given (its type is checked when it is processed). In a folder, files
    with a document extension are taken in sorted order; the output folder is excluded when
    it lies inside the input folder.

    Raises:
        UsageError: the input does not exist, or the output folder is the input folder.
    """
    if not source.exists():
        raise UsageError(f"input {source} does not exist")
    if source.is_file():
        return source.parent, [source]
    if not source.is_dir():
        raise UsageError(f"input {source} is neither a file nor a folder")
    src, out = source.resolve(), output.resolve()
    if out == src:
        raise UsageError(f"output {output} is the input folder; choose another folder (inputs are never modified)")
    candidates = source.rglob("*") if recursive else source.iterdir()
    files = []
    for path in sorted(candidates):
        if not path.is_file() or path.suffix.lower() not in DOCUMENT_EXTENSIONS:
            continue
        if out in path.resolve().parents:
            continue  # earlier outputs inside the input folder
        files.append(path)
    return source, files


def output_path(path: Path, root: Path, output: Path) -> Path:
    """Where the anonymized ``path`` goes: the same relative path under ``output``."""
    return output / path.relative_to(root)


def audit_path(path: Path) -> Path:
    """The audit JSON next to an output file: ``scan.pdf`` → ``scan.pdf.audit.json``."""
    return path.with_name(path.name + AUDIT_SUFFIX)


# --------------------------------------------------------------------------- components
def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def build_components(cfg: DictConfig):
    """The page anonymizer (OCR engine, detector, renderer: loaded once) from ``cfg``.

    Raises:
        UsageError: a component cannot start (Tesseract or a language missing, a bad
            option, the diffusion export not found), with the reason.
    """
    from anonymizer.pipeline.detect import PiiDetector
    from anonymizer.pipeline.ocr import OcrError, build_ocr, limit_ocr_threads
    from anonymizer.pipeline.page_anonymizer import PageAnonymizer
    from anonymizer.pipeline.render import build_renderer

    ocr_cfg = dict(_plain(cfg.ocr))
    threads = ocr_cfg.pop("threads", None)
    renderer_cfg = dict(_plain(cfg.renderer))
    name = renderer_cfg.pop("name", "classical")
    if name == "diffusion" and renderer_cfg.get("margin") is None:
        renderer_cfg.pop("margin", None)
    verify = dict(_plain(cfg.verify))
    try:
        limit_ocr_threads(threads)
        ocr = build_ocr(ocr_cfg.pop("engine", "tesseract"), **ocr_cfg)
        detector = PiiDetector(**dict(_plain(cfg.detect)))
        renderer = build_renderer(name, **renderer_cfg)
        return PageAnonymizer(
            ocr,
            detector,
            renderer,
            verify=bool(verify.get("enabled", True)),
            fallback=str(verify.get("fallback", "redact")),
            fallback_color=verify.get("color", "black"),
            min_chars=verify.get("min_chars", 3),
            fit_surrogates=bool(cfg.surrogates.get("fit", True)),
        )
    except OcrError as err:
        raise UsageError(str(err)) from None
    except (ValueError, TypeError, OSError) as err:
        raise UsageError(f"cannot start the pipeline: {err}") from None


def surrogate_secret(cfg: DictConfig) -> str | None:
    """The surrogate secret from the environment variable named by ``secret_env`` (or None)."""
    name = cfg.get("secret_env")
    value = os.environ.get(str(name)) if name else None
    return value or None


# --------------------------------------------------------------------------- one document
class Cancelled(RuntimeError):
    """Processing was stopped between two pages (the caller asked it to stop)."""


def ocr_settings(cfg: DictConfig) -> dict[str, Any]:
    """The OCR settings recorded in audits (``extra_config`` left out: it may hold paths)."""
    return {k: v for k, v in dict(_plain(cfg.ocr)).items() if k != "extra_config"}


def anonymize_pages(
    pages: Iterable[tuple[int, Image.Image]],
    anonymizer,
    secret: str | None,
    locale: str = "en_US",
    should_stop: Callable[[], bool] | None = None,
    audits: list[dict[str, Any]] | None = None,
) -> tuple[list[Image.Image], list[dict[str, Any]]]:
    """Anonymize the ``(index, image)`` pages of one document, in memory.

    One surrogate generator serves all pages (same value → same surrogate in the
    document). Each page's audit entry is appended to ``audits`` (a new list by default)
    as soon as the page is done, so a caller sees the pages finished before an error.

    Raises:
        Cancelled: ``should_stop()`` returned true before a page.
        ImageLoadError: from ``pages`` (a page that cannot be loaded).
    """
    from anonymizer.pipeline.page_anonymizer import DocumentContext
    from anonymizer.pipeline.surrogates import SurrogateGenerator

    doc = DocumentContext(SurrogateGenerator(secret=secret, locale=str(locale)))
    audits = [] if audits is None else audits
    images: list[Image.Image] = []
    for index, page in pages:
        if should_stop is not None and should_stop():
            raise Cancelled(f"stopped before page {index}")
        result = anonymizer(page, doc, index)
        images.append(result.image)
        audits.append(result.audit)
    return images, audits


def summarize_pages(pages_audit: list[dict[str, Any]]) -> tuple[Counter, int]:
    """``(entity counts per type, leaks found)`` over the pages' audit entries."""
    entities: Counter = Counter()
    leaks = 0
    for page in pages_audit:
        entities.update(e["type"] for e in page["entities"])
        leaks += len(page["verification"].get("leaks", []))
    return entities, leaks


def document_audit(
    *,
    input_name: str,
    output_name: str | None,
    status: str,
    reason: str | None,
    renderer: str,
    ocr: dict[str, Any],
    consistent: bool,
    pages_audit: list[dict[str, Any]],
    seconds: float,
) -> dict[str, Any]:
    """The audit record of one document (:data:`AUDIT_VERSION`); never an original value."""
    entities, leaks = summarize_pages(pages_audit)
    return {
        "schema": AUDIT_VERSION,
        "input": input_name,
        "output": output_name if status == "ok" else None,
        "status": status,
        "reason": reason,
        "renderer": renderer,
        "ocr": ocr,
        "consistent_across_documents": consistent,
        "pages": pages_audit if status == "ok" else [],
        "summary": {
            "pages": len(pages_audit),
            "entities": dict(entities),
            "leaks_found": leaks,
            "verification_passed": leaks == 0,
        },
        "seconds": round(seconds, 3),
    }


def anonymize_document(
    path: Path, target: Path, anonymizer, cfg: DictConfig, secret: str | None, renderer: str
) -> DocumentOutcome:
    """Anonymize one document into ``target`` and write its audit; never raises for bad input."""
    outcome = DocumentOutcome(input=path, output=target, status="ok")
    overwrite = bool(cfg.overwrite)
    audit_file = audit_path(target)
    if not overwrite and (target.exists() or audit_file.exists()):
        outcome.status, outcome.reason = "exists", "output exists (pass overwrite=true to replace it)"
        return outcome
    io = cfg.io
    pages_audit: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        fmt = check_document(path)
        pages = iter_pages(path, dpi=io.dpi, max_pixels=io.max_pixels, max_pages=io.max_pages)
        images, _ = anonymize_pages(pages, anonymizer, secret, str(cfg.surrogates.locale), audits=pages_audit)
        write_document(target, images, fmt, dpi=io.dpi, jpeg_quality=io.jpeg_quality, overwrite=overwrite)
    except ImageLoadError as err:
        outcome.status, outcome.reason = "failed", err.reason
    except FileExistsError:
        outcome.status, outcome.reason = "exists", "output exists (pass overwrite=true to replace it)"
        return outcome
    except Exception as err:  # noqa: BLE001 - one document must not stop the batch
        outcome.status, outcome.reason = "failed", f"{type(err).__name__} while processing (see the log)"
        log.error("%s: %s failed", path, type(err).__name__, exc_info=log.isEnabledFor(logging.DEBUG))
    outcome.pages = len(pages_audit)
    outcome.entities, outcome.leaks = summarize_pages(pages_audit)
    audit = document_audit(
        input_name=path.name, output_name=target.name, status=outcome.status, reason=outcome.reason,
        renderer=renderer, ocr=ocr_settings(cfg), consistent=secret is not None, pages_audit=pages_audit,
        seconds=time.perf_counter() - started,
    )
    try:
        write_json(audit_file, audit, overwrite=overwrite)
    except FileExistsError:
        pass
    except OSError as err:
        outcome.status, outcome.reason = "failed", f"cannot write the audit ({type(err).__name__})"
    return outcome


# --------------------------------------------------------------------------- batch
def _progress(files: list[Path]) -> Iterator[Path]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("anonymizing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("anonymizing", total=len(files))
        for path in files:
            yield path
            progress.advance(task)


def print_summary(outcomes: list[DocumentOutcome], seconds: float) -> None:
    """A table of the documents' outcomes and the entity counts (no text content)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=False)
    table = Table(title="anonymize")
    for column in ("document", "status", "pages", "entities", "leaks redacted", "reason"):
        table.add_column(column)
    for o in outcomes:
        table.add_row(str(o.input), o.status, str(o.pages), str(sum(o.entities.values())), str(o.leaks), o.reason or "")
    console.print(table)
    status = Counter(o.status for o in outcomes)
    types = sum((o.entities for o in outcomes), Counter())
    pages = sum(o.pages for o in outcomes)
    console.print(
        f"{status['ok']} done, {status['failed']} failed, {status['exists']} skipped (output exists); "
        f"{pages} pages in {seconds:.1f} s; entities: {dict(types) or 'none'}"
    )


def run(cfg: DictConfig) -> int:
    """Anonymize everything ``cfg`` names; returns the exit code."""
    missing = [k for k in ("input", "output") if OmegaConf.is_missing(cfg, k)]
    if missing:
        print(f"error: missing {', '.join(missing)}; usage: python -m anonymizer.anonymize "
              "input=<file or folder> output=<folder> [renderer=classical|diffusion|redact]", file=sys.stderr)
        return USAGE
    source, output = Path(str(cfg.input)).expanduser(), Path(str(cfg.output)).expanduser()
    try:
        if output.exists() and not output.is_dir():
            raise UsageError(f"output {output} exists and is not a folder")
        root, files = list_inputs(source, output, bool(cfg.get("recursive", True)))
        if not files:
            raise UsageError(f"no PNG/JPEG/TIFF/PDF files in {source}")
        anonymizer = build_components(cfg)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return USAGE
    secret = surrogate_secret(cfg)
    renderer = str(cfg.renderer.name)
    started = time.perf_counter()
    outcomes = []
    for path in _progress(files):
        outcome = anonymize_document(path, output_path(path, root, output), anonymizer, cfg, secret, renderer)
        if outcome.status != "ok":
            log.warning("%s: %s", path, outcome.reason)
        outcomes.append(outcome)
    print_summary(outcomes, time.perf_counter() - started)
    return FAILED if any(o.status == "failed" for o in outcomes) else OK


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="anonymize")
def main(cfg: DictConfig) -> None:
    """Hydra entry: exits with :func:`run`'s code."""
    code = run(cfg)
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
