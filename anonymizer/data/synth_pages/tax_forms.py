"""Tax forms: numbered, ruled boxes with the label at the top and the value below.

US pages are W-2-like (wage statement: identity boxes facing amount boxes), W-9-like
(request for a taxpayer number: ruled lines, checkboxes, SSN in digit boxes, signature)
or 1099-like (payer and recipient blocks, amount boxes). UK, German and French pages are
year-end pay and tax certificates (P60-like, Lohnsteuerbescheinigung-like, 2042-like)
with split name cells, national numbers, numbered amount boxes and the employer's block.

Labels: the person and everything about them is ``personal`` (their employer and payer
included); a W-9 requester's block is ``business``.
"""

from __future__ import annotations

import datetime as dt

from anonymizer.data.synth_pages.boxes import Block, Cell, Checks, Filler, GridStyle, Printed, Row, Side, Split, grid
from anonymizer.data.synth_pages.docparts import date_value, fine_print, grid_style, money, signature_line
from anonymizer.data.synth_pages.habits import BUSINESS, PERSONAL, Person, date_parts, filler, new_person
from anonymizer.data.synth_pages.identifiers import Identifiers
from anonymizer.data.synth_pages.pens import page_pen
from anonymizer.data.synth_pages.typeset import Ctx, plain
from anonymizer.data.synth_pages.values import Value

INSTRUCTIONS = {
    "en": ["Keep this form for your records. This information is being furnished to the tax authority. If you "
           "are required to file a return, a negligence penalty or other sanction may be imposed on you if this "
           "income is taxable and the tax authority determines that it has not been reported.",
           "Enter your taxpayer identification number in the appropriate box. The number provided must match the "
           "name given on line 1 to avoid backup withholding. For individuals, this is generally your social "
           "security number.",
           "Under penalties of perjury, I certify that the number shown on this form is my correct taxpayer "
           "identification number and that I am not subject to backup withholding.",
           "Copies of this statement are furnished to the employee for the employee's records and for filing "
           "with the employee's federal, state, city, or local income tax returns."],
    "de": ["Nachstehende Daten wurden maschinell an die Finanzverwaltung übertragen. Bitte bewahren Sie diesen "
           "Ausdruck für Ihre Unterlagen auf.",
           "Die Bescheinigung ist für die Einkommensteuererklärung bestimmt. Änderungen teilt der Arbeitgeber dem "
           "Finanzamt mit.",
           "Hinweise zur Lohnsteuerbescheinigung finden Sie in den Erläuterungen auf der Rückseite."],
    "fr": ["Vérifiez les montants préremplis et corrigez-les si nécessaire. Les revenus indiqués ont été "
           "déclarés par votre employeur ou votre organisme payeur.",
           "Conservez ce document: il peut vous être demandé par l'administration fiscale pendant trois ans.",
           "Je certifie l'exactitude des renseignements portés sur cette déclaration."],
}


def _person_name(ctx: Ctx, person: Person, styles: tuple[str, ...] = ("first_mi_last", "first_last")) -> Value:
    return person.full_name(ctx.rng.choice(styles))


def _amount_cell(ctx: Ctx, number: str, label: str, amount: float | None, span: float = 1.0,
                 symbol: bool = False) -> Cell:
    items = [money(ctx, amount, symbol)] if amount is not None and amount > 0 else []
    return Cell(label, items, span, number, align="right" if ctx.rng.random() < 0.6 else "left")


def _employer(ctx: Ctx) -> tuple[Value, Value]:
    """The employer's name and address: the person's employer, so ``personal``."""
    v = ctx.values
    return Value("ORGANIZATION", v.company().lines, PERSONAL), Value("LOCATION", v.address(2).lines, PERSONAL)


_AGENCY = {"en_US": "Department of the Treasury - Internal Revenue Service", "en_GB": "HM Revenue & Customs",
           "de_DE": "Finanzverwaltung", "fr_FR": "Direction générale des Finances publiques"}


