"""Ruled-box forms: numbered boxes with the label in small print at the top and the value below.

A grid is a list of blocks drawn top to bottom: a :class:`Row` puts cells side by side
(widths by ``span``); a :class:`Side` puts stacks of blocks side by side and stretches the
last block of each shorter stack to the tallest, as on tax forms whose left column of
identity boxes faces a column of amount boxes. A :class:`Cell` holds a label (a ``KEY``
entity, with its box number ``a``/``1``/``12b`` as its first word) and items below it:

* a :class:`~anonymizer.data.synth_pages.values.Value`: a sensitive value, linked from the label
  (a label may have several, e.g. a name and an address under "name, address, and ZIP code");
* :class:`Split`: one value in separate cells (``MM DD YYYY``, SSN digits), one entity;
* :class:`Filler`: a fill-in that is not a value of the label's type (``N/A``), plain words;
* :class:`Printed`: the form's own print (plain words); :class:`Checks`: checkbox options.

Values that do not fit their box even in a 30% smaller size are left out (an empty box).
Rules run along the cells' top and left edges (and the grid's outer frame with ``frame``), in
the padding, never through a word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from anonymizer.data.glyph_raster import GlyphFont
from anonymizer.data.synth_pages.pens import Pen
from anonymizer.data.synth_pages.typeset import Ctx, PageFull
from anonymizer.data.synth_pages.values import Value


@dataclass(frozen=True)
class Filler:
    """A fill-in that is not a value of the label's type (``N/A``, ``same as above``): plain words."""

    text: str


@dataclass(frozen=True)
class Printed:
    """Text printed on the blank form (plain words) in the form's face."""

    text: str
    scale: float = 1.0
    bold: bool = False


@dataclass(frozen=True)
class Checks:
    """Checkbox options (plain words); the ``checked`` ones (indices) are marked."""

    options: tuple[str, ...]
    checked: tuple[int, ...] = ()


@dataclass(frozen=True)
class Split:
    """``value`` drawn as ``parts``, each in its own cell (``-`` parts are separators without a
    cell), under optional ``heads`` (``MM``, ``DD``, ``YYYY``, part of the label); one entity."""

    value: Value | None  # None: empty cells
    parts: tuple[str, ...]
    heads: tuple[str, ...] = ()
    boxed: bool = False


Item = Value | Filler | Printed | Checks | Split


@dataclass
class Cell:
    label: str = ""
    items: Sequence[Item] = ()
    span: float = 1.0
    number: str = ""
    align: str = "left"  # of values and fillers: left, right or center


@dataclass
class Row:
    cells: list[Cell]


@dataclass
class Side:
    stacks: list[tuple[float, list[Row | Side]]]  # (relative width, blocks)


Block = Row | Side


@dataclass
class GridStyle:
    """Typography and rules of a grid."""

    label: GlyphFont  # labels, small print
    number: GlyphFont  # box numbers
    pen: Pen  # filled-in values
    printed: GlyphFont  # Printed items at scale 1
    pad: int = 4
    frame: bool = True  # outer frame; False: rules between rows and cells only (W-9 style)
    level: int = 255  # rule darkness
    value_at: str = "top"  # items right under the label, or at the bottom of a stretched box
    caps: bool = False  # labels in capitals


def wrap(text: str, font: GlyphFont, width: float, first_indent: float = 0.0) -> list[str] | None:
    """Greedy word wrap of ``text`` into ``width`` (the first line starts at ``first_indent``);
    None when a word is wider than a line."""
    lines: list[list[str]] = [[]]
    used = first_indent
    for token in text.split():
        w = font.measure(token)
        if lines[-1] and used + font.space + w > width:
            lines.append([])
            used = 0.0
        elif not lines[-1] and used + w > width:
            if used == 0.0:
                return None
            lines.append([])
            used = 0.0
        used += (font.space if lines[-1] else 0.0) + w
        lines[-1].append(token)
    return [" ".join(t) for t in lines]


# -- preparation: fonts, wrapping and heights ----------------------------------------------
@dataclass
class _Item:
    item: Item
    font: GlyphFont
    height: float
    text: Value | str | None = None  # the prepared value or filler text
    rows: list[list[tuple[int, str]]] = field(default_factory=list)  # Checks: options per line
    widths: list[float] = field(default_factory=list)  # Split: width of each part's cell


@dataclass
class _Cell:
    cell: Cell
    x: int
    w: int
    label: list[str]
    indent: float
    items: list[_Item]
    height: float


@dataclass
class _Row:
    cells: list[_Cell]
    height: float


@dataclass
class _Side:
    stacks: list[tuple[int, int, list[_Row | _Side]]]
    height: float


def _bounds(x: int, width: int, spans: Sequence[float]) -> list[tuple[int, int]]:
    total, acc, out = sum(spans), 0.0, []
    for s in spans:
        a = x + round(width * acc / total)
        acc += s
        out.append((a, x + round(width * acc / total) - a))
    return out


