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

``manifest.jsonl`` in the output folder lists every document's status, reason, pages,
entity counts and seconds (no text). ``engine.workers=N`` runs :func:`anonymize_document` on N
worker processes of this machine (:mod:`anonymizer.pipeline.process_pool`); ``engine=ray`` runs it in a
pool of Ray actors over local paths or fsspec URLs (:mod:`anonymizer.pipeline.ray_engine`,
``docs/ray.md``) with the same checks, outputs, summary and exit codes.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

import anonymizer as _package
from anonymizer.core.documents import DOCUMENT_EXTENSIONS, check_document, iter_pages
from anonymizer.core.entry import FAILED, OK, USAGE, UsageError, hydra_command
from anonymizer.core.image_io import ImageLoadError
from anonymizer.core.outputs import document_writer, write_json
from anonymizer.data.checks import check_int, check_number
from anonymizer.pipeline.audit import audit_path, is_failed_audit, summarize_pages
from anonymizer.pipeline.corpus import (
    CorpusError,
    Job,
    is_corpus_url,
    list_url_documents,
    plan_jobs,
    read_manifest,
    write_manifest,
)
from anonymizer.pipeline.document import DocumentAnonymizer, PipelineError
from anonymizer.pipeline.options import Check, check_bool, check_options

log = logging.getLogger("anonymizer.anonymize")

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
#: The ``engine`` keys (``anonymizer/conf/engine/``) and their checks.
ENGINES = ("local", "ray")
ENGINE_CHECKS: dict[str, Check] = {
    "engine.name": lambda k, v: _choice(k, v, ENGINES),
    "engine.address": lambda k, v: None if v is None else _path(k, v),
    "engine.num_cpus": lambda k, v: None if v is None else check_int(k, v, 1),
    "engine.num_actors": lambda k, v: None if v is None else check_int(k, v, 1),
    "engine.cpus_per_actor": lambda k, v: check_number(k, v, 0.01),
    "engine.gpus_per_actor": lambda k, v: check_number(k, v, 0),
    "engine.workers": lambda k, v: check_number(k, v, 1, MAX_WORKERS, integer=True),
}
ENGINE_KEYS = {"engine": {"name", "address", "num_cpus", "num_actors", "cpus_per_actor", "gpus_per_actor", "workers"}}
#: The most worker processes of engine=local (each holds a pipeline: about 1 GiB).
MAX_WORKERS = 256
#: The function each worker (a process of engine=local, a Ray actor) runs per document:
#: this module's, by name (no code in the payload).
DOCUMENT_PROCESS = "anonymizer.anonymize:anonymize_document"


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{key} must be one of {list(choices)}, got {value!r}")
    return value


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
    seconds: float = 0.0


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


def failed_audit(path: Path) -> bool:
    """Whether ``path`` is an audit of this tool recording a failed document."""
    try:
        return is_failed_audit(path.read_bytes())
    except OSError:
        return False


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
    outcome.seconds = time.perf_counter() - started
    audit = pipeline.audit(
        input_name=path.name, output_name=target.name, status=outcome.status, reason=outcome.reason,
        pages_audit=pages_audit, seconds=outcome.seconds,
    )
    try:
        write_json(audit_file, audit, overwrite=replace_audit)
    except FileExistsError:
        pass
    except OSError as err:
        outcome.status, outcome.reason = "failed", f"cannot write the audit ({err.strerror or type(err).__name__})"
    return outcome


