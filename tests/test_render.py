"""Renderers: only the dilated boxes change; classical style estimation, legibility, fitting;
page context (face and size from the page's non-sensitive words); errors."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from anonymizer.core.fonts import find_fonts
from anonymizer.core.geometry import dilate_box
from anonymizer.core.records import Word
from anonymizer.metrics.legibility import cer, ocr_available, ocr_line
from anonymizer.pipeline.page_anonymizer import DocumentContext, PageAnonymizer
from anonymizer.pipeline.page_text import Detection, build_page_text
from anonymizer.pipeline.render import RENDERERS, Renderer, Replacement, build_renderer
from anonymizer.pipeline.render import classical as classical_module
from anonymizer.pipeline.render.base import nearest_context
from anonymizer.pipeline.render.classical import ClassicalRenderer, fit_layout
from anonymizer.pipeline.render.style import choose_font, estimate_style
from anonymizer.pipeline.surrogates import SurrogateGenerator

FONTS = {f"{f.family}{'-Bold' if f.bold else ''}": f.path for f in find_fonts() if not f.italic}

# name: paper, ink, font, size, label drawn before the entity, original, surrogate, band, noise
CASES = {
    "black_on_white": ((255, 255, 255), (0, 0, 0), "DejaVuSans", 24, "Name: ", "John Smith", "Anna Berg", False, 0),
    "blue_on_tinted": ((244, 236, 212), (25, 55, 160), "LiberationSerif", 26, "Born: ", "12/03/1987", "05/11/1962",
                       False, 3),
    "white_on_dark": ((35, 40, 60), (250, 250, 250), "DejaVuSans-Bold", 24, "IBAN ", "GB33 BUKB 2020",
                      "DE89 3704 0044", True, 0),
}
BASELINE, LEFT, MARGIN = 85, 20, 2


def make_page(name: str) -> tuple[Image.Image, Replacement, float]:
    """A 460x150 page with one labelled line; the entity's OCR-like box (ink + 2 px) as a
    Replacement, and the drawn font's cap height."""
    paper, ink, face, size, label, original, surrogate, band, noise = CASES[name]
    img = Image.new("RGB", (460, 150), (255, 255, 255) if band else paper)
    draw = ImageDraw.Draw(img)
    if band:
        draw.rectangle((0, 40, 459, 110), fill=paper)
    font = ImageFont.truetype(FONTS[face], size)
    draw.text((LEFT, BASELINE), label + original, font=font, fill=ink, anchor="ls")
    x = LEFT + font.getlength(label)
    left, top, right, bottom = font.getbbox(original, anchor="ls")
    box = (x + left - 2, BASELINE + top - 2, x + right + 2, BASELINE + bottom + 2)
    if noise:
        grain = np.random.default_rng(0).normal(0, noise, (img.height, img.width, 1))
        img = Image.fromarray(np.clip(np.asarray(img, np.float32) + grain, 0, 255).round().astype(np.uint8))
    cap = -font.getbbox("H", anchor="ls")[1]
    return img, Replacement(box, surrogate, original_length=len(original)), cap


def dilated(boxes, margin: int, shape) -> np.ndarray:
    m = np.zeros(shape[:2], bool)
    for x0, y0, x1, y1 in boxes:
        y_lo, x_lo = max(math.floor(y0 - margin), 0), max(math.floor(x0 - margin), 0)
        m[y_lo : math.ceil(y1 + margin), x_lo : math.ceil(x1 + margin)] = True
    return m


def crop(img: Image.Image, box, pad: int = 6) -> Image.Image:
    x0, y0, x1, y1 = box
    return img.crop((max(int(x0) - pad, 0), max(int(y0) - pad, 0), min(int(x1) + pad + 1, img.width),
                     min(int(y1) + pad + 1, img.height)))


@pytest.fixture(scope="module")
def classical() -> ClassicalRenderer:
    return build_renderer("classical", margin=MARGIN)  # type: ignore[return-value]


