"""The HTTP API under abuse: a PDF that renders for minutes, uploads that stall, idle
connections, bad settings. A fake page anonymizer (no Tesseract) keeps the pipeline out of
the way; the PDF work, the admission and the upload handling are the real ones."""

from __future__ import annotations

import logging
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from anonymizer.core.entry import USAGE
from anonymizer.serve import run as serve_run
from tests.crafted_files import heavy_pdf, response_status, stalled_upload
from tests.test_serve import GatedAnonymizer, compose_serve, encoded, error, fake_server, wait_for

pytestmark = [pytest.mark.timeout(180)]

PNG = encoded([Image.new("RGB", (300, 200), "white")], "PNG")
#: The heavy PDF's letter page at 200 dpi within the limits (it renders for over 10 s).
PDF_AT_200_DPI = ["io.dpi=200", "io.max_pixels=5000000", "server.max_document_pixels=10000000"]


def ready() -> GatedAnonymizer:
    fake = GatedAnonymizer()
    fake.gate.set()
    return fake


def post(client: httpx.Client, name: str, data: bytes) -> httpx.Response:
    return client.post("/anonymize", files={"file": (name, data)})


# --------------------------------------------------------------------------- 3: PDF work under a budget
def test_a_png_never_waits_on_a_pdf_and_a_pdf_over_budget_fails_alone() -> None:
    overrides = ["server.workers=2", "server.request_timeout_s=8", "io.render_timeout_s=2", *PDF_AT_200_DPI]
    with fake_server(ready(), overrides) as url, httpx.Client(base_url=url, timeout=60) as client, \
            ThreadPoolExecutor(1) as pool:
        pdf = pool.submit(post, client, "drawing.pdf", heavy_pdf())
        wait_for(client, running=1, waiting=0)
        png = post(client, "a.png", PNG)  # waited on the PDF library's lock: 504
        assert png.status_code == 200, png.text
        assert not pdf.done()  # answered while the PDF was rendering
        detail = error(pdf.result(), 422)
        assert "rendering page 0 took longer than 2 s (io.render_timeout_s)" in detail
        wait_for(client, running=0, waiting=0, timeout=2)  # its worker is free


def test_a_timed_out_pdf_frees_its_worker_at_once() -> None:
    overrides = ["server.workers=1", "server.request_timeout_s=1", "io.render_timeout_s=60", *PDF_AT_200_DPI]
    with fake_server(ready(), overrides) as url, httpx.Client(base_url=url, timeout=60) as client:
        assert "it was stopped" in error(post(client, "drawing.pdf", heavy_pdf()), 504)
        wait_for(client, running=0, waiting=0, timeout=3)  # the worker rendered on for 25 s
        assert post(client, "a.png", PNG).status_code == 200


# --------------------------------------------------------------------------- 4: uploads that stall
def test_stalled_uploads_and_idle_connections_do_not_hold_the_server() -> None:
    overrides = ["server.workers=1", "server.queue_size=1", "server.upload_timeout_s=3", "server.header_timeout_s=1",
                 "server.max_requests_per_client=2", "server.max_uploads=16", "server.retry_after_s=5"]
    with fake_server(ready(), overrides) as url, httpx.Client(base_url=url, timeout=30) as client:
        host, port = urlsplit(url).hostname, urlsplit(url).port
        one_client = [stalled_upload(host, port, "127.0.0.2") for _ in range(10)]
        many_clients = [stalled_upload(host, port, f"127.0.0.{i}") for i in range(10, 22)]
        try:
            deadline = time.monotonic() + 10
            while client.get("/health").json()["queue"]["uploading"] != 14 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert client.get("/health").json()["queue"]["uploading"] == 14  # 2 + 12; 8 were refused
            for _ in range(3):  # one worker, one queue slot: all were held by the stalled uploads (503)
                assert post(client, "a.png", PNG).status_code == 200
            started = time.monotonic()
            statuses = Counter(response_status(s, 10) for s in one_client)
            assert statuses == {429: 8, 408: 2}
            assert Counter(response_status(s, 10) for s in many_clients) == {408: 12}
            assert time.monotonic() - started < 6  # cut at the 3-s receive deadline
        finally:
            for sock in one_client + many_clients:
                sock.close()
        idle = socket.create_connection((host, port), timeout=10, source_address=("127.0.0.3", 0))
        started = time.monotonic()
        assert response_status(idle, 10) is None  # closed, never answered
        assert 0.5 < time.monotonic() - started < 5
        idle.close()
        assert client.get("/health").json()["queue"] == {"running": 0, "waiting": 0, "uploading": 0,
                                                          "workers": 1, "queue_size": 1, "capacity": 2}


def test_a_client_over_its_request_limit_gets_429_with_retry_after() -> None:
    fake = GatedAnonymizer()  # pages wait for the gate
    overrides = [
        "server.workers=2", "server.queue_size=2", "server.max_requests_per_client=1", "server.retry_after_s=4"
    ]
    with fake_server(fake, overrides) as url, httpx.Client(base_url=url, timeout=30) as client, \
            ThreadPoolExecutor(1) as pool:
        first = pool.submit(post, client, "a.png", PNG)
        wait_for(client, running=1, waiting=0)
        second = post(client, "b.png", PNG)
        assert "server.max_requests_per_client" in error(second, 429) and second.headers["retry-after"] == "4"
        fake.gate.set()
        assert first.result().status_code == 200
        assert post(client, "c.png", PNG).status_code == 200


# --------------------------------------------------------------------------- 8: docs, parser logs
def test_no_page_loads_scripts_from_a_cdn() -> None:
    with fake_server(ready(), []) as url, httpx.Client(base_url=url, timeout=30) as client:
        for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            response = client.get(path)
            assert response.status_code == 404 and "cdn" not in response.text
        assert client.get("/openapi.json").json()["info"]["title"] == "anonymizer"


def test_the_multipart_parser_logs_no_upload_bytes(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            b"X-Holder\x01Jane-Doe: 1\r\n\r\nJANE DOE\r\n--b--\r\n")
    with fake_server(ready(), []) as url, httpx.Client(base_url=url, timeout=30) as client:
        response = client.post("/anonymize", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert "malformed" in error(response, 400)
    assert not [r for r in caplog.records if r.name.startswith("python_multipart")]


# --------------------------------------------------------------------------- 2 and 6: settings
@pytest.mark.parametrize(("override", "message"), [
    ("server.access_log=no", "server.access_log must be true or false, got 'no'"),
    ("verify.enabled=off", "verify.enabled must be true or false, got 'off'"),
    ("io.dpi=0.01", "io.dpi must be a number in [50, 1200], got 0.01"),
    ("io.render_timeout_s=-1", "io.render_timeout_s must be a number > 0, got -1"),
    ("server.upload_timeout_s=0", "server.upload_timeout_s must be a positive number of seconds, got 0"),
    ("+server.upload_timeout=5", "unknown option(s) server.upload_timeout"),
    ("+io.dpis=300", "unknown option(s) io.dpis"),
])
def test_bad_settings_are_one_line_and_exit_2(override: str, message: str, capsys) -> None:
    assert serve_run(compose_serve([override])) == USAGE
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
