"""People, organisations and places named in text, found without an NER model.

Names of people are recognised by their parts, the way a reader does on a page of a
language they barely know: a known **given name** (the union of the given-name lists of
Faker's locales: English, German, French, Dutch, Italian, Spanish, Portuguese, Swedish,
Danish, Indian English) followed by a capitalised family name, optionally with a middle
initial and name particles (``van der``, ``de``, ``von``); ``Last, First`` with a known
family name; and a courtesy title (``Mr``, ``Dr.``, ``Frau``, ``Mme``) followed by a
capitalised name. ALL-CAPS lines (ID cards, tax forms) are read case-insensitively.

Guards against ordinary words: given names that are everyday English words (``Bill``,
``Mark``, ``May``, ``Olive``: :data:`WORD_NAMES`) count only before a known family name or
after a name cue; the second word must not be a stop word, a month, a field label word
(:data:`NOT_SURNAMES`) or followed by a model number (``Mario Kart 7``).

Organisations end with a legal form (:data:`LEGAL_FORMS`: ``Inc.``, ``LLC``, ``GmbH``,
``B.V.``, ``S.A.``) or a family-firm ending (``et Fils``, ``& Sons``): the capitalised words
before it are the name. Once a person or an organisation is found, its family or given name
(or the organisation's full name) written the same way elsewhere on the page is that person
too (:func:`repeated_names`: ``Dear Mr Pelletier``). Places in running text
follow a residence cue (``lives in``, ``born in``, ``based in``: :data:`PLACE_CUES`).

:func:`person_score` scores a short text as a person's name (used by the address-block
reader for the name lines of a block). The recognizers plug into Presidio's registry
(:func:`recognizers`).
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Sequence

from anonymizer.core.months import month_words
from anonymizer.core.text import casefold_unaccented
from anonymizer.pipeline.presidio_import import load_presidio

EntityRecognizer, RecognizerResult = load_presidio().EntityRecognizer, load_presidio().RecognizerResult

#: Faker locales whose given and family names make the gazetteer.
NAME_LOCALES = ("en_US", "en_GB", "en_IN", "de_DE", "fr_FR", "nl_NL", "it_IT", "es_ES", "pt_BR", "sv_SE", "da_DK")
#: Given names that are also everyday English words: names only before a known family
#: name or after a name cue.
WORD_NAMES = frozenset({
    "amber", "angel", "april", "art", "august", "autumn", "bill", "bob", "carol", "chase", "christian", "crystal",
    "dawn", "dean", "destiny", "don", "faith", "frank", "gene", "glen", "grant", "guy", "holly", "hope", "hunter",
    "iris", "ivy", "jan", "jean", "joy", "june", "mario", "mark", "mason", "max", "may", "olive", "parker", "pat",
    "ray", "rose", "sandy", "sue", "summer", "tanner", "taylor", "victor", "will", "lane", "page", "major", "king",
    "prince", "miles", "sky", "star", "river", "forest", "pearl", "ruby", "violet", "heath", "ben", "earl", "rich",
    "sunny", "young", "rock", "bud", "clay", "cliff", "gay", "harmony", "honor", "justice", "liberty", "mercy",
    "precious", "royal", "marina", "nova", "ocean", "patience", "rain", "reed", "ridge", "rusty", "scout", "stone",
    "storm", "wade", "york",
})
#: Words that never start or end a name: labels, headings and words of forms and invoices.
NOT_SURNAMES = frozenset({
    "account", "address", "amount", "balance", "bank", "bill", "billing", "birth", "city", "code", "company",
    "contact", "country", "customer", "date", "day", "description", "details", "due", "email", "fax", "form",
    "from", "invoice", "item", "mail", "member", "mobile", "month", "name", "no", "note", "notes", "number",
    "order", "page", "payment", "phone", "policy", "price", "quantity", "receipt", "reference", "sale", "ship",
    "shipping", "signature", "state", "status", "street", "subtotal", "tax", "tel", "terms", "total", "type",
    "unit", "vat", "year", "zip", "the", "and", "or", "of", "to", "for", "in", "on", "at", "by", "with", "de",
    "la", "le", "van", "von", "der", "den", "het", "een", "und", "et", "y", "e", "i", "is", "a", "an",
    # street types (a street name is not a person: "De Silva St")
    "st", "rd", "ave", "avenue", "blvd", "boulevard", "dr", "drive", "ln", "road", "way", "pkwy", "parkway",
    "ct", "court", "pl", "place", "sq", "square", "hwy", "highway", "ter", "terrace", "cir", "circle",
})
#: Lower-case words inside names (``Ludwig van Beethoven``, ``Maria de la Cruz``).
PARTICLES = frozenset({"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "ter", "ten",
                       "dos", "das", "zu", "y", "bin", "al"})
#: Courtesy titles and honorifics before a name (letters only, case-insensitive).
TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "dame", "herr", "frau", "mme",
                    "mlle", "mevr", "dhr", "sr", "sra", "srta", "sig", "signora", "signor", "rev", "hon"})
#: Words before a name that make a capitalised pair a name even with a word-like given name.
NAME_CUES = frozenset({"name", "dear", "by", "attn", "attention", "tav", "co", "sincerely", "regards", "from",
                       "signed", "contact", "patient", "employee", "applicant", "insured", "beste", "geachte",
                       "sehr", "liebe", "lieber", "cher", "chère", "bonjour", "hello", "hi"})
#: Legal forms that end an organisation's name (letters only, case-insensitive).
LEGAL_FORMS = frozenset({
    "inc", "llc", "llp", "lp", "ltd", "limited", "corp", "corporation", "co", "company", "plc", "gmbh", "ag", "kg",
    "ohg", "ug", "ev", "bv", "nv", "vof", "sa", "sas", "sarl", "sasu", "srl", "spa", "sl", "pty", "pvt", "ab",
    "asa", "as", "aps", "oy", "oyj", "kft", "spzoo", "sro", "md", "pc", "pllc",
})
#: Legal forms that are also common abbreviations (``AB``, ``SA``, ``CO``): without dots they
#: end a name only after a word in mixed case (``Volvo Cars AB``, not ``NINO AB``).
SHORT_FORMS = frozenset({"ab", "as", "sa", "ag", "co", "nv", "bv", "kg", "ug", "ev", "lp", "pc", "md", "oy", "sl",
                         "spa", "sas", "aps", "asa", "oyj", "kft", "sro", "ohg", "vof", "pvt", "sasu"})
#: Cues before a place in running text (``lives in Boston``): words of the cue, last word first.
PLACE_CUES = ("lives in", "live in", "lived in", "living in", "born in", "based in", "located in", "resides in",
              "residing in", "resident of", "moved to", "relocated to", "wohnt in", "geboren in", "habite à",
              "né à", "née à", "woont in", "geboren te")

_WORD = re.compile(r"\S+")
_EDGE = "\"'“”‘’()[]{},;:!?"
_MODEL_NUMBER = re.compile(r"\d{1,3}|[A-Za-z]*\d+[A-Za-z]+|\d+[A-Za-z]*")
PERSON_SCORE, PERSON_WEAK, ORG_SCORE, PLACE_SCORE = 0.6, 0.45, 0.55, 0.55


def letters(token: str) -> str:
    """Lower-case letters of ``token`` (``"B.V."`` → ``"bv"``)."""
    return "".join(c for c in casefold_unaccented(token) if c.isalpha())


@functools.lru_cache(maxsize=1)
def gazetteer() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, family names), lower case without accents (OCR drops them: ``AURELIE``), from
    Faker's locales (:data:`NAME_LOCALES`)."""
    given: set[str] = set()
    family: set[str] = set()
    for locale in NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attr in ("first_names", "first_names_male", "first_names_female"):
            given.update(casefold_unaccented(n) for n in getattr(provider, attr, ()) or () if " " not in n)
        family.update(casefold_unaccented(n) for n in getattr(provider, "last_names", ()) or () if " " not in n)
    return frozenset(given), frozenset(family)


