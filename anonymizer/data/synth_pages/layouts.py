"""The four page kinds: forms, invoices, letters and receipts.

Each layout fills a :class:`~anonymizer.data.synth_pages.typeset.Ctx` from top to bottom
and stops adding optional content (fields, table rows, paragraphs) when the page is full.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from anonymizer.data.synth_pages import vocab
from anonymizer.data.synth_pages.render import GlyphFont
from anonymizer.data.synth_pages.typeset import Ctx, key_value, paragraph, part_width, plain, row, value_block
from anonymizer.data.synth_pages.values import Value

# -- forms --------------------------------------------------------------------------------
# Fields whose values get the full width (never paired) in two-column boxed forms.
_LONG = {"address", "email", "iban", "card", "employer"}


def _form_fields(ctx: Ctx) -> list[list[tuple[str, str, Value]]]:
    """Sections of (field, label, value); optional fields drawn at random."""
    v, r = ctx.values, ctx.rng
    first_last = v.first_last()
    ssn_key = f"ssn_{ctx.locale}" if ctx.lang == "en" else "ssn"
    personal = [("name", "name", Value("PERSON", (" ".join(first_last),))), ("dob", "dob", v.birth_date())]
    if r.random() < 0.5:
        personal.append(("place", "place", v.city()))
    personal.append(("ssn", ssn_key, v.national_id()))
    if r.random() < 0.4:
        personal.append(("employer", "employer", v.company()))
    contact = [("address", "address", v.address(r.choice([1, 2]))), ("phone", "phone", v.phone()),
               ("email", "email", v.email(first_last))]
    payment = [("iban", "iban", v.iban())]
    if r.random() < 0.7:
        payment.append(("card", "card", v.card_number()))
    payment.append(("customer", "customer", v.id_number()))
    sections = [personal, contact, payment]
    if r.random() < 0.5:
        sections.append([("name", "contact", v.person()), ("phone", "phone", v.phone())])
    for s in sections:
        head, tail = s[:1], s[1:]
        r.shuffle(tail)
        s[:] = head + tail
    return [[(name, ctx.label(key), value) for name, key, value in s] for s in sections]


def _inline_field(ctx: Ctx, label: str, value: Value, y: float, tab: float, underline: bool,
                  kf: GlyphFont) -> float | None:
    """``label`` at the margin, ``value`` at the tab column (one or two lines); None when it does not fit."""
    vf = ctx.fit(value.lines, ctx.right - tab)
    if vf is None or kf.measure(label) > tab - ctx.left - 8:
        return None
    height = ctx.pitch(vf) * len(value.lines) + (6 if underline else 0)
    if not ctx.fits(y, height):
        return None
    line = ctx.page.new_line()
    (k,), _ = row(ctx, [(label, "key", kf)], ctx.left, y + vf.ascent - kf.ascent, line=line)
    v, y_end = value_block(ctx, value, tab, y, vf, line=line)
    ctx.page.link(k, v)  # type: ignore[arg-type]
    if underline:  # under the last line
        ctx.page.hline(tab - 2, ctx.right, y_end - ctx.pitch(vf) + vf.height + 2, level=170, dash=2)
    return y_end + (6 if underline else 0)


def _boxed_fields(ctx: Ctx, fields: list[tuple[str, str, Value]], y: float, columns: int) -> float | None:
    """Fields in rectangles with the label above the value, up to ``columns`` short fields per row.

    Returns the y below the last row, or None when the page is full.
    """
    kf, pad, gap = ctx.font(0.75), 6, 8
    i = 0
    while i < len(fields):
        pair = columns == 2 and i + 1 < len(fields) and fields[i][0] not in _LONG and fields[i + 1][0] not in _LONG
        group = fields[i : i + (2 if pair else 1)]
        i += len(group)
        width = (ctx.width - gap * (len(group) - 1)) / len(group)
        fonts = [ctx.fit(v.lines, width - 2 * pad) for _, _, v in group]
        if any(f is None for f in fonts) or any(kf.measure(lbl) > width - 2 * pad for _, lbl, _ in group):
            continue
        height = max(pad + ctx.pitch(kf) + ctx.pitch(f) * len(v.lines) + 2  # type: ignore[arg-type]
                     for f, (_, _, v) in zip(fonts, group))
        if not ctx.fits(y, height):
            return None
        for j, ((_, label, value), vf) in enumerate(zip(group, fonts)):
            x0 = ctx.left + j * (width + gap)
            ctx.page.rect(x0, y, x0 + width, y + height, level=200)
            (k,), yv = row(ctx, [(label, "key", kf)], x0 + pad, y + pad)
            v, _ = value_block(ctx, value, x0 + pad, yv, vf)  # type: ignore[arg-type]
            ctx.page.link(k, v)  # type: ignore[arg-type]
        y += height + gap
    return y


def form(ctx: Ctx) -> None:
    """A form: title, sections of label/value fields (inline or boxed), declaration, signature."""
    r, p, lang = ctx.rng, ctx.page, ctx.lang
    y: float = ctx.top
    if r.random() < 0.6:
        org = ctx.values.company()
        f = ctx.fit(org.lines, ctx.width, scale=1.1, bold=True, family=ctx.head_family)
        if f is not None:
            _, y = value_block(ctx, org, ctx.left, y, f)
    title = r.choice(vocab.FORM_TITLES[lang])
    tf = ctx.fit([title], ctx.width, scale=r.uniform(1.4, 1.9), bold=True, family=ctx.head_family) or ctx.font(
        bold=True, family=ctx.head_family)
    align = r.choice(["left", "center"])
    y = plain(ctx, title, ctx.left if align == "left" else (ctx.left + ctx.right) / 2, y, tf, ctx.width, align)
    if r.random() < 0.6:
        p.hline(ctx.left, ctx.right, y - 2, thickness=2)
        y += 6
    y += ctx.pitch(tf) * 0.3
    style = r.choice(["inline", "inline_rules", "boxed", "boxed2"])
    sections = _form_fields(ctx)
    labels = [lbl for s in sections for _, lbl, _ in s]
    kf = ctx.font(bold=r.random() < 0.4)
    tab = ctx.left + min(max(kf.measure(lbl) for lbl in labels) + r.randint(12, 40), ctx.width * 0.45)
    hf = ctx.font(1.15, bold=True, family=ctx.head_family)
    for name, fields in zip(vocab.SECTIONS[lang], sections):
        if not ctx.fits(y, ctx.pitch(hf) + 3 * ctx.pitch(kf)):
            return
        y = plain(ctx, name, ctx.left, y + ctx.pitch(hf) * 0.4, hf, ctx.width)
        if style.startswith("boxed"):
            y_new = _boxed_fields(ctx, fields, y + 4, 2 if style == "boxed2" else 1)
            if y_new is None:
                return
            y = y_new
            continue
        for _, label, value in fields:
            y_new = _inline_field(ctx, label, value, y, tab, style == "inline_rules", kf)
            if y_new is None:
                if not ctx.fits(y, 2 * ctx.pitch(kf)):
                    return
                continue
            y = y_new
    _declaration(ctx, y + ctx.pitch(hf) * 0.5)


def _declaration(ctx: Ctx, y: float) -> None:
    r, p, lang = ctx.rng, ctx.page, ctx.lang
    f = ctx.font()
    if ctx.fits(y, 2 * ctx.pitch(f)) and r.random() < 0.6:
        text = vocab.CONSENT[lang]
        box = round(f.size * 0.8)
        yes, no = vocab.OPTIONS[lang]
        need = f.measure(text) + 2 * (box + f.measure(yes) + 24)
        if need <= ctx.width:
            line = p.new_line()
            p.text(ctx.left, y, text, f, line)
            x = ctx.left + f.measure(text) + 16
            top = y + f.ascent - box
            for k, option in enumerate((yes, no)):
                p.rect(x, top, x + box, top + box, level=220)
                if k == r.randrange(2):
                    p.rect(x + 3, top + 3, x + box - 3, top + box - 3, thickness=box // 2, level=230)
                p.text(x + box + 5, y, option, f, line)
                x += box + 5 + f.measure(option) + 16
            y += ctx.pitch(f) * 1.4
    lines = ctx.pitch(f) * 3 + 24
    if not ctx.fits(y, lines + ctx.pitch(f) * 2):
        return
    y = paragraph(ctx, [vocab.DECLARATION[lang]], ctx.left, y, ctx.width, f) + ctx.pitch(f) * 0.6
    kf = ctx.font(bold=r.random() < 0.3)
    date = ctx.values.date()
    y_sig = key_value(ctx, ctx.label("date"), date, ctx.left, y, kf, f) + ctx.pitch(f) * 0.4
    label = ctx.label("signature")
    sig_font = ctx.font(1.3, italic=True, family=r.choice(ctx.fonts.of_kind("serif")))
    if ctx.fits(y_sig, ctx.pitch(sig_font) + ctx.pitch(kf) + 8):
        line = p.new_line()
        (k,), _ = row(ctx, [(label, "key", kf)], ctx.left, y_sig + sig_font.ascent - kf.ascent, line=line)
        x = ctx.left + kf.measure(label) + 20
        name = Value("PERSON", (" ".join(ctx.values.first_last()),))
        if sig_font.measure(name.text) < ctx.right - x - 10 and r.random() < 0.7:
            v, _ = value_block(ctx, name, x + 6, y_sig, sig_font, line=line)
            p.link(k, v)  # type: ignore[arg-type]
        p.hline(x, min(x + 300, ctx.right), y_sig + sig_font.height + 4, level=200)


# -- invoices -----------------------------------------------------------------------------
def header_block(ctx: Ctx, x: float, y: float, align: str, max_width: float, org: Value,
                 scope: str | None = None) -> float:
    """Company name, address, phone, email and web address of an invoice or letter sender
    (the address and contacts with ``scope``, when given)."""
    r, v = ctx.rng, ctx.values
    nf = ctx.fit(org.lines, max_width, scale=r.uniform(1.3, 1.8), bold=True, family=ctx.head_family)
    nf = nf or ctx.fit(org.lines, max_width, bold=True, family=ctx.head_family)
    if nf is not None:
        _, y = value_block(ctx, org, x, y, nf, align)
    sf = ctx.font(0.85)
    address = v.address(2)
    if scope is not None:
        address = replace(address, scope=scope)
    af = ctx.fit(address.lines, max_width, scale=0.85)
    if af is not None:
        _, y = value_block(ctx, address, x, y, af, align)
    with_keys = r.random() < 0.6
    for key, value in (("phone", v.phone()), ("email", v.email()), (None, v.url())):
        if scope is not None:
            value = replace(value, scope=scope)
        if key == "email" and r.random() < 0.2 or key is None and r.random() < 0.5:
            continue
        parts = [(ctx.label(key), "key", sf)] if key and with_keys else []
        parts.append((value, "value", sf))
        if part_width(parts) > max_width:
            continue
        ids, y = row(ctx, parts, x, y, align)
        if len(ids) == 2:
            ctx.page.link(ids[0], ids[1])  # type: ignore[arg-type]
    return y


def _meta_block(ctx: Ctx, items: list[tuple[str, Value]], y: float, bold: bool) -> tuple[float, float]:
    """Key/value rows at the right margin (keys in one column) in at most 60% of the width.

    Returns (left x, bottom y); nothing is drawn (left x is the right margin) when they do not fit.
    """
    font_k = ctx.fit([k for k, _ in items], ctx.width * 0.3, bold=bold)
    font_v = ctx.fit([v.text for _, v in items], ctx.width * 0.3 - 12)
    if font_k is None or font_v is None:
        return ctx.right, y
    kw = max(font_k.measure(k) for k, _ in items)
    vw = max(font_v.measure(v.text) for _, v in items)
    x = ctx.right - kw - 12 - vw
    for key, value in items:
        line = ctx.page.new_line()
        (k,), _ = row(ctx, [(key, "key", font_k)], x, y, line=line)
        (v,), y = row(ctx, [(value, "value", font_v)], ctx.right, y, align="right", line=line)
        ctx.page.link(k, v)  # type: ignore[arg-type]
    return x, y


def invoice(ctx: Ctx) -> None:
    """An invoice: sender header, title, bill-to block, invoice data, item table, totals, IBAN."""
    r, p, v, lang = ctx.rng, ctx.page, ctx.values, ctx.lang
    left_header = r.random() < 0.7
    title = r.choice(vocab.INVOICE_TITLES[lang])
    tf = ctx.fit([title], ctx.width * 0.45, r.uniform(1.4, 2.0), bold=True, family=ctx.head_family)
    tf = tf or ctx.fit([title], ctx.width * 0.45, 0.8, bold=True, family=ctx.head_family) or ctx.font(bold=True)
    title_w = min(tf.measure(title), ctx.width * 0.45)
    header_w = ctx.width - title_w - 30
    hx, tx = (ctx.left, ctx.right) if left_header else (ctx.right, ctx.left)
    y_head = header_block(ctx, hx, ctx.top, "left" if left_header else "right", header_w, v.company())
    plain(ctx, title, tx, ctx.top, tf, title_w, "right" if left_header else "left")
    y = max(y_head, ctx.top + ctx.pitch(tf)) + ctx.pitch(ctx.font()) * r.uniform(0.8, 2.0)

    vf = ctx.font()
    meta = [(ctx.label("invoice_no"), v.id_number()), (ctx.label("invoice_date"), v.date())]
    if r.random() < 0.7:
        meta.append((ctx.label("due"), v.date()))
    if r.random() < 0.6:
        meta.append((ctx.label("customer"), v.id_number()))
    mx, y_meta = _meta_block(ctx, meta, y, r.random() < 0.5)
    # Bill-to block at the left, narrower than the gap before the meta block.
    bw = mx - ctx.left - 20
    name, address = v.person(), v.address(2)
    bf = ctx.fit([*name.lines, *address.lines], bw)
    yb = y
    if bf is not None:
        label = ctx.label("bill_to")
        bkf = ctx.font(bold=True)
        if bkf.measure(label) <= bw:
            (k,), yb = row(ctx, [(label, "key", bkf)], ctx.left, yb)
            n, yb = value_block(ctx, name, ctx.left, yb, bf)
            a, yb = value_block(ctx, address, ctx.left, yb, bf)
            p.link(k, n)  # type: ignore[arg-type]
            p.link(k, a)  # type: ignore[arg-type]
    y = max(y_meta, yb) + ctx.pitch(vf)
    y = _items_table(ctx, y)
    _payment(ctx, y)


def _items_table(ctx: Ctx, y: float) -> float:
    """The item table and the totals below it; returns the y below the totals."""
    r, p, v, lang = ctx.rng, ctx.page, ctx.values, ctx.lang
    hf, f = ctx.font(bold=True), ctx.font()
    pitch = ctx.pitch(f)
    reserve = 4 * pitch + 3 * ctx.pitch(hf) + 3 * pitch  # totals + payment block
    n_rows = min(r.randint(2, 10), int((ctx.bottom - y - reserve - 2 * ctx.pitch(hf)) // pitch))
    if n_rows < 1:
        return y
    W = ctx.width
    x_desc, x_qty, x_unit, x_amount = ctx.left + W * 0.47, ctx.left + W * 0.6, ctx.left + W * 0.8, ctx.right - 4
    symbol = r.random() < 0.4
    rows = []
    items = list(vocab.ITEMS[lang])
    r.shuffle(items)
    subtotal = 0.0
    for i in range(n_rows):
        qty = r.randint(1, 12) if r.random() < 0.6 else 1
        unit = v.money(5, 900)
        subtotal += qty * unit
        name = items[i % len(items)] if r.random() < 0.8 else " ".join(v.words(r.randint(2, 4))).capitalize()
        rows.append((name, str(qty), v.amount(unit, symbol), v.amount(round(qty * unit, 2), symbol)))
    # Every column keeps 12 px from the next one (separators, when drawn, lie in the gaps).
    nf = ctx.fit([u.text for _, _, u, _ in rows] + [a.text for *_, a in rows], x_amount - x_unit - 12)
    if nf is None:
        return y
    headers = vocab.TABLE_HEADERS[lang]
    top = y
    line = p.new_line()
    desc_w = x_desc - ctx.left - 12
    plain(ctx, headers[0], ctx.left + 4, y, hf, desc_w, line=line)
    for text, x, w in zip(headers[1:], (x_qty, x_unit, x_amount), (x_qty - x_desc, x_unit - x_qty, x_amount - x_unit)):
        plain(ctx, text, x, y, hf, w - 12, "right", line=line)
    y += ctx.pitch(hf)
    p.hline(ctx.left - 4, ctx.right + 4, y - 3, thickness=2 if r.random() < 0.5 else 1)
    y += 3
    for name, qty, unit, amount in rows:
        line = p.new_line()
        plain(ctx, name, ctx.left + 4, y, f, desc_w, line=line)
        p.text(x_qty, y + f.ascent - nf.ascent, qty, nf, line, "right")
        row(ctx, [(unit, "value", nf)], x_unit, y + f.ascent - nf.ascent, "right", line)
        row(ctx, [(amount, "value", nf)], x_amount, y + f.ascent - nf.ascent, "right", line)
        y += pitch
    p.hline(ctx.left - 4, ctx.right + 4, y, thickness=1)
    if r.random() < 0.35:  # grid
        for x in (x_desc + 2, x_qty + 6, x_unit + 6):
            p.vline(x, top - 4, y)
        p.rect(ctx.left - 4, top - 4, ctx.right + 4, y + 1)
    y += 8
    vat = round(subtotal * vocab.VAT_RATE[lang], 2)
    totals = [subtotal, vat, round(subtotal + vat, 2)]
    names = vocab.TOTALS[lang]
    for k, (label, amount) in enumerate(zip(names, totals)):
        bold = k == 2
        tkf = ctx.font(bold=bold)
        value = v.amount(amount, True)
        line = p.new_line()
        (kid,), _ = row(ctx, [(label + ctx.colon, "key", tkf)], x_unit - 70, y, "right", line)
        (vid,), y = row(ctx, [(value, "value", ctx.font(bold=bold))], x_amount, y, "right", line)
        p.link(kid, vid)  # type: ignore[arg-type]
    return y


def _payment(ctx: Ctx, y: float) -> None:
    r, v, lang = ctx.rng, ctx.values, ctx.lang
    f = ctx.font(0.9)
    y += ctx.pitch(f)
    if not ctx.fits(y, 3 * ctx.pitch(f)):
        return
    y = paragraph(ctx, [r.choice(vocab.PAYMENT[lang])], ctx.left, y, ctx.width, f)
    iban = v.iban()
    kf = ctx.font(0.9, bold=r.random() < 0.5)
    if ctx.fits(y, ctx.pitch(f)):
        y = key_value(ctx, ctx.label("iban"), iban, ctx.left, y, kf, f)
    if ctx.fits(y + ctx.pitch(f), ctx.pitch(f)) and r.random() < 0.7:
        plain(ctx, vocab.THANKS[lang], (ctx.left + ctx.right) / 2, y + ctx.pitch(f), f, ctx.width, "center")


# -- letters ------------------------------------------------------------------------------
_TITLES = {"en": ["Mr", "Ms", "Mrs", "Dr"], "de": ["Herr", "Frau", "Dr."], "fr": ["M.", "Mme", "Dr"]}


def letter(ctx: Ctx) -> None:
    """A letter: sender block, recipient block, date, reference, subject, body with values, signature."""
    r, v, lang = ctx.rng, ctx.values, ctx.lang
    f = ctx.font()
    pitch = ctx.pitch(f)
    right_sender = r.random() < 0.6
    block_w = ctx.width * 0.48
    sender_name = v.first_last()
    if r.random() < 0.5:
        org = v.company()
    else:
        org = Value("PERSON", (" ".join(sender_name),))
    sx = ctx.right if right_sender else ctx.left
    y = header_block(ctx, sx, ctx.top, "right" if right_sender else "left", block_w, org)
    # Recipient block (the envelope window).
    y = max(y + pitch, ctx.top + ctx.page.height * 0.16)
    name, address = v.first_last(), v.address(2)
    person = Value("PERSON", (" ".join(name),))
    title = r.choice(_TITLES[lang]) if r.random() < 0.5 else ""
    rf = ctx.fit([f"{title} {person.text}", *address.lines], ctx.width * 0.55)
    if rf is not None:
        parts = [(title, "plain", rf)] if title else []
        _, y = row(ctx, [*parts, (person, "value", rf)], ctx.left, y)
        _, y = value_block(ctx, address, ctx.left, y, rf)
    y += pitch
    date = v.date()
    if r.random() < 0.4:
        y = key_value(ctx, ctx.label("letter_date"), date, ctx.right, y, f, f, "right")
    else:
        _, y = value_block(ctx, date, ctx.right, y, f, "right")
    if r.random() < 0.6:
        y = key_value(ctx, ctx.label("ref"), v.id_number(), ctx.left, y, f, f)
    y += pitch * 0.5
    y = plain(ctx, r.choice(vocab.SUBJECTS[lang]), ctx.left, y, ctx.font(bold=True), ctx.width) + pitch * 0.5
    salutation = r.choice(vocab.SALUTATION[lang])
    if "," in salutation:
        y = plain(ctx, salutation, ctx.left, y, f, ctx.width)
    else:
        y = paragraph(ctx, [salutation, Value("PERSON", person.lines)], ctx.left, y, ctx.width, f)
    y += pitch * 0.5
    closing_h = 5 * pitch
    templates = list(vocab.TEMPLATES[lang])
    r.shuffle(templates)
    while templates and ctx.fits(y, 3 * pitch + closing_h):
        pieces = _sentence_pieces(ctx, templates.pop())
        for _ in range(r.randint(0, 2)):
            pieces.append(v.sentence(r.randint(6, 14)))
        lines_needed = int(sum(f.measure(pc.text if isinstance(pc, Value) else pc) for pc in pieces) // ctx.width) + 2
        if not ctx.fits(y, lines_needed * pitch + closing_h):
            break
        y = paragraph(ctx, pieces, ctx.left, y, ctx.width, f) + pitch * 0.5
    _closing(ctx, y, sender_name if org.label == "PERSON" else v.first_last())


def _sentence_pieces(ctx: Ctx, template: str) -> list[str | Value]:
    v = ctx.values
    makers = {"{person}": v.person, "{phone}": v.phone, "{email}": v.email, "{date}": v.date,
              "{amount}": v.amount, "{iban}": v.iban, "{id}": v.id_number}
    pieces: list[str | Value] = []
    text: list[str] = []
    for token in template.split():
        if token in makers:
            pieces.append(" ".join(text))
            pieces.append(makers[token]())
            text = []
        else:
            text.append(token)
    pieces.append(" ".join(text))
    return [pc for pc in pieces if not isinstance(pc, str) or pc]


def _closing(ctx: Ctx, y: float, name: tuple[str, str]) -> None:
    r, lang = ctx.rng, ctx.lang
    f = ctx.font()
    if not ctx.fits(y, 4 * ctx.pitch(f)):
        return
    y = plain(ctx, r.choice(vocab.CLOSING[lang]), ctx.left, y, f, ctx.width)
    person = Value("PERSON", (" ".join(name),))
    sig = ctx.fit(person.lines, ctx.width * 0.6, scale=r.uniform(1.3, 1.7), italic=True,
                  family=r.choice(ctx.fonts.of_kind("serif", "sans")))
    if sig is not None and r.random() < 0.7 and ctx.fits(y, ctx.pitch(sig) + ctx.pitch(f)):
        _, y = value_block(ctx, person, ctx.left + 10, y + 4, sig)
    else:
        y += ctx.pitch(f)
    if ctx.fits(y, ctx.pitch(f)):
        value_block(ctx, person, ctx.left, y, f)


# -- receipts -----------------------------------------------------------------------------
def receipt(ctx: Ctx) -> None:
    """A till receipt on a narrow page: store, date/time, items, total, card, cashier; cut below."""
    r, p, v, lang = ctx.rng, ctx.page, ctx.values, ctx.lang
    words = vocab.RECEIPT[lang]
    f = ctx.font()
    pitch = ctx.pitch(f)
    cx, W = (ctx.left + ctx.right) / 2, ctx.width
    y: float = ctx.top
    store = v.company()
    sf = ctx.fit(store.lines, W, scale=1.3, bold=True)
    if sf is not None:
        _, y = value_block(ctx, store, cx, y, sf, "center")
    address = v.address(2)
    af = ctx.fit(address.lines, W)
    if af is not None:
        _, y = value_block(ctx, address, cx, y, af, "center")
    for key, value in (("phone", v.phone()), ("vat_no", v.id_number())):
        parts = [(ctx.label(key), "key", f), (value, "value", f)]
        if part_width(parts) <= W and (key == "phone" or r.random() < 0.6):
            (k, val), y = row(ctx, parts, cx, y, "center")
            p.link(k, val)  # type: ignore[arg-type]

    def rule(y: float) -> float:
        p.hline(ctx.left, ctx.right, y + pitch * 0.3, level=200, dash=r.choice([0, 3, 5]))
        return y + pitch * 0.7

    y = rule(y)
    dt = v.date_time()
    dtf = ctx.fit(dt.lines, W)
    if dtf is not None:
        _, y = value_block(ctx, dt, ctx.left, y, dtf)
    parts = [(ctx.label("receipt_no"), "key", f), (v.id_number(), "value", f)]
    if part_width(parts) <= W:
        (k, val), y = row(ctx, parts, ctx.left, y)
        p.link(k, val)  # type: ignore[arg-type]
    y = rule(y)
    symbol = r.random() < 0.3
    total = 0.0
    groceries = list(vocab.GROCERIES[lang])
    r.shuffle(groceries)
    for name in groceries[: r.randint(3, 12)]:
        if not ctx.fits(y, 9 * pitch):
            break
        price = v.money(0.3, 40)
        qty = r.randint(2, 4) if r.random() < 0.2 else 1
        total += qty * price
        amount = v.amount(round(qty * price, 2), symbol)
        line = p.new_line()
        plain(ctx, name, ctx.left, y, f, W - f.measure(amount.text) - 16, line=line)
        (_,), y = row(ctx, [(amount, "value", f)], ctx.right, y, "right", line)
        if qty > 1:
            _, y = row(ctx, [(f"  {qty} x", "plain", f), (v.amount(price, False), "value", f)], ctx.left + 16, y)
    y = rule(y)
    amount = v.amount(round(total, 2), True)
    tf = ctx.fit([f"{words['total']} {amount.text}"], W - 24, scale=1.15, bold=True)
    if tf is not None:  # key at the left, amount at the right
        line = p.new_line()
        (k,), _ = row(ctx, [(words["total"], "key", tf)], ctx.left, y, line=line)
        (val,), y = row(ctx, [(amount, "value", tf)], ctx.right, y, "right", line)
    else:  # too narrow: one under the other
        tf = ctx.font(bold=True)
        (k,), y = row(ctx, [(words["total"], "key", tf)], ctx.left, y)
        (val,), y = row(ctx, [(amount, "value", tf)], ctx.right, y, "right")
    p.link(k, val)  # type: ignore[arg-type]
    y += pitch * 0.3
    y = plain(ctx, words["paid"], ctx.left, y, f, W)
    card = v.card_number(masked=r.random() < 0.6)
    parts = [(words["card"] + ctx.colon, "key", f), (card, "value", f)]
    if part_width(parts) <= W:
        (k, val), y = row(ctx, parts, ctx.left, y)
        p.link(k, val)  # type: ignore[arg-type]
    if r.random() < 0.6:
        y = plain(ctx, words["approved"], ctx.left, y, f, W)
    y += pitch * 0.3
    first, last = v.first_last()
    cashier = Value("PERSON", (first if r.random() < 0.5 else f"{first} {last}",))
    parts = [(ctx.label("cashier"), "key", f), (cashier, "value", f)]
    if part_width(parts) <= W:
        (k, val), y = row(ctx, parts, ctx.left, y)
        p.link(k, val)  # type: ignore[arg-type]
    if r.random() < 0.4:
        parts = [(ctx.label("customer"), "key", f), (v.id_number(), "value", f)]
        if part_width(parts) <= W:
            (k, val), y = row(ctx, parts, ctx.left, y)
            p.link(k, val)  # type: ignore[arg-type]
    y += pitch * 0.5
    y = plain(ctx, words["thanks"], cx, y, f, W, "center")
    p.crop_height(min(p.height, round(y + pitch * r.uniform(1.0, 3.0))))


LAYOUTS: dict[str, Callable[[Ctx], None]] = {"form": form, "invoice": invoice, "letter": letter, "receipt": receipt}
