"""``python -m anonymizer.anonymize input=<file or folder> output=<folder>``: anonymize documents.

Every PNG/JPEG/TIFF/PDF under ``input`` goes through OCR → PII detection → consistent
surrogates → rendering (``renderer=classical|diffusion|redact``) → re-OCR verification.
The output folder mirrors the inputs' relative paths with the same names and formats;
next to each output, ``<file name>.audit.json`` records boxes, entity types, surrogates,
the renderer and the verification (never an original value).

Guarantees (``docs/guarantees.md``): inputs are never written (an output path that is an
input, or an output folder inside the folder tree being read, is refused before any
work); every option is checked, and the output folder tried, before the first document;
pages are written to the output as they are done (memory does not grow with the page
count) and files are published atomically; existing outputs are kept unless
``overwrite=true``, but a document whose audit says it failed is retried; a PDF step over
``io.render_timeout_s`` or an OCR call over ``ocr.timeout`` fails its document alone;
symbolic links to files outside the input folder are not followed. Exit codes: 0 all
done (or kept), 1 any document failed, 2 usage errors (one line naming the key and the
value, or the path and the reason). The pipeline is
:class:`~anonymizer.pipeline.document.DocumentAnonymizer`, built from the pipeline keys of
the composed config as the HTTP API (:mod:`anonymizer.serving`) builds it.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

import anonymizer as _package
from anonymizer.core.documents import DOCUMENT_EXTENSIONS, check_document, iter_pages
from anonymizer.core.entry import FAILED, OK, USAGE, UsageError, hydra_command
from anonymizer.core.image_io import ImageLoadError
from anonymizer.core.outputs import document_writer, write_json
from anonymizer.pipeline.audit import AUDIT_VERSION, summarize_pages
from anonymizer.pipeline.document import DocumentAnonymizer, PipelineError
from anonymizer.pipeline.options import Check, check_bool, check_options

log = logging.getLogger("anonymizer.anonymize")

AUDIT_SUFFIX = ".audit.json"
EXISTS = "output exists (pass overwrite=true to replace it)"
OUTSIDE_LINK = "symbolic link to a file outside the input folder (not followed)"

__all__ = ["UsageError", "run", "main"]


def _path(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or value == "":
        raise ValueError(f"{key} must be a path, got {value!r}")
    return str(value)


#: The command's own keys (beside the pipeline's) and their checks.
ANONYMIZE_CHECKS: dict[str, Check] = {
    "input": _path,
    "output": _path,
    "overwrite": check_bool,
    "recursive": check_bool,
}


def printable(text: object) -> str:
    """``text`` with control characters escaped (``\\n`` → ``\\\\n``): a file name cannot
    start a new log line or move the cursor."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(text))


@dataclass
class DocumentOutcome:
    """What happened to one input (no text content)."""

    input: Path
    output: Path | None
    status: str  # "ok" | "failed" | "exists" | "not read"
    reason: str | None = None
    pages: int = 0
    entities: Counter = field(default_factory=Counter)
    leaks: int = 0


# --------------------------------------------------------------------------- inputs
@dataclass
class Inputs:
    """The documents to process, the folder their paths are relative to, and the files
    that are not read, with the reason."""

    root: Path
    files: list[Path]
    not_read: list[tuple[Path, str]] = field(default_factory=list)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def list_inputs(source: Path, output: Path, recursive: bool = True) -> Inputs:
    """The documents under ``source`` and where their outputs go, checked before any work.

    A file is taken as given (its type is checked when it is processed). In a folder, files
    with a document extension are taken in sorted order; a symbolic link to a file outside
    the folder is not followed (listed in ``not_read``). Inputs are never written: the
    output folder may not be the input folder or lie inside the folder tree that is read,
    and no output path may be an input (same path, link or hard link).

    Raises:
        UsageError: the input does not exist, or an output path is an input or inside the
            input tree.
    """
    if not source.exists():
        raise UsageError(f"input {printable(source)} does not exist")
    out = output.resolve()
    if source.is_file():
        root, files, not_read = source.parent, [source], []
    elif source.is_dir():
        root, src = source, source.resolve()
        if out == src or (recursive and src in out.parents):
            where = "is the input folder" if out == src else "is inside the input folder"
            raise UsageError(f"output {printable(output)} {where}; choose a folder outside it "
                             "(inputs are never modified)")
        candidates = source.rglob("*") if recursive else source.iterdir()
        files, not_read = [], []
        for path in sorted(candidates):
            if path.suffix.lower() not in DOCUMENT_EXTENSIONS:
                continue
            if path.is_symlink() and not _inside(path.resolve(), src):
                not_read.append((path, OUTSIDE_LINK))
            elif path.is_file():
                files.append(path)
    else:
        raise UsageError(f"input {printable(source)} is neither a file nor a folder")
    identities = {_identity(p): p for p in files}
    for path in files:
        target = output_path(path, root, output)
        identity = _identity(target)  # None: the target does not exist yet
        replaced = identities.get(identity) if identity else None
        if replaced is not None:
            raise UsageError(f"output {printable(target)} would replace the input {printable(replaced)}; "
                             "choose another output folder (inputs are never modified)")
    return Inputs(root, files, not_read)


