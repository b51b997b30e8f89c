"""Tests of the synthetic document crops, their fonts and their text content."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import random
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from anonymizer.core.fonts import FontNotFoundError, find_fonts
from anonymizer.core.records import TextCrop
from anonymizer.data.synthetic import SyntheticCrops, SyntheticStyle
from anonymizer.data.text_content import CHARSET, TextContent, sanitize

DATE = re.compile(r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}\.? [A-Za-zéû]+ \d{4}\b")


@pytest.fixture(scope="module")
def ds() -> SyntheticCrops:
    return SyntheticCrops(size=96, length=1000, seed=7)


def _digest(crop: TextCrop) -> str:
    return hashlib.sha256(crop.image.tobytes()).hexdigest()


# -- determinism -----------------------------------------------------------------------
def test_same_seed_and_index_give_identical_crops(ds: SyntheticCrops) -> None:
    other = SyntheticCrops(size=96, length=1000, seed=7)
    for i in (0, 5, 999):
        a, b = ds[i], other[i]
        assert a.image.tobytes() == b.image.tobytes()
        assert a.text == b.text and a.words == b.words
    assert ds[5].image.tobytes() == ds[5].image.tobytes()  # repeated call, warm caches


def test_different_index_or_seed_give_different_crops(ds: SyntheticCrops) -> None:
    digests = {_digest(ds[i]) for i in range(20)}
    assert len(digests) == 20
    assert _digest(SyntheticCrops(96, 10, seed=8)[0]) != _digest(ds[0])


def test_identical_in_a_fresh_process(ds: SyntheticCrops, tmp_path) -> None:
    path = tmp_path / "ds.pkl"
    path.write_bytes(pickle.dumps(ds))
    code = (
        "import hashlib, pickle, sys\n"
        "ds = pickle.load(open(sys.argv[1], 'rb'))\n"
        "for i in (3, 42):\n"
        "    c = ds[i]\n"
        "    print(hashlib.sha256(c.image.tobytes()).hexdigest(), repr(c.text))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env, check=True)
    expected = [f"{_digest(ds[i])} {ds[i].text!r}" for i in (3, 42)]
    assert out.stdout.splitlines() == expected


def test_pickle_is_small_and_roundtrips(ds: SyntheticCrops) -> None:
    ds[0]
    blob = pickle.dumps(ds)
    assert len(blob) < 50_000
    clone = pickle.loads(blob)
    assert len(clone) == len(ds)
    assert clone[1].image.tobytes() == ds[1].image.tobytes()


def test_dataloader_with_workers(ds: SyntheticCrops) -> None:
    subset = torch.utils.data.Subset(ds, range(8))
    loader = torch.utils.data.DataLoader(subset, batch_size=3, num_workers=2, collate_fn=list)
    crops = [c for batch in loader for c in batch]
    assert len(crops) == 8 and all(isinstance(c, TextCrop) for c in crops)
    assert [_digest(c) for c in crops] == [_digest(ds[i]) for i in range(8)]


# -- images, words and text ------------------------------------------------------------
@pytest.mark.parametrize("size", [16, 64, 101, 256])
def test_size_and_mode(size: int) -> None:
    crop = SyntheticCrops(size=size, length=3, seed=1)[2]
    assert crop.image.mode == "RGB" and crop.image.size == (size, size)


def test_word_boxes_inside_image_and_on_ink(ds: SyntheticCrops) -> None:
    n_words = 0
    for i in range(40):
        crop = ds[i]
        grey = np.asarray(crop.image.convert("L"), dtype=np.float32)
        paper = float(np.median(grey))
        for w in crop.words:
            x0, y0, x1, y1 = w.box
            assert 0 <= x0 < x1 <= ds.size and 0 <= y0 < y1 <= ds.size, w
            region = grey[int(y0) : int(np.ceil(y1)), int(x0) : int(np.ceil(x1))]
            assert region.min() < paper - 50, (i, w)
            assert region.mean() < paper - 5, (i, w)
            n_words += 1
    assert n_words > 100


def test_text_matches_words_and_is_mostly_non_empty(ds: SyntheticCrops) -> None:
    crops = [ds[i] for i in range(100)]
    assert sum(bool(c.text) for c in crops) >= 85
    for c in crops:
        assert c.text.split() == [w.text for w in c.words]
        assert all(w.text in c.text for w in c.words)
        assert all(line.strip() == line and line for line in c.text.split("\n")) or not c.text


def test_no_effects_gives_clean_paper() -> None:
    style = SyntheticStyle(
        texture_strength=0, noise_std=[0, 0], blur_prob=0, jpeg_prob=0, rotation_deg=0,
        paper_tints=[[255, 255, 255]], paper_jitter=0, rule_prob=0,
    )
    crop = SyntheticCrops(64, 5, seed=0, style=style)[0]
    grey = np.asarray(crop.image.convert("L"))
    assert np.median(grey) == 255
    assert (grey < 128).any()  # there is ink


def test_index_out_of_range(ds: SyntheticCrops) -> None:
    for bad in (len(ds), -1, 10**9):
        with pytest.raises(IndexError):
            ds[bad]


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"size": 15}, "size"), ({"length": 0}, "length"), ({"seed": -1}, "seed")]
)
def test_dataset_validation(kwargs: dict, field: str) -> None:
    args = {"size": 64, "length": 10, **kwargs}
    with pytest.raises(ValueError, match=field):
        SyntheticCrops(**args)


# -- style -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("font_size", (20, 10)),
        ("font_size", (-3, 10)),
        ("font_size", (10,)),
        ("line_spacing", (1.5, 1.1)),
        ("bold_prob", 1.5),
        ("blur_prob", -0.1),
        ("jpeg_prob", 2),
        ("jpeg_quality", (50, 100)),
        ("jpeg_quality", (0, 90)),
        ("noise_std", (-1.0, 2.0)),
        ("blur_radius", (1.0, 0.5)),
        ("rotation_deg", -1.0),
        ("texture_strength", -0.5),
        ("ink_jitter", -1),
        ("ink_colors", []),
        ("ink_colors", [[0, 0]]),
        ("paper_tints", [[255, 255, 256]]),
        ("ink_alpha", (0.5, 1.2)),
    ],
)
def test_invalid_style_raises_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"SyntheticStyle\.{field}.*{re.escape(repr(value))}"):
        SyntheticStyle(**{field: value})


def test_style_accepts_lists_and_omegaconf() -> None:
    cfg = OmegaConf.create({"font_size": [12, 14], "ink_colors": [[0, 0, 0]], "jpeg_quality": [70, 80]})
    style = SyntheticStyle(**cfg)
    assert style.font_size == (12, 14) and style.jpeg_quality == (70, 80)
    assert style.ink_colors == [[0, 0, 0]] and type(style.ink_colors[0]) is list
    assert SyntheticCrops(32, 2, style=style)[1].image.size == (32, 32)


# -- fonts -----------------------------------------------------------------------------
def test_font_not_found_names_dir_and_fix(tmp_path) -> None:
    with pytest.raises(FontNotFoundError) as err:
        find_fonts([str(tmp_path)])
    assert str(tmp_path) in str(err.value) and "apt-get install" in str(err.value)
    with pytest.raises(FontNotFoundError, match=re.escape(str(tmp_path))):
        SyntheticCrops(64, 1, font_dirs=[str(tmp_path)])


def test_find_fonts_filters_faces_and_skips_broken(tmp_path, caplog) -> None:
    real = find_fonts()[0].path
    names = [
        "DejaVuSans-Bold.ttf", "DejaVuSansCondensed.ttf", "DejaVuSans-ExtraLight.ttf", "NotoSans-Regular.ttf",
        "NotoSans-Light.ttf", "NotoSansArabic-Regular.ttf", "NotoSansCJK-Regular.otf", "NotoSerif-BoldItalic.ttf",
        "Other-Regular.ttf",
    ]
    for name in names:
        shutil.copy(real, tmp_path / name)
    (tmp_path / "sub").mkdir()
    shutil.copy(real, tmp_path / "sub" / "LiberationSerif-Italic.ttf")
    (tmp_path / "LiberationMono-Regular.ttf").write_bytes(b"not a font")
    with caplog.at_level(logging.WARNING):
        fonts = find_fonts([str(tmp_path)])
    got = [(f.family, f.bold, f.italic, os.path.basename(f.path)) for f in fonts]
    assert got == [
        ("DejaVuSans", True, False, "DejaVuSans-Bold.ttf"),
        ("LiberationSerif", False, True, "LiberationSerif-Italic.ttf"),
        ("NotoSans", False, False, "NotoSans-Regular.ttf"),
        ("NotoSerif", True, True, "NotoSerif-BoldItalic.ttf"),
    ]
    assert "LiberationMono-Regular.ttf" in caplog.text
    assert [f.family for f in find_fonts([str(tmp_path)], families=["Noto"])] == ["NotoSans", "NotoSerif"]


def test_system_fonts_are_latin_text_faces() -> None:
    fonts = find_fonts()
    assert fonts == find_fonts()
    names = [os.path.basename(f.path) for f in fonts]
    assert len(names) == len(set(names))
    assert not [n for n in names if re.search("Arabic|CJK|Emoji|Condensed|Light|Black|Thin|Medium|Semi", n)]


# -- text content ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def content() -> TextContent:
    return TextContent()


def test_content_mixes_kinds_of_lines(content: TextContent) -> None:
    rng = random.Random(0)
    lines = [content.line(rng) for _ in range(200)]
    assert all(0 < len(line) <= 60 and set(line) <= CHARSET for line in lines)
    assert sum(any(ch.isdigit() for ch in line) for line in lines) > 40
    assert sum("@" in line for line in lines) >= 3
    assert sum(bool(DATE.search(line)) for line in lines) >= 5
    assert sum(not any(ch.isdigit() for ch in line) for line in lines) > 40  # prose, names, headings
    assert len(set(lines)) > 190


def test_content_depends_only_on_rng_state(content: TextContent) -> None:
    a = [content.line(random.Random(11), max_chars=25) for _ in range(3)]
    content.line(random.Random(99))
    b = [content.line(random.Random(11), max_chars=25) for _ in range(3)]
    assert a == b and len(a[0]) <= 25
    assert TextContent(["de_DE"]).line(random.Random(4)) == TextContent(["de_DE"]).line(random.Random(4))


def test_sanitize_keeps_font_coverage() -> None:
    assert sanitize("Łódź  Straße\u00a09 – 12 € œ") == "Lódz Straße 9 – 12 € œ"
    assert sanitize("中文 ok\u200b") == "ok"