def _capital(token: str, caps: bool) -> bool:
    """A token that may be (part of) a name: capitalised, or any letters on an ALL-CAPS line."""
    core = token.strip(".,;:'’")
    return bool(core) and core[0].isupper() and (caps or not core.isupper() or len(core) <= 3) and any(
        c.isalpha() for c in core)


def _initial(token: str) -> bool:
    core = token.rstrip(".")
    return len(core) == 1 and core.isalpha() and core.isupper()


def person_span(tokens: Sequence[str], start: int, caps: bool = False, cue: bool = False) -> tuple[int, float] | None:
    """``(end, score)`` of a person's name starting at ``tokens[start]`` (a given name), or None.

    ``caps``: the line is in capitals; ``cue``: a name cue or title precedes it.
    """
    given, family = gazetteer()
    first = tokens[start].strip(".,;:")
    caps = caps or len(first) > 3 and first.isupper()  # "PAULINE SAUVAGE" on a mixed-case line
    if not _capital(first, caps) or casefold_unaccented(first) not in given:
        return None
    k = start + 1
    while k < len(tokens) and _initial(tokens[k]):
        k += 1
    while k < len(tokens) - 1 and tokens[k].casefold() in PARTICLES:
        k += 1
    if k >= len(tokens):
        return None
    last = tokens[k].strip(",;:")
    low = casefold_unaccented(last).strip(".")
    if not _capital(last, caps) or low in NOT_SURNAMES or low in month_words() or any(c.isdigit() for c in last):
        return None
    if k + 1 < len(tokens) and _MODEL_NUMBER.fullmatch(tokens[k + 1].strip(".,;:")):
        return None  # a product: "Mario Kart 7"
    known = low in family or "-" in low and all(p in family for p in low.split("-"))
    if casefold_unaccented(first) in WORD_NAMES and not (known or cue):
        return None
    return k + 1, PERSON_SCORE if known or cue else PERSON_WEAK


