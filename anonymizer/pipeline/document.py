"""The anonymization pipeline for whole documents: :class:`DocumentAnonymizer`.

:meth:`DocumentAnonymizer.from_config` is the one way to build the pipeline (OCR engine,
PII detector, renderer and re-OCR verification, loaded once; surrogates and the audit per
document) from the keys of ``anonymizer/conf/pipeline.yaml`` (``renderer``, ``secret_env``, ``ocr``,
``detect``, ``surrogates``, ``verify``). The ``anonymize`` and ``serve`` commands build it
from their composed configs, which include that file; scripts and notebooks compose it
with :func:`pipeline_config`. A caller that needs a part wrapped (locks for worker
threads, a cache of OCR readings) passes :class:`Wrappers`, applied as the parts are built.

Heavy dependencies (Presidio, the renderers, torch for ``renderer=diffusion``) are
imported when the pipeline is built, not with this module.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf
from PIL import Image

from anonymizer.core.entry import CONF_DIR
from anonymizer.core.pdf_pages import Cancelled
from anonymizer.pipeline.audit import document_audit

if TYPE_CHECKING:
    from anonymizer.pipeline.page_anonymizer import DocumentContext, PageAnonymizer, PageResult

#: One page through the pipeline: ``(image, DocumentContext, page index) -> PageResult``
#: (a :class:`~anonymizer.pipeline.page_anonymizer.PageAnonymizer`, or a test's fake).
PageFn = Callable[[Image.Image, "DocumentContext", int], "PageResult"]
#: Takes a part as built and returns what the pipeline uses in its place.
Wrapper = Callable[[Any], Any]

__all__ = ["DocumentAnonymizer", "PipelineError", "Wrappers", "build_page_anonymizer", "ocr_settings",
           "pipeline_config", "surrogate_secret"]


class PipelineError(ValueError):
    """A pipeline component cannot start (Tesseract or a language missing, a bad option,
    the diffusion export not found); the message says why, in one line."""


@dataclass(frozen=True)
class Wrappers:
    """Wrappers of the pipeline's parts, applied by :meth:`DocumentAnonymizer.from_config`
    as each part is built (before the page anonymizer holds it).

    Attributes:
        ocr: wraps the OCR engine (used for reading the page and for verification), e.g.
            :class:`anonymizer.evaluation.anonymize.CachedOcr`.
        detector: wraps the PII detector (``detect_page``), e.g. a lock.
        renderer: wraps the renderer (called with the page and its replacements), e.g. a lock.
    """

    ocr: Wrapper | None = None
    detector: Wrapper | None = None
    renderer: Wrapper | None = None


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def _wrapped(part: Any, wrapper: Wrapper | None) -> Any:
    return part if wrapper is None else wrapper(part)


def pipeline_config(overrides: Sequence[str] = ()) -> DictConfig:
    """``anonymizer/conf/pipeline.yaml`` composed with Hydra command-line ``overrides``
    (e.g. ``["renderer=redact", "ocr.lang=eng+deu"]``), for scripts and notebooks."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="pipeline", overrides=list(overrides))


def surrogate_secret(cfg: DictConfig) -> str | None:
    """The surrogate secret from the environment variable named by ``secret_env`` (or None)."""
    name = cfg.get("secret_env")
    value = os.environ.get(str(name)) if name else None
    return value or None


def ocr_settings(cfg: DictConfig) -> dict[str, Any]:
    """The OCR settings recorded in audits (``extra_config`` left out: it may hold paths)."""
    return {k: v for k, v in dict(_plain(cfg.ocr)).items() if k != "extra_config"}


def build_page_anonymizer(cfg: DictConfig, wrappers: Wrappers | None = None) -> PageAnonymizer:
    """The page anonymizer (OCR engine, detector, renderer: loaded once) from ``cfg``, each
    part wrapped by ``wrappers`` as it is built.

    Raises:
        PipelineError: a component cannot start, with the reason.
    """
    from anonymizer.pipeline.detect import PiiDetector
    from anonymizer.pipeline.ocr import OcrError, build_ocr, limit_ocr_threads
    from anonymizer.pipeline.page_anonymizer import PageAnonymizer
    from anonymizer.pipeline.render import build_renderer

    wrappers = wrappers or Wrappers()
    ocr_cfg = dict(_plain(cfg.ocr))
    threads = ocr_cfg.pop("threads", None)
    renderer_cfg = dict(_plain(cfg.renderer))
    name = renderer_cfg.pop("name", "classical")
    verify = dict(_plain(cfg.verify))
    try:
        limit_ocr_threads(threads)
        ocr = _wrapped(build_ocr(ocr_cfg.pop("engine", "tesseract"), **ocr_cfg), wrappers.ocr)
        detector = _wrapped(PiiDetector(**dict(_plain(cfg.detect))), wrappers.detector)
        renderer = _wrapped(build_renderer(name, **renderer_cfg), wrappers.renderer)
        return PageAnonymizer(
            ocr,
            detector,
            renderer,
            verify=bool(verify.get("enabled", True)),
            fallback=str(verify.get("fallback", "redact")),
            fallback_color=verify.get("color", "black"),
            min_chars=verify.get("min_chars", 3),
            fit_surrogates=bool(cfg.surrogates.get("fit", True)),
            verify_scope=str(verify.get("scope", "regions")),
        )
    except OcrError as err:
        raise PipelineError(str(err)) from None
    except (ValueError, TypeError, OSError) as err:
        raise PipelineError(f"cannot start the pipeline: {err}") from None


