"""Seconds per pipeline stage, for several configurations in one interleaved run.

    OMP_NUM_THREADS=1 python experiments/profile_stages.py [--pages 10] [--real ../shared/real-pages]
        [--config "before=ocr.engine=tesseract_cli verify.scope=page" --config "after="]

Each page (synthetic pages, half with scan effects; with ``--real`` also the pages of that
folder) is written as a PNG and anonymized as a one-page document by
``anonymizer.anonymize.anonymize_document`` (read, pipeline, write the output and its
audit) under every configuration, the order rotating from page to page. Stages come from
the page audit (``stages``: OCR, detection, surrogates, render, verification); I/O is the
document's time less the page's (decoding the file, writing the output and the audit).
Prints the median and the mean seconds per page of each stage and configuration.
"""

from __future__ import annotations

import argparse
import json
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
    from omegaconf import OmegaConf

    from anonymizer.anonymize import anonymize_document, audit_path
    from anonymizer.data.synth_pages import PageConfig, ScanConfig, generate_page
    from anonymizer.pipeline.document import DocumentAnonymizer, pipeline_config

    configs = {}
    for spec in args.config or DEFAULT_CONFIGS:
        name, _, overrides = spec.partition("=")
        cfg = pipeline_config(overrides.split())
        OmegaConf.set_struct(cfg, False)
        cfg.overwrite = True
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
            anonymize_document(warm, folder / "warm" / name / warm.name, configs[name][1], configs[name][0])
        for k, path in enumerate(inputs):
            for name in names[k % len(names):] + names[: k % len(names)]:
                cfg, pipeline, _ = configs[name]
                target = folder / "out" / name / path.name
                outcome = anonymize_document(path, target, pipeline, cfg)
                if outcome.status != "ok":
                    print(f"{path.name}: {name}: {outcome.status} ({outcome.reason})", file=sys.stderr)
                    continue
                audit = json.loads(audit_path(target).read_text())
                page = audit["pages"][0]
                for stage, value in page["stages"].items():
                    seconds[name][stage].append(value)
                seconds[name]["io"].append(audit["seconds"] - page["seconds"])
                seconds[name]["total"].append(audit["seconds"])
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
