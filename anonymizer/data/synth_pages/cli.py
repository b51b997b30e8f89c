"""Command line: ``python -m anonymizer.data.synth_pages n=20 out=DIR [seed=0] [page.scan.enabled=false] ...``.

Options are those of ``anonymizer/conf/synth_pages.yaml`` (Hydra overrides). Bad values and an
existing ``DIR/records.jsonl`` (without ``overwrite=true``) end the run with a one-line
error and exit status 2 before anything is written. Nothing is written to the working
directory. The summary counts pages, words and entities; it never shows word text.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from anonymizer.core.entry import OK, hydra_command, report_usage_error
from anonymizer.data.synth_pages.config import PageConfig
from anonymizer.data.synth_pages.generate import Summary, write_pages


def run(cfg: DictConfig) -> Summary:
    """Validate ``cfg`` and write the pages with a progress bar; print and return the summary."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if OmegaConf.is_missing(cfg, "out"):
        raise ValueError("out is required: the folder to write to, e.g. out=/tmp/pages")
    data: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    page = PageConfig.from_mapping(data.get("page") or {})
    out = data.get("out")
    if not isinstance(out, str) or not out:
        raise ValueError(f"out must be a folder path, got {out!r}")
    if not isinstance(data.get("overwrite"), bool):
        raise ValueError(f"overwrite must be true or false, got {data.get('overwrite')!r}")
    console = Console(stderr=True)
    with Progress(TextColumn("pages"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as progress:
        n = data.get("n")
        task = progress.add_task("pages", total=n if isinstance(n, int) and not isinstance(n, bool) else None)
        summary = write_pages(
            n, out, seed=data.get("seed"), config=page, overwrite=data["overwrite"],  # type: ignore[arg-type]
            workers=data.get("workers", 0), on_page=lambda _: progress.advance(task),  # type: ignore[arg-type]
        )
    _report(summary)
    return summary


def _report(summary: Summary) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Synthetic pages: {summary.records_path}")
    table.add_column("", justify="left")
    table.add_column("count", justify="right")
    table.add_row("pages", str(summary.pages))
    for kind, count in sorted(summary.kinds.items()):
        table.add_row(f"  {kind}", str(count))
    table.add_row("words", str(summary.words))
    table.add_row("key entities (KEY)", str(summary.keys))
    table.add_row("sensitive entities", str(sum(summary.sensitive.values())))
    for label, count in sorted(summary.sensitive.items()):
        table.add_row(f"  {label}", str(count))
    table.add_row("pages/s", f"{summary.pages_per_second:.1f}")
    Console().print(table)


def _command(cfg: DictConfig) -> int:
    """:func:`run`; a bad value or an existing output is a usage error."""
    try:
        run(cfg)
    except (ValueError, FileExistsError) as err:
        return report_usage_error(err)
    return OK


main = hydra_command("synth_pages", _command)
