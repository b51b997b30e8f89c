"""Shape-preserving generators for number-like values.

Every generator here draws from a seeded ``random.Random`` one new character per letter or
digit of the *normalised* value (separators removed, lower case), so values that
normalise alike get the same draws, and :func:`fill` writes the draws back into the
original's shape: separators, grouping and letter case stay where they were.
"""

from __future__ import annotations

import random
import re
import string
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

from anonymizer.core.text import lower1, lower_alnum

DIGITS = string.digits
NONZERO = DIGITS[1:]


@lru_cache(maxsize=512)
def _block_pool(ch: str) -> tuple[str, ...]:
    """Characters of ``ch``'s general category in its 128-code-point block (same script)."""
    base = ord(ch) & ~0x7F
    cat = unicodedata.category(ch)
    return tuple(c for c in map(chr, range(base, base + 128)) if unicodedata.category(c) == cat)


def similar_char(rng: random.Random, ch: str, allowed: str | None = None) -> str:
    """A random character of ``ch``'s class: digit, upper or lower case letter (same script).

    ``allowed`` narrows the choice for ASCII digits (e.g. :data:`NONZERO`). Characters that
    are neither letters nor decimal digits are returned unchanged.
    """
    if "0" <= ch <= "9":
        return rng.choice(allowed or DIGITS)
    if ch.isascii():
        if ch.isupper():
            return rng.choice(string.ascii_uppercase)
        if ch.islower():
            return rng.choice(string.ascii_lowercase)
        return ch
    value = unicodedata.decimal(ch, None)
    if value is not None:  # a digit of another script: stay in that script
        return chr(ord(ch) - value + int(rng.choice(allowed or DIGITS)))
    if ch.isalpha():
        return rng.choice(_block_pool(ch))
    return ch


def match_case(new: str, like: str) -> str:
    """``new`` in the case of the single character ``like`` (when that keeps one character)."""
    if like.isupper():
        up = new.upper()
        return up if len(up) == 1 else new
    if like.islower():
        return lower1(new)
    return new


def fill(shape: str, chars: Iterable[str], slot: Callable[[str], bool] = str.isalnum) -> str:
    """Write ``chars`` into the ``slot`` positions of ``shape``; other characters are kept.

    Letters take the case of the character they replace.
    """
    it = iter(chars)
    return "".join(match_case(next(it, ch), ch) if slot(ch) else ch for ch in shape)


def class_preserving(rng: random.Random, original: str) -> str:
    """Digit→digit, upper→upper, lower→lower; punctuation and spaces kept."""
    return fill(original, (similar_char(rng, ch) for ch in lower_alnum(original)))


def number_like(rng: random.Random, text: str) -> str:
    """:func:`class_preserving`, and a digit run starting with 1-9 still does ("55" ↛ "05")."""
    out = []
    for i, ch in enumerate(text):
        leading = ch.isdecimal() and (i == 0 or not text[i - 1].isdecimal()) and ch != "0"
        out.append(similar_char(rng, ch, NONZERO if leading else None))
    return "".join(out)


# -- checksums --------------------------------------------------------------------------


def luhn_check_digit(body: str) -> str:
    """The digit that makes ``body + digit`` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str(-total % 10)


def luhn_valid(number: str) -> bool:
    """Whether the digits of ``number`` pass the Luhn check."""
    digits = "".join(ch for ch in number if ch.isdecimal())
    return len(digits) > 1 and luhn_check_digit(digits[:-1]) == digits[-1]


def _mod97(chars: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in chars)) % 97


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616 check digits for ``country`` (two letters) and ``bban``."""
    return f"{98 - _mod97(bban.upper() + country.upper() + '00'):02d}"


def iban_valid(iban: str) -> bool:
    """Whether ``iban`` (spaces allowed) has valid ISO 13616 mod-97 check digits."""
    compact = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", compact):
        return False
    return _mod97(compact[4:] + compact[:4]) == 1


# -- number-like types --------------------------------------------------------------------

_CC1 = frozenset("17")
_CC2 = frozenset(
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "
    "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98".split()
)


def _country_code_len(digits: str) -> int:
    """Length of the ITU country calling code at the start of ``digits``."""
    if digits[:1] in _CC1:
        return 1
    return 2 if digits[:2] in _CC2 else 3


