"""Argument checks shared by the data modules (datasets, generator styles and configs).

Each returns the value converted (``int`` or ``float``) or raises :class:`ValueError`
naming the argument, what it must be and the value given. Booleans are never numbers here.
"""

from __future__ import annotations

import numbers
from dataclasses import fields
from typing import Any


def check_number(name: str, value: Any, low: float, high: float | None = None, integer: bool = False) -> Any:
    """``value`` as a float (an int with ``integer``) in ``[low, high]`` (``>= low`` without ``high``)."""
    kind = numbers.Integral if integer else numbers.Real
    bad_type = isinstance(value, bool) or not isinstance(value, kind)
    if bad_type or not value >= low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {'an integer' if integer else 'a number'} {bound}, got {value!r}")
    return int(value) if integer else float(value)


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int ``>= minimum``."""
    return check_number(name, value, minimum, integer=True)


def check_pair(name: str, value: Any, low: float, high: float, integer: bool = False) -> Any:
    """A ``[min, max]`` pair of floats (ints with ``integer``) with ``low <= min <= max <= high``, as a tuple."""
    kind = numbers.Integral if integer else numbers.Real
    try:
        a, b = value
    except (TypeError, ValueError):
        a = b = None
    if any(isinstance(v, bool) or not isinstance(v, kind) for v in (a, b)) or not low <= a <= b <= high:
        raise ValueError(
            f"{name} must be a [min, max] pair of {'integers' if integer else 'numbers'} "
            f"with {low} <= min <= max <= {high}, got {value!r}"
        )
    return (int(a), int(b)) if integer else (float(a), float(b))


def check_known_fields(cls: type, data: Any, what: str) -> None:
    """Reject keys of the mapping ``data`` that are not fields of the dataclass ``cls``."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {what} option(s) {unknown}; known: {sorted(known)}")
