"""Export trained models as diffusers folders, atomically and without overwriting.

Each export ends with a ``manifest.json`` (files, sizes, SHA-256; see
:mod:`anonymizer.store.manifest`), written last inside the temporary folder, so a
folder with a manifest is complete.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel

from anonymizer.store.manifest import write_manifest

TEXT_EDIT_CONFIG = "text_edit_config.json"

log = logging.getLogger(__name__)


@torch.no_grad()
def measure_scaling_factor(
    vae: AutoencoderKL, batches: Iterable[dict[str, torch.Tensor]], device: torch.device | str = "cpu", seed: int = 0
) -> tuple[float, int]:
    """Return ``(1 / std of posterior-sampled latents, images seen)`` over ``batches``.

    This is how Stable Diffusion's ``scaling_factor`` was chosen: it makes the diffusion
    model's latents unit-variance. Samples use a seeded generator, so the figure is
    reproducible.
    """
    generator = torch.Generator(device=device).manual_seed(seed)
    total = 0.0
    total_sq = 0.0
    count = 0
    images_seen = 0
    for batch in batches:
        images = batch["image"].to(device)
        latents = vae.encode(images).latent_dist.sample(generator=generator).double()
        total += latents.sum().item()
        total_sq += latents.pow(2).sum().item()
        count += latents.numel()
        images_seen += images.shape[0]
    if count < 2:
        raise ValueError("cannot measure the latent scaling factor: the validation set is empty")
    mean = total / count
    var = max(total_sq / count - mean * mean, 0.0) * count / (count - 1)
    if var <= 0:
        raise ValueError("cannot measure the latent scaling factor: the latents have zero variance")
    return 1.0 / var**0.5, images_seen


def _move_aside(path: Path) -> Path | None:
    """Rename an existing ``path`` to ``path.prev-<timestamp>`` so nothing is lost."""
    if not path.exists():
        return None
    aside = path.with_name(f"{path.name}.prev-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.prev-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        n += 1
    path.rename(aside)
    log.warning("Existing export moved to %s", aside)
    return aside


def write_atomically(out_dir: str | Path, write: Callable[[Path], None], kind: str,
                     export: dict[str, Any] | None = None) -> Path:
    """Call ``write(tmp)`` on a temporary sibling folder, add its ``manifest.json`` (``kind``,
    ``export`` info), then rename it to ``out_dir``.

    An existing ``out_dir`` is moved aside (``<name>.prev-<time>``), never overwritten.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    write(tmp)
    write_manifest(tmp, kind, export)
    _move_aside(out)
    tmp.rename(out)
    return out


def export_autoencoder(vae: AutoencoderKL, out_dir: str | Path, scaling_factor: float, info: dict[str, Any]) -> Path:
    """Save ``vae`` (with ``scaling_factor``) to ``out_dir`` as a diffusers folder (kind ``autoencoder``).

    ``info`` goes to ``out_dir/export_info.json`` and the manifest; see :func:`write_atomically`.
    """
    vae.register_to_config(scaling_factor=float(scaling_factor))
    info = {**info, "scaling_factor": float(scaling_factor)}

    def write(tmp: Path) -> None:
        vae.save_pretrained(tmp, safe_serialization=True)
        (tmp / "export_info.json").write_text(json.dumps(info, indent=2))

    return write_atomically(out_dir, write, "autoencoder", info)


def export_text_edit(
    unet: UNet2DConditionModel,
    vae: AutoencoderKL,
    conditioner: Any,
    scheduler: Any,
    processor: Any,
    out_dir: str | Path,
    config: dict[str, Any],
) -> Path:
    """Write a text-edit folder: ``unet/``, ``vae/``, ``scheduler/``, ``text_encoder/``
    (glyph encoder, projection, ``processor/``), ``text_edit_config.json`` and the manifest
    (kind ``text_edit``, with ``config`` as its export info)."""

    def write(tmp: Path) -> None:
        unet.save_pretrained(tmp / "unet", safe_serialization=True)
        vae.save_pretrained(tmp / "vae", safe_serialization=True)
        scheduler.save_pretrained(tmp / "scheduler")
        conditioner.save_pretrained(tmp / "text_encoder")
        processor.save_pretrained(tmp / "text_encoder" / "processor")
        (tmp / TEXT_EDIT_CONFIG).write_text(json.dumps(config, indent=2))

    return write_atomically(out_dir, write, "text_edit", config)


#: Files of a PII tagger export (kind ``pii_tagger``), read by :mod:`anonymizer.pipeline.tagger`.
TAGGER_WEIGHTS, TAGGER_CONFIG, TAGGER_VOCAB, TAGGER_LABELS, TAGGER_METRICS = (
    "model.safetensors", "config.json", "char_vocab.json", "labels.json", "metrics.json")


def export_pii_tagger(state_dict: dict[str, torch.Tensor], net_config: dict[str, Any], out_dir: str | Path,
                      metrics: dict[str, float], info: dict[str, Any]) -> Path:
    """Write a PII tagger folder: ``model.safetensors`` (float32), ``config.json`` (network
    sizes and feature layout), ``char_vocab.json``, ``labels.json`` (BIO tags and types),
    ``metrics.json`` (validation scores) and the manifest (kind ``pii_tagger``, ``info``)."""
    from safetensors.torch import save_file

    from anonymizer.core.word_features import CHARSET, FEATURES, MAX_CHARS, REL_BUCKETS_HALF, TAG_TYPES, TAGS

    weights = {k: v.detach().float().contiguous().cpu() for k, v in state_dict.items()}

    def write(tmp: Path) -> None:
        save_file(weights, str(tmp / TAGGER_WEIGHTS))
        config = {"net": net_config, "max_chars": MAX_CHARS, "features": FEATURES,
                  "rel_buckets_half": REL_BUCKETS_HALF}
        (tmp / TAGGER_CONFIG).write_text(json.dumps(config, indent=2))
        (tmp / TAGGER_VOCAB).write_text(json.dumps({"charset": CHARSET, "pad": 0, "unknown": 1}, ensure_ascii=False))
        (tmp / TAGGER_LABELS).write_text(json.dumps({"tags": list(TAGS), "types": list(TAG_TYPES)}, indent=2))
        (tmp / TAGGER_METRICS).write_text(json.dumps(metrics, indent=2, sort_keys=True))

    return write_atomically(out_dir, write, "pii_tagger", info)
