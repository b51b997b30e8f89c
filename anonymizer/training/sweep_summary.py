"""Summary table of a Hydra multirun: ``<sweep dir>/sweep_summary.csv`` and ``.md``.

Registered as a Hydra callback in ``anonymizer/conf/hydra/default.yaml``. Each trial's job
(``anonymizer.train.main`` in MULTIRUN mode) writes ``<trial dir>/trial_status.json``;
Hydra writes ``<trial dir>/.hydra/overrides.yaml``. After every job and at the end of the
multirun the callback reads them all and writes one row per trial: trial number, status,
objective, the swept parameters, the error of a failed trial and the trial's directory.
Rewriting after every job keeps the table current when a long sweep is interrupted.

Swept parameters are the keys of ``hydra.sweeper.params``, the command-line overrides
with sweep syntax (``a=1,2``, ``range(...)``, ``interval(...)``) and any override whose
value differs between trials.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, ListConfig, OmegaConf

log = logging.getLogger(__name__)

STATUS_FILE = "trial_status.json"
CSV_NAME = "sweep_summary.csv"
MD_NAME = "sweep_summary.md"


@dataclass
class Trial:
    """One trial directory of a sweep."""

    number: int | None
    directory: Path
    status: str
    objective: float | None = None
    metric: str | None = None
    error: str | None = None
    params: dict[str, str] = field(default_factory=dict)


def parse_overrides(overrides: list[str]) -> dict[str, str]:
    """``key -> value`` of Hydra override strings (deletions ``~key`` map to ``"~"``)."""
    parsed: dict[str, str] = {}
    for override in OverridesParser.create().parse_overrides(overrides=[str(o) for o in overrides]):
        key = override.get_key_element()
        parsed[key] = "~" if override.is_delete() else str(override.get_value_element_as_str())
    return parsed


def sweep_keys(overrides: list[str]) -> list[str]:
    """Keys of the overrides that use sweep syntax (``a=1,2``, ``range``, ``interval``, ...)."""
    parser = OverridesParser.create()
    return [o.get_key_element() for o in parser.parse_overrides(overrides=[str(o) for o in overrides])
            if o.is_sweep_override()]


def read_trial(directory: Path) -> Trial:
    """Read a trial's ``trial_status.json`` and ``.hydra/overrides.yaml``."""
    overrides_file = directory / ".hydra" / "overrides.yaml"
    overrides = (yaml.safe_load(overrides_file.read_text()) or []) if overrides_file.is_file() else []
    try:
        params = parse_overrides(overrides)
    except Exception as e:  # noqa: BLE001 - an unparsable file must not hide the other trials
        log.warning("Cannot parse %s: %s", overrides_file, e)
        params = {}
    number = int(directory.name) if directory.name.isdigit() else None
    status_file = directory / STATUS_FILE
    if not status_file.is_file():
        return Trial(number, directory, "unknown", params=params,
                     error=f"no {STATUS_FILE} (the trial was interrupted or is still running)")
    try:
        status = json.loads(status_file.read_text())
    except (OSError, json.JSONDecodeError) as e:
        return Trial(number, directory, "unknown", params=params, error=f"unreadable {STATUS_FILE}: {e}")
    objective = status.get("objective")
    return Trial(
        number=status.get("trial", number),
        directory=directory,
        status=str(status.get("status", "unknown")),
        objective=float(objective) if objective is not None else None,
        metric=status.get("metric"),
        error=status.get("error"),
        params=params,
    )


def find_trials(sweep_dir: Path) -> list[Trial]:
    """Every Hydra job directory below ``sweep_dir``, ordered by trial number."""
    dirs = sorted({p.parent.parent for p in sweep_dir.rglob(".hydra/overrides.yaml")})
    trials = [read_trial(d) for d in dirs]
    return sorted(trials, key=lambda t: (t.number is None, t.number if t.number is not None else 0, str(t.directory)))


