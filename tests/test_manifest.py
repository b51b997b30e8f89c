"""Export manifests: written last by every export, verified on load with errors naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from diffusers import DDPMScheduler, UNet2DConditionModel

from anonymizer.models.builders import build_autoencoder
from anonymizer.models.export import export_autoencoder, export_text_edit
from anonymizer.models.glyph_encoder import GlyphConditioner, build_trocr_encoder
from anonymizer.pipeline.text_edit import TextEditPipeline
from anonymizer.store.__main__ import main
from anonymizer.store.manifest import (
    MANIFEST_NAME,
    SCHEMA,
    ManifestError,
    MissingManifestError,
    read_manifest,
    sha256_file,
    verify_manifest,
    write_manifest,
)
from anonymizer.store.resolve import resolve_model_path
from tests.test_losses import tiny_vae

WEIGHTS = "diffusion_pytorch_model.safetensors"


def vae_export(path: Path) -> Path:
    return export_autoencoder(tiny_vae(), path, 1.5, {"source_checkpoint": "best.ckpt", "global_step": 4})


def text_edit_export(path: Path) -> Path:
    """A tiny text-edit export built directly from random modules (no training)."""
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=9, out_channels=4, layers_per_block=1, block_out_channels=(8, 16),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16, attention_head_dim=2, norm_num_groups=4,
    )
    encoder = build_trocr_encoder(config={"model_type": "vit", "image_size": 32, "patch_size": 16, "hidden_size": 8,
                                          "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16})
    from anonymizer.data.glyphs import build_glyph_processor

    config = {"resolution": 32, "crop_side": 32, "mask_margin": 2, "prediction_type": "epsilon",
              "glyph": {"font_path": None, "font_family": "DejaVuSans", "canvas": [32, 128], "margin": 4}}
    return export_text_edit(unet, tiny_vae(), GlyphConditioner(encoder, 16), DDPMScheduler(num_train_timesteps=100),
                            build_glyph_processor(None, image_size=32), path, config)


@pytest.fixture
def vae_dir(tmp_path: Path) -> Path:
    return vae_export(tmp_path / "vae")


def test_export_writes_a_manifest_last(vae_dir: Path) -> None:
    manifest = json.loads((vae_dir / MANIFEST_NAME).read_text())
    assert manifest["schema"] == SCHEMA and manifest["kind"] == "autoencoder" and manifest["algorithm"] == "sha256"
    assert set(manifest["files"]) == {"config.json", WEIGHTS, "export_info.json"}
    for rel, entry in manifest["files"].items():
        assert entry == {"size": (vae_dir / rel).stat().st_size, "sha256": sha256_file(vae_dir / rel)}
    assert manifest["total_size"] == sum(e["size"] for e in manifest["files"].values())
    assert manifest["export"]["scaling_factor"] == 1.5 and manifest["export"]["source_checkpoint"] == "best.ckpt"
    assert manifest["created"].endswith("Z")
    newest = max((vae_dir / rel).stat().st_mtime_ns for rel in manifest["files"])
    assert (vae_dir / MANIFEST_NAME).stat().st_mtime_ns >= newest
    assert verify_manifest(vae_dir, kind="autoencoder") == manifest
    assert not [p for p in vae_dir.parent.iterdir() if p.name.startswith(".")]  # no temporary leftovers


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: _flip_byte(d / WEIGHTS), f"{WEIGHTS}: checksum mismatch"),
        (
            lambda d: (d / WEIGHTS).write_bytes((d / WEIGHTS).read_bytes()[:-10]),
            f"{WEIGHTS}: size \\d+ bytes, expected",
        ),
        (lambda d: (d / "config.json").unlink(), "config.json: missing"),
        (lambda d: (d / "extra.bin").write_bytes(b"x"), f"extra.bin: not listed in {MANIFEST_NAME}"),
        (lambda d: (d / MANIFEST_NAME).write_text("{not json"), f"{MANIFEST_NAME} is not valid JSON"),
    ],
    ids=["changed", "truncated", "removed", "unlisted", "bad-json"],
)
def test_damage_is_detected_and_named(vae_dir: Path, damage, message: str) -> None:
    damage(vae_dir)
    with pytest.raises(ManifestError, match=message) as err:
        verify_manifest(vae_dir)
    assert str(vae_dir) in str(err.value)
    with pytest.raises(ManifestError, match=message):
        build_autoencoder(pretrained=str(vae_dir))  # loaders verify too


def test_hidden_files_are_ignored_and_sizes_only_mode(vae_dir: Path) -> None:
    (vae_dir / ".DS_Store").write_bytes(b"junk")
    (vae_dir / ".cache").mkdir()
    (vae_dir / ".cache" / "x").write_bytes(b"junk")
    verify_manifest(vae_dir)
    _flip_byte(vae_dir / WEIGHTS)
    verify_manifest(vae_dir, checksums=False)  # sizes and file list only
    with pytest.raises(ManifestError, match="checksum mismatch"):
        verify_manifest(vae_dir)


@pytest.mark.parametrize("bad", ["../escape.bin", "/etc/passwd", "a//b", "./a", ".hidden", MANIFEST_NAME, "a\\b"])
def test_unsafe_paths_in_a_manifest_are_refused(vae_dir: Path, bad: str) -> None:
    manifest = read_manifest(vae_dir)
    manifest["files"][bad] = {"size": 1, "sha256": "0" * 64}
    (vae_dir / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ManifestError, match="unsafe file path|may not be listed"):
        read_manifest(vae_dir)


def test_kind_and_schema_are_checked(vae_dir: Path) -> None:
    with pytest.raises(ManifestError, match="a 'autoencoder' export, expected 'text_edit'"):
        verify_manifest(vae_dir, kind="text_edit")
    manifest = read_manifest(vae_dir)
    (vae_dir / MANIFEST_NAME).write_text(json.dumps({**manifest, "schema": "other/9"}))
    with pytest.raises(ManifestError, match="schema 'other/9'"):
        verify_manifest(vae_dir)


def test_resolver_policy_for_local_sources(tmp_path: Path, vae_dir: Path) -> None:
    hub_id = "stabilityai/stable-diffusion-2-inpainting"
    assert resolve_model_path(hub_id) == hub_id
    plain = tmp_path / "plain"
    tiny_vae().save_pretrained(plain)  # a plain diffusers folder: no manifest needed
    assert resolve_model_path(plain) == str(plain)
    assert build_autoencoder(pretrained=str(plain)).config.block_out_channels == [8, 16]
    with pytest.raises(MissingManifestError, match="python -m anonymizer.store manifest"):
        resolve_model_path(plain, require_manifest=True)
    assert resolve_model_path(f"file://{vae_dir}", kind="autoencoder") == str(vae_dir)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        resolve_model_path(tmp_path / "nothing", require_manifest=True)


def test_text_edit_export_is_verified_on_load(tmp_path: Path) -> None:
    out = text_edit_export(tmp_path / "text_edit")
    manifest = read_manifest(out)
    assert manifest["kind"] == "text_edit" and manifest["export"]["resolution"] == 32
    assert {"unet/" + WEIGHTS, "vae/" + WEIGHTS, "text_encoder/projection.safetensors",
            "text_encoder/encoder/model.safetensors", "scheduler/scheduler_config.json",
            "text_edit_config.json"} <= set(manifest["files"])
    pipe = TextEditPipeline.from_pretrained(out)
    assert pipe.resolution == 32
    _flip_byte(out / "unet" / WEIGHTS)
    with pytest.raises(ManifestError, match=f"unet/{WEIGHTS}: checksum mismatch"):
        TextEditPipeline.from_pretrained(out)
    (out / MANIFEST_NAME).unlink()
    with pytest.raises(MissingManifestError, match="re-export it, or create one"):
        TextEditPipeline.from_pretrained(out)
    vae = vae_export(tmp_path / "vae")
    (vae / "text_edit_config.json").write_text("{}")
    write_manifest(vae, "autoencoder")
    with pytest.raises(ManifestError, match="a 'autoencoder' export, expected 'text_edit'"):
        TextEditPipeline.from_pretrained(vae)


def test_cli_manifest_and_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "model"
    tiny_vae().save_pretrained(folder)
    assert main(["verify", str(folder)]) == 1
    assert f"{folder}: no {MANIFEST_NAME}" in capsys.readouterr().err
    assert main(["manifest", str(folder)]) == 0
    assert read_manifest(folder)["kind"] == "autoencoder"
    assert main(["manifest", str(folder)]) == 1
    assert "already has a manifest.json" in capsys.readouterr().err
    assert main(["verify", str(folder)]) == 0
    assert "ok (autoencoder, 2 files" in capsys.readouterr().out
    _flip_byte(folder / WEIGHTS)
    assert main(["verify", str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{WEIGHTS}: checksum mismatch" in err
    assert main(["manifest", str(folder), "--force", "--kind", "my_vae"]) == 0
    assert read_manifest(folder)["kind"] == "my_vae"
    assert main(["manifest", str(tmp_path / "missing")]) == 1
    assert main(["frobnicate"]) == 2

