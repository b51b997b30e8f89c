"""Start-up time of the entry points, each in a fresh process.

    python experiments/bench_startup.py [--runs 3] [--code DIR] [override ...]

Measures, for the code in ``--code`` (default: this checkout; another checkout gives the
"before" figures), the median over ``--runs`` fresh processes of:

* ``import``: ``import anonymizer.anonymize`` and whether torch, transformers or diffusers
  came with it;
* ``anonymize, 1 page``: ``python -m anonymizer.anonymize`` on one synthetic page (import,
  option checks, pipeline build, the page, its audit, exit): when it exits, the first
  (and only) document is done;
* ``serve ready``: ``python -m anonymizer.serve`` until ``GET /health`` answers 200.

Extra arguments are Hydra overrides for both commands (e.g. ``renderer=redact``).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "diffusers")


def env_for(code: Path) -> dict[str, str]:
    """The environment of a timed process (run in ``code``: ``python -c``/``-m`` put the working
    folder first on ``sys.path``)."""
    return {**os.environ, "PYTHONPATH": str(code), "OMP_NUM_THREADS": "1"}


def time_import(code: Path) -> tuple[float, list[str]]:
    probe = ("import sys, time; t = time.perf_counter(); import anonymizer.anonymize; "
             f"print(time.perf_counter() - t, *[m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], env=env_for(code), cwd=code, capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), out[1:]


def time_anonymize(code: Path, page: Path, overrides: list[str]) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "anonymizer.anonymize", f"input={page}", f"output={out}",
                               *overrides], env=env_for(code), cwd=code, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if proc.returncode != 0 or not (Path(out) / page.name).exists():
            raise SystemExit(f"anonymize failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
    return seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_serve(code: Path, overrides: list[str], limit: float = 120.0) -> float:
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "anonymizer.serve", "server.host=127.0.0.1",
                             f"server.port={port}", *overrides], env=env_for(code), cwd=code,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < limit:
            if proc.poll() is not None:
                raise SystemExit(f"serve exited with {proc.returncode} before it was ready")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"serve was not ready within {limit:g} s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose anonymizer package is timed")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for both commands")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from anonymizer.data.synth_pages import generate_page

    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.png"
        generate_page(0, 0)[0].save(page)
        imports, heavy, runs, ready = [], set(), [], []
        for _ in range(args.runs):
            seconds, modules = time_import(args.code)
            imports.append(seconds)
            heavy.update(modules)
            runs.append(time_anonymize(args.code, page, args.overrides))
            ready.append(time_serve(args.code, args.overrides))
    print(f"code: {args.code}; overrides: {args.overrides or 'none'}; median of {args.runs} fresh processes")
    print("| measure | seconds |")
    print("|---|---|")
    print(f"| `import anonymizer.anonymize` (heavy modules: {', '.join(sorted(heavy)) or 'none'}) "
          f"| {statistics.median(imports):.2f} |")
    print(f"| `python -m anonymizer.anonymize`, one page, start to exit | {statistics.median(runs):.2f} |")
    print(f"| `python -m anonymizer.serve` until `GET /health` answers | {statistics.median(ready):.2f} |")


if __name__ == "__main__":
    main()
