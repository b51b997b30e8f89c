"""OCR engines: a page image in, :class:`~anonymizer.core.records.Word` objects out.

Every engine implements :class:`OcrEngine` (``read(image) -> list[Word]``) and returns
words with their box in page pixels, a line id (words of a line share it; ids follow the
engine's reading order) and the OCR confidence in [0, 100]. Engines are built by name
with :func:`build_ocr` from plain arguments (what a Hydra config passes):

* ``tesseract`` (default): Tesseract in this process through ``tesserocr``
  (:mod:`anonymizer.pipeline.tesserocr_engine`): the language model is loaded once per
  thread and pages are passed in memory;
* ``tesseract_cli``: the ``tesseract`` binary through ``pytesseract`` (:class:`TesseractEngine`),
  one child process per page; the fallback where the ``tesserocr`` wheel cannot be used;
* ``rapidocr``: RapidOCR 3 with the PP-OCR ONNX models its wheel ships
  (:mod:`anonymizer.pipeline.rapidocr_engine`; ``pip install ".[rapidocr]"``).

Errors name the engine, the language and how to install what is missing; they never
contain recognised text.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from PIL import Image

from anonymizer.core.records import Word
from anonymizer.pipeline.illumination import PREPROCESS_MODES, prepare_for_ocr

log = logging.getLogger(__name__)


class OcrError(RuntimeError):
    """The OCR engine is missing, misconfigured or failed on a page."""


class OcrTimeout(OcrError):
    """The OCR of one page took longer than the engine's ``timeout``."""


@runtime_checkable
class OcrEngine(Protocol):
    """Reads the words of a page image."""

    def read(self, image: Image.Image) -> list[Word]:
        """Words with ``box`` (page pixels), ``line`` id and ``conf`` (0..100)."""
        ...


def check_engine_args(engine: str, lang: str | None, scale: float, preprocess: str,
                      timeout: Any = 0) -> None:
    """The arguments every engine takes (``lang`` None: not checked).

    Raises:
        OcrError: naming ``engine``, the argument and the value.
    """
    if preprocess not in PREPROCESS_MODES:
        raise OcrError(f"{engine}: preprocess must be one of {list(PREPROCESS_MODES)}, got {preprocess!r}")
    if lang is not None and (not lang or not all(lang.split("+"))):
        raise OcrError(f"{engine}: invalid language {lang!r} (expected e.g. 'eng' or 'eng+deu')")
    if scale <= 0:
        raise OcrError(f"{engine}: scale must be positive, got {scale}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
        raise OcrError(f"{engine}: timeout must be a number of seconds >= 0, got {timeout!r}")


class _TesseractEnvironment(Mapping[str, str]):
    """``os.environ`` (read live) plus defaults for variables it does not set."""

    def __init__(self, defaults: Mapping[str, str]) -> None:
        self.defaults = dict(defaults)

    def __getitem__(self, key: str) -> str:
        return os.environ[key] if key in os.environ else self.defaults[key]

    def __iter__(self) -> Iterator[str]:
        yield from os.environ
        yield from (key for key in self.defaults if key not in os.environ)

    def __len__(self) -> int:
        return len(os.environ) + sum(key not in os.environ for key in self.defaults)


def limit_ocr_threads(threads: Any) -> None:
    """Give the Tesseract processes ``OMP_THREAD_LIMIT=threads`` unless the environment sets it.

    Only pytesseract's child processes get it (its environment is swapped for a live view of
    ``os.environ`` plus this default): set process-wide, the limit made PyTorch training in
    the same process hang. ``None`` removes the default. On 2 cores Tesseract's OpenMP threads
    made each OCR pass 3-5x slower (experiments/RESULTS.md).
    """
    import pytesseract

    if threads is None:
        pytesseract.pytesseract.environ = os.environ
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"ocr.threads must be an integer >= 1 or null, got {threads!r}")
    pytesseract.pytesseract.environ = _TesseractEnvironment({"OMP_THREAD_LIMIT": str(threads)})


def debian_package(lang: str) -> str:
    """The Debian/Ubuntu package of a Tesseract language (``chi_sim`` → ``tesseract-ocr-chi-sim``)."""
    return "tesseract-ocr-" + lang.lower().replace("_", "-")


