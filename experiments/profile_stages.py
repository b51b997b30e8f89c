"""Seconds per pipeline stage, for several configurations in one interleaved run.

    OMP_NUM_THREADS=1 python experiments/profile_stages.py [--pages 10] [--real ../shared/real-pages]
        [--config "before=ocr.engine=tesseract_cli verify.scope=page" --config "after="]

Each page (synthetic pages, half with scan effects; with ``--real`` also the pages of that
folder) is written as a PNG and anonymized as a one-page document the way the
``anonymize`` command does it (``iter_pages`` reads it, ``DocumentAnonymizer.anonymize_pages``,
``document_writer`` writes the output, ``write_json`` its audit) under every configuration,
the order rotating from page to page. Stages come from the page audit (``stages``: OCR,
detection, surrogates, render, verification); I/O is the document's time less the page's
(decoding the file, writing the output and the audit).
Prints the median and the mean seconds per page of each stage and configuration.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAGES = ("ocr", "detection", "surrogates", "render", "verification", "io")
DEFAULT_CONFIGS = ["before=ocr.engine=tesseract_cli verify.scope=page", "after="]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10, help="synthetic pages (every other one with scan effects)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real", type=Path, help="folder of real pages (pages/ inside)")
    parser.add_argument("--config", action="append", help="NAME=space-separated overrides (repeatable)")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    import time

    from anonymizer.core.documents import check_document, iter_pages
    from anonymizer.core.outputs import document_writer, write_json
    from anonymizer.data.synth_pages import PageConfig, ScanConfig, generate_page
    from anonymizer.pipeline.document import DocumentAnonymizer, pipeline_config

    def anonymize_file(path: Path, target: Path, pipeline: DocumentAnonymizer, io) -> tuple[float, dict]:
        started = time.perf_counter()
        pages_audit: list[dict] = []
        target.parent.mkdir(parents=True, exist_ok=True)
        fmt = check_document(path)
        pages = iter_pages(path, dpi=io.dpi, max_pixels=io.max_pixels, max_pages=io.max_pages)
        with document_writer(target, fmt, dpi=io.dpi, jpeg_quality=io.jpeg_quality, overwrite=True) as writer:
            for image in pipeline.anonymize_pages(pages, audits=pages_audit):
                writer.add(image)
        audit = pipeline.audit(input_name=path.name, output_name=target.name, status="ok", reason=None,
                               pages_audit=pages_audit, seconds=0.0)
        write_json(target.with_name(target.name + ".audit.json"), audit, overwrite=True)
        return time.perf_counter() - started, pages_audit[0]

    configs = {}
    for spec in args.config or DEFAULT_CONFIGS:
        name, _, overrides = spec.partition("=")
        cfg = pipeline_config(overrides.split())
        configs[name] = (cfg, DocumentAnonymizer.from_config(cfg), overrides.strip() or "defaults")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = []
        for index in range(args.pages):
            image, _ = generate_page(index, args.seed, PageConfig(scan=ScanConfig(enabled=bool(index % 2))))
            path = folder / f"synthetic-{index}.png"
            image.save(path)
            inputs.append(path)
        if args.real:
            inputs += sorted(p for p in (args.real / "pages").iterdir() if p.is_file())
        names = list(configs)
        seconds: dict[str, dict[str, list[float]]] = {n: defaultdict(list) for n in names}
        warm = inputs[0]
        for name in names:
            anonymize_file(warm, folder / "warm" / name / warm.name, configs[name][1], configs[name][0].io)
        for k, path in enumerate(inputs):
            for name in names[k % len(names):] + names[: k % len(names)]:
                cfg, pipeline, _ = configs[name]
                total, page = anonymize_file(path, folder / "out" / name / path.name, pipeline, cfg.io)
                for stage, value in page["stages"].items():
                    seconds[name][stage].append(value)
                seconds[name]["io"].append(total - page["seconds"])
                seconds[name]["total"].append(total)
    real = f", {len(inputs) - args.pages} real" if args.real else ""
    print(f"{len(inputs)} pages ({args.pages} synthetic{real}); seconds per page, median / mean")
    print("| stage | " + " | ".join(f"{n} (`{configs[n][2]}`)" for n in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for stage in (*STAGES, "total"):
        cells = []
        for n in names:
            values = seconds[n].get(stage, [])
            cells.append(f"{statistics.median(values):.3f} / {statistics.mean(values):.3f}" if values else "n/a")
        print(f"| {stage} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
