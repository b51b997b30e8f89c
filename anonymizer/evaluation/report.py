"""Writing an evaluation: ``metrics.json``, ``metrics.md``, per-sample files, console, W&B.

An :class:`Evaluation` is what a task returns: a JSON-ready summary, markdown tables,
per-sample rows (already stripped of text where text must not be written), a few images
for the W&B panel and bar plots per group. :func:`write_outputs` writes the files into a
fresh folder (:func:`prepare_output`: an existing non-empty folder is refused), each file
atomically; :func:`log_wandb` sends the same to a W&B run.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image

from anonymizer.core.entry import UsageError

T = TypeVar("T")

METRICS_JSON, METRICS_MD, SAMPLES_CSV, SAMPLES_JSONL = "metrics.json", "metrics.md", "samples.csv", "samples.jsonl"


@dataclass
class Table:
    """A markdown table: a title line, column headers and rows of cells."""

    title: str
    headers: list[str]
    rows: list[list[Any]]

    def markdown(self) -> str:
        lines = [f"**{self.title}**", "", "| " + " | ".join(self.headers) + " |", "|" + "---|" * len(self.headers)]
        lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)


@dataclass
class Evaluation:
    """The result of one task (see the module docstring)."""

    task: str
    summary: dict[str, Any]
    tables: list[Table]
    samples: list[dict[str, Any]]
    images: list[tuple[str, Image.Image]] = field(default_factory=list)
    plots: dict[str, dict[str, float | None]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        """All tables and notes as one markdown block."""
        parts = [t.markdown() for t in self.tables]
        if self.notes:
            parts.append("\n".join(f"- {n}" for n in self.notes))
        return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------- values
def fmt(value: Any) -> str:
    """A table cell: floats with 3-4 significant decimals, None as ``n/a``."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return "inf"
        return f"{value:.2f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats replaced by None (JSON has no inf/nan) and tuples as lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the finite values (None when there are none)."""
    kept = [float(v) for v in values if v is not None and math.isfinite(v)]
    return sum(kept) / len(kept) if kept else None


def ratio(a: float, b: float) -> float | None:
    """``a / b``, or None when ``b`` is 0."""
    return a / b if b else None


def grid(
    images: Sequence[Image.Image | None], gap: int = 2, fill: tuple[int, int, int] = (255, 255, 255)
) -> Image.Image:
    """``images`` side by side in equal cells (``None`` leaves a blank cell), top-aligned."""
    present = [im for im in images if im is not None]
    cell_w = max((im.width for im in present), default=1)
    height = max((im.height for im in present), default=1)
    out = Image.new("RGB", (len(images) * cell_w + gap * (len(images) - 1), height), fill)
    for k, im in enumerate(images):
        if im is not None:
            out.paste(im.convert("RGB"), (k * (cell_w + gap), 0))
    return out


def same_size(images: Sequence[Image.Image], fill: tuple[int, int, int] = (255, 255, 255)) -> list[Image.Image]:
    """``images`` pasted top-left on canvases of the largest width and height (W&B panels
    need equal sizes)."""
    width, height = max(im.width for im in images), max(im.height for im in images)
    out = []
    for im in images:
        canvas = Image.new("RGB", (width, height), fill)
        canvas.paste(im.convert("RGB"), (0, 0))
        out.append(canvas)
    return out


# --------------------------------------------------------------------------- files
def check_output(path: str | Path) -> Path:
    """The output folder; :class:`UsageError` when it is a file or a folder that is not empty."""
    out = Path(path).expanduser()
    if out.exists() and not out.is_dir():
        raise UsageError(f"output {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise UsageError(f"output {out} exists and is not empty (results are never overwritten; choose a new folder)")
    return out


def prepare_output(path: str | Path) -> Path:
    """:func:`check_output`, then create the folder (with its parents)."""
    out = check_output(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"output {out}: cannot create the folder ({err.strerror or err})") from None
    return out


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file + rename); an existing file is refused."""
    if path.exists():
        raise FileExistsError(f"{path} exists")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def samples_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Per-sample rows as CSV (columns: union of the rows' scalar keys, in first-seen order)."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k, v in row.items() if k not in columns and not isinstance(v, (dict, list))]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
    return buffer.getvalue()


def write_outputs(out: Path, evaluation: Evaluation) -> list[Path]:
    """Write ``metrics.json``, ``metrics.md``, ``samples.csv`` and ``samples.jsonl`` into ``out``."""
    files = {
        METRICS_JSON: json.dumps(json_safe(evaluation.summary), indent=2, ensure_ascii=False) + "\n",
        METRICS_MD: f"# evaluate: {evaluation.task}\n\n" + evaluation.markdown(),
        SAMPLES_CSV: samples_csv(evaluation.samples),
        SAMPLES_JSONL: "".join(json.dumps(json_safe(r), ensure_ascii=False) + "\n" for r in evaluation.samples),
    }
    paths = []
    for name, text in files.items():
        write_text(out / name, text)
        paths.append(out / name)
    return paths


# --------------------------------------------------------------------------- console
def print_markdown(text: str) -> None:
    """Print markdown as plain text (copyable) on the console."""
    from rich.console import Console

    Console(soft_wrap=True).print(text, markup=False, highlight=False)


def progress(items: Sequence[T], description: str, enabled: bool = True) -> Iterator[T]:
    """Iterate ``items`` with a rich progress bar on stderr (only on a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    show = enabled and sys.stderr.isatty()
    with Progress(*columns, transient=True, disable=not show) as bar:
        task = bar.add_task(description, total=len(items))
        for item in items:
            yield item
            bar.advance(task)


# --------------------------------------------------------------------------- W&B
def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}/{k}" if prefix else str(k), v, out)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value):
            out[prefix] = value


def log_wandb(run: Any, evaluation: Evaluation) -> None:
    """Log ``evaluation`` to the W&B ``run``: scalar metrics (``metrics/...``, also in the run
    summary), the per-sample table (``samples``), one bar plot per entry of ``plots``
    (``plots/<name>``), the image panel (``images``) and ``metrics.md`` as an HTML panel."""
    import wandb

    scalars: dict[str, Any] = {}
    _flat("metrics", evaluation.summary.get("metrics", {}), scalars)
    payload: dict[str, Any] = dict(scalars)
    rows = evaluation.samples
    if rows:
        columns: list[str] = []
        for row in rows:
            columns += [k for k, v in row.items() if k not in columns and not isinstance(v, (dict, list))]
        payload["samples"] = wandb.Table(columns=columns, data=[[json_safe(r.get(c)) for c in columns] for r in rows])
    for name, values in evaluation.plots.items():
        data = [[label, v] for label, v in values.items() if v is not None and math.isfinite(v)]
        if data:
            table = wandb.Table(columns=["group", "value"], data=data)
            payload[f"plots/{name}"] = wandb.plot.bar(table, "group", "value", title=name)
    if evaluation.images:
        padded = same_size([image for _, image in evaluation.images])
        payload["images"] = [
            wandb.Image(image, caption=caption) for (caption, _), image in zip(evaluation.images, padded)
        ]
    run.log(payload)
    run.summary.update(scalars)