def _identity(path: Path) -> tuple[int, int] | None:
    """``(device, inode)`` of the file ``path`` points to (links and hard links included)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def check_output_folder(output: Path) -> None:
    """Create ``output`` (with its parents) and write and delete a file there.

    Raises:
        UsageError: it is not a folder, cannot be created or is not writable.
    """
    if output.exists() and not output.is_dir():
        raise UsageError(f"output {printable(output)} exists and is not a folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=output, prefix=".anonymizer-probe."):
            pass
    except OSError as err:
        raise UsageError(f"output folder {printable(output)} is not writable "
                         f"({err.strerror or type(err).__name__})") from None


def output_path(path: Path, root: Path, output: Path) -> Path:
    """Where the anonymized ``path`` goes: the same relative path under ``output``."""
    return output / path.relative_to(root)


def audit_path(path: Path) -> Path:
    """The audit JSON next to an output file: ``scan.pdf`` → ``scan.pdf.audit.json``."""
    return path.with_name(path.name + AUDIT_SUFFIX)


def failed_audit(path: Path) -> bool:
    """Whether ``path`` is an audit of this tool recording a failed document."""
    try:
        audit = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(audit, dict) and audit.get("schema") == AUDIT_VERSION and audit.get("status") == "failed"


# --------------------------------------------------------------------------- one document
def where_raised(err: BaseException) -> str:
    """``file:line`` of the innermost frame of this package in ``err``'s traceback (never
    the message, which could hold document text)."""
    root = Path(_package.__file__).resolve().parent.parent
    found = "unknown location"
    for frame, line in traceback.walk_tb(err.__traceback__):
        file = Path(frame.f_code.co_filename)
        if file.is_relative_to(root / "anonymizer"):
            found = f"{file.relative_to(root)}:{line}"
    return found


def _failure_reason(err: Exception, page: int) -> str:
    from anonymizer.pipeline.ocr import OcrError

    if isinstance(err, OcrError):
        return f"page {page}: OCR failed: {err}"
    if isinstance(err, OSError):
        return f"cannot write the output ({err.strerror or type(err).__name__})"
    return f"page {page}: {type(err).__name__} raised at {where_raised(err)}"


def anonymize_document(path: Path, target: Path, pipeline: DocumentAnonymizer, cfg: DictConfig) -> DocumentOutcome:
    """Anonymize one document into ``target`` page by page with ``pipeline`` and write its
    audit; never raises for bad input. An existing output or audit is kept unless ``cfg.overwrite``,
    except the audit of a failed document without an output: that document is retried."""
    outcome = DocumentOutcome(input=path, output=target, status="ok")
    overwrite = cfg.overwrite
    audit_file = audit_path(target)
    replace_audit = overwrite
    if not overwrite and (target.exists() or audit_file.exists()):
        if target.exists() or not failed_audit(audit_file):
            outcome.status, outcome.reason = "exists", EXISTS
            return outcome
        replace_audit = True  # a failed document is retried and its audit replaced
    io = cfg.io
    pages_audit: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        fmt = check_document(path)
        pages = iter_pages(path, dpi=io.dpi, max_pixels=io.max_pixels, max_pages=io.max_pages,
                           isolate=True, render_timeout_s=io.render_timeout_s)
        with document_writer(target, fmt, dpi=io.dpi, jpeg_quality=io.jpeg_quality, overwrite=overwrite) as writer:
            for image in pipeline.anonymize_pages(pages, audits=pages_audit):
                writer.add(image)
    except ImageLoadError as err:
        outcome.status, outcome.reason = "failed", err.reason
    except FileExistsError:
        outcome.status, outcome.reason = "exists", EXISTS
        return outcome
    except Exception as err:  # one document must not stop the batch
        outcome.status, outcome.reason = "failed", _failure_reason(err, len(pages_audit))
        if log.isEnabledFor(logging.DEBUG):  # the traceback's messages could hold document text
            log.debug("%s: traceback", printable(path), exc_info=(type(err), err, err.__traceback__))
    outcome.pages = len(pages_audit)
    outcome.entities, outcome.leaks = summarize_pages(pages_audit)
    audit = pipeline.audit(
        input_name=path.name, output_name=target.name, status=outcome.status, reason=outcome.reason,
        pages_audit=pages_audit, seconds=time.perf_counter() - started,
    )
    try:
        write_json(audit_file, audit, overwrite=replace_audit)
    except FileExistsError:
        pass
    except OSError as err:
        outcome.status, outcome.reason = "failed", f"cannot write the audit ({err.strerror or type(err).__name__})"
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


def shown_path(path: Path, root: Path) -> str:
    """``path`` as the summary shows it: relative to ``root``, the folder the inputs were
    listed from (a single input file: its name), control characters escaped."""
    return printable(path.relative_to(root) if path.is_relative_to(root) else path)


def print_summary(outcomes: list[DocumentOutcome], seconds: float, root: Path) -> None:
    """A table of the documents' outcomes and the entity counts (no text content); each
    document is shown by its path relative to ``root``, the folder the inputs were listed from."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(stderr=False)
    table = Table(title="anonymize")
    for column in ("document", "status", "pages", "entities", "leaks redacted", "reason"):
        table.add_column(column)
    for o in outcomes:  # Text cells: a file name is never read as markup
        cells = (shown_path(o.input, root), o.status, str(o.pages), str(sum(o.entities.values())), str(o.leaks),
                 o.reason or "")
        table.add_row(*(Text(c) for c in cells))
    console.print(table)
    status = Counter(o.status for o in outcomes)
    types = sum((o.entities for o in outcomes), Counter())
    pages = sum(o.pages for o in outcomes)
    not_read = f", {status['not read']} not read (links out of the input folder)" if status["not read"] else ""
    console.print(Text(
        f"{status['ok']} done, {status['failed']} failed, {status['exists']} skipped (output exists){not_read}; "
        f"{pages} pages in {seconds:.1f} s; entities: {dict(types) or 'none'}"
    ))


