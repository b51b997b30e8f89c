"""Tesseract OCR engine: words, boxes, lines and confidences on rendered pages; errors."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from anonymizer.core.records import Word
from anonymizer.pipeline.ocr import (
    OcrEngine,
    OcrError,
    TesseractEngine,
    build_ocr,
    debian_package,
    register_ocr,
    words_from_tesseract,
)

FONT = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 24)
LINES = ["Invoice number 4471 issued", "Customer Jane Doe paid", "Total amount 129.50 EUR"]


def render(lines=LINES, size=(520, 170), origin=(24, 24), pitch=44, scale=1.0):
    """A white page with ``lines`` in black; the ink box of every word, per line."""
    font = FONT if scale == 1.0 else ImageFont.truetype(FONT.path, round(24 * scale))
    img = Image.new("RGB", (round(size[0] * scale), round(size[1] * scale)), "white")
    draw = ImageDraw.Draw(img)
    truth = []
    for n, line in enumerate(lines):
        x, y = origin[0] * scale, (origin[1] + n * pitch) * scale
        draw.text((x, y), line, font=font, fill="black")
        row = []
        for tok in line.split(" "):
            row.append((tok, draw.textbbox((x, y), tok, font=font)))
            x += font.getlength(tok + " ")
        truth.append(row)
    return img, truth


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def engine() -> TesseractEngine:
    return TesseractEngine(lang="eng", psm=3)


def test_reads_words_with_boxes_lines_and_confidence(engine):
    img, truth = render()
    words = engine.read(img)
    assert [w.text for w in words] == [tok for row in truth for tok, _ in row]
    assert [w.line for w in words] == [n for n, row in enumerate(truth) for _ in row]
    flat = [box for row in truth for _, box in row]
    assert all(iou(w.box, box) > 0.5 for w, box in zip(words, flat))
    assert all(w.conf is not None and 50 < w.conf <= 100 for w in words)
    assert all(isinstance(w, Word) and w.quad is None for w in words)


def test_upscaling_maps_boxes_back_to_page_pixels():
    img, truth = render(lines=LINES[:1], size=(520, 70))
    words = TesseractEngine(scale=2.0, psm=7).read(img)
    assert [w.text for w in words] == LINES[0].split()
    assert all(iou(w.box, box) > 0.5 for w, (_, box) in zip(words, truth[0]))


def test_min_conf_drops_words_and_blank_page_gives_none(engine):
    img, _ = render()
    assert TesseractEngine(min_conf=100.5).read(img) == []
    assert engine.read(Image.new("L", (200, 100), 255)) == []
    assert engine.read(img.convert("RGBA"))  # other modes are converted


def test_missing_language_names_it_and_its_package():
    with pytest.raises(OcrError) as err:
        TesseractEngine(lang="eng+zzz_abc")
    msg = str(err.value)
    assert "'zzz_abc'" in msg and "apt-get install tesseract-ocr-zzz-abc" in msg
    assert "'eng'" not in msg.split("installed:")[0]  # only the missing one is named as missing
    assert debian_package("deu") == "tesseract-ocr-deu"


def test_missing_tessdata_folder_reports_the_language(tmp_path):
    with pytest.raises(OcrError, match="tesseract-ocr-eng"):
        TesseractEngine(extra_config=f"--tessdata-dir {tmp_path}")


def test_missing_binary_is_a_clear_error():
    with pytest.raises(OcrError, match="apt-get install tesseract-ocr"):
        TesseractEngine(tesseract_cmd="/nonexistent/tesseract")


@pytest.mark.parametrize("kwargs", [{"lang": ""}, {"lang": "eng+"}, {"scale": 0}])
def test_invalid_arguments(kwargs):
    with pytest.raises(OcrError):
        TesseractEngine(**kwargs)


def test_words_from_tesseract_dict():
    data = {
        "level": [1, 4, 5, 5, 5, 4, 5, 5],
        "page_num": [1] * 8,
        "block_num": [0, 1, 1, 1, 1, 2, 2, 2],
        "par_num": [0, 1, 1, 1, 1, 1, 1, 1],
        "line_num": [0, 1, 1, 1, 1, 1, 1, 1],
        "word_num": [0, 0, 1, 2, 3, 0, 1, 2],
        "left": [0, 10, 10, 60, 90, 10, 10, 80],
        "top": [0, 5, 5, 5, 5, 40, 40, 41],
        "width": [300, 200, 40, 20, 30, 200, 60, 50],
        "height": [100, 20, 20, 20, 20, 20, 20, 19],
        "conf": [-1, -1, 91.5, 30, 88, -1, 101, 12],
        "text": ["", "", "Hello", " ", "world", "", "next", "line"],
    }
    words = words_from_tesseract(data)
    assert [(w.text, w.line) for w in words] == [("Hello", 0), ("world", 0), ("next", 1), ("line", 1)]
    assert words[0].box == (10.0, 5.0, 50.0, 25.0) and words[0].conf == 91.5
    assert words[2].conf == 100.0  # clamped into [0, 100]
    assert [w.text for w in words_from_tesseract(data, min_conf=50)] == ["Hello", "world", "next"]
    assert words_from_tesseract(data, factor=0.5)[0].box == (5.0, 2.5, 25.0, 12.5)


def test_registry_builds_engines_by_name():
    engine = build_ocr("tesseract_cli", lang="eng", psm=6, extra_config="-c preserve_interword_spaces=1")
    assert isinstance(engine, TesseractEngine) and isinstance(engine, OcrEngine)
    assert engine.config == "--oem 3 --psm 6 -c preserve_interword_spaces=1"
    with pytest.raises(ValueError, match="unknown OCR engine 'nope'.*tesseract"):
        build_ocr("nope")

    class Fixed:
        def __init__(self, text: str) -> None:
            self.text = text

        def read(self, image):
            return [Word(self.text, (0, 0, 10, 10), line=0, conf=100.0)]

    register_ocr("fixed", Fixed)
    try:
        words = build_ocr("fixed", text="x").read(Image.new("L", (4, 4)))
        assert words == [Word("x", (0, 0, 10, 10), line=0, conf=100.0)]
    finally:
        from anonymizer.pipeline import ocr

        ocr.OCR_ENGINES.pop("fixed")


def test_email_box_from_ocr_covers_only_the_email():
    """End to end on pixels: OCR → page text → detection span → narrowed box."""
    from anonymizer.pipeline.page_text import Detection, build_page_text, entity_boxes

    text = "Email:john.doe@example.com"
    img = Image.new("RGB", (460, 70), "white")
    draw = ImageDraw.Draw(img)
    draw.text((20, 20), text, font=FONT, fill="black")
    x_email = 20 + FONT.getlength("Email:")
    true_box = draw.textbbox((x_email, 20), text[6:], font=FONT)
    words = TesseractEngine(psm=7).read(img)
    page = build_page_text(words)
    assert page.text == text
    (eb,) = entity_boxes(Detection("EMAIL_ADDRESS", 6, len(text), 1.0, "test"), page)
    assert abs(eb.box[0] - true_box[0]) <= 4 and abs(eb.box[2] - true_box[2]) <= 4
