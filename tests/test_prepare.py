"""``python -m anonymizer.data.prepare``: conversion, validation, report, exit codes, privacy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from anonymizer.core.records import read_records
from anonymizer.data.prepare import PrepareError, prepare, run
from tests.conftest import CONF_DIR, ROOT
from tests.fixtures_datasets import BUILDERS, fixture_words

PAGES = {"funsd": 3, "xfund": 3, "cord": 4, "sroie": 3, "manifest": 3}


def compose_prepare(overrides: list[str], hydra_config: bool = False) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="prepare", overrides=overrides, return_hydra_config=hydra_config)


def cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "anonymizer.data.prepare", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


def assert_private(text: str) -> None:
    leaked = sorted(w for w in fixture_words() if w in text)
    assert not leaked, leaked


def test_config_writes_nothing_to_the_working_directory() -> None:
    cfg = compose_prepare([], hydra_config=True)
    assert cfg.hydra.run.dir == "."
    assert cfg.hydra.output_subdir is None
    assert cfg.hydra.job.chdir is False
    assert cfg.hydra.job_logging.root.handlers == ["console"]
    assert (cfg.split, cfg.overwrite, cfg.image_paths, cfg.decode_images) == (None, False, "absolute", False)


@pytest.mark.slow
def test_cli_converts_reports_and_refuses_to_overwrite(tmp_path: Path) -> None:
    data = BUILDERS["funsd"](tmp_path / "data")
    work = tmp_path / "cwd"
    work.mkdir()
    out = tmp_path / "records" / "funsd.jsonl"
    args = ["dataset=funsd", f"input={data}", f"output={out}"]

    first = cli(args, work)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert "│ total │     3 │    15 │       12 │         0 │     4 │" in first.stdout
    assert "skipped: 0 item(s)" in first.stdout
    assert f"written: 3 record(s) to {out}" in first.stdout
    assert "validation: 3/3 pages valid (ok)" in first.stdout
    records, errors = read_records(out)
    assert errors == [] and [r.id for r in records][0] == "funsd/train/0000971160"
    assert list(work.iterdir()) == []  # no outputs/, .hydra/ or log file
    assert_private(first.stdout + first.stderr)

    before = out.read_bytes()
    second = cli(args, work)
    assert second.returncode == 2
    assert second.stderr.strip() == f"error: output {out} already exists; pass overwrite=true to replace it"
    assert out.read_bytes() == before

    third = cli([*args, "overwrite=true", "split=test"], work)
    assert third.returncode == 0, third.stderr
    assert [r.id for r in read_records(out)[0]] == ["funsd/test/82092117"]


@pytest.mark.slow
def test_cli_wrong_input_is_one_line_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = cli(["dataset=cord", f"input={tmp_path / 'empty'}", f"output={tmp_path / 'x.jsonl'}"], tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / 'empty'}: not a CORD folder; expected")
    assert not (tmp_path / "x.jsonl").exists()
    missing = cli([], tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith("error: missing dataset, input, output; usage: python -m")


@pytest.mark.slow
def test_cli_report_and_errors_never_show_word_text(tmp_path: Path) -> None:
    data = BUILDERS["funsd"](tmp_path / "data")
    train = data / "dataset" / "training_data"
    ann = train / "annotations" / "0000971160.json"
    form = json.loads(ann.read_text(encoding="utf-8"))
    form["form"][0]["words"][0]["box"] = [900, 900, 950, 950]
    form["form"][1]["words"][0]["box"] = "Tellumar:"
    ann.write_text(json.dumps(form), encoding="utf-8")
    (train / "images" / "0000989556.png").write_bytes(b"Zimbrelly Hollowfen")  # corrupt, holding word text
    (data / "dataset" / "testing_data" / "annotations" / "82092117.json").write_text('{"form": ["Grendavol"', "utf-8")
    result = cli(["dataset=funsd", f"input={data}", f"output={tmp_path / 'out.jsonl'}", "examples=10"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "skipped: 5 item(s)" in result.stdout  # 2 boxes, the entity left empty, image, JSON
    assert "bad word box" in result.stdout and "unreadable image" in result.stdout
    assert "malformed JSON" in result.stdout
    assert_private(result.stdout + result.stderr)


@pytest.mark.parametrize("name", ["xfund", "cord", "sroie", "manifest"])
def test_in_process_conversion_of_every_reader(tmp_path: Path, name: str, capsys: pytest.CaptureFixture) -> None:
    data = BUILDERS[name](tmp_path / "data")
    out = tmp_path / f"{name}.jsonl"
    assert run(compose_prepare([f"dataset={name}", f"input={data}", f"output={out}"])) == 0
    shown = capsys.readouterr()
    assert f"validation: {PAGES[name]}/{PAGES[name]} pages valid (ok)" in shown.out
    assert shown.err == ""
    records, errors = read_records(out)
    assert errors == [] and len(records) == PAGES[name]
    assert {r.source for r in records} == {name}
    assert_private(shown.out)


def test_report_counts(tmp_path: Path) -> None:
    data = BUILDERS["manifest"](tmp_path / "data")
    report = prepare("manifest", data, tmp_path / "m.jsonl")
    assert {k: dict(v) for k, v in report.splits.items()} == {
        "test": {"pages": 1, "words": 2, "entities": 1, "links": 0, "sensitive": 1},
        "train": {"pages": 2, "words": 6, "entities": 4, "links": 0, "sensitive": 3},
    }
    assert (report.written, report.validated, report.problems, report.exit_code) == (3, 3, [], 0)


def test_relative_image_paths_resolve_from_the_output_folder(tmp_path: Path) -> None:
    data = BUILDERS["cord"](tmp_path / "data")
    out = tmp_path / "records" / "cord.jsonl"
    report = prepare("cord", data, out, image_paths="relative")
    assert report.exit_code == 0
    line = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert line["image"] == "../data/CORD/train/image/receipt_00000.png"
    records, _ = read_records(out)
    assert records[0].image_path.resolve() == (data / "train" / "image" / "receipt_00000.png").resolve()


def test_nothing_converted_exits_1_without_writing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = BUILDERS["sroie"](tmp_path / "data")
    for image in data.rglob("*.jpg"):
        image.unlink()
    out = tmp_path / "s.jsonl"
    assert run(compose_prepare(["dataset=sroie", f"input={data}", f"output={out}"])) == 1
    shown = capsys.readouterr()
    assert not out.exists()
    assert "     3  missing image" in shown.out and "nothing converted" in shown.out
    assert shown.err.strip() == f"error: nothing could be converted from {data}"


def test_validation_catches_truncated_images_when_decoding(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = BUILDERS["funsd"](tmp_path / "data")
    image = data / "dataset" / "testing_data" / "images" / "82092117.png"
    image.write_bytes(image.read_bytes()[:200])  # header intact: page_size still reads it
    out = tmp_path / "f.jsonl"
    overrides = ["dataset=funsd", f"input={data}", f"output={out}"]
    assert run(compose_prepare(overrides)) == 0
    assert run(compose_prepare([*overrides, "overwrite=true", "decode_images=true"])) == 1
    shown = capsys.readouterr()
    assert "validation: 2/3 pages valid (1 problem(s))" in shown.out
    assert f"funsd/test/82092117: {image}: " in shown.out
    assert shown.err.strip().endswith("error: 1 page(s) failed validation")


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = BUILDERS["xfund"](tmp_path / "data")
    with pytest.raises(PrepareError, match="unknown dataset 'docvqa'"):
        prepare("docvqa", data, tmp_path / "o.jsonl")
    with pytest.raises(PrepareError, match="image_paths must be one of absolute, relative"):
        prepare("xfund", data, tmp_path / "o.jsonl", image_paths="posix")
    with pytest.raises(PrepareError, match="does not exist"):
        prepare("xfund", tmp_path / "nope", tmp_path / "o.jsonl")
    with pytest.raises(PrepareError, match="is a folder"):
        prepare("xfund", data, tmp_path)
    with pytest.raises(PrepareError, match=r"no split 'test' here \(found: train, val\)"):
        prepare("xfund", data, tmp_path / "o.jsonl", split="test")
    assert run(compose_prepare(["dataset=xfund", f"input={data}", f"output={tmp_path / 'o.jsonl'}", "split=dev"])) == 2
    assert capsys.readouterr().err.startswith(f"error: {data}: no split 'dev' here")
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize("name", list(BUILDERS))
def test_no_word_text_in_reports_of_broken_datasets(tmp_path: Path, name: str, capsys: pytest.CaptureFixture) -> None:
    data = BUILDERS[name](tmp_path / "data")
    for path in sorted(data.rglob("*"), reverse=True):  # break the last image and the first annotation
        if path.suffix in (".png", ".jpg"):
            path.write_bytes(b"\xff\xd8\xff" + " ".join(sorted(fixture_words())).encode())
            break
    for path in sorted(data.rglob("*")):
        if path.suffix in (".json", ".jsonl", ".txt") and path.name != "manifest.jsonl":
            path.write_text(path.read_text(encoding="latin-1")[:-40], encoding="latin-1")
            break
    run(compose_prepare([f"dataset={name}", f"input={data}", f"output={tmp_path / 'o.jsonl'}", "examples=20"]))
    shown = capsys.readouterr()
    if name == "truth":  # one annotation file for the whole folder: broken, nothing can be read
        assert "truth.json: malformed JSON: " in shown.err
    else:
        assert "unreadable image: " in shown.out
    if name in ("funsd", "xfund", "cord"):
        assert "malformed JSON: " in shown.out
    assert_private(shown.out + shown.err)
