"""Whose data a detection is: the person's, or the issuing business's own public data.

``detect.policy=personal`` (the default) replaces everything about a person — their name,
contact details, identifiers, dates, amounts and employer — and keeps the issuer's own
public data on invoices and letters (its letterhead and footer: company name, address,
phone, web site, registry, tax and bank numbers); ``detect.policy=all`` replaces both.

A detection is the business's (:func:`business_detections`) when

* it stands in a column block (cells chained left-aligned, as address blocks are) within six
  cells of a cell that names a business registry (:data:`REGISTRY_WORDS`: ``VAT no``,
  ``KvK``, ``BTW``, ``Chamber of Commerce``, ``SIRET``, ``BIC``, ``USt-IdNr``): the issuer's
  block of name, address, registry and bank numbers;
* it is on a line of the page's footer (the last ``band`` of the text's height, on a page of
  eight text lines or more) that holds two
  kinds of contact details or more (phone, e-mail, web address): the issuer's contact line
  (a person's own letterhead at the top of a letter or CV stays personal);
* it is an organisation whose name is the domain of such a business e-mail or web address
  (``Azure Interior`` and ``azure-interior.com``), and the address block it heads.

Everything else is the person's: when in doubt, replace.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from anonymizer.core.text import casefold_alnum
from anonymizer.pipeline.address_blocks import AddressBlocks
from anonymizer.pipeline.page_text import Detection, PageText

POLICIES = ("personal", "all")
#: Words of a line that names a business registry, tax or bank identifier (letters only).
REGISTRY_WORDS = frozenset({
    "kvk", "btw", "btwnr", "btwnummer", "vatno", "vatnumber", "vatreg", "vatregno", "vatid", "bic", "swift",
    "swiftbic", "siret", "siren", "rcs", "tvaintracom", "ustidnr", "ustid", "hrb", "hra", "handelsregister",
    "registergericht", "abn", "acn", "gstin", "companyno", "companynumber", "companyregistration",
    "registrationno", "registrationnumber", "registeredoffice", "chamberofcommerce", "kvknummer", "kbo",
    "ondernemingsnummer", "numerotva", "partitaiva", "cif", "nif",
})
_CONTACT = frozenset({"PHONE_NUMBER", "EMAIL_ADDRESS", "URL"})
_FOOTER_LINES = 8  # a page with fewer text lines has no footer
_BLOCK_REACH = 6  # cells of a column block above or below a registry cell that are the issuer's
_REGISTRY_TYPES = frozenset({"LOCATION", "ORGANIZATION", "ID_NUMBER", "IBAN_CODE"})
_DOMAIN = re.compile(r"(?:https?://)?(?:www\.)?(?:[\w.+-]+@)?([\w-]+(?:\.[\w-]+)*)\.[a-z]{2,}", re.IGNORECASE)


def _registry(words: Sequence[str]) -> bool:
    """Whether one to three consecutive ``words`` (letters only) name a business registry."""
    return any("".join(words[k : k + n]) in REGISTRY_WORDS for n in (1, 2, 3) for k in range(len(words) - n + 1))


def business_detections(page: PageText, detections: Sequence[Detection], band: float = 0.1) -> set[int]:
    """Indices of the ``detections`` that are the issuing business's data (module docstring).

    Works on cells (words separated by less than 1.5 line heights: a column of a line that the
    OCR engine ran together with others) chained into left-aligned column blocks."""
    if not detections or not page.lines:
        return set()
    blocks = AddressBlocks(line_gap=2.0).blocks(page)
    cell_of: dict[int, tuple[int, int]] = {}  # word -> (block, cell)
    for b, block in enumerate(blocks):
        for c, cell in enumerate(block):
            for i in cell.words:
                cell_of[i] = (b, c)
    where = []
    for d in detections:
        words = page.words_in(d.start, d.end)
        where.append(cell_of.get(words[0]) if words else None)
    texts = {(b, c): [casefold_alnum(page.text[slice(*page.spans[i])]) for i in cell.words]  # type: ignore[misc]
             for b, block in enumerate(blocks) for c, cell in enumerate(block)}
    registry = [(b, c) for (b, c), words in texts.items() if _registry(words)]
    out = {k for k, w in enumerate(where) if w is not None
           and any(w[0] == b and abs(w[1] - c) <= _BLOCK_REACH for b, c in registry)}
    # the footer band (of a page of some length): rows with two kinds of contact details or more
    tops = [min(page.words[i].box[1] for i in line) for line in page.lines]
    y0, y1 = min(tops), max(tops)
    for n, top in enumerate(tops):
        if len(tops) < _FOOTER_LINES or top < y1 - band * (y1 - y0):
            continue
        here = [k for k, d in enumerate(detections) if page.words_in(d.start, d.end)
                and page.line_of.get(page.words_in(d.start, d.end)[0]) == n]
        if len({detections[k].entity_type for k in here} & _CONTACT) >= 2:
            out.update(k for k in here if detections[k].entity_type in _CONTACT | _REGISTRY_TYPES)
    # organisations named like a business domain, and their blocks
    domains = {casefold_alnum(m.group(1).split(".")[-1]) for k in out for m in
               [_DOMAIN.search(page.text[detections[k].start : detections[k].end])] if m}
    for k, d in enumerate(detections):
        if d.entity_type == "ORGANIZATION" and where[k] is not None:
            name = casefold_alnum(page.text[d.start : d.end])
            if any(len(dom) >= 4 and (dom in name or name.startswith(dom)) for dom in domains):
                out.update(j for j, w in enumerate(where) if w is not None and w[0] == where[k][0])
    return out
