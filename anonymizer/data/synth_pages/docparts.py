"""Parts shared by the real-document families: grid styles, signatures, fine print, money and dates."""

from __future__ import annotations

import datetime as dt

from anonymizer.data.glyph_raster import GlyphFont, cached_font
from anonymizer.data.synth_pages.boxes import GridStyle
from anonymizer.data.synth_pages.habits import PERSONAL, Person, date_text
from anonymizer.data.synth_pages.pens import Pen, covers
from anonymizer.data.synth_pages.render import FontBook
from anonymizer.data.synth_pages.typeset import Ctx, PageFull, paragraph, row
from anonymizer.data.synth_pages.values import Value


def grid_style(ctx: Ctx, pen: Pen, caps: bool | None = None, frame: bool | None = None,
               label_px: tuple[int, int] = (10, 12)) -> GridStyle:
    """A grid style for the page: small labels (capitals with ``caps``, drawn when None), bold box numbers."""
    r = ctx.rng
    size = r.randint(*label_px)
    label_family = ctx.head_family if r.random() < 0.5 else ctx.family
    label = ctx.fonts.get(label_family, size)
    number = ctx.fonts.get(label_family, size + r.choice([0, 0, 1, 2]), bold=True)
    caps = r.random() < 0.35 if caps is None else caps
    frame = r.random() < 0.75 if frame is None else frame
    return GridStyle(label=label, number=number, pen=pen, printed=ctx.font(), pad=r.randint(3, 6), frame=frame,
                     level=r.choice([255, 255, 220, 180]), value_at=r.choice(["top", "top", "bottom"]), caps=caps)


def money(ctx: Ctx, amount: float, symbol: bool = False) -> Value:
    """A personal amount in the page's locale format."""
    v = ctx.values.amount(round(amount, 2), symbol)
    return Value("AMOUNT", v.lines, PERSONAL)


def date_value(ctx: Ctx, day: dt.date, style: str = "mdy", scope: str = PERSONAL) -> Value:
    return Value("DATE_TIME", (date_text(ctx.values, day, style),), scope)


def signature_font(ctx: Ctx, text: str, size: int, max_width: float) -> GlyphFont | None:
    """A font for a signature of ``text``: a handwriting font (any installed one covering it),
    else an italic serif, at ``size`` or smaller down to the body size to fit ``max_width``."""
    usable = [p for p in ctx.hand_fonts if covers(cached_font(FontBook._cache, p, size), text)]
    pick, serif = ctx.rng.random(), ctx.rng.choice(ctx.fonts.of_kind("serif"))
    for s in range(size, ctx.size - 1, -1):
        if usable:
            font = cached_font(FontBook._cache, usable[int(pick * len(usable))], s)
        else:
            font = ctx.fonts.get(serif, s, italic=True)
        if font.measure(text) <= max_width:
            return font
    return None


def signature_line(ctx: Ctx, person: Person, y: float, label: str, date_label: str, day: dt.date,
                   style: str = "mdy", sign: bool = True, pen: Pen | None = None) -> float:
    """``label ▸ [signature] ... date_label ▸ [date]`` on a rule; returns the y below it.

    The signature is the person's name (a PERSON entity, linked from the label) in a
    handwriting font; ``sign=False`` leaves the line empty.
    """
    page, r = ctx.page, ctx.rng
    kf = ctx.font(0.85, bold=r.random() < 0.5)
    name = person.full_name(r.choice(["first_last", "first_last", "initial_last"]))
    x_sig = ctx.left + kf.measure(label) + 14
    x_date_label = ctx.left + ctx.width * 0.62
    shift = r.randint(0, 30)
    sf = signature_font(ctx, name.text, round(ctx.size * r.uniform(1.5, 2.0)), x_date_label - x_sig - 20 - shift)
    date = date_value(ctx, day, style)
    df = pen.fit(date.lines, ctx.width * 0.25) if pen else ctx.font()
    df = df or ctx.font()
    height = sf.height if sf is not None else ctx.font(1.5).height
    if not ctx.fits(y, height + 8):
        return y
    line = page.new_line()
    top = y + (sf.ascent if sf else kf.ascent)
    (k,), _ = row(ctx, [(label, "key", kf)], ctx.left, top - kf.ascent, line=line)
    if sign and sf is not None:
        words = page.text(x_sig + shift, y, name.text, sf, line)
        page.link(k, page.entity("PERSON", words, scope=PERSONAL))
    page.hline(x_sig - 4, x_date_label - 12, y + height + 2, level=200)
    (dk,), _ = row(ctx, [(date_label, "key", kf)], x_date_label, top - kf.ascent, line=line)
    xd = x_date_label + kf.measure(date_label) + 10
    if df.measure(date.text) < ctx.right - xd:
        if pen is not None:
            did, _ = pen.value(pen.prepare(date), xd, top - df.ascent, df, line=line)
        else:
            (did,), _ = row(ctx, [(date, "value", df)], xd, top - df.ascent, line=line)
        page.link(dk, did)
    page.hline(xd - 4, ctx.right, y + height + 2, level=200)
    return y + height + 10


def fine_print(ctx: Ctx, texts: list[str], y: float, scale: float = 0.8, columns: int = 1) -> float:
    """Paragraphs of the form's small print (plain words) in ``columns``; stops at the bottom margin."""
    f = ctx.font(scale)
    gap = 24
    width = (ctx.width - gap * (columns - 1)) / columns
    tops = [y] * columns
    col = 0
    for text in texts:
        lines = len(text) * f.measure("n") / width + 1.5
        if not ctx.fits(tops[col], ctx.pitch(f) * lines):
            col += 1
            if col >= columns:
                break
            continue
        x = ctx.left + col * (width + gap)
        tops[col] = paragraph(ctx, [text], x, tops[col], width, f) + ctx.pitch(f) * 0.4
    return max(tops)


def key_values(ctx: Ctx, pen: Pen, key: str, items: list[Value | str], x: float, y: float, key_font: GlyphFont,
               width: float, align: str = "left") -> float:
    """``key`` then ``items`` on one line (values linked from the key; ``str`` items plain, e.g.
    ``-`` between two dates); returns the y of the next line (unchanged when it does not fit)."""
    page = ctx.page
    texts = [pen.prepare(i).text if isinstance(i, Value) else i for i in items]
    font = pen.fit([" ".join(texts)], width - key_font.measure(key) - key_font.space)
    if font is None:
        return y
    pitch = max(ctx.pitch(key_font), pen.pitch(font))
    if not ctx.fits(y, pitch):
        raise PageFull
    total = key_font.measure(key) + key_font.space + font.measure(" ".join(texts))
    x = x - total if align == "right" else x
    line = page.new_line()
    ascent = max(key_font.ascent, font.ascent)
    k = page.entity("KEY", page.text(x, y + ascent - key_font.ascent, key, key_font, line), sensitive=False)
    x += key_font.measure(key) + key_font.space
    for item, text in zip(items, texts):
        if isinstance(item, Value):
            vid, _ = pen.value(pen.prepare(item), x, y + ascent - font.ascent, font, line=line)
            page.link(k, vid)
        else:
            page.text(x, y + ascent - font.ascent, text, font, line)
        x += font.measure(text) + font.space
    return y + pitch
