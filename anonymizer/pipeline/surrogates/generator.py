"""``SurrogateGenerator``: one consistent, keyed replacement per sensitive value."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from faker import Faker

from anonymizer.core.text import casefold_single_spaced, lower_alnum
from anonymizer.pipeline.surrogates import dates, names, places, shapes, web
from anonymizer.pipeline.surrogates.draw import ALTERNATIVES, Draw
from anonymizer.pipeline.surrogates.keyed import KeyedHasher

log = logging.getLogger(__name__)

Handler = Callable[[Draw, str, int], list[str]]
Shaper = Callable[..., str]

_ATTEMPTS = 6  # draws per type before the class-preserving fallback
_FALLBACK_ATTEMPTS = 8


@dataclass(frozen=True)
class TypeSpec:
    """How one entity type is normalised (consistency key) and replaced."""

    normalise: Callable[[str], str]
    handler: Handler


def _shaped(fn: Shaper, with_attempt: bool = False) -> Handler:
    """A handler for a ``fn(rng, original)`` shape generator (one candidate: fixed width)."""

    def handler(draw: Draw, original: str, alternatives: int = 0) -> list[str]:
        args = (draw.attempt,) if with_attempt else ()
        return [fn(draw.rng(), original, *args)]

    return handler


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdecimal())


def _phone_key(value: str) -> str:
    return ("+" if value.lstrip().startswith("+") else "") + _digits(value)


FALLBACK = TypeSpec(lower_alnum, _shaped(shapes.class_preserving))

SPECS: dict[str, TypeSpec] = {
    "PERSON": TypeSpec(casefold_single_spaced, names.person),
    "ORGANIZATION": TypeSpec(names.organization_key, names.organization),
    "LOCATION": TypeSpec(casefold_single_spaced, places.location),
    "DATE_TIME": TypeSpec(casefold_single_spaced, dates.date_time),
    "PHONE_NUMBER": TypeSpec(_phone_key, _shaped(shapes.phone, with_attempt=True)),
    "EMAIL_ADDRESS": TypeSpec(casefold_single_spaced, web.email),
    "IBAN_CODE": TypeSpec(lower_alnum, _shaped(shapes.iban)),
    "CREDIT_CARD": TypeSpec(_digits, _shaped(shapes.credit_card)),
    "US_SSN": TypeSpec(_digits, _shaped(shapes.us_ssn)),
    "NATIONAL_ID": FALLBACK,
    "ID_NUMBER": FALLBACK,
    "AMOUNT": TypeSpec(shapes.amount_key, _shaped(shapes.amount)),
    "IP_ADDRESS": TypeSpec(casefold_single_spaced, _shaped(web.ip_address)),
    "URL": TypeSpec(casefold_single_spaced, web.url),
}


class SurrogateGenerator:
    """Realistic, same-shape, consistent surrogates for sensitive values.

    ``surrogate(type, original)`` returns a fake value of the same type and shape; the
    same value (normalised: case, spacing, and separators for number-like types) always
    gets the same surrogate from one generator, and from any generator with the same
    ``secret``. Values are reduced to keyed HMAC-SHA256 digests before anything is kept:
    the generator's state holds digests and surrogates, never an original. Without a
    secret the key is random per generator (surrogates are not reproducible, and the
    digests cannot be brute-forced back to phone numbers or dates).

    Without a secret, use one generator per document (or run) for consistency.
    ``today`` anchors date year ranges (default: the current date; pass it for dates
    reproducible on another day); ``month_first`` reads ambiguous ``12/10`` dates as
    month/day (default: for ``*_US`` locales). Not thread-safe: one generator per thread.
    """

    def __init__(
        self,
        secret: str | bytes | None = None,
        locale: str = "en_US",
        *,
        today: dt.date | None = None,
        month_first: bool | None = None,
    ) -> None:
        self._hasher = KeyedHasher(secret)
        self._fake = Faker(locale)
        self.locale = locale
        self.today = today or dt.date.today()
        self.month_first = locale.endswith("_US") if month_first is None else month_first
        # HMAC(exact type + value) -> (candidates, whether the narrower variants are in)
        self._mapping: dict[bytes, tuple[tuple[str, ...], bool]] = {}

    def __repr__(self) -> str:
        keyed = "secret" if self._hasher.persistent else "random key"
        return (
            f"SurrogateGenerator(locale={self.locale!r}, {keyed}, "
            f"{len(self._mapping)} values mapped)"
        )

    def __len__(self) -> int:
        return len(self._mapping)

    def derived(self, *parts: str) -> SurrogateGenerator:
        """A new generator (same locale and dates) keyed by this one's digest of ``parts``:
        reproducible when this one has a secret, random otherwise. For values whose original
        is unknown (unread handwriting): each gets its own surrogate, the same on every run."""
        child = SurrogateGenerator(None, self.locale, today=self.today, month_first=self.month_first)
        child._hasher = KeyedHasher(self._hasher.digest("\x00derived", *parts)) if self._hasher.persistent \
            else KeyedHasher(None)
        return child

    def clear(self) -> None:
        """Forget the mapping (the next document starts fresh; with a secret, same results)."""
        self._mapping.clear()

    def surrogate(
        self,
        entity_type: str,
        original: str,
        max_width: float | None = None,
        measure: Callable[[str], float] | None = None,
    ) -> str:
        """A surrogate for ``original`` of ``entity_type``, differing from it.

        With ``max_width`` and ``measure`` (rendered width of a string in the target
        font), free-text types (names, organisations, addresses, emails, URLs, dates with
        month names) pick the first of their narrower variants with
        ``measure(s) <= max_width``, or the narrowest when none fits. Fixed-format types
        (numbers, IBANs, cards) keep their shape whatever the width.
        """
        if not original.strip():
            return original
        etype = entity_type.strip().upper()
        spec = SPECS.get(etype, FALLBACK)
        slot = self._hasher.digest("\x00mapping", etype, original)
        entry = self._mapping.get(slot)
        if entry is None:
            entry = self._mapping[slot] = (self._candidates(etype, spec, original, 0), False)
        candidates, complete = entry
        if not candidates:  # no letters or digits: nothing identifying to replace
            return original
        if max_width is None or measure is None or measure(candidates[0]) <= max_width:
            return candidates[0]
        if not complete:
            candidates = self._candidates(etype, spec, original, ALTERNATIVES)
            self._mapping[slot] = (candidates, True)
        widths = [measure(c) for c in candidates]
        fitting = [c for c, w in zip(candidates, widths, strict=True) if w <= max_width]
        return fitting[0] if fitting else candidates[widths.index(min(widths))]

    def pin(self, entity_type: str, original: str, surrogate: str) -> bool:
        """Use ``surrogate`` for ``original`` from now on (a value computed from others' surrogates,
        such as a total); refused (False) when it would not differ from the original."""
        etype = entity_type.strip().upper()
        spec = SPECS.get(etype, FALLBACK)
        if not surrogate.strip() or spec.normalise(surrogate) == spec.normalise(original):
            return False
        self._mapping[self._hasher.digest("\x00mapping", etype, original)] = ((surrogate,), True)
        return True

    def _candidates(
        self, etype: str, spec: TypeSpec, original: str, alternatives: int
    ) -> tuple[str, ...]:
        """The handler's candidates for the first attempt whose first candidate differs."""
        key = spec.normalise(original)
        failed = False
        for attempt in range(_ATTEMPTS + _FALLBACK_ATTEMPTS):
            draw = Draw(
                self._hasher, self._fake, etype, key, attempt, self.today, self.month_first
            )
            fallback = failed or attempt >= _ATTEMPTS
            try:
                candidates = (FALLBACK if fallback else spec).handler(draw, original, alternatives)
            except Exception as exc:  # noqa: BLE001 - a bug must neither stop the page nor leak the value
                if fallback:
                    raise RuntimeError(f"no surrogate for a {etype} value") from None
                log.warning("%s surrogate failed (%s); fallback used", etype, type(exc).__name__)
                failed = True
                continue
            if spec.normalise(candidates[0]) != key:
                return tuple(c for c in candidates if spec.normalise(c) != key)
        return ()  # no letters or digits to replace; the original itself is never stored
