"""Peak memory of ``python -m anonymizer.anonymize`` against the page count of a document.

Builds multi-page 300-dpi TIFFs (US letter, 2550×3300 pixels per page: synthetic form pages
drawn at 100 dpi and scaled up, deflate-compressed), runs the command on each in a fresh
subprocess and prints a markdown table of the peak resident memory of the command's own
process (``getrusage(RUSAGE_SELF).ru_maxrss`` at exit; Tesseract runs in child processes,
not counted) with the run time::

    python experiments/bench_memory_anonymize.py                       # 5 and 30 pages
    python experiments/bench_memory_anonymize.py --pages 1,5,30 --override renderer=redact
    python experiments/bench_memory_anonymize.py --root /path/to/other/checkout   # another version

``--root`` runs the command from another checkout of the project (the "before" figures of
experiments/RESULTS.md); the inputs are built by this checkout either way.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Runs the command in this process and writes its peak RSS (KiB) at exit.
WRAPPER = """
import atexit, resource, runpy, sys
report = sys.argv.pop(1)
def peak():
    with open(report, "w") as f:
        f.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
atexit.register(peak)
sys.argv[0] = "anonymizer.anonymize"
runpy.run_module("anonymizer.anonymize", run_name="__main__", alter_sys=True)
"""


def build_tiff(path: Path, pages: int, seed: int = 0, distinct: int = 3) -> None:
    """``pages`` 300-dpi letter pages (``distinct`` different ones, repeated) as one TIFF."""
    from PIL import Image

    from anonymizer.data.synth_pages import PageConfig, generate_page

    config = PageConfig(kinds={"form": 1.0, "invoice": 0.0, "letter": 0.0, "receipt": 0.0},
                        scan=PageConfig().scan.__class__(enabled=False))
    base = [generate_page(i, seed, config)[0].resize((2550, 3300), Image.Resampling.BICUBIC) for i in range(distinct)]
    frames = [base[i % distinct] for i in range(pages)]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate", dpi=(300, 300))


def measure(root: Path, document: Path, out: Path, overrides: list[str]) -> tuple[float, float, int]:
    """``(peak RSS in MB, seconds, exit code)`` of one run."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as report:
        env = {**os.environ, "PYTHONPATH": str(root)}
        command = [sys.executable, "-c", WRAPPER, report.name, f"input={document}", f"output={out}", *overrides]
        started = time.perf_counter()
        proc = subprocess.run(command, cwd=out.parent, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        peak = int(report.read()) / 1024
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
    return peak, seconds, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="5,30", help="comma-separated page counts")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose anonymizer runs")
    parser.add_argument("--override", action="append", default=[], help="extra command-line override (repeatable)")
    args = parser.parse_args()
    counts = [int(n) for n in args.pages.split(",")]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"code: {args.root}; overrides: {args.override or 'none'}")
    print("| pages | peak RSS of the command (MB) | seconds | exit code |")
    print("|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        for n in counts:
            document = Path(tmp) / f"scan{n}.tif"
            build_tiff(document, n)
            peak, seconds, code = measure(args.root.resolve(), document, Path(tmp) / f"out{n}", args.override)
            rows.append((n, peak))
            print(f"| {n} | {peak:.0f} | {seconds:.0f} | {code} |", flush=True)
    if len(rows) > 1:
        (n0, m0), (n1, m1) = rows[0], rows[-1]
        print(f"\ngrowth: {(m1 - m0) / (n1 - n0):.1f} MB per page between {n0} and {n1} pages")


if __name__ == "__main__":
    main()