# --------------------------------------------------------------------------- batch
@contextmanager
def _progress(total: int) -> Iterator[Callable[[DocumentOutcome], None]]:
    """A progress bar on a terminal (documents, pages/s, failures); yields the function
    that counts one finished document."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("anonymizing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
               TextColumn("{task.fields[failed]} failed"), TimeRemainingColumn())
    started, pages, failed = time.perf_counter(), 0, 0
    with Progress(*columns, transient=True, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("anonymizing", total=total, rate="", failed=0)

        def advance(outcome: DocumentOutcome) -> None:
            nonlocal pages, failed
            pages += outcome.pages
            failed += outcome.status == "failed"
            rate = pages / max(time.perf_counter() - started, 1e-9)
            progress.update(task, advance=1, rate=f"{rate:.2f} pages/s", failed=failed)

        yield advance


def _report(outcome: DocumentOutcome) -> None:
    if outcome.status != "ok":
        logger = log.error if outcome.status == "failed" else log.warning
        logger("%s: %s: %s", printable(outcome.input), outcome.status, outcome.reason)


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


def check_command_options(cfg: DictConfig) -> None:
    """The options of the pipeline, the command and the engine.

    Raises:
        UsageError: one line listing every wrong value and unknown key.
    """
    missing = [k for k in ("input", "output") if OmegaConf.is_missing(cfg, k)]
    if missing:
        raise UsageError(f"missing {', '.join(missing)}; usage: python -m anonymizer.anonymize "
                         "input=<file or folder> output=<folder> [renderer=classical|diffusion|redact]")
    try:
        check_options(cfg, {**ANONYMIZE_CHECKS, **ENGINE_CHECKS}, ENGINE_KEYS)
    except ValueError as err:
        raise UsageError(str(err)) from None


def prepare(cfg: DictConfig) -> tuple[Inputs, Path]:
    """Every check that needs no component, before any document: the options, the inputs
    and where their outputs go, and a write in the output folder.

    Raises:
        UsageError: with one line naming the key and the value, or the path and the reason.
    """
    check_command_options(cfg)
    if any(is_corpus_url(str(cfg[k])) for k in ("input", "output")):
        raise UsageError("input and output URLs need engine=ray (local paths work with either engine)")
    source, output = Path(str(cfg.input)).expanduser(), Path(str(cfg.output)).expanduser()
    if output.exists() and not output.is_dir():
        raise UsageError(f"output {printable(output)} exists and is not a folder")
    inputs = list_inputs(source, output, cfg.recursive)
    if not inputs.files and not inputs.not_read:
        raise UsageError(f"no PNG/JPEG/TIFF/PDF files in {printable(source)}")
    check_output_folder(output)
    return inputs, output


def manifest_records(outcomes: list[DocumentOutcome], root: Path | None, output: str) -> list[dict[str, Any]]:
    """One manifest record per document (:mod:`anonymizer.pipeline.corpus`); a document kept
    from an earlier run keeps that run's record."""
    earlier = read_manifest(output)
    records = []
    for o in outcomes:
        document = (o.input.relative_to(root) if root is not None and o.input.is_relative_to(root) else o.input)
        key = document.as_posix()
        if o.status == "exists" and key in earlier:
            records.append(earlier[key])
            continue
        records.append({"document": key, "status": o.status, "reason": o.reason, "pages": o.pages,
                        "entities": dict(o.entities), "leaks": o.leaks, "seconds": round(o.seconds, 3)})
    return records


def finish(outcomes: list[DocumentOutcome], seconds: float, root: Path, output: str) -> int:
    """Print the summary, write the manifest; returns the exit code."""
    print_summary(outcomes, seconds, root)
    try:
        write_manifest(output, manifest_records(outcomes, root, output))
    except OSError as err:
        log.error("%s: cannot write the manifest (%s)", printable(output), err.strerror or type(err).__name__)
        return FAILED
    return FAILED if any(o.status == "failed" for o in outcomes) else OK


def run(cfg: DictConfig) -> int:
    """Anonymize everything ``cfg`` names; returns the exit code."""
    if OmegaConf.select(cfg, "engine.name") == "ray":
        return run_ray(cfg)
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
    workers = int(OmegaConf.select(cfg, "engine.workers", default=1))
    with _progress(len(inputs.files)) as advance:
        if workers > 1 and len(inputs.files) > 1:
            del pipeline  # built above to check every component before any work; the workers build their own
            outcomes += _run_workers(inputs, output, cfg, workers, advance)
        else:
            for path in inputs.files:
                outcome = anonymize_document(path, output_path(path, inputs.root, output), pipeline, cfg)
                _report(outcome)
                advance(outcome)
                outcomes.append(outcome)
    return finish(outcomes, time.perf_counter() - started, inputs.root, str(output))


def _run_workers(inputs: Inputs, output: Path, cfg: DictConfig, workers: int,
                 advance: Callable[[DocumentOutcome], None]) -> list[DocumentOutcome]:
    """``engine.workers`` > 1: the documents on a pool of worker processes
    (:mod:`anonymizer.pipeline.process_pool`); outcomes in the order of the inputs."""
    from anonymizer.pipeline.process_pool import WorkerStopped, run_pool

    items = [(path, output_path(path, inputs.root, output)) for path in inputs.files]
    plain = OmegaConf.to_container(cfg, resolve=True)
    results: dict[int, DocumentOutcome] = {}
    for index, result in run_pool(items, plain, DOCUMENT_PROCESS, workers):
        if isinstance(result, WorkerStopped):
            result = DocumentOutcome(input=items[index][0], output=items[index][1], status="failed", reason=str(result))
        results[index] = result
        _report(result)
        advance(result)
    return [results[i] for i in range(len(items))]


