"""How real documents print values: name styles, demo values and fill-ins that are not values.

* :func:`styled_name`: ``Jane Q. Doe``, ``DOE, JANE Q``, ``Doe, Jane``, ``J. Doe``, ... from
  :class:`NameParts`.
* :class:`Person`: one person of a page (name parts, address parts, birth date), so that the
  same values can be printed twice (in two styles) on one page; ``demo`` people use the
  sample values that specimen documents print (``John Doe``, ``123-45-6789``, ``555-0100``
  phones, ``Any Town``, ``Erika Mustermann``).
* :data:`FILLERS`: what people write in a field whose answer is not of the label's type
  (``N/A``, ``same as home address``, ``none``). Layouts draw them as plain words, never as
  sensitive values.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass, replace

from anonymizer.core.months import month_name
from anonymizer.data.synth_pages.values import Value, Values
from anonymizer.data.text_content import sanitize

PERSONAL, BUSINESS = "personal", "business"
NAME_STYLES = ("first_last", "first_mi_last", "last_comma_first", "last_comma_first_mi", "initial_last",
               "last_first_mi")

# Sample values of specimen documents, used by "demo" people: first names, last names,
# streets, cities and postcodes per language (US SSNs and 555 phones in en_US).
DEMO = {
    "en": (("John", "Jane", "Mary", "Richard", "Pat", "Alex", "Chris", "Sam", "Joe"),
           ("Doe", "Public", "Sample", "Smith", "Citizen", "Roe", "Specimen", "Bloggs"),
           ("123 Main Street", "1234 Main St", "123 Any Street", "456 Elm St", "789 Oak Avenue", "1 High Street"),
           ("Any Town", "Anytown", "Anycity", "Springfield", "Hometown"),
           ("12345", "00000", "12345-6789", "99999")),
    "de": (("Erika", "Max", "Hans", "Maria"), ("Mustermann", "Musterfrau", "Beispiel", "Muster"),
           ("Musterstraße 1", "Musterweg 12", "Beispielallee 5", "Heidestraße 17"),
           ("Musterstadt", "Beispielhausen", "Köln", "Berlin"), ("12345", "01234", "51147")),
    "fr": (("Jean", "Marie", "Pierre", "Camille"), ("Dupont", "Martin", "Durand", "Exemple"),
           ("1 rue de la Paix", "12 avenue des Champs", "3 place Exemple"),
           ("Ville", "Paris", "Exempleville"), ("75000", "12345", "99999")),
}
DEMO_SSN = ("123-45-6789", "987-65-4321", "000-12-3456", "078-05-1120", "111-22-3333")

FILLERS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "any": ("N/A", "n/a", "NA", "none", "None", "-", "--"),
        "name": ("SAME", "Same as above", "Self", "N/A", "none"),
        "address": ("same as home address", "Same as above", "SAME", "same as mailing address", "N/A"),
        "date": ("present", "N/A", "ongoing", "current"),
        "signature": ("SIGNATURE ON FILE", "Signature on file", "SOF"),
        "org": ("self-employed", "N/A", "none", "unemployed", "retired"),
    },
    "de": {
        "any": ("entfällt", "keine", "k. A.", "-", "--"),
        "name": ("wie oben", "siehe oben", "entfällt"),
        "address": ("wie oben", "siehe Wohnanschrift", "entfällt"),
        "date": ("heute", "laufend", "entfällt"),
        "signature": ("liegt vor",),
        "org": ("selbständig", "keine", "entfällt"),
    },
    "fr": {
        "any": ("néant", "sans objet", "N/A", "-", "--"),
        "name": ("idem", "voir ci-dessus", "néant"),
        "address": ("idem", "même adresse", "voir ci-dessus"),
        "date": ("en cours", "à ce jour", "néant"),
        "signature": ("signature sur fichier",),
        "org": ("indépendant", "néant", "sans emploi"),
    },
}


def scoped(value: Value, scope: str) -> Value:
    """``value`` with its ``scope`` set."""
    return replace(value, scope=scope)


def upper(value: Value) -> Value:
    return replace(value, lines=tuple(line.upper() for line in value.lines))


@dataclass(frozen=True)
class NameParts:
    first: str
    middle: str  # a middle initial (one letter) or ""
    last: str
    suffix: str = ""


def styled_name(parts: NameParts, style: str, caps: bool = False) -> str:
    """The name as one of :data:`NAME_STYLES` (e.g. ``last_comma_first_mi``: ``Doe, Jane Q``)."""
    f, m, last = parts.first, parts.middle, parts.last
    if style == "first_mi_last" and m:
        text = f"{f} {m}. {last}"
    elif style == "last_comma_first":
        text = f"{last}, {f}"
    elif style == "last_comma_first_mi":
        text = f"{last}, {f} {m}" if m else f"{last}, {f}"
    elif style == "initial_last":
        text = f"{f[0]}. {last}"
    elif style == "last_first_mi":
        text = f"{last} {f} {m}" if m else f"{last} {f}"
    else:
        text = f"{f} {last}"
    if parts.suffix and style in ("first_last", "first_mi_last"):
        text += f" {parts.suffix}"
    return text.upper() if caps else text


@dataclass(frozen=True)
class Person:
    """A person printed on a page, with the parts forms ask for separately."""

    name: NameParts
    street: str
    city: str
    state: str  # US state abbreviation, else ""
    postcode: str
    birth: dt.date
    ssn: str  # the locale's national number: US SSN, UK NI number, German tax ID, French NIR
    phone: str
    email: str
    demo: bool = False

    def full_name(self, style: str = "first_last", caps: bool = False, scope: str = PERSONAL) -> Value:
        return Value("PERSON", (styled_name(self.name, style, caps),), scope)

    def address_lines(self, locale: str, lines: int = 2, caps: bool = False) -> tuple[str, ...]:
        if locale == "en_US":
            city = f"{self.city}, {self.state} {self.postcode}"
        elif locale == "en_GB":
            city = f"{self.city} {self.postcode}"
        else:
            city = f"{self.postcode} {self.city}"
        out = (self.street, city) if lines == 2 else (f"{self.street}, {city}",)
        return tuple(s.upper() for s in out) if caps else out

    def address(self, locale: str, lines: int = 2, caps: bool = False, scope: str = PERSONAL) -> Value:
        return Value("LOCATION", self.address_lines(locale, lines, caps), scope)


def new_person(values: Values, demo: bool = False) -> Person:
    """A person of the page's locale (US people get a middle initial half of the time)."""
    r, fk, loc = values.rng, values.faker, values.locale
    first, last = values.first_last()
    middle = r.choice(string.ascii_uppercase) if loc == "en_US" and r.random() < 0.55 else ""
    suffix = r.choice(["Jr", "Sr", "III", "II"]) if loc == "en_US" and r.random() < 0.06 else ""
    street, city = sanitize(fk.street_address()), sanitize(fk.city())
    state = fk.state_abbr() if loc == "en_US" else ""
    postcode = fk.postcode()
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=r.randrange(24000))
    ssn = values.national_id().text
    phone = values.phone().text
    email = values.email((first, last)).text
    if demo:
        firsts, lasts, streets, cities, codes = DEMO[values.lang]
        first, last, street, city = r.choice(firsts), r.choice(lasts), r.choice(streets), r.choice(cities)
        if loc == "en_US":
            ssn, postcode = r.choice(DEMO_SSN), r.choice(codes)
            phone = r.choice(["555-01", "(555) 555-01", "(212) 555-01", "555-555-01"]) + f"{r.randint(0, 99):02d}"
        elif loc != "en_GB":
            postcode = r.choice(codes)
        email = f"{first.lower()}.{last.lower()}@example.{r.choice(['com', 'org', 'net'])}"
    return Person(NameParts(first, middle, last, suffix), street, city, state, postcode, birth, ssn, phone, email,
                  demo)


