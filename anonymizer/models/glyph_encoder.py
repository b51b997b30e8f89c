"""TrOCR glyph features as cross-attention context for the inpainting UNet (DiffUTE-style).

``build_trocr_encoder`` returns the vision encoder of a TrOCR ``VisionEncoderDecoderModel``
(hub id or folder), of an encoder-only folder, or of a scratch architecture config.
``GlyphConditioner`` runs it on rendered glyph images and projects its token features to
the UNet's ``cross_attention_dim``.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoConfig, AutoModel, PreTrainedModel, VisionEncoderDecoderModel
from transformers.models.auto.modeling_auto import MODEL_MAPPING

from anonymizer.store.resolve import resolve_model_path

log = logging.getLogger(__name__)

ENCODER_DIR = "encoder"
PROJECTION_FILE = "projection.safetensors"
CONDITIONER_FILE = "conditioner.json"


def build_trocr_encoder(
    pretrained: str | None = None,
    config: Mapping[str, Any] | None = None,
    subfolder: str | None = None,
) -> PreTrainedModel:
    """Return a TrOCR-style vision encoder (no pooling layer).

    Exactly one of ``pretrained`` and ``config``:

    * ``pretrained``: a hub id (``microsoft/trocr-base-printed``), a local folder or a store
      URL (``s3://...``, see :func:`~anonymizer.store.resolve.resolve_model_path`). A
      ``vision-encoder-decoder`` checkpoint yields its ``.encoder``; any other model type
      (an encoder saved on its own, e.g. ``GlyphConditioner.save_pretrained``'s
      ``encoder/``) is loaded with ``AutoModel``.
    * ``config``: ``model_type`` (``vit``, ``deit``, ``beit``...) plus that config's fields,
      i.e. a randomly initialised encoder.

    The pooler is dropped: only ``last_hidden_state`` is used, and unused trainable
    parameters would break DDP.
    """
    if (pretrained is None) == (config is None):
        raise ValueError("give exactly one of glyph encoder pretrained (folder or hub id) or config")
    if config is not None:
        return _encoder_from_config(config)

    pretrained = resolve_model_path(pretrained)
    local = Path(pretrained).expanduser()
    if not local.exists() and pretrained.startswith(("/", ".", "~")):
        raise FileNotFoundError(f"glyph encoder pretrained: no such folder {pretrained!r}")
    source = str(local) if local.exists() else pretrained
    if local.exists():
        config_file = local / (subfolder or "") / "config.json"
        if not config_file.is_file():
            raise FileNotFoundError(f"glyph encoder pretrained: no config.json in {str(config_file.parent)!r}")
    try:
        model_config = AutoConfig.from_pretrained(source, subfolder=subfolder or "")
        if model_config.model_type == "vision-encoder-decoder":
            log.info("Loading the encoder of VisionEncoderDecoderModel %s (subfolder=%s)", source, subfolder)
            encoder = VisionEncoderDecoderModel.from_pretrained(source, subfolder=subfolder or "").encoder
        else:
            log.info("Loading %s encoder from %s (subfolder=%s)", model_config.model_type, source, subfolder)
            model_cls = MODEL_MAPPING[type(model_config)]
            encoder = model_cls.from_pretrained(
                source, subfolder=subfolder or "", config=model_config, **_no_pooler_kwargs(model_cls)
            )
    except OSError as err:
        raise OSError(
            f"could not load a glyph encoder from {pretrained!r} (subfolder={subfolder!r}): {err}. "
            "Give a local folder or a hub id reachable from this machine."
        ) from err
    return _drop_pooler(encoder)


def _encoder_from_config(config: Mapping[str, Any]) -> PreTrainedModel:
    if isinstance(config, DictConfig):
        config = OmegaConf.to_container(config, resolve=True)
    config = dict(config)
    model_type = config.pop("model_type", None)
    if not model_type:
        raise ValueError("glyph encoder config needs a model_type (e.g. 'vit', 'deit', 'beit')")
    if model_type == "vision-encoder-decoder":
        raise ValueError(
            "glyph encoder config: give the encoder's own config (e.g. model_type 'vit'), not a vision-encoder-decoder"
        )
    model_config = AutoConfig.for_model(model_type, **config)
    model_cls = MODEL_MAPPING[type(model_config)]
    return _drop_pooler(AutoModel.from_config(model_config, **_no_pooler_kwargs(model_cls)))


def _no_pooler_kwargs(model_cls: type) -> dict[str, Any]:
    accepts = "add_pooling_layer" in inspect.signature(model_cls.__init__).parameters
    return {"add_pooling_layer": False} if accepts else {}


def _drop_pooler(encoder: PreTrainedModel) -> PreTrainedModel:
    if isinstance(getattr(encoder, "pooler", None), nn.Module):
        encoder.pooler = None
    return encoder


class GlyphConditioner(nn.Module):
    """Glyph image -> cross-attention context ``(B, seq, cross_attention_dim)``.

    ``forward`` takes ``pixel_values`` ``(B, 3, S, S)`` normalised as the encoder's image
    processor does (TrOCR: ``S=384``, ``(x - 0.5) / 0.5``) and returns
    ``projection(encoder(pixel_values).last_hidden_state)``. The projection is a
    ``Linear(hidden_size, cross_attention_dim)``, or ``Identity`` when the sizes agree.
    Unless ``trainable``, the encoder is frozen: no gradients, run under ``no_grad`` and
    kept in eval mode whatever ``train()`` is called with.
    """

    def __init__(self, encoder: nn.Module, cross_attention_dim: int, trainable: bool = False) -> None:
        super().__init__()
        hidden = getattr(getattr(encoder, "config", None), "hidden_size", None)
        if not isinstance(hidden, int):
            raise ValueError("GlyphConditioner needs an encoder with config.hidden_size (a transformers model)")
        self.encoder = encoder
        self.cross_attention_dim = int(cross_attention_dim)
        self.trainable = bool(trainable)
        self.projection: nn.Module = (
            nn.Identity() if hidden == self.cross_attention_dim else nn.Linear(hidden, self.cross_attention_dim)
        )
        if not self.trainable:
            self.encoder.requires_grad_(False)
            self.encoder.eval()

    @property
    def hidden_size(self) -> int:
        """Width of the encoder's token features."""
        return int(self.encoder.config.hidden_size)

    def named_trained_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """The parameters training updates: the projection's, and the encoder's when ``trainable``."""
        return [(n, p) for n, p in self.named_parameters() if self.trainable or not n.startswith("encoder.")]

    def train(self, mode: bool = True) -> GlyphConditioner:
        super().train(mode)
        if not self.trainable:
            self.encoder.eval()
        return self

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        dtype = next(self.encoder.parameters()).dtype
        pixel_values = pixel_values.to(dtype)
        if self.trainable:
            features = self.encoder(pixel_values=pixel_values).last_hidden_state
        else:
            with torch.no_grad():
                features = self.encoder(pixel_values=pixel_values).last_hidden_state
        if isinstance(self.projection, nn.Linear):
            features = features.to(self.projection.weight.dtype)
        return self.projection(features)

    def save_pretrained(self, path: str | Path) -> None:
        """Write ``encoder/`` (transformers, safetensors), ``projection.safetensors`` and ``conditioner.json``."""
        if not isinstance(self.encoder, PreTrainedModel):
            raise TypeError("save_pretrained needs a transformers PreTrainedModel encoder")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(path / ENCODER_DIR, safe_serialization=True)
        state = {k: v.detach().contiguous().cpu() for k, v in self.projection.state_dict().items()}
        save_file(state, str(path / PROJECTION_FILE))
        info = {
            "hidden_size": self.hidden_size,
            "cross_attention_dim": self.cross_attention_dim,
            "projection": "linear" if isinstance(self.projection, nn.Linear) else "identity",
            "trainable": self.trainable,
        }
        (path / CONDITIONER_FILE).write_text(json.dumps(info, indent=2) + "\n")

    @classmethod
    def from_pretrained(cls, path: str | Path, trainable: bool | None = None) -> GlyphConditioner:
        """Rebuild a conditioner written by ``save_pretrained`` (``trainable`` overrides the saved flag)."""
        path = Path(path).expanduser()
        info_file = path / CONDITIONER_FILE
        if not info_file.is_file():
            raise FileNotFoundError(f"no GlyphConditioner at {str(path)!r} (missing {CONDITIONER_FILE})")
        info = json.loads(info_file.read_text())
        encoder = build_trocr_encoder(pretrained=str(path / ENCODER_DIR))
        conditioner = cls(
            encoder,
            cross_attention_dim=info["cross_attention_dim"],
            trainable=info.get("trainable", False) if trainable is None else trainable,
        )
        if conditioner.hidden_size != info["hidden_size"]:
            raise ValueError(
                f"{info_file}: hidden_size {info['hidden_size']} but the encoder has {conditioner.hidden_size}"
            )
        kind = "linear" if isinstance(conditioner.projection, nn.Linear) else "identity"
        if kind != info["projection"]:
            raise ValueError(f"{info_file}: projection {info['projection']!r} but the sizes give {kind!r}")
        conditioner.projection.load_state_dict(load_file(str(path / PROJECTION_FILE)), strict=True)
        return conditioner

