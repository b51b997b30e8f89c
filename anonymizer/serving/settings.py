"""Server settings from ``anonymizer/conf/serve.yaml`` (``server.*`` plus the ``io`` limits), validated."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anonymizer.data.checks import check_int
from anonymizer.pipeline.options import CHECKS, check_bool

#: Room for the multipart framing (boundaries, part headers, small form fields) on top of
#: ``max_upload_bytes`` when the whole request body is counted.
FORM_OVERHEAD_BYTES = 64 * 1024
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
#: The keys of ``server`` in anonymizer/conf/serve.yaml (anything else there is a typo).
SERVER_KEYS = {
    "host", "port", "workers", "queue_size", "retry_after_s", "request_timeout_s", "upload_timeout_s",
    "header_timeout_s", "max_uploads", "max_requests_per_client", "max_upload_bytes", "max_document_pixels",
    "api_key_env", "upload_dir", "log_level", "access_log",
}


@dataclass(frozen=True)
class ServeSettings:
    """What the server listens on, how much it accepts and how many documents it works on.

    ``max_pages`` and ``max_pixels`` are ``io.max_pages`` / ``io.max_pixels`` (the same keys as
    the command line); ``max_document_pixels`` bounds the pages of one upload together (the
    memory a request can take: about 3 bytes per pixel, twice while it is processed).
    A request may take ``upload_timeout_s`` to send its upload (then 408); a connection
    ``header_timeout_s`` to send its request line and headers (then it is closed); one
    client address has at most ``max_requests_per_client`` requests in progress (then 429)
    and at most ``max_uploads`` uploads arrive at once (then 503): a slow upload holds an
    upload slot, never a worker or queue slot.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    queue_size: int = 8
    retry_after_s: int = 10
    request_timeout_s: float | None = 300.0
    upload_timeout_s: float = 120.0
    header_timeout_s: float = 10.0
    max_uploads: int = 16
    max_requests_per_client: int = 4
    max_upload_bytes: int = 25 * 1024 * 1024
    max_pages: int = 20
    max_pixels: int = 50_000_000
    max_document_pixels: int = 200_000_000
    dpi: float = 200.0
    jpeg_quality: int = 95
    render_timeout_s: float | None = 20.0
    api_key_env: str | None = None
    upload_dir: str | None = None
    log_level: str = "info"
    access_log: bool = True

    def __post_init__(self) -> None:
        check_int("server.port", self.port, 0)
        if self.port > 65535:
            raise ValueError(f"server.port must be in 0..65535, got {self.port}")
        check_int("server.workers", self.workers, 1)
        check_int("server.queue_size", self.queue_size, 0)
        check_int("server.retry_after_s", self.retry_after_s, 1)
        check_int("server.max_upload_bytes", self.max_upload_bytes, 1)
        check_int("server.max_document_pixels", self.max_document_pixels, 1)
        check_int("server.max_uploads", self.max_uploads, 1)
        check_int("server.max_requests_per_client", self.max_requests_per_client, 1)
        for key, value in (("io.max_pixels", self.max_pixels), ("io.max_pages", self.max_pages), ("io.dpi", self.dpi),
                           ("io.jpeg_quality", self.jpeg_quality), ("io.render_timeout_s", self.render_timeout_s)):
            CHECKS[key](key, value)
        for key, value, optional in (("server.request_timeout_s", self.request_timeout_s, True),
                                     ("server.upload_timeout_s", self.upload_timeout_s, False),
                                     ("server.header_timeout_s", self.header_timeout_s, False)):
            if (value is not None or not optional) and (
                isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0
            ):
                or_null = " or null" if optional else ""
                raise ValueError(f"{key} must be a positive number of seconds{or_null}, got {value!r}")
        check_bool("server.access_log", self.access_log)
        if self.upload_dir is not None and not Path(self.upload_dir).expanduser().is_dir():
            raise ValueError(f"server.upload_dir {self.upload_dir} is not an existing folder")
        if str(self.log_level).lower() not in LOG_LEVELS:
            raise ValueError(f"server.log_level must be one of {LOG_LEVELS}, got {self.log_level!r}")

    @property
    def capacity(self) -> int:
        """Requests accepted at once: the ones being processed plus the queue."""
        return self.workers + self.queue_size

    @classmethod
    def from_config(cls, cfg: Any) -> ServeSettings:
        """Settings from a composed ``anonymizer/conf/serve.yaml`` (``server`` and ``io`` sections).

        Raises:
            ValueError: a missing section or an invalid value, with the key's name.
        """
        server, io = cfg.get("server"), cfg.get("io")
        if server is None or io is None:
            raise ValueError("the config has no server or io section (use anonymizer/conf/serve.yaml)")
        unknown = sorted(f"server.{k}" for k in server if k not in SERVER_KEYS)
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)}")
        timeout = server.get("request_timeout_s", 300.0)
        return cls(
            host=str(server.get("host", "127.0.0.1")),
            port=server.get("port", 8000),
            workers=server.get("workers", 2),
            queue_size=server.get("queue_size", 8),
            retry_after_s=server.get("retry_after_s", 10),
            request_timeout_s=None if timeout is None or (timeout == 0 and not isinstance(timeout, bool)) else timeout,
            upload_timeout_s=server.get("upload_timeout_s", 120.0),
            header_timeout_s=server.get("header_timeout_s", 10.0),
            max_uploads=server.get("max_uploads", 16),
            max_requests_per_client=server.get("max_requests_per_client", 4),
            max_upload_bytes=server.get("max_upload_bytes", 25 * 1024 * 1024),
            max_document_pixels=server.get("max_document_pixels", 200_000_000),
            max_pages=io.get("max_pages", 20),
            max_pixels=io.get("max_pixels", 50_000_000),
            dpi=io.get("dpi", 200),
            jpeg_quality=io.get("jpeg_quality", 95),
            render_timeout_s=io.get("render_timeout_s", 20.0),
            api_key_env=server.get("api_key_env") or None,
            upload_dir=str(Path(str(server.get("upload_dir"))).expanduser()) if server.get("upload_dir") else None,
            log_level=str(server.get("log_level", "info")).lower(),
            access_log=server.get("access_log", True),
        )
