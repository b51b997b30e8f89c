"""Driving licences and ID cards number their fields (ISO/IEC 18013-1, used by EU licences and
by the AAMVA card standard in North America): ``1`` family name, ``2`` given names, ``3`` date
(and place) of birth, ``4a`` issue date, ``4b`` expiry date, ``4d`` licence number, ``5``
document or licence number, ``8`` address. On a page whose text names such a document
(:data:`LICENCE_TITLES`), a line that starts with one of these numbers holds that field's value.
"""

from __future__ import annotations

import re

from anonymizer.core.text import casefold_unaccented
from anonymizer.pipeline.page_text import Detection, PageText

SOURCE = "licence_field"
SCORE = 0.6
#: Words naming a document with numbered ISO/IEC 18013 fields (lower case, no accents).
LICENCE_TITLES = (
    "driving licence", "driving license", "driver license", "drivers license", "driver's license",
    "identification card", "fuhrerschein", "permis de conduire", "rijbewijs", "patente di guida",
    "permiso de conduccion", "carta de conducao", "carta de conducción",
)
#: Field number → the type of its value.
FIELDS = {"1": "PERSON", "2": "PERSON", "3": "DATE_TIME", "4a": "DATE_TIME", "4b": "DATE_TIME",
          "4d": "ID_NUMBER", "5": "ID_NUMBER", "8": "LOCATION"}
_NUMBER = re.compile(r"(\d[a-d]?)[.,:]?", re.IGNORECASE)


def licence_document(text: str) -> bool:
    """Whether ``text`` names a document with numbered licence fields."""
    low = casefold_unaccented(text)
    return any(title in low for title in LICENCE_TITLES)


def licence_fields(page: PageText) -> list[Detection]:
    """The values of the numbered fields of a licence page (none on other pages)."""
    if not licence_document(page.text):
        return []
    out = []
    for line in page.lines:
        words = [i for i in line if page.spans[i] is not None]
        if len(words) < 2:
            continue
        first = page.text[slice(*page.spans[words[0]])]  # type: ignore[misc]
        match = _NUMBER.fullmatch(first)
        etype = FIELDS.get(match.group(1).lower()) if match else None
        if etype is None:
            continue
        start, end = page.spans[words[1]][0], page.spans[words[-1]][1]  # type: ignore[index]
        out.append(Detection(etype, start, end, SCORE, SOURCE))
    return out
