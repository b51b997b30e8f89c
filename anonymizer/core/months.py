"""Month names of the languages the project reads and writes, in one table
(``anonymizer/conf/recognizers/months.yaml``).

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

from anonymizer.core.tables import entry, fail, load_table, mapping, strings
from anonymizer.core.text import casefold_unaccented


def _months_table() -> tuple[dict[str, tuple[tuple[str, ...], ...]], frozenset[str]]:
    """``months`` and ``capitalised`` of ``recognizers/months.yaml``, validated."""
    table = load_table("months")
    months: dict[str, tuple[tuple[str, ...], ...]] = {}
    for lang, names in mapping("months", "months", entry("months", table, "months")).items():
        if not isinstance(names, list) or len(names) != 12:
            raise fail("months", f"months.{lang}", "a list of 12 months (January first)")
        months[lang] = tuple(tuple(strings("months", f"months.{lang}[{k}]", n)) for k, n in enumerate(names))
    if "en" not in months:
        raise fail("months", "months", "a table with English (en), the language of last resort")
    return months, frozenset(strings("months", "capitalised", entry("months", table, "capitalised"), non_empty=False))


#: Per language, per month (January first): the full name, then its abbreviations
#: (``anonymizer/conf/recognizers/months.yaml``). :data:`CAPITALISED`: languages whose
#: running text capitalises month names.
MONTHS, CAPITALISED = _months_table()


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
