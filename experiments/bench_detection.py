"""Benchmark: PII detection recall and precision on synthetic pages read by Tesseract.

    python experiments/bench_detection.py [--n 40] [--seed 0] [--scan both|on|off]
                                          [--kinds form,invoice,letter,receipt] [--ocr-scale 1]
                                          [--ocr-cache DIR] [--workers 1]

Generates ``--n`` synthetic pages (``anonymizer.data.synth_pages``; each page once with
scan effects and once without, unless ``--scan`` picks one), OCRs them with Tesseract
(``build_ocr("tesseract")``, the pipeline's default engine), runs
:class:`~anonymizer.pipeline.detect.PiiDetector` without an NER model on the words and the
page image (``detect_page``: Presidio patterns, written dates, form context, names, address
blocks, box forms, unread field values; their regions count as detections) and scores the
detections against the page records' sensitive entities, in pixels:

* **recall** of a record entity type: an entity counts as found when the detection boxes
  (:func:`~anonymizer.pipeline.page_text.entity_boxes`, any detected type) cover at least
  50 % of the area of its word boxes. ``labelled`` restricts to the entities that a field
  label (a ``KEY`` entity) links to, e.g. the value of ``Name:`` (the form-context cases);
  ``typed`` also requires the covering detections to carry the entity's type
  (``US_SSN``/``NATIONAL_ID``/``ID_NUMBER`` count as one identifier family);
* **precision** of a detected type: a detection box counts as correct when at least 50 %
  of its area lies in sensitive record entities, each entity line taken as the bounding
  box of its words there (so the spaces inside ``Jane Doe`` count as inside), padded
  above and below by half its height: Tesseract's word boxes are often taller than the
  ink (``9,`` gets the height of a whole line), and a detection box spans its words' boxes.

Prints markdown tables (only counts and ratios, never page text): per record type and per
detected type, for clean and scanned pages, and one row per page kind. ``--ocr-cache``
keeps the OCR words of each page (synthetic text) in a folder so that re-runs after a
detector change skip the OCR.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
import warnings
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anonymizer.core.records import PageRecord, Word  # noqa: E402 - after the sys.path setup above
from anonymizer.data.synth_pages import BASE_KINDS, PageConfig, generate_page  # noqa: E402 - after the sys.path setup above
from anonymizer.data.synth_pages.scan import ScanConfig  # noqa: E402 - after the sys.path setup above

COVER = 0.5  # an entity is found when this share of its word-box area is covered
INSIDE = 0.5  # a detection box is correct when this share of it lies in sensitive entities
PAD = 0.5  # sensitive entity lines are padded vertically by this × their height (OCR boxes are taller than ink)
ID_FAMILY = {"US_SSN": "ID", "NATIONAL_ID": "ID", "ID_NUMBER": "ID"}


def _words_json(words: list[Word]) -> list[dict]:
    return [{"text": w.text, "box": list(w.box), "line": w.line, "conf": w.conf} for w in words]


def _words_from_json(items: list[dict]) -> list[Word]:
    return [Word(d["text"], tuple(d["box"]), line=d["line"], conf=d["conf"]) for d in items]


def _page(job: tuple[int, int, bool, str | None, tuple[str, ...], float]) -> tuple[PageRecord, list[Word], float, Any]:
    """Generate page ``index`` (scan effects on or off), OCR it (or read the cached words)."""
    index, seed, scan, cache, kinds, scale = job
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    config = PageConfig(scan=ScanConfig(enabled=scan), kinds={k: 1.0 for k in kinds})
    image, record = generate_page(index, seed, config)
    name = f"{record.id}-{'scan' if scan else 'clean'}" + (f"-x{scale:g}" if scale != 1.0 else "")
    path = Path(cache) / f"{name}.json" if cache else None
    if path is not None and path.is_file():
        return record, _words_from_json(json.loads(path.read_text())), 0.0, image
    from anonymizer.pipeline.ocr import build_ocr

    start = time.perf_counter()
    words = build_ocr("tesseract", scale=scale).read(image)
    seconds = time.perf_counter() - start
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(_words_json(words)))
        os.replace(tmp, path)
    return record, words, seconds, image


def _paint(mask: np.ndarray, box) -> None:
    h, w = mask.shape
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    mask[max(y0, 0) : min(y1, h), max(x0, 0) : min(x1, w)] = True


def _area(box) -> tuple[slice, slice]:
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return slice(max(y0, 0), max(y1, 0)), slice(max(x0, 0), max(x1, 0))


def score_page(record: PageRecord, words: list[Word], detector, image: Any = None) -> dict:
    """Per-type counts of one page: entities (found, found with the right type) and detection boxes
    (correct). With the page ``image`` the detector also reads it (box forms, unread field values)."""
    from anonymizer.pipeline.page_text import entity_boxes

    if image is None:
        page, detections = detector.detect_words(words)
        regions = []
    else:
        page, detections, regions = detector.detect_page(image.convert("RGB"), words)
    shape = (record.height, record.width)
    det_any = np.zeros(shape, bool)
    det_by_type: dict[str, np.ndarray] = {}
    det_boxes: list[tuple[str, tuple]] = []
    for d in detections:
        family = ID_FAMILY.get(d.entity_type, d.entity_type)
        typed = det_by_type.setdefault(family, np.zeros(shape, bool))
        for eb in entity_boxes(d, page):
            _paint(det_any, eb.box)
            _paint(typed, eb.box)
            det_boxes.append((d.entity_type, eb.box))
    for r in regions:
        family = ID_FAMILY.get(r.entity_type, r.entity_type)
        _paint(det_any, r.box)
        _paint(det_by_type.setdefault(family, np.zeros(shape, bool)), r.box)
        det_boxes.append((r.entity_type, r.box))
    truth = np.zeros(shape, bool)
    labelled = {value for _, value in record.links}
    lines = record.lines()
    line_of = {i: n for n, line in enumerate(lines) for i in line}
    out = {"entities": [], "detections": []}
    for e in record.entities:
        if not e.sensitive or not e.words:
            continue
        per_line: dict[int, list[int]] = defaultdict(list)
        for i in e.words:
            per_line[line_of[i]].append(i)
        for idx in per_line.values():
            bs = [record.words[i].box for i in idx]
            y0, y1 = min(b[1] for b in bs), max(b[3] for b in bs)
            pad = PAD * (y1 - y0)
            _paint(truth, (min(b[0] for b in bs), y0 - pad, max(b[2] for b in bs), y1 + pad))
        total = covered = covered_typed = 0
        typed_mask = det_by_type.get(ID_FAMILY.get(e.label, e.label))
        for i in e.words:
            ys, xs = _area(record.words[i].box)
            total += det_any[ys, xs].size
            covered += int(det_any[ys, xs].sum())
            if typed_mask is not None:
                covered_typed += int(typed_mask[ys, xs].sum())
        if total == 0:
            continue
        out["entities"].append({
            "type": e.label, "labelled": e.id in labelled,
            "found": covered >= COVER * total, "typed": covered_typed >= COVER * total,
        })
    for etype, box in det_boxes:
        ys, xs = _area(box)
        size = truth[ys, xs].size
        if size:
            out["detections"].append({"type": etype, "correct": int(truth[ys, xs].sum()) >= INSIDE * size})
    return out


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "–"


def type_table(results: list[dict]) -> str:
    ents: dict[str, list[dict]] = defaultdict(list)
    dets: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        for e in r["entities"]:
            ents[e["type"]].append(e)
        for d in r["detections"]:
            dets[d["type"]].append(d)
    rows = ["| type | entities | recall | typed recall | labelled | labelled recall | detection boxes | precision |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for t in sorted(set(ents) | set(dets)):
        es, ds = ents.get(t, []), dets.get(t, [])
        lab = [e for e in es if e["labelled"]]
        rows.append(
            f"| {t} | {len(es)} | {_ratio(sum(e['found'] for e in es), len(es))} | "
            f"{_ratio(sum(e['typed'] for e in es), len(es))} | {len(lab)} | "
            f"{_ratio(sum(e['found'] for e in lab), len(lab))} | {len(ds)} | "
            f"{_ratio(sum(d['correct'] for d in ds), len(ds))} |"
        )
    rows.append(_total_row("**all**", results))
    rows.append(_total_row("all but AMOUNT", results, skip={"AMOUNT"}))
    return "\n".join(rows)


def _total_row(name: str, results: list[dict], skip: set[str] = frozenset()) -> str:
    es = [e for r in results for e in r["entities"] if e["type"] not in skip]
    ds = [d for r in results for d in r["detections"]]
    lab = [e for e in es if e["labelled"]]
    return (f"| {name} | {len(es)} | {_ratio(sum(e['found'] for e in es), len(es))} | "
            f"{_ratio(sum(e['typed'] for e in es), len(es))} | {len(lab)} | "
            f"{_ratio(sum(e['found'] for e in lab), len(lab))} | {len(ds)} | "
            f"{_ratio(sum(d['correct'] for d in ds), len(ds))} |")


def kind_table(results: list[dict]) -> str:
    by_kind: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in results:
        by_kind[(r["mode"], r["kind"])].append(r)
    rows = ["| pages | kind | n | entities | recall | labelled recall | PERSON+LOCATION labelled recall | "
            "pattern-type recall | detection boxes | precision |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    patterns = {"PHONE_NUMBER", "EMAIL_ADDRESS", "DATE_TIME", "IBAN_CODE", "CREDIT_CARD", "US_SSN", "NATIONAL_ID",
                "ID_NUMBER"}
    for (mode, kind), rs in sorted(by_kind.items()):
        es = [e for r in rs for e in r["entities"] if e["type"] != "AMOUNT"]
        ds = [d for r in rs for d in r["detections"]]
        lab = [e for e in es if e["labelled"]]
        pl = [e for e in lab if e["type"] in ("PERSON", "LOCATION")]
        pt = [e for e in es if e["type"] in patterns]
        rows.append(
            f"| {mode} | {kind} | {len(rs)} | {len(es)} | {_ratio(sum(e['found'] for e in es), len(es))} | "
            f"{_ratio(sum(e['found'] for e in lab), len(lab))} | {_ratio(sum(e['found'] for e in pl), len(pl))} | "
            f"{_ratio(sum(e['found'] for e in pt), len(pt))} | {len(ds)} | "
            f"{_ratio(sum(d['correct'] for d in ds), len(ds))} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40, help="pages (each with and without scan effects)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scan", choices=["both", "on", "off"], default="both")
    parser.add_argument("--ocr-cache", default=None, help="folder for the OCR words of each page")
    parser.add_argument("--workers", type=int, default=1, help="processes for generation and OCR")
    parser.add_argument("--ocr-scale", type=float, default=1.0,
                        help="Tesseract's scale option (the pipeline's default is 1.0; 2 reads small text better)")
    parser.add_argument("--kinds", default=",".join(BASE_KINDS),
                        help="page kinds, comma-separated (default: the original four)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)

    from anonymizer.pipeline.detect import PiiDetector

    modes = {"both": [False, True], "on": [True], "off": [False]}[args.scan]
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    jobs = [(i, args.seed, scan, args.ocr_cache, kinds, args.ocr_scale) for scan in modes for i in range(args.n)]
    start = time.perf_counter()
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            pages = list(pool.map(_page, jobs))
    else:
        pages = [_page(job) for job in jobs]
    ocr_wall = time.perf_counter() - start
    ocr_s = sum(seconds for _, _, seconds, _ in pages)
    detector = PiiDetector(nlp={"engine": "none"})
    results = []
    start = time.perf_counter()
    for (_, _, scan, *_), (record, words, _, image) in zip(jobs, pages):
        r = score_page(record, words, detector, image)
        r.update(mode="scan" if scan else "clean", kind=record.id.rsplit("-", 1)[1])
        results.append(r)
    detect_s = time.perf_counter() - start
    print(f"# Detection benchmark: {args.n} pages ({', '.join(kinds)}), seed {args.seed}, scan {args.scan}, "
          f"OCR scale {args.ocr_scale:g}, "
          f"nlp engine none, Tesseract ({platform.machine()}, {os.cpu_count()} cores)\n")
    print(f"generation + OCR {ocr_wall:.1f} s (cached pages skip OCR; OCR alone {ocr_s:.1f} s, "
          f"{ocr_s / max(len(results), 1) * 1000:.0f} ms/page), detection {detect_s:.1f} s "
          f"({detect_s / max(len(results), 1) * 1000:.0f} ms/page: every recognizer, box forms and field ink, "
          f"scoring included)\n")
    for scan in modes:
        mode = "scan" if scan else "clean"
        print(f"## {mode} pages (scan effects {'on' if scan else 'off'})\n")
        print(type_table([r for r in results if r["mode"] == mode]))
        print()
    print("## per page kind (AMOUNT left out of the recall columns)\n")
    print(kind_table(results))


if __name__ == "__main__":
    main()