# ------------------------------------------------------------------ the invariant
@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("renderer", ["classical", "redact"])
def test_only_dilated_boxes_change(name: str, renderer: str) -> None:
    page, rep, _ = make_page(name)
    before = np.array(page)
    second = Replacement((300.0, 120.0, 380.0, 140.0), "Extra", original_length=4)  # a blank region too
    out = build_renderer(renderer, margin=MARGIN)(page, [rep, second])
    a = np.array(out)
    inside = dilated([rep.box, second.box], MARGIN, a.shape)
    assert out.size == page.size and out.mode == "RGB"
    assert np.array_equal(a[~inside], before[~inside])
    assert (a[inside] != before[inside]).any()
    assert np.array_equal(np.array(page), before)  # the input is not modified


def test_no_replacements_returns_an_identical_copy(classical: ClassicalRenderer) -> None:
    page, _, _ = make_page("black_on_white")
    out = classical(page, [])
    assert out is not page and np.array_equal(np.array(out), np.array(page))


# ------------------------------------------------------------------ style estimation
@pytest.mark.parametrize("name", CASES)
def test_estimated_colours_and_height(name: str) -> None:
    page, rep, cap = make_page(name)
    paper, ink = CASES[name][0], CASES[name][1]
    style = estimate_style(np.asarray(page), rep.box, MARGIN)
    assert style.found_ink
    assert np.abs(np.subtract(style.paper, paper)).max() <= 4
    assert np.abs(np.subtract(style.ink, ink)).max() <= 12
    assert abs(style.cap_height - cap) / cap <= 0.15
    assert abs(style.baseline - BASELINE) <= 1.0
    assert max(style.noise) == pytest.approx(CASES[name][8], abs=0.8)


def test_font_weight_and_class_are_matched(classical: ClassicalRenderer) -> None:
    plans = {}
    for name in CASES:
        page, rep, _ = make_page(name)
        plans[name] = classical.plan(page, [rep])[0][1]
    assert not plans["black_on_white"].font.bold and plans["white_on_dark"].font.bold
    for name in ("black_on_white", "white_on_dark"):  # drawn with DejaVu Sans (Bold)
        assert "Serif" not in plans[name].font.family and "Mono" not in plans[name].font.family


# ------------------------------------------------------------------ legibility and privacy
@pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed")
@pytest.mark.parametrize("name", CASES)
def test_ocr_reads_the_surrogate_not_the_original(name: str, classical: ClassicalRenderer) -> None:
    page, rep, _ = make_page(name)
    original = CASES[name][5]
    assert cer([ocr_line(crop(page, rep.box))], [original]) <= 0.1  # the page is legible to start with
    read = ocr_line(crop(classical(page, [rep]), rep.box))
    assert cer([read], [rep.text]) <= 0.2
    assert original not in read and cer([read], [original]) >= 0.5


@pytest.mark.parametrize("name", CASES)
def test_surrogate_fits_inside_the_box(name: str, classical: ClassicalRenderer) -> None:
    page, rep, _ = make_page(name)
    long = Replacement(rep.box, rep.text + " " + rep.text, original_length=rep.original_length)
    for r in (rep, long):
        (style, layout), = classical.plan(page, [r])
        x0, y0, x1, y1 = r.box
        assert x0 <= layout.ink_box[0] and layout.ink_box[2] <= x1 + 0.5
        assert y0 - MARGIN <= layout.ink_box[1] and layout.ink_box[3] <= y1 + MARGIN
        assert layout.scale_x >= 0.85 - 1e-9
        # Measured on pixels: ink-coloured pixels of the result lie in the box (+1 px anti-aliasing).
        a = np.asarray(classical(page, [r]), np.float32)
        region = dilated([r.box], MARGIN, a.shape)
        far = (np.linalg.norm(a - np.asarray(style.paper), axis=-1) > 80) & region
        ys, xs = np.nonzero(far)
        assert xs.min() >= x0 - 1 and xs.max() <= x1 + 1
    short, long_plan = classical.plan(page, [rep])[0][1], classical.plan(page, [long])[0][1]
    assert long_plan.size * long_plan.scale_x < short.size * short.scale_x  # fitted by condensing/shrinking


def test_erasure_matches_the_paper_texture(classical: ClassicalRenderer) -> None:
    page, rep, _ = make_page("blue_on_tinted")
    blank = Replacement(rep.box, " . ", original_length=1)  # near-empty surrogate: mostly erased paper
    a = np.asarray(classical(page, [blank]), np.float32)
    x0, y0, x1, y1 = (int(v) for v in rep.box)
    erased = a[y0 + 1 : y1 - 1, x1 - 40 : x1 - 1].reshape(-1, 3)  # right of the drawn "."
    assert np.abs(np.median(erased, axis=0) - CASES["blue_on_tinted"][0]).max() <= 3
    assert erased.std(axis=0) == pytest.approx([3.0, 3.0, 3.0], abs=1.0)