def _direction(sweeper: Any) -> str | None:
    direction = OmegaConf.select(sweeper, "direction") if isinstance(sweeper, DictConfig) else None
    if isinstance(direction, (list, ListConfig)):
        direction = direction[0] if len(direction) == 1 else None
    if isinstance(direction, Enum):
        direction = direction.name
    return str(direction) if direction is not None else None


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.6g}"


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _short(value: str) -> str:
    """A sampled float such as ``0.00022702608040701594`` as ``0.000227`` (the CSV keeps all digits)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return value if number.is_integer() and "e" not in value.lower() else f"{number:.4g}"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_summary(
    sweep_dir: Path,
    metric: str | None = None,
    direction: str | None = None,
    swept: list[str] | None = None,
) -> list[Trial]:
    """Write ``sweep_summary.csv`` and ``sweep_summary.md`` in ``sweep_dir``; return the trials."""
    sweep_dir = Path(sweep_dir)
    trials = find_trials(sweep_dir)
    metric = metric or next((t.metric for t in trials if t.metric), None) or "objective"
    keys = list(dict.fromkeys(swept or []))
    all_keys = list(dict.fromkeys(k for t in trials for k in t.params))
    for key in all_keys:  # also any override that differs between trials
        if key not in keys and len({t.params.get(key) for t in trials}) > 1:
            keys.append(key)

    best = None
    ok = [t for t in trials if t.status == "ok" and t.objective is not None and not math.isnan(t.objective)]
    if ok and direction in ("minimize", "maximize"):
        pick = min if direction == "minimize" else max
        best = pick(ok, key=lambda t: t.objective)

    header = ["trial", "status", metric, *keys, "error", "dir"]
    rows = [
        [
            "" if t.number is None else t.number,
            t.status,
            _fmt(t.objective),
            *(t.params.get(k, "") for k in keys),
            t.error or "",
            os.path.relpath(t.directory, sweep_dir),
        ]
        for t in trials
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    _atomic_write(sweep_dir / CSV_NAME, buffer.getvalue())

    counts = {s: sum(t.status == s for t in trials) for s in dict.fromkeys(t.status for t in trials)}
    lines = [
        f"# Sweep summary: {sweep_dir.name}",
        "",
        f"{len(trials)} trials ({', '.join(f'{n} {s}' for s, n in counts.items()) or 'none'}); "
        f"objective `{metric}`" + (f" ({direction})" if direction else "") + ".",
    ]
    if best is not None:
        lines.append(f"Best: trial {best.number}, {metric} = {_fmt(best.objective)}.")
    lines += ["", "| " + " | ".join(_md_cell(h) for h in header) + " |",
              "|" + "|".join("---:" if i in (0, 2) else "---" for i in range(len(header))) + "|"]
    n_keys = len(keys)
    lines += ["| " + " | ".join(_md_cell(_short(c) if 3 <= i < 3 + n_keys else c) for i, c in enumerate(row)) + " |"
              for row in rows]
    _atomic_write(sweep_dir / MD_NAME, "\n".join(lines) + "\n")
    return trials


def summarize_sweep(hydra_cfg: DictConfig, metric: str | None = None) -> list[Trial] | None:
    """Write the summary of the sweep that ``hydra_cfg`` (the ``hydra`` node) belongs to.

    Never raises: a broken summary must not break a sweep (the problem is logged).
    """
    try:
        sweep_dir = Path(str(hydra_cfg.sweep.dir))
        if not sweep_dir.is_dir():
            return None
        params = OmegaConf.select(hydra_cfg, "sweeper.params", default=None)
        swept = [str(k) for k in params] if isinstance(params, DictConfig) else []
        swept += sweep_keys(OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False) or [])
        trials = write_summary(sweep_dir, metric, _direction(hydra_cfg.get("sweeper")), swept)
    except Exception:
        log.exception("Could not write the sweep summary")
        return None
    log.info("Sweep summary (%d trials): %s", len(trials), sweep_dir / MD_NAME)
    return trials


class SweepSummary(Callback):
    """Hydra callback: keep ``<sweep dir>/sweep_summary.{csv,md}`` up to date in multiruns."""

    def on_job_end(self, config: DictConfig, job_return: Any = None, **kwargs: Any) -> None:
        if config.hydra.mode == RunMode.MULTIRUN:
            summarize_sweep(config.hydra, OmegaConf.select(config, "optimized_metric", default=None))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        summarize_sweep(config.hydra, OmegaConf.select(config, "optimized_metric", default=None))


def write_trial_status(directory: Path, record: dict[str, Any]) -> Path:
    """Write ``<trial dir>/trial_status.json`` (atomically; non-finite numbers become null)."""
    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / STATUS_FILE
    _atomic_write(path, json.dumps(clean(record), indent=2, allow_nan=False) + "\n")
    return path