def _prepare_item(ctx: Ctx, style: GridStyle, item: Item, inner: float, max_size: int | None) -> _Item | None:
    pen = style.pen
    if isinstance(item, Value):
        value = pen.prepare(item)
        font = pen.fit(value.lines, inner, max_size=max_size)
        return None if font is None else _Item(item, font, pen.pitch(font) * len(value.lines), value)
    if isinstance(item, Filler):
        text = pen.text_of(item.text)
        font = pen.fit([text], inner, max_size=max_size)
        return None if font is None else _Item(item, font, pen.pitch(font), text)
    if isinstance(item, Printed):
        font = ctx.fit([item.text], inner, scale=item.scale * style.printed.size / ctx.size, bold=item.bold)
        return None if font is None else _Item(item, font, ctx.pitch(font), item.text)
    if isinstance(item, Checks):
        font = style.label if style.label.size >= 11 else ctx.font(11 / ctx.size)
        box = round(font.size * 0.85)
        rows: list[list[tuple[int, str]]] = [[]]
        used = 0.0
        for k, option in enumerate(item.options):
            w = box + 4 + font.measure(option) + 12
            if rows[-1] and used + w > inner:
                rows.append([])
                used = 0.0
            if w > inner:
                return None
            rows[-1].append((k, option))
            used += w
        return _Item(item, font, len(rows) * max(ctx.pitch(font), box + 5), rows=rows)
    value = pen.prepare(item.value) if item.value is not None else None
    parts = tuple(p.upper() if pen.caps else p for p in item.parts)
    heads = item.heads + ("",) * (len(parts) - len(item.heads))
    for font in pen.fonts([p for p in parts if p] or ["0"]):
        widths = [font.measure(p) + 4 if p == "-" else
                  max(font.measure(p or "0") + 10, style.label.measure(h) + 6) for p, h in zip(parts, heads)]
        if sum(widths) <= inner:
            height = pen.pitch(font) + (ctx.pitch(style.label) if item.heads else 0) + 4
            return _Item(Split(value, parts, item.heads, item.boxed), font, height, widths=widths)
    return None


def _prepare_cell(ctx: Ctx, style: GridStyle, cell: Cell, x: int, w: int) -> _Cell:
    inner = w - 2 * style.pad
    label_text = cell.label.upper() if style.caps else cell.label
    indent = style.number.measure(cell.number) + style.number.space if cell.number else 0.0
    label = wrap(label_text, style.label, inner, indent) if label_text else []
    if label is None:  # a word wider than the box: the label is left out
        label = []
    if not label and cell.number:
        label = [""]
    items = [p for p in (_prepare_item(ctx, style, it, inner, None) for it in cell.items) if p is not None]
    sizes = [p.font.size for p in items if isinstance(p.item, (Value, Filler))]
    if len(set(sizes)) > 1:  # the values of one box in one size
        items = [p for p in (_prepare_item(ctx, style, it, inner, min(sizes)) for it in cell.items) if p is not None]
    height = 2 * style.pad + len(label) * ctx.pitch(style.label) + sum(i.height for i in items) + (2 if items else 0)
    return _Cell(cell, x, w, label, indent, items, height)


def _prepare(ctx: Ctx, style: GridStyle, block: Block, x: int, width: int) -> _Row | _Side:
    if isinstance(block, Row):
        cells = [_prepare_cell(ctx, style, c, cx, cw)
                 for c, (cx, cw) in zip(block.cells, _bounds(x, width, [c.span for c in block.cells]))]
        return _Row(cells, max(c.height for c in cells))
    stacks = []
    for (_, blocks), (sx, sw) in zip(block.stacks, _bounds(x, width, [s for s, _ in block.stacks])):
        stacks.append((sx, sw, [_prepare(ctx, style, b, sx, sw) for b in blocks]))
    return _Side(stacks, max(sum(b.height for b in bs) for _, _, bs in stacks))


# -- drawing ---------------------------------------------------------------------------------
def _cross(ctx: Ctx, x: int, y: int, size: int) -> None:
    """An X filling the square ``size`` x ``size`` at ``(x, y)``, 2 pixels wide."""
    mask = np.zeros((size, size), np.uint8)
    i = np.arange(size)
    for d in (0, 1):
        j = np.clip(i + d, 0, size - 1)
        mask[i, j] = mask[i, size - 1 - j] = 255
    ctx.page.overlay(mask, x, y)


def _draw_item(ctx: Ctx, style: GridStyle, it: _Item, c: _Cell, y: float, key: int | None) -> None:
    pen, page, pad = style.pen, ctx.page, style.pad
    item = it.item
    if isinstance(item, (Value, Filler)):
        align = c.cell.align
        x = c.x + pad if align == "left" else c.x + c.w - pad if align == "right" else c.x + c.w / 2
        if isinstance(item, Value):
            vid, _ = pen.value(it.text, x, y, it.font, align)  # type: ignore[arg-type]
            if key is not None:
                page.link(key, vid)
        else:
            pen.line(it.text, x, y, it.font, align)  # type: ignore[arg-type]
    elif isinstance(item, Printed):
        page.text(c.x + pad, y, it.text, it.font)  # type: ignore[arg-type]
    elif isinstance(item, Checks):
        box = round(it.font.size * 0.85)
        for options in it.rows:
            line, x = page.new_line(), float(c.x + pad)
            top = round(y + it.font.ascent - box + 1)
            for k, option in options:
                page.rect(x, top, x + box, top + box, level=style.level)
                if k in item.checked:
                    _cross(ctx, round(x) + 2, top + 2, box - 4)
                page.text(x + box + 4, y, option, it.font, line)
                x += box + 4 + it.font.measure(option) + 12
            y += max(ctx.pitch(it.font), box + 5)
    else:
        _draw_split(ctx, style, it, c, y, key)


