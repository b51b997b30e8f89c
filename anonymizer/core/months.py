"""Month names of the languages the project reads and writes, in one table.

Used by the written-date recognizer (:mod:`anonymizer.pipeline.detect`), the date shapes of
form values (:mod:`anonymizer.pipeline.form_context`), the date surrogates
(:mod:`anonymizer.pipeline.surrogates.dates`, which write a new month in the original's
language and form: ``25 mei 2015`` → ``12 juni 2017``) and the dates of the synthetic data
(:mod:`anonymizer.data.text_content`, :mod:`anonymizer.data.synth_pages`), which write them
as running text does (:func:`month_name` with ``as_written=True``: ``January``, ``März``,
``janvier``).
"""

from __future__ import annotations

import functools

from anonymizer.core.text import casefold_unaccented

#: Per language, per month (January first): the full name, then its abbreviations.
MONTHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
           ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
           ("november", "nov"), ("december", "dec")),
    "de": (("januar", "jan", "jänner"), ("februar", "feb"), ("märz", "mär", "mrz"), ("april", "apr"), ("mai",),
           ("juni", "jun"), ("juli", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("oktober", "okt"),
           ("november", "nov"), ("dezember", "dez")),
    "fr": (("janvier", "janv"), ("février", "févr", "fév"), ("mars",), ("avril", "avr"), ("mai",), ("juin",),
           ("juillet", "juil"), ("août",), ("septembre", "sept"), ("octobre", "oct"), ("novembre", "nov"),
           ("décembre", "déc")),
    "nl": (("januari", "jan"), ("februari", "feb"), ("maart", "mrt"), ("april", "apr"), ("mei",), ("juni", "jun"),
           ("juli", "jul"), ("augustus", "aug"), ("september", "sep", "sept"), ("oktober", "okt"),
           ("november", "nov"), ("december", "dec")),
    "es": (("enero", "ene"), ("febrero", "feb"), ("marzo", "mar"), ("abril", "abr"), ("mayo",), ("junio", "jun"),
           ("julio", "jul"), ("agosto",), ("septiembre", "setiembre", "sept"), ("octubre", "oct"),
           ("noviembre", "nov"), ("diciembre", "dic")),
    "it": (("gennaio", "gen"), ("febbraio", "feb"), ("marzo", "mar"), ("aprile", "apr"), ("maggio", "mag"),
           ("giugno", "giu"), ("luglio", "lug"), ("agosto",), ("settembre", "sett"), ("ottobre", "ott"),
           ("novembre", "nov"), ("dicembre", "dic")),
    "pt": (("janeiro", "jan"), ("fevereiro", "fev"), ("março", "mar"), ("abril", "abr"), ("maio",), ("junho", "jun"),
           ("julho", "jul"), ("agosto",), ("setembro",), ("outubro",), ("novembro", "nov"),
           ("dezembro", "dez")),
}

#: Languages whose running text capitalises month names.
CAPITALISED = frozenset({"en", "de"})


@functools.lru_cache(maxsize=1)
def month_index() -> dict[str, tuple[int, str, bool]]:
    """Every spelling (lower case, with and without accents) → ``(month 1-12, language,
    full name)``; the first language listed wins a spelling that several share."""
    index: dict[str, tuple[int, str, bool]] = {}
    for lang, months in MONTHS.items():
        for number, names in enumerate(months, start=1):
            for k, name in enumerate(names):
                for spelling in (name, casefold_unaccented(name)):
                    index.setdefault(spelling, (number, lang, k == 0))
    return index


def month_words() -> frozenset[str]:
    """All month spellings of :func:`month_index`."""
    return frozenset(month_index())


def month_name(number: int, language: str, full: bool = True, as_written: bool = False) -> str:
    """The name (or first abbreviation) of month ``number`` in ``language`` (English for a
    language not in :data:`MONTHS`): lower case, or with ``as_written`` capitalised where the
    language's running text does (:data:`CAPITALISED`)."""
    names = MONTHS.get(language, MONTHS["en"])[number - 1]
    name = names[0] if full or len(names) == 1 else names[1]
    return name.capitalize() if as_written and language in CAPITALISED else name
