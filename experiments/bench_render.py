"""Classical renderer: face identification, height and legibility, with and without page context.

    python experiments/bench_render.py [n=20] [seed=0] [synth=1] [noto14=1] [lines=1] [ocr=1] [confusions=0]

Four test sets where the true face and size of every sensitive value are known:

* ``synth``: ``n`` synthetic pages (``anonymizer.data.synth_pages``, default config: all
  families, 13-19 px, scan effects). The generator's font per word is recovered by
  wrapping ``Page.text`` while the page is typeset (nothing of the generator is changed);
* ``noto14``: ``n`` synthetic forms/invoices/letters set in Noto Sans at 14 px (the case
  of the bug report; receipts are left out, they are set in a mono face);
* ``lines``: our own lines, every installed upright face (DejaVu Sans/Serif/Mono,
  Liberation Sans/Serif/Mono/Sans Narrow, Noto Sans/Serif/Mono; regular and bold) at
  12/14/18/24/28 px: a prose line, then ``Label: <value> and a few words`` on light
  noise, the value being the box (Pillow's own rendering: hinted, kerned);
* ``lines-scan``: the same at the size +-0.5 px drawn at 4x and area-averaged down (no
  hinting, as after print and scan), blurred (0.6 px) with noise 3.

Per sensitive line box, the renderer gets the box, a surrogate (``SurrogateGenerator``),
the original length and, with context, the page's non-sensitive words of at least 3
characters chosen by :func:`anonymizer.pipeline.render.base.nearest_context` (the same
selection as ``PageAnonymizer._plan``). Measured: the chosen face (exact file, and
sans/serif/mono class), the drawn cap height against the original's (``|error|`` in %,
and the share drawn more than 10 % smaller), the OCR CER of the surrogate read back from
the rendered page (Tesseract ``--psm 7`` on the box), and the planning time per box
(``plan``: style, face and layout; with context it includes measuring the page's context
words, once per page). The same renderer and surrogates serve both columns; without
context it is the previous method, unchanged. Prints one markdown table (and with
``confusions=1`` the most frequent true -> chosen face pairs); no page text is printed.
"""

from __future__ import annotations

import contextlib
import math
import random
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anonymizer.data.synth_pages import PageConfig, generate_page
from anonymizer.data.synth_pages import render as synth_render
from anonymizer.metrics.legibility import cer, ocr_available, ocr_line
from anonymizer.pipeline.page_text import reference_font
from anonymizer.pipeline.render import Replacement
from anonymizer.pipeline.render.base import nearest_context
from anonymizer.pipeline.render.classical import ClassicalRenderer
from anonymizer.pipeline.render.style import FontProfile
from anonymizer.pipeline.surrogates import SurrogateGenerator

MARGIN = 2


def face_class(family: str) -> str:
    return "mono" if "Mono" in family else "serif" if "Serif" in family else "sans"


@dataclass
class Case:
    """One page and its sensitive line boxes with the true face and size of each."""

    name: str
    image: Image.Image
    reps: list[Replacement]  # with context
    truth: list[tuple[str, float]]  # (font path, font size in px)
    originals: list[str] = field(default_factory=list, repr=False)  # synthetic values (for the reference CER)


# ------------------------------------------------------------------ test sets
@contextlib.contextmanager
def record_fonts() -> Iterator[list]:
    """While active, the synthetic typesetter's pages are collected, each with the
    (font path, size) of every word it draws (``page._bench_fonts``); the last page is the
    layout that was kept (an overflowing layout is redrawn on a new page)."""
    pages: list = []
    original = synth_render.Page.text

    def text(self, x, y, text, font, line=None, align="left"):  # type: ignore[no-untyped-def]
        if "_bench_fonts" not in self.__dict__:
            self._bench_fonts = []
            pages.append(self)
        before = len(self.words)
        out = original(self, x, y, text, font, line, align)
        self._bench_fonts.extend((font.path, font.size) for _ in range(len(self.words) - before))
        return out

    synth_render.Page.text = text  # type: ignore[method-assign]
    try:
        yield pages
    finally:
        synth_render.Page.text = original  # type: ignore[method-assign]


def fitted_surrogate(gen: SurrogateGenerator, label: str, value: str, box) -> str:
    """A surrogate chosen to fit the box width as ``PageAnonymizer._plan`` does (reference
    font at the box height)."""
    font = reference_font()
    if isinstance(font, ImageFont.FreeTypeFont):
        font = font.font_variant(size=max(int(round(box[3] - box[1])), 4))
    return gen.surrogate(label, value, max_width=box[2] - box[0], measure=lambda s: float(font.getlength(s)))