def test_neighbouring_marks_in_the_margin_are_kept() -> None:
    img = Image.new("RGB", (200, 60), "white")
    ImageDraw.Draw(img).rectangle((40, 20, 49, 39), fill="black")  # the "text"
    ImageDraw.Draw(img).rectangle((52, 25, 52, 30), fill="black")  # a neighbour 2 px right of the box
    out = np.asarray(ClassicalRenderer(margin=3)(img, [Replacement((40, 20, 50, 40), "X")]))
    assert (out[25:31, 52] == 0).all()


def test_classical_is_deterministic_and_blank_boxes_get_default_ink(classical: ClassicalRenderer) -> None:
    page = Image.new("RGB", (200, 60), (250, 250, 250))
    rep = Replacement((20, 15, 150, 45), "Jane Doe")
    (style, _), = classical.plan(page, [rep])
    assert not style.found_ink and style.ink == (0, 0, 0)
    a, b = np.array(classical(page, [rep])), np.array(classical(page, [rep]))
    assert np.array_equal(a, b) and (a < 100).any()


# ------------------------------------------------------------------ page context
def make_context_page(face: str, size: int, value: str = "Jonathan Miller",
                      surrogate: str = "Anna Berg Larsen") -> tuple[Image.Image, Replacement]:
    """A prose line, then ``Customer Name: <value> Account Manager`` in ``face`` at ``size``
    px on light noise; the value's box (ink + 1 px) with the other words (>= 3 characters)
    as context, nearest first."""
    font = ImageFont.truetype(FONTS[face], size)
    lines = [("Please review the details below", None), (f"Customer Name: {value} Account Manager", value)]
    width = int(font.getlength(lines[1][0]) + 60)
    img = Image.new("RGB", (width, size * 5), (250, 248, 244))
    draw = ImageDraw.Draw(img)
    words, box = [], None
    for y, (text, target) in zip((round(size * 1.6), round(size * 3.4)), lines):
        x, start = 20.0, text.find(target) if target else -1
        for token in text.split():
            left, top, right, bottom = font.getbbox(token, anchor="ls")
            draw.text((x, y), token, font=font, fill=(20, 20, 30), anchor="ls")
            b = (math.floor(x + left) - 1.0, math.floor(y + top) - 1.0, math.ceil(x + right) + 1.0,
                 math.ceil(y + bottom) + 1.0)
            pos = text.find(token, max(start, 0)) if target else -1
            if target and start <= pos < start + len(target):
                box = b if box is None else (box[0], min(box[1], b[1]), b[2], max(box[3], b[3]))
            elif len(token) >= 3:
                words.append((b, token))
            x += font.getlength(token + " ")
    grain = np.random.default_rng(size).normal(0, 2.0, (img.height, img.width, 1))
    img = Image.fromarray(np.clip(np.asarray(img, np.float32) + grain, 0, 255).round().astype(np.uint8))
    assert box is not None
    return img, Replacement(box, surrogate, original_length=len(value), context=nearest_context(box, words))


@pytest.mark.parametrize("size", [14, 24])
@pytest.mark.parametrize("face", ["NotoSans", "DejaVuSans", "LiberationSerif", "DejaVuSansMono", "NotoSerif-Bold"])
def test_context_words_identify_the_face(face: str, size: int, classical: ClassicalRenderer) -> None:
    page, rep = make_context_page(face, size)
    assert len(rep.context) >= 5
    (_, layout), = classical.plan(page, [rep])
    assert layout.font.path == FONTS[face]
    drawn_cap, true_cap = layout.size * layout.font.cap, size * layout.font.cap
    assert abs(drawn_cap / true_cap - 1) <= 0.06  # sized on the line's words


