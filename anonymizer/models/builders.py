"""Build diffusers models from a pretrained folder / hub id / store URL or from an architecture config.

``pretrained`` goes through :func:`anonymizer.store.resolve.resolve_model_path`: ``s3://``
(and other fsspec) URLs are downloaded into the model cache and verified, and a local
folder with a ``manifest.json`` (our exports) is verified before loading.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from diffusers import AutoencoderKL, UNet2DConditionModel
from omegaconf import DictConfig, OmegaConf

from anonymizer.store.resolve import resolve_model_path

log = logging.getLogger(__name__)


def _load(cls, what: str, pretrained: str, subfolder: str | None, revision: str | None):
    pretrained = resolve_model_path(pretrained)
    local = Path(pretrained).expanduser()
    if not local.exists() and pretrained.startswith(("/", ".", "~")):
        raise FileNotFoundError(f"{what}.pretrained: no such folder {pretrained!r}")
    source = str(local) if local.exists() else pretrained
    log.info("Loading %s from %s (subfolder=%s)", cls.__name__, source, subfolder)
    try:
        return cls.from_pretrained(source, subfolder=subfolder, revision=revision)
    except OSError as err:
        raise OSError(
            f"could not load {cls.__name__} from {pretrained!r} (subfolder={subfolder!r}): {err}. "
            "Give a local diffusers folder or a hub id reachable from this machine."
        ) from err


def build_unet(
    pretrained: str | None = None,
    subfolder: str | None = None,
    config: Mapping[str, Any] | None = None,
    revision: str | None = None,
) -> UNet2DConditionModel:
    """Return a ``UNet2DConditionModel`` from a folder / hub id (e.g.
    ``stabilityai/stable-diffusion-2-inpainting`` with ``subfolder="unet"``) or a config."""
    if (pretrained is None) == (config is None):
        raise ValueError("give exactly one of unet.pretrained (folder or hub id) or unet.config")
    if pretrained is not None:
        return _load(UNet2DConditionModel, "unet", pretrained, subfolder, revision)
    return UNet2DConditionModel(**plain_config(config))


def build_autoencoder(
    pretrained: str | None = None,
    subfolder: str | None = None,
    config: Mapping[str, Any] | None = None,
    revision: str | None = None,
) -> AutoencoderKL:
    """Return an ``AutoencoderKL``.

    Exactly one of ``pretrained`` (a local diffusers folder or a hub id such as
    ``stabilityai/stable-diffusion-2-inpainting`` with ``subfolder="vae"``) and ``config``
    (keyword arguments of ``AutoencoderKL``, i.e. a scratch model) must be given.
    """
    if (pretrained is None) == (config is None):
        raise ValueError("give exactly one of autoencoder.pretrained (folder or hub id) or autoencoder.config")
    if pretrained is not None:
        return _load(AutoencoderKL, "autoencoder", pretrained, subfolder, revision)
    return AutoencoderKL(**plain_config(config))


def plain_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Turn an OmegaConf/dict architecture config into plain Python values (lists -> tuples)."""
    if isinstance(config, DictConfig):
        config = OmegaConf.to_container(config, resolve=True)
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in dict(config).items()}
