"""Text normalisers, each named by what it does.

They differ on purpose (each caller keeps the one its results were made with):

* :func:`nfkc_single_spaced`: NFKC, whitespace runs as one space (OCR readings vs targets);
* :func:`casefold_single_spaced`: case-folded, whitespace runs as one space (surrogate keys
  of names, addresses, dates);
* :func:`nfkc_casefold_alnum`: NFKC, case-folded, letters and digits only (a value found
  again in OCR text: verification, leak metrics, surrogate memory);
* :func:`casefold_alnum`: case-folded letters and digits, no Unicode normalisation;
* :func:`lower_alnum`: letters and digits, lower case one character per character
  (surrogate keys and shapes of numbers and ids);
* :func:`casefold_unaccented`: case-folded without accents, other characters kept
  (month names, cue words);
* :func:`label_word_key`: a form label's word without case, accents or punctuation, ``#`` and
  ``N°`` read as ``no``, an English possessive as its noun.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
_NUMERO = re.compile(r"(?:[#№]|N[°º*e]|n[°º])\.?")  # "#", "N°", "Nº" and Tesseract's "Ne" for "N°"
_NUMERO_PREFIX = re.compile(r"^[Nn][°º]")
_POSSESSIVE_END = re.compile(r"(?<=\w)['’]s$|(?<=s)['’]$")


def nfkc_single_spaced(text: str) -> str:
    """NFKC, whitespace runs collapsed to one space, stripped (OCR readings against targets)."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def casefold_single_spaced(value: str) -> str:
    """Case-folded with whitespace runs collapsed to one space (names, addresses)."""
    return _SPACE.sub(" ", value.casefold()).strip()


def nfkc_casefold_alnum(text: str) -> str:
    """Case-folded letters and digits of ``text`` after NFKC (accents kept, separators and
    spaces dropped): how values are found again in OCR text."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def casefold_alnum(text: str) -> str:
    """Case-folded letters and digits of ``text`` (no Unicode normalisation)."""
    return "".join(c for c in text.casefold() if c.isalnum())


def lower1(ch: str) -> str:
    """``ch`` in lower case when that keeps it one character (``"İ".lower()`` does not)."""
    low = ch.lower()
    return low if len(low) == 1 else ch


def lower_alnum(value: str) -> str:
    """Letters and digits only, lower case, one character per input character (numbers, ids)."""
    return "".join(lower1(ch) for ch in value if ch.isalnum())


def casefold_unaccented(word: str) -> str:
    """Lower case without accents (``"Février"`` → ``"fevrier"``); other characters kept."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def label_word_key(token: str) -> str:
    """Case-, accent- and punctuation-free form of a form label's word (``"Téléphone:"`` →
    ``"telephone"``); ``#``, ``N°``, ``Nº`` read as ``no`` (``"Invoice#"`` → ``"invoiceno"``);
    an English possessive reads as its noun (``"Employee's"`` → ``"employee"``)."""
    token = _POSSESSIVE_END.sub("", token.strip(":;,"))
    if _NUMERO.fullmatch(token):
        return "no"
    token = _NUMERO_PREFIX.sub("no", token.replace("#", "no").replace("№", "no"))
    decomposed = unicodedata.normalize("NFKD", token)
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c)).casefold()