def _draw_split(ctx: Ctx, style: GridStyle, it: _Item, c: _Cell, y: float, key: int | None) -> None:
    item, page, pen = it.item, ctx.page, style.pen
    assert isinstance(item, Split)
    x = c.x + style.pad
    heads: list[int] = []
    if item.heads:
        line = page.new_line()
        hx = x
        for w, head in zip(it.widths, item.heads):
            heads += page.text(hx + w / 2, y, head, style.label, line, "center") if head else []
            hx += w
        y += ctx.pitch(style.label)
    words: list[int] = []
    line = page.new_line()
    bottom = round(y + pen.pitch(it.font) + 2)
    for k, (w, part) in enumerate(zip(it.widths, item.parts)):
        words += pen.line(part, x + w / 2, y, it.font, "center", line)
        if part != "-":
            if item.boxed:
                page.rect(x, y - 1, x + w - 2, bottom, level=style.level)
            elif k + 1 < len(item.parts) and item.parts[k + 1] != "-":
                page.vline(x + w - 1, y + it.font.height * 0.45, bottom, level=style.level)
        x += w
    if key is not None and heads:  # the heads (MM DD YYYY) belong to the label
        page.entities[key] = replace(page.entities[key], words=page.entities[key].words + tuple(heads))
    if item.value is not None and words:
        vid = page.entity(item.value.label, words, scope=item.value.scope)
        if key is not None:
            page.link(key, vid)


def _draw_cell(ctx: Ctx, style: GridStyle, c: _Cell, y: float, height: float, grid_left: int) -> None:
    page, pad = ctx.page, style.pad
    page.hline(c.x, c.x + c.w, y, level=style.level)
    if style.frame or c.x != grid_left:
        page.vline(c.x, y, y + height, level=style.level)
    key: int | None = None
    yl = y + pad
    if c.label:
        words: list[int] = []
        line = page.new_line()
        if c.cell.number:
            words += page.text(c.x + pad, yl, c.cell.number, style.number, line)
        for k, text in enumerate(c.label):
            words += page.text(c.x + pad + (c.indent if k == 0 else 0), yl, text, style.label,
                               line if k == 0 else None)
            yl += ctx.pitch(style.label)
        key = page.entity("KEY", words, sensitive=False) if words else None
    items_h = sum(i.height for i in c.items)
    yi = yl + 2 if style.value_at == "top" else max(yl + 2, y + height - pad - items_h)
    for it in c.items:
        _draw_item(ctx, style, it, c, yi, key)
        yi += it.height


def _draw(ctx: Ctx, style: GridStyle, block: _Row | _Side, y: float, height: float, grid_left: int) -> None:
    if isinstance(block, _Row):
        for c in block.cells:
            _draw_cell(ctx, style, c, y, height, grid_left)
        return
    for _, _, blocks in block.stacks:  # a shorter stack shares the extra height among its blocks
        extra = (height - sum(b.height for b in blocks)) / len(blocks)
        yb = y
        for k, b in enumerate(blocks):
            h = round(b.height + extra) if k + 1 < len(blocks) else y + height - yb
            _draw(ctx, style, b, yb, h, grid_left)
            yb += h


def grid(ctx: Ctx, blocks: Sequence[Block], style: GridStyle, x: int, y: float, width: int,
         thick_top: bool = False) -> float:
    """Draw ``blocks`` from ``y`` in ``[x, x + width)``; returns the y below the grid.

    A :class:`Side` too tall for the rest of the page is drawn as its stacks one under the
    other. Raises :class:`PageFull` (after closing the frame of what was drawn) when a row
    does not fit above the bottom margin.
    """
    top, full = round(y), False
    queue = list(blocks)
    while queue:
        block = queue.pop(0)
        prepared = _prepare(ctx, style, block, x, width)
        height = round(prepared.height)
        if not ctx.fits(y, height + 2):
            if isinstance(block, Side):  # too tall side by side: its stacks one under the other
                queue[:0] = [b for _, stack in block.stacks for b in stack]
                continue
            full = True
            break
        _draw(ctx, style, prepared, y, height, x)
        y += height
    if y > top:
        ctx.page.hline(x, x + width, y, level=style.level)
        if thick_top:
            ctx.page.hline(x, x + width, top - 1, thickness=2, level=style.level)
        if style.frame:
            ctx.page.vline(x + width - 1, top, y + 1, level=style.level)
    if full:
        raise PageFull
    return y + 1
