"""The PII tagger network: a character CNN per word, shape and layout features, and a small
pre-LN transformer over a page's words with relative position biases.

Written with plain tensor operations so that :mod:`anonymizer.pipeline.tagger` can run the
same computation in numpy from the exported weights (``tests/test_pii_tagger.py`` checks
that both give the same logits). Attention biases per head: one learned value per bucket of
the words' offset in reading order, and with ``layout`` one per bucket of the x and of the
y offset of their centres in word heights
(:func:`anonymizer.core.word_features.relative_buckets`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from anonymizer.core.word_features import CHAR_VOCAB_SIZE, FEATURES, REL_BUCKETS, REL_BUCKETS_HALF, SHAPE_FEATURES, TAGS


@dataclass
class TaggerConfig:
    """Sizes of :class:`TaggerNet` (stored in the export's ``config.json``)."""

    char_dim: int = 32
    char_channels: int = 64
    d_model: int = 96
    layers: int = 2
    heads: int = 4
    ffn: int = 192
    layout: bool = True        # box features and 2-D relative bias (false: text and reading order only)
    dropout: float = 0.1
    vocab_size: int = CHAR_VOCAB_SIZE
    features: int = FEATURES
    tags: int = len(TAGS)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def buckets(d: torch.Tensor) -> torch.Tensor:
    """Bucket ids of signed offsets: sign x min(floor(2 log2(1 + |d|)), half) + half."""
    mag = torch.clamp(torch.floor(2.0 * torch.log2(1.0 + d.abs())), max=REL_BUCKETS_HALF)
    return (torch.sign(d) * mag + REL_BUCKETS_HALF).long()


class TaggerLayer(nn.Module):
    """Pre-LN transformer layer whose attention scores get the given per-head bias."""

    def __init__(self, cfg: TaggerConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.norm1 = nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.d_model)
        self.norm2 = nn.LayerNorm(cfg.d_model)
        self.ff1 = nn.Linear(cfg.d_model, cfg.ffn)
        self.ff2 = nn.Linear(cfg.ffn, cfg.d_model)
        self.bias_seq = nn.Parameter(torch.zeros(cfg.heads, REL_BUCKETS))
        self.bias_x = nn.Parameter(torch.zeros(cfg.heads, REL_BUCKETS))
        self.bias_y = nn.Parameter(torch.zeros(cfg.heads, REL_BUCKETS))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, rel: dict[str, torch.Tensor], key_mask: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        h = self.norm1(x)
        q, k, v = self.qkv(h).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)  # (B, H, N, N)
        bias = self.bias_seq[:, rel["seq"]].permute(1, 0, 2, 3)
        if "x" in rel:
            bias = bias + self.bias_x[:, rel["x"]].permute(1, 0, 2, 3) + self.bias_y[:, rel["y"]].permute(1, 0, 2, 3)
        scores = scores + bias + key_mask[:, None, None, :]
        attn = torch.softmax(scores, dim=-1)
        h = (attn @ v).transpose(1, 2).reshape(b, n, d)
        x = x + self.drop(self.out(h))
        h = self.ff2(F.gelu(self.ff1(self.norm2(x)), approximate="tanh"))
        return x + self.drop(h)


class TaggerNet(nn.Module):
    """Words of pages -> tag logits ``(B, N, len(TAGS))``; inputs as
    :func:`~anonymizer.data.tagger_pages.collate_pages` pads them."""

    def __init__(self, config: TaggerConfig | dict[str, Any] | None = None, **overrides: Any) -> None:
        super().__init__()
        if config is None or isinstance(config, dict):
            config = TaggerConfig(**{**dict(config or {}), **overrides})
        self.config = config
        c = config
        self.char_emb = nn.Embedding(c.vocab_size, c.char_dim, padding_idx=0)
        self.char_conv = nn.Conv1d(c.char_dim, c.char_channels, kernel_size=3, padding=1)
        self.proj = nn.Linear(c.char_channels + c.features, c.d_model)
        self.layers = nn.ModuleList(TaggerLayer(c) for _ in range(c.layers))
        self.norm = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.tags)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, chars: torch.Tensor, feats: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, m = chars.shape
        e = self.char_emb(chars.view(b * n, m)).transpose(1, 2)       # (BN, E, C)
        conv = self.char_conv(e)                                        # (BN, Cc, C)
        char_mask = (chars.view(b * n, 1, m) > 0)
        conv = conv.masked_fill(~char_mask, -1e4).amax(dim=2).clamp(min=0.0).view(b, n, -1)
        if not self.config.layout:
            feats = torch.cat([feats[..., :SHAPE_FEATURES], torch.zeros_like(feats[..., SHAPE_FEATURES:])], dim=-1)
        x = self.drop(self.proj(torch.cat([conv, feats], dim=-1)))
        idx = torch.arange(n, device=chars.device, dtype=torch.float32)
        rel = {"seq": buckets(idx[None, :] - idx[:, None]).expand(b, n, n)}
        if self.config.layout:
            d = pos[:, None, :, :] - pos[:, :, None, :]
            rel["x"], rel["y"] = buckets(d[..., 0]), buckets(d[..., 1])
        key_mask = torch.zeros(b, n, device=chars.device).masked_fill(~mask, -1e9)
        for layer in self.layers:
            x = layer(x, rel, key_mask)
        return self.head(self.norm(x))
