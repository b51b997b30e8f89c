"""Tesseract in this process through ``tesserocr`` (``ocr.engine=tesseract``, the default).

The ``tesserocr`` wheel bundles libtesseract 5 (built without OpenMP: one thread per page)
and reads the traineddata of the system's Tesseract (Debian: ``tesseract-ocr-eng``). Each
thread that reads pages gets its own ``PyTessBaseAPI``, loaded once (Tesseract's API
objects are not shared between threads); a page is passed as raw pixels, and words,
boxes, line ids and confidences come from one walk of the result iterator.

Time limit: there is no child process to kill. ``timeout`` is handed to Tesseract's own
monitor (``Recognize(timeout=ms)``), which stops word recognition at the deadline; the page
then fails with :class:`~anonymizer.pipeline.ocr.OcrTimeout` and its document fails alone,
as with the command-line engine. The monitor is polled during recognition only: page
layout analysis, which runs first, is not interrupted, so a page can overrun the limit by
the time its layout analysis takes (well under a second on ordinary pages).
"""

from __future__ import annotations

import logging
import os
import shlex
import threading
from pathlib import Path
from typing import Any

from PIL import Image

from anonymizer.core.records import Word
from anonymizer.pipeline.ocr import (
    OcrError,
    OcrTimeout,
    check_engine_args,
    debian_package,
    scaled_for_ocr,
    words_from_tesseract,
)

log = logging.getLogger(__name__)

#: Where Tesseract's traineddata is looked for when neither ``--tessdata-dir`` (in
#: ``extra_config``) nor ``TESSDATA_PREFIX`` names a folder: Debian/Ubuntu (Tesseract 5 and
#: 4), Fedora, source builds, Homebrew.
TESSDATA_FOLDERS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)


def find_tessdata(lang: str, folder: str | None = None) -> str:
    """The tessdata folder holding every language of ``lang`` (``"eng+deu"``).

    ``folder`` (``--tessdata-dir``) is taken as given; otherwise ``TESSDATA_PREFIX`` (the
    tessdata folder itself, as Tesseract 5 reads it), then :data:`TESSDATA_FOLDERS`.

    Raises:
        OcrError: no folder has them, naming the languages and the Debian packages.
    """
    codes = lang.split("+")

    def has_all(path: str) -> bool:
        return all((Path(path) / f"{code}.traineddata").is_file() for code in codes)

    candidates = [folder] if folder else [p for p in (os.environ.get("TESSDATA_PREFIX"), *TESSDATA_FOLDERS) if p]
    for path in candidates:
        if has_all(path):
            return str(path)
    missing = [c for c in codes if not any((Path(p) / f"{c}.traineddata").is_file() for p in candidates)]
    hints = ", ".join(f"'{code}' (apt-get install {debian_package(code)})" for code in missing or codes)
    where = f"in {folder}" if folder else f"in TESSDATA_PREFIX or {', '.join(TESSDATA_FOLDERS)}"
    raise OcrError(f"tesseract: language {hints} not found {where}; install the traineddata or point "
                   "--tessdata-dir in ocr.extra_config (or TESSDATA_PREFIX) at a folder that has it")


def parse_extra_config(extra_config: str) -> tuple[str | None, int | None, dict[str, str]]:
    """``(tessdata folder, dpi, variables)`` of command-line style options
    (``--tessdata-dir DIR``, ``--dpi N``, ``-c name=value``).

    Raises:
        OcrError: another option (use ``ocr.engine=tesseract_cli`` for those).
    """
    tokens = shlex.split(extra_config or "")
    folder: str | None = None
    dpi: int | None = None
    variables: dict[str, str] = {}
    k = 0
    while k < len(tokens):
        tok, value = tokens[k], tokens[k + 1] if k + 1 < len(tokens) else None
        if tok in ("--tessdata-dir", "--dpi", "-c") and value is None:
            raise OcrError(f"tesseract: extra_config option {tok} needs a value")
        if tok == "--tessdata-dir":
            folder = value
        elif tok == "--dpi":
            if not str(value).isdigit() or int(value) < 1:
                raise OcrError(f"tesseract: extra_config --dpi must be a positive integer, got {value!r}")
            dpi = int(value)
        elif tok == "-c" and "=" in str(value):
            name, _, setting = str(value).partition("=")
            variables[name] = setting
        else:
            raise OcrError(f"tesseract: extra_config option {tok!r} is not supported in process (supported: "
                           "--tessdata-dir, --dpi, -c name=value); use ocr.engine=tesseract_cli for it")
        k += 2
    return folder, dpi, variables


