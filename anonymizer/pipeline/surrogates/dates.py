"""Dates and times: detect the format token by token, draw a new value, write it in that format.

Recognised: numeric dates with ``/ - .`` or space separators (``12/10/1998``,
``1998-10-12``, ``12.10.98``, ``10/1998``), month names of the languages in
:mod:`anonymizer.core.months` (the new month is written in the original's language and
form: ``25 mei 2015`` → ``12 juni 2017``) and English weekday names, full or abbreviated,
in any case (``10 Dec 1998``, ``December 10, 1998``, ``12-Oct-1998``, ``Thu, Dec 10th``),
times ``H:MM[:SS[.fff]]`` with optional ``am/pm``/``a.m.`` and ISO
``T`` joins. Zero-padded fields stay padded (``07/02/1999``); unpadded ones stay unpadded
(``Dec 2``, ``9:05 pm``, ``3/7/99``), so their width may change by a digit. When day and
month order is ambiguous (both ≤ 12) the new day is ≤ 12 too, so the surrogate is a valid
date read either way. Years move by at most 5 years, never into the future for
a past date, and a date 18 or more years ago stays 18 or more years ago (an adult's
date of birth stays an adult's).
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
import re
from dataclasses import dataclass, field

from anonymizer.core.months import month_index, month_name
from anonymizer.pipeline.surrogates.draw import ALTERNATIVES, Draw
from anonymizer.pipeline.surrogates.shapes import fill, similar_char
from anonymizer.pipeline.surrogates.words import apply_case, ordinal_suffix

WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_WEEKDAY_NAMES = {d.casefold(): "full" for d in WEEKDAYS}
_WEEKDAY_NAMES.update({d[:3].casefold(): "abbr" for d in WEEKDAYS})
_ORDINALS = frozenset({"st", "nd", "rd", "th"})
_TOKEN = re.compile(r"\d+|[^\W\d_]+|\s+|.", re.S)
_YEAR_SHIFT = 5
_ADULT = 18


@dataclass
class DateShape:
    """A parsed date/time: the tokens of the original and the role of each recognised one.

    Holds the original's tokens only for the duration of one surrogate call.
    """

    tokens: list[str] = field(repr=False)
    roles: dict[int, str]
    ambiguous: bool
    values: dict[str, int] = field(repr=False)

    @property
    def key(self) -> str:
        """Normalised value (what the date *is*, not how it is written)."""
        v = self.values
        return "{}-{}-{}T{}:{}:{}".format(*(v.get(k, "?") for k in "YmdHMS"))

    def has(self, *roles: str) -> bool:
        """Whether any token plays one of ``roles``."""
        return any(r in self.roles.values() for r in roles)

    def padded(self, i: int) -> bool:
        """Whether field token ``i`` is written zero-padded: it has a leading zero, or two
        digits in a numeric date or 24-hour time (``12/10``, ``14:05``). ``Dec 10`` and
        ``10 pm`` read as unpadded, as does any one-digit field.
        """
        tok, role = self.tokens[i], self.roles[i]
        if len(tok) < 2:
            return False
        text_day = role == "d" and self.has("mon", "mon_abbr")
        return tok.startswith("0") or not (text_day or role == "I")

    def draw(self, rng: random.Random, today: dt.date) -> dict[str, int]:
        """New field values honouring the year range, digit counts and ambiguity."""
        v = self.values
        has_year = "Y" in v
        y0 = v.get("Y", today.year)
        lo, hi = max(y0 - _YEAR_SHIFT, 1000), min(y0 + _YEAR_SHIFT, 9999)
        if y0 <= today.year:
            hi = min(hi, today.year)
        if today.year - y0 >= _ADULT:
            hi = min(hi, today.year - _ADULT)
        hi = max(hi, lo)
        limit = None  # a full past date stays past; 18+ years ago stays 18+ years ago
        if has_year and "m" in v:
            adult = _years_before(today, _ADULT)
            original = dt.date(y0, v["m"], v.get("d", 1))
            limit = adult if original <= adult else today if original <= today else None
        max_day = 12 if self.ambiguous else 31
        hour12 = self.has("I")
        new: dict[str, int] = {}
        for _ in range(200):  # the first draw wherever possible: consistent across formats
            year = rng.randint(lo, hi)
            month = rng.randint(1, 12)
            days = calendar.monthrange(year if has_year else 2001, month)[1]
            new = {"Y": year, "m": month, "d": rng.randint(1, days)}
            new["H"] = rng.randint(1, 12) if hour12 else rng.randint(0, 23)
            new["M"], new["S"] = rng.randint(0, 59), rng.randint(0, 59)
            new["pm"] = rng.randint(0, 1)
            ok = new["d"] <= max_day
            if ok and limit is not None:
                ok = dt.date(year, month, new["d"]) <= limit
            if ok:
                break
        return new

    def render(self, rng: random.Random, today: dt.date) -> str:
        """The tokens with every recognised field replaced by a freshly drawn value."""
        new = self.draw(rng, today)
        out = list(self.tokens)
        weekday = None
        if {"d", "m", "Y"} <= set(self.values):
            weekday = dt.date(new["Y"], new["m"], new["d"]).weekday()
        for i, tok in enumerate(self.tokens):
            role = self.roles.get(i)
            if role is None:
                if tok.isdecimal():  # digits we could not place are replaced all the same
                    out[i] = "".join(rng.choice("0123456789") for _ in tok)
            elif role == "Y":
                out[i] = f"{new['Y']:04d}"
            elif role == "y":
                out[i] = f"{new['Y'] % 100:02d}"
            elif role in ("m", "d", "H", "I", "M", "S"):
                value = str(new["H" if role == "I" else role])
                out[i] = value.zfill(len(tok)) if self.padded(i) else value
            elif role == "f":
                out[i] = "".join(rng.choice("0123456789") for _ in tok)
            elif role in ("mon", "mon_abbr"):  # the new month in the original's language and form
                _, language, _ = month_index()[tok.casefold()]
                out[i] = apply_case(month_name(new["m"], language, full=role == "mon"), tok)
            elif role in ("wd", "wd_abbr"):
                name = WEEKDAYS[weekday if weekday is not None else rng.randrange(7)]
                out[i] = apply_case(name if role == "wd" else name[:3], tok)
            elif role == "ord":
                out[i] = apply_case(ordinal_suffix(new["d"]), tok)
            elif role == "ampm":
                out[i] = apply_case(("am", "pm")[new["pm"]][: len(tok)], tok)
        return "".join(out)


def _times(tokens: list[str], roles: dict[int, str]) -> None:
    """Mark ``H:MM[:SS[.fff]]`` and am/pm tokens."""
    n = len(tokens)

    def digits(i: int, width: int | None = None) -> bool:
        return i < n and tokens[i].isdecimal() and (width is None or len(tokens[i]) == width)

    for i in range(n):
        if i in roles or not (digits(i) and len(tokens[i]) <= 2):
            continue
        if i + 2 < n and tokens[i + 1] == ":" and digits(i + 2, 2):
            roles[i], roles[i + 2] = "H", "M"
            j = i + 3
            if j + 1 < n and tokens[j] == ":" and digits(j + 1, 2):
                roles[j + 1] = "S"
                j += 2
                if j + 1 < n and tokens[j] in ".," and digits(j + 1):
                    roles[j + 1] = "f"
                    j += 2
        else:  # "10am", "3 p.m."
            j = i + 1
            if not _is_ampm(tokens, j + 1 if j < n and tokens[j].isspace() else j):
                continue
            roles[i] = "H"
        k = j + 1 if j < n and tokens[j].isspace() else j
        if _is_ampm(tokens, k):
            roles[k] = "ampm"
            roles[i] = "I"


def _is_ampm(tokens: list[str], i: int) -> bool:
    if i >= len(tokens):
        return False
    low = tokens[i].casefold()
    if low in ("am", "pm"):
        return True
    after = [t.casefold() for t in tokens[i + 1 : i + 3]]
    return low in ("a", "p") and after == [".", "m"]


def _years_before(day: dt.date, years: int) -> dt.date:
    """``day`` ``years`` years earlier (28 Feb for 29 Feb)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _valid(values: dict[str, int]) -> bool:
    month, day = values.get("m", 1), values.get("d", 1)
    if not (1 <= month <= 12 and day >= 1):
        return False
    return day <= calendar.monthrange(values.get("Y", 2001), month)[1]


