"""The one error type of the API: an HTTP status, a clear message and optional headers.

Messages name "the upload", never the client's file name or any document content.
"""

from __future__ import annotations


class ApiError(Exception):
    """A request that gets ``status`` with ``{"detail": detail}``."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = int(status)
        self.detail = detail
        self.headers = dict(headers or {})
