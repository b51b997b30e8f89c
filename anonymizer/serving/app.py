"""The FastAPI application: ``POST /anonymize``, ``GET /health``, ``GET /openapi.json``.

:func:`create_app` builds it from a composed ``anonymizer/conf/serve.yaml``; the pipeline is built
once (or injected: tests pass a fake page anonymizer) and shared by every request through
a bounded worker pool. :func:`build_app` takes plain objects. A request is admitted in
two steps: on arrival, a client slot and an upload slot
(:mod:`~anonymizer.serving.admission`; the upload must arrive within
``server.upload_timeout_s``); with its upload complete, a worker or queue slot
(:mod:`~anonymizer.serving.workers`).

There is no ``/docs`` page: FastAPI's Swagger UI and ReDoc pages load their scripts from
public CDNs (blank offline, and a third party learns who reads the docs), and no installed
package serves those assets locally. ``/openapi.json`` describes the API for any viewer.

Privacy: the server logs request ids, formats, page and entity counts, entity types,
statuses and times; never the client's file name, never document text. Error messages
say "the upload". Responses carry the anonymized file and its audit (positions, types,
surrogates, value ids), never an original value.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from anonymizer import __version__
from anonymizer.pipeline.document import DocumentAnonymizer
from anonymizer.pipeline.options import check_options
from anonymizer.serving.admission import Admission
from anonymizer.serving.auth import ApiKeyAuth, api_key_from_env
from anonymizer.serving.errors import ApiError
from anonymizer.serving.service import Anonymized, DocumentService
from anonymizer.serving.settings import SERVER_KEYS, ServeSettings
from anonymizer.serving.threadsafe import THREAD_SAFE
from anonymizer.serving.upload import FIELD, receive_upload
from anonymizer.serving.workers import PoolFull, WorkerPool

log = logging.getLogger("anonymizer.serve")
# the API key's security schemes (module level: the annotations of require_key are resolved in the module's globals)
_API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="The server's API key.")
_BEARER = HTTPBearer(auto_error=False, description="The server's API key as a bearer token.")

DESCRIPTION = """\
Anonymizes document images and PDFs: OCR → PII detection → consistent surrogates →
style-preserving rendering → re-OCR verification, the same pipeline as
`python -m anonymizer.anonymize`.

Send one document per request as `multipart/form-data` field `file` (PNG, JPEG, TIFF or
PDF; the type is read from the content). The answer is JSON with the anonymized file in
base64 and its audit (default), or the file itself with `?response=file`. The output has
the input's format; PDFs come back image-only (no text layer, no metadata).

Errors are JSON `{"detail": "..."}`: 400 malformed or empty upload, 401 missing or wrong
API key, 408 the upload did not arrive in time, 413 upload, pages or pixels over the
limits, 415 not a PNG/JPEG/TIFF/PDF, 422 corrupt, truncated or encrypted document, a page
too complex to render or read in time, or a missing `file` field, 429 too many requests
from this client at once, 503 busy (see `Retry-After`), 504 the document took longer than
the server's time limit (its processing was stopped).
"""


# --------------------------------------------------------------------------- schemas
class AnonymizeResult(BaseModel):
    """The anonymized document (base64) and its audit (``anonymizer.audit/1``)."""

    request_id: str = Field(description="Also in the X-Request-ID header and the server log.")
    filename: str = Field(description="The client's file name with the output's extension, or `document.<ext>`.")
    media_type: str = Field(description="image/png, image/jpeg, image/tiff or application/pdf.")
    pages: int
    bytes: int = Field(description="Size of the decoded file.")
    verification: Literal["passed", "redacted", "flagged", "off"] = Field(
        description="passed: no original value readable after rendering; redacted/flagged: some were "
        "(covered by solid boxes / only reported, per verify.fallback); off: verification disabled."
    )
    file_base64: str = Field(description="The anonymized file, standard base64.")
    audit: dict[str, Any] = Field(
        description="Per page: entity types, scores, boxes, surrogates, value ids and the verification. "
        "Never an original value."
    )


class ErrorResponse(BaseModel):
    detail: str


class QueueState(BaseModel):
    running: int = Field(description="Documents being processed.")
    waiting: int = Field(description="Uploaded documents waiting for a worker.")
    uploading: int = Field(description="Uploads being received (they hold no worker or queue slot).")
    workers: int
    queue_size: int
    capacity: int = Field(description="workers + queue_size: more concurrent requests get 503.")


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    renderer: str
    verify: bool
    auth: bool = Field(description="Whether POST /anonymize needs an API key.")
    queue: QueueState
    limits: dict[str, float | int | None]


UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": [FIELD],
                "properties": {
                    FIELD: {
                        "type": "string",
                        "format": "binary",
                        "description": "The document: PNG, JPEG, TIFF (multi-page) or PDF.",
                    }
                },
            }
        }
    },
}
FILE_TYPES = ("image/png", "image/jpeg", "image/tiff", "application/pdf")
ERRORS = {
    400: "Malformed multipart body, empty upload, several `file` fields.",
    401: "API key missing or wrong (only when the server has one).",
    408: "The upload did not arrive within server.upload_timeout_s.",
    413: "Upload, page count, page pixels or document pixels over the limits.",
    415: "Not multipart/form-data, or the content is not PNG/JPEG/TIFF/PDF.",
    422: "No `file` field; corrupt, truncated or encrypted document; a PDF step over io.render_timeout_s or a "
         "page's OCR over ocr.timeout; invalid query parameter.",
    429: "This client has server.max_requests_per_client requests in progress; retry after `Retry-After` seconds.",
    500: "Unexpected failure of the pipeline (the server log has the request id).",
    503: "All workers busy and the queue full, or server.max_uploads uploads arriving; retry after `Retry-After`.",
    504: "Processing took longer than server.request_timeout_s; it was stopped.",
}


# --------------------------------------------------------------------------- helpers
def verification_status(audit: dict[str, Any]) -> str:
    """``off``, ``passed``, ``redacted`` or ``flagged`` over the audit's pages."""
    pages = audit.get("pages", [])
    if not pages or not all(p["verification"].get("checked") for p in pages):
        return "off"
    actions = {p["verification"].get("action") for p in pages if p["verification"].get("leaks")}
    if not actions:
        return "passed"
    return "flagged" if "flagged" in actions else "redacted"


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 name (RFC 6266 / 5987)."""
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _validation_detail(exc: RequestValidationError) -> str:
    """A one-line message from FastAPI's errors, without the rejected input values."""
    parts = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "body", "header", "path"))
        parts.append(f"{loc}: {error.get('msg', 'invalid')}" if loc else str(error.get("msg", "invalid")))
    return "invalid request: " + "; ".join(parts)


