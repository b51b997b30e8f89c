"""Word-level helpers shared by the name, place and email generators."""

from __future__ import annotations

import re
from collections.abc import Callable

_SPLIT = re.compile(r"(\s+)")
_EDGES = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


def split_keep_space(text: str) -> list[str]:
    """``text`` split into words and the whitespace between them (joined back verbatim)."""
    return [part for part in _SPLIT.split(text) if part]


def strip_edges(token: str) -> tuple[str, str, str]:
    """``(leading punctuation, core, trailing punctuation)`` of a word: ``"(Doe),"``."""
    match = _EDGES.match(token)
    assert match is not None  # the pattern matches every string
    return match.group(1), match.group(2), match.group(3)


def apply_case(new: str, like: str) -> str:
    """``new`` in ``like``'s case pattern: UPPER, lower, Capitalised, or as drawn."""
    letters = [ch for ch in like if ch.isalpha()]
    if not letters:
        return new
    if all(ch.isupper() for ch in letters) and (len(letters) > 1 or len(new) == 1):
        return new.upper()
    if all(ch.islower() for ch in letters):
        return new.lower()
    if letters[0].isupper():
        return new[:1].upper() + new[1:]
    return new


def draw_unlike(make: Callable[[], str], avoid: str, count: int, tries: int = 20) -> list[str]:
    """``count`` distinct values of ``make()`` that differ from ``avoid`` (case-insensitive).

    Returns fewer when ``make`` keeps repeating itself; never an empty list unless
    ``count`` is 0 (the last value drawn is used then even if it equals ``avoid``).
    """
    seen: list[str] = []
    folded = {avoid.casefold()}
    last = ""
    for _ in range(count * tries):
        last = make()
        if last.casefold() not in folded:
            seen.append(last)
            folded.add(last.casefold())
            if len(seen) == count:
                break
    return seen or ([last] if count else [])


def ordinal_suffix(number: int) -> str:
    """English ordinal suffix: 1st, 2nd, 3rd, 4th, 11th, 21st."""
    if 11 <= number % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
