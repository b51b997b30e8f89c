"""Optional API-key authentication.

The key comes from an environment variable named in the config (``server.api_key_env``),
never from a config file. A request passes with ``X-API-Key: <key>`` or
``Authorization: Bearer <key>``; keys are compared in constant time.
"""

from __future__ import annotations

import hmac
import os


def api_key_from_env(name: str | None) -> str | None:
    """The key held by the environment variable ``name`` (None when ``name`` is None).

    Raises:
        ValueError: ``name`` is set but the variable is unset or empty (a server that was
            meant to be protected must not start open).
    """
    if not name:
        return None
    value = os.environ.get(str(name), "")
    if not value.strip():
        raise ValueError(f"server.api_key_env={name} but the environment variable {name} is not set or empty")
    return value.strip()


class ApiKeyAuth:
    """Checks a presented key against the configured one (no key configured: all pass)."""

    def __init__(self, key: str | None) -> None:
        self._key = key.encode("utf-8") if key else None

    @property
    def enabled(self) -> bool:
        return self._key is not None

    def check(self, presented: str | None) -> bool:
        """True when auth is off, or ``presented`` equals the key (constant-time)."""
        if self._key is None:
            return True
        if not presented:
            return False
        return hmac.compare_digest(presented.strip().encode("utf-8"), self._key)