@contextlib.contextmanager
def _tesseract_cmd(cmd: str | None) -> Iterator[None]:
    """Temporarily point pytesseract at ``cmd`` (pytesseract only has a module-level setting)."""
    import pytesseract

    if cmd is None:
        yield
        return
    saved = pytesseract.pytesseract.tesseract_cmd
    pytesseract.pytesseract.tesseract_cmd = cmd
    try:
        yield
    finally:
        pytesseract.pytesseract.tesseract_cmd = saved


def scaled_for_ocr(image: Image.Image, preprocess: str, scale: float) -> Image.Image:
    """``image`` as an RGB or greyscale page, its lighting evened out per ``preprocess`` and
    resized by ``scale`` (boxes read on it are divided by ``scale``)."""
    img = image if image.mode in ("RGB", "L") else image.convert("RGB")
    img = prepare_for_ocr(img, preprocess)
    if scale != 1.0:
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.LANCZOS)
    return img


class TesseractEngine:
    """Tesseract 5 through ``pytesseract.image_to_data`` (``ocr.engine=tesseract_cli``): one
    ``tesseract`` child process per page, killed after ``timeout`` seconds.

    Args:
        lang: Tesseract language(s), ``"eng"`` or ``"eng+deu"``; each needs its
            traineddata (Debian: ``tesseract-ocr-<lang>``).
        psm: page segmentation mode (3: automatic, 4: one column, 6: one block, 11: sparse).
        oem: engine mode (3: default, 1: LSTM only, 0: legacy only).
        min_conf: words with a lower confidence (0..100) are dropped.
        extra_config: more command-line options, e.g. ``"--dpi 300 -c preserve_interword_spaces=1"``.
        scale: the image is resized by this factor before OCR (small text reads better
            at ``2``); boxes are mapped back to the original pixels.
        tesseract_cmd: path of the ``tesseract`` binary when it is not on ``PATH``.
        timeout: seconds per page (0: no limit).
        preprocess: ``auto`` (flatten the lighting of pages with grey paper: phone photos,
            shadowed scans), ``flatten`` (always) or ``none``; see
            :mod:`anonymizer.pipeline.illumination`.

    Raises:
        OcrError: the binary or a language is missing.
    """

    name = "tesseract_cli"

    def __init__(
        self,
        lang: str = "eng",
        psm: int = 3,
        oem: int = 3,
        min_conf: float = 0.0,
        extra_config: str = "",
        scale: float = 1.0,
        tesseract_cmd: str | None = None,
        timeout: float = 0,
        preprocess: str = "auto",
    ) -> None:
        check_engine_args("tesseract", lang, scale, preprocess, timeout)
        self.lang = lang
        self.psm = int(psm)
        self.oem = int(oem)
        self.min_conf = float(min_conf)
        self.extra_config = extra_config or ""
        self.scale = float(scale)
        self.tesseract_cmd = tesseract_cmd
        self.timeout = timeout
        self.preprocess = preprocess
        self._check()

    @property
    def config(self) -> str:
        return f"--oem {self.oem} --psm {self.psm} {self.extra_config}".strip()

    def _check(self) -> None:
        import pytesseract

        cmd = self.tesseract_cmd or pytesseract.pytesseract.tesseract_cmd
        if shutil.which(cmd) is None:
            raise OcrError(
                f"tesseract: the binary {cmd!r} was not found. Install Tesseract 5 "
                "(Debian/Ubuntu: apt-get install tesseract-ocr) or pass tesseract_cmd=<path>."
            )
        available = installed_languages(cmd, self.extra_config)
        missing = [code for code in self.lang.split("+") if code not in available]
        if missing:
            hints = ", ".join(f"'{code}' (apt-get install {debian_package(code)})" for code in missing)
            raise OcrError(
                f"tesseract: language {hints} is not installed; installed: {sorted(available)}. "
                "Install the traineddata or point --tessdata-dir in extra_config at a folder that has it."
            )

    def read(self, image: Image.Image) -> list[Word]:
        """OCR ``image``; words in reading order, empty tokens dropped."""
        import pytesseract

        img = scaled_for_ocr(image, self.preprocess, self.scale)
        with _tesseract_cmd(self.tesseract_cmd):
            try:
                data = pytesseract.image_to_data(
                    img, lang=self.lang, config=self.config, output_type=pytesseract.Output.DICT, timeout=self.timeout
                )
            except pytesseract.TesseractNotFoundError:
                raise OcrError("tesseract: the binary is no longer available (apt-get install tesseract-ocr)") from None
            except RuntimeError as err:  # pytesseract raises RuntimeError on timeout
                if isinstance(err, pytesseract.TesseractError):
                    raise OcrError(f"tesseract failed (status {err.status}): {err.message.strip()}") from None
                if "timeout" in str(err).lower():
                    raise OcrTimeout(
                        f"tesseract took longer than {self.timeout:g} s on the page (ocr.timeout)"
                    ) from None
                raise OcrError(f"tesseract: {err}") from None
        words = words_from_tesseract(data, self.min_conf, 1.0 / self.scale)
        log.debug("tesseract: %d words on %d lines", len(words), len({w.line for w in words}))
        return words