def person_score(text: str) -> float:
    """How much ``text`` (one short line) reads as a person's name: the best score of a name
    that covers all its words (0 when none does)."""
    tokens = [t for t in text.replace(",", " , ").split() if t != ","]
    if not tokens or len(tokens) > 5:
        return 0.0
    caps = text.isupper()
    start = 1 if letters(tokens[0]) in TITLES and len(tokens) > 1 else 0
    hit = person_span(tokens, start, caps, cue=start == 1)
    if hit is not None and hit[0] == len(tokens):
        return hit[1]
    if start == 1 and len(tokens) == 2 and _capital(tokens[1], caps) and letters(tokens[1]) not in NOT_SURNAMES:
        return PERSON_SCORE  # "Mr Smith"
    given, family = gazetteer()
    if (len(tokens) >= 2 and casefold_unaccented(tokens[0].strip(",")) in family
            and casefold_unaccented(tokens[1]) in given):
        return PERSON_SCORE  # "Doe, Jane" (the comma was split off)
    return 0.0


#: Two-word cues before a name (``my name is``, ``I am``), last word first.
_PAIR_CUES = frozenset({("name", "is"), ("i", "am"), ("ich", "bin"), ("je", "suis"), ("ik", "ben"), ("naam", "is"),
                        ("heet", "ik"), ("m'appelle", "je"), ("heisse", "ich"), ("heiße", "ich")})


def _cued(tokens: Sequence[str], k: int) -> bool:
    """Whether a name cue (:data:`NAME_CUES`, ``my name is``) stands right before ``tokens[k]``."""
    prev = letters(tokens[k - 1]) if k else ""
    before = tokens[k - 2].casefold() if k > 1 else ""
    return prev in NAME_CUES or (before, tokens[k - 1].casefold()) in _PAIR_CUES