def date_text(values: Values, day: dt.date, style: str) -> str:
    """``day`` in a form style: ``mdy`` (locale order, numeric), ``ymd``, ``spaced`` (``03 14 1987``),
    ``mdy2`` (two-digit year) or ``long`` (month spelled out)."""
    us = values.locale == "en_US"
    if style == "ymd":
        return day.strftime("%Y-%m-%d")
    if style == "spaced":
        return day.strftime("%m %d %Y" if us else "%d %m %Y")
    if style == "mdy2":
        return day.strftime("%m/%d/%y" if us else "%d.%m.%y" if values.lang == "de" else "%d/%m/%y")
    if style == "long":
        month = month_name(day.month, values.lang, as_written=True)
        return f"{month} {day.day}, {day.year}" if us else f"{day.day} {month} {day.year}"
    sep = "." if values.lang == "de" else "/"
    return day.strftime(f"%m{sep}%d{sep}%Y" if us else f"%d{sep}%m{sep}%Y")


def date_parts(values: Values, day: dt.date, two_digit_year: bool = False) -> tuple[str, str, str]:
    """The cells of a split date in the locale's order (``MM DD YYYY`` in the US, else ``DD MM YYYY``)."""
    year = f"{day.year % 100:02d}" if two_digit_year else str(day.year)
    if values.locale == "en_US":
        return f"{day.month:02d}", f"{day.day:02d}", year
    return f"{day.day:02d}", f"{day.month:02d}", year


def recent_date(values: Values, start_year: int = 2019, days: int = 2200) -> dt.date:
    return dt.date(start_year, 1, 1) + dt.timedelta(days=values.rng.randrange(days))


def filler(values: Values, slot: str) -> str:
    """A fill-in for a field of type ``slot`` (``name``, ``address``, ``date``, ``signature``,
    ``org`` or ``any``) that is not a value of that type."""
    table = FILLERS[values.lang]
    pool = table.get(slot, ()) + (table["any"] if slot != "signature" else ())
    return values.rng.choice(pool)
