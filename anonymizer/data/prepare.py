"""Convert a dataset folder into validated page records:
``python -m anonymizer.data.prepare dataset=funsd input=/data/FUNSD output=/data/funsd.jsonl``.

Reads the folder with :data:`anonymizer.data.readers.READERS` ``[dataset]``, writes the
records with :func:`~anonymizer.core.records.write_records` (an existing output is kept
unless ``overwrite=true``), then validates the written file: every record re-reads with
:func:`~anonymizer.core.records.read_records` and every page's file opens with
:func:`~anonymizer.core.documents.page_size` at the record's width and height
(``decode_images=true`` also decodes the pixels). It prints a report: pages, words,
entities, sensitive entities and links per split, the skipped items grouped by reason
with a few examples, and the validation result. Messages name files, record ids and
reasons, never word text.

Exit codes: 0 converted and valid; 1 nothing could be converted or validation failed;
2 usage errors (unknown dataset, wrong input folder, output exists) with a one-line error.
Config: ``anonymizer/conf/prepare.yaml``.
"""

from __future__ import annotations

import logging
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from anonymizer.core.documents import DEFAULT_DPI, load_page, page_size
from anonymizer.core.entry import FAILED, OK, USAGE, UsageError, hydra_command, report_usage_error
from anonymizer.core.image_io import ImageLoadError
from anonymizer.core.records import PageRecord, read_records, write_records
from anonymizer.data.readers import READERS, ReaderError, Skip, read_dataset

log = logging.getLogger(__name__)

IMAGE_PATHS = ("absolute", "relative")
STATS = ("pages", "words", "entities", "sensitive", "links")


class PrepareError(UsageError):
    """A usage error: reported as one line, exit code 2."""


@dataclass
class PrepareReport:
    """What a conversion did (no word text)."""

    dataset: str
    input: Path
    output: Path
    splits: dict[str, Counter] = field(default_factory=dict)
    skipped: list[Skip] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    written: int = 0
    validated: int = 0

    @property
    def totals(self) -> Counter:
        return sum(self.splits.values(), Counter())

    @property
    def exit_code(self) -> int:
        return OK if self.written and not self.problems else FAILED


def _stats(records: list[PageRecord]) -> dict[str, Counter]:
    splits: dict[str, Counter] = defaultdict(Counter)
    for r in records:
        c = splits[r.split or "-"]
        c.update(pages=1, words=len(r.words), entities=len(r.entities), links=len(r.links),
                 sensitive=sum(e.sensitive for e in r.entities))
    return dict(sorted(splits.items()))


def validate(output: Path, expected: list[PageRecord], decode_images: bool = False) -> tuple[int, list[str]]:
    """Re-read ``output`` and check every page file; ``(valid pages, problems)``."""
    problems: list[str] = []
    try:
        records, errors = read_records(output)
    except OSError as err:
        return 0, [f"{output}: cannot be read back ({type(err).__name__})"]
    problems += [reason for _, reason in errors]
    missing = {r.id for r in expected} - {r.id for r in records}
    problems += [f"{output}: record {rid} did not re-read" for rid in sorted(missing)]
    valid = 0
    for r in records:
        try:
            size = page_size(r.image_path, r.page, r.dpi or DEFAULT_DPI)
            if size != (r.width, r.height):
                actual = f"{size[0]}x{size[1]}"
                problems.append(f"{r.id}: image {r.image_path} is {actual}, record says {r.width}x{r.height}")
                continue
            if decode_images:
                load_page(r.image_path, r.page, r.dpi or DEFAULT_DPI)
        except ImageLoadError as err:
            problems.append(f"{r.id}: {err}")
            continue
        valid += 1
    return valid, problems


