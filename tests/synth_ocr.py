"""OCR of the sensitive values of synthetic pages (Tesseract on each value's line crops), for the tests."""

from __future__ import annotations

import unicodedata

import numpy as np
from PIL import Image, ImageOps

from anonymizer.core.records import PageRecord
from anonymizer.metrics.legibility import cer, ocr_line


def text_of(record: PageRecord, indices) -> str:  # word indices
    return " ".join(record.words[i].text for i in indices)


def normalise(text: str) -> str:
    """Lower case, accents and spaces removed."""
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(text.lower().split())


def alnum(text: str) -> str:
    """Letters and digits only, lower case (as the anonymization metrics compare values)."""
    return "".join(c for c in normalise(text) if c.isalnum())


def ocr_entity(image: Image.Image, rec: PageRecord, words: tuple[int, ...]) -> tuple[str, str]:
    """(OCR, truth) of an entity: each of its lines cropped (1 px margin), white-bordered, upscaled."""
    lines: dict[int | None, list[int]] = {}
    for i in words:
        lines.setdefault(rec.words[i].line, []).append(i)
    preds, truths = [], []
    for idx in sorted(lines.values(), key=lambda ix: min(rec.words[i].box[1] for i in ix)):
        idx.sort(key=lambda i: rec.words[i].box[0])
        b = np.array([rec.words[i].box for i in idx])
        crop = image.crop((int(b[:, 0].min()) - 1, int(b[:, 1].min()) - 1,
                           int(np.ceil(b[:, 2].max())) + 1, int(np.ceil(b[:, 3].max())) + 1))
        crop = ImageOps.expand(crop, border=8, fill=(255, 255, 255))
        preds.append(ocr_line(crop, upscale=4 if crop.height < 40 else 2))
        truths.append(text_of(rec, idx))
    return " ".join(preds), " ".join(truths)


def sample(rec: PageRecord, per_page: int) -> list[tuple[int, ...]]:
    """Sensitive entities of ``rec``: one of every label first, then the others, ``per_page`` at most."""
    sensitive = [e for e in rec.entities if e.sensitive]
    first = {}
    for e in sensitive:
        first.setdefault(e.label, e)
    rest = [e for e in sensitive if e not in first.values()]
    return [e.words for e in (list(first.values()) + rest)[:per_page]]


def ocr_rates(pages, per_page: int, norm=normalise) -> tuple[float, float, int]:
    """(share read exactly, CER, number of values) over ``per_page`` sampled values of each page,
    compared after ``norm``."""
    preds, truths = [], []
    for image, rec in pages:
        for words in sample(rec, per_page):
            pred, truth = ocr_entity(image, rec, words)
            preds.append(norm(pred))
            truths.append(norm(truth))
    exact = sum(p == t for p, t in zip(preds, truths)) / len(truths)
    return exact, cer(preds, truths), len(truths)
