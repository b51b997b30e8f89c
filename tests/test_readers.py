"""Dataset readers on fixture folders in each published layout, and every skip / error case."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from anonymizer.core.records import Entity, Word, read_records, write_records
from anonymizer.data.readers import READERS, ReaderError, ReadResult, Skip, read_dataset
from anonymizer.data.readers.base import clean_box, split_from_name
from tests.fixtures_datasets import (
    CORD_PAGES,
    FUNSD_PAGES,
    SROIE_TEST_IMAGES,
    SROIE_TEST_TEXTS,
    SROIE_TRAIN,
    XFUND_DOCS,
    build_cord,
    build_funsd,
    build_manifest,
    build_sroie,
    build_truth,
    build_xfund,
    fixture_words,
)


def _by_id(result: ReadResult) -> dict:
    return {r.id: r for r in result.records}


def _assert_private(result: ReadResult | str) -> None:
    """No fixture word text in skip items/reasons or an error message."""
    text = result if isinstance(result, str) else "\n".join(f"{s.item} {s.reason}" for s in result.skipped)
    leaked = [w for w in fixture_words() if w in text]
    assert not leaked, leaked


def _edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")


# ------------------------------------------------------------------------------ FUNSD


def test_funsd_reads_the_published_layout(tmp_path: Path) -> None:
    folder = build_funsd(tmp_path)
    result = READERS["funsd"](folder)
    assert result.skipped == []
    assert [r.id for r in result.records] == ["funsd/train/0000971160", "funsd/train/0000989556", "funsd/test/82092117"]
    for record in result.records:
        _, split, stem = record.id.split("/")
        size, entries = FUNSD_PAGES[(split, stem)]
        assert (record.source, record.split, record.page, record.dpi) == ("funsd", split, 0, None)
        assert (record.width, record.height) == size
        assert Path(record.image).is_absolute() and Path(record.image).is_file()
        assert [(w.text, w.box, w.quad, w.line) for w in record.words] == [
            (t, tuple(float(v) for v in b), None, None) for _, _, words, _ in entries for t, b in words
        ]
        assert [(e.id, e.label, e.sensitive) for e in record.entities] == [(i, lab, False) for i, lab, _, _ in entries]
    first = result.records[0]
    assert first.words[3] == Word("Ostravel", (120.0, 70.0, 210.0, 88.0))
    assert first.entities[2] == Entity("answer", (3, 4), False, 2)
    assert first.links == [(1, 2), (3, 4)]  # listed in both linked entries, kept once
    assert Path(first.image).name == "0000971160.png"
    assert first.image.endswith("dataset/training_data/images/0000971160.png")


def test_funsd_accepts_dataset_folder_and_one_split_folder(tmp_path: Path) -> None:
    folder = build_funsd(tmp_path)
    assert [r.id for r in read_dataset("funsd", folder / "dataset").records] == [
        r.id for r in read_dataset("funsd", folder).records
    ]
    only_test = read_dataset("funsd", folder / "dataset" / "testing_data")
    assert [(r.id, r.split) for r in only_test.records] == [("funsd/test/82092117", "test")]


def test_funsd_split_filter(tmp_path: Path) -> None:
    folder = build_funsd(tmp_path)
    assert [r.id for r in READERS["funsd"](folder, split="test").records] == ["funsd/test/82092117"]
    with pytest.raises(ReaderError, match=r"no split 'val' here \(found: train, test\)"):
        READERS["funsd"](folder, split="val")


def test_funsd_wrong_folder_names_it_and_the_layout(tmp_path: Path) -> None:
    with pytest.raises(ReaderError) as err:
        READERS["funsd"](tmp_path)
    assert str(err.value).startswith(f"{tmp_path}: not a FUNSD folder")
    assert "dataset/training_data/" in str(err.value) and "annotations/" in str(err.value)
    with pytest.raises(ReaderError, match="not a folder"):
        READERS["funsd"](tmp_path / "nope")
    folder = build_funsd(tmp_path)
    shutil.rmtree(folder / "dataset" / "testing_data" / "images")
    with pytest.raises(ReaderError, match=r"testing_data: no images folder"):
        READERS["funsd"](folder)


def test_funsd_skips_missing_corrupt_and_malformed_pages_and_goes_on(tmp_path: Path) -> None:
    folder = build_funsd(tmp_path)
    train = folder / "dataset" / "training_data"
    (train / "images" / "0000989556.png").unlink()
    (folder / "dataset" / "testing_data" / "images" / "82092117.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    (train / "annotations" / "0000000001.json").write_text('{"form": [', encoding="utf-8")
    result = READERS["funsd"](folder)
    assert [r.id for r in result.records] == ["funsd/train/0000971160"]
    reasons = {s.item: s.reason for s in result.skipped}
    assert reasons["dataset/training_data/images/0000989556.png"] == "missing image"
    assert reasons["dataset/testing_data/images/82092117.png"].startswith("unreadable image: ")
    assert reasons["dataset/training_data/annotations/0000000001.json"].startswith("malformed JSON: ")
    assert len(result.skipped) == 3
    _assert_private(result)


def test_funsd_drops_bad_words_and_entities_with_a_reason(tmp_path: Path) -> None:
    folder = build_funsd(tmp_path)
    ann = folder / "dataset" / "training_data" / "annotations" / "0000971160.json"

    def edit(data: dict) -> None:
        form = data["form"]
        form[0]["words"][1]["box"] = [500, 10, 600, 30]  # outside the 320x300 page
        form[2]["words"][1]["box"] = [300, 88, 215, 70]  # corners swapped: normalised
        form[3]["words"][0]["box"] = [20, 120, 20, 140]  # zero width
        form[4]["words"][0]["box"] = [310, 120, 400, "x"]  # not numbers
        form[5]["words"][0]["text"] = "  "  # blank
        form[5]["words"][1]["box"] = [-10, 220, 220, 240]  # partly outside: clipped
        form.append({"id": 9, "label": "other", "words": [], "linking": [[9, 77]]})

    _edit_json(ann, edit)
    result = READERS["funsd"](folder, split="train")
    record = _by_id(result)["funsd/train/0000971160"]
    item = "dataset/training_data/annotations/0000971160.json"
    assert sorted(result.skipped) == sorted(
        [
            Skip(f"{item} entry 0 word 1", "bad word box: outside the 320x300 page"),
            Skip(f"{item} entry 3 word 0", "bad word box: zero width or height"),
            Skip(f"{item} entry 3", "entity without words"),
            Skip(f"{item} entry 4 word 0", "bad word box: not four finite numbers"),
            Skip(f"{item} entry 4", "entity without words"),
            Skip(f"{item} entry 5 word 0", "blank word"),
            Skip(f"{item} entry 6", "entity without words"),
        ]
    )
    assert [w.text for w in record.words] == ["Quorvane", "Tellumar:", "Ostravel", "Penwickor", "Quesselit"]
    assert record.words[3].box == (215.0, 70.0, 300.0, 88.0)
    assert record.words[4].box == (0.0, 220.0, 220.0, 240.0)
    assert [(e.id, e.words) for e in record.entities] == [(0, (0,)), (1, (1,)), (2, (2, 3)), (5, (4,))]
    assert record.links == [(1, 2)]  # (3, 4) lost both ends, (9, 77) never existed
    _assert_private(result)


def test_funsd_page_without_usable_words_is_skipped(tmp_path: Path) -> None:
    folder = build_funsd(tmp_path)
    ann = folder / "dataset" / "testing_data" / "annotations" / "82092117.json"
    _edit_json(ann, lambda d: d.update(form=[]))
    result = READERS["funsd"](folder, split="test")
    assert result.records == []
    assert result.skipped == [Skip("dataset/testing_data/annotations/82092117.json", "empty page: no usable words")]


# ------------------------------------------------------------------------------ XFUND


def test_xfund_reads_the_release_layout(tmp_path: Path) -> None:
    folder = build_xfund(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["de.train", "de.train.json", "de.val", "de.val.json"]
    result = READERS["xfund"](folder)
    assert result.skipped == []
    assert [(r.id, r.split) for r in result.records] == [
        ("xfund/train/de_train_0", "train"),
        ("xfund/train/de_train_1", "train"),
        ("xfund/val/de_val_0", "val"),
    ]
    for record in result.records:
        name = f"de.{record.split}"
        doc_id, size, entries = next(d for d in XFUND_DOCS[name] if d[0] == record.id.split("/")[-1])
        assert (record.width, record.height) == size
        assert record.image.endswith(f"XFUND/{name}/{doc_id}.jpg")
        assert [(w.text, w.box) for w in record.words] == [
            (t, tuple(float(v) for v in b)) for _, _, words, _ in entries for t, b in words
        ]
    first, second = result.records[:2]
    assert [(e.id, e.label, e.words) for e in first.entities] == [
        (0, "header", (0,)), (3, "question", (1,)), (7, "answer", (2, 3)), (9, "other", (4,))
    ]
    assert first.links == [(3, 7)]
    assert first.words[3] == Word("Strohvelt", (140.0, 110.0, 250.0, 130.0))
    assert second.links == [(0, 1)]  # listed three times
    assert [r.id for r in READERS["xfund"](folder, split="val").records] == ["xfund/val/de_val_0"]
    assert [r.id for r in READERS["xfund"](folder / "de.val.json").records] == ["xfund/val/de_val_0"]


@pytest.mark.parametrize("layout", ["mmocr", "in_place"])
def test_xfund_finds_images_in_other_unzip_folders(tmp_path: Path, layout: str) -> None:
    folder = build_xfund(tmp_path)
    for name in ("de.train", "de.val"):
        if layout == "mmocr":
            (folder / name).rename(folder / name.replace(".", "_"))
        else:
            for image in (folder / name).iterdir():
                image.rename(folder / image.name)
            (folder / name).rmdir()
    result = READERS["xfund"](folder)
    assert len(result.records) == 3 and result.skipped == []
    assert all(Path(r.image).is_file() for r in result.records)


def test_xfund_images_still_zipped_tell_the_user_to_unzip(tmp_path: Path) -> None:
    folder = build_xfund(tmp_path)
    with zipfile.ZipFile(folder / "de.val.zip", "w") as archive:
        for image in (folder / "de.val").iterdir():
            archive.write(image, image.name)
    shutil.rmtree(folder / "de.val")
    with pytest.raises(ReaderError) as err:
        READERS["xfund"](folder, split="val")
    command = f"unzip {folder / 'de.val.zip'} -d {folder / 'de.val'}"
    assert command in str(err.value)
    result = READERS["xfund"](folder)  # the train split still converts
    assert [r.split for r in result.records] == ["train", "train"]
    assert result.skipped == [
        Skip("de.val.json (1 documents)", f"images still zipped: run {command}")
    ]


def test_xfund_skips_bad_documents(tmp_path: Path) -> None:
    folder = build_xfund(tmp_path)

    def edit(data: dict) -> None:
        data["documents"][0]["img"]["width"] = 999
        data["documents"][1]["img"]["fname"] = "../../secret.jpg"
        data["documents"].append({"id": "de_train_9", "document": [], "img": {"fname": "de_train_9.jpg"}})
        data["documents"].append("oops")

    _edit_json(folder / "de.train.json", edit)
    (folder / "de.val.json").write_text("[1, 2", encoding="utf-8")
    result = READERS["xfund"](folder)
    assert result.records == []
    assert sorted(result.skipped) == sorted(
        [
            Skip("de.train.json documents[0] (id de_train_0)",
                 "size mismatch: annotation says 999x320, image is 300x320"),
            Skip("de.train.json documents[1] (id de_train_1)",
                 "malformed document: 'img.fname' is not a plain file name"),
            Skip("de.train.json documents[2] (id de_train_9) image de_train_9.jpg", "missing image"),
            Skip("de.train.json documents[3]", "malformed document: not an object"),
            Skip("de.val.json", "malformed JSON: Expecting ',' delimiter at line 1 column 6"),
        ]
    )


def test_xfund_wrong_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ReaderError) as err:
        READERS["xfund"](tmp_path)
    assert str(err.value).startswith(f"{tmp_path}: not an XFUND folder")
    assert "{lang}.{split}.json" in str(err.value)


# ------------------------------------------------------------------------------ CORD


def test_cord_reads_the_release_layout(tmp_path: Path) -> None:
    folder = build_cord(tmp_path)
    result = READERS["cord"](folder)
    assert result.skipped == []
    assert [(r.id, r.split) for r in result.records] == [
        ("cord/train/receipt_00000", "train"),
        ("cord/train/receipt_00001", "train"),
        ("cord/dev/receipt_00000", "dev"),
        ("cord/test/receipt_00000", "test"),
    ]
    for record in result.records:
        _, split, stem = record.id.split("/")
        size, lines = CORD_PAGES[(split, stem)]
        assert (record.width, record.height) == size
        assert record.image.endswith(f"CORD/{split}/image/{stem}.png")
        assert [(w.text, w.quad) for w in record.words] == [
            (t, tuple((float(x), float(y)) for x, y in q)) for _, _, ws in lines for t, q, _, _ in ws
        ]
        expected = [(category, False, k) for k, (category, _, _) in enumerate(lines)]
        assert [(e.label, e.sensitive, e.id) for e in record.entities] == expected
    first = result.records[0]
    assert first.words[0] == Word(
        "KOPRAMEL", (30.0, 38.0, 121.0, 60.0), ((30.0, 40.0), (120.0, 38.0), (121.0, 58.0), (31.0, 60.0)), 0
    )
    assert [w.line for w in first.words] == [0, 0, 1, 1, 2, 2]  # row ids 101, 102, 103
    assert [e.words for e in first.entities] == [(0, 1), (2,), (3,), (4, 5)]
    assert first.lines() == [[0, 1], [2, 3], [4, 5]]
    assert first.links == []


def test_cord_accepts_parent_and_split_folders(tmp_path: Path) -> None:
    build_cord(tmp_path)
    assert len(READERS["cord"](tmp_path).records) == 4
    dev = READERS["cord"](tmp_path / "CORD" / "dev")
    assert [(r.id, r.split) for r in dev.records] == [("cord/dev/receipt_00000", "dev")]
    assert [r.id for r in READERS["cord"](tmp_path, split="test").records] == ["cord/test/receipt_00000"]


def test_cord_skips_bad_quads_sizes_and_drops_lines_without_row_ids(tmp_path: Path) -> None:
    folder = build_cord(tmp_path)

    def edit_first(data: dict) -> None:
        words = data["valid_line"][0]["words"]
        del words[1]["quad"]["x4"]
        data["valid_line"][1]["words"][0]["quad"].update(x1=-6, x4=-6)  # partly left of the page
        del data["valid_line"][2]["words"][0]["row_id"]

    _edit_json(folder / "train" / "json" / "receipt_00000.json", edit_first)
    _edit_json(folder / "train" / "json" / "receipt_00001.json", lambda d: d["meta"]["image_size"].update(height=10))
    result = READERS["cord"](folder, split="train")
    assert [r.id for r in result.records] == ["cord/train/receipt_00000"]
    assert sorted(result.skipped) == [
        Skip("train/json/receipt_00000.json valid_line 0 word 1", "bad word quad: needs x1, y1, ..., x4, y4"),
        Skip("train/json/receipt_00001.json", "size mismatch: annotation says 260x10, image is 260x360"),
    ]
    record = result.records[0]
    assert [w.line for w in record.words] == [None] * 5
    assert record.words[1].box == (0.0, 70.0, 54.0, 88.0)
    assert record.words[1].quad[0] == (-6.0, 70.0)


def test_cord_parquet_variant_and_wrong_folder_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train-00000-of-00004.parquet").write_bytes(b"PAR1")
    with pytest.raises(ReaderError, match="parquet files .*not supported"):
        READERS["cord"](tmp_path)
    with pytest.raises(ReaderError) as err:
        READERS["cord"](tmp_path / "data")
    assert "train/, dev/ and test/, each with image/*.png and json/*.json" in str(err.value)


# ------------------------------------------------------------------------------ SROIE


def test_sroie_reads_task1_train_and_test_layouts(tmp_path: Path) -> None:
    folder = build_sroie(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == sorted([SROIE_TRAIN, SROIE_TEST_IMAGES, SROIE_TEST_TEXTS])
    result = READERS["sroie"](folder)
    assert result.skipped == []
    by_id = _by_id(result)
    assert list(by_id) == ["sroie/test/X51005200931", "sroie/train/X00016469612", "sroie/train/X00016469619"]
    first = by_id["sroie/train/X00016469612"]
    assert (first.width, first.height, first.split, first.entities) == (300, 420, "train", [])
    assert [w.text for w in first.words] == ["TANWELL STOPRAX", "Vendrell, Quoss & Tarn", "TOTALIX:", "9.00"]
    assert first.words[1] == Word(
        "Vendrell, Quoss & Tarn", (30.0, 70.0, 270.0, 90.0), ((30.0, 70.0), (270.0, 70.0), (270.0, 90.0), (30.0, 90.0))
    )
    assert all(w.line is None for w in first.words)
    assert [w.text for w in by_id["sroie/train/X00016469619"].words] == ["Crème Pélorin", "Zuvetta,Marl"]  # Latin-1
    test = by_id["sroie/test/X51005200931"]
    assert test.image.endswith(f"{SROIE_TEST_IMAGES}/X51005200931.jpg") and test.split == "test"
    assert [r.id for r in READERS["sroie"](folder, split="test").records] == ["sroie/test/X51005200931"]


def test_sroie_single_folders_and_nested_download(tmp_path: Path) -> None:
    folder = build_sroie(tmp_path)
    train = READERS["sroie"](folder / SROIE_TRAIN)
    assert [r.id for r in train.records] == ["sroie/train/X00016469612", "sroie/train/X00016469619"]
    with pytest.raises(ReaderError) as err:
        READERS["sroie"](folder / SROIE_TEST_IMAGES)
    assert str(err.value).startswith(f"{folder / SROIE_TEST_IMAGES}: no SROIE task-1 text files")
    assert SROIE_TEST_TEXTS in str(err.value)
    nested = tmp_path / "drive" / "0325updated"
    nested.mkdir(parents=True)
    shutil.copytree(folder / SROIE_TRAIN, nested / SROIE_TRAIN)
    (tmp_path / "drive" / "0325updated.task2train(626p)").mkdir()
    (tmp_path / "drive" / "0325updated.task2train(626p)" / "X00016469612.txt").write_text('{"company": "x"}')
    assert [r.id for r in READERS["sroie"](tmp_path / "drive").records] == [r.id for r in train.records]


def test_sroie_skips_missing_images_copies_and_malformed_lines(tmp_path: Path) -> None:
    folder = build_sroie(tmp_path)
    (folder / SROIE_TEST_TEXTS / "X51006619570.txt").write_text("1,2,30,2,30,20,1,20,ABC\n")
    shutil.copy(folder / SROIE_TRAIN / "X00016469619.jpg", folder / SROIE_TRAIN / "X00016469619(1).jpg")
    shutil.copy(folder / SROIE_TRAIN / "X00016469619.txt", folder / SROIE_TRAIN / "X00016469619(1).txt")
    text = folder / SROIE_TRAIN / "X00016469612.txt"
    bad_lines = "\r\n12,x,3,4,5,6,7,8,Nope\r\n1,2,3\r\n400,1,500,1,500,9,400,9,Away\r\n"
    text.write_bytes(text.read_bytes() + bad_lines.encode())
    result = READERS["sroie"](folder)
    assert len(result.records) == 3
    assert sorted(result.skipped) == [
        Skip(f"{SROIE_TRAIN}/X00016469612.txt line 7", "malformed line: coordinates are not numbers"),
        Skip(f"{SROIE_TRAIN}/X00016469612.txt line 8", "malformed line: expected x1,y1,...,x4,y4,text"),
        Skip(f"{SROIE_TRAIN}/X00016469612.txt line 9", "bad word box: outside the 300x420 page"),
        Skip(f"{SROIE_TRAIN}/X00016469619(1).txt", "duplicate copy of X00016469619"),
        Skip(f"{SROIE_TEST_TEXTS}/X51006619570.txt", "missing image"),
    ]
    assert len(_by_id(result)["sroie/train/X00016469612"].words) == 4


# ------------------------------------------------------------------------------ manifest


def test_manifest_reads_png_tiff_page_and_pdf(tmp_path: Path) -> None:
    folder = build_manifest(tmp_path)
    result = READERS["manifest"](folder)
    assert result.skipped == []
    form, scan, letter = result.records
    assert (form.id, form.split, form.width, form.height, form.page, form.dpi) == (
        "manifest/train/pages/form", "train", 300, 260, 0, None)
    assert [w.text for w in form.words] == ["Halvorsyne", "Brekkelund", "Telefonix", "5551239876"]
    assert [(e.label, e.words, e.sensitive) for e in form.entities] == [
        ("PERSON", (0, 1), True), ("question", (2,), False), ("PHONE_NUMBER", (3,), True)
    ]
    assert form.sensitive_words() == {0, 1, 3}
    assert (scan.id, scan.page, scan.width, scan.height) == ("scan-page-2", 1, 280, 300)  # the TIFF's 2nd frame
    assert scan.words[0] == Word(
        "Quillfeather", (20.0, 30.0, 160.0, 54.0), ((20.0, 30.0), (160.0, 30.0), (160.0, 54.0), (20.0, 54.0))
    )
    assert [(e.label, e.words, e.sensitive) for e in scan.entities] == [("LOCATION", (1,), True)]
    assert (letter.id, letter.split, letter.dpi, letter.width, letter.height) == (
        "manifest/test/pages/letter", "test", 100.0, 300, 300)
    assert [r.id for r in READERS["manifest"](folder, split="test").records] == ["manifest/test/pages/letter"]
    assert len(READERS["manifest"](folder / "manifest.jsonl").records) == 3


def test_manifest_json_list_absolute_paths_and_default_pdf_dpi(tmp_path: Path) -> None:
    folder = build_manifest(tmp_path)
    items = [
        {"image": str(folder / "pages" / "letter.pdf"), "words": [{"text": "Pemberlyx", "box": [40, 50, 160, 72]}]},
    ]
    manifest = tmp_path / "elsewhere" / "list.json"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps(items), encoding="utf-8")
    (record,) = READERS["manifest"](manifest).records
    assert record.dpi == 200.0 and (record.width, record.height) == (600, 600)  # 216 pt at the default 200 dpi
    assert record.image == str(folder / "pages" / "letter.pdf")
    assert record.id.startswith("manifest/all/") and record.id.endswith("pages/letter")


def test_manifest_skips_bad_lines_items_words_and_entities(tmp_path: Path) -> None:
    folder = build_manifest(tmp_path)
    manifest = folder / "manifest.jsonl"
    extra = [
        "{not json",
        json.dumps({"image": "pages/missing.png", "words": []}),
        json.dumps({"image": "pages/scan.tif", "page": 5, "words": []}),
        json.dumps({"image": "pages/form.png", "id": "dup", "words": [{"text": "Halvorsyne", "box": [1, 1, 9, 9]}]}),
        json.dumps({"image": "pages/form.png", "id": "dup", "words": [{"text": "Halvorsyne", "box": [1, 1, 9, 9]}]}),
        json.dumps(
            {
                "image": "pages/form.png",
                "id": "bad-parts",
                "words": [
                    {"text": "Brekkelund", "box": [30, 40, 150, 62]},
                    {"text": "Telefonix"},
                    {"text": "Ostmarrow", "quad": [[1, 2], [3, 4]]},
                ],
                "entities": [{"label": "PERSON", "words": [0, 7]}, {"label": "PERSON", "words": [1]}, {"words": [0]}],
            }
        ),
    ]
    manifest.write_text(manifest.read_text(encoding="utf-8") + "\n".join(extra) + "\n", encoding="utf-8")
    result = READERS["manifest"](folder)
    assert [r.id for r in result.records][3:] == ["dup", "bad-parts"]
    assert sorted(result.skipped) == sorted(
        [
            Skip("manifest.jsonl:4", "malformed JSON: Expecting property name enclosed in double quotes at column 2"),
            Skip("manifest.jsonl:5 (pages/missing.png)", "missing image"),
            Skip("manifest.jsonl:6 (pages/scan.tif)", "unreadable image: page 5 out of range: the file has 2 page(s)"),
            Skip("manifest.jsonl:8", "duplicate record id: dup"),
            Skip("manifest.jsonl:9 word 1", "bad word box: neither 'box' nor 'quad'"),
            Skip("manifest.jsonl:9 word 2", "bad word quad: not four [x, y] points"),
            Skip("manifest.jsonl:9 entity 0", "malformed entity: 'words' is not a list of word indices in [0, 3)"),
            Skip("manifest.jsonl:9 entity 1", "entity without words"),
            Skip("manifest.jsonl:9 entity 2", "malformed entity: needs a 'label' string and a boolean 'sensitive'"),
        ]
    )
    _assert_private(result)


def test_manifest_missing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReaderError, match=f"{tmp_path}: no manifest found; expected a manifest file"):
        READERS["manifest"](tmp_path)


# ------------------------------------------------------------------------------ truth.json


def test_truth_values_become_sensitive_entities_with_scope_and_occurrences(tmp_path: Path) -> None:
    result = read_dataset("truth", build_truth(tmp_path))
    (record,) = result.records
    assert record.id == "truth/intake" and (record.width, record.height) == (400, 300)
    person, ident = record.entities
    assert (person.label, person.scope, person.sensitive) == ("PERSON", "personal", True)
    assert (ident.label, ident.scope) == ("ID_NUMBER", "business")  # the project's name for "ID"
    # two printed places + one extra printed form, each a line of its own
    assert [record.words[i].box for i in person.words] == [(120, 20, 330, 40), (20, 220, 110, 240), (120, 20, 330, 40)]
    assert len({record.words[i].line for i in person.words}) == 3
    assert [record.words[i].text for i in ident.words] == ["0161 4960"]
    assert record.plain == ["Patient", "Phone"]
    reasons = sorted((s.item, s.reason) for s in result.skipped)
    assert reasons == [("pages/missing.png", "missing image"),
                       ("truth.json page intake.png value 2", "bad word box: outside the 400x300 page"),
                       ("truth.json page intake.png value 2", "value without a usable box")]
    _assert_private(result)


def test_truth_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ReaderError, match="no truth.json"):
        read_dataset("truth", tmp_path)
    (tmp_path / "truth.json").write_text("[1, 2]")
    with pytest.raises(ReaderError, match="'pages' object"):
        read_dataset("truth", tmp_path)
    (tmp_path / "truth.json").write_text("{not json")
    with pytest.raises(ReaderError, match="malformed JSON"):
        read_dataset("truth", tmp_path)
    with pytest.raises(ReaderError, match="no split 'train'"):
        read_dataset("truth", build_truth(tmp_path / "x"), split="train")


def test_record_scope_and_plain_round_trip_and_validation() -> None:
    from anonymizer.core.records import PageRecord, RecordError

    base = {"id": "a", "image": "a.png", "width": 10, "height": 10,
            "words": [{"text": "x", "box": [0, 0, 5, 5]}]}
    record = PageRecord.from_json({**base, "entities": [{"label": "PERSON", "words": [0], "scope": "personal"}],
                                   "plain": ["Date"]})
    assert record.entities[0].scope == "personal" and record.plain == ["Date"]
    assert PageRecord.from_json(record.to_json()).to_json() == record.to_json()
    assert "plain" not in PageRecord.from_json(base).to_json()  # optional fields stay absent
    with pytest.raises(RecordError, match="'scope' must be one of"):
        PageRecord.from_json({**base, "entities": [{"label": "PERSON", "words": [0], "scope": "public"}]})
    with pytest.raises(RecordError, match="'plain' must be a list of strings"):
        PageRecord.from_json({**base, "plain": "Date"})


# ------------------------------------------------------------------------------ all readers

BUILDERS = {"funsd": build_funsd, "xfund": build_xfund, "cord": build_cord, "sroie": build_sroie,
            "manifest": build_manifest, "truth": build_truth}
PAGES = {"funsd": 3, "xfund": 3, "cord": 4, "sroie": 3, "manifest": 3, "truth": 1}


def test_registry_has_every_reader() -> None:
    assert list(READERS) == ["funsd", "xfund", "cord", "sroie", "manifest", "truth"]
    with pytest.raises(ReaderError, match="unknown dataset 'rvl'"):
        read_dataset("rvl", ".")


@pytest.mark.parametrize("name", list(BUILDERS))
def test_records_round_trip_with_absolute_and_relative_images(tmp_path: Path, name: str) -> None:
    result = READERS[name](BUILDERS[name](tmp_path / "data"))
    assert len(result.records) == PAGES[name]
    assert len({r.id for r in result.records}) == PAGES[name]
    write_records(tmp_path / "abs.jsonl", result.records)
    back, errors = read_records(tmp_path / "abs.jsonl")
    assert errors == []
    assert [r.to_json() for r in back] == [r.to_json() for r in result.records]
    out = tmp_path / "out" / "records.jsonl"
    write_records(out, result.records_relative_to(out.parent))
    back, errors = read_records(out)
    assert errors == []
    assert all(not Path(r.image).is_absolute() and r.image.startswith("../data/") for r in back)
    assert [r.image_path.resolve() for r in back] == [Path(r.image).resolve() for r in result.records]


@pytest.mark.parametrize("name", list(BUILDERS))
def test_wrong_folder_error_names_the_folder(tmp_path: Path, name: str) -> None:
    (tmp_path / "random.txt").write_text("x")
    with pytest.raises(ReaderError) as err:
        READERS[name](tmp_path)
    assert str(err.value).startswith(str(tmp_path)) and "expected" in str(err.value)
    _assert_private(str(err.value))


def test_clean_box_and_split_names() -> None:
    assert clean_box([5, 6, 1, 2], 10, 10) == (1.0, 2.0, 5.0, 6.0)
    assert clean_box([-3, 2, 4, 20], 10, 10) == (0.0, 2.0, 4.0, 10.0)
    for bad in ([1, 2, 3], [1, 2, float("nan"), 4], [True, 1, 2, 3], [10, 0, 12, 5]):
        with pytest.raises(ValueError, match="bad word box"):
            clean_box(bad, 10, 10)
    assert [split_from_name(n) for n in ("training_data", "0325updated.task1train(626p)", "text.task1_2-test（361p)",
                                         "dev", "de.val", "misc")] == ["train", "train", "test", "dev", "val", None]
