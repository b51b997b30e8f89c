"""Crafted inputs for the robustness tests and ``experiments/abuse_serve.py``: PDFs built
object by object, uploads that stall."""

from __future__ import annotations

import socket
import zlib


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF with ``objects`` numbered from 1 (1 must be the catalog) and a valid xref table."""
    body, offsets = b"%PDF-1.4\n", []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return body


def heavy_pdf(strokes: int = 100_000) -> bytes:
    """One US-letter page whose (compressed) content stream strokes ``strokes`` thick lines
    across the page: ~14 KB for 100,000 strokes, which expand to 2 MB of drawing commands
    and take PDFium over 10 s to render at 200 dpi on a 2-core machine."""
    lines = [f"{(j * 37) % 612} {(j * 91) % 792} m {612 - (j * 37) % 612} {792 - (j * 91) % 792} l S"
             for j in (i % 97 for i in range(strokes))]
    stream = zlib.compress(("3 w\n" + "\n".join(lines)).encode(), 9)
    return pdf_file([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode() + stream + b"\nendstream",
    ])


def stalled_upload(host: str, port: int, source: str = "127.0.0.2", declared: int = 100_000) -> socket.socket:
    """A connection from the local address ``source`` that sends the head of a multipart
    upload of ``declared`` bytes and its first bytes, then nothing more."""
    sock = socket.create_connection((host, port), timeout=30, source_address=(source, 0))
    head = (f"POST /anonymize HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {declared}\r\n\r\n").encode()
    sock.sendall(head + b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n\x89PNG')
    return sock


def response_status(sock: socket.socket, timeout: float) -> int | None:
    """The status code of the response that arrives on ``sock`` within ``timeout`` seconds;
    None when the server closes the connection without one."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
    return int(data.split(b" ", 2)[1])
