"""PERSON and ORGANIZATION surrogates from Faker's name lists.

Names are replaced word by word and each word is seeded by its own keyed hash
(``PERSON/first/jane``, ``PERSON/last/doe``), so "Jane Doe", "Doe" alone, "Mr. Doe",
"DOE, Jane" and the email "jane.doe@…" all use the same surrogate words. Titles
(Mr., Dr., ...), suffixes (Jr., PhD, ...) and particles (van, de, ...) are kept;
initials stay initials; each word keeps its case pattern; the number of words is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from faker import Faker

from anonymizer.pipeline.surrogates.draw import ALTERNATIVES, Draw
from anonymizer.pipeline.surrogates.shapes import class_preserving
from anonymizer.pipeline.surrogates.words import (
    apply_case,
    draw_unlike,
    split_keep_space,
    strip_edges,
)

MALE_TITLES = frozenset({"mr", "sir", "herr", "lord", "signor", "sr"})
FEMALE_TITLES = frozenset({"mrs", "ms", "miss", "madam", "dame", "lady", "frau", "mme", "mlle"})
TITLES = MALE_TITLES | FEMALE_TITLES | frozenset({"mx", "dr", "prof", "rev", "hon", "fr"})
SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq", "dds", "mba", "msc"})
PARTICLES = frozenset({"van", "von", "der", "den", "de", "da", "di", "du", "la", "le", "del"})
CONNECTORS = frozenset({"and", "&", "und", "of", "the", "for", "für"})
LEGAL_FORMS = frozenset(
    "inc incorporated llc llp lp ltd limited corp corporation co company plc gmbh ag kg "
    "ohg ug se sa sas sarl srl spa bv nv oy ab as asa pty pvt".split()
)
_INITIALS = re.compile(r"[^\W\d_](?:[.\-][^\W\d_])*")
_LIST_ATTRS = ("first_names_female", "first_names_male", "last_names")

NameLists = tuple[frozenset[str], frozenset[str], frozenset[str]]
_NAME_LISTS: dict[tuple[str, ...], NameLists] = {}


def name_lists(fake: Faker) -> NameLists:
    """Case-folded female first, male first and last names of ``fake``'s locale(s)."""
    key = tuple(fake.locales)
    if key not in _NAME_LISTS:
        lists: tuple[set[str], set[str], set[str]] = (set(), set(), set())
        for provider in fake.providers:
            for names, attr in zip(lists, _LIST_ATTRS, strict=True):
                names.update(n.casefold() for n in getattr(provider, attr, ()))
        _NAME_LISTS[key] = (frozenset(lists[0]), frozenset(lists[1]), frozenset(lists[2]))
    return _NAME_LISTS[key]


@dataclass
class _Word:
    """One word of a name: its punctuation, core and role (``first``/``last``/``keep``)."""

    lead: str
    core: str
    trail: str
    role: str = "keep"
    initials: bool = False


def _parse_person(text: str, fake: Faker) -> tuple[list[str | _Word], str | None]:
    """Words of a person's name with roles, and the gender the title or first name implies."""
    parts: list[str | _Word] = []
    names: list[_Word] = []
    gender = None
    titled = False
    for token in split_keep_space(text):
        if token.isspace():
            parts.append(token)
            continue
        word = _Word(*strip_edges(token))
        parts.append(word)
        low = word.core.casefold().replace(".", "")
        if low in TITLES and not names:
            titled = True
            gender = "f" if low in FEMALE_TITLES else "m" if low in MALE_TITLES else gender
        elif word.core and not (low in SUFFIXES and names) and low not in CONNECTORS:
            word.initials = bool(_INITIALS.fullmatch(word.core))
            names.append(word)
    # particles (van, de, la) stay when a name follows them: "Ludwig van Beethoven"
    last_i = len(names) - 1
    names = [w for i, w in enumerate(names) if not (w.core.casefold() in PARTICLES and i < last_i)]
    female, male, last = name_lists(fake)
    if len(names) == 1:
        low = names[0].core.casefold()
        first = not titled and low in female | male and low not in last
        names[0].role = "first" if first else "last"
    elif names:
        surname = 0 if "," in names[0].trail else len(names) - 1
        for i, word in enumerate(names):
            word.role = "last" if i == surname else "first"
    if gender is None:
        first = next((w.core.casefold() for w in names if w.role == "first" and not w.initials), "")
        gender = "f" if first in female - male else "m" if first in male - female else None
    return parts, gender


