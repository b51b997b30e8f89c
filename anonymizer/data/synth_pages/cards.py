"""ID, insurance and business cards: card-sized pages or cards scanned on a full page.

A landscape page is the card itself (85.6 x 54 mm ID cards, 88.9 x 50.8 mm business cards,
at ``card_width`` pixels); on a portrait page the card (and, for ID cards, its back) lies
somewhere on a white sheet, as on a photocopy or flatbed scan. ID cards are US driver
licences (short ``DL``/``LN``/``DOB`` labels or AAMVA numbers ``4d``/``1``/``3``), US
social security cards, UK driving licences (fields numbered ``1.`` to ``9.``), German and
French identity cards (bilingual labels) and health insurance member cards; all with
capitalised names, dates, numbers, a photo area, background patterns and a signature.

Scopes: the cardholder's data is ``personal``; an insurer's or issuer's name, phone and web
address are ``business``. A business card's person (name, direct and mobile phone, email)
is ``personal``; its company, office address, main phone and web address are ``business``.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from dataclasses import replace

import numpy as np
from PIL import Image, ImageDraw

from anonymizer.data.synth_pages.boxes import Filler
from anonymizer.data.synth_pages.docparts import date_value, signature_font
from anonymizer.data.synth_pages.habits import BUSINESS, PERSONAL, Person, date_text, new_person, scoped
from anonymizer.data.synth_pages.identifiers import Identifiers
from anonymizer.data.synth_pages.pens import Pen
from anonymizer.data.synth_pages.typeset import Ctx, PageFull, plain
from anonymizer.data.synth_pages.values import Value

#: Width / height of the cards (ID-1 format; US business card).
CARD_ASPECT = {"id_card": 85.6 / 54.0, "business_card": 88.9 / 50.8}
_US_STATES = {"CA": "CALIFORNIA", "NY": "NEW YORK", "TX": "TEXAS", "FL": "FLORIDA", "IL": "ILLINOIS",
              "WA": "WASHINGTON", "PA": "PENNSYLVANIA", "OH": "OHIO"}
_EYES = ("BRN", "BLU", "GRN", "HAZ", "GRY")
_TITLES = {
    "en": ("Account Manager", "Senior Consultant", "Sales Director", "Software Engineer", "Office Manager",
           "Chief Executive Officer", "Project Lead", "Attorney at Law", "Physiotherapist", "Real Estate Agent"),
    "de": ("Vertriebsleiter", "Geschäftsführerin", "Projektleiter", "Steuerberater", "Rechtsanwältin",
           "Kundenberater", "Softwareentwickler", "Einkauf"),
    "fr": ("Directeur commercial", "Chargée de clientèle", "Chef de projet", "Avocat", "Expert-comptable",
           "Responsable des achats", "Ingénieur logiciel", "Gérante"),
}
_CONTACT = {"en": ("T", "M", "E", "W", "Tel.", "Mobile", "Email", "Web"),
            "de": ("T", "M", "E", "W", "Tel.", "Mobil", "E-Mail", "Web"),
            "fr": ("T", "M", "E", "W", "Tél.", "Port.", "Courriel", "Web")}
_COPY = {"en": ("Copy of identification", "Photocopy - front and back", "ID on file"),
         "de": ("Kopie des Ausweises", "Vorder- und Rückseite"),
         "fr": ("Copie de la pièce d'identité", "Recto / verso")}


# -- drawing the card ------------------------------------------------------------------------
def _shape(page_ctx: Ctx, x0: int, y0: int, w: int, h: int, draw) -> None:  # ImageDraw callback
    """Draw on a ``w`` x ``h`` coverage mask with PIL and add it to the page at ``(x0, y0)``."""
    mask = Image.new("L", (w, h), 0)
    draw(ImageDraw.Draw(mask))
    page_ctx.page.overlay(np.asarray(mask), x0, y0)


def _background(ctx: Ctx, x0: int, y0: int, w: int, h: int, band: int) -> None:
    """Card outline, a light tint, wave patterns and a header band ``band`` pixels high."""
    r = ctx.rng
    tint, waves, level = r.choice([0, 8, 14, 22]), r.random() < 0.7, r.randint(18, 40)
    radius = max(6, w // 28)

    def draw(d: ImageDraw.ImageDraw) -> None:
        d.rounded_rectangle((0, 0, w - 1, h - 1), radius, fill=tint, outline=r.randint(110, 200), width=2)
        if band:
            d.rounded_rectangle((1, 1, w - 2, band), radius, fill=r.randint(40, 80))
        if waves:
            period, amp = r.uniform(30, 70), r.uniform(3, 9)
            for k in range(band + 8, h - 4, r.randint(9, 16)):
                pts = [(x, k + amp * math.sin(x / period * 2 * math.pi + k)) for x in range(4, w - 4, 4)]
                d.line(pts, fill=level, width=1)

    _shape(ctx, x0, y0, w, h, draw)


def _photo(ctx: Ctx, x0: int, y0: int, w: int, h: int) -> None:
    """A photo area: a grey rectangle with a head-and-shoulders silhouette."""
    shade, body = ctx.rng.randint(60, 110), ctx.rng.randint(150, 210)

    def draw(d: ImageDraw.ImageDraw) -> None:
        d.rectangle((0, 0, w - 1, h - 1), fill=shade, outline=200)
        d.ellipse((w * 0.3, h * 0.15, w * 0.7, h * 0.6), fill=body)
        d.ellipse((w * 0.1, h * 0.62, w * 0.9, h * 1.3), fill=body)

    _shape(ctx, x0, y0, w, h, draw)


def _barcode(ctx: Ctx, x0: int, y0: int, w: int, h: int) -> None:
    """A PDF417-like block of black and white modules (no text)."""
    cells = ctx.rng.getrandbits(max(1, (w // 3) * (h // 4)))
    bits = np.array([(cells >> k) & 1 for k in range((w // 3) * (h // 4))], np.uint8).reshape(h // 4, w // 3)
    ctx.page.overlay(np.kron(bits * 255, np.ones((4, 3), np.uint8)).astype(np.uint8), x0, y0)


def _field(ctx: Ctx, pen: Pen, label: str, value: Value | Filler | None, x: float, y: float, width: float,
           stacked: bool, label_scale: float = 0.6) -> float:
    """A card field: a small label (KEY) left of or above its value; returns the y below it."""
    page = ctx.page
    lf = ctx.font(label_scale, bold=ctx.rng.random() < 0.5)
    lines = pen.prepare(value).lines if isinstance(value, Value) else (pen.text_of(value.text),) if value else ()
    room = width if stacked else width - lf.measure(label) - lf.space - 2
    vf = pen.fit(lines, room) if lines else None
    if value is not None and vf is None:
        return y
    vf = vf or pen.face(pen.size)
    height = pen.pitch(vf) * max(1, len(lines))
    pitch = (ctx.pitch(lf) + height) if stacked else max(ctx.pitch(lf), height)
    if not ctx.fits(y, pitch):
        raise PageFull
    line = page.new_line()
    if label:
        ly = y if stacked else y + vf.ascent - lf.ascent
        key = page.entity("KEY", page.text(x, ly, label, lf, line), sensitive=False)
    vy = y + ctx.pitch(lf) if stacked else y
    vx = x if stacked else x + lf.measure(label) + lf.space + 2
    if isinstance(value, Value):
        vid, _ = pen.value(pen.prepare(value), vx, vy, vf, line=None if stacked else line)
        if label:
            page.link(key, vid)
    elif value is not None:
        pen.line(lines[0], vx, vy, vf, line=None if stacked else line)
    return y + pitch


def _signature(ctx: Ctx, person: Person, x: float, y: float, width: float) -> float:
    name = person.full_name("first_last" if ctx.rng.random() < 0.7 else "initial_last")
    sf = signature_font(ctx, name.text, round(ctx.size * 1.6), width)
    if sf is None or not ctx.fits(y, sf.height):
        return y
    ctx.page.entity("PERSON", ctx.page.text(x, y, name.text, sf), scope=PERSONAL)
    return y + sf.height


# -- ID cards ------------------------------------------------------------------------------
def _dates(ctx: Ctx, person: Person) -> tuple[dt.date, dt.date]:
    issued = dt.date(2016, 1, 1) + dt.timedelta(days=ctx.rng.randrange(2900))
    return issued, issued.replace(year=issued.year + ctx.rng.choice([4, 5, 8, 10]))


def _us_licence(ctx: Ctx, pen: Pen, ids: Identifiers, person: Person, box: tuple[int, int, int, int]) -> str:
    """Returns the licence number (printed again on the back)."""
    r, (x0, y0, w, h) = ctx.rng, box
    state = r.choice(list(_US_STATES))
    band = round(h * 0.2)
    _background(ctx, x0, y0, w, h, band)
    head = ctx.fit([_US_STATES[state]], w * 0.6, 1.5, bold=True, family=ctx.head_family) or ctx.font(bold=True)
    plain(replace(ctx, bottom=y0 + band), _US_STATES[state], x0 + 12, y0 + (band - head.height) // 2, head, w * 0.6)
    sub = ctx.font(0.8, bold=True)
    plain(replace(ctx, bottom=y0 + band), r.choice(["DRIVER LICENSE", "DRIVER LICENSE USA", "IDENTIFICATION CARD"]),
          x0 + w - 12, y0 + (band - sub.height) // 2, sub, w * 0.38, "right")
    pw = round(w * 0.28)
    _photo(ctx, x0 + 12, y0 + band + 10, pw, round(pw * 1.25))
    numbered = r.random() < 0.5
    issued, expires = _dates(ctx, person)
    dstyle = "mdy"
    number = ids.licence_number("en_US", state)
    inner = replace(ctx, bottom=y0 + h - 6)
    x, y, width = x0 + pw + 24, y0 + band + 8, w - pw - 36
    lab = (lambda n, s: n if numbered else s)  # noqa: E731 - AAMVA number or short label
    y = _field(inner, pen, lab("4d DLN", "DL"), Value("ID_NUMBER", (number,), PERSONAL), x, y, width, False, 0.7)
    y = _field(inner, pen, lab("4b EXP", "EXP"), date_value(ctx, expires, dstyle), x, y, width, False)
    y = _field(inner, pen, lab("1", "LN"), Value("PERSON", (person.name.last.upper(),), PERSONAL), x, y, width, False)
    first = f"{person.name.first} {person.name.middle}".strip().upper()
    y = _field(inner, pen, lab("2", "FN"), Value("PERSON", (first,), PERSONAL), x, y, width, False)
    y = _field(inner, pen, lab("8", ""), person.address(ctx.locale, 2, caps=True), x, y, width, False)
    y = _field(inner, pen, lab("3 DOB", "DOB"), date_value(ctx, person.birth, dstyle), x, y, width, False)
    half = width / 2
    yl = _field(inner, pen, lab("12 RSTR", "RSTR"), Filler(r.choice(["NONE", "B", "CORR LENS"])), x, y, half, False)
    _field(inner, pen, lab("9 CLASS", "CLASS"), Filler(r.choice(["C", "D", "A"])), x + half, y, half, False)
    y = _field(inner, pen, lab("15 SEX", "SEX"), Filler(r.choice("MF")), x, yl, half / 2, False)
    _field(inner, pen, lab("18 EYES", "EYES"), Filler(r.choice(_EYES)), x + half, yl, half, False)
    y = _field(inner, pen, lab("4a ISS", "ISS"), date_value(ctx, issued, dstyle), x, y, half, False)
    _field(inner, pen, lab("5 DD", "DD"), Value("ID_NUMBER", (ids.shape("99999999999999"),), PERSONAL), x, y,
           width, False, 0.55)
    _signature(inner, person, x0 + 14, y0 + band + round(pw * 1.25) + 16, pw + 10)
    return number


def _licence_back(ctx: Ctx, ids: Identifiers, person: Person, number: str, box: tuple[int, int, int, int]) -> None:
    x0, y0, w, h = box
    _background(ctx, x0, y0, w, h, 0)
    _barcode(ctx, x0 + 16, y0 + 16, w - 32, round(h * 0.45))
    inner = replace(ctx, bottom=y0 + h - 6)
    pen = Pen(ctx, ctx.family, round(ctx.size * 0.8))
    y = _field(inner, pen, "DL", Value("ID_NUMBER", (number,), PERSONAL), x0 + 16, y0 + round(h * 0.55), w - 32,
               False)
    plain(inner, "This card is the property of the issuing state. If found, return to any office.", x0 + 16, y + 6,
          ctx.font(0.6), w - 32)


def _ssn_card(ctx: Ctx, pen: Pen, ids: Identifiers, person: Person, box: tuple[int, int, int, int]) -> None:
    r, (x0, y0, w, h) = ctx.rng, box
    _background(ctx, x0, y0, w, h, 0)
    inner = replace(ctx, bottom=y0 + h - 6)
    cx = x0 + w / 2
    y = plain(inner, "SOCIAL SECURITY", cx, y0 + 14, ctx.font(1.5, bold=True, family=ctx.head_family), w - 20,
              "center")
    f = ctx.font(1.6, bold=True)
    line = ctx.page.new_line()
    ctx.page.entity("US_SSN", ctx.page.text(cx, y + 4, person.ssn, f, line, "center"), scope=PERSONAL)
    y += ctx.pitch(f) + 8
    lf = ctx.font(0.65)
    (k,) = [ctx.page.entity("KEY", ctx.page.text(cx, y, "THIS NUMBER HAS BEEN ESTABLISHED FOR", lf,
                                                 align="center"), sensitive=False)]
    y += ctx.pitch(lf) + 4
    nf = ctx.fit([person.full_name("first_mi_last", caps=True).text], w - 40, 1.3, bold=True) or ctx.font()
    vid, y = pen.value(person.full_name(r.choice(["first_mi_last", "first_last"]), caps=True), cx, y, nf, "center")
    ctx.page.link(k, vid)
    sig_y = y0 + h - round(h * 0.28)
    _signature(inner, person, x0 + w * 0.25, sig_y - 8, w * 0.5)
    ctx.page.hline(x0 + w * 0.2, x0 + w * 0.8, sig_y + ctx.font(1.6).height, level=160)
    plain(inner, "SIGNATURE", cx, sig_y + ctx.font(1.6).height + 4, ctx.font(0.6), w, "center")


_EU = {
    "de_DE": ("BUNDESREPUBLIK DEUTSCHLAND", "PERSONALAUSWEIS / IDENTITY CARD",
              ("Name / Surname", "Vornamen / Given names", "Geburtstag / Date of birth",
               "Geburtsort / Place of birth", "Staatsangehörigkeit / Nationality", "Gültig bis / Date of expiry"),
              "DEUTSCH"),
    "fr_FR": ("RÉPUBLIQUE FRANÇAISE", "CARTE NATIONALE D'IDENTITÉ",
              ("Nom / Surname", "Prénoms / Given names", "Date de naiss. / Date of birth",
               "Lieu de naissance / Place of birth", "Nationalité / Nationality", "Date d'expir. / Expiry date"),
              "FRA"),
    "en_GB": ("DRIVING LICENCE", "UNITED KINGDOM",
              ("1.", "2.", "3.", "", "", "4b."), "UNITED KINGDOM"),
}


def _eu_card(ctx: Ctx, pen: Pen, ids: Identifiers, person: Person, box: tuple[int, int, int, int]) -> None:
    (x0, y0, w, h), loc = box, ctx.locale
    title, sub, labels, nationality = _EU[loc]
    band = round(h * 0.18)
    _background(ctx, x0, y0, w, h, band)
    head = ctx.fit([title], w * 0.6, 1.2, bold=True, family=ctx.head_family) or ctx.font(bold=True)
    inner = replace(ctx, bottom=y0 + h - 6)
    plain(inner, title, x0 + 12, y0 + (band - head.height) // 2, head, w * 0.6)
    plain(inner, sub, x0 + w - 12, y0 + (band - ctx.font(0.7).height) // 2, ctx.font(0.7, bold=True), w * 0.38,
          "right")
    pw = round(w * 0.27)
    _photo(ctx, x0 + 12, y0 + band + 10, pw, round(pw * 1.28))
    x, y, width = x0 + pw + 26, y0 + band + 6, w - pw - 38
    issued, expires = _dates(ctx, person)
    stacked = loc != "en_GB"
    dstyle = "mdy"
    if loc == "en_GB":  # UK licences: number labels, dates with the place of birth
        number = ids.licence_number(loc, last=person.name.last, first=person.name.first)
        y = _field(inner, pen, "1.", Value("PERSON", (person.name.last.upper(),), PERSONAL), x, y, width, False, 0.8)
        y = _field(inner, pen, "2.", Value("PERSON", (f"{person.name.first} {person.name.middle}".strip().upper(),),
                                           PERSONAL), x, y, width, False, 0.8)
        y = _field(inner, pen, "3.", Value("DATE_TIME", (date_text(ctx.values, person.birth, dstyle),), PERSONAL),
                   x, y, width * 0.45, False, 0.8)
        y = _field(inner, pen, "4a.", date_value(ctx, issued, dstyle), x, y, width * 0.45, False, 0.8)
        y = _field(inner, pen, "4b.", date_value(ctx, expires, dstyle), x, y, width * 0.45, False, 0.8)
        y = _field(inner, pen, "5.", Value("ID_NUMBER", (number,), PERSONAL), x, y, width, False, 0.8)
        _field(inner, pen, "8.", person.address(loc, 1, caps=True), x, y, width, False, 0.8)
    else:
        y = _field(inner, pen, labels[0], Value("PERSON", (person.name.last.upper(),), PERSONAL), x, y, width,
                   stacked)
        y = _field(inner, pen, labels[1], Value("PERSON", (person.name.first.upper(),), PERSONAL), x, y, width,
                   stacked)
        half = width / 2
        y2 = _field(inner, pen, labels[2], date_value(ctx, person.birth, dstyle), x, y, half - 6, stacked)
        _field(inner, pen, labels[3], Value("LOCATION", (person.city.upper(),), PERSONAL), x + half, y, half,
               stacked)
        y = _field(inner, pen, labels[4], Filler(nationality), x, y2, half - 6, stacked)
        _field(inner, pen, labels[5], date_value(ctx, expires, dstyle), x + half, y2, half, stacked)
        label = "Ausweisnummer / Document No." if loc == "de_DE" else "N° du document / Document No."
        _field(inner, pen, label, Value("ID_NUMBER", (ids.document_number(loc),), PERSONAL), x, y, width, False,
               0.55)
    _signature(inner, person, x0 + 14, y0 + band + round(pw * 1.28) + 14, pw + 10)


def _insurance_card(ctx: Ctx, pen: Pen, ids: Identifiers, person: Person, box: tuple[int, int, int, int]) -> None:
    r, v, (x0, y0, w, h) = ctx.rng, ctx.values, box
    band = round(h * 0.22)
    _background(ctx, x0, y0, w, h, band)
    inner = replace(ctx, bottom=y0 + h - 6)
    insurer = Value("ORGANIZATION", (v.company().text + r.choice([" Health", " Insurance", " Care", ""]),), BUSINESS)
    hf = ctx.fit(insurer.lines, w * 0.62, 1.3, bold=True, family=ctx.head_family) or ctx.font(bold=True)
    line = ctx.page.new_line()
    ctx.page.entity("ORGANIZATION", ctx.page.text(x0 + 12, y0 + (band - hf.height) // 2, insurer.text, hf, line),
                    scope=BUSINESS)
    plan = r.choice(["PPO", "HMO", "Gold 1500", "Silver Plus", "EPO", "Basic"])
    plain(inner, plan, x0 + w - 12, y0 + (band - ctx.font().height) // 2, ctx.font(bold=True), w * 0.3, "right")
    ctx = replace(ctx, size=round(ctx.size * 1.2), bottom=y0 + h - 6)
    inner, pen = ctx, replace(pen, ctx=ctx, size=round(pen.size * 1.25))
    x, y, width = x0 + 14, y0 + band + 10, w - 28
    labels = {"en": ("Member", "Member ID", "Group No.", "Effective", "PCP", "Dependents"),
              "de": ("Versicherter", "Versichertennr.", "Gruppe", "Gültig ab", "Hausarzt", "Mitversichert"),
              "fr": ("Assuré", "N° d'adhérent", "Contrat", "Date d'effet", "Médecin traitant",
                     "Ayants droit")}[ctx.lang]
    stacked = r.random() < 0.4
    y = _field(inner, pen, labels[0], person.full_name(r.choice(["first_mi_last", "first_last", "last_comma_first"]),
                                                       caps=True), x, y, width * 0.65, stacked, 0.7)
    y = _field(inner, pen, labels[1], Value("ID_NUMBER", (ids.member_id(),), PERSONAL), x, y, width * 0.65, stacked,
               0.7)
    yr = y0 + band + 8
    yr = _field(inner, pen, labels[2], Value("ID_NUMBER", (ids.group_number(),), PERSONAL), x0 + w * 0.68, yr,
                w * 0.3, True, 0.6)
    yr = _field(inner, pen, labels[3], date_value(ctx, dt.date(r.randint(2019, 2025), r.randint(1, 12), 1), "mdy"),
                x0 + w * 0.68, yr, w * 0.3, True, 0.6)
    if r.random() < 0.5:
        doctor = new_person(ctx.values).full_name("first_last", caps=True)
        y = _field(inner, pen, labels[4], doctor, x, y, width * 0.65, False, 0.7)
    elif r.random() < 0.6:
        dependents = new_person(ctx.values).full_name("first_last", caps=True)
        y = _field(inner, pen, labels[5], dependents, x, y, width * 0.65, False, 0.7)
    y = max(y, yr) + ctx.pitch(ctx.font()) * 0.5
    copays = "  ".join(f"{k} ${c}" for k, c in zip(("PCP", "SPEC", "ER", "Rx"), r.sample([10, 20, 25, 30, 40, 50,
                                                                                          75, 150, 250], 4)))
    if ctx.lang == "en" and ctx.fits(y, ctx.pitch(ctx.font(0.7))):
        y = plain(inner, copays, x, y, ctx.font(0.7), width)
    if ctx.locale == "en_US" and ctx.fits(y, ctx.pitch(ctx.font(0.6))):
        y = plain(inner, f"RxBIN {ids.shape('999999')}  RxPCN {ids.shape('AAAA')}  RxGRP {ids.shape('AAA99')}", x, y,
                  ctx.font(0.6), width)
    sf = ctx.font(0.6)
    y = max(y, y0 + h - 6 - 2.2 * ctx.pitch(sf))
    service = Pen(ctx, ctx.family, sf.size)
    phone_label = {"en": "Customer service", "de": "Service-Hotline", "fr": "Service client"}[ctx.lang]
    for label, value in ((phone_label, scoped(v.phone(), BUSINESS)), ("Web", scoped(v.url(), BUSINESS))):
        if ctx.fits(y, ctx.pitch(sf) + 2) and r.random() < 0.8:
            y = _field(inner, service, label, value, x, y, width, False, 0.6)


def id_card(ctx: Ctx) -> None:
    """An ID or member card of the page's locale, alone (card page) or with its back on a white sheet."""
    r, v = ctx.rng, ctx.values
    ids = Identifiers(v)
    person = new_person(v, demo=r.random() < 0.2)
    card_page = ctx.page.width > ctx.page.height
    if card_page:
        box = (ctx.left, ctx.top, ctx.right - ctx.left, ctx.bottom - ctx.top)
        scale = box[2] / 40
    else:
        w = round(ctx.width * r.uniform(0.6, 0.85))
        box = (ctx.left + r.randint(0, ctx.width - w), ctx.top + r.randint(40, 160), w,
               round(w / CARD_ASPECT["id_card"]))
        scale = box[2] / 40
    cctx = replace(ctx, size=max(11, round(scale)))
    pen = Pen(cctx, cctx.family if r.random() < 0.6 else cctx.head_family, cctx.size,
              bold=r.random() < 0.4, caps=True)
    kinds = {"en_US": (_us_licence, _us_licence, _ssn_card, _insurance_card),
             "en_GB": (_eu_card, _insurance_card), "de_DE": (_eu_card, _insurance_card),
             "fr_FR": (_eu_card, _insurance_card)}[ctx.locale]
    kind = r.choice(kinds)
    if not card_page:
        plain(ctx, r.choice(_COPY[ctx.lang]), ctx.left, ctx.top, ctx.font(bold=True), ctx.width)
    number = kind(cctx, pen, ids, person, box)
    if not card_page and number and r.random() < 0.7:
        back = (box[0], box[1] + box[3] + r.randint(30, 120), box[2], box[3])
        if back[1] + back[3] <= ctx.bottom:
            _licence_back(cctx, ids, person, number, back)


