"""TextEditPipeline: loads an export, edits only inside dilated boxes, deterministic, clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from anonymizer.pipeline.text_edit import TextEditPipeline
from anonymizer.store.manifest import ManifestError, verify_manifest
from anonymizer.train import train
from tests.conftest import INPAINT_OVERRIDES, compose_train

BOXES = [(55.0, 28.0, 110.0, 42.0), (50.0, 78.0, 120.0, 92.0), (200.0, 150.0, 290.0, 170.0)]
TEXTS = ["Anna Berg", "01/01/1990", "DE89 3704 0044"]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("text_edit")
    summary = train(compose_train(tmp, INPAINT_OVERRIDES + ["debug=fdr"], experiment="unet_inpaint"))
    return Path(summary["export_dir"])


@pytest.fixture(scope="module")
def pipe(export_dir: Path) -> TextEditPipeline:
    return TextEditPipeline.from_pretrained(export_dir)


def page() -> Image.Image:
    img = Image.new("RGB", (300, 200), (250, 248, 240))
    draw = ImageDraw.Draw(img)
    draw.text((20, 30), "Name: John Smith", fill="black")
    draw.text((20, 80), "Date: 12/03/1987", fill="black")
    draw.text((200, 152), "IBAN GB33 BUKB", fill="black")
    return img


def dilated(boxes, margin: int, shape) -> np.ndarray:
    m = np.zeros(shape[:2], bool)
    for x0, y0, x1, y1 in boxes:
        rows = slice(max(int(np.floor(y0 - margin)), 0), int(np.ceil(y1 + margin)))
        cols = slice(max(int(np.floor(x0 - margin)), 0), int(np.ceil(x1 + margin)))
        m[rows, cols] = True
    return m


def test_edit_changes_only_the_dilated_boxes(pipe: TextEditPipeline) -> None:
    original = page()
    edited = pipe(original, BOXES, TEXTS, num_inference_steps=3, seed=1, batch_size=2)
    a, p = np.array(edited), np.array(original)
    assert edited.size == original.size and edited.mode == "RGB"
    inside = dilated(BOXES, pipe.mask_margin, p.shape)
    assert np.array_equal(a[~inside], p[~inside])
    assert (a[inside] != p[inside]).any()
    assert np.array_equal(np.array(original), p)  # the input page is not modified


def test_edit_is_deterministic_for_a_seed(pipe: TextEditPipeline) -> None:
    a = np.array(pipe(page(), BOXES, TEXTS, num_inference_steps=2, seed=7))
    b = np.array(pipe(page(), BOXES, TEXTS, num_inference_steps=2, seed=7))
    c = np.array(pipe(page(), BOXES, TEXTS, num_inference_steps=2, seed=8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_guidance_and_schedulers_run(pipe: TextEditPipeline) -> None:
    for scheduler in ("ddim", "dpm_solver"):
        out = pipe(page(), BOXES[:1], TEXTS[:1], num_inference_steps=2, guidance_scale=3.0, scheduler=scheduler)
        assert out.size == (300, 200)


@pytest.mark.parametrize(
    "boxes, texts, message",
    [
        ([(280.0, 10.0, 320.0, 30.0)], ["x"], "box 0: .* not inside"),
        ([(10.0, 10.0, 10.0, 30.0)], ["x"], "box 0: zero or negative size"),
        ([(30.0, 40.0, 20.0, 50.0)], ["x"], "box 0: zero or negative size"),
        ([(10.0, 10.0, 40.0, 30.0)], ["   "], "box 0: the replacement text is empty"),
        ([(10.0, 10.0, 40.0, 30.0), (1, 2, 3)], ["a", "b"], "box 1: must be four numbers"),
        ([(10.0, 10.0, 40.0, 30.0)], ["a", "b"], "1 boxes but 2 strings"),
        ([(float("nan"), 10.0, 40.0, 30.0)], ["a"], "non-finite"),
    ],
)
def test_bad_boxes_get_clear_errors(pipe: TextEditPipeline, boxes, texts, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pipe(page(), boxes, texts, num_inference_steps=1)


def test_no_boxes_returns_an_identical_copy(pipe: TextEditPipeline) -> None:
    original = page()
    assert np.array_equal(np.array(pipe(original, [], [])), np.array(original))


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a text-edit export"):
        TextEditPipeline.from_pretrained(tmp_path)


def test_the_export_manifest_is_verified_on_load(export_dir: Path, tmp_path: Path) -> None:
    manifest = verify_manifest(export_dir, kind="text_edit")
    assert manifest["export"]["resolution"] == 32 and "source_checkpoint" in manifest["export"]
    damaged = shutil.copytree(export_dir, tmp_path / "text_edit")
    weights = damaged / "vae" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1])
    with pytest.raises(ManifestError, match="vae/diffusion_pytorch_model.safetensors: size"):
        TextEditPipeline.from_pretrained(damaged)


def test_exports_never_clip_and_old_exports_load_without_clipping(export_dir: Path, tmp_path: Path, caplog) -> None:
    import json

    from anonymizer.store.manifest import read_manifest, write_manifest

    saved = json.loads((export_dir / "scheduler" / "scheduler_config.json").read_text())
    assert saved["clip_sample"] is False
    old = shutil.copytree(export_dir, tmp_path / "old")
    (old / "scheduler" / "scheduler_config.json").write_text(json.dumps({**saved, "clip_sample": True}))
    manifest = read_manifest(old)
    (old / "manifest.json").unlink()
    write_manifest(old, manifest["kind"], manifest["export"])
    with caplog.at_level("WARNING"):
        pipe = TextEditPipeline.from_pretrained(old)
    assert "clip_sample" in caplog.text
    assert pipe.scheduler.config.clip_sample is False


def test_a_box_result_depends_neither_on_batch_size_nor_on_box_order(pipe: TextEditPipeline) -> None:
    one = np.array(pipe(page(), BOXES, TEXTS, num_inference_steps=2, seed=5, batch_size=1)).astype(int)
    batched = np.array(pipe(page(), BOXES[::-1], TEXTS[::-1], num_inference_steps=2, seed=5, batch_size=3)).astype(int)
    alone = np.array(pipe(page(), BOXES[2:], TEXTS[2:], num_inference_steps=2, seed=5)).astype(int)
    assert np.abs(one - batched).max() <= 1
    x0, y0, x1, y1 = (int(v) for v in BOXES[2])
    assert np.abs(one[y0:y1, x0:x1] - alone[y0:y1, x0:x1]).max() <= 1


def test_boxes_are_resampled_into_the_trained_text_height_and_back(pipe: TextEditPipeline, monkeypatch) -> None:
    import copy

    import torch

    import anonymizer.pipeline.text_edit as text_edit

    narrow = copy.copy(pipe)
    narrow.text_height = (10.0, 12.0)
    big, small, inside = (40.0, 60.0, 80.0, 100.0), (150.0, 100.0, 170.0, 104.0), (200.0, 150.0, 230.0, 161.0)
    assert narrow.text_scale(big) == pytest.approx(12 / 40) and narrow.text_scale(small) == pytest.approx(10 / 4)
    assert narrow.text_scale(inside) == 1.0
    unrecorded = copy.copy(pipe)
    unrecorded.text_height = None  # an export from before the range was recorded: the page scale
    assert unrecorded.text_scale(big) == 1.0 and unrecorded.prepare(page(), big, "x").scale == 1.0
    assert pipe.text_height == tuple(pipe.config["text_height"])
    for box, height in ((big, 12), (small, 10), (inside, 11)):
        job = narrow.prepare(page(), box, "x")
        window = job.sample["window"].tolist()
        rows = int(job.sample["mask"][0].amax(dim=1).sum())
        expected = (height + 2 * pipe.mask_margin) * pipe.resolution / (window[2] - window[0])
        assert abs(rows - expected) <= 2, (box, rows, expected)
    # the model's output goes back to the box: a model painting its mask black blackens the box
    def paint_mask(unet, vae, sampler, cond, masked, mask, **kwargs):
        return torch.where(mask > 0.5, -torch.ones_like(masked), masked)

    monkeypatch.setattr(text_edit, "sample_inpaint", paint_mask)
    original = np.array(page())
    for box in (big, small):
        edited = np.array(narrow(page(), [box], ["x"], feather=0)).astype(int)
        x0, y0, x1, y1 = (int(v) for v in box)
        assert edited[y0:y1, x0:x1].max() < 100, box  # the whole box is painted
        outside = dilated([box], 0, original.shape)
        assert np.array_equal(edited[~outside], original[~outside])  # feather 0: nothing outside the box