def prepare(cfg: DictConfig) -> tuple[Inputs, Path]:
    """Every check that needs no component, before any document: the options, the inputs
    and where their outputs go, and a write in the output folder.

    Raises:
        UsageError: with one line naming the key and the value, or the path and the reason.
    """
    missing = [k for k in ("input", "output") if OmegaConf.is_missing(cfg, k)]
    if missing:
        raise UsageError(f"missing {', '.join(missing)}; usage: python -m anonymizer.anonymize "
                         "input=<file or folder> output=<folder> [renderer=classical|diffusion|redact]")
    try:
        check_options(cfg, ANONYMIZE_CHECKS)
    except ValueError as err:
        raise UsageError(str(err)) from None
    source, output = Path(str(cfg.input)).expanduser(), Path(str(cfg.output)).expanduser()
    if output.exists() and not output.is_dir():
        raise UsageError(f"output {printable(output)} exists and is not a folder")
    inputs = list_inputs(source, output, cfg.recursive)
    if not inputs.files and not inputs.not_read:
        raise UsageError(f"no PNG/JPEG/TIFF/PDF files in {printable(source)}")
    check_output_folder(output)
    return inputs, output


def run(cfg: DictConfig) -> int:
    """Anonymize everything ``cfg`` names; returns the exit code."""
    try:
        inputs, output = prepare(cfg)
        pipeline = DocumentAnonymizer.from_config(cfg) if inputs.files else None
    except (UsageError, PipelineError) as err:
        print(f"error: {err}", file=sys.stderr)
        return USAGE
    started = time.perf_counter()
    outcomes = [DocumentOutcome(input=p, output=None, status="not read", reason=r) for p, r in inputs.not_read]
    for outcome in outcomes:
        log.warning("%s: not read: %s", printable(outcome.input), outcome.reason)
    for path in _progress(inputs.files):
        outcome = anonymize_document(path, output_path(path, inputs.root, output), pipeline, cfg)
        if outcome.status != "ok":
            logger = log.error if outcome.status == "failed" else log.warning
            logger("%s: %s: %s", printable(path), outcome.status, outcome.reason)
        outcomes.append(outcome)
    print_summary(outcomes, time.perf_counter() - started, inputs.root)
    return FAILED if any(o.status == "failed" for o in outcomes) else OK


main = hydra_command("anonymize", run)


if __name__ == "__main__":
    main()
