"""The detectors' tables (``anonymizer/conf/recognizers/*.yaml``): each loads, and a table of the
wrong shape is an error that names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonymizer.core import tables
from anonymizer.core.months import _months_table
from anonymizer.pipeline.countries import COUNTRIES
from anonymizer.pipeline.detect import PATTERN_RECOGNIZERS, _pattern_specs, _presidio_table
from anonymizer.pipeline.form_context import DEFAULT_LABELS, OTHER_LABELS, _labels_table


def test_every_table_loads() -> None:
    names = sorted(p.stem for p in tables.TABLES_DIR.glob("*.yaml"))
    assert names == ["countries", "form_labels", "months", "patterns", "presidio"]
    months, capitalised = _months_table()
    assert len(months["en"]) == 12 and months["de"][2][0] == "märz" and capitalised == {"en", "de"}
    assert [s.name for s in PATTERN_RECOGNIZERS] == ["SsnShapeRecognizer", "SpacedEmailRecognizer",
                                                     "WrittenDateRecognizer"]
    entity_map, extra, regions = _presidio_table()
    assert entity_map["UK_NINO"] == "NATIONAL_ID" and "UkNinoRecognizer" in extra and "FR" in regions
    assert DEFAULT_LABELS["en"]["no"] == "ID_NUMBER"  # quoted in YAML: a bare `no` is false
    assert DEFAULT_LABELS["en"]["address"] == ["LOCATION"] * 3 and "gender" in OTHER_LABELS["en"]
    assert "deutschland" in COUNTRIES


@pytest.fixture
def table_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Tables read from ``tmp_path`` (the cache emptied before and after)."""
    monkeypatch.setattr(tables, "TABLES_DIR", tmp_path)
    tables.load_table.cache_clear()
    yield tmp_path
    tables.load_table.cache_clear()


@pytest.mark.parametrize(("name", "text", "reader", "message"), [
    ("months", "months:\n  en: [[january]]\ncapitalised: []\n", _months_table,
     "months.yaml: months.en: must be a list of 12 months"),
    ("months", "months: [en]\n", _months_table, "months.yaml: months: must be a mapping"),
    ("months", "capitalised: []\n", _months_table, "months.yaml: missing key 'months'"),
    ("form_labels", "labels:\n  en:\n    - type: PERSON\n      labels: [name, no]\nother_labels: {}\n", _labels_table,
     "form_labels.yaml: labels.en[0].labels: must be a list of non-empty strings"),
    ("presidio", "entity_map: {}\nextra_recognizers: []\nphone_regions: US\n", _presidio_table,
     "presidio.yaml: phone_regions: must be a list"),
    ("patterns", "recognizers:\n  - {name: R, supported_entity: X, patterns: [{name: p, regex: '{day}', score: 1}]}\n",
     _pattern_specs, "patterns.yaml: recognizers[0].patterns[0].regex: must be a regex whose parts are defined"),
    ("patterns", "recognizers:\n  - {name: R, supported_entity: X, patterns: [{name: p, regex: '(', score: 1}]}\n",
     _pattern_specs, "patterns.yaml: recognizers[0].patterns[0].regex: must be a valid regular expression"),
    ("patterns", "recognizers: [\n", _pattern_specs, "patterns.yaml: not valid YAML"),
])
def test_a_bad_table_names_the_file_and_the_key(table_dir: Path, name, text, reader, message) -> None:
    (table_dir / f"{name}.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(tables.TableError, match=message.replace("[", r"\[").replace("]", r"\]")):
        reader()


def test_a_missing_table_is_an_error(table_dir: Path) -> None:
    with pytest.raises(tables.TableError, match="months.yaml: cannot read the table"):
        tables.load_table("months")
