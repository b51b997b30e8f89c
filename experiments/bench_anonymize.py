"""Benchmark: our page anonymizer vs Presidio's ``ImageRedactorEngine`` on synthetic pages.

    OMP_NUM_THREADS=1 python experiments/bench_anonymize.py [--pages 20] [--seed 0] [--scan | --no-scan]
        [--ocr tesseract|tesseract_cli]

Generates ``--pages`` synthetic pages (``anonymizer.data.synth_pages``, ground-truth words
and sensitive entities) and runs, on every page, interleaved (the order rotates from page
to page so machine noise hits every system alike):

* ``ours``: the pipeline as ``python -m anonymizer.anonymize`` builds it
  (``DocumentAnonymizer.from_config`` on the composed ``anonymizer/conf/pipeline.yaml``): Tesseract OCR,
  the offline Presidio analyzer + form context, the classical renderer, re-OCR verification
  with redaction fallback;
* ``ours, redact``: the same with ``renderer=redact`` (solid boxes, as Presidio draws);
* ``ours, no verify``: the classical renderer with ``verify.enabled=false`` (one OCR pass);
* ``ours, no tagger``: ``ours`` without the PII tagger (``detect.tagger=null``), for its cost;
* ``Presidio``: ``ImageRedactorEngine(ImageAnalyzerEngine(analyzer, ocr))``
  with the very ``AnalyzerEngine`` object our detector built (same blank spaCy pipeline,
  same recognizers, same score threshold 0.35), Tesseract with our language, ``--oem``
  and ``--psm``, black fill. Both systems use the same OCR engine (``--ocr``, default: the
  pipeline's ``ocr.engine``): with ``tesseract`` (in process), Presidio gets it through its
  ``OCR`` interface (:class:`InProcessTesseractOCR`: the same ``tesserocr`` engine, the
  image as Presidio passes it, no preprocessing); with ``tesseract_cli``, Presidio's own
  ``TesseractOCR`` (pytesseract), as ours. What differs is what each does around the analyzer: ours
  builds the page text line by line and adds form context (values beside labels such as
  "Name:"), maps types and resolves overlaps; Presidio joins all OCR words with single
  spaces and boxes the words of each analyzer result.

Measured per system:

* speed: wall seconds of each page call (the image in, the anonymized image out), median
  and total; pages/s = pages / total;
* of which OCR: the page's first OCR pass (ours: the ``ocr`` stage of the page audit;
  Presidio: its ``perform_ocr`` calls, timed) and ours' verification (the ``verification``
  stage: re-reading the replaced regions of the output); medians. Both systems run the same
  first pass, so these rows show what the rest of each page costs;
* memory: (a) the increase of this process's resident set size during a page call over
  the RSS just before it (sampled every 2 ms from /proc/self/statm by a thread; Tesseract
  runs in a child process and is not in it), in the timed pass; (b) the tracemalloc peak
  of Python allocations during a page call, in a second, untimed pass (tracemalloc slows
  Python down; Pillow's image buffers are not Python allocations and are not in it);
  (c) the peak RSS (VmHWM) of a fresh process that builds the system and does one page;
* leak rate: a sensitive ground-truth entity leaks when one of its lines (words joined
  by spaces, at least ``--min-chars`` letters/digits after ``verify.normalize``) is found
  by ``verify.find_leaks`` in the Tesseract words of the output page (anywhere on the
  page). Rates are over the entities whose value is readable the same way in the input
  page (what OCR cannot read in the input cannot be measured as a leak);
* entities covered: every word of the entity has its centre inside a box the system
  replaced or redacted (detection recall, before any rendering);
* non-sensitive text preserved: of the input page's OCR words that lie outside every
  sensitive ground-truth word box (dilated by ``--dilate`` px), the fraction found again
  in the output page's OCR with the same normalised text and IoU >= ``--iou``;
* surrogates read back (ours, classical): a surrogate line of at least ``--min-chars``
  normalised characters is read back when ``find_leaks`` finds it among the output OCR
  words whose centre lies in its box (dilated).

Prints (and with ``--out`` writes) a markdown block to copy into experiments/RESULTS.md.
Privacy: nothing but counts and rates is printed; the original values stay in memory.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import shlex
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anonymizer.core.geometry import Box  # noqa: E402 - after the sys.path setup above
from anonymizer.evaluation.anonymization_scores import (  # noqa: E402 - after the sys.path setup above
    covered,
    leaked_entities,
    page_truth,
    preserved,
    surrogates_read,
)

SYSTEMS = ("ours", "ours_redact", "ours_noverify", "ours_notagger", "presidio")
TITLES = {
    "ours": "ours (classical, verify)",
    "ours_redact": "ours (redact, verify)",
    "ours_noverify": "ours (classical, no verify)",
    "ours_notagger": "ours (classical, verify, detect.tagger=null)",
    "presidio": "Presidio ImageRedactorEngine",
}
MIB = 1024 * 1024
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- set-up
def quiet() -> None:
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.ERROR)
    for name in ("anonymizer", "presidio-analyzer", "presidio-image-redactor", "pydicom"):
        logging.getLogger(name).setLevel(logging.ERROR)


@dataclass
class System:
    """A callable ``image -> (output image, boxes it replaced or redacted, audit or None)``."""

    name: str
    run: Callable[[Image.Image], tuple[Image.Image, list[Box], dict[str, Any] | None]]


def build_systems(names: Sequence[str], ocr: str | None = None) -> tuple[dict[str, System], Any]:
    """The systems in ``names`` (all with the OCR engine ``ocr``, default: the pipeline's) and
    the composed config (for the metric OCR)."""
    from anonymizer.pipeline.document import DocumentAnonymizer, pipeline_config
    from anonymizer.pipeline.page_anonymizer import DocumentContext
    from anonymizer.pipeline.surrogates import SurrogateGenerator

    engine = [f"ocr.engine={ocr}"] if ocr else []
    base = pipeline_config(engine)
    overrides = {"ours": engine, "ours_redact": ["renderer=redact", *engine],
                 "ours_noverify": ["verify.enabled=false", *engine],
                 "ours_notagger": ["detect.tagger=null", *engine]}
    systems: dict[str, System] = {}
    detector = None

    def ours_runner(pipeline: DocumentAnonymizer):
        def run(image: Image.Image):
            doc = DocumentContext(SurrogateGenerator(secret=None, locale=pipeline.locale))  # one document per page
            result = pipeline.anonymize_page(image, doc)
            boxes = [tuple(b) for e in result.audit["entities"] for b in e["boxes"]]
            boxes += [tuple(b) for b in result.audit["verification"].get("redacted", [])]
            return result.image, boxes, result.audit
        return run

    for name in [n for n in names if n != "presidio"] or ["ours"]:
        pipeline = DocumentAnonymizer.from_config(pipeline_config(overrides[name]))
        detector = detector or pipeline.page_anonymizer.detector
        if name in names:
            systems[name] = System(name, ours_runner(pipeline))
    if "presidio" in names:
        try:
            from presidio_image_redactor import ImageAnalyzerEngine, ImageRedactorEngine, TesseractOCR
        except ImportError:
            raise SystemExit('presidio-image-redactor is not installed: pip install -e ".[dev,bench]" '
                             "(or leave presidio out with --systems)") from None

        presidio_ocr = TesseractOCR()
        if str(base.ocr.engine) == "tesseract":
            presidio_ocr = in_process_ocr(base)
        elif str(base.ocr.engine) != "tesseract_cli":
            raise SystemExit(f"Presidio has no adapter here for ocr.engine={base.ocr.engine}; use --ocr tesseract")
        presidio_ocr = timed_ocr(presidio_ocr)
        engine = ImageRedactorEngine(ImageAnalyzerEngine(analyzer_engine=detector.analyzer, ocr=presidio_ocr))
        ocr_kwargs = {"lang": str(base.ocr.lang), "config": f"--oem {int(base.ocr.oem)} --psm {int(base.ocr.psm)}"}
        threshold = float(base.detect.score_threshold)
        language = str(base.detect.language)

        def presidio(image: Image.Image):
            presidio_ocr.seconds = 0.0
            out, results = engine.redact_and_return_bbox(
                image, fill=(0, 0, 0), ocr_kwargs=ocr_kwargs, language=language, score_threshold=threshold
            )
            boxes = [(r.left, r.top, r.left + r.width, r.top + r.height) for r in results]
            return out, boxes, {"stages": {"ocr": presidio_ocr.seconds}}

        systems["presidio"] = System("presidio", presidio)
    return {n: systems[n] for n in names}, base


def in_process_ocr(base: Any) -> Any:
    """Presidio's ``OCR`` interface over our in-process Tesseract engine (same language,
    ``--psm``, ``--oem``): ``perform_ocr`` returns what pytesseract's ``image_to_data`` would."""
    from presidio_image_redactor import OCR

    from anonymizer.pipeline.tesserocr_engine import TesserocrEngine

    tess = TesserocrEngine(lang=str(base.ocr.lang), psm=int(base.ocr.psm), oem=int(base.ocr.oem), preprocess="none")

    class InProcessTesseractOCR(OCR):
        def perform_ocr(self, image: object, **kwargs: Any) -> dict:
            img = image if isinstance(image, Image.Image) else Image.fromarray(image)  # type: ignore[arg-type]
            return tess.data(img)

    return InProcessTesseractOCR()