def installed_languages(cmd: str = "tesseract", extra_config: str = "") -> set[str]:
    """Languages ``cmd --list-langs`` reports (``extra_config`` may hold ``--tessdata-dir``).

    pytesseract's ``get_languages`` caches its first answer, whatever the binary or
    tessdata folder, so the binary is asked directly.
    """
    tokens = shlex.split(extra_config)
    args = [cmd, "--list-langs"]
    for k, tok in enumerate(tokens):  # only the tessdata folder matters for the listing
        if tok == "--tessdata-dir" and k + 1 < len(tokens):
            args += [tok, tokens[k + 1]]
    try:
        proc = subprocess.run(args, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise OcrError(f"tesseract: could not run {cmd!r} --list-langs ({type(err).__name__})") from None
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace").splitlines()
    return {line.strip() for line in out if line.strip() and " " not in line.strip() and not line.startswith("List of")}


def words_from_tesseract(data: dict[str, list[Any]], min_conf: float = 0.0, factor: float = 1.0) -> list[Word]:
    """Words of an ``image_to_data`` dict; line ids number the (page, block, paragraph,
    line) keys in order of appearance; boxes are multiplied by ``factor``."""
    line_ids: dict[tuple[int, int, int, int], int] = {}
    words = []
    for k, text in enumerate(data["text"]):
        token = " ".join(str(text).split())
        if int(data["level"][k]) != 5 or not token:
            continue
        conf = max(0.0, min(100.0, float(data["conf"][k])))
        if conf < min_conf:
            continue
        key = (int(data["page_num"][k]), int(data["block_num"][k]), int(data["par_num"][k]), int(data["line_num"][k]))
        line = line_ids.setdefault(key, len(line_ids))
        left, top = float(data["left"][k]), float(data["top"][k])
        width, height = max(float(data["width"][k]), 1.0), max(float(data["height"][k]), 1.0)
        box = (left * factor, top * factor, (left + width) * factor, (top + height) * factor)
        words.append(Word(text=token, box=box, line=line, conf=conf))
    return words


def _tesserocr(**kwargs: Any) -> OcrEngine:
    from anonymizer.pipeline.tesserocr_engine import TesserocrEngine

    return TesserocrEngine(**kwargs)


def _rapidocr(**kwargs: Any) -> OcrEngine:
    from anonymizer.pipeline.rapidocr_engine import RapidOcrEngine

    return RapidOcrEngine(**kwargs)


#: Engine factories by name (:func:`register_ocr` adds one); each imports its library when called.
OCR_ENGINES: dict[str, Callable[..., OcrEngine]] = {
    "tesseract": _tesserocr,
    "tesseract_cli": TesseractEngine,
    "rapidocr": _rapidocr,
}


def register_ocr(name: str, factory: Callable[..., OcrEngine]) -> None:
    """Make ``factory`` available to :func:`build_ocr` as ``name``."""
    OCR_ENGINES[name] = factory


def build_ocr(name: str = "tesseract", **kwargs: Any) -> OcrEngine:
    """Build the OCR engine ``name`` with ``kwargs`` (e.g. ``build_ocr("tesseract", lang="deu")``)."""
    try:
        factory = OCR_ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown OCR engine {name!r}; available: {sorted(OCR_ENGINES)}") from None
    return factory(**kwargs)
