"""Surrogates: realistic fake values of the same type and shape as the sensitive ones.

``SurrogateGenerator(secret).surrogate("PHONE_NUMBER", "(555) 123-4567")`` gives e.g.
``"(312) 847-0921"``: digits stay digits with the same grouping, letters keep their case
pattern, dates keep their format, card numbers stay Luhn-valid and IBANs mod-97-valid.
The same value always gets the same surrogate (keyed by an HMAC of the normalised value,
reproducible across runs with the same secret); nothing derived from an original is kept
but keyed digests.

Modules: :mod:`.keyed` (HMAC key), :mod:`.draw` (seeded Faker per call),
:mod:`.shapes` (digits, phones, cards, IBANs, SSNs, amounts, ids), :mod:`.dates`,
:mod:`.names` (people, organisations), :mod:`.places` (addresses), :mod:`.web` (emails,
URLs, IPs), :mod:`.generator` (types, consistency, fitting a box).
"""

from anonymizer.pipeline.surrogates.generator import SPECS, SurrogateGenerator
from anonymizer.pipeline.surrogates.shapes import iban_valid, luhn_valid

__all__ = [
    "SPECS",
    "SurrogateGenerator",
    "iban_valid",
    "luhn_valid",
]