def prepare(
    dataset: str,
    input: str | Path,
    output: str | Path,
    split: str | None = None,
    overwrite: bool = False,
    image_paths: str = "absolute",
    decode_images: bool = False,
) -> PrepareReport:
    """Convert, write and validate (see the module docstring); :class:`PrepareError` for usage errors."""
    if dataset not in READERS:
        raise PrepareError(f"unknown dataset {dataset!r} (choose from {', '.join(READERS)})")
    if image_paths not in IMAGE_PATHS:
        raise PrepareError(f"image_paths must be one of {', '.join(IMAGE_PATHS)}, got {image_paths!r}")
    source, target = Path(input).expanduser(), Path(output).expanduser()
    if not source.exists():
        raise PrepareError(f"input {source} does not exist")
    if target.is_dir():
        raise PrepareError(f"output {target} is a folder; give the JSONL file to write")
    if target.exists() and not overwrite:
        raise PrepareError(f"output {target} already exists; pass overwrite=true to replace it")
    try:
        result = read_dataset(dataset, source, split)
    except ReaderError as err:
        raise PrepareError(str(err)) from None
    report = PrepareReport(dataset, source, target, _stats(result.records), result.skipped)
    if not result.records:
        return report
    records = result.records_relative_to(target.parent) if image_paths == "relative" else result.records
    try:
        report.written = write_records(target, records, overwrite=overwrite)
    except FileExistsError as err:
        raise PrepareError(str(err)) from None
    log.info("%s: wrote %d records to %s", dataset, report.written, target)
    report.validated, report.problems = validate(target, records, decode_images)
    return report


def print_report(report: PrepareReport, examples: int = 3, console: Any = None) -> None:
    """The report as rich tables (markup off: paths and items are printed as they are)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(highlight=False, soft_wrap=True)
    table = Table(title=f"{report.dataset}: {report.input} -> {report.output}", title_justify="left")
    table.add_column("split")
    for name in STATS:
        table.add_column(name, justify="right")
    for name, counts in [*report.splits.items(), ("total", report.totals)]:
        table.add_row(name, *(str(counts[s]) for s in STATS))
    console.print(table)
    groups: dict[str, list[Skip]] = defaultdict(list)
    for skip in report.skipped:
        groups[skip.category].append(skip)
    console.print(f"skipped: {len(report.skipped)} item(s)", markup=False)
    for category, skips in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        console.print(f"  {len(skips):6d}  {category}", markup=False)
        for skip in skips[:examples]:
            console.print(f"          e.g. {skip.item}: {skip.reason}", markup=False)
    if not report.written:
        console.print("nothing converted: no output written", markup=False)
        return
    console.print(f"written: {report.written} record(s) to {report.output}", markup=False)
    status = "ok" if not report.problems else f"{len(report.problems)} problem(s)"
    console.print(f"validation: {report.validated}/{report.written} pages valid ({status})", markup=False)
    for problem in report.problems[: max(examples, 10)]:
        console.print(f"  {problem}", markup=False)


def run(cfg: DictConfig) -> int:
    """Run the conversion described by ``cfg`` (``anonymizer/conf/prepare.yaml``); returns the exit code."""
    missing = [k for k in ("dataset", "input", "output") if OmegaConf.is_missing(cfg, k)]
    if missing:
        usage = "dataset=<" + "|".join(READERS) + "> input=<folder> output=<file.jsonl>"
        print(f"error: missing {', '.join(missing)}; usage: python -m anonymizer.data.prepare {usage}",
              file=sys.stderr)
        return USAGE
    try:
        report = prepare(
            str(cfg.dataset), str(cfg.input), str(cfg.output),
            split=None if cfg.get("split") is None else str(cfg.split),
            overwrite=bool(cfg.get("overwrite", False)),
            image_paths=str(cfg.get("image_paths", "absolute")),
            decode_images=bool(cfg.get("decode_images", False)),
        )
    except PrepareError as err:
        return report_usage_error(err)
    print_report(report, int(cfg.get("examples", 3)))
    if not report.written:
        print(f"error: nothing could be converted from {report.input}", file=sys.stderr)
    elif report.problems:
        print(f"error: {len(report.problems)} page(s) failed validation", file=sys.stderr)
    return report.exit_code


main = hydra_command("prepare", run)


if __name__ == "__main__":
    main()
