"""OCR engines compared: what each reads, how fast, and how the two Tesseract engines agree.

    OMP_NUM_THREADS=1 python experiments/compare_ocr.py [--real ../shared/real-pages] [--pages 10]
        [--engines tesseract,tesseract_cli,rapidocr]

On synthetic pages with scan effects (``anonymizer.data.synth_pages``, ``--pages``, seed
``--seed``) and, with ``--real``, a folder of hand-marked pages (``truth.json`` beside
``pages/``, whose pages list ``plain`` words and ``sensitive`` values), per engine (the
pipeline's ``ocr`` settings otherwise):

* words read: synthetic: ground-truth words found among the OCR words (same text after
  ``nfkc_casefold_alnum``, counted as multisets); real: ``plain`` items readable in one OCR
  line (``verify.find_leaks``, the test verification uses);
* sensitive values read: synthetic: entities readable in the input (``page_truth``); real:
  ``sensitive`` values readable in one OCR line (every line of a multi-line value);
* seconds per page (median; the first page of each engine is a warm-up, not counted);
* word agreement of ``tesseract`` (in process) with ``tesseract_cli``: ``2 * matching /
  (words of both)`` over the OCR word sequences (``difflib``), per page set.

Prints markdown tables; nothing but counts and rates (no page text).
"""

from __future__ import annotations

import argparse
import difflib
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anonymizer.core.text import nfkc_casefold_alnum  # noqa: E402 - after the sys.path setup above
from anonymizer.pipeline.verify import find_leaks  # noqa: E402


def synthetic_pages(n: int, seed: int):
    from anonymizer.data.synth_pages import PageConfig, ScanConfig, generate_page

    for index in range(n):
        yield generate_page(index, seed, PageConfig(scan=ScanConfig(enabled=True)))


def real_pages(folder: Path):
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["pages"]
    for name in sorted(truth):
        with Image.open(folder / "pages" / name) as img:
            image = img.convert("RGB")
        plain = [str(p) for p in truth[name].get("plain", [])]
        sensitive = [str(s["value"]) for s in truth[name].get("sensitive", [])]
        yield image, plain, sensitive


def readable(words, values) -> int:
    """How many of ``values`` (each may have several lines) are readable line by line."""
    count = 0
    for value in values:
        lines = [line for line in value.split("\n") if len(nfkc_casefold_alnum(line)) >= 1]
        hits = {leak.index for leak in find_leaks(words, lines, min_chars=1)}
        count += bool(lines) and len(hits) == len(lines)
    return count


def agreement(a: list[str], b: list[str]) -> tuple[int, int]:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return 2 * sum(block.size for block in matcher.get_matching_blocks()), len(a) + len(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, help="folder of hand-marked pages (truth.json + pages/)")
    parser.add_argument("--pages", type=int, default=10, help="synthetic pages with scan effects")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", default="tesseract,tesseract_cli,rapidocr")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    from anonymizer.evaluation.anonymization_scores import page_truth
    from anonymizer.pipeline.document import pipeline_config
    from anonymizer.pipeline.ocr import OcrError, build_ocr, limit_ocr_threads

    cfg = pipeline_config()
    settings = {k: v for k, v in dict(cfg.ocr).items() if k not in ("engine", "threads")}
    limit_ocr_threads(cfg.ocr.threads)
    engines = {}
    for name in [e.strip() for e in args.engines.split(",") if e.strip()]:
        try:
            engines[name] = build_ocr(name, **settings)
        except OcrError as err:
            print(f"{name}: not available ({err})", file=sys.stderr)
    sets = {"synthetic, scan effects": list(synthetic_pages(args.pages, args.seed))}
    if args.real:
        sets[f"real ({args.real.name})"] = list(real_pages(args.real))
    rows = []
    agree: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for set_name, pages in sets.items():
        texts: dict[str, list[list[str]]] = defaultdict(list)
        for name, engine in engines.items():
            engine.read(pages[0][0])  # warm-up
            seconds, words_read, words_of, values_read, values_of = [], 0, 0, 0, 0
            for page in pages:
                started = time.perf_counter()
                words = engine.read(page[0])
                seconds.append(time.perf_counter() - started)
                texts[name].append([nfkc_casefold_alnum(w.text) for w in words])
                if len(page) == 2:  # synthetic: (image, record)
                    record = page[1]
                    truth = [nfkc_casefold_alnum(w.text) for w in record.words]
                    pool = defaultdict(int)
                    for t in texts[name][-1]:
                        pool[t] += 1
                    for t in truth:
                        if t and pool[t] > 0:
                            pool[t] -= 1
                            words_read += 1
                    words_of += sum(1 for t in truth if t)
                    entities = page_truth(record, words, 3)
                    values_read += sum(entities.readable_in)
                    values_of += len(entities.readable_in)
                else:
                    _, plain, sensitive = page
                    words_read += readable(words, plain)
                    words_of += len(plain)
                    values_read += readable(words, sensitive)
                    values_of += len(sensitive)
            rows.append((set_name, name, len(pages), words_read, words_of, values_read, values_of,
                         statistics.median(seconds)))
        if "tesseract" in texts and "tesseract_cli" in texts:
            for a, b in zip(texts["tesseract"], texts["tesseract_cli"]):
                same, total = agreement(a, b)
                agree[set_name][0] += same
                agree[set_name][1] += total
    print("| pages | engine | n | words read | sensitive values read | seconds per page, median |")
    print("|---|---|---|---|---|---|")
    for set_name, name, n, wr, wo, vr, vo, sec in rows:
        print(f"| {set_name} | {name} | {n} | {100 * wr / max(wo, 1):.1f}% ({wr}/{wo}) "
              f"| {100 * vr / max(vo, 1):.1f}% ({vr}/{vo}) | {sec:.2f} |")
    if agree:
        print()
        print("| pages | word agreement, tesseract (in process) vs tesseract_cli |")
        print("|---|---|")
        for set_name, (same, total) in agree.items():
            print(f"| {set_name} | {100 * same / max(total, 1):.1f}% |")


if __name__ == "__main__":
    main()