class DocumentAnonymizer:
    """Anonymizes documents page by page with one loaded pipeline, and makes their audits.

    Build it with :meth:`from_config`. One instance serves any number of documents; each
    document gets its own surrogate generator (same value → same surrogate in the
    document; across documents too when a secret is set).

    Args:
        page_anonymizer: one page through the pipeline (:data:`PageFn`).
        renderer: the renderer's name (recorded in audits).
        ocr_settings: the OCR settings recorded in audits.
        secret: the surrogate secret (None: surrogates consistent within a document only).
        locale: Faker locale of the surrogates.
    """

    def __init__(
        self,
        page_anonymizer: PageFn,
        *,
        renderer: str,
        ocr_settings: Mapping[str, Any] | None = None,
        secret: str | None = None,
        locale: str = "en_US",
    ) -> None:
        self.page_anonymizer = page_anonymizer
        self.renderer = renderer
        self.ocr_settings = dict(ocr_settings or {})
        self.secret = secret
        self.locale = str(locale)

    @classmethod
    def from_config(
        cls,
        cfg: DictConfig,
        *,
        wrappers: Wrappers | None = None,
        page_anonymizer: PageFn | None = None,
    ) -> DocumentAnonymizer:
        """The pipeline that ``cfg`` (the keys of ``anonymizer/conf/pipeline.yaml``) describes.

        Args:
            cfg: a composed config holding the pipeline keys (``anonymizer/conf/pipeline.yaml``, or a
                command's config that includes it).
            wrappers: wrappers of the OCR engine, detector and renderer, applied as they
                are built.
            page_anonymizer: a ready page anonymizer to use instead of building one (tests'
                fakes); the renderer name, OCR settings, secret and locale still come from ``cfg``.

        Raises:
            PipelineError: a component cannot start, with the reason.
        """
        if page_anonymizer is None:
            page_anonymizer = build_page_anonymizer(cfg, wrappers)
        return cls(page_anonymizer, renderer=str(cfg.renderer.name), ocr_settings=ocr_settings(cfg),
                   secret=surrogate_secret(cfg), locale=str(cfg.surrogates.locale))

    @property
    def consistent(self) -> bool:
        """Whether surrogates are the same across documents (a secret is set)."""
        return self.secret is not None

    def new_document(self) -> DocumentContext:
        """The per-document state: a surrogate generator and value ids of its own."""
        from anonymizer.pipeline.page_anonymizer import DocumentContext
        from anonymizer.pipeline.surrogates import SurrogateGenerator

        return DocumentContext(SurrogateGenerator(secret=self.secret, locale=self.locale))

    def anonymize_page(self, image: Image.Image, doc: DocumentContext | None = None, index: int = 0) -> PageResult:
        """Anonymize page ``index`` of the document ``doc`` (None: a document of its own
        page); the result holds the new image and the page's audit entry."""
        return self.page_anonymizer(image, doc if doc is not None else self.new_document(), index)

    def anonymize_pages(
        self,
        pages: Iterable[tuple[int, Image.Image]],
        should_stop: Callable[[], bool] | None = None,
        audits: list[dict[str, Any]] | None = None,
    ) -> Iterator[Image.Image]:
        """Anonymize the ``(index, image)`` pages of one document, yielding each page when it
        is done (so a caller can write it and let it go).

        One surrogate generator serves all pages (same value → same surrogate in the
        document). Each page's audit entry is appended to ``audits`` as soon as the page is
        done, so a caller sees the pages finished before an error. A page keeps the input
        page's resolution (``info["dpi"]``).

        Raises:
            anonymizer.core.pdf_pages.Cancelled: ``should_stop()`` returned true before a page.
            ImageLoadError: from ``pages`` (a page that cannot be loaded).
        """
        doc = self.new_document()
        audits = [] if audits is None else audits
        for index, page in pages:
            if should_stop is not None and should_stop():
                raise Cancelled(f"stopped before page {index}")
            result = self.page_anonymizer(page, doc, index)
            if "dpi" in page.info:
                result.image.info["dpi"] = page.info["dpi"]
            audits.append(result.audit)
            yield result.image

    def audit(
        self,
        *,
        input_name: str,
        output_name: str | None,
        status: str,
        reason: str | None,
        pages_audit: list[dict[str, Any]],
        seconds: float,
    ) -> dict[str, Any]:
        """The audit record of one document done by this pipeline
        (:func:`~anonymizer.pipeline.audit.document_audit`); never an original value."""
        return document_audit(
            input_name=input_name, output_name=output_name, status=status, reason=reason, renderer=self.renderer,
            ocr=dict(self.ocr_settings), consistent=self.consistent, pages_audit=pages_audit, seconds=seconds,
        )
