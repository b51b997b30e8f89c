"""The HTTP API end to end over HTTP on loopback (uvicorn in a background thread, httpx).

A real pipeline (Tesseract, Presidio, the classical renderer, verification) anonymizes
synthetic pages whose records hold the sensitive values, so the tests can check outputs,
audits, logs and error bodies against them. Queueing, time limits and auth use a fake
page anonymizer that waits on a gate, so they are deterministic and fast.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig
from PIL import Image, ImageSequence

from anonymizer.core.entry import USAGE
from anonymizer.core.records import PageRecord
from anonymizer.core.text import nfkc_casefold_alnum
from anonymizer.data.synth_pages import PageConfig, generate_page
from anonymizer.metrics.legibility import ocr_available
from anonymizer.pipeline.page_anonymizer import PageResult
from anonymizer.serve import run as serve_run
from anonymizer.serving import create_app
from anonymizer.serving.background import serve_in_thread
from tests.conftest import CONF_DIR, ROOT

needs_ocr = pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed")
pytestmark = [pytest.mark.timeout(300)]

SECRET_ENV = "ANONYMIZER_TEST_SERVE_SECRET"
KEY_ENV = "ANONYMIZER_TEST_SERVE_KEY"
SENSITIVE_NAME = "Jane_Doe_passport_X1234567.png"  # file names can hold personal data
_CONFIG = PageConfig(kinds={"form": 1.0, "invoice": 0.0, "letter": 0.0, "receipt": 0.0}, width=600, height=700,
                     scan=PageConfig().scan.__class__(enabled=False))
LIMITS = ["io.dpi=100", "io.max_pages=2", "io.max_pixels=1000000", "server.max_upload_bytes=300000",
          "server.max_document_pixels=2000000"]


def compose_serve(overrides: list[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="serve", overrides=overrides)


def sensitive_values(record: PageRecord) -> list[str]:
    """The page's sensitive values, one per line (at least 4 letters/digits)."""
    out = []
    for e in record.entities:
        if not e.sensitive:
            continue
        by_line: dict[int | None, list[str]] = {}
        for i in e.words:
            by_line.setdefault(record.words[i].line, []).append(record.words[i].text)
        out += [" ".join(words) for words in by_line.values()]
    return [v for v in out if len(nfkc_casefold_alnum(v)) >= 4]


