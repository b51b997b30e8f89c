"""Benchmark: pages/s of ``python -m anonymizer.anonymize`` with the local engine (one process
and 2 worker processes) and ``engine=ray`` with 1 and 2 actors, on this machine, in one run.

    python experiments/bench_ray.py [--pages 12] [--rounds 2] [--engines local,local2,ray1,ray2] [--out table.md]

Writes ``--pages`` synthetic form pages (``anonymizer.data.synth_pages``, PNG) to a
temporary folder and anonymizes them with the command as a user runs it (a fresh process
per run, default pipeline: classical renderer, re-OCR verification), into a fresh output
folder each time, the surrogate secret set. The three configurations run in rounds, the
order rotating from round to round, so machine noise hits each alike:

* ``local``: ``engine=local`` (one process);
* ``local, 2 workers``: ``engine.workers=2`` (two worker processes, each with its pipeline);
* ``ray, 1 actor``: ``engine=ray engine.num_actors=1`` (a local Ray started by the command);
* ``ray, 2 actors``: ``engine=ray engine.num_actors=2``.

Per configuration (medians over the rounds):

* wall: seconds of the whole command (start-up included: imports, Ray, the pipeline of
  each actor);
* pages/s: pages / wall;
* busy s/page: the documents' own seconds (``manifest.jsonl``) per page: the time a
  worker spends on one page once it runs;
* steady pages/s: actors / busy s/page, the rate once every actor runs (start-up excluded);
* start-up: wall - pages x busy s/page / actors.

Prints a markdown block (and writes it with ``--out``) for experiments/RESULTS.md. Nothing
but counts and times is printed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {
    "local": [],
    "local, 2 workers": ["engine.workers=2"],
    "ray, 1 actor": ["engine=ray", "engine.num_actors=1"],
    "ray, 2 actors": ["engine=ray", "engine.num_actors=2"],
}
ACTORS = {"local": 1, "local, 2 workers": 2, "ray, 1 actor": 1, "ray, 2 actors": 2}
SHORT = {"local": "local", "local2": "local, 2 workers", "ray1": "ray, 1 actor", "ray2": "ray, 2 actors"}


def write_pages(folder: Path, n: int) -> None:
    from anonymizer.data.synth_pages import PageConfig, generate_page

    config = PageConfig(kinds={"form": 1.0, "invoice": 0.0, "letter": 0.0, "receipt": 0.0},
                        scan=PageConfig().scan.__class__(enabled=False))
    folder.mkdir(parents=True)
    for i in range(n):
        generate_page(i, 7, config)[0].save(folder / f"page{i:03d}.png")


def run_once(source: Path, out: Path, overrides: list[str]) -> tuple[float, float, int]:
    """``(wall seconds, sum of the documents' seconds, pages)`` of one command."""
    env = {**os.environ, "ANONYMIZER_SECRET": "bench-ray-secret", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "anonymizer.anonymize", f"input={source}", f"output={out}", *overrides]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[2:])} exited with {done.returncode}:\n{done.stderr[-2000:]}")
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    if any(r["status"] != "ok" for r in rows):
        raise SystemExit("a document failed")
    return wall, sum(r["seconds"] for r in rows), sum(r["pages"] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--engines", default=",".join(SHORT), help=f"comma-separated subset of {','.join(SHORT)}")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    chosen = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not chosen or any(e not in SHORT for e in chosen):
        parser.error(f"--engines: choose from {','.join(SHORT)}")

    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        write_pages(work / "in", args.pages)
        names = [SHORT[e] for e in chosen]
        results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in names}
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                out = work / f"out-{r}-{name.replace(' ', '').replace(',', '-')}"
                results[name].append(run_once(work / "in", out, CONFIGS[name]))
                print(f"round {r}: {name}: {results[name][-1][0]:.1f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    lines = [
        f"{args.pages} synthetic form pages (PNG), default pipeline (classical renderer, verification), "
        f"medians of {args.rounds} interleaved rounds; {platform.machine()}, {os.cpu_count()} cores, "
        f"{datetime.date.today()}.",
        "",
        "| engine | wall s | pages/s | busy s/page | steady pages/s | start-up s |",
        "|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        wall = statistics.median(w for w, _, _ in runs)
        busy = statistics.median(b / p for _, b, p in runs)
        actors = ACTORS[name]
        lines.append(f"| {name} | {wall:.1f} | {args.pages / wall:.3f} | {busy:.2f} | {actors / busy:.3f} | "
                     f"{wall - args.pages * busy / actors:.1f} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
