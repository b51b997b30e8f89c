"""Inpainting data: windows, masks, glyph images, samples, DataModule and config."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import hydra
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image, ImageDraw
from transformers import ViTImageProcessor

from anonymizer.data.glyphs import GlyphRenderer, build_glyph_processor, render_glyph
from anonymizer.data.inpaint_datamodule import InpaintDataModule
from anonymizer.data.inpaint_samples import InpaintSamples, box_mask, crop_around_box, make_inpaint_sample
from tests.conftest import CONF_DIR

PAPER = (250, 245, 230)


@pytest.fixture(scope="module")
def glyph() -> GlyphRenderer:
    return GlyphRenderer(canvas=(32, 256), processor={"image_size": 32})


@pytest.fixture(scope="module")
def samples(glyph: GlyphRenderer) -> InpaintSamples:
    return InpaintSamples(length=16, seed=3, glyph=glyph)


def page(width: int = 200, height: int = 200) -> Image.Image:
    return Image.new("RGB", (width, height), PAPER)


# ---------------------------------------------------------------- windows and masks
def test_masked_image_convention() -> None:
    img = page()
    ImageDraw.Draw(img).text((40, 90), "Jane Doe 1984", fill=(10, 10, 10))
    s = make_inpaint_sample(img, (40, 90, 120, 102), "Jane Doe 1984", resolution=32, crop_side=64, mask_margin=2)
    assert s["image"].shape == (3, 32, 32) and s["masked_image"].shape == (3, 32, 32)
    assert s["mask"].shape == (1, 32, 32) and s["mask"].dtype == torch.float32
    assert set(s["mask"].unique().tolist()) == {0.0, 1.0}
    hole = s["mask"].expand(3, -1, -1) == 1
    assert torch.all(s["masked_image"][hole] == 0)
    assert torch.equal(s["masked_image"][~hole], s["image"][~hole])
    assert s["image"].min() >= -1 and s["image"].max() <= 1 and s["image"].min() < 0.5  # the ink is there
    assert s["text"] == "Jane Doe 1984" and s["window"].dtype == torch.int64


def test_mask_covers_the_dilated_box_at_the_right_pixels() -> None:
    img = page()
    ImageDraw.Draw(img).rectangle((50, 60, 69, 69), fill=(0, 0, 0))  # exactly the box (50, 60, 70, 70)
    s = make_inpaint_sample(img, (50, 60, 70, 70), "x", resolution=32, crop_side=64, mask_margin=2)
    # side 64 centred on (60, 65): window (28, 33, 92, 97); scale 1/2: box (11, 13.5, 21, 18.5), margin 1
    assert s["window"].tolist() == [28, 33, 92, 97]
    expected = torch.zeros(32, 32)
    expected[12:20, 10:22] = 1
    assert torch.equal(s["mask"][0], expected)
    dark = s["image"].mean(0) < 0.0
    assert dark.any() and torch.all(s["mask"][0][dark] == 1)  # every ink pixel is masked


def test_box_mask_dilation_and_clipping() -> None:
    m = box_mask(16, (4, 5, 8, 6), margin=1)
    assert m.dtype == np.float32 and m.sum() == 6 * 3
    assert m[4:7, 3:9].all()
    edge = box_mask(16, (-5, 10, 3, 20), margin=2)
    assert edge[8:16, 0:5].all() and edge.sum() == 8 * 5


def test_window_widens_for_a_long_box() -> None:
    img = page()
    crop, window = crop_around_box(img, (10, 50, 190, 70), crop_side=64, pad=4)
    assert crop.size == (188, 188)
    assert window == (6, 0, 194, 188)  # centred horizontally, shifted down to stay on the page
    s = make_inpaint_sample(img, (10, 50, 190, 70), "long", resolution=64, crop_side=64, mask_margin=2)
    cols, rows = s["mask"][0].amax(0), s["mask"][0].amax(1)
    assert s["window"][2] - s["window"][0] == 188 and cols.sum() >= 62
    # rows 48..72 of the page (box dilated by 2) at scale 64/188: 16.3..24.5 -> rows 16..24
    assert rows.nonzero().flatten().tolist() == list(range(16, 25))


def test_window_is_padded_with_paper_when_the_page_is_small() -> None:
    img = page(40, 30)
    ImageDraw.Draw(img).rectangle((10, 10, 19, 19), fill=(0, 0, 0))
    crop, window = crop_around_box(img, (10, 10, 20, 20), crop_side=64)
    assert crop.size == (64, 64)
    x0, y0, x1, y1 = window
    assert x0 <= 0 and y0 <= 0 and x1 >= 40 and y1 >= 30 and x1 - x0 == 64  # covers the whole page
    a = np.asarray(crop)
    inside = a[-y0 : -y0 + 30, -x0 : -x0 + 40]
    assert np.array_equal(inside, np.asarray(img))
    outside = np.ones((64, 64), bool)
    outside[-y0 : -y0 + 30, -x0 : -x0 + 40] = False
    assert (a[outside] == PAPER).all()


@pytest.mark.parametrize(
    ("box", "why"),
    [
        ((300, 300, 310, 310), "outside"),
        ((-30, 10, -5, 20), "outside"),
        ((10, 10, 10, 20), "zero"),
        ((10, 30, 40, 20), "zero"),
    ],
)
def test_bad_boxes_raise_naming_the_box(box: tuple, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"box {box!r}") + f".*{why}"):
        crop_around_box(page(), box, 64)
    with pytest.raises(ValueError, match=re.escape(f"box {box!r}")):
        make_inpaint_sample(page(), box, "x", resolution=32, crop_side=64, mask_margin=2)


# ---------------------------------------------------------------- glyphs
def test_empty_glyph_text_raises(glyph: GlyphRenderer) -> None:
    for text in ("", "   \n"):
        with pytest.raises(ValueError, match="glyph text is empty"):
            render_glyph(text, glyph.font_path)
    with pytest.raises(ValueError, match="glyph text is empty"):
        glyph.pixel_values(["ok", ""])


def ink(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    return np.nonzero(np.asarray(image.convert("L")) < 128)


def test_glyph_image_fits_short_and_long_strings(glyph: GlyphRenderer) -> None:
    h, w = glyph.canvas
    short = glyph.image("Ab")
    assert short.size == (w, h) and short.mode == "RGB"
    ys, xs = ink(short)
    assert len(xs) > 20 and xs.min() >= glyph.margin - 1 and xs.max() < w // 3  # left-aligned
    assert ys.min() >= 1 and ys.max() < h - 1
    long = "Invoice 2024-0093 Dr. Maximilian Mustermann-Schmidt, Hauptstrasse 117, 80331 Muenchen W"
    ys2, xs2 = ink(glyph.image(long))
    assert xs2.max() > 0.8 * w  # it uses the width ...
    assert xs2.max() < w - glyph.margin + 1  # ... and its last character is not clipped
    assert ys2.max() - ys2.min() < ys.max() - ys.min()  # smaller font for the long string
    assert glyph.image(long) != glyph.image(long[:-1])  # the last character is drawn


def test_processor_output_shape_and_range(glyph: GlyphRenderer) -> None:
    pv = glyph.pixel_values(["Jane Doe", "12.03.1984"])
    assert pv.shape == (2, 3, 32, 32) and pv.dtype == torch.float32
    assert pv.min() >= -1 and pv.max() <= 1 and pv.min() < -0.5 and pv.max() == 1
    assert not torch.all(pv[0] == 1)  # not a blank canvas
    again = pickle.loads(pickle.dumps(glyph))
    assert torch.equal(again.pixel_values(["Jane Doe"])[0], pv[0])
    info = glyph.describe()
    assert info["font_path"] == glyph.font_path and info["canvas"] == [32, 256]
    assert info["processor"]["size"] == {"height": 32, "width": 32}


def test_build_glyph_processor_from_a_local_folder(tmp_path: Path) -> None:
    scratch = build_glyph_processor(image_size=40)
    assert scratch.image_mean == [0.5, 0.5, 0.5] and scratch.image_std == [0.5, 0.5, 0.5]
    scratch.save_pretrained(tmp_path / "proc")
    loaded = build_glyph_processor(str(tmp_path / "proc"))
    assert isinstance(loaded, ViTImageProcessor) and loaded.size == {"height": 40, "width": 40}
    pv = GlyphRenderer(canvas=(32, 128), processor=loaded).pixel_values(["abc"])
    assert pv.shape == (1, 3, 40, 40)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        build_glyph_processor(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(OSError, match="could not load a TrOCR image processor from .*empty"):
        build_glyph_processor(str(tmp_path / "empty"))


# ---------------------------------------------------------------- samples
def test_samples_are_deterministic_per_seed_and_index(samples: InpaintSamples, glyph: GlyphRenderer) -> None:
    a = samples[5]
    b = InpaintSamples(length=16, seed=3, glyph=glyph)[5]
    for key in ("image", "mask", "masked_image", "glyph", "window"):
        assert torch.equal(a[key], b[key])
    assert a["text"] == b["text"]
    assert not torch.equal(samples[6]["image"], a["image"])
    assert not torch.equal(InpaintSamples(length=16, seed=4, glyph=glyph)[5]["image"], a["image"])


def test_sample_text_is_the_run_of_words_under_the_mask(samples: InpaintSamples) -> None:
    for i in range(len(samples)):
        choice = samples.pick(i)
        s = samples[i]
        assert s["text"] == choice.text == " ".join(w.text for w in choice.words) and s["glyph_matches"]
        assert 1 <= len(choice.words) <= samples.max_words
        x0, y0, x1, y1 = choice.box
        inside = [
            w for w in choice.crop.words
            if x0 <= (w.box[0] + w.box[2]) / 2 <= x1 and y0 <= (w.box[1] + w.box[3]) / 2 <= y1
        ]
        assert sorted(inside, key=lambda w: w.box[0]) == choice.words
        wx0, wy0, wx1, _ = s["window"].tolist()
        scale = samples.resolution / (wx1 - wx0)
        for w in choice.words:  # each word's centre is masked in the sample
            cx, cy = ((w.box[0] + w.box[2]) / 2 - wx0) * scale, ((w.box[1] + w.box[3]) / 2 - wy0) * scale
            assert s["mask"][0, int(cy), int(cx)] == 1
        assert s["mask"].mean() < 0.9  # context remains


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_random_glyph_fraction(fraction: float, glyph: GlyphRenderer) -> None:
    ds = InpaintSamples(length=6, seed=1, glyph=glyph, random_glyph_fraction=fraction)
    for i in range(len(ds)):
        s = ds[i]
        assert s["glyph_matches"] is (fraction == 0.0)
        assert (s["glyph_text"] == s["text"]) is (fraction == 0.0)
        assert torch.equal(s["glyph"], glyph.pixel_values([s["glyph_text"]])[0])


# ---------------------------------------------------------------- DataModule and config
def check_batch(batch: dict, b: int, r: int, s: int) -> None:
    assert batch["image"].shape == batch["masked_image"].shape == (b, 3, r, r)
    assert batch["mask"].shape == (b, 1, r, r) and batch["glyph"].shape == (b, 3, s, s)
    assert batch["window"].shape == (b, 4) and batch["glyph_matches"].dtype == torch.bool
    assert batch["glyph_matches"].shape == (b,)
    assert isinstance(batch["text"], list) and len(batch["text"]) == b
    assert all(isinstance(t, str) and t for t in batch["text"])
    assert batch["image"].min() >= -1 and batch["image"].max() <= 1
    assert torch.equal(batch["masked_image"], batch["image"] * (batch["mask"] < 0.5))


def test_datamodule_batches_with_workers() -> None:
    dm = InpaintDataModule(
        resolution=32, crop_side=48, source_size=96, batch_size=4, num_workers=2, train_size=8, val_size=4,
        glyph={"canvas": [32, 128], "processor": {"image_size": 24}},
        synthetic={"style": {"font_size": [10, 18]}},
    )
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    check_batch(batch, 4, 32, 24)
    val = next(iter(dm.val_dataloader()))
    check_batch(val, 4, 32, 24)
    assert torch.equal(val["image"], next(iter(dm.val_dataloader()))["image"])
    assert val["text"] != batch["text"]
    assert dm.describe()["glyph"]["canvas"] == [32, 128]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"resolution": 4}, "data.resolution"),
        ({"crop_side": 0}, "data.crop_side"),
        ({"source_size": 32, "crop_side": 64}, "data.source_size"),
        ({"mask_margin": -1}, "data.mask_margin"),
        ({"max_words": 0}, "data.max_words"),
        ({"random_glyph_fraction": 1.5}, "data.random_glyph_fraction"),
        ({"batch_size": 0}, "data.batch_size"),
        ({"num_workers": -1}, "data.num_workers"),
        ({"train_size": 0}, "data.train_size"),
        ({"glyph": {"colour": "red"}}, "data.glyph"),
        ({"glyph": {"processor": {"size": 3}}}, "data.glyph.processor"),
        ({"synthetic": {"fonts": []}}, "data.synthetic"),
    ],
)
def test_datamodule_validation_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=re.escape(field)):
        InpaintDataModule(**kwargs)


def test_config_instantiates() -> None:
    cfg = OmegaConf.load(CONF_DIR / "data" / "inpaint_synthetic.yaml")
    assert cfg.glyph.processor.pretrained is None and list(cfg.glyph.canvas) == [32, 256]
    cfg.seed = 0
    cfg.num_workers = 0
    cfg.train_size = 8
    dm = hydra.utils.instantiate(cfg)
    assert isinstance(dm, InpaintDataModule)
    dm.setup("fit")
    check_batch(next(iter(dm.train_dataloader())), 8, 64, 64)


# ---------------------------------------------------------------- plain strings
def test_plain_samples_hide_the_whole_string_under_the_mask(glyph: GlyphRenderer) -> None:
    from anonymizer.data.plain_samples import PlainTextSamples

    ds = PlainTextSamples(length=6, seed=1, resolution=32, crop_side=48, source_size=80, chars=(2, 4),
                          font_size=(18, 22), glyph=glyph)
    for i in range(len(ds)):
        item, again = ds[i], ds[i]
        assert torch.equal(item["image"], again["image"]) and item["text"] == again["text"]
        assert item["text"].isdigit() and 2 <= len(item["text"]) <= 4
        assert torch.equal(item["glyph"], glyph.pixel_values([item["text"]])[0]) and item["glyph_matches"]
        ink = item["image"].mean(0) < 0  # dark pixels
        assert ink.any() and not (ink & (item["mask"][0] < 0.5)).any()  # all the ink is masked
        assert torch.equal(item["masked_image"], item["image"] * (item["mask"] < 0.5))
    assert {ds[i]["text"] for i in range(len(ds))} != {ds[0]["text"]}
    with pytest.raises(ValueError, match="does not fit"):
        PlainTextSamples(length=1, source_size=40, font_size=(40, 40), glyph=glyph).pick(0)


def test_datamodule_plain_source_and_text_height_range() -> None:
    common = dict(resolution=32, crop_side=48, source_size=80, batch_size=4, num_workers=0, train_size=8, val_size=4,
                  glyph={"canvas": [32, 96], "processor": {"image_size": 24}})
    dm = InpaintDataModule(**common, plain={"chars": [3, 3], "font_size": [20, 20]})
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    check_batch(batch, 4, 32, 24)
    assert all(len(t) == 3 and t.isdigit() for t in batch["text"]) and dm.describe()["plain"]["chars"] == [3, 3]
    low, high = dm.text_height_range()
    assert low == high == dm.train_set.text_heights(1)[0]  # one size and digits of one height
    synthetic = InpaintDataModule(**common, synthetic={"style": {"font_size": [10, 18]}})
    assert synthetic.text_height_range() is None  # before setup
    synthetic.setup("fit")
    low, high = synthetic.text_height_range(n=32)
    assert 3 < low < high < 30
    with pytest.raises(ValueError, match="data.records and data.plain"):
        InpaintDataModule(**common, plain={}, records={"train": "x.jsonl"})