# --------------------------------------------------------------------------- the app
def create_app(cfg: Any, anonymizer: Any = None) -> FastAPI:
    """The API for a composed ``anonymizer/conf/serve.yaml``.

    The pipeline is built once from ``cfg`` with the renderer and the detector behind locks
    (:data:`~anonymizer.serving.threadsafe.THREAD_SAFE`) and shared by every worker.
    ``anonymizer``, when given, is used as the page anonymizer instead (a test's fake: any
    thread-safe ``(image, DocumentContext, page_index) -> PageResult``).

    Raises:
        ValueError: invalid server or pipeline settings (one line naming the key and the value),
            or ``server.api_key_env`` names an unset variable.
        anonymizer.pipeline.document.PipelineError: a pipeline component cannot start.
    """
    settings = ServeSettings.from_config(cfg)
    check_options(cfg, command_sections={"server": SERVER_KEYS})
    auth = ApiKeyAuth(api_key_from_env(settings.api_key_env))
    pipeline = DocumentAnonymizer.from_config(cfg, wrappers=THREAD_SAFE, page_anonymizer=anonymizer)
    service = DocumentService(
        pipeline,
        dpi=settings.dpi,
        jpeg_quality=settings.jpeg_quality,
        max_pages=settings.max_pages,
        max_pixels=settings.max_pixels,
        max_document_pixels=settings.max_document_pixels,
        render_timeout_s=settings.render_timeout_s,
    )
    return build_app(settings, service, auth, verify=bool(cfg.verify.enabled))


