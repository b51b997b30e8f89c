"""Training data from page records: VAE crops, inpainting samples, DataModules, configs, logging."""

from __future__ import annotations

import csv
import json
import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch.loggers import WandbLogger
from PIL import Image, ImageDraw, ImageFont

from anonymizer.core.fonts import find_fonts
from anonymizer.core.records import Entity, PageRecord, Word, write_records
from anonymizer.data.glyphs import GlyphRenderer
from anonymizer.data.inpaint_datamodule import InpaintDataModule
from anonymizer.data.inpaint_samples import box_mask
from anonymizer.data.record_crops import RecordCrops, load_record_splits
from anonymizer.data.record_inpaint import RecordInpaintSamples
from anonymizer.data.vae_datamodule import VAEDataModule
from anonymizer.train import train
from anonymizer.training.callbacks.image_logger import ImageLogger, make_caption
from tests.conftest import INPAINT_OVERRIDES, TINY_OVERRIDES, compose_train

PAPER = (250, 248, 240)
SIZE = (300, 200)
# Word texts: none of them may show up in a log message.
DOC_A = [[["Invoice", "4821"], ["Jane", "Doe", "Paris"], ["Total", "12.50", "EUR"]],
         [["Vendor", "Acme"], ["Amount", "990"]]]  # two TIFF pages
DOC_B = [["Phone", "555-0199"], ["Ref", "QX7", "Berlin"]]
SROIE = ["TOTAL RM 12.50", "CASHIER KAREN"]
ALL_TEXTS = {w for page in DOC_A for line in page for w in line} | {w for line in DOC_B for w in line} | set(SROIE)


def _font() -> ImageFont.FreeTypeFont:
    face = next(
        f for f in find_fonts(families=["DejaVuSans"]) if f.family == "DejaVuSans" and not f.bold and not f.italic
    )
    return ImageFont.truetype(face.path, 14)


