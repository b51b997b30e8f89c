"""Tests of the synthetic page generator (anonymizer.data.synth_pages).

Assertion messages name record ids, labels and counts, never word text.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from anonymizer.core.entry import CONF_DIR
from anonymizer.core.records import PII_LABELS, PageRecord, read_records
from anonymizer.data.synth_pages import BASE_KINDS, PageConfig, ScanConfig, generate_page, write_pages
from anonymizer.data.synth_pages.cli import _report
from anonymizer.data.synth_pages.scan import rotate_word
from anonymizer.data.synth_pages.values import EMAIL_RE, SUPPORTED_LOCALES, Values, iban_valid, luhn_valid
from anonymizer.metrics.legibility import ocr_available
from tests.synth_ocr import ocr_rates as _ocr_rates

ROOT = Path(__file__).resolve().parent.parent
CLEAN = ScanConfig(enabled=False)
MILD = ScanConfig(tint_prob=1.0, texture_strength=(0.3, 0.3), lighting_prob=1.0, lighting_strength=(0.1, 0.1),
                  rotation_prob=1.0, rotation_deg=1.0, blur_prob=1.0, blur_radius=(0.4, 0.4), noise_prob=1.0,
                  noise_std=(3.0, 3.0), jpeg_prob=1.0, jpeg_quality=(80, 80))
# (kind, locale, index): one clean page per kind, two forms for both national ID types.
CLEAN_SET = [("form", "en_US", 0), ("form", "de_DE", 1), ("invoice", "fr_FR", 2), ("letter", "en_GB", 3),
             ("receipt", "en_US", 4)]
EXPECTED_PII = {"PERSON", "LOCATION", "ORGANIZATION", "DATE_TIME", "PHONE_NUMBER", "EMAIL_ADDRESS", "IBAN_CODE",
                "CREDIT_CARD", "US_SSN", "NATIONAL_ID", "ID_NUMBER", "AMOUNT"}


def _page(kind: str, locale: str, index: int, scan: ScanConfig = CLEAN,
          seed: int = 11) -> tuple[Image.Image, PageRecord]:
    return generate_page(index, seed, PageConfig(kinds={kind: 1.0}, locales=(locale,), scan=scan))


@pytest.fixture(scope="module")
def clean_pages() -> list[tuple[Image.Image, PageRecord]]:
    return [_page(kind, locale, index) for kind, locale, index in CLEAN_SET]


def _text(record: PageRecord, indices) -> str:
    return " ".join(record.words[i].text for i in indices)


def _digest(image: Image.Image) -> str:
    return hashlib.sha256(image.tobytes()).hexdigest()


# -- values --------------------------------------------------------------------------------
def test_validators() -> None:
    assert luhn_valid("4111 1111 1111 1111") and not luhn_valid("4111 1111 1111 1112")
    assert iban_valid("DE89 3704 0044 0532 0130 00") and iban_valid("GB82WEST12345698765432")
    assert not iban_valid("DE89 3704 0044 0532 0130 01") and not iban_valid("XX")
    assert EMAIL_RE.match("jane.doe@example.co.uk") and not EMAIL_RE.match("jane doe@example")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_generated_values_are_valid(locale: str) -> None:
    import random

    values = Values(locale)
    values.reset(random.Random(5))
    for _ in range(40):
        assert iban_valid(values.iban().text)
        card = values.card_number().text
        assert luhn_valid(card) and len(re.sub(r"\D", "", card)) in (15, 16)
        masked = values.card_number(masked=True).text
        assert re.fullmatch(r"[*X -]+\d{4}", masked)
        assert EMAIL_RE.match(values.email(values.first_last()).text)
        ident = values.national_id()
        digits = ident.text.replace(" ", "")
        if locale == "en_US":
            assert ident.label == "US_SSN" and re.fullmatch(r"\d{3}-\d{2}-\d{4}", ident.text)
        elif locale == "en_GB":
            assert ident.label == "NATIONAL_ID" and re.fullmatch(r"[A-Z]{2}\d{6}[A-D]", digits)
        elif locale == "de_DE":
            assert ident.label == "NATIONAL_ID" and re.fullmatch(r"[1-9]\d{10}", digits)
        else:  # French NIR: 13 digits and the key 97 - (number mod 97)
            assert ident.label == "NATIONAL_ID" and re.fullmatch(r"\d{15}", digits)
            assert int(digits[13:]) == 97 - int(digits[:13]) % 97
        for value in (values.person(), values.address(2), values.date(), values.phone(), values.amount()):
            assert all(line and "\n" not in line for line in value.lines)


# -- records match the drawing ---------------------------------------------------------------
def test_every_kind_and_pii_type(clean_pages) -> None:
    kinds = {rec.id.rsplit("-", 1)[1] for _, rec in clean_pages}
    assert kinds == set(BASE_KINDS)
    labels = {e.label for _, rec in clean_pages for e in rec.entities if e.sensitive}
    assert EXPECTED_PII <= labels, f"missing {sorted(EXPECTED_PII - labels)}"
    assert labels <= PII_LABELS
    # The default mix (the original four kinds) draws every one of them too.
    drawn = Counter(generate_page(i, 3, PageConfig(scan=CLEAN))[1].id.rsplit("-", 1)[1] for i in range(16))
    assert set(drawn) == set(BASE_KINDS)


def test_record_structure(clean_pages) -> None:
    for _, rec in clean_pages:
        assert rec.words and rec.source == "synth_pages" and rec.image == f"images/{rec.id}.png"
        ids = [e.id for e in rec.entities]
        assert ids == list(range(len(rec.entities)))
        covered: set[int] = set()
        for e in rec.entities:
            assert e.words and len(set(e.words)) == len(e.words), rec.id
            assert covered.isdisjoint(e.words), f"{rec.id}: a word in two entities"
            covered.update(e.words)
            assert e.sensitive == (e.label != "KEY"), (rec.id, e.label)
        keys = {e.id for e in rec.entities if e.label == "KEY"}
        assert rec.links and all(k in keys and v not in keys for k, v in rec.links), rec.id
        # Every key has its value, except at most an empty signature line.
        assert len(keys - {k for k, _ in rec.links}) <= 1, rec.id
        for w in rec.words:
            assert w.line is not None and w.text and not re.search(r"\s", w.text) and w.quad is None
        # Plain text (headings, items, prose) stays outside entities.
        assert len(covered) < len(rec.words), rec.id


def test_boxes_inside_page_inked_and_disjoint(clean_pages) -> None:
    for image, rec in clean_pages:
        assert image.size == (rec.width, rec.height) and image.mode == "RGB"
        grey = np.asarray(image.convert("L"))
        boxes = np.array([w.box for w in rec.words])
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
        assert (boxes[:, 2] <= rec.width).all() and (boxes[:, 3] <= rec.height).all()
        for i, (x0, y0, x1, y1) in enumerate(boxes.astype(int)):
            region = grey[y0:y1, x0:x1]
            assert region.min() < 100, f"{rec.id} word {i} has no ink"
            # Tight: each of the box's outermost rows and columns touches ink (white paper is 255).
            assert max(region[0].min(), region[-1].min(), region[:, 0].min(), region[:, -1].min()) < 255
            ix = np.minimum(x1, boxes[i + 1 :, 2]) - np.maximum(x0, boxes[i + 1 :, 0])
            iy = np.minimum(y1, boxes[i + 1 :, 3]) - np.maximum(y0, boxes[i + 1 :, 1])
            assert not ((ix > 0) & (iy > 0)).any(), f"{rec.id} word {i} overlaps another"
        # Outside the word boxes there is only paper and rules: no stray text.
        mask = np.ones_like(grey, bool)
        for x0, y0, x1, y1 in boxes.astype(int):
            mask[y0:y1, x0:x1] = False
        assert (grey[mask] > 100).mean() > 0.99


def test_values_in_records_are_valid(clean_pages) -> None:
    checked = Counter()
    for _, rec in clean_pages:
        for e in rec.entities:
            text = _text(rec, e.words)
            if e.label == "CREDIT_CARD" and not re.search(r"[*X]", text):
                assert luhn_valid(text), rec.id
                checked["card"] += 1
            elif e.label == "IBAN_CODE":
                assert iban_valid(text), rec.id
                checked["iban"] += 1
            elif e.label == "EMAIL_ADDRESS":
                assert EMAIL_RE.match(text), rec.id
                checked["email"] += 1
    assert checked["card"] >= 1 and checked["iban"] >= 3 and checked["email"] >= 3


# -- OCR of the sensitive values ----------------------------------------------------------------
@pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed")
def test_ocr_reads_the_sensitive_values(clean_pages) -> None:
    exact, rate, n = _ocr_rates(clean_pages, per_page=10)
    assert n >= 40
    # Measured with Tesseract 5.3: 46/50 exact, CER 0.028 (misreads like O for 0, masked card digits).
    assert exact >= 0.8, f"only {exact:.0%} of {n} values read exactly"
    assert rate <= 0.1, f"CER {rate:.3f}"


@pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed")
def test_ocr_reads_the_sensitive_values_with_mild_scan_effects() -> None:
    pages = [_page("form", "en_GB", 5, MILD), _page("invoice", "en_US", 6, MILD)]
    assert all(w.quad is not None for _, rec in pages for w in rec.words)  # rotated
    exact, rate, n = _ocr_rates(pages, per_page=9)
    assert n >= 16
    # Measured with Tesseract 5.3: 17/18 exact, CER 0.003.
    assert exact >= 0.7, f"only {exact:.0%} of {n} values read exactly"
    assert rate <= 0.2, f"CER {rate:.3f}"


# -- scan effects and determinism ------------------------------------------------------------------
def test_rotation_moves_boxes_with_the_ink() -> None:
    clean_img, clean = _page("letter", "de_DE", 7)
    scan = ScanConfig(tint_prob=0.0, texture_strength=(0.0, 0.0), lighting_prob=0.0, rotation_prob=1.0,
                      rotation_deg=2.0, blur_prob=0.0, noise_prob=0.0, jpeg_prob=0.0)
    image, rotated = _page("letter", "de_DE", 7, scan)
    assert [w.text for w in rotated.words] == [w.text for w in clean.words]
    assert rotated.entities == clean.entities and rotated.links == clean.links
    assert _digest(image) != _digest(clean_img)
    grey = np.asarray(image.convert("L"))
    # The angle is not stored: recover it from the first word's quad and check every word.
    (ax, ay), (bx, by) = rotated.words[0].quad[:2]
    angle = -np.degrees(np.arctan2(by - ay, bx - ax))
    assert 0 < abs(angle) <= 2.0
    for w, c in zip(rotated.words, clean.words):
        expected = rotate_word(c, angle, clean.width / 2, clean.height / 2)
        assert np.allclose(w.quad, expected.quad, atol=1e-6) and np.allclose(w.box, expected.box, atol=1e-6)
        xs, ys = [p[0] for p in w.quad], [p[1] for p in w.quad]
        assert w.box == (min(xs), min(ys), max(xs), max(ys))
        x0, y0, x1, y1 = (int(v) for v in w.box)
        assert grey[y0 : y1 + 1, x0 : x1 + 1].min() < 120


def test_scan_effects_change_pixels_not_content() -> None:
    clean_img, clean = _page("invoice", "en_GB", 8)
    no_skew = ScanConfig(rotation_prob=0.0, tint_prob=1.0, lighting_prob=1.0, noise_prob=1.0, jpeg_prob=1.0)
    image, rec = _page("invoice", "en_GB", 8, no_skew)
    assert rec.to_json() == clean.to_json()
    a, b = np.asarray(image, np.float32), np.asarray(clean_img, np.float32)
    assert np.abs(a - b).mean() > 2


def test_same_seed_and_index_are_byte_identical() -> None:
    cfg = PageConfig()
    for index in (0, 9):
        (a, ra), (b, rb) = generate_page(index, 4, cfg), generate_page(index, 4, cfg)
        assert a.tobytes() == b.tobytes() and ra.to_json() == rb.to_json()
    digests = {_digest(generate_page(i, 4, cfg)[0]) for i in range(4)}
    assert len(digests) == 4
    assert _digest(generate_page(0, 5, cfg)[0]) != _digest(generate_page(0, 4, cfg)[0])


# -- writing, reading, CLI ------------------------------------------------------------------------
def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_write_pages_and_read_records(tmp_path: Path) -> None:
    cfg = PageConfig(scan=ScanConfig(jpeg_prob=1.0))
    summary = write_pages(5, tmp_path / "a", seed=2, config=cfg)
    records, errors = read_records(tmp_path / "a" / "records.jsonl")
    assert errors == [] and len(records) == summary.pages == 5
    assert summary.words == sum(len(r.words) for r in records)
    assert sum(summary.sensitive.values()) == sum(e.sensitive for r in records for e in r.entities)
    for rec in records:
        assert rec.image_path.is_file() and rec.image_path.parent == tmp_path / "a" / "images"
        with Image.open(rec.image_path) as im:
            assert im.size == (rec.width, rec.height) and im.format == "PNG"
        image, expected = generate_page(int(rec.id.split("-")[1]), 2, cfg)
        with Image.open(rec.image_path) as im:
            assert im.convert("RGB").tobytes() == image.tobytes()
        assert PageRecord.from_json(expected.to_json()).to_json() == rec.to_json()
    # Refuses to overwrite; overwrite=True replaces; workers give the same bytes.
    before = _files(tmp_path / "a")
    with pytest.raises(FileExistsError, match="already exists"):
        write_pages(2, tmp_path / "a", seed=3, config=cfg)
    assert _files(tmp_path / "a") == before
    write_pages(5, tmp_path / "a", seed=2, config=cfg, overwrite=True, workers=2)
    assert _files(tmp_path / "a") == before
    jpg = write_pages(1, tmp_path / "j", config=PageConfig(image_format="jpg"))
    (rec,), _ = read_records(jpg.records_path)
    assert rec.image.endswith(".jpg")
    with Image.open(rec.image_path) as im:
        assert im.format == "JPEG"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be an integer >= 1"),
        ({"n": -3}, "n must be an integer >= 1"),
        ({"n": 2, "seed": -1}, "seed must be an integer >= 0"),
        ({"n": 2, "workers": -1}, "workers must be"),
    ],
)
def test_write_pages_rejects_bad_arguments(tmp_path: Path, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        write_pages(out=tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kinds": {"memo": 1.0}}, r"unknown page kind\(s\) \['memo'\]"),
        ({"kinds": {"form": 0.0}}, "at least one page kind"),
        ({"kinds": {"form": -1.0}}, "must be a number >= 0"),
        ({"width": 120, "height": 90}, "page size 120x90 is too small"),
        ({"receipt_width": 100}, "receipt_width must be in"),
        ({"locales": ("xx_XX",)}, "locales must be a non-empty subset"),
        ({"font_size": (20, 12)}, "font_size must be"),
        ({"image_format": "gif"}, "image_format must be one of"),
        ({"scan": {"blur_prob": 2.0}}, r"scan.blur_prob must be a number in \[0.0, 1.0\]"),
        ({"scan": {"sharpen": 1}}, r"unknown scan option\(s\) \['sharpen'\]"),
    ],
)
def test_page_config_rejects_bad_values(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        PageConfig(**kwargs)


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "anonymizer.data.synth_pages", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_writes_pages_and_refuses_to_overwrite(tmp_path: Path) -> None:
    cwd, out = tmp_path / "cwd", tmp_path / "out"
    cwd.mkdir()
    done = _cli(cwd, "n=3", f"out={out}", "seed=6", "page.scan.enabled=false")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "sensitive entities" in done.stdout and "pages" in done.stdout
    assert list(cwd.iterdir()) == []  # no Hydra output folder, no log file
    records, errors = read_records(out / "records.jsonl")
    assert errors == [] and [r.id for r in records] == [f"s6-{i:06d}-{r.id.rsplit('-', 1)[1]}"
                                                        for i, r in enumerate(records)]
    # Same bytes as the Python API in this process, with the YAML's page settings.
    page = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "synth_pages.yaml").page)
    page["scan"]["enabled"] = False
    api = write_pages(3, tmp_path / "api", seed=6, config=PageConfig.from_mapping(page))
    assert _files(out) == _files(api.records_path.parent)
    first = (out / "records.jsonl").read_bytes()
    again = _cli(cwd, "n=2", f"out={out}")
    assert again.returncode == 2 and "already exists" in again.stderr and "overwrite=true" in again.stderr
    assert (out / "records.jsonl").read_bytes() == first
    bad = _cli(cwd, "n=0", f"out={tmp_path / 'bad'}", "page.width=100")
    assert bad.returncode == 2 and "error:" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad").exists() and list(cwd.iterdir()) == []
    missing = _cli(cwd, "n=2")
    assert missing.returncode == 2 and "out is required" in missing.stderr


def test_summary_never_prints_word_text(tmp_path: Path) -> None:
    out = tmp_path / "p"
    summary = write_pages(2, out, seed=1, config=PageConfig(scan=CLEAN))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        _report(summary)
    printed = buf.getvalue()
    records, _ = read_records(out / "records.jsonl")
    tokens = {r.words[i].text for r in records for i in r.sensitive_words() if len(r.words[i].text) > 3}
    assert tokens and "pages" in printed and not any(t in printed for t in tokens)