def phone(rng: random.Random, original: str, attempt: int = 0) -> str:
    """Digits replaced keeping count and grouping; ``+``/``00`` country code and trunk ``0`` kept.

    North American numbers (10 digits, or 11 starting with 1) get area code and exchange
    starting with 2-9; elsewhere the first replaced digit is non-zero when the original's is.
    """
    digits = "".join(ch for ch in original if ch.isdecimal())
    n = len(digits)
    plus = original.lstrip().startswith("+")
    keep = 0
    if plus:
        keep = _country_code_len(digits)
    elif digits.startswith("00") and n > 8:
        keep = 2 + _country_code_len(digits[2:])
    elif digits.startswith("0"):
        keep = n - len(digits.lstrip("0"))
    nanp = (not plus and n == 10 and digits[0] not in "01") or (n == 11 and digits[0] == "1")
    if nanp:
        keep = n - 10
    if attempt >= 3 or keep >= n:  # nothing left to replace: give up the kept prefix
        keep = 0
    allowed = [DIGITS] * n
    if nanp:
        allowed[n - 10] = allowed[n - 7] = DIGITS[2:]
    elif keep < n and (keep > 0 or digits[0] != "0"):
        allowed[keep] = NONZERO
    new = [
        digits[i] if i < keep else similar_char(rng, digits[i], allowed[i]) for i in range(n)
    ]
    return fill(original, new, slot=str.isdecimal)


def credit_card(rng: random.Random, original: str) -> str:
    """Same length and grouping, same issuer prefix class, Luhn-valid check digit.

    Fewer than 12 digits (e.g. a masked "**** 1234") is treated as plain digits.
    """
    digits = "".join(ch for ch in original if ch.isdecimal())
    n = len(digits)
    if n < 12:
        return fill(original, (similar_char(rng, d) for d in digits), slot=str.isdecimal)
    if digits[:2] in ("34", "37", "65"):
        prefix = digits[:2]
    elif digits.startswith("6011"):
        prefix = "6011"
    elif digits[0] == "5" and digits[1] in "12345":
        prefix = "5" + rng.choice("12345")
    elif digits[0] == "2" and 2221 <= int(digits[:4]) <= 2720:
        prefix = str(rng.randint(2221, 2720))
    else:
        prefix = digits[0]
    body = prefix + "".join(rng.choice(DIGITS) for _ in range(n - 1 - len(prefix)))
    return fill(original, body + luhn_check_digit(body), slot=str.isdecimal)


_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


def iban(rng: random.Random, original: str) -> str:
    """Same country code, length, grouping and letter/digit pattern; valid check digits.

    National check digits inside the BBAN (e.g. the French RIB key) are not recomputed.
    A value that is not IBAN-shaped gets :func:`class_preserving`.
    """
    compact = lower_alnum(original).upper()
    if not _IBAN.fullmatch(compact):
        return class_preserving(rng, original)
    country = compact[:2]
    bban = "".join(
        rng.choice(DIGITS) if ch.isdecimal() else rng.choice(string.ascii_uppercase)
        for ch in compact[4:]
    )
    return fill(original, country + iban_check_digits(country, bban) + bban)


_BAD_SSNS = frozenset({"078051120", "219099999"})


def us_ssn(rng: random.Random, original: str) -> str:
    """A valid-looking SSN (area 001-899 but not 666, non-zero group, serial); same separators."""
    digits = [ch for ch in original if ch.isdecimal()]
    if len(digits) != 9:
        return fill(original, (similar_char(rng, d) for d in digits), slot=str.isdecimal)
    while True:
        area = rng.randint(1, 899)
        new = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        if area != 666 and new not in _BAD_SSNS:
            return fill(original, new, slot=str.isdecimal)


_NUMBER = re.compile(r"\d+(?:[.,'\u2019\u00a0\u202f ]\d+)*")


def _amount_parts(original: str) -> list[tuple[str, str]]:
    """``(integer digits, decimal digits)`` of every number in ``original``."""
    parts = []
    for match in _NUMBER.finditer(original):
        groups = re.findall(r"\d+", match.group())
        seps = re.findall(r"\D", match.group())
        decimal = len(groups) > 1 and (len(groups[-1]) != 3 or len(set(seps)) > 1)
        parts.append(("".join(groups[:-1]), groups[-1]) if decimal else ("".join(groups), ""))
    return parts


def amount_key(original: str) -> str:
    """Normalised amount: currency characters plus each number as ``int.dec``."""
    currency = "".join(
        ch
        for ch in original.casefold()
        if not (ch.isdecimal() or ch.isspace() or ch in ".,'\u2019")
    )
    return currency + "|" + "|".join(f"{i}.{d}" for i, d in _amount_parts(original))


def amount(rng: random.Random, original: str) -> str:
    """Same currency text, separators, integer digit count (magnitude) and decimals.

    The first digit keeps its zero/non-zero class; all-zero decimals (".00") stay zero.
    """
    new: list[str] = []
    for integer, decimals in _amount_parts(original):
        for i, ch in enumerate(integer):
            allowed = DIGITS if i else NONZERO if int(ch) else "0"
            new.append(similar_char(rng, ch, allowed))
        if decimals.strip("0"):
            new.extend(similar_char(rng, ch) for ch in decimals)
        else:
            new.extend(decimals)
    return fill(original, new, slot=str.isdecimal)
