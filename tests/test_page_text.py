"""Page text from OCR words and character-precise entity boxes."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from PIL import ImageFont

from anonymizer.core.records import Word
from anonymizer.pipeline.page_text import Detection, build_page_text, char_x_range, entity_boxes

FONT_PATH = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT = ImageFont.truetype(FONT_PATH, 24)


def layout(
    lines: Sequence[str], x: float = 30, y: float = 30, pitch: float = 34, indent: Sequence[float] | None = None,
    gap: str = " ",
) -> list[Word]:
    """Words as DejaVu Sans 24 px would draw ``lines`` (ink boxes), one line id per line.

    Tokens are separated by single spaces; ``gap`` (e.g. ``"   "``) replaces ``"|"`` to
    make wide column gaps; ``indent`` is the x of each line.
    """
    words = []
    for n, line in enumerate(lines):
        pen = x if indent is None else indent[n]
        top = y + n * pitch
        for tok in line.replace("|", gap).split(" "):
            if tok:
                b = FONT.getbbox(tok)
                words.append(Word(tok, (pen + b[0], top + b[1], pen + b[2], top + b[3]), line=n, conf=95.0))
            pen += FONT.getlength(tok + " ")
    return words


def ink_x(words: Sequence[Word], word: int, a: int, b: int) -> tuple[float, float]:
    """True ink x-range of characters ``[a, b)`` of ``words[word]`` as :func:`layout` drew them."""
    w = words[word]
    pen = w.box[0] - FONT.getbbox(w.text)[0]
    offset = FONT.getlength(w.text[:a])
    bbox = FONT.getbbox(w.text[a:b])
    return pen + offset + bbox[0], pen + offset + bbox[2]


def test_text_joins_words_and_lines_with_spans():
    words = layout(["Name: Jane Doe", "Phone 555"])
    page = build_page_text(words)
    assert page.text == "Name: Jane Doe\nPhone 555"
    assert [page.text[s:e] for s, e in page.spans] == ["Name:", "Jane", "Doe", "Phone", "555"]
    assert page.lines == ((0, 1, 2), (3, 4))
    assert page.words_in(6, 14) == [1, 2]
    assert page.words_in(9, 16) == [1, 2, 3]
    assert page.line_of[4] == 1


def test_lines_follow_line_ids_and_left_to_right_order():
    a = Word("second", (100, 10, 160, 30), line=1)
    b = Word("first", (10, 10, 60, 30), line=1)
    c = Word("top", (10, 50, 40, 70), line=0)  # line ids give the reading order, not y
    blank = Word("  ", (70, 10, 80, 30), line=1)
    page = build_page_text([a, b, c, blank])
    assert page.text == "top\nfirst second"
    assert page.spans[3] is None
    assert page.lines == ((2,), (1, 0))


def test_lines_are_grouped_geometrically_without_line_ids():
    words = [Word("world", (70, 12, 130, 32)), Word("below", (10, 60, 60, 80)), Word("hello", (10, 10, 60, 30))]
    page = build_page_text(words)
    assert page.text == "hello world\nbelow"


def test_inner_whitespace_of_a_word_is_collapsed():
    page = build_page_text([Word("Jane\t Doe", (0, 0, 90, 20), line=0)])
    assert page.text == "Jane Doe"


def test_box_of_a_partial_word_covers_only_its_characters():
    words = layout(["Email:john.doe@example.com"])
    page = build_page_text(words)
    start = page.text.index("john")
    (eb,) = entity_boxes(Detection("EMAIL_ADDRESS", start, len(page.text), 1.0, "test"), page)
    true0, true1 = ink_x(words, 0, 6, 26)
    assert abs(eb.box[0] - true0) <= 3 and abs(eb.box[2] - true1) <= 1
    assert eb.box[0] > words[0].box[0] + FONT.getlength("Email") - 1  # the label part is left out
    assert eb.box[1] == words[0].box[1] and eb.box[3] == words[0].box[3]
    assert eb.char_span == (start, len(page.text)) and eb.word_indices == (0,) and eb.line == 0


def test_box_drops_trailing_punctuation_inside_a_word():
    words = layout(["Call (555)123-4567, today"])
    page = build_page_text(words)
    start = page.text.index("(")
    end = page.text.index(",")
    (eb,) = entity_boxes(Detection("PHONE_NUMBER", start, end, 0.9, "test"), page)
    true0, true1 = ink_x(words, 1, 0, 13)
    assert abs(eb.box[0] - true0) <= 1
    assert abs(eb.box[2] - true1) <= 3 and eb.box[2] < words[1].box[2] - 3


def test_entity_over_words_of_one_line_gives_one_box():
    words = layout(["Phone: (555) 123-4567 ext"])
    page = build_page_text(words)
    start, end = page.text.index("("), page.text.index(" ext")
    (eb,) = entity_boxes(Detection("PHONE_NUMBER", start, end, 0.9, "test"), page)
    assert eb.word_indices == (1, 2)
    assert eb.box[0] == pytest.approx(words[1].box[0]) and eb.box[2] == pytest.approx(words[2].box[2])


def test_entity_across_lines_gives_one_box_per_line():
    words = layout(["Address: 12 Main Street", "Springfield, IL 62704 | Total"], indent=[30, 141], gap="      ")
    page = build_page_text(words)
    start = page.text.index("12")
    end = page.text.index("62704") + 5
    boxes = entity_boxes(Detection("LOCATION", start, end, 0.65, "test"), page)
    assert [b.line for b in boxes] == [0, 1]
    assert boxes[0].word_indices == (1, 2, 3) and boxes[1].word_indices == (4, 5, 6)
    assert boxes[0].box[0] == pytest.approx(words[1].box[0]) and boxes[0].box[2] == pytest.approx(words[3].box[2])
    assert boxes[1].box[2] == pytest.approx(words[6].box[2])  # "Total" is not covered
    assert page.text[boxes[1].char_span[0] : boxes[1].char_span[1]] == "Springfield, IL 62704"


def test_char_x_range_is_clamped_and_falls_back_to_counts():
    w = Word("abcd", (10, 0, 50, 20))
    assert char_x_range(w, "abcd", 0, 4) == (10, 50)
    a, b = char_x_range(w, "abcd", 1, 3)
    assert 10 < a < b < 50

    class Blank:  # a font that measures nothing (e.g. unknown glyphs)
        def getbbox(self, text):
            return (0, 0, 0, 0)

    assert char_x_range(w, "abcd", 1, 3, font=Blank()) == (20, 40)


def test_detection_span_must_be_non_empty():
    with pytest.raises(ValueError):
        Detection("PERSON", 5, 5, 1.0, "test")
