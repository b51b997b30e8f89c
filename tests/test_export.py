"""Export of the autoencoder as a diffusers folder: measured scaling factor, exact reload."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from diffusers import AutoencoderKL

from anonymizer.models.export import export_autoencoder, measure_scaling_factor
from anonymizer.store.manifest import verify_manifest
from tests.test_losses import tiny_vae


def batches(n: int = 3, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [{"image": torch.rand(2, 3, 32, 32, generator=g) * 2 - 1} for _ in range(n)]


def test_scaling_factor_is_inverse_latent_std() -> None:
    vae = tiny_vae().eval()
    data = batches()
    factor, seen = measure_scaling_factor(vae, data, seed=7)
    assert seen == 6
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        latents = torch.cat([vae.encode(b["image"]).latent_dist.sample(generator=generator) for b in data])
    assert factor == pytest.approx(1.0 / latents.double().std().item(), rel=1e-6)
    assert factor != pytest.approx(0.18215)  # measured, not SD's constant
    with pytest.raises(ValueError, match="empty"):
        measure_scaling_factor(vae, [])


def test_export_reloads_with_identical_outputs(tmp_path: Path) -> None:
    vae = tiny_vae().eval()
    out = export_autoencoder(vae, tmp_path / "export" / "vae", 1.2345, {"source_checkpoint": "x.ckpt"})
    reloaded = AutoencoderKL.from_pretrained(out).eval()
    assert reloaded.config.scaling_factor == pytest.approx(1.2345)
    images = batches(1)[0]["image"]
    with torch.no_grad():
        a = vae.decode(vae.encode(images).latent_dist.mode()).sample
        b = reloaded.decode(reloaded.encode(images).latent_dist.mode()).sample
    assert torch.equal(a, b)
    info = (out / "export_info.json").read_text()
    assert '"scaling_factor": 1.2345' in info and "x.ckpt" in info
    manifest = verify_manifest(out, kind="autoencoder")  # written last, inside the atomic write
    assert manifest["export"] == {"source_checkpoint": "x.ckpt", "scaling_factor": 1.2345}


def test_export_never_overwrites(tmp_path: Path) -> None:
    vae = tiny_vae()
    target = tmp_path / "vae"
    export_autoencoder(vae, target, 1.0, {})
    export_autoencoder(vae, target, 2.0, {})
    siblings = sorted(p.name for p in tmp_path.iterdir())
    assert "vae" in siblings
    previous = [p for p in tmp_path.iterdir() if p.name.startswith("vae.prev-")]
    assert len(previous) == 1
    assert AutoencoderKL.from_pretrained(previous[0]).config.scaling_factor == 1.0
    assert AutoencoderKL.from_pretrained(target).config.scaling_factor == 2.0
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
