"""LR schedule shapes, W&B mode resolution and image panels."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from anonymizer.models.schedules import warmup_schedule
from anonymizer.training.callbacks.image_logger import make_panel
from anonymizer.training.loggers import resolve_wandb_mode


def lrs(decay: str, steps: int = 10, **kwargs) -> list[float]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = warmup_schedule(opt, total_steps=steps, decay=decay, **kwargs)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_warmup_then_constant() -> None:
    assert lrs("constant", warmup_steps=4) == pytest.approx([0.25, 0.5, 0.75, 1, 1, 1, 1, 1, 1, 1])


def test_warmup_then_cosine_reaches_min_ratio() -> None:
    values = lrs("cosine", steps=12, warmup_steps=2, min_lr_ratio=0.1)
    assert values[:3] == pytest.approx([0.5, 1.0, 1.0])
    assert all(a >= b for a, b in zip(values[2:], values[3:]))
    assert values[-1] > 0.1 and values[-1] < 0.2
    with pytest.raises(ValueError, match="decay"):
        lrs("linear")
    with pytest.raises(ValueError, match="min_lr_ratio"):
        lrs("cosine", min_lr_ratio=2.0)


def test_wandb_mode_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert resolve_wandb_mode("auto")[0] == "offline"
    (tmp_path / "netrc").write_text("machine api.wandb.ai\n  login user\n  password abc\n")
    assert resolve_wandb_mode("auto")[0] == "online"
    (tmp_path / "netrc").unlink()
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert resolve_wandb_mode("auto")[0] == "online"
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert resolve_wandb_mode("auto")[0] == "offline"
    assert resolve_wandb_mode("disabled")[0] == "disabled"
    with pytest.raises(ValueError, match="mode"):
        resolve_wandb_mode("sometimes")


def test_panel_layout() -> None:
    a = torch.full((3, 3, 8, 8), -1.0)
    b = torch.full((3, 3, 8, 8), 1.0)
    panel = make_panel({"input": a, "reconstruction": b}, gap=2)
    assert panel.size == (8 + 2 + 8, 3 * 8 + 2 * 2)
    assert panel.getpixel((0, 0)) == (0, 0, 0)
    assert panel.getpixel((10, 0)) == (255, 255, 255)
