"""Checks of the anonymization options before any document is read.

The ``anonymize`` and ``serve`` commands compose ``anonymizer/conf/pipeline.yaml`` with their own
keys. :func:`check_options` looks at every key either command reads itself (``io``,
``verify``, ``surrogates``, the booleans, the command's own keys, whose checks each
command passes in) and rejects unknown keys there, so a bad value is a usage error
naming the key and the value, not a failure of every document (some after OCR). The
components (``ocr``, ``detect``, ``renderer``) check their own arguments when they are
built, which also happens before the first document. Booleans must be booleans:
``overwrite=no`` is the string ``"no"``, which Python would take as true.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from anonymizer.core.documents import MAX_DPI
from anonymizer.data.checks import check_int, check_number
from anonymizer.pipeline.illumination import PREPROCESS_MODES
from anonymizer.pipeline.ocr import OCR_ENGINES
from anonymizer.pipeline.scope import POLICIES
from anonymizer.pipeline.verify import SCOPES as VERIFY_SCOPES

#: io.dpi below this renders PDF pages too small to read (0.01 gave 1×1-pixel pages).
MIN_DPI = 50
FALLBACKS = ("redact", "none")  # as anonymizer.pipeline.page_anonymizer.FALLBACKS

_ABSENT = object()
Check = Callable[[str, Any], Any]


class OptionError(ValueError):
    """Options with wrong types or values, or unknown keys; one line naming each key and value."""


def check_bool(key: str, value: Any) -> bool:
    """``value`` when it is a boolean (``true``/``false`` on the command line)."""
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return value


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string, got {value!r}")
    return value


def _optional_text(key: str, value: Any) -> str | None:
    return None if value is None else _text(key, value)


def _positive(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{key} must be a number > 0, got {value!r}")
    return float(value)


def _optional_positive(key: str, value: Any) -> float | None:
    return None if value is None else _positive(key, value)


def _fallback(key: str, value: Any) -> str:
    if value not in FALLBACKS:
        raise ValueError(f"{key} must be one of {list(FALLBACKS)}, got {value!r}")
    return value


def _bool_or_options(key: str, value: Any) -> Any:
    """A detector switch: ``true``, ``false`` or a mapping of that detector's options."""
    if not isinstance(value, (bool, Mapping, DictConfig)):
        raise ValueError(f"{key} must be true, false or a mapping of its options, got {value!r}")
    return value


def _one_of(choices: tuple[str, ...]) -> Check:
    def check(key: str, value: Any) -> str:
        if value not in choices:
            raise ValueError(f"{key} must be one of {list(choices)}, got {value!r}")
        return value

    return check


#: Key → check (raises ValueError naming the key and the value). A key the config does not
#: have is skipped (the renderers have different keys).
CHECKS: dict[str, Check] = {
    "secret_env": _optional_text,
    "io.dpi": lambda k, v: check_number(k, v, MIN_DPI, MAX_DPI),
    "io.max_pixels": lambda k, v: check_int(k, v, 1),
    "io.max_pages": lambda k, v: check_int(k, v, 1),
    "io.jpeg_quality": lambda k, v: check_number(k, v, 1, 100, integer=True),
    "io.render_timeout_s": _optional_positive,
    "ocr.timeout": lambda k, v: check_number(k, v, 0),
    "ocr.preprocess": _one_of(PREPROCESS_MODES),
    "ocr.engine": lambda k, v: _one_of(tuple(OCR_ENGINES))(k, v),
    "detect.form_context": _bool_or_options,
    "detect.address_blocks": _bool_or_options,
    "detect.field_ink": _bool_or_options,
    "detect.names": check_bool,
    "detect.box_fields": check_bool,
    "detect.policy": _one_of(POLICIES),
    "detect.tagger": _optional_text,
    "detect.tagger_min_score": lambda k, v: check_number(k, v, 0.0, 1.0),
    "surrogates.locale": _text,
    "surrogates.fit": check_bool,
    "verify.enabled": check_bool,
    "verify.fallback": _fallback,
    "verify.min_chars": lambda k, v: check_int(k, v, 1),
    "verify.scope": _one_of(VERIFY_SCOPES),
    "renderer.match_blur": check_bool,
    "renderer.noise": check_bool,
}

#: The keys of the sections the commands read themselves (anything else there is a typo).
SECTIONS = {
    "io": {"dpi", "max_pixels", "max_pages", "jpeg_quality", "render_timeout_s"},
    "verify": {"enabled", "fallback", "color", "min_chars", "scope"},
    "surrogates": {"locale", "fit"},
}
PIPELINE_KEYS = {"renderer", "secret_env", "io", "ocr", "detect", "surrogates", "verify"}


def check_options(cfg: DictConfig, command: Mapping[str, Check] | None = None,
                  command_sections: Mapping[str, set[str]] | None = None) -> None:
    """Check the pipeline options of ``cfg`` and the command's own keys.

    Args:
        cfg: the composed config (without Hydra's own ``hydra`` node).
        command: the command's top-level keys and their checks (default: none).
        command_sections: sections of the command whose values it checks itself but which
            must not hold unknown keys (e.g. ``{"server": {...}}``).

    Raises:
        OptionError: one line listing every wrong value (key and value) and unknown key.
    """
    command = dict(command or {})
    sections = {**SECTIONS, **(command_sections or {})}
    errors = []
    for key, check in {**CHECKS, **command}.items():
        value = OmegaConf.select(cfg, key, default=_ABSENT)
        if value is _ABSENT:
            continue
        try:
            check(key, value)
        except ValueError as err:
            errors.append(str(err))
    unknown = [str(k) for k in cfg if k not in PIPELINE_KEYS | set(command) | set(sections)]
    for section, known in sections.items():
        node = cfg.get(section)
        if isinstance(node, DictConfig):
            unknown += [f"{section}.{k}" for k in node if k not in known]
    if unknown:
        errors.append(f"unknown option(s) {', '.join(unknown)}")
    if errors:
        raise OptionError("; ".join(errors))
