"""Unread values in labelled fields (handwriting) and the illumination flattening before OCR."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from anonymizer.core.records import Word
from anonymizer.pipeline.detect import PiiDetector
from anonymizer.pipeline.field_ink import InkRegion, ink_box
from anonymizer.pipeline.illumination import flatten_background, needs_flattening, prepare_for_ocr

FONT = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 24)


@pytest.fixture(scope="module")
def detector(tmp_path_factory) -> PiiDetector:
    return PiiDetector(nlp={"engine": "none"}, cache_dir=str(tmp_path_factory.mktemp("cache")))


def printed(draw: ImageDraw.ImageDraw, x: float, y: float, text: str, line: int, conf: float = 95.0,
            font: ImageFont.FreeTypeFont = FONT) -> list[Word]:
    """Draw ``text`` and return its words (ink boxes) as a confident OCR engine would."""
    words, pen = [], x
    for tok in text.split():
        b = font.getbbox(tok)
        draw.text((pen, y), tok, font=font, fill="black")
        words.append(Word(tok, (pen + b[0], y + b[1], pen + b[2], y + b[3]), line=line, conf=conf))
        pen += font.getlength(tok + " ")
    return words


def scribble(draw: ImageDraw.ImageDraw, x0: int, y0: int, x1: int, y1: int, seed: int = 0) -> None:
    """Handwriting-like strokes in a box (blue ink)."""
    rng = np.random.default_rng(seed)
    points = [(x, y0 + (y1 - y0) * (0.5 + 0.45 * np.sin(x / 7.0 + rng.uniform(0, 3)))) for x in range(x0, x1, 3)]
    draw.line(points, fill=(40, 40, 140), width=3)


def form_page() -> tuple[Image.Image, list[Word]]:
    """A fill-in form: a printed heading, ``Name: ____`` with a handwritten value OCR read as
    noise, ``Phone: ____`` with a typed value, and ``Email: ____`` left empty."""
    image = Image.new("RGB", (900, 420), "white")
    draw = ImageDraw.Draw(image)
    words = printed(draw, 40, 30, "Please fill out the form below", 0)
    words += printed(draw, 40, 120, "Name:", 1)
    draw.line([(130, 150), (700, 150)], fill="black", width=2)
    scribble(draw, 150, 100, 420, 148)
    words.append(Word("Sx|ly", (152, 104, 300, 146), line=1, conf=22.0))  # the handwriting read as noise
    words += printed(draw, 40, 220, "Phone:", 2)
    draw.line([(130, 250), (700, 250)], fill="black", width=2)
    words += printed(draw, 150, 220, "(212) 555-0187", 2)
    words += printed(draw, 40, 320, "Email:", 3)
    draw.line([(130, 350), (700, 350)], fill="black", width=2)
    return image, words


def test_handwriting_in_a_labelled_field_becomes_a_region_of_the_labels_type(detector):
    image, words = form_page()
    page, detections, regions = detector.detect_page(image, words)
    assert [r.entity_type for r in regions] == ["PERSON"]
    x0, y0, x1, y1 = regions[0].box
    assert x0 <= 152 and x1 >= 418 and y0 <= 104 and y1 >= 140  # the whole scribble
    assert y0 > 60  # not the printed line above
    assert x1 < 700  # the rule under the field is not writing
    # the typed phone stays a text detection; nothing is read from the noise "Sx|ly"
    assert [(d.entity_type, page.text[d.start : d.end]) for d in detections] == [("PHONE_NUMBER", "(212) 555-0187")]


def test_confident_or_empty_fields_give_no_region(detector):
    image, words = form_page()
    ImageDraw.Draw(image).rectangle((140, 95, 440, 149), fill="white")  # the name field emptied
    ImageDraw.Draw(image).line([(130, 150), (700, 150)], fill="black", width=2)
    _, _, regions = detector.detect_page(image, [w for w in words if w.text != "Sx|ly"])
    assert regions == []
    off = PiiDetector(nlp={"engine": "none"}, field_ink=False)
    assert off.detect_page(*form_page())[2] == []


def test_region_templates_follow_the_label():
    assert InkRegion("LOCATION", (0, 0, 1, 1), 0.6, "zipcode").template == "12345"
    assert InkRegion("LOCATION", (0, 0, 1, 1), 0.6, "city").template == "Springfield"
    assert InkRegion("DATE_TIME", (0, 0, 1, 1), 0.6, "dateofbirth").template == "01/02/2000"


def test_ink_box_skips_rules_and_specks():
    gray = np.full((60, 400), 255, np.uint8)
    gray[50, 0:400] = 0  # a rule
    gray[45, 0:400:3] = 0  # a dotted leader
    gray[5, 390] = 0  # a speck
    assert ink_box(gray, 30.0) is None
    gray[20:40, 100:160] = 20
    assert ink_box(gray, 30.0) == pytest.approx((100, 20, 160, 40), abs=6)
    assert ink_box(gray, 30.0, reach=2.0) is None  # writing starts too far from the label


def test_page_anonymizer_replaces_unread_values_with_random_surrogates(detector):
    from anonymizer.pipeline.page_anonymizer import DocumentContext, PageAnonymizer
    from anonymizer.pipeline.render import build_renderer
    from anonymizer.pipeline.surrogates import SurrogateGenerator

    image, words = form_page()
    draw = ImageDraw.Draw(image)
    words += printed(draw, 40, 380, "Contact:", 4)
    scribble(draw, 170, 360, 430, 405, seed=3)
    words.append(Word("~/4_", (172, 362, 300, 402), line=4, conf=15.0))

    class FixedOcr:
        def read(self, img):
            return list(words)

    anonymizer = PageAnonymizer(FixedOcr(), detector, build_renderer("classical"), verify=False)
    result = anonymizer(image, DocumentContext(SurrogateGenerator()), 0)
    unread = [e for e in result.audit["entities"] if e.get("read") is False]
    assert [e["type"] for e in unread] == ["PERSON", "PERSON"] and all(e["source"] == "field_ink" for e in unread)
    assert unread[0]["surrogate"] != unread[1]["surrogate"]  # unknown originals: no shared surrogate
    assert len({e["value_id"] for e in unread}) == 2
    before, after = np.asarray(image), np.asarray(result.image)
    assert (before[104:146, 160:410] != after[104:146, 160:410]).any(axis=2).mean() > 0.3  # the scribble rewritten
    assert (before[:80] == after[:80]).all()  # the printed line above untouched


# --------------------------------------------------------------------------- illumination
def shaded_page() -> Image.Image:
    """Text on paper lit from one corner (a phone photo): grey, uneven paper."""
    image = Image.new("L", (600, 300), 255)
    ImageDraw.Draw(image).text((40, 120), "Account number 4471", font=FONT, fill=0)
    yy, xx = np.mgrid[0:300, 0:600]
    light = 0.45 + 0.55 * (1 - (xx + yy) / 900)
    return Image.fromarray((np.asarray(image, np.float32) * light).astype(np.uint8)).filter(ImageFilter.BLUR)


def test_flattening_whitens_uneven_paper_and_keeps_the_ink():
    page = shaded_page()
    flat = np.asarray(flatten_background(page))
    paper = np.asarray(page)[250:290, 450:590]
    assert paper.mean() < 150 and flat[250:290, 450:590].mean() > 240  # the dark corner is paper again
    assert flat[120:150, 40:300].min() < 100  # the text is still dark
    assert needs_flattening(page) and not needs_flattening(Image.new("RGB", (200, 100), "white"))
    clean = Image.new("RGB", (200, 100), "white")
    assert prepare_for_ocr(clean, "auto") is clean and prepare_for_ocr(page, "none") is page
    with pytest.raises(ValueError, match="ocr.preprocess must be one of"):
        prepare_for_ocr(page, "sharpen")