def synth_cases(n: int, seed: int, config: PageConfig, name: str, gen: SurrogateGenerator,
                known: set[str]) -> list[Case]:
    cases = []
    for index in range(n):
        with record_fonts() as pages:
            image, record = generate_page(index, seed, config)
        fonts = pages[-1]._bench_fonts
        assert len(fonts) == len(record.words)
        sensitive = {w for e in record.entities if e.sensitive for w in e.words}
        safe = [(record.words[i].box, record.words[i].text) for i in range(len(record.words))
                if i not in sensitive and len(record.words[i].text.strip()) >= 3]
        reps, truth, originals = [], [], []
        for e in record.entities:
            if not e.sensitive:
                continue
            by_line: dict[int | None, list[int]] = {}
            for w in e.words:
                by_line.setdefault(record.words[w].line, []).append(w)
            for ws in by_line.values():
                faces = {fonts[w] for w in ws}
                if len(faces) != 1 or next(iter(faces))[0] not in known:
                    continue  # italic signatures: not a candidate face
                boxes = [record.words[w].box for w in ws]
                box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                       max(b[3] for b in boxes))
                box = (max(box[0] - 1, 0.0), max(box[1] - 1, 0.0), min(box[2] + 1, image.width),
                       min(box[3] + 1, image.height))
                piece = " ".join(record.words[w].text for w in ws)
                surrogate = fitted_surrogate(gen, e.label, piece, box) if len(by_line) == 1 else \
                    gen.surrogate(e.label, piece)
                surrogate = " ".join(surrogate.split()) or "#" * len(piece)
                reps.append(Replacement(box, surrogate, original_length=len(piece), label=e.label,
                                        context=nearest_context(box, safe)))
                truth.append(next(iter(faces)))
                originals.append(piece)
        if reps:
            cases.append(Case(f"{name}-{index}", image, reps, truth, originals))
    return cases


LINE_TEXTS = [
    ("Customer Name:", "Jonathan Miller", "Account Manager Office"),
    ("Phone Number:", "(555) 013-4487", "between hours weekdays"),
    ("Date of Birth:", "12/03/1987", "verified with passport"),
    ("Email Address:", "j.miller@example.com", "for billing notices"),
]


def line_cases(profiles: tuple[FontProfile, ...], sizes: tuple[float, ...], seed: int,
               gen: SurrogateGenerator, scanned: bool = False) -> list[Case]:
    """One page per (face, size): a prose line, then ``Label: value words`` with the value as
    the box. ``scanned``: drawn at 4x the size and area-averaged down (no hinting, as in a
    print and scan), then blurred (radius 0.6) with noise 3, at a fractional size."""
    cases = []
    rng = random.Random(seed)
    up = 4 if scanned else 1
    for p in profiles:
        for nominal in sizes:
            label, value, tail = LINE_TEXTS[rng.randrange(len(LINE_TEXTS))]
            size = nominal + (rng.uniform(-0.5, 0.5) if scanned else 0)
            font = ImageFont.truetype(p.path, size * up)
            width = int(font.getlength(f"{label} {value} {tail}") / up + 60)
            height = int(size * 5)
            img = Image.new("RGB", (width * up, height * up), (250, 248, 244))
            draw = ImageDraw.Draw(img)
            words: list[tuple[tuple[float, float, float, float], str]] = []
            box = None
            for y, parts in ((round(size * 1.6), [("Please review", False), ("the details below", False)]),
                             (round(size * 3.4), [(label, False), (value, True), (tail, False)])):
                x = 20.0
                for text, is_value in parts:
                    for token in text.split():
                        left, top, right, bottom = (v / up for v in font.getbbox(token, anchor="ls"))
                        draw.text((x * up, y * up), token, font=font, fill=(20, 20, 30), anchor="ls")
                        b = (math.floor(x + left) - 1, math.floor(y + top) - 1, math.ceil(x + right) + 1,
                             math.ceil(y + bottom) + 1)
                        if is_value:
                            box = b if box is None else (box[0], min(box[1], b[1]), b[2], max(box[3], b[3]))
                        elif len(token) >= 3:
                            words.append((b, token))
                        x += font.getlength(token + " ") / up
            if scanned:
                img = img.resize((width, height), Image.Resampling.BOX).filter(ImageFilter.GaussianBlur(0.6))
            grain = np.random.default_rng([seed, round(nominal)]).normal(0, 3.0 if scanned else 2.0, (height, width, 1))
            img = Image.fromarray(np.clip(np.asarray(img, np.float32) + grain, 0, 255).round().astype(np.uint8))
            assert box is not None
            surrogate = fitted_surrogate(gen, "PERSON" if "Name" in label else "PHONE_NUMBER" if "Phone" in label
                                         else "DATE_TIME" if "Date" in label else "EMAIL_ADDRESS", value, box)
            rep = Replacement(box, surrogate, original_length=len(value), context=nearest_context(box, words))
            cases.append(Case(f"lines-{p.family}{'-Bold' if p.bold else ''}-{size:.1f}", img, [rep], [(p.path, size)],
                              [value]))
    return cases


# ------------------------------------------------------------------ measuring
@dataclass
class Stats:
    exact: list[bool] = field(default_factory=list)
    klass: list[bool] = field(default_factory=list)
    height: list[float] = field(default_factory=list)  # signed relative cap-height error
    cer: list[float] = field(default_factory=list)
    seconds: float = 0.0
    boxes: int = 0
    confusions: dict[tuple[str, str], int] = field(default_factory=dict)