# --------------------------------------------------------------------------- engine=ray
def ray_jobs(cfg: DictConfig) -> tuple[list[Job], list[DocumentOutcome], str]:
    """The documents for ``engine=ray`` (``(jobs, not read, output)``), checked before any
    work: local paths as the local engine checks them, URLs listed through fsspec.

    Raises:
        UsageError: one line naming the key and the value, or the path and the reason.
    """
    check_command_options(cfg)
    source, output = str(cfg.input), str(cfg.output)
    if not is_corpus_url(source) and not is_corpus_url(output):
        inputs, out = prepare(cfg)
        jobs = [Job(p.relative_to(inputs.root).as_posix(), str(p), str(output_path(p, inputs.root, out)))
                for p in inputs.files]
        not_read = [DocumentOutcome(input=p, output=None, status="not read", reason=r) for p, r in inputs.not_read]
        return jobs, not_read, str(out)
    if not is_corpus_url(source):
        source = Path(source).expanduser().resolve().as_uri()
    if not is_corpus_url(output):
        output = str(Path(output).expanduser().resolve())
    try:
        guard = output if is_corpus_url(output) else Path(output).as_uri()  # the output may not be inside the input
        found = list_url_documents(source, guard, bool(cfg.recursive))
    except CorpusError as err:
        raise UsageError(str(err)) from None
    if not found:
        raise UsageError(f"no PNG/JPEG/TIFF/PDF files in {printable(source)}")
    if not is_corpus_url(output):
        check_output_folder(Path(output))
    targets = {rel: output.rstrip("/") + "/" + rel if is_corpus_url(output) else str(Path(output) / rel)
               for rel, _ in found}
    return [Job(rel, url, targets[rel]) for rel, url in found], [], output


def _ray_outcome(record: dict[str, Any]) -> DocumentOutcome:
    document = Path(str(record["document"]))
    return DocumentOutcome(input=document, output=None, status=str(record["status"]), reason=record["reason"],
                           pages=int(record["pages"]), entities=Counter(json.loads(record["entities"])),
                           leaks=int(record["leaks"]), seconds=float(record["seconds"]))


def run_ray(cfg: DictConfig) -> int:
    """``engine=ray``: the documents on a Ray actor pool (:mod:`anonymizer.pipeline.ray_engine`)."""
    from anonymizer.pipeline.ray_engine import EngineError, RaySettings, run_jobs

    try:
        jobs, outcomes, output = ray_jobs(cfg)
        engine = OmegaConf.to_container(cfg.engine)
        settings = RaySettings(**{k: v for k, v in engine.items() if k not in ("name", "workers")})
        driver = DocumentAnonymizer.from_config(cfg)  # a component that cannot start is a usage error here
        todo, kept = plan_jobs(jobs, output, bool(cfg.overwrite))
    except (UsageError, PipelineError, CorpusError) as err:
        print(f"error: {err}", file=sys.stderr)
        return USAGE
    root = Path(".")
    started = time.perf_counter()
    for outcome in outcomes:
        log.warning("%s: not read: %s", printable(outcome.input), outcome.reason)
    outcomes += [DocumentOutcome(input=Path(j.document), output=None, status="exists", reason=EXISTS) for j in kept]
    plain = OmegaConf.to_container(cfg, resolve=True)
    done: set[str] = set()
    try:
        with _progress(len(todo)) as advance:
            for record in run_jobs(todo, plain, DOCUMENT_PROCESS, settings, secret_expected=driver.consistent):
                outcome = _ray_outcome(record)
                done.add(str(record["document"]))
                _report(outcome)
                advance(outcome)
                outcomes.append(outcome)
    except EngineError as err:
        if not done:
            print(f"error: {err}", file=sys.stderr)
            return USAGE
        log.error("%s", err)
        outcomes += [DocumentOutcome(input=Path(j.document), output=None, status="failed",
                                     reason="not done: the Ray engine stopped") for j in todo if j.document not in done]
    outcomes.sort(key=lambda o: o.input.as_posix())
    return finish(outcomes, time.perf_counter() - started, root, output)


main = hydra_command("anonymize", run)


if __name__ == "__main__":
    main()
