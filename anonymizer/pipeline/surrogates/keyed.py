"""Keyed hashing: the only way originals reach the generator's state.

A value is never stored; it is reduced to ``HMAC-SHA256(key, type | normalised value)``
(normalised by its type's function from :mod:`anonymizer.core.text`) and that digest seeds
the surrogate choice and keys the in-memory mapping. With a user secret the key is derived
from it, so the same secret gives the same surrogates in
another process or corpus. Without one the key is ``os.urandom(32)``: a plain hash of a
phone number or a date of birth could be reversed by hashing every candidate value, a
keyed hash cannot without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os

_KEY_LABEL = b"anonymizer.surrogates/1"


class KeyedHasher:
    """HMAC-SHA256 under a key derived from ``secret`` (random per instance when ``None``)."""

    __slots__ = ("_key", "persistent")

    def __init__(self, secret: str | bytes | None = None) -> None:
        if secret is None:
            raw = os.urandom(32)
        elif isinstance(secret, str):
            raw = secret.encode("utf-8")
        elif isinstance(secret, bytes | bytearray):
            raw = bytes(secret)
        else:
            raise TypeError("secret must be str, bytes or None")
        if secret is not None and not raw:
            raise ValueError("secret must not be empty")
        # The user's secret itself is not kept, only a key derived from it.
        self._key = hmac.new(_KEY_LABEL, raw, hashlib.sha256).digest()
        self.persistent = secret is not None

    def digest(self, *parts: str) -> bytes:
        """The keyed digest of ``parts`` (length-prefixed, so part boundaries count)."""
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        for part in parts:
            data = part.encode("utf-8", "surrogatepass")
            mac.update(len(data).to_bytes(4, "big"))
            mac.update(data)
        return mac.digest()

    def __repr__(self) -> str:
        return f"KeyedHasher(persistent={self.persistent})"