def parse(original: str, today: dt.date, month_first: bool = True) -> DateShape | None:
    """The :class:`DateShape` of ``original``, or ``None`` when no date or time is found.

    ``month_first`` decides ``12/10`` when both numbers could be the month; a ``.``
    separator always reads day first.
    """
    tokens = _TOKEN.findall(original)
    roles: dict[int, str] = {}
    _times(tokens, roles)
    for i, tok in enumerate(tokens):
        low = tok.casefold()
        if i in roles or not tok.isalpha():
            continue
        if low in month_index():  # English "May" reads as an abbreviation ("Jun"), Dutch "mei" as a name
            _, language, full = month_index()[low]
            roles[i] = "mon" if full and (len(tok) > 3 or language != "en") else "mon_abbr"
        elif low in _WEEKDAY_NAMES:
            roles[i] = "wd" if _WEEKDAY_NAMES[low] == "full" else "wd_abbr"
        elif low in _ORDINALS and i and tokens[i - 1].isdecimal():
            roles[i] = "ord"
    values: dict[str, int] = {}
    for i, role in roles.items():
        if role in ("mon", "mon_abbr"):
            values["m"] = month_index()[tokens[i].casefold()][0]
    # digits glued to a word ("Q3", "FY2020") are not date fields (they are still replaced)
    glued = {i for i in range(1, len(tokens)) if tokens[i - 1].isalpha() and i - 1 not in roles}
    free = [
        i for i, t in enumerate(tokens) if t.isdecimal() and i not in roles and i not in glued
    ]
    ambiguous = False
    if "m" in values:
        for i in free:
            tok, val = tokens[i], int(tokens[i])
            if len(tok) == 4 and "Y" not in values:
                roles[i], values["Y"] = "Y", val
            elif len(tok) <= 2 and "d" not in values and 1 <= val <= 31:
                roles[i], values["d"] = "d", val
            elif len(tok) == 2 and "Y" not in values:
                roles[i], values["Y"] = "y", _expand(val, today)
    else:
        ambiguous = _numeric(tokens, free, roles, values, today, month_first)
    if "H" in roles.values() or "I" in roles.values():
        for i, role in roles.items():
            if role in ("H", "I", "M", "S"):
                values["H" if role == "I" else role] = int(tokens[i])
        if "I" in roles.values():
            pm = next(tokens[i] for i, r in roles.items() if r == "ampm").casefold().startswith("p")
            values["H"] = values["H"] % 12 + 12 * pm
    if not roles or not _valid(values):
        return None
    return DateShape(tokens, roles, ambiguous, values)


