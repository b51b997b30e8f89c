"""Verification of the replaced regions only (``verify.scope=regions``): a leak anywhere on
the page is still found, as by reading the whole page again."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from anonymizer.core.records import Word
from anonymizer.pipeline.ocr import build_ocr
from anonymizer.pipeline.page_anonymizer import _changed_outside
from anonymizer.pipeline.verify import find_leaks, verification_regions, words_after_edit
from tests.test_ocr import FONT, render

LINES = ["Customer Jane Doe paid", "Invoice number 4471 issued", "Signed by Jane Doe today"]


@pytest.fixture(scope="module")
def ocr():
    return build_ocr("tesseract")


def _box(truth, line: int, first: int, last: int):
    boxes = [b for _, b in truth[line][first : last + 1]]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _draw_over(image: Image.Image, box, text: str) -> Image.Image:
    out = image.copy()
    draw = ImageDraw.Draw(out)
    draw.rectangle(box, fill="white")
    draw.text((box[0], box[1] - 4), text, font=FONT, fill="black")
    return out


def _both_scopes(ocr, image, output, boxes, values):
    first = ocr.read(image)
    words, regions = words_after_edit(ocr, output, first, boxes, margin=2)
    assert not _changed_outside(image, output, regions)
    return find_leaks(words, values), find_leaks(ocr.read(output), values)


def test_a_value_repeated_outside_every_box_is_found(ocr) -> None:
    image, truth = render(LINES, size=(520, 170))
    box = _box(truth, 0, 1, 2)  # "Jane Doe" on the first line is replaced, the one on the last line is not
    output = _draw_over(image, box, "Mary Poe")
    regions_leaks, page_leaks = _both_scopes(ocr, image, output, [box], ["Jane Doe", "4471"])
    assert [leak.index for leak in regions_leaks] == [leak.index for leak in page_leaks] == [0, 1]
    (leak,) = [leak for leak in regions_leaks if leak.index == 0]
    assert len(leak.boxes) == 1 and leak.boxes[0][1] > truth[2][0][1][1] - 5  # found on the last line only


def test_a_value_spanning_a_box_edge_is_found(ocr) -> None:
    image, truth = render(LINES, size=(520, 170))
    box = _box(truth, 1, 2, 2)  # the box holds "4471", a renderer that left the value and drew a mark
    output = image.copy()
    ImageDraw.Draw(output).line([(box[0], box[3] + 1), (box[2], box[3] + 1)], fill="black")
    values = ["number 4471 issued"]  # the value runs past both edges of the box
    regions_leaks, page_leaks = _both_scopes(ocr, image, output, [box], values)
    assert [leak.index for leak in regions_leaks] == [leak.index for leak in page_leaks] == [0]


def test_no_leak_after_a_clean_replacement(ocr) -> None:
    image, truth = render(LINES, size=(520, 170))
    boxes = [_box(truth, 0, 1, 2), _box(truth, 2, 2, 3)]
    output = image
    for box in boxes:
        output = _draw_over(output, box, "Mary Poe")
    regions_leaks, page_leaks = _both_scopes(ocr, image, output, boxes, ["Jane Doe"])
    assert regions_leaks == page_leaks == []


def test_regions_grow_to_whole_lines_and_merge() -> None:
    words = [Word("a", (10, 10, 30, 20), line=0), Word("b", (40, 10, 60, 20), line=0),
             Word("c", (100, 10, 120, 20), line=0), Word("d", (10, 40, 30, 50), line=1)]
    regions = verification_regions([(42, 12, 58, 18), (12, 11, 28, 19)], words, (200, 100), margin=2)
    assert regions == [(10, 9, 120, 21)]  # both boxes grown to line 0, merged; line 1 untouched
    assert verification_regions([], words, (200, 100), 2) == []


def test_pixels_changed_outside_the_regions_are_noticed() -> None:
    image = Image.new("RGB", (100, 50), "white")
    output = image.copy()
    ImageDraw.Draw(output).point((90, 40), fill="black")
    assert _changed_outside(image, output, [(0, 0, 50, 50)])
    assert not _changed_outside(image, output, [(80, 30, 100, 50)])
