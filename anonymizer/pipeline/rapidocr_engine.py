"""RapidOCR 3 (``ocr.engine=rapidocr``): PP-OCR models on ONNX Runtime, in this process.

The ``rapidocr`` wheel (3.x) ships its models (PP-OCRv6 small detection and recognition,
the mobile angle classifier), so nothing is downloaded at run time; ONNX Runtime comes with
the ``rapidocr`` extra (``pip install ".[rapidocr]"``). Words and their boxes come from
RapidOCR's word-box option (``return_word_box``), which splits each recognised line at its
spaces, so English words keep their spaces; a line of one detected text box is one line id.
Confidences are RapidOCR's scores times 100.

Tesseract's keys (``psm``, ``oem``, ``extra_config``) are accepted, so one ``ocr`` section
serves every engine, and ignored; ``lang`` is recorded but the shipped recognition model
is the one used (Chinese and Latin-script text).

Time limit: ONNX Runtime cannot be stopped from outside, so a page runs in a worker thread
and fails with :class:`~anonymizer.pipeline.ocr.OcrTimeout` at ``timeout`` seconds (its
document fails alone); the abandoned computation still finishes in the background.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from typing import Any

from PIL import Image

from anonymizer.core.records import Word
from anonymizer.pipeline.ocr import OcrError, OcrTimeout, check_engine_args, scaled_for_ocr

log = logging.getLogger(__name__)


class RapidOcrEngine:
    """RapidOCR 3 with the models of its wheel, one loaded engine per thread.

    Args:
        lang: recorded only (the shipped model reads Chinese and Latin-script text).
        min_conf: words with a lower confidence (0..100) are dropped.
        scale: the image is resized by this factor before OCR; boxes are mapped back.
        timeout: seconds per page (0: no limit; see the module docstring).
        preprocess: ``auto``, ``flatten`` or ``none`` (:mod:`anonymizer.pipeline.illumination`).
        psm, oem, extra_config: Tesseract's, accepted and ignored.

    Raises:
        OcrError: ``rapidocr`` or ``onnxruntime`` is not installed, or an argument is wrong.
    """

    name = "rapidocr"

    def __init__(self, lang: str = "eng", min_conf: float = 0.0, scale: float = 1.0, timeout: float = 0,
                 preprocess: str = "auto", psm: int | None = None, oem: int | None = None,
                 extra_config: str = "") -> None:
        check_engine_args("rapidocr", None, scale, preprocess, timeout)
        try:
            import onnxruntime  # noqa: F401 - RapidOCR's default inference engine
            from rapidocr import RapidOCR
        except ImportError as err:
            raise OcrError(f"rapidocr: {err.name or 'rapidocr'} is not installed "
                           '(pip install ".[rapidocr]"), or use ocr.engine=tesseract') from None
        self._factory = RapidOCR
        self.lang = lang
        self.min_conf = float(min_conf)
        self.scale = float(scale)
        self.timeout = float(timeout)
        self.preprocess = preprocess
        self._local = threading.local()
        self._pool = concurrent.futures.ThreadPoolExecutor(1, "rapidocr") if self.timeout else None
        self._engine()

    def _engine(self) -> Any:
        engine = getattr(self._local, "engine", None)
        if engine is None:
            try:
                engine = self._factory(params={"Global.log_level": "error"})
            except Exception as err:  # noqa: BLE001 - a model that cannot load is a start-up error
                raise OcrError(f"rapidocr: cannot load its models ({type(err).__name__}: {err})") from None
            self._local.engine = engine
        return engine

    def _run(self, pixels: Any) -> Any:
        return self._engine()(pixels, return_word_box=True)

    def read(self, image: Image.Image) -> list[Word]:
        """OCR ``image``; words line by line in RapidOCR's reading order."""
        import numpy as np

        img = scaled_for_ocr(image, self.preprocess, self.scale).convert("RGB")
        pixels = np.asarray(img)[:, :, ::-1]  # RapidOCR takes OpenCV's BGR arrays
        if self._pool is None:
            result = self._run(pixels)
        else:
            future = self._pool.submit(self._run, pixels)
            try:
                result = future.result(timeout=self.timeout)
            except concurrent.futures.TimeoutError:
                raise OcrTimeout(f"rapidocr took longer than {self.timeout:g} s on the page (ocr.timeout)") from None
        words = words_from_rapidocr(result, self.min_conf, 1.0 / self.scale)
        log.debug("rapidocr: %d words on %d lines", len(words), len({w.line for w in words}))
        return words


def _axis_box(quad: Any, factor: float) -> tuple[float, float, float, float]:
    xs = [float(p[0]) for p in quad]
    ys = [float(p[1]) for p in quad]
    return (min(xs) * factor, min(ys) * factor, max(max(xs), min(xs) + 1) * factor, max(max(ys), min(ys) + 1) * factor)


def words_from_rapidocr(result: Any, min_conf: float = 0.0, factor: float = 1.0) -> list[Word]:
    """Words of a RapidOCR output: its word boxes when every line has them, else each line's
    text split at spaces with boxes in proportion to the characters; boxes times ``factor``."""
    texts = list(result.txts or ())
    lines = list(result.word_results or ())
    per_line = (len(lines) == len(texts) and all(line and all(len(w) == 3 and w[2] is not None for w in line)
                                                  for line in lines))
    words: list[Word] = []
    for n, text in enumerate(texts):
        line_conf = max(0.0, min(100.0, float(result.scores[n]) * 100))
        if per_line:
            pieces = [(str(t), float(s) * 100, _axis_box(q, factor)) for t, s, q in lines[n]]
        else:
            x0, y0, x1, y1 = _axis_box(result.boxes[n], factor)
            total = max(len(text), 1)
            pieces, pos = [], 0
            for token in text.split(" "):
                if token:
                    a, b = x0 + (x1 - x0) * pos / total, x0 + (x1 - x0) * (pos + len(token)) / total
                    pieces.append((token, line_conf, (a, y0, b, y1)))
                pos += len(token) + 1
        for token, conf, box in pieces:
            for part in token.split():  # a word box holding a space becomes its words (same box)
                conf = max(0.0, min(100.0, conf))
                if conf >= min_conf:
                    words.append(Word(text=part, box=box, line=n, conf=conf))
    return words
