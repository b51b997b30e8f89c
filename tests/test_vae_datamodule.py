"""The VAE DataModule: batches, sources, train/val split and bad page images."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from anonymizer.data.vae_datamodule import VAEDataModule

SYNTH = {"train_size": 12, "val_size": 4}


def page(path: Path, size: tuple[int, int] = (200, 160)) -> Path:
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    for y in range(10, size[1] - 10, 14):
        draw.text((8, y), "Invoice 4821 total 12.50 EUR", fill="black")
    img.save(path)
    return path


def test_synthetic_batches_have_shape_and_range() -> None:
    dm = VAEDataModule(crop_size=32, batch_size=4, num_workers=0, synthetic=SYNTH)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (4, 3, 32, 32) and batch["image"].dtype == torch.float32
    assert batch["image"].min() >= -1 and batch["image"].max() <= 1
    val = torch.cat([b["image"] for b in dm.val_dataloader()])
    assert val.shape[0] == 4
    val_again = torch.cat([b["image"] for b in dm.val_dataloader()])
    assert torch.equal(val, val_again)  # deterministic
    assert not any(torch.equal(val[0], t) for t in batch["image"])  # val differs from train


def test_workers_produce_the_same_crops() -> None:
    a = VAEDataModule(crop_size=32, batch_size=4, num_workers=0, synthetic=SYNTH)
    b = VAEDataModule(crop_size=32, batch_size=4, num_workers=2, synthetic=SYNTH)
    a.setup()
    b.setup()
    assert torch.equal(
        torch.cat([x["image"] for x in a.val_dataloader()]), torch.cat([x["image"] for x in b.val_dataloader()])
    )


def test_bad_images_are_skipped_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for i in range(3):
        page(tmp_path / f"good{i}.png")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not an image")
    data = (tmp_path / "good0.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[: len(data) // 2])
    Image.new("RGB", (20, 20), "white").save(tmp_path / "tiny.png")
    Image.fromarray(np.zeros((40, 40), dtype=np.float32), mode="F").save(tmp_path / "float.tiff")
    dm = VAEDataModule(
        crop_size=32, batch_size=2, num_workers=0, image_dir=str(tmp_path),
        image_crops={"train_size": 6, "val_size": 2, "val_fraction": 0.34},
    )
    with caplog.at_level(logging.WARNING):
        dm.setup("fit")
    skipped = {p.name: reason for p, reason in dm.skipped}
    assert set(skipped) == {"empty.png", "text.jpg", "truncated.png", "tiny.png", "float.tiff"}
    assert dm.describe()["skipped_images"] == 5
    for name in skipped:
        assert name in caplog.text
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (2, 3, 32, 32)
    assert len(dm.val_set) == 2


def test_nothing_usable_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "b.png").write_text("junk")
    dm = VAEDataModule(crop_size=32, num_workers=0, image_dir=str(tmp_path), image_crops={"val_fraction": 0.5})
    with pytest.raises(RuntimeError, match="no usable page images .* 2 skipped"):
        dm.setup("fit")
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    with pytest.raises(RuntimeError, match="no PNG/JPEG/TIFF"):
        VAEDataModule(crop_size=32, num_workers=0, image_dir=str(empty)).setup("fit")


def test_mixed_sources_concatenate(tmp_path: Path) -> None:
    for i in range(2):
        page(tmp_path / f"p{i}.png")
    dm = VAEDataModule(
        crop_size=32, batch_size=2, num_workers=0, synthetic=SYNTH, image_dir=str(tmp_path),
        image_crops={"train_size": 5, "val_size": 3, "val_fraction": 0.5},
    )
    dm.setup("fit")
    assert len(dm.train_set) == 12 + 5 and len(dm.val_set) == 4 + 3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": -2}, "batch_size"),
        ({"crop_size": 4}, "crop_size"),
        ({"num_workers": -1}, "num_workers"),
        ({"synthetic": None}, "synthetic source, an image_dir"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    args = {"synthetic": SYNTH, **kwargs}
    with pytest.raises(ValueError, match=message):
        VAEDataModule(**args)


def test_unknown_keys_and_bad_fraction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        VAEDataModule(synthetic={**SYNTH, "sizee": 3}).setup()
    page(tmp_path / "p.png")
    with pytest.raises(ValueError, match="val_fraction"):
        VAEDataModule(synthetic=None, image_dir=str(tmp_path), image_crops={"val_fraction": 1.5}).setup()
