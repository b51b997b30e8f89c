"""Text-height buckets: ``edges = [12, 16, 20]`` gives ``<12``, ``12-16``, ``16-20``, ``>=20``."""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Sequence
from typing import Any

OVERALL = "all"


def check_edges(edges: Any, name: str = "metrics.height_buckets") -> list[float]:
    """``edges`` as floats; ValueError naming ``name`` unless they are finite, positive and
    strictly increasing (an empty list means one bucket)."""
    if isinstance(edges, (str, bytes)) or not isinstance(edges, Sequence):
        raise ValueError(f"{name} must be a list of increasing pixel heights, got {edges!r}")
    values = []
    for v in edges:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must hold positive numbers, got {list(edges)!r}")
        values.append(float(v))
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"{name} must be strictly increasing, got {list(edges)!r}")
    return values


def _num(v: float) -> str:
    return f"{v:g}"


def bucket_labels(edges: Sequence[float]) -> list[str]:
    """Labels of the buckets in order (one label ``all`` without edges)."""
    if not edges:
        return [OVERALL]
    inner = [f"{_num(a)}-{_num(b)}" for a, b in zip(edges, edges[1:])]
    return [f"<{_num(edges[0])}", *inner, f">={_num(edges[-1])}"]


def bucket_of(value: float, edges: Sequence[float]) -> str:
    """The label of the bucket holding ``value`` (lower edges inclusive)."""
    return bucket_labels(edges)[bisect.bisect_right(list(edges), value)]