def _header(ctx: Ctx, title: str, form: str, year: int, y: float) -> float:
    r = ctx.rng
    big = ctx.font(r.uniform(1.3, 1.7), bold=True, family=ctx.head_family)
    small = ctx.font(0.8)
    line = ctx.page.new_line()
    ctx.page.text(ctx.left, y, form, big, line)
    ctx.page.text(ctx.right, y, str(year), big, line, "right")
    x = ctx.left + big.measure(form) + 20
    room = ctx.right - big.measure(str(year)) - 20 - x
    tf = ctx.fit([title], room, 1.15, bold=True, family=ctx.head_family)
    if tf is not None:
        ctx.page.text(x, y + big.ascent - tf.ascent, title, tf, line)
    return plain(ctx, _AGENCY[ctx.locale], ctx.left, y + ctx.pitch(big), small, ctx.width) + 4


# -- US: W-2 -------------------------------------------------------------------------------------
def _w2(ctx: Ctx, style: GridStyle, ids: Identifiers, person: Person) -> list[Block]:
    r, v = ctx.rng, ctx.values
    wages = v.money(15000, 190000)
    fed = wages * r.uniform(0.06, 0.22)
    ss_wages = min(wages, 160200.0)
    state = person.state or "CA"
    employer, emp_addr = _employer(ctx)
    emp_name = Value("PERSON", (person.full_name(r.choice(["first_mi_last", "first_last"])).text,), PERSONAL)
    if r.random() < 0.5:  # one box for name and address
        who = [Row([Cell("Employee's name, address, and ZIP code", [emp_name, person.address(ctx.locale)],
                         number="e")])]
    else:
        who = [Row([Cell("Employee's first name and initial      Last name      Suff.", [emp_name], number="e")]),
               Row([Cell("Employee's address and ZIP code", [person.address(ctx.locale)], number="f")])]
    left: list[Block] = [
        Row([Cell("Employer identification number (EIN)", [Value("ID_NUMBER", (ids.ein(),), PERSONAL)],
                  number="b")]),
        Row([Cell("Employer's name, address, and ZIP code", [employer, emp_addr], number="c")]),
        Row([Cell("Control number", [Value("ID_NUMBER", (ids.control_number(),), PERSONAL)] if r.random() < 0.6
                  else [], number="d")]),
        *who,
    ]
    box12 = []
    for k in "abcd"[: r.randint(1, 4)]:
        items = [Filler(r.choice(["D", "DD", "C", "W", "E", "AA"])), money(ctx, v.money(50, 9000))] \
            if r.random() < 0.6 else []
        box12.append(Cell("See instructions for box 12" if k == "a" else "", items, number=f"12{k}"))
    right: list[Block] = [
        Row([_amount_cell(ctx, "1", "Wages, tips, other compensation", wages),
             _amount_cell(ctx, "2", "Federal income tax withheld", fed)]),
        Row([_amount_cell(ctx, "3", "Social security wages", ss_wages),
             _amount_cell(ctx, "4", "Social security tax withheld", ss_wages * 0.062)]),
        Row([_amount_cell(ctx, "5", "Medicare wages and tips", wages),
             _amount_cell(ctx, "6", "Medicare tax withheld", wages * 0.0145)]),
        Row([_amount_cell(ctx, "7", "Social security tips", v.money(100, 4000) if r.random() < 0.2 else None),
             _amount_cell(ctx, "8", "Allocated tips", None)]),
        Row([Cell("", [], number="9"),
             _amount_cell(ctx, "10", "Dependent care benefits", v.money(500, 5000) if r.random() < 0.2 else None)]),
        Row([_amount_cell(ctx, "11", "Nonqualified plans", None), box12[0]]),
        Row([Cell("", [Checks(("Statutory employee", "Retirement plan", "Third-party sick pay"),
                              tuple(k for k in range(3) if r.random() < 0.3))], number="13"),
             *(box12[1:2] or [Cell("", [], number="12b")])]),
    ]
    state_items: list = [Value("LOCATION", (state,), PERSONAL), Value("ID_NUMBER", (ids.state_id(),), PERSONAL)]
    local = r.random() < 0.4
    bottom = Row([
        Cell("State  Employer's state ID number", state_items, 1.6, "15"),
        _amount_cell(ctx, "16", "State wages, tips, etc.", wages),
        _amount_cell(ctx, "17", "State income tax", wages * r.uniform(0.02, 0.08)),
        _amount_cell(ctx, "18", "Local wages, tips, etc.", wages if local else None),
        _amount_cell(ctx, "19", "Local income tax", wages * r.uniform(0.005, 0.02) if local else None),
        Cell("Locality name", [Value("LOCATION", (person.city.upper() if r.random() < 0.5 else person.city,),
                                     PERSONAL)] if local else [], 1.1, "20"),
    ])
    ssn = Value("US_SSN", (person.ssn,), PERSONAL)
    top = Row([Cell("Employee's social security number", [ssn], 1.2, "a"),
               Cell("", [Printed("OMB No. 1545-0008", 0.8)], 0.8),
               Cell("", [Printed("Safe, accurate, FAST! Use e-file", 0.8)], 1.0)])
    return [top, Side([(1.0, left), (1.0, right)]), bottom]