def timed_ocr(ocr: Any) -> Any:
    """``ocr`` (a Presidio ``OCR``) whose ``perform_ocr`` adds its wall seconds to ``.seconds``."""
    inner = ocr.perform_ocr

    def perform_ocr(image: object, **kwargs: Any) -> dict:
        t0 = time.perf_counter()
        try:
            return inner(image, **kwargs)
        finally:
            ocr.seconds += time.perf_counter() - t0

    ocr.seconds = 0.0
    ocr.perform_ocr = perform_ocr
    return ocr


# --------------------------------------------------------------------------- memory probes
class RssPeak:
    """Peak resident set size of this process while the ``with`` block runs (sampled)."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.peak = 0
        self.before = 0
        self._stop = threading.Event()

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE_SIZE

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> RssPeak:
        self.before = self.peak = self.rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())

    @property
    def delta(self) -> int:
        return self.peak - self.before


def traced_peak(fn: Callable[[], Any]) -> int:
    """Peak bytes of Python allocations (tracemalloc) while ``fn`` runs, above the start."""
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


# --------------------------------------------------------------------------- metrics
# (anonymizer.evaluation.anonymization_scores: leaked_entities, page_truth, preserved, covered, surrogates_read)


@dataclass
class Tally:
    seconds: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    traced: list[int] = field(default_factory=list)
    leaked: Counter = field(default_factory=Counter)  # label -> entities leaked (readable in input)
    leaked_unreadable: int = 0  # leaked although not readable in the input
    covered: Counter = field(default_factory=Counter)  # label -> entities covered
    kept: int = 0
    kept_of: int = 0
    sur_read: int = 0
    sur_checked: int = 0
    fallback_boxes: int = 0
    errors: int = 0
    footprint: float | None = None
    ocr_seconds: list[float] = field(default_factory=list)  # the page's first OCR pass (timed pass only)
    verify_seconds: list[float] = field(default_factory=list)  # ours: re-reading the output (verification stage)


# --------------------------------------------------------------------------- fresh-process footprint
def footprint_child(system: str, args: argparse.Namespace) -> None:
    """Build ``system``, anonymize page 0, print max RSS in MiB (self, children)."""
    from anonymizer.data.synth_pages import generate_page

    quiet()
    systems, _ = build_systems([system], args.ocr)
    image, _ = generate_page(0, args.seed, page_config(args.scan))
    systems[system].run(image)
    # VmHWM, not ru_maxrss: a forked child's ru_maxrss starts from its parent's RSS
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    print(f"FOOTPRINT {hwm / 1024:.1f}")


def footprint(system: str, args: argparse.Namespace, tries: int = 2) -> float | None:
    """VmHWM in MiB of a fresh process building ``system`` and doing one page (None if it fails)."""
    cmd = [sys.executable, __file__, "--footprint-child", system, "--seed", str(args.seed),
           "--scan" if args.scan else "--no-scan", *(["--ocr", args.ocr] if args.ocr else [])]
    for _ in range(tries):
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("FOOTPRINT ")]
        if proc.returncode == 0 and lines:
            return float(lines[-1].split()[1])
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        print(f"footprint {system}: exit {proc.returncode} ({last[:200]})", file=sys.stderr)
    return None


# --------------------------------------------------------------------------- report
def page_config(scan: bool):
    from anonymizer.data.synth_pages import PageConfig, ScanConfig

    return PageConfig(scan=ScanConfig(enabled=bool(scan)))


def machine() -> str:
    from importlib.metadata import version

    mem = 0.0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) / 1024 / 1024
    tess = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    tess += f" (CLI), tesserocr {version('tesserocr')}"
    return (f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, "
            f"{tess}, presidio-analyzer {version('presidio-analyzer')}, "
            f"presidio-image-redactor {version('presidio-image-redactor')}, "
            f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")


def code_state() -> str:
    """The commit and, when the working tree differs from it, a hash of the package's sources as imported."""
    import hashlib

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "anonymizer"], cwd=ROOT, capture_output=True,
                                    text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        head, dirty = "unknown", True
    digest = hashlib.sha256()
    for path in sorted((ROOT / "anonymizer").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    if not dirty:
        return f"commit {head}"
    return f"commit {head} + uncommitted changes (anonymizer/*.py sha256 {digest.hexdigest()[:12]})"


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}% ({a}/{b})" if b else "n/a"