#: Family-business endings that end an organisation's name like a legal form (``Martel et Fils``).
FAMILY_FIRMS = (("et", "fils"), ("&", "sons"), ("and", "sons"), ("&", "co"), ("und", "sohne"), ("und", "söhne"),
                ("en", "zonen"), ("e", "figli"), ("e", "hijos"), ("y", "hijos"), ("&", "söhne"))


def organisation_end(tokens: Sequence[str], start: int) -> int | None:
    """End of an organisation name whose legal form is ``tokens[end - 1]``, starting at ``start``."""
    for k in range(start + 1, min(start + 6, len(tokens))):
        if (k + 1 < len(tokens)
                and (tokens[k].casefold(), casefold_unaccented(tokens[k + 1]).rstrip(".")) in FAMILY_FIRMS):
            return k + 2
        form = letters(tokens[k])
        if form in LEGAL_FORMS and tokens[k].strip(",.")[:1].isupper() or tokens[k] in ("e.V.",):
            if form in SHORT_FORMS and "." not in tokens[k] and not any(
                    any(c.islower() for c in t) for t in tokens[start:k]):
                return None
            return k + 1
        if not _capital(tokens[k], True) and tokens[k].casefold() not in PARTICLES and tokens[k] != "&":
            return None
    return None


class _TokenRecognizer(EntityRecognizer):
    """A recognizer of one entity type over the words of each text line (positions kept)."""

    entity = ""

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(supported_entities=[self.entity], name=type(self).__name__,
                         supported_language=supported_language)

    def load(self) -> None:  # nothing to load
        pass

    def result(self, start: int, end: int, score: float) -> RecognizerResult:
        """A result of this recognizer's type, named after it (Presidio's metadata)."""
        return RecognizerResult(self.entity, start, end, score, recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: self.name, RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id})

    @staticmethod
    def lines(text: str) -> Iterable[tuple[list[str], list[tuple[int, int]]]]:
        """Per text line: its whitespace-separated words without surrounding punctuation
        (a final full stop only after words of three letters or more without another dot:
        ``York.`` → ``York``, ``B.V.`` and ``Q.`` stay) and their spans. A word followed by
        ``.``, ``:``, ``;``, ``!`` or ``?`` ends a name: the words after it start a new line."""
        offset = 0
        for line in text.split("\n"):
            tokens, spans = [], []
            for m in _WORD.finditer(line):
                a, b = m.start() + offset, m.end() + offset
                while a < b and text[a] in _EDGE:
                    a += 1
                while b > a and text[b - 1] in _EDGE:
                    b -= 1
                if b > a and text[b - 1] == "." and "." not in text[a : b - 1] and b - a > 3:
                    b -= 1
                if b > a:
                    tokens.append(text[a:b])
                    spans.append((a, b))
                    if text[b : m.end() + offset][:1] in (".", ":", ";", "!", "?"):
                        yield tokens, spans
                        tokens, spans = [], []
            yield tokens, spans
            offset += len(line) + 1


