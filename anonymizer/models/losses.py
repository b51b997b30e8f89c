"""The VAE loss as its own module: reconstruction + KL + perceptual.

Reductions (all explicit):

* reconstruction: L1 or L2 per element, **mean over B, C, H, W**;
* KL of the diagonal Gaussian posterior to N(0, I), closed form
  ``0.5 * (mu^2 + var - 1 - logvar)`` per latent element, then ``kl_reduction``:
  ``"mean"`` (default) averages over B, C, h, w; ``"sum"`` sums over C, h, w and averages
  over B (latent-diffusion's convention);
* perceptual: LPIPS distance per image (spatial mean inside LPIPS), mean over B.

``loss = loss_rec + kl_weight * loss_kl + perceptual_weight * loss_perceptual``.
"""

from __future__ import annotations

import torch
from torch import nn

KL_REDUCTIONS = ("mean", "sum")
REC_KINDS = ("l1", "l2")


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) in closed form with the given reduction."""
    if reduction not in KL_REDUCTIONS:
        raise ValueError(f"kl_reduction must be one of {KL_REDUCTIONS}, got {reduction!r}")
    kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar)
    if reduction == "mean":
        return kl.mean()
    return kl.flatten(1).sum(dim=1).mean()


class VAELoss(nn.Module):
    """Weighted sum of reconstruction, KL and LPIPS terms (see module docstring)."""

    def __init__(
        self,
        perceptual: nn.Module | None,
        rec_kind: str = "l1",
        kl_weight: float = 0.00025,
        perceptual_weight: float = 0.1,
        kl_reduction: str = "mean",
    ) -> None:
        super().__init__()
        if rec_kind not in REC_KINDS:
            raise ValueError(f"rec_kind must be one of {REC_KINDS}, got {rec_kind!r}")
        if kl_reduction not in KL_REDUCTIONS:
            raise ValueError(f"kl_reduction must be one of {KL_REDUCTIONS}, got {kl_reduction!r}")
        for name, value in (("kl_weight", kl_weight), ("perceptual_weight", perceptual_weight)):
            if not value >= 0:  # also rejects NaN
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if perceptual_weight > 0 and perceptual is None:
            raise ValueError("perceptual_weight > 0 needs a perceptual network")
        self.perceptual = perceptual
        self.rec_kind = rec_kind
        self.kl_weight = float(kl_weight)
        self.perceptual_weight = float(perceptual_weight)
        self.kl_reduction = kl_reduction

    def reconstruction(self, target: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
        """Element-mean L1 or L2 distance."""
        diff = recon - target
        return diff.abs().mean() if self.rec_kind == "l1" else diff.pow(2).mean()

    def perceptual_distance(self, target: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
        """Per-image LPIPS distance, shape ``(B,)``; inputs in [-1, 1]."""
        if self.perceptual is None:
            raise RuntimeError("this loss has no perceptual network")
        return self.perceptual(recon.float(), target.float()).flatten()

    def forward(
        self, target: torch.Tensor, recon: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor,
        per_image: dict[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Return ``loss`` and its unweighted terms ``loss_rec``, ``loss_kl``, ``loss_perceptual``.

        ``per_image``: a dict that receives the per-image LPIPS distances under ``"perceptual"``
        when the loss computed them (validation reuses them for its LPIPS metric).
        """
        loss_rec = self.reconstruction(target, recon)
        loss_kl = gaussian_kl(mean.float(), logvar.float(), self.kl_reduction)
        if self.perceptual is not None and self.perceptual_weight > 0:
            distances = self.perceptual_distance(target, recon)
            loss_perceptual = distances.mean()
            if per_image is not None:
                per_image["perceptual"] = distances.detach()
        else:
            loss_perceptual = torch.zeros((), device=target.device)
        loss = loss_rec + self.kl_weight * loss_kl + self.perceptual_weight * loss_perceptual
        return {"loss": loss, "loss_rec": loss_rec, "loss_kl": loss_kl, "loss_perceptual": loss_perceptual}