def name_draws(draw: Draw, word: str, role: str, gender: str | None, count: int) -> list[str]:
    """``count`` surrogates for one name word (hyphenated parts each replaced)."""
    pieces = word.split("-")
    per_piece = []
    for piece in pieces:
        fake = draw.seed(role, piece.casefold(), entity_type="PERSON")
        if role == "first":
            make: Callable[[], str] = {
                "f": fake.first_name_female,
                "m": fake.first_name_male,
            }.get(gender or "", fake.first_name)
        else:
            make = fake.last_name
        per_piece.append([apply_case(n, piece) for n in draw_unlike(make, piece, count)])
    return [
        "-".join(alts[min(k, len(alts) - 1)] for alts in per_piece) for k in range(count)
    ]


def _initial_draw(draw: Draw, word: str, role: str) -> str:
    """A new initial (or ``J.-P.`` run of initials) for an initial, seeded by the letters."""
    fake = draw.seed(role + "-initial", word.casefold(), entity_type="PERSON")
    make = fake.first_name if role == "first" else fake.last_name
    out = []
    for ch in word:
        if ch.isalpha():
            letter = draw_unlike(lambda: make()[:1], ch, 1)[0]
            out.append(apply_case(letter, ch))
        else:
            out.append(ch)
    return "".join(out)


def person(draw: Draw, original: str, alternatives: int = 0) -> list[str]:
    """Candidates for a person's name: the surrogate first, then narrower variants.

    Variants (for fitting a box): first names as initials; other Faker draws for every
    word; those as initials; all initials.
    """
    parts, gender = _parse_person(original, draw.fake)
    count = 1 + (ALTERNATIVES if alternatives else 0)
    words = [p for p in parts if isinstance(p, _Word) and p.role != "keep"]
    draws: dict[int, list[str]] = {}
    for w in words:
        if w.initials:
            draws[id(w)] = [_initial_draw(draw, w.core, w.role)] * count
        else:
            draws[id(w)] = name_draws(draw, w.core, w.role, gender, count)
    has_last = any(w.role == "last" for w in words)

    def render(k: int, initial_roles: frozenset[str] = frozenset()) -> str:
        out = []
        for p in parts:
            if isinstance(p, str):
                out.append(p)
            elif p.role == "keep":
                out.append(p.lead + p.core + p.trail)
            else:
                new = draws[id(p)][k]
                if p.role in initial_roles and not p.initials:
                    dot = "" if p.trail.startswith(".") else "."
                    new = "-".join(piece[:1] + dot for piece in new.split("-"))
                out.append(p.lead + new + p.trail)
        return "".join(out)

    candidates = [render(0)]
    if alternatives:
        firsts = frozenset({"first"}) if has_last else frozenset()
        candidates.append(render(0, firsts))
        for k in range(1, count):
            candidates += [render(k), render(k, firsts)]
        candidates.append(render(0, frozenset({"first", "last"})))
    return list(dict.fromkeys(candidates))


def _org_word(word: str) -> bool:
    """Whether ``word`` of an organisation's name is replaced (not a legal form or connector)."""
    low = word.casefold().replace(".", "")
    return bool(low) and low not in LEGAL_FORMS and low not in CONNECTORS


def organization_key(original: str) -> str:
    """Normalised organisation: case-folded words without legal forms ("ACME Inc." = "Acme")."""
    words = [strip_edges(t)[1] for t in original.split()]
    return " ".join(w.casefold() for w in words if _org_word(w)) or original.casefold().strip()


def organization(draw: Draw, original: str, alternatives: int = 0) -> list[str]:
    """Each name word replaced by a Faker last name (same case pattern), legal form kept.

    Words with digits get :func:`class_preserving`; connectors (and, &, of) are kept.
    """
    count = 1 + (ALTERNATIVES if alternatives else 0)
    columns: list[list[str]] = []
    words = 0
    for token in split_keep_space(original):
        lead, core, trail = strip_edges(token)
        if token.isspace() or not _org_word(core):
            columns.append([token] * count)
            continue
        words += 1  # one stream per word: alternatives keep the first draw of each
        fake = draw.seed(draw.key, str(words))
        if any(ch.isdecimal() for ch in core):
            columns.append([lead + class_preserving(fake.random, core) + trail] * count)
        else:
            pieces = core.split("-")
            alts = [draw_unlike(fake.last_name, piece, count) for piece in pieces]
            columns.append(
                [
                    lead
                    + "-".join(
                        apply_case(a[min(k, len(a) - 1)], piece)
                        for a, piece in zip(alts, pieces, strict=True)
                    )
                    + trail
                    for k in range(count)
                ]
            )
    return list(dict.fromkeys("".join(col[k] for col in columns) for k in range(count)))