# -- US: W-9 -------------------------------------------------------------------------------------
def _digit_parts(number: str) -> tuple[str, ...]:
    return tuple("-" if c == "-" else c for c in number if c.isdigit() or c == "-")


def _w9(ctx: Ctx, style: GridStyle, ids: Identifiers, person: Person) -> list[Block]:
    r, v = ctx.rng, ctx.values
    style.frame = False
    name = _person_name(ctx, person, ("first_last", "first_mi_last", "last_comma_first"))
    business: list = []
    if r.random() < 0.3:
        business = [Value("ORGANIZATION", v.company().lines, PERSONAL)]
    elif r.random() < 0.3:
        business = [Filler(filler(v, "org"))]
    classes = ("Individual/sole proprietor or single-member LLC", "C Corporation", "S Corporation", "Partnership",
               "Trust/estate")
    requester: list = []
    if r.random() < 0.6:
        requester = [Value("ORGANIZATION", v.company().lines, BUSINESS),
                     Value("LOCATION", v.address(2).lines, BUSINESS)]
    street = Value("LOCATION", (person.street,), PERSONAL)
    city = Value("LOCATION", person.address_lines(ctx.locale)[1:], PERSONAL)
    account = [Value("ID_NUMBER", (ids.account(),), PERSONAL)] if r.random() < 0.3 else []
    ssn_cell = Cell("Social security number", [Split(Value("US_SSN", (person.ssn,), PERSONAL),
                                                     _digit_parts(person.ssn), boxed=True)], 1.0)
    return [
        Row([Cell("Name (as shown on your income tax return). Name is required on this line; do not leave this "
                  "line blank.", [name], number="1")]),
        Row([Cell("Business name/disregarded entity name, if different from above", business, number="2")]),
        Row([Cell("Check appropriate box for federal tax classification of the person whose name is entered on "
                  "line 1. Check only one of the following boxes.", [Checks(classes, (0,))], 2.6, "3"),
             Cell("Exemptions (codes apply only to certain entities, not individuals):",
                  [Printed("Exempt payee code (if any)", 0.8)], 1.0, "4")]),
        Side([(2.6, [Row([Cell("Address (number, street, and apt. or suite no.) See instructions.", [street],
                               number="5")]),
                     Row([Cell("City, state, and ZIP code", [city], number="6")])]),
              (1.0, [Row([Cell("Requester's name and address (optional)", requester)])])]),
        Row([Cell("List account number(s) here (optional)", account, number="7")]),
        Row([Cell("", [Printed("Part I  Taxpayer Identification Number (TIN)", 1.0, True)], 2.0), ssn_cell]),
        Row([Cell("", [Printed("Note: If the account is in more than one name, see the instructions for line 1.",
                               0.8)], 2.0),
             Cell("Employer identification number", [Split(None, ("", "", "-", *[""] * 7), boxed=True)], 1.0)]),
    ]


