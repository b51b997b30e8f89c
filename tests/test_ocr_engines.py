"""The OCR engines: Tesseract in process (tesserocr) and through its binary read the same
words; RapidOCR (when its extra is installed) too; time limits and option errors."""

from __future__ import annotations

import threading

import pytest
from PIL import Image

from anonymizer.pipeline.ocr import OcrEngine, OcrError, OcrTimeout, TesseractEngine, build_ocr
from anonymizer.pipeline.tesserocr_engine import TesserocrEngine, find_tessdata, parse_extra_config
from tests.test_ocr import LINES, iou, render


@pytest.fixture(scope="module")
def in_process() -> TesserocrEngine:
    return build_ocr("tesseract")


def _same_reading(words, truth) -> None:
    assert [w.text for w in words] == [tok for row in truth for tok, _ in row]
    assert [w.line for w in words] == [n for n, row in enumerate(truth) for _ in row]
    assert all(iou(w.box, box) > 0.5 for w, box in zip(words, [b for row in truth for _, b in row]))


def test_in_process_tesseract_reads_what_the_binary_reads(in_process) -> None:
    img, truth = render()
    assert isinstance(in_process, TesserocrEngine) and isinstance(in_process, OcrEngine)
    ours, cli = in_process.read(img), build_ocr("tesseract_cli").read(img)
    _same_reading(ours, truth)
    _same_reading(cli, truth)
    assert all(iou(a.box, b.box) > 0.9 for a, b in zip(ours, cli))
    assert all(a.conf is not None and 50 < a.conf <= 100 for a in ours)


def test_in_process_tesseract_has_one_engine_per_thread(in_process) -> None:
    img, truth = render()
    results, apis = {}, {}

    def work(k: int) -> None:
        results[k] = in_process.read(img)
        apis[k] = in_process._local.api

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert apis[0] is not apis[1]
    for words in results.values():
        _same_reading(words, truth)


def test_in_process_tesseract_scale_and_min_conf(in_process) -> None:
    img, truth = render()
    _same_reading(build_ocr("tesseract", scale=2.0).read(img), truth)
    assert build_ocr("tesseract", min_conf=100.5).read(img) == []


def test_in_process_tesseract_time_limit_fails_the_page() -> None:
    img, _ = render(LINES * 8, size=(520, 1100))
    with pytest.raises(OcrTimeout, match="ocr.timeout"):
        build_ocr("tesseract", timeout=0.001).read(img)


def test_in_process_tesseract_errors_name_the_problem(tmp_path) -> None:
    with pytest.raises(OcrError, match="'zzz_abc'.*tesseract-ocr-zzz-abc"):
        TesserocrEngine(lang="eng+zzz_abc")
    with pytest.raises(OcrError, match=f"'eng'.*in {tmp_path}"):
        TesserocrEngine(extra_config=f"--tessdata-dir {tmp_path}")
    with pytest.raises(OcrError, match="'--user-words' is not supported in process.*tesseract_cli"):
        TesserocrEngine(extra_config="--user-words words.txt")
    with pytest.raises(OcrError, match="unknown variable 'no_such_variable'"):
        TesserocrEngine(extra_config="-c no_such_variable=1")
    with pytest.raises(OcrError, match="psm must be 0..13"):
        TesserocrEngine(psm=42)


def test_extra_config_and_tessdata(monkeypatch, tmp_path) -> None:
    assert parse_extra_config("--dpi 300 -c preserve_interword_spaces=1 --tessdata-dir /x") == (
        "/x", 300, {"preserve_interword_spaces": "1"})
    found = find_tessdata("eng")
    (tmp_path / "eng.traineddata").write_bytes((__import__("pathlib").Path(found) / "eng.traineddata").read_bytes())
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    assert find_tessdata("eng") == str(tmp_path)
    _same_reading(TesserocrEngine().read(render()[0]), render()[1])


def test_the_command_line_engine_is_still_offered() -> None:
    engine = build_ocr("tesseract_cli", extra_config="--user-words /dev/null")
    assert isinstance(engine, TesseractEngine) and engine.name == "tesseract_cli"


def test_rapidocr_reads_the_same_words() -> None:
    pytest.importorskip("rapidocr", reason="the rapidocr extra is not installed")
    pytest.importorskip("onnxruntime", reason="the rapidocr extra is not installed")
    img, truth = render()
    engine = build_ocr("rapidocr", psm=3, oem=3, extra_config="")
    words = engine.read(img)
    assert [w.text for w in words] == [tok for row in truth for tok, _ in row]  # spaces kept: one word each
    assert [w.line for w in words] == [n for n, row in enumerate(truth) for _ in row]
    assert all(iou(w.box, box) > 0.4 for w, box in zip(words, [b for row in truth for _, b in row]))
    assert all(w.conf is not None and 50 < w.conf <= 100 for w in words)
    blank = Image.new("RGB", (200, 80), "white")
    assert engine.read(blank) == []
