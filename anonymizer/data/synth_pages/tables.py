"""Tables whose column headers name the type of their values (``Start Date``, ``Current``, ``Charges``).

Each header is a ``KEY`` entity linked to every value of its column (or plain text, for
columns of plain words such as descriptions). A cell is a
:class:`~anonymizer.data.synth_pages.values.Value` (sensitive), a
:class:`~anonymizer.data.synth_pages.boxes.Filler` (written with the pen, plain) or a ``str``
(the form's print, plain), or a list of them side by side (a description with a name in it).
The words of one table row share a line id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from anonymizer.data.glyph_raster import GlyphFont
from anonymizer.data.synth_pages.boxes import Filler, wrap
from anonymizer.data.synth_pages.pens import Pen
from anonymizer.data.synth_pages.typeset import Ctx, PageFull
from anonymizer.data.synth_pages.values import Value

Piece = Value | Filler | str
TableCell = Piece | list[Piece]


@dataclass
class TableStyle:
    head: GlyphFont
    body: GlyphFont | None = None  # plain text of the body; None: the pen's typed face at the values' size
    rules: str = "lines"  # lines (under the header and the table), rows (every row), grid (and columns)
    level: int = 200
    pad: int = 5


def _pieces(cell: TableCell) -> list[Piece]:
    return list(cell) if isinstance(cell, list) else [cell]


def _text(piece: Piece, pen: Pen) -> str:
    if isinstance(piece, Value):
        return pen.prepare(piece).text
    return pen.text_of(piece.text) if isinstance(piece, Filler) else piece


def _body(style: TableStyle, pen: Pen, font: GlyphFont) -> GlyphFont:
    return style.body if style.body is not None else pen.face(font.size, hand=False)


def _width(cell: TableCell, pen: Pen, font: GlyphFont, body: GlyphFont) -> float:
    """Advance width of a cell's pieces (plain print in ``body``, values and fillers in ``font``)."""
    pieces = _pieces(cell)
    return sum((body if isinstance(p, str) else font).measure(_text(p, pen)) for p in pieces) + \
        font.space * (len(pieces) - 1)


def table(ctx: Ctx, headers: Sequence[str], rows: Sequence[Sequence[TableCell]], spans: Sequence[float],
          aligns: Sequence[str], pen: Pen, style: TableStyle, y: float, keys: Sequence[bool] | None = None,
          x0: float | None = None, x1: float | None = None) -> float:
    """Draw the table from ``y`` between ``x0`` and ``x1`` (the margins by default); returns the y below it.

    Column widths follow ``spans``; the pen's font shrinks (to 70%) so every value fits its
    column, and a row whose cells still do not fit is left out. Rows stop at the bottom margin
    (:class:`PageFull` after the rules are closed).
    """
    page, pad = ctx.page, style.pad
    left, right = (ctx.left if x0 is None else x0), (ctx.right if x1 is None else x1)
    total = sum(spans)
    bounds, acc = [], left
    for s in spans:
        w = (right - left) * s / total
        bounds.append((acc, acc + w))
        acc += w
    keys = list(keys) if keys is not None else [True] * len(headers)
    widths = [b - a - 2 * pad for a, b in bounds]
    texts = [t for r in rows for c in r for t in (_text(p, pen) for p in _pieces(c))] or ["0"]
    fonts = list(pen.fonts(texts))
    font = next((f for f in fonts if all(_width(c, pen, f, _body(style, pen, f)) <= w
                                         for r in rows for c, w in zip(r, widths))), None)
    fallback = font or fonts[-1]  # the smallest: rows that do not fit in it are left out
    head_lines = [wrap(h, style.head, w) or [h] for h, w in zip(headers, widths)]
    head_h = max(len(h) for h in head_lines) * ctx.pitch(style.head)
    if not ctx.fits(y, head_h + 2 * pen.pitch(fallback)):
        raise PageFull
    top = y
    key_ids: list[int | None] = []
    line = page.new_line()
    for k, ((a, b), lines) in enumerate(zip(bounds, head_lines)):
        words: list[int] = []
        for j, text in enumerate(lines):
            x, align = (b - pad, "right") if aligns[k] == "right" else (a + pad, "left")
            words += page.text(x, y + j * ctx.pitch(style.head), text, style.head, line if j == 0 else None, align)
        key_ids.append(page.entity("KEY", words, sensitive=False) if keys[k] and words else None)
    y += head_h + 2
    page.hline(left, right, y, thickness=2 if style.rules != "rows" else 1, level=style.level)
    y += 4
    full = False
    f, body = fallback, _body(style, pen, fallback)
    for r in rows:
        if font is None and any(_width(c, pen, f, body) > w for c, w in zip(r, widths)):
            continue
        pitch = max(pen.pitch(f), ctx.pitch(body))
        if not ctx.fits(y, pitch + 4):
            full = True
            break
        line = page.new_line()
        for k, (cell, (a, b)) in enumerate(zip(r, bounds)):
            x = b - pad - _width(cell, pen, f, body) if aligns[k] == "right" else a + pad
            for piece in _pieces(cell):
                text = _text(piece, pen)
                if isinstance(piece, Value):
                    vid, _ = pen.value(pen.prepare(piece), x, y, f, line=line)
                    if key_ids[k] is not None:
                        page.link(key_ids[k], vid)  # type: ignore[arg-type]
                elif isinstance(piece, Filler):
                    pen.line(text, x, y, f, line=line)
                else:
                    page.text(x, y + max(0, f.ascent - body.ascent), text, body, line)
                x += (body if isinstance(piece, str) else f).measure(text) + f.space
        y += pitch
        if style.rules in ("rows", "grid"):
            page.hline(left, right, y + 1, level=style.level)
            y += 3
    if style.rules == "lines":
        page.hline(left, right, y + 1, level=style.level)
    if style.rules == "grid":
        for a, _ in bounds[1:]:
            page.vline(a, top, y + 1, level=style.level)
        page.rect(left, top - 3, right, y + 2, level=style.level)
    if full:
        raise PageFull
    return y + 4
