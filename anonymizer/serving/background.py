"""Listening sockets, uvicorn's settings for the app, and a server in a background thread.

uvicorn closes a connection that stays idle after a response (``timeout_keep_alive``),
but waits forever for the request line and headers of a new one: a client that connects
and sends nothing, or its headers a byte at a time, holds the connection.
:func:`http_protocol` gives uvicorn's h11 protocol a deadline for every request head.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket for ``host:port`` (port 0: a free one).

    Raises:
        OSError: the address cannot be used (in use, not local, no permission).
    """
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                          flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://host:port`` of a listening socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def http_protocol(head_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a connection whose request line and headers have not
    all arrived ``head_timeout_s`` seconds after it opened or after its last response."""

    class HeadDeadlineH11(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            cycle = self.cycle  # a new request's complete head starts a new cycle

            def expire() -> None:
                if self.cycle is cycle and not self.transport.is_closing():
                    self.transport.close()

            self._disarm()
            self._head_timer = self.loop.call_later(head_timeout_s, expire)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeadDeadlineH11


def uvicorn_options(app: Any) -> dict[str, Any]:
    """uvicorn settings the app needs: the head deadline of its ``server.header_timeout_s``."""
    settings = getattr(app.state, "settings", None)
    timeout = getattr(settings, "header_timeout_s", None)
    return {"http": http_protocol(timeout)} if timeout else {}


@contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, **config: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on a background thread; yields its base URL; stops it on exit.

    ``config`` goes to :class:`uvicorn.Config` (defaults: no logging set-up, no access log,
    :func:`uvicorn_options`).
    """
    import uvicorn

    access = logging.getLogger("uvicorn.access")  # uvicorn unhooks it for good when access_log is off
    saved = access.propagate, list(access.handlers)
    sock = listen(host, port)
    options = {"log_config": None, "access_log": False, "lifespan": "on", **uvicorn_options(app), **config}
    server = uvicorn.Server(uvicorn.Config(app, **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="uvicorn")
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        access.propagate, access.handlers = saved[0], saved[1]
