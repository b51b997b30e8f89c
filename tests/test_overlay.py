"""draw_audit: entity boxes in their type colour, redactions crossed in red, input untouched."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from anonymizer.pipeline.overlay import REDACTED_COLOR, draw_audit, type_color

AUDIT = {
    "entities": [
        {"type": "EMAIL_ADDRESS", "score": 0.9, "boxes": [[20.0, 40.0, 80.0, 60.0]], "surrogate": ["a@example.org"]},
        {"type": "PHONE_NUMBER", "score": 0.5, "boxes": [[100.0, 100.0, 150.0, 120.0], [100.0, 130.0, 140.0, 150.0]]},
    ],
    "verification": {"redacted": [[10.0, 160.0, 50.0, 190.0]]},
}


def test_boxes_are_outlined_in_their_type_colour() -> None:
    page = Image.new("RGB", (200, 200), "white")
    out = np.asarray(draw_audit(page, AUDIT, labels=False, width=2))
    assert tuple(out[50, 20]) == type_color("EMAIL_ADDRESS")  # left edge of the first box
    assert tuple(out[59, 50]) == type_color("EMAIL_ADDRESS")  # bottom edge
    assert tuple(out[140, 100]) == type_color("PHONE_NUMBER")  # second box of the second entity
    assert tuple(out[50, 50]) == (255, 255, 255)  # inside a box: untouched
    assert tuple(out[175, 10]) == REDACTED_COLOR
    assert tuple(out[175, 30]) == REDACTED_COLOR  # the cross through the redaction (centre)
    assert np.asarray(page).min() == 255  # the input is not drawn on


def test_labels_are_drawn_above_the_first_box() -> None:
    page = Image.new("RGB", (200, 200), "white")
    plain = np.asarray(draw_audit(page, AUDIT, labels=False))
    labelled = np.asarray(draw_audit(page, AUDIT, labels=True))
    changed = np.argwhere((plain != labelled).any(axis=2))
    assert len(changed) > 0
    rows = changed[:, 0]
    assert rows.max() < 100  # each label sits above its entity's first box (tops at y=40 and y=100)
    assert (rows < 40).any() and ((rows > 60) & (rows < 100)).any()


def test_type_colours_are_stable_and_distinct() -> None:
    assert type_color("PERSON") == type_color("PERSON")
    assert len({type_color(t) for t in ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE")}) == 4


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="width"):
        draw_audit(Image.new("RGB", (10, 10)), AUDIT, width=0)


def test_flagged_leaks_are_crossed_when_nothing_was_redacted() -> None:
    audit = {"entities": [], "verification": {"leaks": [{"entity": 0, "type": "PERSON", "boxes": [[60, 40, 90, 50]]}]}}
    out = draw_audit(Image.new("RGB", (100, 60), "white"), audit)
    assert out.getpixel((60, 45)) == REDACTED_COLOR and out.getpixel((75, 45)) == REDACTED_COLOR  # edge, cross
    assert out.getpixel((62, 45)) == (255, 255, 255)


def test_an_empty_audit_leaves_the_page_as_is() -> None:
    page = Image.new("L", (30, 20), 128)
    out = draw_audit(page, {"entities": [], "verification": {"checked": False}})
    assert out.mode == "RGB" and np.asarray(out).min() == 128 == np.asarray(out).max()
