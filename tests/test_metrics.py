"""Each metric against values computed by hand on tiny inputs."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from anonymizer.core.geometry import dilate_box
from anonymizer.core.records import Entity, PageRecord, Word
from anonymizer.core.text import nfkc_single_spaced
from anonymizer.evaluation.anonymization_scores import (
    box_correct,
    changed_outside,
    covered,
    entity_found,
    ink_mask,
    iou,
    leaked_entities,
    page_truth,
    plain_kept,
    preserved,
    rewritten_mask,
    score_page,
    surrogate_readback,
    surrogates_read,
    value_coverage,
)
from anonymizer.evaluation.buckets import bucket_labels, bucket_of, check_edges
from anonymizer.evaluation.report import Evaluation, Table, json_safe, samples_csv
from anonymizer.metrics.image_quality import Lpips, psnr, resize_min_side, ssim, unchanged_outside
from anonymizer.metrics.legibility import ocr_available, ocr_box
from anonymizer.metrics.text_accuracy import (
    cer,
    char_errors,
    edit_distance,
    ned,
    ned_score,
    sentence_accuracy,
    word_accuracy,
    word_matches,
)


# --------------------------------------------------------------------------- text accuracy
def test_edit_distance_and_cer() -> None:
    assert edit_distance("kitten", "sitting") == 3  # k->s, e->i, +g
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "") == 3 and edit_distance("", "") == 0
    assert char_errors("abd", "abc") == (1, 3)
    # corpus CER: (1 + 1) / (3 + 5)
    assert cer(["abc", "hello"], ["abd", "hallo"]) == pytest.approx(0.25)
    # whitespace runs collapse, case counts
    assert cer(["a   b "], ["a b"]) == 0.0
    assert cer(["A b"], ["a b"]) == pytest.approx(1 / 3)
    assert cer([""], [""]) == 0.0
    assert cer([], []) == 0.0
    with pytest.raises(ValueError, match="2 readings for 1 targets"):
        cer(["a", "b"], ["a"])
    with pytest.raises(TypeError):
        cer("abc", "abc")


def test_word_accuracy_is_a_multiset_overlap() -> None:
    # target "the cat the": {the: 2, cat: 1}; reading {the: 1, cat: 1, sat: 1} -> 2 of 3
    assert word_matches("the cat sat", "the cat the") == (2, 3)
    assert word_matches("cat the", "the cat") == (2, 2)  # order ignored
    # summed over pairs: (2 + 0) / (3 + 2)
    assert word_accuracy(["the cat sat", "x"], ["the cat the", "y z"]) == pytest.approx(0.4)
    assert word_accuracy([""], [""]) == 1.0


def test_sentence_accuracy_and_ned() -> None:
    assert nfkc_single_spaced("  Anna \n Berg ") == "Anna Berg"
    assert sentence_accuracy(["Anna Berg", "anna berg"], ["Anna  Berg", "Anna Berg"]) == 0.5
    assert ned("kitten", "sitting") == pytest.approx(3 / 7)
    assert ned("", "") == 0.0 and ned("abc", "") == 1.0
    # AnyText's NED: mean of 1 - ned: ((1 - 3/7) + 1) / 2
    assert ned_score(["kitten", ""], ["sitting", ""]) == pytest.approx((4 / 7 + 1) / 2)
    assert sentence_accuracy([], []) == 0.0


# --------------------------------------------------------------------------- image quality
def test_psnr_of_a_constant_offset() -> None:
    a = torch.full((2, 3, 16, 16), 0.5)
    assert psnr(a + 0.1, a) == pytest.approx([20.0, 20.0], abs=1e-4)  # MSE 0.01 -> 10 log10(1 / 0.01)
    img = Image.new("RGB", (12, 12), (100, 100, 100))
    off = Image.new("RGB", (12, 12), (110, 110, 110))
    assert psnr(off, img)[0] == pytest.approx(20 * math.log10(255 / 10), abs=1e-3)
    assert psnr(img, img) == [math.inf]
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))


def test_ssim_identical_is_one() -> None:
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    noise = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    assert ssim(img, img)[0] == pytest.approx(1.0, abs=1e-6)
    assert ssim(noise, img)[0] < 0.2
    with pytest.raises(ValueError, match="11x11"):
        ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))


def test_lpips_records_its_weights_and_is_zero_for_identical_images() -> None:
    lp = Lpips(backbone_weights="random")
    assert lp.describe()["backbone_weights"] == "random" and "note" in lp.describe()
    rng = np.random.default_rng(1)
    a = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    b = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    same, other = lp([a, a], [a, b])
    assert same == pytest.approx(0.0, abs=1e-6) and other > 0
    with pytest.raises(ValueError, match="16x16"):
        lp(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    assert resize_min_side(Image.new("RGB", (40, 10)), 32).size == (128, 32)


def test_unchanged_outside_counts_bit_identical_pixels() -> None:
    assert dilate_box((2.5, 2.5, 4.2, 4.2), 1, (10, 10)) == (1, 1, 6, 6)
    assert dilate_box((0.5, 0.5, 9.9, 9.9), 2, (10, 10)) == (0, 0, 10, 10)
    original = Image.new("RGB", (10, 10), (200, 200, 200))
    edited = original.copy()
    edited.putpixel((3, 3), (0, 0, 0))  # inside the box
    assert unchanged_outside(original, edited, [(2, 2, 4, 4)], margin=1) == 1.0
    edited.putpixel((8, 8), (200, 200, 201))  # outside: 1 of the 100 - 16 outside pixels
    assert unchanged_outside(original, edited, [(2, 2, 4, 4)], margin=1) == pytest.approx(83 / 84)
    assert unchanged_outside(original, edited, [(0, 0, 10, 10)]) == 1.0  # nothing outside


@pytest.mark.skipif(not ocr_available(), reason="tesseract not installed")
def test_ocr_box_reads_the_line_in_a_box() -> None:
    from PIL import ImageFont

    from anonymizer.core.fonts import find_fonts

    font = ImageFont.truetype([f.path for f in find_fonts(None, ["DejaVu"]) if not f.bold and not f.italic][0], 18)
    img = Image.new("RGB", (200, 60), "white")
    ImageDraw.Draw(img).text((10, 5), "HELLO 42", fill="black", font=font)
    ImageDraw.Draw(img).text((10, 35), "other", fill="black", font=font)
    assert ocr_box(img, (8, 4, 110, 27), pad=2) == "HELLO 42"
    with pytest.raises(ValueError, match="outside"):
        ocr_box(img, (300, 300, 400, 400))


# --------------------------------------------------------------------------- anonymization
def page() -> PageRecord:
    """``Name: Jane Doe`` / ``Phone 555-1234`` with PERSON and PHONE_NUMBER sensitive."""
    words = [
        Word("Name:", (0, 10, 15, 20), line=0),
        Word("Jane", (20, 10, 40, 20), line=0),
        Word("Doe", (42, 10, 60, 20), line=0),
        Word("Phone", (0, 30, 20, 40), line=1),
        Word("555-1234", (25, 30, 60, 40), line=1),
    ]
    entities = [Entity("KEY", (0,), False, 0), Entity("PERSON", (1, 2), True, 1), Entity("PHONE_NUMBER", (4,), True, 2)]
    return PageRecord(id="p", image="p.png", width=100, height=50, words=words, entities=entities)


def test_iou_by_hand() -> None:
    assert iou((0, 0, 2, 2), (1, 1, 3, 3)) == pytest.approx(1 / 7)
    assert iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0


def test_truth_leaks_and_detection() -> None:
    record = page()
    truth = page_truth(record, record.words, min_chars=3)
    assert truth.labels == ["PERSON", "PHONE_NUMBER"]
    assert truth.pieces == ["Jane Doe", "555-1234"] and truth.owner == [0, 1]
    assert truth.readable_in == [True, True]
    assert truth.line_boxes == [[(20, 10, 60, 20)], [(25, 30, 60, 40)]]
    # the output still shows the phone number (read as two words), the name was replaced
    out = [Word("Name:", (0, 10, 15, 20), line=0), Word("Mary", (20, 10, 40, 20), line=0),
           Word("Smith", (42, 10, 62, 20), line=0), Word("Phone", (5, 33, 25, 43), line=1),
           Word("555", (25, 30, 40, 40), line=1), Word("-1234", (41, 30, 60, 40), line=1)]
    assert leaked_entities(out, truth.pieces, truth.owner, 2, 3) == [False, True]
    boxes = [(19, 9, 61, 21), (70, 0, 90, 8)]
    assert entity_found(truth, boxes, 100, 50) == [True, False]  # recall 1/2
    assert covered(truth, boxes, 0) == [True, False]
    # box 1: 40x12 of its 42x12 pixels lie in the padded line (20, 5, 60, 25); box 2 lies outside
    assert box_correct(truth, boxes, 100, 50) == [True, False]  # precision 1/2
    assert box_correct(truth, [(19, 9, 61, 21)], 100, 50, inside=0.96) == [False]  # 480/504 = 0.952
    # "Name:" is re-read in place, "Phone" moved (IoU 105 / 295 = 0.36): 1 of 2 kept
    assert iou((0, 30, 20, 40), (5, 33, 25, 43)) < 0.5
    assert preserved(record.words, out, truth, px=1, min_iou=0.5) == (1, 2)


def test_surrogate_readback() -> None:
    audit = {"entities": [{"type": "PERSON", "boxes": [[19, 9, 61, 21]], "surrogate": ["Mary Smith"]},
                          {"type": "US_SSN", "boxes": [[0, 0, 5, 5]], "surrogate": ["12"]}]}  # too short: skipped
    good = [Word("Smith", (42, 10, 62, 20), line=0), Word("Mary", (20, 10, 40, 20), line=0)]
    lines = surrogate_readback(audit, good, px=1, min_chars=3)
    assert [(x.type, x.read, x.errors, x.chars) for x in lines] == [("PERSON", True, 0, 10)]
    bad = [Word("Mary", (20, 10, 40, 20), line=0), Word("Smlth", (42, 10, 62, 20), line=0),
           Word("far", (80, 40, 90, 48), line=1)]  # outside the box: not read there
    lines = surrogate_readback(audit, bad, px=1, min_chars=3)
    assert [(x.read, x.errors) for x in lines] == [(False, 1)]
    assert surrogates_read(audit, good, 1, 3) == (1, 1)


def test_score_page_counts() -> None:
    record = page()
    out = [Word("Name:", (0, 10, 15, 20), line=0), Word("Mary", (20, 10, 40, 20), line=0),
           Word("Smith", (42, 10, 62, 20), line=0), Word("Phone", (0, 30, 20, 40), line=1),
           Word("555-1234", (25, 30, 60, 40), line=1)]
    audit = {"entities": [{"type": "PERSON", "boxes": [[19, 9, 61, 21]], "surrogate": ["Mary Smith"]},
                          {"type": "DATE_TIME", "boxes": [[70, 0, 90, 8]], "surrogate": ["01/01/2000"]}],
             "verification": {"redacted": [(1, 2, 3, 4)]}}
    s = score_page(record, record.words, out, audit, min_chars=3, px=1.0)
    assert s.entities == Counter({"PERSON": 1, "PHONE_NUMBER": 1})
    assert s.readable == Counter({"PERSON": 1, "PHONE_NUMBER": 1})
    assert s.leaked == Counter({"PERSON": 0, "PHONE_NUMBER": 1})  # leak rate 1/2
    assert s.found == Counter({"PERSON": 1, "PHONE_NUMBER": 0})  # recall 1/2
    assert s.boxes == Counter({"PERSON": 1, "DATE_TIME": 1}) and s.boxes_correct == Counter({"PERSON": 1})
    assert (s.kept, s.kept_of) == (2, 2)  # "Name:" and "Phone"
    assert s.surrogates == Counter({"PERSON": 1, "DATE_TIME": 1})
    assert s.surrogates_read == Counter({"PERSON": 1})  # nothing read in the DATE_TIME box
    assert (s.surrogate_errors, s.surrogate_chars) == (10, 20)  # 0 + all 10 characters of the date missing
    assert s.fallback_boxes == 1
    total = s.add(s)  # in place: doubles
    assert total.leaked["PHONE_NUMBER"] == 2 and total.kept_of == 4


def test_ink_mask_takes_the_minority_side() -> None:
    patch = np.full((10, 20), 250, np.uint8)
    patch[4:6, 2:18] = 20  # dark text on light paper
    assert ink_mask(patch).sum() == 32 and ink_mask(patch)[5, 5]
    assert (ink_mask(255 - patch) == ink_mask(patch)).all()  # light text on a dark band
    assert ink_mask(np.full((4, 4), 128, np.uint8)).all()  # no contrast: every pixel counts


def _ink_page() -> tuple[Image.Image, PageRecord]:
    image = Image.new("RGB", (100, 50), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((22, 14, 58, 15), fill="black")  # the name's ink (box 20..60 x 10..20)
    draw.rectangle((27, 34, 58, 35), fill="black")  # the phone's ink (box 25..60 x 30..40)
    draw.rectangle((70, 34, 90, 35), fill="black")  # the phone printed a second time (box 68..92 x 30..40)
    record = page()
    words = [*record.words, Word("555-1234", (68, 30, 92, 40), line=2)]
    entities = [
        Entity("PERSON", (1, 2), True, scope="personal"), Entity("PHONE_NUMBER", (4, 5), True, scope="business")
    ]
    return image, PageRecord(id="p", image="p.png", width=100, height=50, words=words, entities=entities,
                             plain=["Name", "Phone", "absent"])


def test_coverage_needs_every_printed_place_rewritten() -> None:
    image, record = _ink_page()
    out = image.copy()
    ImageDraw.Draw(out).rectangle((20, 10, 60, 20), fill="white")  # the name rewritten
    ImageDraw.Draw(out).rectangle((25, 30, 60, 40), fill="white")  # the phone's first place only
    boxes = [(20, 10, 60, 20), (25, 30, 60, 40), (0, 0, 10, 5)]  # the last box changed nothing: not rewritten
    mask = rewritten_mask(image, out, boxes, margin=0)
    assert mask[15, 30] and mask[35, 30] and not mask[2, 2]
    assert value_coverage(record, image, mask) == [True, False]
    # "Jane" wholly rewritten, 6 of the 16 ink columns of "Doe": each word box must reach ink_cover
    part = rewritten_mask(image, out, [(20, 10, 48, 20)], margin=0)
    assert value_coverage(record, image, part)[0] is False
    assert value_coverage(record, image, part, ink_cover=0.3)[0] is True


def test_pixels_changed_outside_and_plain_words() -> None:
    image, record = _ink_page()
    out = image.copy()
    out.putpixel((5, 45), (0, 0, 0))  # outside every box
    out.putpixel((30, 15), (255, 255, 255))  # inside the name's box
    assert changed_outside(image, out, [(20, 10, 60, 20)], px=0) == (1, 100 * 50 - 40 * 10)
    words_in = [Word("Name:", (0, 0, 5, 5)), Word("PHONE", (0, 0, 5, 5))]
    words_out = [Word("name", (0, 0, 5, 5))]
    assert plain_kept(record.plain, words_in, words_out) == (1, 2)  # "absent" is not read in the input


def test_score_page_pixels_and_scope() -> None:
    image, record = _ink_page()
    out = image.copy()
    ImageDraw.Draw(out).rectangle((19, 9, 61, 21), fill="white")
    ImageDraw.Draw(out).rectangle((3, 44, 4, 45), fill="black")  # 4 pixels changed outside
    audit = {"entities": [{"type": "PERSON", "boxes": [[20, 10, 60, 20]], "surrogate": ["Mary Smith"]}],
             "verification": {"redacted": [[25, 30, 60, 40], [68, 30, 92, 40]]}}
    ImageDraw.Draw(out).rectangle((25, 30, 92, 40), fill="black")  # the fallback boxes drawn
    s = score_page(record, record.words, [], audit, images=(image, out), margin=1, readback=False)
    assert s.covered == Counter({"PERSON": 1, "PHONE_NUMBER": 1})
    assert (s.changed_outside, s.plain_read, s.plain_kept) == (4, 2, 0)
    personal = score_page(record, record.words, [], audit, images=(image, out), margin=1, readback=False,
                          scope="personal")
    assert personal.entities == Counter({"PERSON": 1}) and personal.covered == Counter({"PERSON": 1})
    assert personal.changed_outside == 4  # page-level figures count every sensitive box
    assert score_page(record, record.words, [], audit).covered == Counter({"PERSON": 0, "PHONE_NUMBER": 0})


# --------------------------------------------------------------------------- buckets and report
def test_height_buckets() -> None:
    edges = check_edges([12, 16.5])
    assert bucket_labels(edges) == ["<12", "12-16.5", ">=16.5"]
    assert [bucket_of(v, edges) for v in (11.9, 12, 16.4, 16.5, 40)] == [
        "<12", "12-16.5", "12-16.5", ">=16.5", ">=16.5"
    ]
    assert bucket_labels([]) == ["all"]
    for bad, message in [([16, 12], "strictly increasing"), ([12, 12], "strictly increasing"),
                         ([0, 4], "positive"), (["a"], "positive"), ("12", "list")]:
        with pytest.raises(ValueError, match=message):
            check_edges(bad)


def test_report_helpers() -> None:
    assert json_safe({"a": math.inf, "b": [1.5, math.nan], "c": (1, 2)}) == {"a": None, "b": [1.5, None], "c": [1, 2]}
    text = samples_csv([{"id": "a", "x": 1.5, "per_type": {"P": 1}}, {"id": "b", "y": None}])
    assert text.splitlines() == ["id,x,y", "a,1.5,", "b,,"]
    table = Table("T", ["k", "v"], [["a", 0.12345], ["b", None], ["c", 123.456]])
    assert table.markdown().splitlines()[2:] == ["| k | v |", "|---|---|", "| a | 0.123 |", "| b | n/a |",
                                                 "| c | 123.46 |"]
    assert Evaluation("t", {}, [table], [], notes=["n"]).markdown().endswith("- n\n")