def mib(values: list[int]) -> str:
    return f"{statistics.median(values) / MIB:.1f} / {max(values) / MIB:.1f}" if values else "n/a"


def ratio(a: float | None, b: float | None, floor: float = 0.0) -> str:
    if a is None or b is None:
        return "n/a"
    if b <= floor:
        return "(Presidio ~0)"
    return f"{a / b:.2f}"


def report(
    args: argparse.Namespace, names: Sequence[str], tallies: dict[str, Tally], truth_totals: dict[str, Any]
) -> str:
    n = args.pages
    t = {s: tallies[s] for s in names}
    total = {s: sum(t[s].seconds) for s in names}
    rate = {s: n / total[s] if total[s] else None for s in names}
    med = {s: statistics.median(t[s].seconds) for s in names}
    rss_med = {s: statistics.median(t[s].rss) if t[s].rss else None for s in names}
    tr_med = {s: statistics.median(t[s].traced) if t[s].traced else None for s in names}
    readable, checkable = truth_totals["readable"], truth_totals["checkable"]
    n_readable, n_entities = sum(readable.values()), sum(truth_totals["entities"].values())
    # the ratio column: ours against Presidio, or (without Presidio) against ours without the tagger
    other = "presidio" if "presidio" in names else ("ours_notagger" if "ours_notagger" in names else None)

    def cmp(values: dict[str, Any], floor: float = 0.0) -> str:
        return ratio(values.get("ours"), values.get(other), floor) if other and "ours" in names else "n/a"

    versus = {"presidio": "Presidio", "ours_notagger": "ours without tagger"}.get(other or "", "n/a")
    head = "| measure | " + " | ".join(TITLES[s] for s in names) + f" | ratio ours / {versus} |"
    rows = [head, "|---" * (len(names) + 2) + "|"]

    def row(label: str, cells: dict[str, str], r: str = "") -> None:
        rows.append(f"| {label} | " + " | ".join(cells[s] for s in names) + f" | {r} |")

    row("pages/s (pages / total wall time)", {s: f"{rate[s]:.3f}" for s in names}, cmp(rate))
    row("seconds per page, median", {s: f"{med[s]:.2f}" for s in names}, cmp(med))
    row("total wall seconds", {s: f"{total[s]:.1f}" for s in names}, cmp(total))
    ocr_med = {s: statistics.median(t[s].ocr_seconds) if t[s].ocr_seconds else None for s in names}
    ver_med = {s: statistics.median(t[s].verify_seconds) if t[s].verify_seconds else None for s in names}
    row("of which the first OCR pass, seconds per page, median",
        {s: f"{ocr_med[s]:.3f}" if ocr_med[s] is not None else "n/a" for s in names}, cmp(ocr_med))
    row("of which verification (re-reading the output), seconds per page, median",
        {s: f"{ver_med[s]:.3f}" if ver_med[s] is not None else "n/a" for s in names})
    row("RSS increase during a page, MiB, median / max", {s: mib(t[s].rss) for s in names}, cmp(rss_med, MIB))
    if any(t[s].traced for s in names):
        row("tracemalloc peak per page, MiB, median / max", {s: mib(t[s].traced) for s in names}, cmp(tr_med, MIB))
    fp = {s: t[s].footprint for s in names}
    if any(v is not None for v in fp.values()):
        row("max RSS of a fresh process (build + 1 page), MiB",
            {s: f"{fp[s]:.0f}" if fp[s] is not None else "n/a" for s in names}, cmp(fp))
    row("sensitive entities covered by the system's boxes",
        {s: pct(sum(t[s].covered.values()), n_entities) for s in names})
    row("**leak rate** (readable in output / readable in input)",
        {s: pct(sum(t[s].leaked.values()), n_readable) for s in names})
    rest = n_readable - readable["AMOUNT"]
    row("leak rate without AMOUNT (no recognizer or form label for totals in either)",
        {s: pct(sum(t[s].leaked.values()) - t[s].leaked["AMOUNT"], rest) for s in names})
    row("leaks of values not readable in the input", {s: str(t[s].leaked_unreadable) for s in names})
    row(f"non-sensitive OCR words preserved (IoU >= {args.iou:.1f})",
        {s: pct(t[s].kept, t[s].kept_of) for s in names})
    row("surrogate lines read back in their boxes",
        {s: pct(t[s].sur_read, t[s].sur_checked) if s in ("ours", "ours_noverify") else "n/a" for s in names})
    row("verification fallback boxes (total)",
        {s: str(t[s].fallback_boxes) if s in ("ours", "ours_redact") else "n/a" for s in names})
    if any(t[s].errors for s in names):
        row("pages that failed", {s: str(t[s].errors) for s in names})

    per = ["| entity type | entities | readable in input | " + " | ".join(f"leaked: {TITLES[s]}" for s in names)
           + " | " + " | ".join(f"covered: {TITLES[s]}" for s in names) + " |",
           "|---" * (3 + 2 * len(names)) + "|"]
    for label in sorted(truth_totals["entities"]):
        per.append(f"| {label} | {truth_totals['entities'][label]} | {readable[label]} | "
                   + " | ".join(pct(t[s].leaked[label], readable[label]) for s in names) + " | "
                   + " | ".join(pct(t[s].covered[label], truth_totals["entities"][label]) for s in names) + " |")
    per.append(f"| **all** | {n_entities} | {n_readable} | "
               + " | ".join(pct(sum(t[s].leaked.values()), n_readable) for s in names) + " | "
               + " | ".join(pct(sum(t[s].covered.values()), n_entities) for s in names) + " |")

    argv = ["experiments/bench_anonymize.py", *sys.argv[1:]]
    command = "OMP_NUM_THREADS=1 python " + " ".join(shlex.quote(a) for a in argv)
    lines = [
        f"### {n} pages, {'with scan effects' if args.scan else 'clean'} (seed {args.seed}, "
        f"{datetime.date.today().isoformat()})",
        "",
        f"Command: `{command}`; code: {args.code_state}; machine: {machine()}. {n} pages "
        f"({dict(truth_totals['kinds'])}), {n_entities} sensitive entities "
        f"({sum(checkable.values())} with a line of >= {args.min_chars} letters/digits, {n_readable} of them readable "
        f"by the metric OCR in the input page). OCR engine of every system and of the metrics: "
        f"`{args.ocr_engine}`. Systems interleaved per page (order rotated), one warm-up page each; "
        f"Tesseract in child processes (tesseract_cli) is not counted in any memory figure.",
        "",
        *rows,
        "",
        "Per entity type (leaks over the entities readable in the input; covered over all entities):",
        "",
        *per,
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=20, help="synthetic pages (the same for every system)")
    parser.add_argument("--seed", type=int, default=0, help="page generator seed")
    parser.add_argument("--scan", action=argparse.BooleanOptionalAction, default=False,
                        help="paper and scan effects (default: clean pages)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of {','.join(SYSTEMS)}")
    parser.add_argument("--tracemalloc", action=argparse.BooleanOptionalAction, default=True,
                        help="a second, untimed pass per page and system under tracemalloc")
    parser.add_argument("--footprint", action=argparse.BooleanOptionalAction, default=True,
                        help="max RSS of a fresh process per system (build + one page)")
    parser.add_argument("--min-chars", type=int, default=3, help="shortest normalised value searched for leaks")
    parser.add_argument("--dilate", type=float, default=3.0, help="pixels added around sensitive/replaced boxes")
    parser.add_argument("--iou", type=float, default=0.5, help="IoU for a preserved word")
    parser.add_argument("--out", type=Path, help="also write the markdown block to this file")
    parser.add_argument("--ocr", choices=("tesseract", "tesseract_cli"),
                        help="OCR engine of every system and of the metrics (default: the pipeline's ocr.engine)")
    parser.add_argument("--footprint-child", choices=SYSTEMS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.footprint_child:
        footprint_child(args.footprint_child, args)
        return
    quiet()
    names = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = sorted(set(names) - set(SYSTEMS))
    if unknown or not names:
        parser.error(f"--systems: unknown {unknown}; choose from {list(SYSTEMS)}")

    from anonymizer.data.synth_pages import generate_page
    from anonymizer.pipeline.ocr import build_ocr

    args.code_state = code_state()  # before anything is imported from the package's pipeline
    systems, base = build_systems(names, args.ocr)
    ocr_cfg = {k: v for k, v in dict(base.ocr).items() if k not in ("engine", "threads")}  # threads: set by the build
    ocr = build_ocr(str(base.ocr.engine), **ocr_cfg)  # the metric OCR: the pipeline's own settings
    args.ocr_engine = str(base.ocr.engine)
    config = page_config(args.scan)
    tallies = {s: Tally() for s in names}
    totals: dict[str, Any] = {"entities": Counter(), "readable": Counter(), "checkable": Counter(), "kinds": Counter()}

    if args.footprint:  # first: a failure here costs little
        for s in names:
            tallies[s].footprint = footprint(s, args)
    warm, _ = generate_page(args.pages, args.seed, config)  # a page outside the measured set
    for s in names:
        systems[s].run(warm)
    started = time.perf_counter()
    for index in range(args.pages):
        image, record = generate_page(index, args.seed, config)
        totals["kinds"][record.id.rsplit("-", 1)[-1]] += 1
        input_words = ocr.read(image)
        truth = page_truth(record, input_words, args.min_chars)
        for label, ok, readable in zip(truth.labels, truth.checkable, truth.readable_in):
            totals["entities"][label] += 1
            totals["checkable"][label] += ok
            totals["readable"][label] += readable
        order = names[index % len(names):] + names[: index % len(names)]
        outputs = {}
        for s in order:
            tally = tallies[s]
            try:
                with RssPeak() as probe:
                    t0 = time.perf_counter()
                    outputs[s] = systems[s].run(image)
                    tally.seconds.append(time.perf_counter() - t0)
                tally.rss.append(probe.delta)
            except Exception as err:  # noqa: BLE001 - a failing page is counted, the output is the input
                tally.errors += 1
                tally.seconds.append(time.perf_counter() - t0)
                outputs[s] = (image.copy(), [], None)
                print(f"page {index}: {s} failed ({type(err).__name__})", file=sys.stderr)
        if args.tracemalloc:
            for s in order:
                try:
                    tallies[s].traced.append(traced_peak(lambda s=s, image=image: systems[s].run(image)))
                except Exception:  # noqa: BLE001 - already counted in the timed pass
                    pass
        for s in names:
            out_image, boxes, audit = outputs[s]
            tally = tallies[s]
            out_words = ocr.read(out_image)
            leaked = leaked_entities(out_words, truth.pieces, truth.owner, len(truth.labels), args.min_chars)
            for label, was, now in zip(truth.labels, truth.readable_in, leaked):
                tally.leaked[label] += was and now
                tally.leaked_unreadable += now and not was
            for label, ok in zip(truth.labels, covered(truth, boxes, args.dilate)):
                tally.covered[label] += ok
            kept, of = preserved(input_words, out_words, truth, args.dilate, args.iou)
            tally.kept += kept
            tally.kept_of += of
            stages = (audit or {}).get("stages", {})
            if "ocr" in stages:
                tally.ocr_seconds.append(float(stages["ocr"]))
            if "verification" in stages:
                tally.verify_seconds.append(float(stages["verification"]))
            if audit is not None and "entities" in audit:
                read, checked = surrogates_read(audit, out_words, args.dilate, args.min_chars)
                tally.sur_read += read
                tally.sur_checked += checked
                tally.fallback_boxes += len(audit["verification"].get("redacted", []))
        done = index + 1
        print(f"[{done}/{args.pages}] {time.perf_counter() - started:.0f} s; "
              + ", ".join(f"{s} {tallies[s].seconds[-1]:.2f} s" for s in names), file=sys.stderr, flush=True)
    text = report(args, names, tallies, totals)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
