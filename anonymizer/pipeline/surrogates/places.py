"""LOCATION surrogates: street addresses over one or more lines, word by word.

Line breaks and spacing are kept. Street types (St, Avenue, Rd), unit words (Apt,
Suite, PO Box), compass directions and country names stay; numbers (house number,
ZIP, "12B", "SW1A") keep their shape; two-letter upper-case words are read as a state
code (Faker ``state_abbr`` where the locale has one); German compounds keep their
suffix ("Hauptstraße" → "Schmidtstraße"). Remaining runs of words become Faker last
names when they name a street (a house number or street type before them on the line,
or a street type right after them) and a Faker city with as many words otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from faker import Faker

from anonymizer.pipeline.surrogates.draw import ALTERNATIVES, Draw
from anonymizer.pipeline.surrogates.shapes import class_preserving, number_like
from anonymizer.pipeline.surrogates.words import (
    apply_case,
    draw_unlike,
    ordinal_suffix,
    split_keep_space,
    strip_edges,
)

STREET_TYPES = frozenset(
    "street st avenue ave av road rd boulevard blvd lane ln drive dr court ct way place pl "
    "square sq terrace ter parkway pkwy highway hwy circle cir trail trl alley crescent cres "
    "close row mews gardens hill plaza rue via calle straße strasse str weg gasse platz "
    "allee".split()
)
UNIT_WORDS = frozenset(
    "apt apartment suite ste unit floor fl bldg building room rm po p.o box c/o no nr #".split()
)
DIRECTIONS = frozenset("n s e w ne nw se sw north south east west".split())
COUNTRIES = frozenset(
    "usa us u.s u.s.a united states america uk kingdom great britain england scotland wales "
    "ireland germany deutschland france canada australia austria switzerland netherlands "
    "belgium spain italy".split()
)
CONNECTORS = frozenset("of the and & de la le du der am an im".split())
_ORDINAL = re.compile(r"\d+(st|nd|rd|th)", re.I)
GLUED_SUFFIXES = ("straße", "strasse", "str", "weg", "gasse", "platz", "allee", "ring", "damm")


_KEPT = STREET_TYPES | UNIT_WORDS | DIRECTIONS | COUNTRIES | CONNECTORS


def _kept(core: str) -> bool:
    """Whether an address word is structure (street type, unit, direction, country)."""
    low = core.casefold()
    return low in _KEPT or low.rstrip(".") in _KEPT


def _city_words(fake: Faker, n: int) -> list[str]:
    """``n`` words of a Faker city name (a city with ``n`` words when one turns up)."""
    for _ in range(20):
        words = fake.city().split()
        if len(words) == n:
            return words
    return (words + [fake.last_name() for _ in range(n)])[:n]


def location(draw: Draw, original: str, alternatives: int = 0) -> list[str]:
    """Candidates for an address: the surrogate first, then other draws (for fitting)."""
    count = 1 + (ALTERNATIVES if alternatives else 0)
    tokens = split_keep_space(original)
    columns: list[list[str]] = [[t] * count for t in tokens]
    phrase: list[int] = []  # indices of the words of the current run of free words

    def flush(street_after: bool) -> None:
        if not phrase:
            return
        fake = draw.seed(draw.key, "phrase", str(phrase[0]))
        cores = [strip_edges(tokens[i])[1] for i in phrase]
        line_start = max((j for j in range(phrase[0]) if "\n" in tokens[j]), default=-1)
        before = tokens[line_start + 1 : phrase[0]]  # "12 Main", "Rue de la Paix"
        street = street_after or any(
            any(ch.isdecimal() for ch in t) or strip_edges(t)[1].casefold() in STREET_TYPES
            for t in before
        )
        for k in range(count):
            new = [fake.last_name() for _ in cores] if street else _city_words(fake, len(cores))
            for i, word, core in zip(phrase, new, cores, strict=True):
                if word.casefold() == core.casefold():
                    word = draw_unlike(fake.last_name, core, 1)[0]
                lead, _, trail = strip_edges(tokens[i])
                columns[i][k] = lead + apply_case(word, core) + trail
        phrase.clear()

    for i, token in enumerate(tokens):
        if token.isspace():
            if "\n" in token:
                flush(False)
            continue
        lead, core, trail = strip_edges(token)
        if not core or _kept(core):
            flush(core.casefold().rstrip(".") in STREET_TYPES)
            continue
        low = core.lower()
        glued = next((s for s in GLUED_SUFFIXES if low.endswith(s) and len(low) > len(s) + 2), None)
        state = len(core) == 2 and core.isascii() and core.isupper()
        digits = any(ch.isdecimal() for ch in core)
        if not (digits or state or glued):
            phrase.append(i)
            if trail:  # "Springfield," ends the run
                flush(False)
            continue
        flush(bool(glued))
        fake = draw.seed(draw.key, "word", str(i))  # after flush: flush reseeds the Faker
        if digits:
            new = number_like(fake.random, core)
            if _ORDINAL.fullmatch(core):  # "72nd St": a number with its own suffix
                number = new[: -2]
                new = number + apply_case(ordinal_suffix(int(number)), core[-2:])
            columns[i] = [lead + new + trail] * count
        elif state:
            make: Callable[[], str] = getattr(
                fake, "state_abbr", lambda fake=fake, core=core: class_preserving(fake.random, core)
            )
            columns[i] = [lead + s + trail for s in _pad(draw_unlike(make, core, count), count)]
        else:
            stem = core[: len(core) - len(glued)]
            stems = _pad(draw_unlike(fake.last_name, stem, count), count)
            columns[i] = [lead + apply_case(s, stem) + core[len(stem) :] + trail for s in stems]
    flush(False)
    return list(dict.fromkeys("".join(col[k] for col in columns) for k in range(count)))


def _pad(values: list[str], count: int) -> list[str]:
    return [values[min(k, len(values) - 1)] for k in range(count)]