def encoded(images: list[Image.Image], fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    images[0].save(buffer, fmt, save_all=len(images) > 1, append_images=images[1:], **kwargs)
    return buffer.getvalue()


def error(response: httpx.Response, status: int) -> str:
    """The ``detail`` of a JSON error response with ``status``."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str) and body["detail"]
    return body["detail"]


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def pages() -> list[tuple[Image.Image, PageRecord]]:
    """Two clean synthetic form pages (600×700) with their records."""
    return [generate_page(index, 5, _CONFIG) for index in range(2)]


@pytest.fixture(scope="module")
def files(pages) -> dict[str, bytes]:
    images = [image for image, _ in pages]
    return {
        "png": encoded(images[:1], "PNG"),
        "jpeg": encoded(images[:1], "JPEG", quality=95),
        "tiff": encoded(images, "TIFF", compression="tiff_deflate"),
        "pdf": encoded(images, "PDF", resolution=100.0),  # 432×504 pt: 600×700 px at io.dpi=100
    }


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def server(upload_dir: Path) -> str:
    """The real pipeline (classical renderer, verification on) behind small limits; a
    surrogate secret, so equal uploads give equal outputs."""
    if not ocr_available():
        pytest.skip("tesseract is not installed")
    os.environ[SECRET_ENV] = "serve-test-secret"
    try:
        cfg = compose_serve([*LIMITS, "server.workers=2", "server.queue_size=8", f"server.upload_dir={upload_dir}",
                             f"secret_env={SECRET_ENV}"])
        app = create_app(cfg)
    finally:
        del os.environ[SECRET_ENV]
    with serve_in_thread(app, access_log=True) as url:
        yield url


@pytest.fixture(scope="module")
def client(server: str) -> httpx.Client:
    with httpx.Client(base_url=server, timeout=120) as c:
        yield c


class GatedAnonymizer:
    """A thread-safe fake page anonymizer: each page waits for ``gate`` (at most
    ``wait`` s), then returns the page unchanged with an empty audit entry."""

    def __init__(self, wait: float = 10.0) -> None:
        self.gate = threading.Event()
        self.wait = wait
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, image: Image.Image, doc, index: int = 0) -> PageResult:
        with self._lock:
            self.calls += 1
        self.gate.wait(self.wait)
        audit = {"page": index, "width": image.width, "height": image.height, "ocr_words": 0, "entities": [],
                 "verification": {"checked": False}, "seconds": 0.0}
        return PageResult(image.copy(), audit)


def fake_server(anonymizer: GatedAnonymizer, overrides: list[str]):
    """A served app over ``anonymizer`` (no Tesseract needed)."""
    cfg = compose_serve([*LIMITS, "verify.enabled=false", *overrides])
    return serve_in_thread(create_app(cfg, anonymizer=anonymizer))


def wait_for(client: httpx.Client, running: int, waiting: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        queue = client.get("/health").json()["queue"]
        if queue["running"] == running and queue["waiting"] == waiting:
            return
        time.sleep(0.02)
    raise AssertionError(f"queue never reached running={running}, waiting={waiting}: {queue}")


# --------------------------------------------------------------------------- health and schema
@needs_ocr
def test_health_and_openapi(client: httpx.Client) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["renderer"] == "classical" and body["verify"] is True
    assert body["auth"] is False and body["version"]
    assert body["queue"] == {"running": 0, "waiting": 0, "uploading": 0, "workers": 2, "queue_size": 8, "capacity": 10}
    assert body["limits"]["max_pages"] == 2 and body["limits"]["max_upload_bytes"] == 300000
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/anonymize"]["post"]
    form = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and form["properties"]["file"]["format"] == "binary"
    assert {"200", "400", "413", "415", "422", "503", "504"} <= set(post["responses"])
    assert {"application/json", "application/pdf", "image/png"} <= set(post["responses"]["200"]["content"])
    assert post["parameters"][0]["name"] == "response"
    assert "/health" in schema["paths"] and "securitySchemes" not in schema.get("components", {})


# --------------------------------------------------------------------------- happy paths
@needs_ocr
def test_png_json_response_replaces_the_values_and_leaks_nothing(client, pages, files, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    image, record = pages[0]
    response = client.post("/anonymize", files={"file": (SENSITIVE_NAME, files["png"], "image/png")})
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert body["filename"] == SENSITIVE_NAME and body["media_type"] == "image/png" and body["pages"] == 1
    assert response.headers["x-request-id"] == body["request_id"]
    data = base64.b64decode(body["file_base64"])
    assert len(data) == body["bytes"]
    out = Image.open(io.BytesIO(data))
    assert out.format == "PNG" and out.size == image.size and not out.info.get("exif")
    changed = np.any(np.asarray(out.convert("RGB")) != np.asarray(image), axis=2)
    assert changed.any()
    audit = body["audit"]
    assert audit["schema"] == "anonymizer.audit/1" and audit["status"] == "ok" and audit["renderer"] == "classical"
    assert audit["consistent_across_documents"] is True and len(audit["pages"]) == 1
    entities = audit["pages"][0]["entities"]
    assert entities and all({"type", "score", "boxes", "surrogate", "value_id"} <= set(e) for e in entities)
    assert audit["pages"][0]["verification"]["checked"] is True
    assert body["verification"] in ("passed", "redacted")
    # no original value in the response (beyond the file's pixels) or the logs; no file name in the logs
    values = sensitive_values(record)
    assert values
    text = json.dumps({k: v for k, v in body.items() if k != "file_base64"})
    assert not [v for v in values if v in text], "original values in the JSON response"
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert "POST /anonymize" in logs and f"request {body['request_id']}: 200 PNG" in logs
    assert not [v for v in values if v in logs], "original values in the logs"
    assert "Jane_Doe" not in logs and "X1234567" not in logs


@needs_ocr
def test_pdf_file_response_is_image_only_with_the_same_pages(client, files) -> None:
    import pypdfium2 as pdfium

    response = client.post("/anonymize", params={"response": "file"},
                           files={"file": ("scan.pdf", files["pdf"], "application/octet-stream")})
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-anonymizer-pages"] == "2" and int(response.headers["x-anonymizer-entities"]) > 0
    assert response.headers["x-anonymizer-verification"] in ("passed", "redacted")
    assert 'filename="scan.pdf"' in response.headers["content-disposition"]
    pdf = pdfium.PdfDocument(response.content)
    try:
        assert len(pdf) == 2
        assert [tuple(round(v) for v in pdf[i].get_size()) for i in range(2)] == [(432, 504)] * 2
        assert all(pdf[i].get_textpage().get_text_bounded() == "" for i in range(2))
    finally:
        pdf.close()


@needs_ocr
@pytest.mark.parametrize(("kind", "fmt", "frames"), [("jpeg", "JPEG", 1), ("tiff", "TIFF", 2)])
def test_jpeg_and_multipage_tiff_keep_their_format(client, files, kind: str, fmt: str, frames: int) -> None:
    response = client.post("/anonymize", files={"file": ("blob", files[kind])})  # no extension: from content
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert body["filename"] == "blob" + {"JPEG": ".jpg", "TIFF": ".tif"}[fmt] and body["pages"] == frames
    out = Image.open(io.BytesIO(base64.b64decode(body["file_base64"])))
    assert out.format == fmt and out.size == (600, 700)
    assert sum(1 for _ in ImageSequence.Iterator(out)) == frames


@needs_ocr
def test_concurrent_requests_all_succeed_and_match_a_serial_one(client, files) -> None:
    """4 requests at once on 2 workers: every output equals the one-at-a-time output (the
    shared pipeline keeps no state between requests; the secret fixes the surrogates)."""
    def post() -> httpx.Response:
        return client.post("/anonymize", params={"response": "file"}, files={"file": ("a.png", files["png"])})

    serial = post()
    assert serial.status_code == 200
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: post(), range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    assert all(r.content == serial.content for r in responses)
    assert client.get("/health").json()["queue"]["running"] == 0


# --------------------------------------------------------------------------- bad inputs
def _pdf_pages(n: int) -> bytes:
    return encoded([Image.new("RGB", (200, 100), "white")] * n, "PDF", resolution=72.0)


def _encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf_pages(1))))
    writer.encrypt("secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _bad_inputs() -> list[tuple[str, bytes, int, str]]:
    png = encoded([Image.new("RGB", (300, 120), "white")], "PNG")
    return [
        ("text", b"Name: Jane Doe\nSSN: 123-45-6789\n", 415, "not a PNG, JPEG, TIFF or PDF"),
        ("gif", encoded([Image.new("RGB", (30, 20), "white")], "GIF"), 415, "GIF"),
        ("empty", b"", 400, "empty"),
        ("truncated png", png[: len(png) // 2], 422, "truncated"),
        ("corrupt jpeg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, 422, "cannot be read"),
        ("truncated pdf", _pdf_pages(1)[:-40], 422, "truncated PDF"),
        ("encrypted pdf", _encrypted_pdf(), 422, "encrypted"),
        ("too many pages", _pdf_pages(3), 413, "3 pages, more than the limit of 2"),
        ("too many pixels", encoded([Image.new("RGB", (1200, 1000), "white")], "PNG"), 413, "io.max_pixels"),
        ("too many bytes", os.urandom(400_000), 413, "server.max_upload_bytes"),
    ]


@needs_ocr
@pytest.mark.parametrize(
    ("name", "data", "status", "message"), _bad_inputs(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_bad_uploads_get_a_clear_4xx(client, upload_dir: Path, caplog, name, data, status, message) -> None:
    caplog.set_level(logging.INFO)
    response = client.post("/anonymize", files={"file": (SENSITIVE_NAME, data, "image/png")})
    detail = error(response, status)
    assert message in detail and "Jane_Doe" not in detail and "the upload" in detail
    assert "Jane" not in "\n".join(r.getMessage() for r in caplog.records)
    assert list(upload_dir.iterdir()) == []  # the private upload folder is gone


@needs_ocr
def test_oversize_streamed_upload_without_content_length_is_stopped(client) -> None:
    boundary = "b0undary"

    def body():
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n\r\n'.encode()
        for _ in range(20):
            yield b"\x89PNG" + os.urandom(32_000)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post("/anonymize", content=body(),
                           headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert "server.max_upload_bytes" in error(response, 413)


@needs_ocr
def test_malformed_requests(client, files) -> None:
    assert "no field named 'file'" in error(client.post("/anonymize", files={"document": ("a.png", files["png"])}), 422)
    assert "multipart/form-data" in error(client.post("/anonymize", content=files["png"],
                                                      headers={"Content-Type": "image/png"}), 415)
    two = [("file", ("a.png", files["png"])), ("file", ("b.png", files["png"]))]
    assert "more than one field" in error(client.post("/anonymize", files=two), 400)
    detail = error(client.post("/anonymize", params={"response": "xml"}, files={"file": ("a.png", files["png"])}), 422)
    assert detail.startswith("invalid request: response") and "xml" not in detail
    truncated_form = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n' + files["png"][:500]
    )
    assert "closing boundary" in error(client.post("/anonymize", content=truncated_form,
                                                   headers={"Content-Type": "multipart/form-data; boundary=b"}), 400)
    assert error(client.get("/anonymize"), 405)
    assert error(client.get("/nowhere"), 404)


# --------------------------------------------------------------------------- queue, time limit, auth
def test_full_queue_gets_503_with_retry_after_and_accepted_requests_finish() -> None:
    fake = GatedAnonymizer()
    png = encoded([Image.new("RGB", (300, 200), "white")], "PNG")
    with fake_server(fake, ["server.workers=2", "server.queue_size=1", "server.retry_after_s=7"]) as url, \
            httpx.Client(base_url=url, timeout=60) as client, ThreadPoolExecutor(3) as pool:
        def post(_):
            return client.post("/anonymize", files={"file": ("a.png", png)})

        accepted = [pool.submit(post, i) for i in range(3)]
        wait_for(client, running=2, waiting=1)  # two on the workers, one queued
        busy = client.post("/anonymize", files={"file": ("a.png", png)})
        assert "busy" in error(busy, 503) and busy.headers["retry-after"] == "7"
        fake.gate.set()
        assert [f.result().status_code for f in accepted] == [200] * 3
        assert fake.calls == 3
        wait_for(client, running=0, waiting=0)
        assert client.post("/anonymize", files={"file": ("a.png", png)}).status_code == 200


def test_time_limit_gives_504_and_drops_queued_work() -> None:
    fake = GatedAnonymizer(wait=3.0)
    png = encoded([Image.new("RGB", (300, 200), "white")], "PNG")
    with fake_server(fake, ["server.workers=1", "server.queue_size=1", "server.request_timeout_s=0.5"]) as url, \
            httpx.Client(base_url=url, timeout=60) as client, ThreadPoolExecutor(2) as pool:
        def post(_):
            return client.post("/anonymize", files={"file": ("a.png", png)})

        first = pool.submit(post, 0)
        wait_for(client, running=1, waiting=0)
        second = pool.submit(post, 1)  # queued behind the first, times out before it starts
        assert "server.request_timeout_s" in error(first.result(), 504)
        assert "server.request_timeout_s" in error(second.result(), 504)
        fake.gate.set()
        wait_for(client, running=0, waiting=0)
        assert fake.calls == 1  # the queued job was cancelled, never run


def test_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "s3cret-key")
    fake = GatedAnonymizer()
    fake.gate.set()
    png = encoded([Image.new("RGB", (300, 200), "white")], "PNG")
    with fake_server(fake, [f"server.api_key_env={KEY_ENV}"]) as url, httpx.Client(base_url=url, timeout=60) as client:
        upload = {"file": ("a.png", png)}
        missing = client.post("/anonymize", files=upload)
        assert "API key" in error(missing, 401) and missing.headers["www-authenticate"] == "Bearer"
        assert error(client.post("/anonymize", files=upload, headers={"X-API-Key": "wrong"}), 401)
        assert error(client.post("/anonymize", files=upload, headers={"Authorization": "Bearer wrong"}), 401)
        assert client.post("/anonymize", files=upload, headers={"X-API-Key": "s3cret-key"}).status_code == 200
        response = client.post("/anonymize", files=upload, headers={"Authorization": "Bearer s3cret-key"})
        assert response.status_code == 200
        health = client.get("/health")
        assert health.status_code == 200 and health.json()["auth"] is True  # health stays open
        schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
        assert {"APIKeyHeader", "HTTPBearer"} <= set(schemes)
        assert fake.calls == 2


# --------------------------------------------------------------------------- the command
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["server.workers=0"], "server.workers must be an integer >= 1"),
        ([f"server.api_key_env={KEY_ENV}_UNSET"], "is not set or empty"),
        (["server.request_timeout_s=-1"], "server.request_timeout_s"),
        (["server.upload_dir=/nonexistent/uploads"], "server.upload_dir"),
    ],
)
def test_startup_errors_are_one_line_and_exit_2(overrides: list[str], message: str, capsys) -> None:
    assert serve_run(compose_serve(overrides)) == USAGE
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_port_in_use_is_a_usage_error(capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve_run(compose_serve([f"server.port={port}"])) == USAGE
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


@needs_ocr
@pytest.mark.slow
def test_python_m_anonymizer_serve(tmp_path: Path) -> None:
    """The real command: starts, answers /health and /anonymize, stops on SIGINT."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "anonymizer.serve", f"server.port={port}", "renderer=redact",
                             "verify.enabled=false"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read()[-2000:]
            try:
                if httpx.get(f"{url}/health", timeout=2).json()["renderer"] == "redact":
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
        page = Image.new("RGB", (500, 120), "white")
        response = httpx.post(f"{url}/anonymize", files={"file": ("p.png", encoded([page], "PNG"))}, timeout=120)
        assert response.status_code == 200 and response.json()["audit"]["renderer"] == "redact"
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output[-2000:]
    assert "serving on http://127.0.0.1" in output and "POST /anonymize HTTP/1.1\" 200" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written to the working directory