def test_context_improves_the_face_choice_at_body_size(classical: ClassicalRenderer) -> None:
    """Over the faces at 14 px, the box's statistics alone pick the wrong face often (the bug
    report: Noto Sans drawn in another face); with the line's words almost never."""
    right = {False: 0, True: 0}
    for face in ("NotoSans", "NotoSerif", "DejaVuSans", "LiberationSans", "LiberationMono", "DejaVuSerif"):
        page, rep = make_context_page(face, 14)
        bare = Replacement(rep.box, rep.text, rep.original_length)
        for use, r in ((False, bare), (True, rep)):
            right[use] += classical.plan(page, [r])[0][1].font.path == FONTS[face]
    assert right[True] == 6 and right[False] < right[True]


def test_lowercase_values_are_sized_like_their_line(classical: ClassicalRenderer) -> None:
    """``www.acme.com`` has no capital and no ascender: alone, its x-height passes for a
    cap height (drawn ~25 % too small); the line's words give the size."""
    page, rep = make_context_page("NotoSans", 24, value="www.acme.com", surrogate="www.nova.com")
    (style, layout), = classical.plan(page, [rep])
    assert style.x_height is None and layout.font.path == FONTS["NotoSans"]
    assert layout.size == pytest.approx(24, rel=0.06)


def test_without_context_the_box_statistics_decide_as_before(classical: ClassicalRenderer) -> None:
    for name in CASES:
        page, rep, _ = make_page(name)
        style = estimate_style(np.asarray(page), rep.box, MARGIN)
        profile, blur = choose_font(style, rep.text, rep.original_length, classical.candidates)
        limits = dilate_box(rep.box, MARGIN, page.size)
        expected = fit_layout(style, profile, rep.text, rep.box, limits, classical.max_condense, blur)
        assert classical.plan(page, [rep]) == [(style, expected)]
        # Context that cannot be used (off the page, blank paper, the box itself) changes nothing.
        unusable = (((-50.0, -50.0, -10.0, -10.0), "Nowhere"), ((300.0, 120.0, 380.0, 140.0), "Blank"),
                    (rep.box, "Itself"))
        with_unusable = Replacement(rep.box, rep.text, rep.original_length, context=unusable)
        assert classical.plan(page, [with_unusable]) == [(style, expected)]
        assert np.array_equal(np.asarray(classical(page, [with_unusable])), np.asarray(classical(page, [rep])))


@pytest.mark.parametrize("face", ["NotoSans", "LiberationSerif-Bold"])
def test_only_dilated_boxes_change_with_context(face: str, classical: ClassicalRenderer) -> None:
    page, rep = make_context_page(face, 14)
    before = np.array(page)
    second = Replacement((5.0, 2.0, 60.0, 12.0), "Extra", context=rep.context)  # blank paper
    a = np.array(classical(page, [rep, second]))
    inside = dilated([rep.box, second.box], MARGIN, a.shape)
    assert np.array_equal(a[~inside], before[~inside]) and (a[inside] != before[inside]).any()
    assert np.array_equal(np.array(page), before)


