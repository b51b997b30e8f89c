"""TrOCR glyph encoder loading and the GlyphConditioner (tiny models, CPU, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn
from transformers import (
    DeiTModel,
    TrOCRConfig,
    VisionEncoderDecoderConfig,
    VisionEncoderDecoderModel,
    ViTConfig,
    ViTModel,
)

from anonymizer.models.glyph_encoder import GlyphConditioner, build_trocr_encoder

HIDDEN, IMAGE, PATCH = 32, 32, 8
SEQ = 1 + (IMAGE // PATCH) ** 2  # [CLS] + patches
VIT = dict(
    hidden_size=HIDDEN,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    image_size=IMAGE,
    patch_size=PATCH,
)


@pytest.fixture(scope="module")
def trocr_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, VisionEncoderDecoderModel]:
    """A tiny TrOCR-shaped VisionEncoderDecoderModel saved to a folder, and the model itself."""
    torch.manual_seed(0)
    decoder = TrOCRConfig(
        d_model=HIDDEN, decoder_layers=1, decoder_attention_heads=2, decoder_ffn_dim=64, vocab_size=100
    )
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(ViTConfig(**VIT), decoder)
    model = VisionEncoderDecoderModel(config=config).eval()
    folder = tmp_path_factory.mktemp("trocr")
    model.save_pretrained(folder)
    return folder, model


def pixels(batch: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.rand(batch, 3, IMAGE, IMAGE, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_loads_the_encoder_of_a_vision_encoder_decoder_folder(trocr_dir) -> None:
    folder, model = trocr_dir
    assert json.loads((folder / "config.json").read_text())["model_type"] == "vision-encoder-decoder"
    encoder = build_trocr_encoder(pretrained=str(folder))
    assert isinstance(encoder, ViTModel)
    assert encoder.pooler is None
    saved = {k: v for k, v in model.encoder.state_dict().items() if not k.startswith("pooler.")}
    loaded = encoder.state_dict()
    assert set(loaded) == set(saved)
    for key, value in saved.items():
        assert torch.equal(loaded[key], value), key
    x = pixels()
    out = encoder.eval()(pixel_values=x).last_hidden_state
    assert out.shape == (2, SEQ, HIDDEN) == (2, 17, 32)
    with torch.no_grad():
        assert torch.equal(out.detach(), model.encoder(pixel_values=x).last_hidden_state)


def test_builds_from_config_without_pooler() -> None:
    encoder = build_trocr_encoder(config=OmegaConf.create({"model_type": "vit", **VIT}))
    assert isinstance(encoder, ViTModel)
    assert encoder.pooler is None and not any(k.startswith("pooler.") for k in encoder.state_dict())
    assert encoder.config.hidden_size == HIDDEN and encoder.config.num_hidden_layers == 2
    deit = build_trocr_encoder(config={"model_type": "deit", **VIT})
    assert isinstance(deit, DeiTModel) and deit.pooler is None
    # DeiT (TrOCR-small) has a distillation token as well as [CLS].
    assert deit(pixel_values=pixels()).last_hidden_state.shape == (2, SEQ + 1, HIDDEN)


def test_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        build_trocr_encoder()
    with pytest.raises(ValueError, match="exactly one"):
        build_trocr_encoder(pretrained="microsoft/trocr-base-printed", config={"model_type": "vit"})
    missing = tmp_path / "no_such_model"
    with pytest.raises(FileNotFoundError, match="no_such_model"):
        build_trocr_encoder(pretrained=str(missing))
    with pytest.raises(FileNotFoundError, match="config.json"):
        build_trocr_encoder(pretrained=str(tmp_path))
    with pytest.raises(ValueError, match="model_type"):
        build_trocr_encoder(config={"hidden_size": 32})
    with pytest.raises(FileNotFoundError, match="no_such_model"):
        GlyphConditioner.from_pretrained(missing)
    with pytest.raises(ValueError, match="hidden_size"):
        GlyphConditioner(nn.Linear(3, 3), cross_attention_dim=8)


def test_projection_kind_and_output_width() -> None:
    encoder = build_trocr_encoder(config={"model_type": "vit", **VIT})
    wide = GlyphConditioner(encoder, cross_attention_dim=48)
    assert isinstance(wide.projection, nn.Linear)
    assert (wide.projection.in_features, wide.projection.out_features) == (HIDDEN, 48)
    assert wide.hidden_size == HIDDEN
    assert wide(pixels()).shape == (2, SEQ, 48)
    same = GlyphConditioner(build_trocr_encoder(config={"model_type": "vit", **VIT}), cross_attention_dim=HIDDEN)
    assert isinstance(same.projection, nn.Identity)
    assert same(pixels()).shape == (2, SEQ, HIDDEN)


def test_frozen_encoder_stays_in_eval_and_gets_no_gradients() -> None:
    # Dropout makes train mode visible in the outputs.
    encoder = build_trocr_encoder(config={"model_type": "vit", "hidden_dropout_prob": 0.5, **VIT})
    conditioner = GlyphConditioner(encoder, cross_attention_dim=48)
    assert not any(p.requires_grad for p in conditioner.encoder.parameters())
    assert all(p.requires_grad for p in conditioner.projection.parameters())
    conditioner.train()
    assert conditioner.training and conditioner.projection.training
    assert not any(m.training for m in conditioner.encoder.modules())
    nn.Sequential(conditioner).train()  # as a child of a LightningModule
    assert not conditioner.encoder.training
    x = pixels()
    out = conditioner(x)
    assert torch.equal(out, conditioner(x))  # no dropout: encoder in eval mode
    out.square().mean().backward()
    assert conditioner.projection.weight.grad is not None and conditioner.projection.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in conditioner.encoder.parameters())


def test_trainable_encoder_gets_gradients() -> None:
    encoder = build_trocr_encoder(config={"model_type": "vit", **VIT})
    conditioner = GlyphConditioner(encoder, cross_attention_dim=48, trainable=True).train()
    assert conditioner.encoder.training
    assert all(p.requires_grad for p in conditioner.encoder.parameters())
    conditioner(pixels()).square().mean().backward()
    grads = [p.grad for p in conditioner.encoder.parameters()]
    assert all(g is not None for g in grads)  # no unused parameters (no pooler): DDP-safe
    assert sum(float(g.abs().sum()) for g in grads) > 0


@pytest.mark.parametrize(("cross_attention_dim", "kind"), [(48, "linear"), (HIDDEN, "identity")])
def test_save_and_load_round_trip(trocr_dir, tmp_path: Path, cross_attention_dim: int, kind: str) -> None:
    folder, _ = trocr_dir
    conditioner = GlyphConditioner(build_trocr_encoder(pretrained=str(folder)), cross_attention_dim).eval()
    if kind == "linear":
        nn.init.normal_(conditioner.projection.weight)
    x = pixels(3, seed=7)
    expected = conditioner(x)
    conditioner.save_pretrained(tmp_path / "glyph")
    info = json.loads((tmp_path / "glyph" / "conditioner.json").read_text())
    assert info == {
        "hidden_size": HIDDEN,
        "cross_attention_dim": cross_attention_dim,
        "projection": kind,
        "trainable": False,
    }
    assert (tmp_path / "glyph" / "encoder" / "model.safetensors").is_file()
    assert (tmp_path / "glyph" / "projection.safetensors").is_file()
    assert json.loads((tmp_path / "glyph" / "encoder" / "config.json").read_text())["model_type"] == "vit"

    loaded = GlyphConditioner.from_pretrained(tmp_path / "glyph").eval()
    assert type(loaded.projection) is type(conditioner.projection)
    assert not loaded.trainable and not any(p.requires_grad for p in loaded.encoder.parameters())
    assert torch.equal(loaded(x), expected)
    # The encoder-only export also loads on its own.
    encoder = build_trocr_encoder(pretrained=str(tmp_path / "glyph" / "encoder"))
    assert encoder.pooler is None
    assert GlyphConditioner.from_pretrained(tmp_path / "glyph", trainable=True).trainable