def crop(img: Image.Image, box, pad: int = 4) -> Image.Image:
    x0, y0, x1, y1 = box
    return img.crop((max(int(x0) - pad, 0), max(int(y0) - pad, 0), min(int(math.ceil(x1)) + pad, img.width),
                     min(int(math.ceil(y1)) + pad, img.height)))


def evaluate(renderer: ClassicalRenderer, cases: list[Case], use_context: bool, ocr: bool,
             by_path: dict[str, FontProfile]) -> Stats:
    stats = Stats()
    for case in cases:
        reps = case.reps if use_context else [Replacement(r.box, r.text, r.original_length, r.label)
                                              for r in case.reps]
        renderer.clear_cache()  # every page measured afresh (glyph caches stay warm)
        t0 = time.perf_counter()
        plans = renderer.plan(case.image, reps)
        stats.seconds += time.perf_counter() - t0
        stats.boxes += len(reps)
        out = renderer(case.image, reps) if ocr else None
        for rep, (path, size), (_, layout) in zip(reps, case.truth, plans):
            true, chosen = by_path[path], layout.font
            stats.exact.append(chosen.path == path)
            stats.klass.append(face_class(chosen.family) == face_class(true.family))
            if chosen.path != path:
                key = (f"{true.family}{'-B' if true.bold else ''}", f"{chosen.family}{'-B' if chosen.bold else ''}")
                stats.confusions[key] = stats.confusions.get(key, 0) + 1
            drawn_cap = layout.size * chosen.cap
            true_cap = size * true.cap
            stats.height.append(drawn_cap / true_cap - 1)
            if out is not None:
                stats.cer.append(cer([ocr_line(crop(out, rep.box))], [rep.text]))
    return stats


def reference_cer(cases: list[Case]) -> float:
    """CER of reading the original values on the input pages (what a perfect copy would get)."""
    values = [cer([ocr_line(crop(c.image, r.box))], [o]) for c in cases for r, o in zip(c.reps, c.originals)]
    return statistics.fmean(values)


def pct(values: list[bool]) -> str:
    return f"{100 * sum(values) / max(len(values), 1):.1f}"


def main(argv: list[str]) -> None:
    opts = {"n": "20", "seed": "0", "lines": "1", "ocr": "1", "noto14": "1", "synth": "1", "confusions": "0"}
    for arg in argv:
        key, _, value = arg.partition("=")
        if key not in opts:
            raise SystemExit(f"unknown option {key!r}; known: {sorted(opts)}")
        opts[key] = value
    n, seed = int(opts["n"]), int(opts["seed"])
    ocr = opts["ocr"] == "1" and ocr_available()
    renderer = ClassicalRenderer(margin=MARGIN)
    by_path = {p.path: p for p in renderer.candidates}
    gen = SurrogateGenerator(secret="bench-render", locale="en_US")
    sets: dict[str, list[Case]] = {}
    if opts["synth"] == "1":
        sets["synth"] = synth_cases(n, seed, PageConfig(), "synth", gen, set(by_path))
    if opts["noto14"] == "1":
        cfg = PageConfig(font_families=("NotoSans",), font_size=(14, 14),
                         kinds={"form": 1.0, "invoice": 1.0, "letter": 1.0, "receipt": 0.0})
        sets["noto14"] = synth_cases(n, seed + 1, cfg, "noto14", gen, set(by_path))
    if opts["lines"] == "1":
        sets["lines"] = line_cases(renderer.candidates, (12, 14, 18, 24, 28), seed, gen)
        sets["lines-scan"] = line_cases(renderer.candidates, (12, 14, 18, 24, 28), seed, gen, scanned=True)
    print(f"candidates: {len(renderer.candidates)} faces; OCR: {'on' if ocr else 'off'}\n")
    print("| set | boxes | context | face exact % | class % | cap height \\|err\\| % | drawn >10% small % "
          "| surrogate CER | ms/box |")
    print("|---|---|---|---|---|---|---|---|---|")
    confusions = {}
    for name, cases in sets.items():
        for use in (False, True):
            s = evaluate(renderer, cases, use, ocr, by_path)
            h = [abs(v) for v in s.height]
            small = [v < -0.10 for v in s.height]
            c = f"{statistics.fmean(s.cer):.3f}" if s.cer else "-"
            print(f"| {name} | {s.boxes} | {'yes' if use else 'no'} | {pct(s.exact)} | {pct(s.klass)} "
                  f"| {100 * statistics.fmean(h):.1f} | {pct(small)} | {c} | {1000 * s.seconds / s.boxes:.1f} |")
            confusions[(name, use)] = s.confusions
    if ocr:
        for name, cases in sets.items():
            print(f"\nreference: OCR CER of the original values on the `{name}` input pages: "
                  f"{reference_cer(cases):.3f}")
    if opts["confusions"] == "1":
        for (name, use), conf in confusions.items():
            top = sorted(conf.items(), key=lambda kv: -kv[1])[:8]
            print(f"\n{name} context={use}: " + ", ".join(f"{a}->{b} x{k}" for (a, b), k in top))


if __name__ == "__main__":
    main(sys.argv[1:])
