"""Receive the ``file`` field of a ``multipart/form-data`` request into a private file.

The body is streamed through python-multipart's parser: the ``file`` part goes straight
to ``<private temp folder>/upload`` (the folder is ``mkdtemp``'s, mode 0700; the caller
deletes it), other fields are read and dropped. Sizes are enforced before and while the
body arrives: a ``Content-Length`` over the limit is refused without reading, and
counting stops the transfer as soon as the file or the body passes it (413). The caller
bounds the time the body may take (``server.upload_timeout_s``).

python-multipart's own logger quotes bytes of a malformed body in its messages; its
records are dropped (the upload is refused with 400 and a message of ours).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from anonymizer.serving.errors import ApiError
from anonymizer.serving.settings import FORM_OVERHEAD_BYTES

FIELD = "file"
MAX_PARTS = 16
MAX_NAME_CHARS = 200

logging.getLogger("python_multipart.multipart").addFilter(lambda record: False)  # it quotes upload bytes


@dataclass(frozen=True)
class Upload:
    """The received file: where it is, its size and the name the client gave (sanitised)."""

    path: Path
    size: int
    filename: str | None


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"the upload is larger than the limit of {_mib(limit)} (server.max_upload_bytes)")


def clean_filename(raw: bytes | None) -> str | None:
    """The client's file name as a safe base name (no folders, no control characters,
    at most :data:`MAX_NAME_CHARS` characters), or None."""
    if not raw:
        return None
    name = raw.decode("utf-8", "replace")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return name[-MAX_NAME_CHARS:] or None


class _Sink:
    """python-multipart callbacks: writes the ``file`` part to ``out``, drops the rest."""

    def __init__(self, out: BinaryIO, limit: int) -> None:
        self.out = out
        self.limit = limit
        self.size = 0
        self.found = 0
        self.parts = 0
        self.filename: str | None = None
        self.complete = False
        self._in_file = False
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise ApiError(400, f"the form has more than {MAX_PARTS} parts; send one field named '{FIELD}'")
        self._in_file = False
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if options.get(b"name") == FIELD.encode():
            self.found += 1
            if self.found > 1:
                raise ApiError(400, f"the form has more than one field named '{FIELD}'; send one document per request")
            self._in_file = True
            self.filename = clean_filename(options.get(b"filename"))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            return
        self.size += end - start
        if self.size > self.limit:
            raise too_large(self.limit)
        self.out.write(data[start:end])

    def on_end(self) -> None:
        self.complete = True


async def receive_upload(request: Request, folder: Path, max_bytes: int) -> Upload:
    """Stream the request's ``file`` field into ``folder / "upload"``.

    Raises:
        ApiError: 413 (larger than ``max_bytes``), 415 (not ``multipart/form-data``),
            400 (malformed form, more than one file, client gone), 422 (no ``file`` field).
    """
    ctype, options = parse_options_header(request.headers.get("content-type"))
    if ctype != b"multipart/form-data":
        raise ApiError(415, f"send the document as multipart/form-data with a field named '{FIELD}' "
                            "(e.g. curl -F file=@scan.pdf)")
    boundary = options.get(b"boundary")
    if not boundary:
        raise ApiError(400, "the multipart/form-data request has no boundary")
    body_limit = max_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise ApiError(400, "invalid Content-Length header") from None
        if length > body_limit:
            raise too_large(max_bytes)
    path = folder / "upload"
    received = 0
    with open(path, "xb") as out:
        sink = _Sink(out, max_bytes)
        parser = MultipartParser(boundary, {
            "on_part_begin": sink.on_part_begin, "on_header_field": sink.on_header_field,
            "on_header_value": sink.on_header_value, "on_header_end": sink.on_header_end,
            "on_headers_finished": sink.on_headers_finished, "on_part_data": sink.on_part_data,
            "on_end": sink.on_end,
        })
        try:
            async for chunk in request.stream():
                received += len(chunk)
                if received > body_limit:
                    raise too_large(max_bytes)
                parser.write(chunk)
            parser.finalize()
        except FormParserError:
            raise ApiError(400, "the multipart/form-data body is malformed") from None
        except ClientDisconnect:
            raise ApiError(400, "the client closed the connection before the upload was complete") from None
    if not sink.complete:
        raise ApiError(400, "the multipart/form-data body ended before its closing boundary")
    if not sink.found:
        raise ApiError(422, f"the form has no field named '{FIELD}' (send the document as -F {FIELD}=@<path>)")
    return Upload(path, sink.size, sink.filename)