# -- business cards --------------------------------------------------------------------------
def business_card(ctx: Ctx) -> None:
    """Business cards: the card page itself, or two to six cards scanned on a sheet."""
    r = ctx.rng
    if ctx.page.width > ctx.page.height:
        _business_card(ctx, ctx.left, ctx.top, ctx.right - ctx.left, ctx.bottom - ctx.top, r.random() < 0.5)
        return
    gap = 24
    w = round((ctx.width - gap) / 2 * r.uniform(0.92, 1.0))
    h = round(w / CARD_ASPECT["business_card"])
    y = ctx.top + r.randint(0, 60)
    for _ in range(r.randint(1, 3)):
        if y + h > ctx.bottom:
            break
        for col in range(2):
            if r.random() < 0.85:
                _business_card(ctx, ctx.left + col * (w + gap), y, w, h, True)
        y += h + gap + r.randint(0, 40)


def _business_card(ctx: Ctx, x0: int, y0: int, w: int, h: int, outline: bool) -> None:
    """One business card in the ``w`` x ``h`` box at ``(x0, y0)``: name, title, company, contacts."""
    r, v = ctx.rng, ctx.values
    cctx = replace(ctx, size=max(11, round(w / 36)), bottom=y0 + h - 8)
    if outline:
        _background(cctx, x0, y0, w, h, 0)
    first, last = v.first_last()
    person = Value("PERSON", (f"{first} {last}".upper() if r.random() < 0.3 else f"{first} {last}",), PERSONAL)
    company = Value("ORGANIZATION", v.company().lines, BUSINESS)
    center = r.random() < 0.35
    pad = round(w * 0.07)
    x = x0 + w / 2 if center else x0 + pad
    align = "center" if center else "left"
    width = w - 2 * pad
    y = y0 + pad * 0.8
    labels = _CONTACT[ctx.lang]
    short = r.random() < 0.5
    nf = cctx.fit(person.lines, width, 1.6, bold=True, family=cctx.head_family)
    if nf is None:
        return
    line = cctx.page.new_line()
    cctx.page.entity("PERSON", cctx.page.text(x, y, person.text, nf, line, align), scope=PERSONAL)
    y += cctx.pitch(nf)
    y = plain(cctx, r.choice(_TITLES[ctx.lang]), x, y, cctx.font(0.95, italic=r.random() < 0.5), width, align)
    y += cctx.pitch(cctx.font()) * 0.4
    cf = cctx.fit(company.lines, width, 1.15, bold=True)
    if cf is not None:
        line = cctx.page.new_line()
        cctx.page.entity("ORGANIZATION", cctx.page.text(x, y, company.text, cf, line, align), scope=BUSINESS)
        y += cctx.pitch(cf)
    email_user = f"{first[0]}.{last}".lower() if r.random() < 0.5 else f"{first}.{last}".lower()
    domain = v.faker.domain_name()
    contacts = [(labels[0] if short else labels[4], scoped(v.phone(), BUSINESS if r.random() < 0.5 else PERSONAL)),
                (labels[1] if short else labels[5], scoped(v.phone(), PERSONAL)),
                (labels[2] if short else labels[6], Value("EMAIL_ADDRESS", (_ascii(f"{email_user}@{domain}"),),
                                                          PERSONAL)),
                (labels[3] if short else labels[7], Value("URL", (f"www.{domain}",), BUSINESS))]
    r.shuffle(contacts[:2])
    pen = Pen(cctx, cctx.family, round(cctx.size * 0.9))
    address = Value("LOCATION", v.address(r.choice([1, 2])).lines, BUSINESS)
    af = cctx.fit(address.lines, width, 0.85)
    if af is not None and r.random() < 0.8 and cctx.fits(y, cctx.pitch(af) * len(address.lines)):
        _, y = pen.value(address, x, y, af, align)
    for label, value in contacts:
        if r.random() < 0.85:
            y = _field(cctx, pen, label, value, x if not center else x0 + pad, y, width, False, 0.8)


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if ord(c) < 128)
