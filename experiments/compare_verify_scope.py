"""Verification of the replaced regions only vs the whole page: the same leaks flagged?

    OMP_NUM_THREADS=1 python experiments/compare_verify_scope.py [--pages 10] [--real ../shared/real-pages]

For each page (synthetic pages, clean and with scan effects, and with ``--real`` the pages
of a folder of real documents), the pipeline (``anonymizer/conf/pipeline.yaml``) reads,
detects, plans and renders once; the one output is then verified both ways
(``verify.scope=regions`` and ``verify.scope=page``) and the flagged leaks compared: the
set of (entity, type) pairs, and the leak boxes (a box of one scope matches a box of the
other at IoU >= 0.5). Two outputs per page:

* ``rendered``: the classical renderer's page (leaks are rare);
* ``half drawn``: only every other replacement is drawn, so the others' originals stay on
  the page: each must be flagged by both scopes (a leak outside any drawn box).

Prints a table of pages, leaks flagged by each scope, pages where the flagged sets differ
(and the leaks only one scope flagged: OCR reads an edited page a little differently from
the page it was edited from), and the verification seconds of each scope. No page text is printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def pages(n: int, seed: int, real: Path | None):
    from PIL import Image

    from anonymizer.data.synth_pages import PageConfig, ScanConfig, generate_page

    for index in range(n):
        yield "synthetic", generate_page(index, seed, PageConfig(scan=ScanConfig(enabled=False)))[0]
        yield "synthetic, scan effects", generate_page(index, seed, PageConfig(scan=ScanConfig(enabled=True)))[0]
    if real is not None:
        for path in sorted((real / "pages").iterdir()):
            with Image.open(path) as img:
                yield f"real ({real.name})", img.convert("RGB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10, help="synthetic pages of each kind (clean, scan)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real", type=Path, help="folder of real pages (pages/ inside)")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    from anonymizer.pipeline.document import build_page_anonymizer, pipeline_config
    from anonymizer.pipeline.page_anonymizer import DocumentContext
    from anonymizer.pipeline.surrogates import SurrogateGenerator

    pa = build_page_anonymizer(pipeline_config())
    stats: dict[tuple[str, str], dict[str, list]] = {}
    for kind, image in pages(args.pages, args.seed, args.real):
        doc = DocumentContext(SurrogateGenerator(locale="en_US"))
        words = pa.ocr.read(image)
        page, detections, regions = pa.detector.detect_page(image, words)
        entities, replacements, originals = pa._plan(page, detections, doc, image.size)
        pa._plan_regions(regions, page, doc, entities, replacements, image.size)
        for mode, drawn in (("rendered", replacements), ("half drawn", replacements[::2])):
            output = pa.renderer(image, drawn) if drawn else image.copy()
            result = {}
            for scope in ("regions", "page"):
                pa.verify_scope = scope
                started = time.perf_counter()
                verification = pa._verify(output, originals, entities, image, words, [r.box for r in drawn])
                result[scope] = (verification, time.perf_counter() - started)
            s = stats.setdefault((kind, mode), {"pages": [], "regions": [], "page": [], "differ": [], "boxes": [],
                                                "t_regions": [], "t_page": [], "fell_back": [],
                                                "page_only": [], "regions_only": []})
            flagged = {scope: {(f["entity"], f["type"]) for f in result[scope][0]["leaks"]} for scope in result}
            boxes = {scope: [b for f in result[scope][0]["leaks"] for b in f["boxes"]] for scope in result}
            matched = sum(any(iou(a, b) >= 0.5 for b in boxes["page"]) for a in boxes["regions"])
            s["pages"].append(1)
            s["regions"].append(len(flagged["regions"]))
            s["page"].append(len(flagged["page"]))
            s["differ"].append(flagged["regions"] != flagged["page"])
            s["page_only"].append(len(flagged["page"] - flagged["regions"]))
            s["regions_only"].append(len(flagged["regions"] - flagged["page"]))
            s["boxes"].append((matched, len(boxes["regions"]), len(boxes["page"])))
            s["t_regions"].append(result["regions"][1])
            s["t_page"].append(result["page"][1])
            s["fell_back"].append(result["regions"][0]["scope"] != "regions")
    print("| pages | output | n | leaks flagged, regions | leaks flagged, page | pages whose flagged leaks differ "
          "| flagged by page only | flagged by regions only "
          "| leak boxes of regions matching a page box (IoU >= 0.5) | verification s/page, regions | page "
          "| regions fell back to page |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (kind, mode), s in stats.items():
        matched = sum(b[0] for b in s["boxes"])
        of_regions, of_page = sum(b[1] for b in s["boxes"]), sum(b[2] for b in s["boxes"])
        print(f"| {kind} | {mode} | {len(s['pages'])} | {sum(s['regions'])} | {sum(s['page'])} | {sum(s['differ'])} "
              f"| {sum(s['page_only'])} | {sum(s['regions_only'])} "
              f"| {matched}/{of_regions} (page: {of_page}) | {statistics.median(s['t_regions']):.3f} "
              f"| {statistics.median(s['t_page']):.3f} | {sum(s['fell_back'])} |")


if __name__ == "__main__":
    main()
