"""Document numbers of the real-document families: tax, licence, member, account and provider numbers.

All draw from a page's :class:`~anonymizer.data.synth_pages.values.Values` (its ``rng``), so
they depend only on the page's random state. Shapes follow the documents they stand for
(EIN ``12-3456789``, NPI with its Luhn check digit, ABA routing numbers with theirs, US
licence numbers by state pattern, UK driving licence numbers); none is a real number.
"""

from __future__ import annotations

import string

from anonymizer.data.synth_pages.values import Values, luhn_valid

_DIGITS = string.digits
_UPPER = string.ascii_uppercase
# US driver licence number shapes ("9" digit, "A" letter) by issuing state.
US_LICENCE_SHAPES = {"CA": "A9999999", "NY": "999 999 999", "TX": "99999999", "FL": "A999-999-99-999-9",
                     "IL": "A999-9999-9999", "WA": "AAAAA99A9AA9", "PA": "99 999 999", "OH": "AA999999"}
_MEMBER_SHAPES = ("AAA999999999", "A99999999", "999999999-01", "AAA-99999-99", "9999999999 01", "AA9999999")
_GROUP_SHAPES = ("99999", "999999-999", "G9999999", "A99999", "9999-AA")
_POLICY_SHAPES = ("AA-9999999", "9999999999", "P99999999", "999-999-999", "AA99 9999 99")
_ACCOUNT_SHAPES = ("99999999", "9999999999", "999999999999", "9999-999999", "99 9999 9999")


class Identifiers:
    """Number generators drawing from ``values``' random state."""

    def __init__(self, values: Values) -> None:
        self.values = values

    @property
    def rng(self):  # the page's random.Random
        return self.values.rng

    def shape(self, pattern: str) -> str:
        """``pattern`` with each ``9`` replaced by a digit and each ``A`` by an upper-case letter."""
        r = self.rng
        return "".join(r.choice(_DIGITS) if c == "9" else r.choice(_UPPER) if c == "A" else c for c in pattern)

    def digits(self, n: int, first_nonzero: bool = True) -> str:
        r = self.rng
        head = r.choice("123456789") if first_nonzero else r.choice(_DIGITS)
        return head + "".join(r.choice(_DIGITS) for _ in range(n - 1))

    def ein(self) -> str:
        """A US employer identification number ``12-3456789``."""
        return f"{self.rng.randint(10, 98)}-{self.digits(7, False)}"

    def npi(self) -> str:
        """A 10-digit US National Provider Identifier (Luhn over ``80840`` + the first 9 digits)."""
        body = self.rng.choice("12") + "".join(self.rng.choice(_DIGITS) for _ in range(8))
        for d in _DIGITS:
            if luhn_valid("80840" + body + d):
                return body + d
        raise AssertionError("unreachable")

    def routing(self) -> str:
        """A 9-digit ABA routing number with a valid check digit."""
        body = f"{self.rng.choice(['0', '1', '2', '3'])}{self.rng.randint(0, 9)}" + self.digits(6, False)
        weights = (3, 7, 1, 3, 7, 1, 3, 7)
        check = (10 - sum(int(c) * w for c, w in zip(body, weights)) % 10) % 10
        return body + str(check)

    def account(self, masked: bool = False) -> str:
        """A bank account number; ``masked`` shows only its last four digits."""
        number = self.shape(self.rng.choice(_ACCOUNT_SHAPES))
        if not masked:
            return number
        tail = "".join(c for c in number if c.isdigit())[-4:]
        return self.rng.choice(["****", "XXXX", "xxxxxx", "******", "...", "XXXX-XXXX-"]) + tail

    def member_id(self) -> str:
        return self.shape(self.rng.choice(_MEMBER_SHAPES))

    def group_number(self) -> str:
        return self.shape(self.rng.choice(_GROUP_SHAPES))

    def policy_number(self) -> str:
        return self.shape(self.rng.choice(_POLICY_SHAPES))

    def control_number(self) -> str:
        return self.shape(self.rng.choice(["9999999 AA", "A9999", "99999999", "AA-9999"]))

    def employee_id(self) -> str:
        return self.shape(self.rng.choice(["E99999", "999999", "9999", "EMP-99999", "A99999"]))

    def check_number(self) -> str:
        return self.digits(self.rng.choice([5, 6, 7]))

    def state_id(self) -> str:
        """An employer's or payer's state tax number."""
        return self.shape(self.rng.choice(["999-9999-9", "9999999", "999-99999", "99999999-99"]))

    def paye_reference(self) -> str:
        return f"{self.rng.randint(100, 999)}/{self.shape('AA99999')}"

    def sort_code(self) -> str:
        return f"{self.rng.randint(10, 99)}-{self.rng.randint(10, 99)}-{self.rng.randint(10, 99)}"

    def german_tax_number(self) -> str:
        """A German ``Steuernummer`` (``21/815/08150``), the employer's or a person's."""
        return self.shape(self.rng.choice(["99/999/99999", "999/999/99999", "9999/999/9999"]))

    def french_tax_number(self) -> str:
        """A French ``numéro fiscal``: 13 digits, starting 0 to 3."""
        return self.rng.choice("0123") + "".join(self.rng.choice(_DIGITS) for _ in range(12))

    def siret(self) -> str:
        d = self.digits(14)
        return f"{d[:3]} {d[3:6]} {d[6:9]} {d[9:]}"

    def licence_number(self, locale: str, state: str = "CA", last: str = "", first: str = "") -> str:
        """A driving licence number of the locale (US: the issuing ``state``'s shape; UK: from the name)."""
        if locale == "en_US":
            return self.shape(US_LICENCE_SHAPES.get(state, "A9999999"))
        if locale == "en_GB":
            surname = "".join(c for c in last.upper() if c in _UPPER)[:5].ljust(5, "9")
            initials = ("".join(c for c in first.upper() if c in _UPPER)[:1] or "X") + self.rng.choice(_UPPER)
            return f"{surname}{self.digits(6, False)}{initials}9{self.shape('AA')}"
        if locale == "de_DE":
            return self.shape("A999AAA9A99")
        return self.shape("99AA99999")

    def document_number(self, locale: str) -> str:
        """An identity card's document number."""
        if locale == "de_DE":
            return self.shape(self.rng.choice(["A99A99A99", "L01A99A99"]))
        if locale == "fr_FR":
            return self.shape("AAAAAAAAA")
        return self.shape(self.rng.choice(["A99999999", "999999999"]))