# -- US: 1099 --------------------------------------------------------------------------------------
def _1099(ctx: Ctx, style: GridStyle, ids: Identifiers, person: Person) -> list[Block]:
    r, v = ctx.rng, ctx.values
    interest = r.random() < 0.4  # 1099-INT: the payer is a bank, the issuer
    payer_scope = BUSINESS if interest else PERSONAL
    payer = [Value("ORGANIZATION", v.company().lines, payer_scope),
             Value("LOCATION", v.address(2).lines, payer_scope)]
    if r.random() < 0.7:
        payer.append(Value("PHONE_NUMBER", v.phone().lines, payer_scope))
    name = _person_name(ctx, person, ("first_last", "first_mi_last", "last_comma_first_mi"))
    lines = person.address_lines(ctx.locale)
    recipient_tin = person.ssn if r.random() < 0.7 else "***-**-" + person.ssn[-4:]
    left: list[Block] = [
        Row([Cell("PAYER'S name, street address, city or town, state or province, country, ZIP or foreign postal "
                  "code, and telephone no.", payer)]),
        Row([Cell("PAYER'S TIN", [Value("ID_NUMBER", (ids.ein(),), payer_scope)]),
             Cell("RECIPIENT'S TIN", [Value("US_SSN", (recipient_tin,), PERSONAL)])]),
        Row([Cell("RECIPIENT'S name", [name])]),
        Row([Cell("Street address (including apt. no.)", [Value("LOCATION", lines[:1], PERSONAL)])]),
        Row([Cell("City or town, state or province, country, and ZIP or foreign postal code",
                  [Value("LOCATION", lines[1:], PERSONAL)])]),
        Row([Cell("Account number (see instructions)",
                  [Value("ID_NUMBER", (ids.account(),), PERSONAL)] if r.random() < 0.6 else [])]),
    ]
    income = v.money(300, 90000)
    first = ("Interest income", "Early withdrawal penalty") if interest else \
        ("Nonemployee compensation", "Payer made direct sales totaling $5,000 or more")
    right: list[Block] = [
        Row([Cell("", [Printed("OMB No. 1545-0116", 0.8), Printed(f"Form 1099-{'INT' if interest else 'NEC'}",
                                                                    1.1, True)])]),
        Row([_amount_cell(ctx, "1", first[0], income, symbol=r.random() < 0.5)]),
        Row([_amount_cell(ctx, "2", first[1], None) if interest
             else Cell(first[1], [Checks(("Yes",), (0,) if r.random() < 0.2 else ())], number="2")]),
        Row([_amount_cell(ctx, "4", "Federal income tax withheld", income * r.uniform(0, 0.2)
                          if r.random() < 0.5 else None)]),
        Row([_amount_cell(ctx, "5", "State tax withheld", income * r.uniform(0.01, 0.06)),
             Cell("State/Payer's state no.", [Value("ID_NUMBER", (ids.state_id(),), payer_scope)],
                  number="6"),
             _amount_cell(ctx, "7", "State income", income)]),
    ]
    return [Side([(1.1, left), (1.0, right)])]


