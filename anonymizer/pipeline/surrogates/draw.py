"""The seeded randomness one surrogate call draws from."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from faker import Faker

from anonymizer.pipeline.surrogates.keyed import KeyedHasher

#: How many other draws free-text types offer when the first one is too wide for its box.
ALTERNATIVES = 12


@dataclass
class Draw:
    """Faker and ``random`` draws seeded from keyed digests of normalised values.

    ``key`` is the normalised value being replaced; it lives only for one call.
    ``attempt`` > 0 asks for a different draw (the previous one equalled the original).
    """

    hasher: KeyedHasher = field(repr=False)
    fake: Faker = field(repr=False)
    entity_type: str
    key: str = field(repr=False)
    attempt: int = 0
    today: dt.date = dt.date(2000, 1, 1)
    month_first: bool = True

    def seed(self, *parts: str, entity_type: str | None = None) -> Faker:
        """Reseed the shared Faker from ``HMAC(type, parts[, attempt])`` and return it.

        Without ``parts`` the whole normalised value seeds it. ``entity_type`` lets a
        part borrow another type's seeds (an email's ``jane.doe`` uses PERSON's).
        """
        extra = (f"#{self.attempt}",) if self.attempt else ()
        parts = parts or (self.key,)
        digest = self.hasher.digest(entity_type or self.entity_type, *parts, *extra)
        self.fake.seed_instance(int.from_bytes(digest, "big"))
        return self.fake

    def rng(self, *parts: str) -> random.Random:
        """The Faker's ``random.Random`` after :meth:`seed` with ``parts``."""
        return self.seed(*parts).random
