"""LPIPS perceptual distance built without hidden downloads.

``lpips.LPIPS`` normally pulls the ImageNet VGG16 trunk from the internet the first time
it is built. Here the trunk's source is explicit:

* ``"imagenet"``: torchvision's ImageNet weights (downloaded once into ``$TORCH_HOME``;
  fails loudly when they cannot be fetched, never silently),
* ``"random"``: a randomly initialised trunk (seeded), no network at all,
* a path to a ``.pth``/``.safetensors`` state dict of ``torchvision.models.vgg16``
  (or of its ``features``), for machines without internet.

The calibrated linear heads (``lpips=True``) ship inside the ``lpips`` package, so they
never need the network.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import lpips
import torch
from torch import nn

BACKBONE_CHOICES = ("imagenet", "random")


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(str(path), map_location="cpu", weights_only=True)


def _load_trunk_from_file(model: lpips.LPIPS, path: Path, net: str) -> None:
    """Copy a torchvision ``vgg16`` (or ``vgg16().features``) state dict into the trunk."""
    if net != "vgg":
        raise ValueError(f"loading trunk weights from a file is supported for net='vgg' only, got net={net!r}")
    state = _load_state_dict(path)
    features = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
    # lpips splits vgg16.features into slice1..slice5 keeping the original layer indices.
    trunk = model.net
    target = {}
    for name, _ in trunk.named_parameters():
        _, index, kind = name.split(".")  # "slice1.0.weight"
        target[name] = f"{index}.{kind}"
    missing = [src for src in target.values() if src not in features]
    if missing:
        raise ValueError(f"{path}: not a torchvision vgg16 state dict (missing {missing[:3]} ...)")
    with torch.no_grad():
        for name, param in trunk.named_parameters():
            src = features[target[name]]
            if src.shape != param.shape:
                raise ValueError(
                    f"{path}: shape mismatch for {target[name]}: {tuple(src.shape)} vs {tuple(param.shape)}"
                )
            param.copy_(src)


def build_lpips(
    net: str = "vgg", backbone_weights: str = "imagenet", linear_heads: bool = True, seed: int = 0
) -> nn.Module:
    """Return a frozen ``lpips.LPIPS`` in eval mode whose trunk comes from ``backbone_weights``.

    ``backbone_weights`` is ``"imagenet"``, ``"random"`` or a path to a local vgg16 state
    dict. Inputs of the returned module are images in ``[-1, 1]``; it returns one distance
    per image (spatially averaged), shape ``(B, 1, 1, 1)``.
    """
    if backbone_weights not in BACKBONE_CHOICES:
        path = Path(backbone_weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"perceptual backbone_weights={backbone_weights!r} is neither one of {BACKBONE_CHOICES} "
                "nor an existing file with torchvision vgg16 weights"
            )
    else:
        path = None
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(pretrained|weights).*", category=UserWarning)
        torch.manual_seed(seed)
        try:
            model = lpips.LPIPS(
                net=net, pretrained=linear_heads, pnet_rand=backbone_weights != "imagenet", verbose=False
            )
        except (OSError, RuntimeError) as err:  # URLError is an OSError
            raise RuntimeError(
                "could not load the ImageNet weights of the LPIPS trunk (no internet?). Use "
                "backbone_weights=random (random features, no network) or a path to a local "
                "torchvision vgg16 state dict."
            ) from err
    if path is not None:
        _load_trunk_from_file(model, path, net)
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    model.backbone_weights = backbone_weights  # recorded for the run's config/summary
    return model