class PersonNameRecognizer(_TokenRecognizer):
    """PERSON: a known given name + family name, ``Last, First``, or a title + name."""

    entity = "PERSON"

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        if "PERSON" not in entities:
            return []
        given, family = gazetteer()
        out = []
        for tokens, spans in self.lines(text):
            line_text = " ".join(tokens)
            caps = sum(c.isupper() for c in line_text) > 0.8 * max(1, sum(c.isalpha() for c in line_text))
            k = 0
            while k < len(tokens):
                low = letters(tokens[k])
                title = low in TITLES and k + 1 < len(tokens)
                start = k + 1 if title else k
                hit = person_span(tokens, start, caps, cue=title or _cued(tokens, k))
                if (hit is None and title and _capital(tokens[start], caps)
                        and letters(tokens[start]) not in NOT_SURNAMES):
                    hit = (start + 1, PERSON_SCORE)  # "Mr Smith"
                if hit is None and k + 1 < len(tokens) and text[spans[k][1]:spans[k][1] + 1] == ",":
                    upper = tokens[k].isupper() and tokens[k + 1].isupper() and len(tokens[k]) > 1
                    if (low in family or upper) and _capital(tokens[k], caps or upper) \
                            and casefold_unaccented(tokens[k + 1]) in given and letters(tokens[k]) not in NOT_SURNAMES:
                        end = k + 2
                        while end < len(tokens) and _initial(tokens[end]):
                            end += 1
                        # "Doe, Jane A.", "SAUVAGE, PAULINE"
                        hit = (end, PERSON_SCORE if low in family else PERSON_WEAK)
                        start = k
                if hit is None:
                    k += 1
                    continue
                end, score = hit
                out.append(self.result(spans[start][0], spans[end - 1][1], score))
                k = end
        return out


class OrganizationRecognizer(_TokenRecognizer):
    """ORGANIZATION: capitalised words ending with a legal form (``Acme Widgets Ltd.``)."""

    entity = "ORGANIZATION"

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        if "ORGANIZATION" not in entities:
            return []
        out = []
        for tokens, spans in self.lines(text):
            k = 0
            while k < len(tokens):
                end = organisation_end(tokens, k) if _capital(tokens[k], True) or "-" in tokens[k] else None
                if end is None or letters(tokens[k]) in NOT_SURNAMES:
                    k += 1
                    continue
                out.append(self.result(spans[k][0], spans[end - 1][1], ORG_SCORE))
                k = end
        return out


class PlaceCueRecognizer(_TokenRecognizer):
    """LOCATION: capitalised words after a residence cue (``lives in New York``)."""

    entity = "LOCATION"
    cues = [tuple(c.split()) for c in PLACE_CUES]

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        if "LOCATION" not in entities:
            return []
        out = []
        for tokens, spans in self.lines(text):
            low = [t.casefold() for t in tokens]
            for k in range(len(tokens)):
                if not any(tuple(low[k - len(c):k]) == c for c in self.cues if k >= len(c)):
                    continue
                end = k
                while end < len(tokens) and end - k < 4 and _capital(tokens[end], False) and (
                        letters(tokens[end]) not in NOT_SURNAMES or end > k):
                    end += 1
                if end > k:
                    out.append(self.result(spans[k][0], spans[end - 1][1], PLACE_SCORE))
        return out


def repeated_names(page_text: str, detections: Sequence) -> list[tuple[int, int, str]]:
    """Spans ``(start, end, type)`` of the other places where a detected person's family or given
    name (a capitalised word of four letters or more) or an organisation's full name stands
    alone in ``page_text``, written the same way (``Denis Pelletier`` … ``Mr Pelletier``)."""
    covered = [(d.start, d.end) for d in detections]
    names: dict[str, str] = {}
    for d in detections:
        value = page_text[d.start : d.end]
        if d.entity_type == "PERSON":
            for token in value.replace(",", " ").split():
                core = token.strip(".;:'’")
                if len(core) >= 4 and core[:1].isupper() and letters(core) not in NOT_SURNAMES \
                        and casefold_unaccented(core) not in WORD_NAMES \
                        and casefold_unaccented(core) not in month_words():
                    names.setdefault(core, "PERSON")
        elif d.entity_type == "ORGANIZATION" and len(value.split()) >= 2 and "\n" not in value:
            names.setdefault(value, "ORGANIZATION")
    out = []
    for name, etype in names.items():
        for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", page_text):
            if not any(a <= m.start() and m.end() <= b for a, b in covered):
                out.append((m.start(), m.end(), etype))
    return out


def recognizers(language: str = "en") -> list[EntityRecognizer]:
    """The recognizers of this module for Presidio's registry."""
    return [PersonNameRecognizer(language), OrganizationRecognizer(language), PlaceCueRecognizer(language)]
