"""The PII tagger at detection time, in numpy: no torch, no Lightning (start-up stays fast).

:class:`PiiTagger` loads an export of :class:`~anonymizer.models.pii_tagger_module.PiiTaggerModule`
(``model.safetensors`` + ``config.json``; see :func:`~anonymizer.models.export.export_pii_tagger`)
through the model store (a folder or a store URL, its manifest checked) and runs the same
computation as :class:`~anonymizer.models.pii_tagger_net.TaggerNet` (tests check the logits
match). :meth:`PiiTagger.spans` reads a page's words in reading order and returns entity spans
(word indices, type, score = mean probability of the span's tags). :data:`SHIPPED` is the
tagger shipped in the package (``anonymizer/assets/pii_tagger``).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anonymizer.core.geometry import Box
from anonymizer.core.word_features import (
    FEATURES,
    MAX_CHARS,
    REL_BUCKETS_HALF,
    SHAPE_FEATURES,
    TAGS,
    decode_spans,
    page_features,
    relative_buckets,
)
from anonymizer.pipeline.page_text import Detection, PageText

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).resolve().parent.parent / "assets" / "pii_tagger"
#: Names that select the shipped tagger in ``detect.tagger``.
SHIPPED_NAMES = ("shipped", "default", "builtin")
KIND = "pii_tagger"
SOURCE = "pii_tagger"
#: Types whose tagger spans must pass their checksum unless a label beside them says their type.
_CHECKSUMS = ("CREDIT_CARD", "IBAN_CODE")


@dataclass(frozen=True)
class TaggedSpan:
    """Words ``words`` (indices into the words given, in reading order, one line) tagged ``label``."""

    label: str
    words: tuple[int, ...]
    score: float


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(np.float32(math.sqrt(2.0 / math.pi)) * (x + np.float32(0.044715) * x * x * x)))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


class PiiTagger:
    """A loaded tagger export; see the module docstring."""

    def __init__(self, weights: dict[str, np.ndarray], config: dict, source: str = "") -> None:
        net = config.get("net") or {}
        if config.get("max_chars") != MAX_CHARS or config.get("features") != FEATURES or \
                config.get("rel_buckets_half") != REL_BUCKETS_HALF:
            raise ValueError(f"{source or 'tagger'}: exported with another feature layout than this version reads")
        self.w = {k: v.astype(np.float32) for k, v in weights.items()}
        self.layers = int(net.get("layers", 0))
        self.heads = int(net.get("heads", 1))
        self.layout = bool(net.get("layout", True))
        self.source = source
        if self.w["head.weight"].shape[0] != len(TAGS):
            raise ValueError(f"{source or 'tagger'}: {self.w['head.weight'].shape[0]} tags, expected {len(TAGS)}")
        kernel = self.w["char_conv.weight"]  # (Cc, E, K): as one matrix over K stacked shifted embeddings
        self.conv_matrix = np.concatenate([kernel[:, :, t].T for t in range(kernel.shape[2])], axis=0)
        r = 2 * REL_BUCKETS_HALF + 1
        self.bias_tables = []  # per layer: (H, R * R * R) over (reading order, x, y) bucket triples
        for k in range(self.layers):
            seq, bx, by = (self.w[f"layers.{k}.bias_{a}"] for a in ("seq", "x", "y"))
            table = seq[:, :, None, None] + (bx[:, None, :, None] + by[:, None, None, :] if self.layout else 0.0)
            self.bias_tables.append(np.ascontiguousarray(np.broadcast_to(table, (self.heads, r, r, r)).reshape(
                self.heads, -1), dtype=np.float32))

    @classmethod
    def load(cls, path: str | Path) -> PiiTagger:
        """Load a tagger folder or store URL (``shipped``: :data:`SHIPPED`); its manifest must say ``pii_tagger``."""
        from safetensors.numpy import load_file

        from anonymizer.store.resolve import resolve_model_path

        if str(path) in SHIPPED_NAMES:
            path = SHIPPED
        folder = Path(resolve_model_path(path, kind=KIND, require_manifest=True))
        config = json.loads((folder / "config.json").read_text())
        return cls(load_file(str(folder / "model.safetensors")), config, source=str(path))

    # ------------------------------------------------------------------ network
    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def logits(self, chars: np.ndarray, feats: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Tag logits ``(N, len(TAGS))`` of one page (arrays of :func:`page_features`)."""
        n, m = chars.shape
        emb = self.w["char_emb.weight"][chars]                                 # (N, C, E)
        width = self.w["char_conv.weight"].shape[2]
        padded = np.pad(emb, ((0, 0), (width // 2, width // 2), (0, 0)))
        windows = np.concatenate([padded[:, t : t + m, :] for t in range(width)], axis=2)  # (N, C, K*E)
        conv = (windows.reshape(n * m, -1) @ self.conv_matrix).reshape(n, m, -1) + self.w["char_conv.bias"]
        conv = np.where((chars > 0)[:, :, None], conv, np.float32(-1e4)).max(axis=1).clip(min=0.0)
        if not self.layout:
            feats = np.concatenate([feats[:, :SHAPE_FEATURES], np.zeros_like(feats[:, SHAPE_FEATURES:])], axis=1)
        x = self._linear(np.concatenate([conv, feats], axis=1).astype(np.float32), "proj")
        r = 2 * REL_BUCKETS_HALF + 1
        index = relative_buckets(np.arange(n, dtype=np.float32)[:, None])[..., 0] * (r * r)
        if self.layout:
            rel_xy = relative_buckets(pos.astype(np.float32))
            index = index + rel_xy[..., 0] * r + rel_xy[..., 1]
        else:
            index = index + (REL_BUCKETS_HALF * r + REL_BUCKETS_HALF)
        d = x.shape[1]
        dh = d // self.heads
        for k in range(self.layers):
            p = f"layers.{k}"
            bias = self.bias_tables[k][:, index]
            h = _layer_norm(x, self.w[f"{p}.norm1.weight"], self.w[f"{p}.norm1.bias"])
            q, kk, v = self._linear(h, f"{p}.qkv").reshape(n, 3, self.heads, dh).transpose(1, 2, 0, 3)
            attn = _softmax(q @ kk.transpose(0, 2, 1) / math.sqrt(dh) + bias)
            h = (attn @ v).transpose(1, 0, 2).reshape(n, d)
            x = x + self._linear(h, f"{p}.out")
            h = _layer_norm(x, self.w[f"{p}.norm2.weight"], self.w[f"{p}.norm2.bias"])
            x = x + self._linear(_gelu(self._linear(h, f"{p}.ff1")), f"{p}.ff2")
        return self._linear(_layer_norm(x, self.w["norm.weight"], self.w["norm.bias"]), "head")

    # -------------------------------------------------------------------- spans
    def spans(self, texts: Sequence[str], boxes: Sequence[Box], lines: Sequence[Sequence[int]]) -> list[TaggedSpan]:
        """Entity spans of the words (``lines``: word indices per line in reading order)."""
        f = page_features(texts, boxes, lines)
        if len(f.order) == 0:
            return []
        probs = _softmax(self.logits(f.chars, f.feats, f.pos))
        tags = probs.argmax(-1)
        out = []
        for label, a, b in decode_spans(tags, f.line_of):
            score = float(np.mean(probs[np.arange(a, b), tags[a:b]]))
            out.append(TaggedSpan(label, tuple(int(i) for i in f.order[a:b]), score))
        return out


def _checksum_ok(label: str, text: str) -> bool:
    from anonymizer.pipeline.surrogates.shapes import iban_valid, luhn_valid

    if label == "CREDIT_CARD":
        return luhn_valid(text)
    if label == "IBAN_CODE":
        return iban_valid(text)
    return True


def tagger_detections(tagger: PiiTagger, page: PageText, found: Sequence[Detection], form: object | None,
                      min_score: float, amounts: bool = True) -> list[Detection]:
    """Detections of the tagger's spans on ``page``: ``KEY`` spans (field labels) are left out,
    and so are words the form context reads as a label (``form.is_label``) at a span's ends;
    ``AMOUNT`` spans only when ``amounts`` (the detector passes whether the page is a money
    document, the rule its own amount recognizer follows: :func:`anonymizer.pipeline.money.money_document`);
    card numbers and IBANs that fail their checksum are vetoed unless a ``form_context``
    detection of that type (a label beside them) overlaps them. ``found``: the other
    recognizers' detections."""
    words = page.words
    out: list[Detection] = []
    is_label = getattr(form, "is_label", None)
    for span in tagger.spans([w.text for w in words], [w.box for w in words], page.lines):
        if span.label == "KEY" or span.score < min_score or (span.label == "AMOUNT" and not amounts):
            continue
        idx = list(span.words)
        if is_label is not None:
            while idx and is_label(words[idx[0]].text):
                idx.pop(0)
            while idx and is_label(words[idx[-1]].text):
                idx.pop()
        if not idx or page.spans[idx[0]] is None or page.spans[idx[-1]] is None:
            continue
        start, end = page.spans[idx[0]][0], page.spans[idx[-1]][1]
        if end <= start:
            continue
        if span.label in _CHECKSUMS and not _checksum_ok(span.label, page.text[start:end]) and not any(
                d.source == "form_context" and d.entity_type == span.label and d.start < end and start < d.end
                for d in found):
            continue
        out.append(Detection(span.label, start, end, round(span.score, 4), SOURCE))
    return out