def build_app(settings: ServeSettings, service: DocumentService, auth: ApiKeyAuth, verify: bool = True) -> FastAPI:
    """The FastAPI application over ``service`` (see the module docstring)."""
    pool = WorkerPool(settings.workers, settings.queue_size)
    admission = Admission(settings.max_uploads, settings.max_requests_per_client, settings.retry_after_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        log.info("anonymizer API ready: renderer %s, verification %s, %d worker(s), queue %d, API key %s",
                 service.pipeline.renderer, "on" if verify else "off", settings.workers, settings.queue_size,
                 "required" if auth.enabled else "not required")
        yield
        pool.shutdown()

    app = FastAPI(title="anonymizer", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # their pages load scripts from public CDNs
    app.state.pool = pool
    app.state.admission = admission
    app.state.settings = settings

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = dict(exc.headers)
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            headers["X-Request-ID"] = request_id
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_detail(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    dependencies = []
    if auth.enabled:
        async def require_key(
            request: Request,
            key: Annotated[str | None, Security(_API_KEY_HEADER)],
            token: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
        ) -> None:
            presented = key if key is not None else (token.credentials if token is not None else None)
            if not auth.check(presented):
                log.info("request rejected: 401 (%s API key)", "wrong" if presented else "no")
                raise ApiError(401, "a valid API key is required: send it as X-API-Key: <key> or "
                                    "Authorization: Bearer <key>", {"WWW-Authenticate": "Bearer"})

        dependencies.append(Security(require_key))

    @app.get("/health", response_model=Health, summary="Liveness, configuration and queue state")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "renderer": service.pipeline.renderer,
            "verify": verify,
            "auth": auth.enabled,
            "queue": {**pool.stats(), "uploading": admission.uploading()},
            "limits": {
                "max_upload_bytes": settings.max_upload_bytes,
                "max_pages": settings.max_pages,
                "max_pixels": settings.max_pixels,
                "max_document_pixels": settings.max_document_pixels,
                "dpi": settings.dpi,
                "request_timeout_s": settings.request_timeout_s,
                "render_timeout_s": settings.render_timeout_s,
                "upload_timeout_s": settings.upload_timeout_s,
                "max_uploads": settings.max_uploads,
                "max_requests_per_client": settings.max_requests_per_client,
            },
        }

    responses: dict[int | str, dict[str, Any]] = {
        200: {
            "description": "The anonymized document: JSON by default; the file itself with `response=file` "
            "(its summary in the X-Anonymizer-* headers).",
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in FILE_TYPES},
        },
    }
    responses.update({code: {"model": ErrorResponse, "description": text} for code, text in ERRORS.items()})

    @app.post(
        "/anonymize",
        response_model=AnonymizeResult,
        responses=responses,
        dependencies=dependencies,
        openapi_extra={"requestBody": UPLOAD_BODY},
        summary="Anonymize one document (PNG, JPEG, TIFF or PDF)",
    )
    async def anonymize(
        request: Request,
        response_type: Literal["json", "file"] = Query(
            "json", alias="response",
            description="json: the file in base64 with the full audit; file: the file itself (summary in headers).",
        ),
    ) -> Response:
        request_id = uuid.uuid4().hex[:16]
        request.state.request_id = request_id
        started = time.perf_counter()
        busy = ApiError(
            503,
            f"the server is busy ({settings.workers} worker(s) processing, queue of {settings.queue_size} full); "
            f"retry after {settings.retry_after_s} s",
            {"Retry-After": str(settings.retry_after_s)},
        )
        try:
            entry = admission.enter(request.client.host if request.client else "unknown")
        except ApiError as err:
            log.warning("request %s: %d, %s", request_id, err.status,
                        "client limit" if err.status == 429 else "uploads")
            raise
        ticket = None
        folder = Path(tempfile.mkdtemp(prefix="anonymizer-upload-", dir=settings.upload_dir))
        try:
            if pool.full():  # answer before reading the upload
                log.warning("request %s: 503, busy (%s)", request_id, pool.stats())
                raise busy
            try:
                async with asyncio.timeout(settings.upload_timeout_s):
                    upload = await receive_upload(request, folder, settings.max_upload_bytes)
            except TimeoutError:
                raise ApiError(408, f"the upload did not arrive within {settings.upload_timeout_s:g} s "
                                    "(server.upload_timeout_s)", {"Connection": "close"}) from None
            finally:
                entry.upload_done()
            try:
                ticket = pool.admit()
            except PoolFull:
                log.warning("request %s: 503, busy (%s)", request_id, pool.stats())
                raise busy from None
            stop = threading.Event()
            future = ticket.submit(service, upload.path, upload.filename, stop.is_set)
            future.add_done_callback(lambda _: shutil.rmtree(folder, ignore_errors=True))
            try:
                result: Anonymized = await asyncio.wait_for(asyncio.wrap_future(future), settings.request_timeout_s)
            except TimeoutError:
                stop.set()  # a running job stops (a PDF page being rendered: its process is killed)
                raise ApiError(504, f"processing the upload took longer than {settings.request_timeout_s:g} s "
                                    "(server.request_timeout_s); it was stopped") from None
        except ApiError as err:
            log.info("request %s: %d %s", request_id, err.status, err.detail)
            raise
        except Exception as err:  # no traceback: messages could hold document text
            log.error("request %s: 500, %s while processing", request_id, type(err).__name__,
                      exc_info=log.isEnabledFor(logging.DEBUG))
            raise ApiError(500, f"internal error while processing the upload ({type(err).__name__}); "
                                f"the server log has request {request_id}") from None
        finally:
            entry.close()
            if ticket is not None:
                ticket.close()
            if ticket is None or ticket.future is None:
                shutil.rmtree(folder, ignore_errors=True)
        summary = result.audit["summary"]
        status = verification_status(result.audit)
        types = dict(Counter(summary["entities"]))
        log.info("request %s: 200 %s, %d page(s), %d entities %s, verification %s, %.2f s", request_id,
                 result.format, summary["pages"], sum(types.values()), types or "", status,
                 time.perf_counter() - started)
        headers = {"X-Request-ID": request_id}
        if response_type == "file":
            headers.update({
                "Content-Disposition": content_disposition(result.filename),
                "X-Anonymizer-Pages": str(summary["pages"]),
                "X-Anonymizer-Entities": str(sum(types.values())),
                "X-Anonymizer-Verification": status,
            })
            return Response(result.data, media_type=result.media_type, headers=headers)
        body = {
            "request_id": request_id,
            "filename": result.filename,
            "media_type": result.media_type,
            "pages": summary["pages"],
            "bytes": len(result.data),
            "verification": status,
            "file_base64": base64.b64encode(result.data).decode("ascii"),
            "audit": result.audit,
        }
        return JSONResponse(body, headers=headers)

    return app