class TesserocrEngine:
    """Tesseract 5 in this process (``tesserocr``), one loaded API per thread.

    Args:
        lang: Tesseract language(s), ``"eng"`` or ``"eng+deu"``; each needs its traineddata.
        psm: page segmentation mode (3: automatic, 4: one column, 6: one block, 11: sparse).
        oem: engine mode (3: default, 1: LSTM only, 0: legacy only).
        min_conf: words with a lower confidence (0..100) are dropped.
        extra_config: ``--tessdata-dir DIR``, ``--dpi N`` and ``-c name=value`` options.
        scale: the image is resized by this factor before OCR; boxes are mapped back.
        timeout: seconds per page for Tesseract's recognition monitor (0: no limit; see the
            module docstring for what it covers).
        preprocess: ``auto``, ``flatten`` or ``none`` (:mod:`anonymizer.pipeline.illumination`).

    Raises:
        OcrError: ``tesserocr`` is not installed, a language or option is wrong.
    """

    name = "tesseract"

    def __init__(
        self,
        lang: str = "eng",
        psm: int = 3,
        oem: int = 3,
        min_conf: float = 0.0,
        extra_config: str = "",
        scale: float = 1.0,
        timeout: float = 0,
        preprocess: str = "auto",
    ) -> None:
        check_engine_args("tesseract", lang, scale, preprocess, timeout)
        try:
            import tesserocr
        except ImportError:
            raise OcrError("tesseract: the tesserocr package is missing (pip install tesserocr); "
                           "or use ocr.engine=tesseract_cli") from None
        self._tesserocr = tesserocr
        self.lang = lang
        self.psm = int(psm)
        self.oem = int(oem)
        if not 0 <= self.psm <= 13 or not 0 <= self.oem <= 3:
            raise OcrError(f"tesseract: psm must be 0..13 and oem 0..3, got psm {psm!r}, oem {oem!r}")
        self.min_conf = float(min_conf)
        self.scale = float(scale)
        self.timeout = float(timeout)
        self.preprocess = preprocess
        folder, self.dpi, self.variables = parse_extra_config(extra_config)
        self.tessdata = find_tessdata(lang, folder)
        self._local = threading.local()
        self._api()  # load on the building thread: a bad psm/oem/variable fails here, not on the first page

    def _api(self) -> Any:
        """This thread's loaded API (made on first use)."""
        api = getattr(self._local, "api", None)
        if api is None:
            t = self._tesserocr
            try:
                api = t.PyTessBaseAPI(path=self.tessdata, lang=self.lang, oem=self.oem, psm=self.psm)
            except (RuntimeError, ValueError, TypeError) as err:
                raise OcrError(f"tesseract: cannot load {self.lang!r} from {self.tessdata} "
                               f"(oem {self.oem}, psm {self.psm}): {err}") from None
            for name, value in self.variables.items():
                if not api.SetVariable(name, value):
                    api.End()
                    raise OcrError(f"tesseract: unknown variable {name!r} in extra_config")
            self._local.api = api
        return api

    def data(self, image: Image.Image) -> dict[str, list[Any]]:
        """The words of ``image`` (already prepared) as ``pytesseract.image_to_data`` gives
        them (levels 5 only: ``level``, ``page_num``, ``block_num``, ``par_num``,
        ``line_num``, ``word_num``, ``left``, ``top``, ``width``, ``height``, ``conf``, ``text``).

        Raises:
            OcrTimeout: recognition ran past ``timeout``.
        """
        t = self._tesserocr
        api = self._api()
        img = image if image.mode in ("RGB", "L") else image.convert("RGB")
        pixels = img.tobytes()  # kept alive until recognition is done (the API does not copy it)
        depth = 3 if img.mode == "RGB" else 1
        api.SetImageBytes(pixels, img.width, img.height, depth, img.width * depth)
        dpi = self.dpi or _dpi(img)
        if dpi:
            api.SetSourceResolution(dpi)
        if not api.Recognize(timeout=int(self.timeout * 1000)):
            api.Clear()
            if self.timeout:
                raise OcrTimeout(f"tesseract took longer than {self.timeout:g} s on the page (ocr.timeout)")
            raise OcrError("tesseract: recognition failed on the page")
        keys = ("level", "page_num", "block_num", "par_num", "line_num", "word_num",
                "left", "top", "width", "height", "conf", "text")
        out: dict[str, list[Any]] = {k: [] for k in keys}
        word_level, rils = t.RIL.WORD, t.RIL
        block = par = line = word = 0
        iterator = api.GetIterator()
        for r in t.iterate_level(iterator, word_level):
            if r.Empty(word_level):
                continue
            if r.IsAtBeginningOf(rils.BLOCK):
                block, par, line, word = block + 1, 0, 0, 0
            if r.IsAtBeginningOf(rils.PARA):
                par, line, word = par + 1, 0, 0
            if r.IsAtBeginningOf(rils.TEXTLINE):
                line, word = line + 1, 0
            word += 1
            box = r.BoundingBox(word_level)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            row = (5, 1, block, par, line, word, x0, y0, x1 - x0, y1 - y0, r.Confidence(word_level),
                   r.GetUTF8Text(word_level) or "")
            for key, value in zip(keys, row):
                out[key].append(value)
        api.Clear()
        return out

    def read(self, image: Image.Image) -> list[Word]:
        """OCR ``image``; words in reading order, empty tokens dropped."""
        img = scaled_for_ocr(image, self.preprocess, self.scale)
        words = words_from_tesseract(self.data(img), self.min_conf, 1.0 / self.scale)
        log.debug("tesseract: %d words on %d lines", len(words), len({w.line for w in words}))
        return words


def _dpi(image: Image.Image) -> int | None:
    """The resolution recorded in ``image.info`` (what the command-line engine passes on in the
    PNG it writes), or None (Tesseract then estimates it from the text height)."""
    dpi = image.info.get("dpi")
    try:
        value = round(float(dpi[0])) if dpi else 0
    except (TypeError, ValueError, IndexError):
        return None
    return value if value > 0 else None