# -- UK, Germany, France: year-end certificates ------------------------------------------------------
_CERT = {
    "en_GB": {"title": "P60 End of Year Certificate", "form": "P60", "sub": "Tax year to 5 April {year}",
              "last": "Surname", "first": "Forenames or initials", "nid": "National Insurance number",
              "ref": "Works/payroll number", "born": "Date of birth", "address": "Employee's address",
              "employer": "Employer's full name and address (including postcode)",
              "employer_id": "Employer PAYE reference", "code": "Final tax code",
              "amounts": [  # (box number, label, share of the year's pay)
                  ("", "Pay in previous employment(s)", 0.3),
                  ("", "Tax deducted in previous employment(s)", 0.05),
                  ("", "Pay in this employment", 0.7),
                  ("", "Tax deducted in this employment", 0.13),
                  ("", "Total pay for year", 1.0),
                  ("", "Total tax for year", 0.18),
                  ("", "Student Loan deductions", 0.03),
                  ("", "National Insurance contributions", 0.08)],
              "codes": ("1257L", "1257L", "BR", "K475", "1100L W1")},
    "de_DE": {"title": "Ausdruck der elektronischen Lohnsteuerbescheinigung für {year}", "form": "LStB",
              "sub": "Nachstehende Daten wurden maschinell an die Finanzverwaltung übertragen.",
              "last": "Name", "first": "Vorname", "nid": "Identifikationsnummer", "ref": "Personalnummer",
              "born": "Geburtsdatum", "address": "Anschrift des Arbeitnehmers",
              "employer": "Anschrift und Steuernummer des Arbeitgebers", "employer_id": "Steuernummer",
              "code": "Steuerklasse/Faktor",
              "amounts": [  # (box number, label, share of the year's pay)
                  ("3.", "Bruttoarbeitslohn einschl. Sachbezüge", 1.0),
                  ("4.", "Einbehaltene Lohnsteuer von 3.", 0.16),
                  ("5.", "Einbehaltener Solidaritätszuschlag von 3.", 0.009),
                  ("6.", "Einbehaltene Kirchensteuer des Arbeitnehmers von 3.", 0.014),
                  ("22.", "Arbeitgeberanteil zur gesetzlichen Rentenversicherung", 0.093),
                  ("23.", "Arbeitnehmeranteil zur gesetzlichen Rentenversicherung", 0.093),
                  ("25.", "Arbeitnehmerbeiträge zur gesetzlichen Krankenversicherung", 0.081),
                  ("26.", "Arbeitnehmerbeiträge zur sozialen Pflegeversicherung", 0.017)],
              "codes": ("1", "3", "4", "5", "1 / 0,000")},
    "fr_FR": {"title": "Déclaration des revenus {year}", "form": "2042", "sub": "Revenus de l'année {year}",
              "last": "Nom", "first": "Prénoms", "nid": "Numéro fiscal", "ref": "Numéro d'accès en ligne",
              "born": "Date de naissance", "address": "Adresse du déclarant",
              "employer": "Nom et adresse de l'employeur", "employer_id": "N° SIRET",
              "code": "Situation du foyer",
              "amounts": [  # (box number, label, share of the year's pay)
                  ("1AJ", "Salaires, gains de droits d'auteur", 1.0),
                  ("1AP", "Autres revenus imposables", 0.05),
                  ("1GB", "Heures supplémentaires exonérées", 0.04),
                  ("1AK", "Frais réels", 0.06),
                  ("8HV", "Impôt prélevé à la source", 0.08),
                  ("8TK", "Revenus étrangers", 0.1),
                  ("1BJ", "Salaires déclarant 2", 0.8),
                  ("7UF", "Dons aux oeuvres", 0.01)],
              "codes": ("M", "C", "D", "O", "V")},
}


