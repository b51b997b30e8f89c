"""Fake sensitive values of every PII type, with valid check digits, in several locales.

A :class:`Values` draws everything from one :class:`random.Random` and one Faker per
locale re-seeded from it (:meth:`Values.reset`), so a page's values depend only on that
generator's state. Dates are drawn from ``rng`` directly (Faker's date helpers depend on
today's date). Every value is mapped onto the fonts' character set
(:func:`anonymizer.data.text_content.sanitize`) and contains no line breaks; multi-line
values (addresses) are a tuple of lines.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import string
import unicodedata
from dataclasses import dataclass

from faker import Faker

from anonymizer.core.months import month_name
from anonymizer.data.text_content import sanitize

SUPPORTED_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR")

# Date formats per locale; "long" and "short" spell the month.
_DATE_FORMATS = {
    "en_US": ["%m/%d/%Y", "%m/%d/%Y", "%m-%d-%Y", "%Y-%m-%d", "long", "short"],
    "en_GB": ["%d/%m/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d", "long", "short"],
    "de_DE": ["%d.%m.%Y", "%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d", "long"],
    "fr_FR": ["%d/%m/%Y", "%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d", "long"],
}
# BBAN shapes ("9" digit, "A" upper-case letter) of the IBAN countries used per locale.
_BBAN = {"DE": "9" * 18, "GB": "AAAA" + "9" * 14, "FR": "9" * 23, "NL": "AAAA" + "9" * 10, "ES": "9" * 20}
_IBAN_COUNTRIES = {"en_US": ["GB", "DE", "NL", "FR", "ES"], "en_GB": ["GB"], "de_DE": ["DE"], "fr_FR": ["FR"]}
_CURRENCY = {"en_US": "$", "en_GB": "£", "de_DE": "€", "fr_FR": "€"}
# Letters allowed in the two-letter prefix of a UK National Insurance number.
_NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_ID_PATTERNS = ["INV-####-#####", "RE-######", "C-#######", "########", "??-######", "#####/##", "??#######"]
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


@dataclass(frozen=True)
class Value:
    """One sensitive value: its PII label (:data:`anonymizer.core.records.PII_LABELS`), its lines and,
    when a layout knows it, whose data it is (``scope``: ``personal`` or ``business``)."""

    label: str
    lines: tuple[str, ...]
    scope: str | None = None

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def language(locale: str) -> str:
    """``en``, ``de`` or ``fr`` for a supported locale."""
    return locale.split("_")[0]


def luhn_valid(number: str) -> bool:
    """True when the digits of ``number`` (separators ignored) pass the Luhn check."""
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) < 2:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_number(iban: str) -> int:
    s = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in s))


def iban_valid(iban: str) -> bool:
    """True when ``iban`` (spaces ignored) has the right shape and passes the mod-97 check."""
    s = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", s):
        return False
    return _iban_number(s) % 97 == 1


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c in string.ascii_letters + string.digits)


class Values:
    """Sensitive value generators for one page in one locale."""

    def __init__(self, locale: str) -> None:
        if locale not in SUPPORTED_LOCALES:
            raise ValueError(f"unsupported locale {locale!r}; supported: {list(SUPPORTED_LOCALES)}")
        self.locale = locale
        self.lang = language(locale)
        self.faker = Faker(locale)
        self._prose = Faker("en_US") if self.lang == "en" else self.faker  # en_GB lorem is Latin
        self.rng = random.Random(0)

    def reset(self, rng: random.Random) -> None:
        """Draw the following values from ``rng`` (Faker re-seeded from it)."""
        self.rng = rng
        self.faker.seed_instance(rng.getrandbits(32))
        if self._prose is not self.faker:
            self._prose.seed_instance(rng.getrandbits(32))

    # -- people and places -----------------------------------------------------------------
    def first_last(self) -> tuple[str, str]:
        return sanitize(self.faker.first_name()), sanitize(self.faker.last_name())

    def person(self) -> Value:
        first, last = self.first_last()
        if self.rng.random() < 0.15:
            first = f"{first[0]}."
        return Value("PERSON", (f"{first} {last}",))

    def address(self, lines: int = 2) -> Value:
        """A street address in ``lines`` lines (1 joins street and city with a comma)."""
        fk = self.faker
        street = sanitize(fk.street_address())
        if self.locale == "en_US":
            city = f"{sanitize(fk.city())}, {fk.state_abbr()} {fk.postcode()}"
        elif self.locale == "en_GB":
            city = f"{sanitize(fk.city())} {fk.postcode()}"
        else:
            city = f"{fk.postcode()} {sanitize(fk.city())}"
        return Value("LOCATION", (street, city) if lines == 2 else (f"{street}, {city}",))

    def city(self) -> Value:
        return Value("LOCATION", (sanitize(self.faker.city()),))

    def company(self) -> Value:
        return Value("ORGANIZATION", (sanitize(self.faker.company()),))

    def phone(self) -> Value:
        number = sanitize(self.faker.phone_number())
        if "x" in number and self.rng.random() < 0.7:  # drop most US extensions
            number = number.split("x")[0]
        return Value("PHONE_NUMBER", (number,))

    def email(self, name: tuple[str, str] | None = None) -> Value:
        if name is None or self.rng.random() < 0.3:
            return Value("EMAIL_ADDRESS", (sanitize(self.faker.email()),))
        first, last = (_ascii(n).lower() for n in name)
        user = self.rng.choice([f"{first}.{last}", f"{first[:1]}{last}", f"{first}{self.rng.randint(1, 99)}",
                                f"{last}.{first[:1]}"])
        domain = self.faker.free_email_domain() if self.rng.random() < 0.6 else self.faker.domain_name()
        return Value("EMAIL_ADDRESS", (f"{user}@{domain}",))

    def url(self) -> Value:
        return Value("URL", (f"www.{self.faker.domain_name()}",))

    # -- dates and amounts -------------------------------------------------------------------
    def _date(self, start: dt.date, days: int, fmt: str | None = None) -> str:
        d = start + dt.timedelta(days=self.rng.randrange(days))
        fmt = fmt or self.rng.choice(_DATE_FORMATS[self.locale])
        month = month_name(d.month, self.lang, as_written=True)
        if fmt == "short":
            return f"{month[:3]} {d.day}, {d.year}" if self.locale == "en_US" else f"{d.day} {month[:3]} {d.year}"
        if fmt == "long":
            if self.locale == "en_US":
                return f"{month} {d.day}, {d.year}"
            return f"{d.day}. {month} {d.year}" if self.lang == "de" else f"{d.day} {month} {d.year}"
        return d.strftime(fmt)

    def date(self) -> Value:
        """A document date (2015-2025)."""
        return Value("DATE_TIME", (self._date(dt.date(2015, 1, 1), 4017),))

    def birth_date(self) -> Value:
        """A date of birth (1935-2006), always numeric or spelled out."""
        return Value("DATE_TIME", (self._date(dt.date(1935, 1, 1), 26000),))

    def date_time(self) -> Value:
        """A numeric date and a 24 h time, as on receipts."""
        fmt = _DATE_FORMATS[self.locale][0]
        time = f"{self.rng.randint(7, 21):02d}:{self.rng.randint(0, 59):02d}"
        if self.rng.random() < 0.3:
            time += f":{self.rng.randint(0, 59):02d}"
        return Value("DATE_TIME", (f"{self._date(dt.date(2018, 1, 1), 2900, fmt)} {time}",))

    def money(self, low: float = 1.0, high: float = 5000.0) -> float:
        return round(10 ** self.rng.uniform(math.log10(low), math.log10(high)), 2)

    def amount(self, value: float | None = None, symbol: bool = True) -> Value:
        """``value`` (drawn when None) formatted for the locale, with or without currency."""
        value = self.money() if value is None else value
        whole, cents = f"{value:,.2f}".split(".")
        cur = _CURRENCY[self.locale]
        if self.lang == "de":
            text = f"{whole.replace(',', '.')},{cents}" + (" €" if symbol else "")
        elif self.lang == "fr":
            text = f"{whole.replace(',', ' ')},{cents}" + (" €" if symbol else "")
        else:
            text = (cur if symbol else "") + f"{whole}.{cents}"
        return Value("AMOUNT", (text,))

    # -- numbers -----------------------------------------------------------------------------
    def iban(self) -> Value:
        """A valid IBAN (mod-97 check digits), grouped by four (mostly) or not."""
        country = self.rng.choice(_IBAN_COUNTRIES[self.locale])
        bban = "".join(
            self.rng.choice(string.ascii_uppercase) if c == "A" else str(self.rng.randrange(10)) for c in _BBAN[country]
        )
        check = 98 - _iban_number(f"{country}00{bban}") % 97
        iban = f"{country}{check:02d}{bban}"
        if self.rng.random() < 0.75:
            iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
        return Value("IBAN_CODE", (iban,))

    def card_number(self, masked: bool = False) -> Value:
        """A Luhn-valid Visa/Mastercard/Amex number, grouped; ``masked`` shows the last 4 digits only."""
        brand = self.rng.choice(["visa", "visa", "mc", "amex"])
        prefix = {"visa": "4", "mc": str(self.rng.randint(51, 55)), "amex": self.rng.choice(["34", "37"])}[brand]
        length = 15 if brand == "amex" else 16
        body = prefix + "".join(str(self.rng.randrange(10)) for _ in range(length - len(prefix) - 1))
        number = body + str(_luhn_digit(body))
        if masked:
            number = self.rng.choice(["*", "X"]) * (length - 4) + number[-4:]
        groups = [4, 6, 5] if brand == "amex" else [4, 4, 4, 4]
        sep = self.rng.choice([" ", " ", " ", "-", ""])
        parts, i = [], 0
        for g in groups:
            parts.append(number[i : i + g])
            i += g
        return Value("CREDIT_CARD", (sep.join(parts),))

    def national_id(self) -> Value:
        """US SSN (en_US), UK NI number, German tax ID or French NIR (valid key)."""
        r = self.rng
        if self.locale == "en_US":
            return Value("US_SSN", (self.faker.ssn(),))
        if self.locale == "en_GB":
            digits = [f"{r.randrange(100):02d}" for _ in range(3)]
            prefix = r.choice(_NINO_FIRST) + r.choice(_NINO_SECOND)
            suffix = r.choice("ABCD")
            sep = r.choice([" ", ""])
            return Value("NATIONAL_ID", (sep.join([prefix, *digits, suffix]),))
        if self.locale == "de_DE":
            d = str(r.randint(1, 9)) + "".join(str(r.randrange(10)) for _ in range(10))
            return Value("NATIONAL_ID", (f"{d[:2]} {d[2:5]} {d[5:8]} {d[8:]}" if r.random() < 0.5 else d,))
        body = f"{r.randint(1, 2)}{r.randint(35, 99):02d}{r.randint(1, 12):02d}{r.randint(1, 95):02d}"
        body += f"{r.randint(1, 999):03d}{r.randint(1, 999):03d}"
        key = 97 - int(body) % 97
        parts = [body[0], body[1:3], body[3:5], body[5:7], body[7:10], body[10:13], f"{key:02d}"]
        return Value("NATIONAL_ID", (" ".join(parts) if r.random() < 0.7 else "".join(parts),))

    def id_number(self) -> Value:
        """An account, customer, invoice or receipt number."""
        pattern = self.rng.choice(_ID_PATTERNS)
        return Value("ID_NUMBER", (self.faker.bothify(pattern, letters=string.ascii_uppercase),))

    # -- plain text ----------------------------------------------------------------------------
    def words(self, n: int) -> list[str]:
        """``n`` lorem words of the page's language (for item names and headings)."""
        return [sanitize(w) for w in self._prose.words(n)]

    def sentence(self, n_words: int) -> str:
        return sanitize(self._prose.sentence(nb_words=n_words))


def _luhn_digit(body: str) -> int:
    for d in range(10):
        if luhn_valid(body + str(d)):
            return d
    raise AssertionError("unreachable")
