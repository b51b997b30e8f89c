"""LPIPS is built without any network access, and never falls back silently."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch
import torchvision

from anonymizer.metrics.perceptual import build_lpips


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(*args, **kwargs):
        raise OSError("network access attempted in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # empty cache


def test_random_backbone_needs_no_network(no_network: None) -> None:
    model = build_lpips(backbone_weights="random", seed=3)
    assert model.backbone_weights == "random"
    assert not any(p.requires_grad for p in model.parameters())
    x, y = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    d = model(x, y).flatten()
    assert d.shape == (2,) and (d > 0).all()
    assert torch.allclose(model(x, x).flatten(), torch.zeros(2), atol=1e-6)
    again = build_lpips(backbone_weights="random", seed=3)
    assert torch.equal(again(x, y), model(x, y))  # seeded: reproducible


def test_imagenet_backbone_without_network_fails_loudly(no_network: None) -> None:
    with pytest.raises(RuntimeError, match="backbone_weights=random"):
        build_lpips(backbone_weights="imagenet")


def test_local_vgg16_weights_are_loaded(no_network: None, tmp_path: Path) -> None:
    torch.manual_seed(5)
    vgg = torchvision.models.vgg16(weights=None)
    path = tmp_path / "vgg16.pth"
    torch.save(vgg.state_dict(), path)
    model = build_lpips(backbone_weights=str(path))
    assert torch.equal(getattr(model.net.slice1, "0").weight, vgg.features[0].weight)
    assert torch.equal(getattr(model.net.slice5, "28").weight, vgg.features[28].weight)


def test_bad_backbone_values(no_network: None, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="neither one of"):
        build_lpips(backbone_weights=str(tmp_path / "missing.pth"))
    bad = tmp_path / "bad.pth"
    torch.save({"foo": torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match="not a torchvision vgg16"):
        build_lpips(backbone_weights=str(bad))