def _certificate(ctx: Ctx, style: GridStyle, ids: Identifiers, person: Person) -> list[Block]:
    r, v, spec, loc = ctx.rng, ctx.values, _CERT[ctx.locale], ctx.locale
    caps = r.random() < 0.5
    last = Value("PERSON", ((person.name.last.upper() if caps else person.name.last),), PERSONAL)
    first = Value("PERSON", ((person.name.first.upper() if caps else person.name.first),), PERSONAL)
    nid_label = "NATIONAL_ID" if loc != "fr_FR" else "ID_NUMBER"
    nid = person.ssn if loc != "fr_FR" else ids.french_tax_number()
    ref = ids.employee_id() if loc != "fr_FR" else ids.shape("AAAA9999AA")
    born = Split(date_value(ctx, person.birth, "spaced"), date_parts(v, person.birth),
                 ("JJ", "MM", "AAAA") if loc == "fr_FR" else ("TT", "MM", "JJJJ") if loc == "de_DE"
                 else ("DD", "MM", "YYYY"))
    org, addr = _employer(ctx)
    employer_id = {"en_GB": ids.paye_reference(), "de_DE": ids.german_tax_number(), "fr_FR": ids.siret()}[loc]
    pay = v.money(12000, 150000)
    cells = []
    for number, label, share in spec["amounts"]:  # each amount a share of the year's pay
        amount = pay * share * r.uniform(0.8, 1.2) if share < 1 else pay
        cells.append(_amount_cell(ctx, number, label, amount if r.random() < 0.85 else None))
    amount_rows: list[Block] = [Row(cells[i : i + 2]) for i in range(0, len(cells), 2)]
    identity: list[Block] = [
        Row([Cell(spec["last"], [last]), Cell(spec["first"], [first])]),
        Row([Cell(spec["born"], [born]), Cell(spec["nid"], [Value(nid_label, (nid,), PERSONAL)])]),
        Row([Cell(spec["address"], [person.address(loc)])]),
        Row([Cell(spec["ref"], [Value("ID_NUMBER", (ref,), PERSONAL)]),
             Cell(spec["code"], [Filler(r.choice(spec["codes"]))])]),
    ]
    employer = Row([Cell(spec["employer"], [org, addr], 2.0),
                    Cell(spec["employer_id"], [Value("ID_NUMBER", (employer_id,), PERSONAL)], 1.0)])
    return [Side([(1.0, identity), (1.0, amount_rows)]), employer]


_VARIANTS = {"en_US": (_w2, _w9, _1099), "en_GB": (_certificate,), "de_DE": (_certificate,), "fr_FR": (_certificate,)}
_TITLES = {_w2: ("W-2", "Wage and Tax Statement"), _w9: ("W-9", "Request for Taxpayer Identification Number and "
                                                               "Certification"),
           _1099: ("1099", "Miscellaneous Information")}
_SIGN = {"en": ("Signature", "Date"), "de": ("Unterschrift", "Datum"), "fr": ("Signature", "Date")}


def tax_form(ctx: Ctx) -> None:
    """A tax form of the page's locale: header, a grid of numbered boxes, instructions and perhaps a signature."""
    r, v = ctx.rng, ctx.values
    ids = Identifiers(v)
    person = new_person(v, demo=r.random() < 0.15)
    year = r.randint(2016, 2024)
    pen = page_pen(ctx, r.uniform(0.85, 1.0), mono=0.5)
    style = grid_style(ctx, pen)
    variant = r.choice(_VARIANTS[ctx.locale])
    if variant is _certificate:
        spec = _CERT[ctx.locale]
        y = _header(ctx, spec["title"].format(year=year), spec["form"], year, ctx.top)
        y = plain(ctx, spec["sub"].format(year=year), ctx.left, y, ctx.font(0.85), ctx.width) + 6
    else:
        form, title = _TITLES[variant]
        y = _header(ctx, title, f"Form {form}", year, ctx.top) + 6
    blocks = variant(ctx, style, ids, person)
    y = grid(ctx, blocks, style, ctx.left, y, ctx.width, thick_top=r.random() < 0.5) + ctx.pitch(ctx.font())
    if variant is _w9 or variant is _certificate and r.random() < 0.6:
        label, date_label = _SIGN[ctx.lang]
        if variant is _w9:
            label, date_label = "Sign Here  Signature of U.S. person", "Date"
        y = fine_print(ctx, INSTRUCTIONS[ctx.lang][2:3], y) + 4
        y = signature_line(ctx, person, y, label + ctx.colon, date_label + ctx.colon,
                           dt.date(year + 1, 1, 1) + dt.timedelta(days=r.randrange(120)), "mdy", pen=pen)
    texts = list(INSTRUCTIONS[ctx.lang])
    r.shuffle(texts)
    texts += [v.sentence(r.randint(12, 24)) for _ in range(r.randint(2, 8))]
    fine_print(ctx, texts, y + ctx.pitch(ctx.font()) * 0.5, r.uniform(0.75, 0.9), r.choice([1, 2, 2]))
