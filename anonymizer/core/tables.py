"""The data tables of the detectors, read from YAML under ``anonymizer/conf/recognizers/``.

The month names (:mod:`anonymizer.core.months`), the written-date patterns, entity map, extra
recognizers and phone regions of :mod:`anonymizer.pipeline.detect`, the form labels of
:mod:`anonymizer.pipeline.form_context` and the country names of
:mod:`anonymizer.pipeline.countries` are data, kept out of the code (as Presidio keeps its
recognizers in YAML). Each file is read once; a table of the wrong shape raises
:class:`TableError` naming the file and the key.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from anonymizer.core.entry import CONF_DIR

#: The folder of the tables.
TABLES_DIR = CONF_DIR / "recognizers"


class TableError(ValueError):
    """A table file that is missing, not YAML, or not of the shape its reader expects."""


@functools.cache
def load_table(name: str) -> dict[str, Any]:
    """The mapping in ``recognizers/<name>.yaml`` (read once; do not modify it)."""
    path = table_path(name)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise TableError(f"{path}: cannot read the table ({err.strerror or err})") from err
    except yaml.YAMLError as err:
        raise TableError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from err
    if not isinstance(data, dict):
        raise TableError(f"{path}: the table must be a mapping at the top level")
    return data


def table_path(name: str) -> Path:
    return TABLES_DIR / f"{name}.yaml"


def entry(name: str, table: dict[str, Any], key: str) -> Any:
    """``table[key]``; a missing key is a :class:`TableError`."""
    if key not in table:
        raise TableError(f"{table_path(name)}: missing key {key!r}")
    return table[key]


def fail(name: str, key: str, expected: str) -> TableError:
    """The error for ``key`` of ``recognizers/<name>.yaml`` that is not ``expected``."""
    return TableError(f"{table_path(name)}: {key}: must be {expected}")


def strings(name: str, key: str, value: Any, non_empty: bool = True) -> list[str]:
    """``value`` checked to be a list of non-empty strings (and not empty when ``non_empty``)."""
    if (not isinstance(value, list) or (non_empty and not value)
            or not all(isinstance(s, str) and s for s in value)):
        raise fail(name, key, "a list of non-empty strings" + (" (at least one)" if non_empty else ""))
    return value


def mapping(name: str, key: str, value: Any) -> dict[str, Any]:
    """``value`` checked to be a mapping with string keys."""
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        raise fail(name, key, "a mapping with string keys")
    return value


def number(name: str, key: str, value: Any) -> float:
    """``value`` checked to be a number (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(name, key, "a number")
    return float(value)
