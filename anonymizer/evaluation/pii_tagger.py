"""``task=pii_tagger``: entity- and word-level precision/recall/F1 per type of a PII tagger
export on labelled pages: held-out synthetic seeds (the embedded default, with the training
recipe's simulated OCR noise) or page records (FUNSD ``question`` -> ``KEY``, ``answer`` not
scored; PII-labelled records as they are). Runs the pipeline's numpy inference
(:class:`~anonymizer.pipeline.tagger.PiiTagger`). Per-page rows hold counts only, never text."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from anonymizer.core.records import PageRecord
from anonymizer.data.ocr_noise import NoiseConfig, NoisyWord
from anonymizer.data.tagger_pages import TaggerPages, encode_page, record_words, synthetic_words
from anonymizer.evaluation.report import Evaluation, Table
from anonymizer.metrics.tagging import TaggingScores
from anonymizer.pipeline.tagger import PiiTagger


def synthetic_tagger_pages(n: int, seed: int, page: Mapping[str, Any], noise: Mapping[str, Any] | None,
                           distractors: float = 0.0) -> list[tuple[str, list[NoisyWord]]]:
    """Pages ``0..n-1`` of synthetic ``seed`` as the training recipe sees them: ``distractors``
    lines of ordinary words on average and ``noise`` (both seeded per page)."""
    cfg = NoiseConfig(**dict(noise)) if noise is not None else None
    pages = TaggerPages(synthetic_words(n, seed, page), None, seed, cfg, max_words=1 << 30,
                        distractors=distractors)
    return [(f"s{seed}-{i:06d}", pages.words(i)) for i in range(n)]


def record_tagger_pages(records: Sequence[PageRecord], n: int,
                        label_map: Mapping[str, str | None] | None) -> list[tuple[str, list[NoisyWord]]]:
    """The first ``n`` records' labelled words."""
    return [(r.id, record_words(r, label_map)) for r in records[:n]]


def evaluate_tagger(tagger: PiiTagger, pages: Sequence[tuple[str, Sequence[NoisyWord]]],
                    info: dict[str, Any]) -> Evaluation:
    """Score ``tagger`` on ``pages``; the :class:`Evaluation` of ``task=pii_tagger``."""
    total = TaggingScores()
    samples = []
    started = time.perf_counter()
    for pid, words in pages:
        enc = encode_page(words)
        if len(enc["labels"]) == 0:
            samples.append({"id": pid, "words": 0, "entities": 0, "f1": None})
            continue
        pred = tagger.logits(enc["chars"], enc["feats"], enc["pos"]).argmax(-1)
        page = TaggingScores()
        page.update(enc["labels"], pred, enc["line_of"])
        total.update(enc["labels"], pred, enc["line_of"])
        scores = page.compute()
        samples.append({"id": pid, "words": int(len(enc["labels"])), "entities": sum(page.support().values()),
                        "f1": round(scores["f1"], 4), "f1_pii": round(scores["f1_pii"], 4)})
    seconds = time.perf_counter() - started
    metrics = total.compute()
    support = total.support()
    rows = [[t, support[t], metrics[f"precision/{t}"], metrics[f"recall/{t}"], metrics[f"f1/{t}"]]
            for t in sorted(support)]
    rows += [["all types (micro)", sum(support.values()), metrics["precision"], metrics["recall"], metrics["f1"]],
             ["without KEY (micro)", sum(v for t, v in support.items() if t != "KEY"), metrics["precision_pii"],
              metrics["recall_pii"], metrics["f1_pii"]],
             ["words (type level)", None, metrics["token_precision"], metrics["token_recall"], metrics["token_f1"]]]
    table = Table(f"PII tagger, entity level ({len(pages)} pages)", ["type", "entities", "precision", "recall", "F1"],
                  rows)
    summary = {**info, "n_samples": len(pages), "n_failed": 0, "seconds": round(seconds, 2),
               "metrics": {**{k: float(v) for k, v in metrics.items()}, "support": support,
                           "confusion": np.asarray(total.confusion).tolist()}}
    notes = ["an entity counts when a span has its type and exactly its words; values of unknown type "
             "(FUNSD answers) are not scored"]
    return Evaluation(task="pii_tagger", summary=summary, tables=[table], samples=samples, notes=notes)
