"""Ruled box forms: boxes found from their rules, labels typing the values under them, values
typed by shape under unreadable labels, handwriting as regions, labels never replaced."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from anonymizer.core.records import Word
from anonymizer.pipeline.box_fields import ruled_boxes
from anonymizer.pipeline.detect import PiiDetector
from anonymizer.pipeline.page_text import build_page_text
from tests.test_field_ink import printed, scribble

SMALL = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 11)
LARGE = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 20)


def put(draw: ImageDraw.ImageDraw, x: float, y: float, text: str, font, line: int) -> list[Word]:
    return printed(draw, x, y, text, line, 92.0, font)


#: (label, value) per box of a 2-column grid; "" = no value; None = handwriting.
CELLS = [("1 Employee's name", "ROBERT WALSH"), ("2 Date of birth", "04/09/1986"),
         ("3 Social security number", "123-45-6789"), ("4 Wages, tips, other compensation", "48,500.00"),
         ("5 Xqzvt wrlpk", "1,234.56"), ("6 Qwerty zxcv", "Lorem"),
         ("7 Nationality", "French"), ("8 Employee's address", None)]


def box_form() -> tuple[Image.Image, list[Word]]:
    image = Image.new("RGB", (800, 520), "white")
    draw = ImageDraw.Draw(image)
    words: list[Word] = []
    line = 0
    for k, (label, value) in enumerate(CELLS):
        x0, y0 = 40 + (k % 2) * 360, 40 + (k // 2) * 110
        draw.rectangle((x0, y0, x0 + 350, y0 + 100), outline="black", width=2)
        words += put(draw, x0 + 6, y0 + 6, label, SMALL, line)
        line += 1
        if value is None:
            scribble(draw, x0 + 12, y0 + 40, x0 + 260, y0 + 80, seed=k)
            words.append(Word("~wl|", (x0 + 14, y0 + 44, x0 + 120, y0 + 78), line=line, conf=12.0))
        elif value:
            words += put(draw, x0 + 10, y0 + 50, value, LARGE, line)
        line += 1
    return image, words


def test_ruled_boxes_are_found_and_the_page_around_them_is_not():
    image, _ = box_form()
    boxes = ruled_boxes(image)
    assert len(boxes) == len(CELLS)
    assert all(330 <= b.x1 - b.x0 <= 352 and 80 <= b.y1 - b.y0 <= 102 for b in boxes)
    assert ruled_boxes(Image.new("RGB", (400, 300), "white")) == []


def test_box_values_take_the_labels_type_or_a_strict_shape(tmp_path):
    detector = PiiDetector(nlp={"engine": "none"}, cache_dir=str(tmp_path))
    image, words = box_form()
    page, detections, regions = detector.detect_page(image, words)
    got = {(d.entity_type, page.text[d.start : d.end]) for d in detections}
    assert {("PERSON", "ROBERT WALSH"), ("DATE_TIME", "04/09/1986"), ("US_SSN", "123-45-6789"),
            ("AMOUNT", "48,500.00"), ("AMOUNT", "1,234.56")} <= got  # box 5: an unknown label, an amount
    assert not any(text in ("Lorem", "French") for _, text in got)  # a bare word under an unknown label; not personal
    labels = {w.text for w in words if w.box[3] - w.box[1] < 14}
    assert not any(t in labels for _, text in got for t in text.split())  # labels are never values
    assert [r.entity_type for r in regions] == ["LOCATION"]  # the handwritten address
    x0, y0, x1, y1 = regions[0].box
    assert 400 <= x0 <= 420 and x1 <= 750 and 395 <= y0 and y1 <= 470  # inside box 8, under its label


def test_a_table_is_not_a_box_form(tmp_path):
    detector = PiiDetector(nlp={"engine": "none"}, cache_dir=str(tmp_path), names=False)
    image = Image.new("RGB", (700, 300), "white")
    draw = ImageDraw.Draw(image)
    words, line = [], 0
    for r in range(3):
        for c, text in enumerate(["Widget", "3", "12.00"]):
            x0, y0 = 40 + c * 200, 40 + r * 60
            draw.rectangle((x0, y0, x0 + 190, y0 + 50), outline="black", width=2)
            words += put(draw, x0 + 8, y0 + 14, text, LARGE, line)
        line += 1
    assert detector.box_fields.detect(image, build_page_text(words))[2] is None
