"""The page-record JSONL format: round trip, validation errors, line grouping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anonymizer.core.records import (
    Entity,
    PageRecord,
    RecordError,
    Word,
    quad_to_box,
    read_records,
    write_records,
)


def _record(rid: str = "r0") -> PageRecord:
    words = [
        Word("Name:", (10, 10, 60, 30), line=0),
        Word("Jane", (70, 11, 110, 31), line=0),
        Word("Doe", (115, 10, 150, 30), line=0, conf=91.5),
        Word("Total", (10, 50, 60, 70), quad=((10, 50), (60, 50), (60, 70), (10, 70)), line=1),
    ]
    return PageRecord(
        id=rid,
        image="images/p.png",
        width=200,
        height=100,
        words=words,
        entities=[Entity("question", (0,), False, id=0), Entity("PERSON", (1, 2), True, id=1)],
        links=[(0, 1)],
        source="test",
        split="train",
    )


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "records.jsonl"
    assert write_records(path, [_record("a"), _record("b")]) == 2
    records, errors = read_records(path)
    assert errors == []
    assert [r.id for r in records] == ["a", "b"]
    r = records[0]
    assert r.words == _record().words
    assert r.entities == _record().entities
    assert r.links == [(0, 1)]
    assert r.image_path == path.parent.resolve() / "images" / "p.png"
    assert r.sensitive_words() == {1, 2}
    assert r.lines() == [[0, 1, 2], [3]]
    assert json.loads(path.read_text().splitlines()[0])["schema"] == "anonymizer.page/1"


def test_write_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    write_records(path, [_record()])
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="already exists"):
        write_records(path, [_record("other")])
    assert path.read_bytes() == before
    write_records(path, [_record("other")], overwrite=True)
    assert read_records(path)[0][0].id == "other"
    assert [p.name for p in tmp_path.iterdir()] == ["records.jsonl"]  # no temp file left


def test_geometric_lines_without_line_ids() -> None:
    r = PageRecord(
        id="g",
        image="x.png",
        width=300,
        height=100,
        words=[
            Word("c", (100, 52, 130, 68)), Word("a", (10, 10, 40, 30)),
            Word("b", (50, 12, 80, 29)), Word("d", (5, 50, 40, 70)),
        ],
    )
    assert r.lines() == [[1, 2], [3, 0]]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.pop("id"), "missing field 'id'"),
        (lambda d: d.update(width=0), "must be positive"),
        (lambda d: d.update(schema="other/9"), "unknown schema"),
        (lambda d: d["words"][1].update(box=[5, 5, 5, 9]), "zero or negative size"),
        (lambda d: d["words"][1].update(box=[500, 5, 600, 9]), "outside the 200x100 page"),
        (lambda d: d["words"][1].update(box=[1, 2, "x", 4]), "four finite numbers"),
        (lambda d: d["words"][0].update(quad=[[1, 2]]), "four \\[x, y\\] points"),
        (lambda d: d["entities"][1].update(words=[7]), "word indices in \\[0, 4\\)"),
        (lambda d: d["entities"][1].update(sensitive="yes"), "'sensitive' must be true or false"),
        (lambda d: d.update(links=[[0, 9]]), "pair of entity ids"),
        (lambda d: d.update(page=-1), "'page' must be an integer >= 0"),
        (lambda d: d["words"][2].update(conf=101), "'conf' must be a number in \\[0, 100\\]"),
    ],
)
def test_invalid_records_name_line_and_field_without_text(tmp_path: Path, change, reason: str) -> None:
    good = _record("good").to_json()
    bad = _record("bad").to_json()
    change(bad)
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps(bad) + "\n", encoding="utf-8")
    records, errors = read_records(path)
    assert [r.id for r in records] == ["good"]
    assert len(errors) == 1
    lineno, message = errors[0]
    assert lineno == 3
    assert f"{path}:3" in message
    import re

    assert re.search(reason, message), message
    for secret in ("Jane", "Doe"):
        assert secret not in message


def test_invalid_json_duplicates_and_bad_utf8(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    line = json.dumps(_record("a").to_json())
    path.write_bytes((line + "\n{not json\n" + line + "\n").encode() + b"\xff\xfe\n")
    records, errors = read_records(path)
    assert [r.id for r in records] == ["a"]
    reasons = [e[1] for e in errors]
    assert "invalid JSON" in reasons[0]
    assert "duplicate record id 'a'" in reasons[1]
    assert "not valid UTF-8" in reasons[2]


def test_missing_file_and_quad_box() -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_records("/nonexistent/records.jsonl")
    assert quad_to_box([(3, 4), (10, 2), (11, 9), (2, 8)]) == (2.0, 2.0, 11.0, 9.0)
    word = PageRecord.from_json(
        {"id": "q", "image": "a.png", "width": 20, "height": 20,
         "words": [{"text": "x", "quad": [[1, 1], [5, 1], [5, 4], [1, 4]]}]}
    ).words[0]
    assert word.box == (1.0, 1.0, 5.0, 4.0)
    with pytest.raises(RecordError, match="record must be a JSON object"):
        PageRecord.from_json([1, 2])