def test_context_words_are_measured_once_per_page(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = classical_module.match_word

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(classical_module, "match_word", counting)
    renderer = ClassicalRenderer(margin=MARGIN)
    page, rep = make_context_page("DejaVuSerif", 18)
    twin = Replacement(rep.box, "Other Name", rep.original_length, context=rep.context[::-1])
    first = renderer.plan(page, [rep, twin])
    assert len(calls) == len(rep.context)  # each word once, although both boxes use all of them
    assert renderer.plan(page.copy(), [rep, twin]) == first and len(calls) == len(rep.context)  # same pixels
    renderer(page, [rep])
    assert len(calls) == len(rep.context)
    other, rep2 = make_context_page("DejaVuSerif", 20)
    renderer.plan(other, [rep2])
    assert len(calls) == len(rep.context) + len(rep2.context)  # another page: measured afresh


@pytest.mark.parametrize("face", ["DejaVuSans", "LiberationSerif", "DejaVuSans-Bold"])
def test_typeset_moments_equal_those_of_the_drawn_word(face: str) -> None:
    """The hinted search sums cached per-glyph ink instead of drawing each candidate; it must
    give the drawn crop's moments, also where glyphs touch (kerned "AV", "ff", "rn")."""
    from anonymizer.pipeline.render import context

    touched = 0
    for text in ("Name:", "AVATAR Ltd.", "Office", "rnm 12/03", "WAVE ffi"):
        for size in (11, 14, 17):
            for kerned in (False, True):
                for linear in (False, True):
                    drawn = context.typeset(text, FONTS[face], size, kerned, linear)
                    found = context.typeset_moments(text, FONTS[face], size, kerned, linear)
                    assert found is not None and drawn is not None
                    summed, placed = found
                    assert np.array_equal(context._compose(placed), drawn)
                    ref = context.moments(drawn)
                    for a, b in zip((summed.mass, summed.cx, summed.cy, summed.sx, summed.sy),
                                    (ref.mass, ref.cx, ref.cy, ref.sx, ref.sy)):
                        assert a == pytest.approx(b, rel=1e-4, abs=1e-4)
                    touched += context._inks_touch(placed)
    assert touched > 0  # the drawn fallback was exercised too
    assert context.typeset_moments(" ", FONTS[face], 14, False) is None


def test_nearest_context_puts_the_line_first() -> None:
    box = (100.0, 50.0, 160.0, 62.0)
    words = [((10.0, 10.0, 40.0, 22.0), "far"), ((300.0, 51.0, 340.0, 63.0), "line-right"),
             ((60.0, 49.0, 95.0, 61.0), "line-left"), ((100.0, 70.0, 140.0, 82.0), "below"),
             ((100.0, 500.0, 140.0, 512.0), "page-end")]
    assert [t for _, t in nearest_context(box, words)] == ["line-left", "line-right", "below", "far", "page-end"]
    assert [t for _, t in nearest_context(box, words, limit=2)] == ["line-left", "line-right"]
    assert nearest_context(box, []) == ()


def test_plan_gives_each_box_the_non_sensitive_words_as_context() -> None:
    def word(text: str, x: float, y: float, conf: float | None = 95.0) -> Word:
        return Word(text, (x, y, x + 8.0 * len(text), y + 12.0), line=int(y // 20), conf=conf)

    words = [word("Name:", 10, 20), word("Jonathan", 60, 20), word("Miller", 140, 20), word("Ref", 200, 20),
             word("No", 240, 20), word("blurry", 280, 20, conf=30.0), word("Phone:", 10, 60),
             word("555-0134", 70, 60), word("Email:jo@example.com", 10, 100), word("Thanks", 10, 140, conf=None)]
    page = build_page_text(words)
    start = page.text.index("Jonathan")
    phone = page.text.index("555-0134")
    email = page.text.index("jo@example.com")
    detections = [Detection("PERSON", start, start + len("Jonathan Miller"), 0.9, "test"),
                  Detection("PHONE_NUMBER", phone, phone + 8, 0.9, "test"),
                  Detection("EMAIL_ADDRESS", email, email + len("jo@example.com"), 0.9, "test")]
    anonymizer = PageAnonymizer(ocr=None, detector=None, renderer=build_renderer("redact"))  # type: ignore[arg-type]
    doc = DocumentContext(SurrogateGenerator(secret="test"))
    _, replacements, _ = anonymizer._plan(page, detections, doc, (400, 200))
    assert len(replacements) == 3
    for rep in replacements:
        texts = [t for _, t in rep.context]
        assert sorted(texts) == ["Name:", "Phone:", "Ref", "Thanks"]  # no value, no short or unsure word
        assert all(isinstance(b, tuple) and len(b) == 4 for b, _ in rep.context)
    assert [t for _, t in replacements[0].context][:2] == ["Name:", "Ref"]  # its line first
    assert [t for _, t in replacements[1].context][0] == "Phone:"


def test_context_text_stays_out_of_logs_reprs_and_errors(caplog: pytest.LogCaptureFixture) -> None:
    secret = "Zyqvorth"
    page, rep = make_context_page("NotoSans", 14)
    rep = Replacement(rep.box, rep.text, rep.original_length,
                      context=rep.context + (((30.0, 4.0, 90.0, 16.0), secret),))
    with caplog.at_level(logging.DEBUG):
        ClassicalRenderer(margin=MARGIN)(page, [rep])
        build_renderer("redact")(page, [rep])
    assert secret not in caplog.text and secret not in repr(rep)
    for bad in ((((1.0, 2.0), secret),), ((rep.box, 7),), [(rep.box, secret)], ((rep.box,),)):
        with pytest.raises(ValueError, match="box 0: context") as err:
            build_renderer("classical")(page, [Replacement(rep.box, "Anna", context=bad)])  # type: ignore[arg-type]
        assert secret not in str(err.value)


# ------------------------------------------------------------------ redact, registry, errors
def test_redact_fills_the_dilated_box_with_the_colour() -> None:
    page, rep, _ = make_page("blue_on_tinted")
    a = np.array(build_renderer("redact", color=(200, 10, 30), margin=3)(page, [rep]))
    inside = dilated([rep.box], 3, a.shape)
    assert (a[inside] == (200, 10, 30)).all()
    black = np.array(build_renderer("redact")(page, [rep]))
    assert (black[dilated([rep.box], 2, a.shape)] == 0).all()


def test_registry() -> None:
    assert set(RENDERERS) == {"classical", "redact", "diffusion"}
    assert isinstance(build_renderer("redact"), Renderer)
    with pytest.raises(ValueError, match="unknown renderer 'magic'"):
        build_renderer("magic")
    with pytest.raises(ValueError, match="margin must be an integer"):
        build_renderer("redact", margin=-1)
    with pytest.raises(ValueError, match="unknown colour"):
        build_renderer("redact", color="not-a-colour")
    with pytest.raises(ValueError, match="needs the path"):
        build_renderer("diffusion")


SECRET = "Top Secret Name"


@pytest.mark.parametrize("renderer", ["classical", "redact"])
@pytest.mark.parametrize(
    "bad, message",
    [
        (Replacement((430.0, 10.0, 470.0, 30.0), SECRET), "box 1: .* not inside the 460x150 page"),
        (Replacement((-1.0, 10.0, 40.0, 30.0), SECRET), "box 1: .* not inside"),
        (Replacement((10.0, 10.0, 10.0, 30.0), SECRET), "box 1: zero or negative size"),
        (Replacement((30.0, 40.0, 20.0, 50.0), SECRET), "box 1: zero or negative size"),
        (Replacement((float("nan"), 10.0, 40.0, 30.0), SECRET), "box 1: non-finite"),
        (Replacement((10.0, 10.0, 40.0, float("inf")), SECRET), "box 1: non-finite"),
        (Replacement((1, 2, 3), SECRET), "box 1: must be four numbers"),  # type: ignore[arg-type]
        (Replacement((10.0, 10.0, 40.0, 30.0), "   "), "box 1: the replacement text is empty"),
        (Replacement((10.0, 10.0, 40.0, 30.0), SECRET, original_length=0), "box 1: original_length"),
    ],
)
def test_bad_replacements_name_the_box_not_the_text(renderer: str, bad: Replacement, message: str) -> None:
    page, rep, _ = make_page("black_on_white")
    with pytest.raises(ValueError, match=message) as err:
        build_renderer(renderer)(page, [rep, bad])
    assert SECRET not in str(err.value) and SECRET not in repr(bad)


# ------------------------------------------------------------------ diffusion adapter
@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from anonymizer.train import train
    from tests.conftest import INPAINT_OVERRIDES, compose_train

    tmp = tmp_path_factory.mktemp("render_text_edit")
    summary = train(compose_train(tmp, INPAINT_OVERRIDES + ["debug=fdr"], experiment="unet_inpaint"))
    return Path(summary["export_dir"])


@pytest.mark.parametrize("name", ["black_on_white", "white_on_dark"])
def test_diffusion_changes_only_the_dilated_boxes(export_dir: Path, name: str) -> None:
    page, rep, _ = make_page(name)
    before = np.array(page)
    renderer = build_renderer("diffusion", path=export_dir, num_inference_steps=2, seed=3, batch_size=2)
    assert renderer.margin == renderer.pipeline.mask_margin  # type: ignore[attr-defined]
    second = Replacement((300.0, 120.0, 380.0, 140.0), "Extra")
    a = np.array(renderer(page, [rep, second]))
    inside = dilated([rep.box, second.box], renderer.margin, a.shape)
    assert np.array_equal(a[~inside], before[~inside]) and (a[inside] != before[inside]).any()
    assert np.array_equal(np.array(page), before)
    pipeline = renderer.pipeline  # type: ignore[attr-defined]
    b = np.array(build_renderer("diffusion", pipeline=pipeline, margin=0, num_inference_steps=2)(page, [rep]))
    outside = ~dilated([rep.box], 0, b.shape)
    assert np.array_equal(b[outside], before[outside])