def _draw(lines: list[list[str]], line_ids: bool = True) -> tuple[Image.Image, list[Word]]:
    """``lines`` of words drawn left to right at 18 px gaps, 30 px apart; their ink boxes."""
    image = Image.new("RGB", SIZE, PAPER)
    draw, font, words = ImageDraw.Draw(image), _font(), []
    for k, line in enumerate(lines):
        x = 20
        for text in line:
            draw.text((x, 30 + 40 * k), text, font=font, fill=(15, 15, 15))
            box = draw.textbbox((x, 30 + 40 * k), text, font=font)
            words.append(Word(text, tuple(float(v) for v in box), line=k if line_ids else None))
            x = box[2] + 18
    return image, words


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """records.jsonl: a 2-page TIFF (A), a PNG without line ids (B), a line-level SROIE-like
    PNG, a page whose file is missing and one corrupt line; bad.jsonl: a good and a truncated page."""
    root = tmp_path_factory.mktemp("records")
    pages = [_draw(lines) for lines in DOC_A]
    pages[0][0].save(root / "a.tif", save_all=True, append_images=[pages[1][0]])
    image_b, words_b = _draw(DOC_B, line_ids=False)
    image_b.save(root / "b.png")
    image_s, words_s = _draw([[t] for t in SROIE], line_ids=False)
    words_s = [Word(w.text, w.box, quad=((w.box[0], w.box[1]), (w.box[2], w.box[1]), (w.box[2], w.box[3]),
                                        (w.box[0], w.box[3]))) for w in words_s]
    image_s.save(root / "sroie.png")
    records = [
        PageRecord("a/0", "a.tif", *SIZE, words=pages[0][1], page=0, source="t", split="train",
                   entities=[Entity("PERSON", (2, 3), True, id=0), Entity("question", (0,), False, id=1)]),
        PageRecord("a/1", "a.tif", *SIZE, words=pages[1][1], page=1, source="t", split="train"),
        PageRecord("b", "b.png", *SIZE, words=words_b, source="t", split="test"),
        PageRecord("sroie", "sroie.png", *SIZE, words=words_s, source="t", split="train"),
        PageRecord("gone", "missing.png", *SIZE, words=[Word("Secret", (10, 10, 50, 30))], source="t", split="train"),
    ]
    path = root / "records.jsonl"
    write_records(path, records)
    with path.open("a") as f:
        f.write('{"schema": "anonymizer.page/1", "id": "broken", "words": [\n')
    data = (root / "b.png").read_bytes()
    (root / "truncated.png").write_bytes(data[: len(data) // 3])
    bad = root / "bad.jsonl"
    write_records(bad, [records[2], PageRecord("cut", "truncated.png", *SIZE, words=words_b, source="t")])
    return {"path": path, "bad": bad, "root": root}


@pytest.fixture(scope="module")
def splits(data: dict):
    return load_record_splits({"train": str(data["path"]), "val_fraction": 0.0})


@pytest.fixture(scope="module")
def glyph() -> GlyphRenderer:
    return GlyphRenderer(canvas=(32, 256), processor={"image_size": 32})


def _dark(a: np.ndarray) -> np.ndarray:
    return a.min(axis=2) < 128


# ------------------------------------------------------------------- files, checks, split
def test_invalid_lines_and_unusable_pages_are_reported_and_skipped(
    data: dict, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        s = load_record_splits({"train": str(data["path"]), "val_fraction": 0.1})
    assert s.describe() == {"train_pages": 2, "val_pages": 2, "invalid_record_lines": 1, "skipped_pages": 1}
    assert "skipped 1 invalid record line(s)" in caplog.text and "records.jsonl:6: invalid JSON" in caplog.text
    assert "'gone'" in caplog.text and "missing.png" in caplog.text
    assert not any(t in caplog.text for t in ALL_TEXTS | {"Secret"})  # never word text
    # 3 usable documents, none hashes below 0.1: the lowest is held out, with both its TIFF pages
    assert [r.id for r in s.val] == ["a/0", "a/1"] and [r.id for r in s.train] == ["b", "sroie"]
    again = load_record_splits({"train": str(data["path"]), "val_fraction": 0.1})
    assert [r.id for r in again.val] == [r.id for r in s.val]
    # the records' own split field
    by_field = load_record_splits({"train": str(data["path"]), "val_splits": ["test"]})
    assert [r.id for r in by_field.val] == ["b"] and [r.id for r in by_field.train] == ["a/0", "a/1", "sroie"]


def test_no_usable_page_is_a_clear_error(data: dict, tmp_path: Path) -> None:
    path = tmp_path / "only_bad.jsonl"
    lines = data["path"].read_text().splitlines()
    missing = f'"{data["root"] / "missing.png"}"'
    path.write_text("\n".join(line.replace('"missing.png"', missing) for line in lines[4:]) + "\n")
    with pytest.raises(RuntimeError, match=r"no usable training pages in .*only_bad\.jsonl: 1 valid record\(s\), "
                       r"1 invalid line\(s\), 1 page\(s\) skipped \(gone: .*missing\.png"):
        VAEDataModule(crop_size=32, num_workers=0, synthetic=None, records={"train": str(path)}).setup()
    with pytest.raises(RuntimeError, match="no usable training pages in .*only_bad.jsonl"):
        InpaintDataModule(num_workers=0, records={"train": str(path)}).setup()
    with pytest.raises(ValueError, match=r"data.records has unknown keys: \['trian'\]"):
        VAEDataModule(synthetic=None, records={"trian": "x"})
    with pytest.raises(FileNotFoundError, match="nope.jsonl does not exist"):
        VAEDataModule(synthetic=None, records={"train": str(tmp_path / "nope.jsonl")}).setup()


def test_a_page_that_fails_to_decode_is_skipped_at_first_use(
    data: dict, caplog: pytest.LogCaptureFixture, glyph
) -> None:
    s = load_record_splits({"train": str(data["bad"]), "val_fraction": 0.0})
    assert [r.id for r in s.train] == ["b", "cut"]  # the headers of the truncated PNG are fine
    crops = RecordCrops(s.train, crop_size=48, length=10, seed=0, cache_pages=0)
    with caplog.at_level(logging.WARNING):
        items = [crops.pick(i) for i in range(10)]
        samples = RecordInpaintSamples(s.train, length=6, seed=0, resolution=32, crop_side=32, glyph=glyph)
        texts = [samples[i]["text"] for i in range(6)]
    assert {c.record_index for c in items} == {0}
    assert all(t in ALL_TEXTS or " " in t for t in texts)
    warnings = [r.getMessage() for r in caplog.records if "'cut'" in r.getMessage()]
    assert len(warnings) == 2 and "truncated.png" in warnings[0]  # once per dataset (per process)
    assert not any(t in caplog.text for t in ALL_TEXTS)


# ------------------------------------------------------------------------- VAE crops
def test_crops_show_the_chosen_word_and_list_the_words_inside(splits) -> None:
    crops = RecordCrops(splits.train, crop_size=64, length=24, seed=0, line_prob=0.0)
    offsets = []
    for i in range(len(crops)):
        choice, crop = crops.pick(i), crops[i]
        record = splits.train[choice.record_index]
        (w,) = [record.words[k] for k in choice.words]
        assert crop.image.size == (64, 64) and choice.scale == 1.0
        x0, y0 = choice.x0, choice.y0
        box = (w.box[0] - x0, w.box[1] - y0, w.box[2] - x0, w.box[3] - y0)
        if box[2] - box[0] <= 64:  # fits: fully inside and listed
            assert next(c for c in crop.words if c.text == w.text).box == pytest.approx(box)
            offsets.append(box[0])
        else:  # a long (line-level) word: the window lies within its span
            assert box[0] <= 0 and box[2] >= 64 and w.text not in {c.text for c in crop.words}
        ink = _dark(np.asarray(crop.image))
        x_lo, x_hi = max(int(box[0]), 0), min(int(np.ceil(box[2])), 64)
        assert ink[int(box[1]):int(np.ceil(box[3])), x_lo:x_hi].sum() > 10  # the word's ink is there
        # the listed words are exactly the record's words fully inside the window
        inside = {v.text for v in record.words
                  if v.box[0] >= x0 and v.box[1] >= y0 and v.box[2] <= x0 + 64 and v.box[3] <= y0 + 64}
        assert {c.text for c in crop.words} == inside
        assert all(0 <= c.box[0] < c.box[2] <= 64 and 0 <= c.box[1] < c.box[3] <= 64 for c in crop.words)
        page = np.asarray(crops.page(choice.record_index).image)
        assert np.array_equal(np.asarray(crop.image), page[int(y0):int(y0) + 64, int(x0):int(x0) + 64])
    assert len(offsets) > 10 and np.std(offsets) > 3  # jittered, not always centred
    lines = RecordCrops(splits.train, crop_size=64, length=8, seed=0, line_prob=1.0)
    assert any(len(lines.pick(i).words) > 1 for i in range(8))


def test_text_height_rescale_gives_the_configured_heights(splits) -> None:
    crops = RecordCrops(splits.train, crop_size=64, length=16, seed=2, line_prob=0.0, text_height=[20, 20])
    for i in range(len(crops)):
        choice, crop = crops.pick(i), crops[i]
        w = splits.train[choice.record_index].words[choice.words[0]]
        assert choice.scale == pytest.approx(20 / (w.box[3] - w.box[1]))
        x0, y0, x1, y1 = ((v - o) * choice.scale for v, o in zip(w.box, (choice.x0, choice.y0) * 2))
        assert y1 - y0 == pytest.approx(20.0)
        if x1 - x0 <= 64:
            assert next(c for c in crop.words if c.text == w.text).box == pytest.approx((x0, y0, x1, y1))
        rows = np.nonzero(_dark(np.asarray(crop.image))[:, max(int(x0), 0):min(int(np.ceil(x1)), 64)].any(axis=1))[0]
        rows = rows[(rows >= y0 - 2) & (rows <= y1 + 2)]
        assert rows.size and 12 <= rows[-1] - rows[0] + 1 <= 22  # the ink is about 20 px tall
    ranged = RecordCrops(splits.train, crop_size=64, length=16, seed=2, line_prob=0.5, text_height=[12, 24])
    heights = []
    for i in range(len(ranged)):
        c = ranged.pick(i)
        record = splits.train[c.record_index]
        heights.append(float(np.median([record.words[k].box[3] - record.words[k].box[1] for k in c.words])) * c.scale)
    assert min(heights) >= 12 - 1e-6 and max(heights) <= 24 + 1e-6 and np.std(heights) > 1


def test_crops_are_deterministic_picklable_and_load_in_workers(data: dict, splits) -> None:
    crops = RecordCrops(splits.train, crop_size=32, length=8, seed=5, text_height=[8, 16])
    again = pickle.loads(pickle.dumps(crops))
    assert not again._cache  # the page cache is not pickled
    for i in range(4):
        assert np.array_equal(np.asarray(crops[i].image), np.asarray(again[i].image))
        assert crops[i].words == again[i].words and crops[i].text == again[i].text
    other = RecordCrops(splits.train, crop_size=32, length=8, seed=6, text_height=[8, 16])
    assert not all(np.array_equal(np.asarray(crops[i].image), np.asarray(other[i].image)) for i in range(4))
    spec = {"train": str(data["path"]), "val_fraction": 0.1, "train_size": 8, "val_size": 4, "text_height": [8, 16]}
    batches = []
    for workers in (0, 1):
        dm = VAEDataModule(crop_size=32, batch_size=4, num_workers=workers, synthetic=None, records=spec)
        dm.setup("fit")
        batches.append(torch.cat([b["image"] for b in dm.val_dataloader()]))
        assert next(iter(dm.train_dataloader()))["image"].shape == (4, 3, 32, 32)
    assert batches[0].shape == (4, 3, 32, 32) and torch.equal(batches[0], batches[1])  # same crops in a worker
    assert dm.describe()["records"] == {"train_pages": 2, "val_pages": 2, "invalid_record_lines": 1, "skipped_pages": 1}
    mixed = VAEDataModule(crop_size=32, num_workers=0, synthetic={"train_size": 5, "val_size": 2}, records=spec)
    mixed.setup()
    assert len(mixed.train_set) == 5 + 8 and len(mixed.val_set) == 2 + 4


# --------------------------------------------------------------------- inpainting samples
def _line_of(record: PageRecord, words: tuple[int, ...]) -> list[int]:
    return next(line for line in record.lines() if words[0] in line)


def test_inpaint_samples_mask_the_run_and_show_its_text(splits, glyph: GlyphRenderer) -> None:
    ds = RecordInpaintSamples(splits.train, length=16, seed=1, resolution=32, crop_side=64, mask_margin=2,
                              max_words=3, glyph=glyph)
    for i in range(len(ds)):
        run, s = ds.pick(i), ds[i]
        record = splits.train[run.record_index]
        line = _line_of(record, run.words)
        start = line.index(run.words[0])
        assert list(run.words) == line[start:start + len(run.words)] and 1 <= len(run.words) <= 3  # consecutive
        assert s["text"] == s["glyph_text"] == " ".join(record.words[k].text for k in run.words) and s["glyph_matches"]
        assert torch.equal(s["glyph"], glyph.pixel_values([s["text"]])[0])
        wx0, wy0, wx1, wy1 = s["window"].tolist()
        assert wx1 - wx0 == wy1 - wy0 >= 64
        scale = 32 / (wx1 - wx0)
        box = [(v - o) * scale for v, o in zip(run.box, (wx0, wy0, wx0, wy0))]
        assert torch.equal(s["mask"][0], torch.from_numpy(box_mask(32, box, 2 * scale)))  # exactly the run's box
        assert torch.equal(s["masked_image"], s["image"] * (s["mask"] < 0.5))
    b = RecordInpaintSamples(splits.train, length=16, seed=1, resolution=32, crop_side=64, glyph=glyph)
    c = RecordInpaintSamples(splits.train, length=16, seed=2, resolution=32, crop_side=64, glyph=glyph)
    for key in ("image", "mask", "glyph", "window"):
        assert torch.equal(ds[3][key], b[3][key])
    assert [ds[i]["text"] for i in range(8)] != [c[i]["text"] for i in range(8)]


def test_inpaint_text_height_line_level_words_and_filters(splits, glyph: GlyphRenderer) -> None:
    scaled = RecordInpaintSamples(splits.train, length=8, seed=0, resolution=64, crop_side=64, mask_margin=0,
                                  max_words=1, text_height=[12, 12], glyph=glyph)
    mask_heights = []
    for i in range(len(scaled)):
        run, s = scaled.pick(i), scaled[i]
        words = [splits.train[run.record_index].words[k] for k in run.words]
        assert np.median([w.box[3] - w.box[1] for w in words]) * run.scale == pytest.approx(12)
        rows = torch.nonzero(s["mask"][0].any(dim=1)).flatten()
        wx0, _, wx1, _ = s["window"].tolist()
        mask_heights.append(int(rows[-1] - rows[0] + 1))
        assert abs(mask_heights[-1] - (run.box[3] - run.box[1]) * 64 / (wx1 - wx0)) <= 2  # window resized to 64
    assert any(11 <= h <= 14 for h in mask_heights)  # an unwidened window: the text is 12 px tall
    sroie = [r for r in splits.train if r.id == "sroie"]
    lines = RecordInpaintSamples(sroie, length=6, seed=0, resolution=32, crop_side=32, max_words=1, glyph=glyph)
    assert {lines[i]["text"] for i in range(6)} <= set(SROIE) and {len(lines.pick(i).words) for i in range(6)} == {1}
    whole = RecordInpaintSamples(splits.train, length=12, seed=0, resolution=32, crop_side=32, max_words=1,
                                 whole_line_prob=1.0, glyph=glyph)
    assert any(len(whole.pick(i).words) > 1 for i in range(12))
    pii = RecordInpaintSamples(
        splits.train, length=8, seed=0, resolution=32, crop_side=32, only_sensitive=True, glyph=glyph
    )
    assert {pii[i]["text"] for i in range(8)} <= {"Jane", "Doe", "Jane Doe"}
    with pytest.raises(ValueError, match="none of the 4 page record"):
        RecordInpaintSamples(splits.train, length=4, min_text_height=500, glyph=glyph)


def test_inpaint_datamodule_with_records(data: dict) -> None:
    dm = InpaintDataModule(resolution=32, crop_side=32, batch_size=4, num_workers=0, train_size=8, val_size=4,
                           glyph={"canvas": [32, 128], "processor": {"image_size": 24}},
                           records={"train": str(data["path"]), "val_splits": ["test"], "text_height": [10, 16]})
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (4, 3, 32, 32) and batch["glyph"].shape == (4, 3, 24, 24)
    assert all(t for t in batch["text"]) and batch["glyph_matches"].all()
    val = next(iter(dm.val_dataloader()))
    phrases = {"Phone", "555-0199", "Ref", "QX7", "Berlin", "Ref QX7", "QX7 Berlin", "Ref QX7 Berlin", "Phone 555-0199"}
    assert all(t in phrases for t in val["text"])
    info = dm.describe()
    assert info["log_text"] is False and info["records"]["val_pages"] == 1 and info["resolution"] == 32
    assert dm.text_height_range() == [10.0, 16.0]  # what the export records: the configured range
    page_scale = RecordInpaintSamples(dm.record_splits.train, length=64, seed=0, glyph=dm.glyph)
    heights = page_scale.text_heights(64)
    words = [w.box[3] - w.box[1] for r in dm.record_splits.train for w in r.words if w.text.strip()]
    assert heights and set(heights) <= set(words)  # without a range: the usable words' own heights
    assert InpaintDataModule(num_workers=0).log_text is True  # synthetic text may be logged
    pii = InpaintDataModule(
        num_workers=0, records={"train": str(data["path"]), "val_splits": ["test"], "only_sensitive": True}
    )
    with pytest.raises(RuntimeError, match=r"no usable val pages in .*records\.jsonl: "
                       r".*none of the 1 page record\(s\) has words of sensitive entities"):
        pii.setup()


# -------------------------------------------------------------------- text logging switch
class _Wandb(WandbLogger):
    def __init__(self) -> None:  # no run: only records what would be logged
        self.logged: list[dict] = []

    def log_image(self, key, images, step=None, **kwargs) -> None:
        self.logged.append({"key": key, "images": images, **kwargs})


class _Module:
    training = False

    def eval(self) -> None: ...

    def train(self, mode: bool = True) -> None: ...

    def log_images(self, batch, max_images: int = 4) -> dict:
        n = min(max_images, batch["image"].shape[0])
        return {"masked_input": batch["image"][:n], "glyph": batch["image"][:n], "target": batch["image"][:n]}


@pytest.mark.parametrize("log_text", [False, True])
def test_image_captions_show_texts_only_when_allowed(log_text: bool, tmp_path: Path) -> None:
    wandb = _Wandb()
    trainer = type("T", (), {"loggers": [wandb], "global_step": 3,
                             "datamodule": type("D", (), {"log_text": log_text})()})()
    batch = {"image": torch.zeros(3, 3, 8, 8), "text": ["Jane Doe", "Paris", "12.50"]}
    ImageLogger(max_images=2, save_dir=str(tmp_path))._log(trainer, _Module(), batch, "val")
    (entry,) = wandb.logged
    caption = entry["caption"][0]
    if log_text:
        assert caption == "masked_input | glyph | target / rows: 'Jane Doe'; 'Paris'"
        assert entry["images"][0].width == 3 * 8 + 2 * 2
    else:
        assert caption == "masked_input | target / rows: 8 chars; 5 chars"  # glyph panel renders the text: left out
        assert entry["images"][0].width == 2 * 8 + 2
    assert (tmp_path / "val_step0000003.png").is_file()
    assert make_caption(["input", "reconstruction"], None, False) == "input | reconstruction"


# ------------------------------------------------------------- training through the configs
def _vae_overrides(data: dict) -> list[str]:
    return [o for o in TINY_OVERRIDES if not o.startswith("data.synthetic.")] + [
        "data=vae_records", f"data.records.train={data['path']}", "data.records.val_fraction=0.1",
        "data.records.train_size=16", "data.records.val_size=4", "data.records.text_height=[8,16]",
    ]


def _finite_losses(out: Path) -> None:
    rows = list(csv.DictReader((out / "csv" / "metrics.csv").open()))
    losses = [float(r[k]) for r in rows for k in ("train/loss", "val/loss") if r.get(k)]
    assert losses and all(np.isfinite(losses))


def test_vae_trains_on_records_and_resumes_exactly(data: dict, tmp_path: Path) -> None:
    overrides = _vae_overrides(data) + ["trainer.deterministic=true", "validate_before_fit=false",
                                        "callbacks.export=null", "callbacks.image_logger.every_n_steps=0"]

    def recorded(out: Path, extra: tuple[str, ...] = ()) -> list[str]:
        return overrides + ["+callbacks.recorder._target_=tests.test_resume.BatchRecorder",
                            f"+callbacks.recorder.path={out / 'batches.jsonl'}", *extra]

    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    summary = train(compose_train(straight, recorded(straight)))
    assert summary["global_step"] == 4 and Path(summary["last_checkpoint"]).is_file()
    assert Path(summary["best_checkpoint"]).is_file()
    _finite_losses(straight)
    with pytest.raises(SystemExit):  # SIGTERM after step 2: last.ckpt, exit 143
        train(compose_train(stopped, recorded(stopped, ("+callbacks.stop._target_=tests.test_resume.SignalAt",
                                                        "+callbacks.stop.step=2"))))

    def load(out: Path) -> dict:
        return torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)

    assert load(stopped)["VAEDataModule"]["train_batches_seen"] == 2
    train(compose_train(stopped, recorded(stopped, ("ckpt_path=last",))))
    a, b = load(stopped), load(straight)
    assert a["global_step"] == b["global_step"] == 4 and a["VAEDataModule"]["train_batches_seen"] == 4
    for key, value in b["state_dict"].items():
        torch.testing.assert_close(a["state_dict"][key], value, atol=1e-6, rtol=0)
    batches = [[json.loads(line)["batch"] for line in (out / "batches.jsonl").read_text().splitlines()]
               for out in (stopped, straight)]
    assert batches[0] == batches[1] and len(batches[0]) == 4  # the same record crops in the same order


def test_unet_trains_on_records(data: dict, tmp_path: Path) -> None:
    overrides = INPAINT_OVERRIDES + [
        "data=inpaint_records", f"data.records.train={data['path']}", "data.records.val_fraction=0.1",
        "data.records.text_height=[8,14]", "model.validation.ocr=false", "validate_before_fit=false",
    ]
    cfg = compose_train(tmp_path, overrides, experiment="unet_inpaint")
    assert cfg.data.log_text is False
    summary = train(cfg)
    assert summary["global_step"] == 4 and Path(summary["best_checkpoint"]).is_file()
    assert Path(summary["last_checkpoint"]).is_file() and "val/loss" in summary["metrics"]
    _finite_losses(tmp_path)
    images = sorted((tmp_path / "images").iterdir())
    assert images and Image.open(images[0]).width < 4 * 32  # no glyph panel with log_text false
    config = json.loads((tmp_path / "export" / "text_edit" / "text_edit_config.json").read_text())
    assert config["resolution"] == 32
