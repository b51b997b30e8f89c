"""Renderers: only the dilated boxes change; classical style estimation, legibility, fitting; errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from anonymizer.data.fonts import find_fonts
from anonymizer.metrics.legibility import cer, ocr_available, ocr_line
from anonymizer.pipeline.render import RENDERERS, Renderer, Replacement, build_renderer
from anonymizer.pipeline.render.classical import ClassicalRenderer
from anonymizer.pipeline.render.style import estimate_style

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
