"""TextEditPipeline: loads an export, edits only inside dilated boxes, deterministic, clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from anonymizer.models.manifest import ManifestError, verify_manifest
from anonymizer.pipeline.text_edit import TextEditPipeline
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
        m[max(int(np.floor(y0 - margin)), 0):int(np.ceil(y1 + margin)), max(int(np.floor(x0 - margin)), 0):int(np.ceil(x1 + margin))] = True
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