def _expand(yy: int, today: dt.date) -> int:
    """Two-digit year to four: not later than this year."""
    century = today.year // 100 * 100
    return century + yy if century + yy <= today.year else century - 100 + yy


def _numeric(
    tokens: list[str],
    free: list[int],
    roles: dict[int, str],
    values: dict[str, int],
    today: dt.date,
    month_first: bool,
) -> bool:
    """Assign Y/m/d to 1-3 numbers joined by one separator; returns whether d/m is ambiguous."""
    if not free:
        return False
    if len(free) == 1:
        i = free[0]
        if len(tokens[i]) == 4 and 1000 <= int(tokens[i]) <= 2999:
            roles[i], values["Y"] = "Y", int(tokens[i])
        return False
    if len(free) > 3 or any(free[k + 1] - free[k] != 2 for k in range(len(free) - 1)):
        return False
    seps = {tokens[i + 1] for i in free[:-1]}
    if len(seps) != 1 or not seps <= {"/", "-", ".", " "}:
        return False
    sep = seps.pop()
    toks = [tokens[i] for i in free]
    nums = [int(t) for t in toks]
    if len(toks[0]) == 4:  # Y-m-d or Y-m
        order, ambiguous = ["Y", "m", "d"][: len(toks)], False
    else:
        year = ["y" if len(toks[-1]) == 2 else "Y"] if len(toks) == 3 else []
        if len(toks) == 2 and len(toks[-1]) == 4:
            order, ambiguous = ["m", "Y"], False
        elif len(toks) == 3 and len(toks[-1]) not in (2, 4):
            return False
        else:
            a, b = nums[0], nums[1]
            ambiguous = a <= 12 and b <= 12
            day_first = a > 12 or (ambiguous and (sep == "." or not month_first))
            order = (["d", "m"] if day_first else ["m", "d"]) + year
    trial: dict[str, int] = {}
    for role, tok in zip(order, toks, strict=True):
        trial["Y" if role == "y" else role] = _expand(int(tok), today) if role == "y" else int(tok)
    if any(len(t) > 2 for r, t in zip(order, toks, strict=True) if r in ("m", "d")):
        return False
    if not _valid(trial):
        return False
    for role, i in zip(order, free, strict=True):
        roles[i] = role
    values.update(trial)
    return ambiguous


def date_time(draw: Draw, original: str, alternatives: int = 0) -> list[str]:
    """Candidates for a date/time: same format, new value (see the module docstring).

    The value, not its spelling, seeds the draw, so "1998-10-12" and "12 Oct 1998" become
    the same new date. Unrecognised text gets its digits replaced (letters kept).
    """
    shape = parse(original, draw.today, draw.month_first)
    if shape is None:
        rng = draw.rng()
        digits = (similar_char(rng, ch) for ch in original if ch.isdecimal())
        return [fill(original, digits, str.isdecimal)]
    count = 1 + (ALTERNATIVES if alternatives else 0)
    renders = (
        shape.render(draw.rng(shape.key, *(("alt", str(k)) if k else ())), draw.today)
        for k in range(count)
    )
    return list(dict.fromkeys(renders))
