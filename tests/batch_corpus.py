"""A small batch for the engine tests (Ray actors, worker processes) and what they compare."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from anonymizer.core.documents import iter_pages
from anonymizer.core.records import PageRecord
from anonymizer.data.synth_pages import PageConfig, generate_page
from anonymizer.pipeline.corpus import MANIFEST_NAME

FORMS = PageConfig(kinds={"form": 1.0, "invoice": 0.0, "letter": 0.0, "receipt": 0.0},
                   scan=PageConfig().scan.__class__(enabled=False))
#: The batch's documents, in the order the manifest lists them.
DOCUMENTS = ["bad.png", "form0.png", "scan.pdf", "sub/form1.png"]


def write_batch(root: Path, seed: int) -> list[PageRecord]:
    """Two synthetic form pages (one in a subfolder), a 2-page PDF of a third and a fourth
    page, and a corrupt PNG under ``root``; the pages' records."""
    (root / "sub").mkdir(parents=True, exist_ok=True)
    images, records = zip(*(generate_page(i, seed, FORMS) for i in range(4)), strict=True)
    images[0].save(root / "form0.png")
    images[1].save(root / "sub" / "form1.png")
    images[2].save(root / "scan.pdf", save_all=True, append_images=[images[3]], resolution=200)
    (root / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)  # a PNG header and nothing else
    return list(records)


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def without_timings(node: Any) -> Any:
    """``node`` without timings (document seconds, each page's seconds per stage)."""
    if isinstance(node, dict):
        return {k: without_timings(v) for k, v in node.items() if k not in ("seconds", "stages")}
    if isinstance(node, list):
        return [without_timings(v) for v in node]
    return node


def manifest(out: Path) -> list[dict[str, Any]]:
    """The records of ``out``'s manifest.jsonl."""
    return [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]


def assert_same_pages(source: Path, a: Path, b: Path) -> None:
    """The batch's outputs in ``a`` and ``b``: the same files, every page pixel-identical,
    and anonymized (not the input's first page)."""
    assert sorted(digest(a)) == sorted(digest(b))
    for name in ("form0.png", "sub/form1.png", "scan.pdf"):
        pages = [[np.asarray(p) for _, p in iter_pages(out / name, dpi=200)] for out in (a, b)]
        assert len(pages[0]) == len(pages[1]) == (2 if name == "scan.pdf" else 1)
        for x, y in zip(*pages, strict=True):
            assert np.array_equal(x, y), name
        original = next(iter_pages(source / name, dpi=200))[1]
        assert not np.array_equal(pages[0][0], np.asarray(original)), name  # anonymized
