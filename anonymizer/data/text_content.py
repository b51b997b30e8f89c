"""Document-like lines of text (forms, invoices, letters) generated with Faker.

Every line depends only on the state of the :class:`random.Random` passed in: the kind of
line is drawn from it and Faker is re-seeded from it on every call. Dates are drawn from
``rng`` directly (Faker's date helpers depend on today's date).
"""

from __future__ import annotations

import datetime as dt
import random
import string
import unicodedata
from collections.abc import Callable, Sequence

from faker import Faker

from anonymizer.core.months import month_name

# Latin-1 (printable, no soft hyphen) plus a few WGL4 characters that DejaVu, Liberation
# and Noto all cover.
CHARSET = frozenset(
    [chr(c) for c in range(0x20, 0x7F)]
    + [chr(c) for c in range(0xA1, 0x100) if c != 0xAD]
    + list("€—–‘’“”…•œŒ")
)
_REPLACE = {"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "‐": "-", "‑": "-", "„": '"', "‚": ","}

_LABELS = {
    "en": {
        "name": ["Name", "Full name", "Customer", "Account holder", "Patient", "Applicant", "Signed"],
        "dob": ["Date of birth", "DOB", "Born"],
        "date": ["Date", "Issue date", "Due date", "Invoice date", "Valid until"],
        "invoice": ["Invoice No.", "Invoice #", "Order No.", "Ref."],
        "total": ["Total", "Amount due", "Subtotal", "Balance", "VAT", "Net amount"],
        "phone": ["Tel.", "Phone", "Mobile", "Fax"],
        "email": ["Email", "E-mail"],
        "address": ["Address", "Street"],
        "city": ["City", "Postcode"],
        "account": ["Account No.", "Customer ID", "Policy No.", "Member ID", "Reference", "Passport No."],
        "company": ["Company", "Employer", "Bank"],
    },
    "de": {
        "name": ["Name", "Vorname", "Nachname", "Kunde", "Kontoinhaber", "Patient"],
        "dob": ["Geburtsdatum", "geb.", "Geboren am"],
        "date": ["Datum", "Rechnungsdatum", "Fällig am", "Gültig bis"],
        "invoice": ["Rechnung Nr.", "Rechnungsnummer", "Bestellnr.", "Aktenzeichen"],
        "total": ["Summe", "Gesamtbetrag", "MwSt.", "Betrag", "Zwischensumme"],
        "phone": ["Tel.", "Telefon", "Mobil", "Fax"],
        "email": ["E-Mail"],
        "address": ["Anschrift", "Straße", "Adresse"],
        "city": ["Ort", "PLZ / Ort"],
        "account": ["Kontonummer", "Kundennummer", "Versicherungsnr.", "Mitgliedsnr.", "Steuer-ID"],
        "company": ["Firma", "Arbeitgeber", "Bank"],
    },
    "fr": {
        "name": ["Nom", "Prénom", "Client", "Titulaire", "Patient"],
        "dob": ["Date de naissance", "Né(e) le"],
        "date": ["Date", "Date d'échéance", "Émis le", "Valable jusqu'au"],
        "invoice": ["Facture n°", "N° de commande", "Réf."],
        "total": ["Total", "Montant TTC", "TVA", "Solde", "Total HT"],
        "phone": ["Tél.", "Téléphone", "Portable", "Fax"],
        "email": ["Courriel", "E-mail"],
        "address": ["Adresse", "Domicile"],
        "city": ["Ville", "Code postal"],
        "account": ["N° de compte", "N° client", "N° de dossier", "N° de sécurité sociale"],
        "company": ["Société", "Employeur", "Banque"],
    },
}
_ID_PATTERNS = ["########", "###-###-###", "??######", "??-####-####", "#### #### ####", "?########", "##/#####/##"]


def sanitize(text: str) -> str:
    """Map ``text`` onto :data:`CHARSET`: whitespace to spaces, accents stripped, rest dropped."""
    out = []
    for ch in text:
        if ch in CHARSET:
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        elif ch in _REPLACE:
            out.append(_REPLACE[ch])
        else:
            out.extend(c for c in unicodedata.normalize("NFKD", ch) if c in CHARSET)
    return " ".join("".join(out).split())


def cut(text: str, max_chars: int) -> str:
    """Cut ``text`` to at most ``max_chars`` characters, at a space when one is near the end."""
    if len(text) <= max_chars:
        return text
    if text[max_chars] == " ":
        return text[:max_chars].rstrip()
    head = text[:max_chars]
    space = head.rfind(" ")
    return (head[:space] if space >= max_chars // 2 else head).rstrip()


class TextContent:
    """Generator of single document lines mixing prose, labelled form fields and values."""

    def __init__(self, locales: Sequence[str] = ("en_US", "en_GB", "de_DE", "fr_FR")) -> None:
        if not locales:
            raise ValueError("TextContent needs at least one locale, got an empty sequence")
        self.locales = tuple(locales)
        # One Faker per locale (a multi-locale Faker picks locales with global random state).
        self._fakers = {loc: Faker(loc) for loc in self.locales}
        self.faker: Faker = self._fakers[self.locales[0]]
        self._lang = "en"
        kinds: list[tuple[Callable[[random.Random], str], float]] = [
            (self._prose, 0.22),
            (self._heading, 0.05),
            (self._field, 0.48),
            (self._value, 0.17),
            (self._table_row, 0.08),
        ]
        self._kinds = [k for k, _ in kinds]
        self._weights = [w for _, w in kinds]

    def line(self, rng: random.Random, max_chars: int = 60) -> str:
        """One non-empty line of document text of at most ``max_chars`` characters."""
        if max_chars < 1:
            raise ValueError(f"max_chars must be >= 1, got {max_chars}")
        for _ in range(10):
            locale = rng.choice(self.locales)
            self.faker = self._fakers[locale]
            self._lang = locale.split("_")[0] if locale.split("_")[0] in _LABELS else "en"
            self.faker.seed_instance(rng.getrandbits(32))
            kind = rng.choices(self._kinds, self._weights)[0]
            text = cut(sanitize(kind(rng)), max_chars)
            if text:
                return text
        return cut("Page 1", max_chars)

    # -- values --------------------------------------------------------------------------
    def _label(self, rng: random.Random, key: str) -> str:
        label = rng.choice(_LABELS[self._lang][key])
        return label + rng.choice([": ", ": ", ": ", " "])

    def date(self, rng: random.Random) -> str:
        """A date between 1930 and 2035 in one of several common formats."""
        d = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(38350))
        month = month_name(d.month, self._lang, as_written=True)
        fmt = rng.choice(["%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d-%m-%Y", "long", "us"])
        if fmt == "long":
            return f"{d.day} {month} {d.year}" if self._lang != "de" else f"{d.day}. {month} {d.year}"
        if fmt == "us":
            return f"{month[:3] if rng.random() < 0.3 else month} {d.day}, {d.year}"
        return d.strftime(fmt)

    def amount(self, rng: random.Random) -> str:
        """A money amount in one of several currency formats."""
        value = round(10 ** rng.uniform(0, 5.5), 2)
        whole, cents = f"{value:,.2f}".split(".")
        de = whole.replace(",", ".")
        styles = [
            f"${whole}.{cents}",
            f"£{whole}.{cents}",
            f"USD {whole}.{cents}",
            f"{whole}.{cents}",
            f"{de},{cents} €",
            f"{whole.replace(',', ' ')},{cents} €",
            f"EUR {de},{cents}",
            f"€ {de},{cents}",
            f"€{whole}.{cents}",
            f"CHF {whole.replace(',', chr(39))}.{cents}",
            f"{de},{cents} EUR",
        ]
        return rng.choice(styles)

    def identifier(self, rng: random.Random) -> str:
        """An account, customer or document number."""
        return self.faker.bothify(rng.choice(_ID_PATTERNS), letters=string.ascii_uppercase)

    def iban(self, rng: random.Random) -> str:
        iban = self.faker.iban()
        if rng.random() < 0.7:
            iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
        return iban

    # -- line kinds ----------------------------------------------------------------------
    def _prose(self, rng: random.Random) -> str:
        text = self.faker.sentence(nb_words=rng.randint(4, 14))
        return text if rng.random() < 0.7 else text.rstrip(".") + rng.choice([",", "", ";"])

    def _heading(self, rng: random.Random) -> str:
        words = " ".join(self.faker.words(rng.randint(1, 4))).title()
        return words.upper() if rng.random() < 0.4 else words

    def _field(self, rng: random.Random) -> str:
        fk = self.faker
        key = rng.choice(list(_LABELS["en"]) + ["iban", "iban"])
        if key == "iban":
            return rng.choice(["IBAN: ", "IBAN ", "IBAN "]) + self.iban(rng)
        values: dict[str, Callable[[], str]] = {
            "name": fk.name,
            "dob": lambda: self.date(rng),
            "date": lambda: self.date(rng),
            "invoice": lambda: fk.numerify("#" * rng.randint(4, 8)),
            "total": lambda: self.amount(rng),
            "phone": fk.phone_number,
            "email": fk.email,
            "address": fk.street_address,
            "city": lambda: f"{fk.postcode()} {fk.city()}",
            "account": lambda: self.identifier(rng),
            "company": fk.company,
        }
        return self._label(rng, key) + values[key]()

    def _value(self, rng: random.Random) -> str:
        fk = self.faker
        choices: list[Callable[[], str]] = [
            fk.name,
            fk.street_address,
            lambda: f"{fk.postcode()} {fk.city()}",
            fk.company,
            fk.phone_number,
            fk.email,
            lambda: self.date(rng),
            lambda: self.amount(rng),
            lambda: f"{fk.city()}, {self.date(rng)}",
            lambda: f"{fk.name()}, {fk.street_address()}",
        ]
        return rng.choice(choices)()

    def _table_row(self, rng: random.Random) -> str:
        qty = rng.randint(1, 24)
        item = " ".join(self.faker.words(rng.randint(1, 3))).capitalize()
        return f"{qty} {rng.choice(['x ', ''])}{item} {self.amount(rng)}"
