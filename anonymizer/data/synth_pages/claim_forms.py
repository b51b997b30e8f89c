"""Medical and insurance claim forms: dense numbered boxes, split dates, member and policy numbers.

US pages are CMS-1500-like: capitalised numbered labels (``2. PATIENT'S NAME (Last Name,
First Name, Middle Initial)``), ``LAST, FIRST, MI`` names, addresses split into street,
city, state and ZIP boxes, birth dates in ``MM DD YY`` cells, ``SAME`` and ``SIGNATURE ON
FILE`` fill-ins, a service-line table and the provider's blocks. UK, German and French pages
are reimbursement claims with policy and member numbers, split names and dates, a
treatment table, the amount claimed and bank details.

Scopes: the patient, the insured, other named people, their numbers, dates and amounts are
``personal``; the carrier's address block and the billing provider's and facility's name,
address, phone, tax and NPI numbers are ``business``.
"""

from __future__ import annotations

import datetime as dt

from anonymizer.data.synth_pages.boxes import Cell, Checks, Filler, Printed, Row, Split, grid
from anonymizer.data.synth_pages.docparts import date_value, fine_print, grid_style, money, signature_line
from anonymizer.data.synth_pages.habits import BUSINESS, PERSONAL, Person, date_parts, filler, new_person, recent_date
from anonymizer.data.synth_pages.identifiers import Identifiers
from anonymizer.data.synth_pages.pens import Pen, page_pen
from anonymizer.data.synth_pages.tables import TableStyle, table
from anonymizer.data.synth_pages.typeset import Ctx, plain, value_block
from anonymizer.data.synth_pages.values import Value

_PROGRAMS = ("MEDICARE", "MEDICAID", "TRICARE", "CHAMPVA", "GROUP HEALTH PLAN", "FECA BLK LUNG", "OTHER")
_CPT = ("99213", "99214", "99203", "36415", "85025", "80053", "93000", "90471", "97110", "71046")
_ICD = ("J06.9", "R05.9", "E11.9", "I10", "M54.5", "Z00.00", "K21.9", "F41.1", "J45.909", "N39.0")


def _split_date(ctx: Ctx, day: dt.date, two_digit: bool = False) -> Split:
    us = ctx.locale == "en_US"
    heads = ("MM", "DD", "YY" if two_digit else "YYYY") if us else \
        {"de": ("TT", "MM", "JJJJ"), "fr": ("JJ", "MM", "AAAA")}.get(ctx.lang, ("DD", "MM", "YYYY"))
    parts = date_parts(ctx.values, day, two_digit)
    return Split(Value("DATE_TIME", (" ".join(parts),), PERSONAL), parts, heads)


def _loc(text: str, scope: str = PERSONAL) -> Value:
    return Value("LOCATION", (text,), scope)


def _provider(ctx: Ctx, phone: bool) -> list:
    """A provider's or facility's name, address (and phone): ``business``."""
    v = ctx.values
    items: list = [Value("ORGANIZATION", v.company().lines, BUSINESS), Value("LOCATION", v.address(2).lines, BUSINESS)]
    if phone:
        items.append(Value("PHONE_NUMBER", v.phone().lines, BUSINESS))
    return items


def _cms1500(ctx: Ctx, pen: Pen, ids: Identifiers, patient: Person, y: float) -> float:
    r, v = ctx.rng, ctx.values
    style = grid_style(ctx, pen, caps=True, frame=True, label_px=(10, 11))
    same_insured = r.random() < 0.55
    insured = patient if same_insured else new_person(v, demo=patient.demo)
    style_name = r.choice(["last_comma_first_mi", "last_comma_first", "last_first_mi"])
    pname = patient.full_name(style_name, caps=True)
    iname: Value | Filler = Filler("SAME") if same_insured and r.random() < 0.5 else \
        insured.full_name(style_name, caps=True)
    same_addr = same_insured and r.random() < 0.5

    def addr(p: Person, part: str, blank: bool = False) -> list:
        if blank:
            return []
        text = {"street": p.street, "city": p.city, "state": p.state, "zip": p.postcode, "phone": p.phone}[part]
        return [Value("PHONE_NUMBER", (text,), PERSONAL) if part == "phone" else _loc(text)]

    insured_street = [Filler(filler(v, "address"))] if same_addr and r.random() < 0.6 else addr(insured, "street",
                                                                                                  same_addr)
    member = Value("ID_NUMBER", (ids.member_id(),), PERSONAL)
    program = r.randrange(len(_PROGRAMS))
    sex = (("M", "F"), (r.randrange(2),))
    rows = [
        Row([Cell("", [Checks(_PROGRAMS, (program,))], 2.2, "1."),
             Cell("INSURED'S I.D. NUMBER (For Program in Item 1)", [member], 1.2, "1a.")]),
        Row([Cell("PATIENT'S NAME (Last Name, First Name, Middle Initial)", [pname], 1.4, "2."),
             Cell("PATIENT'S BIRTH DATE", [_split_date(ctx, patient.birth, r.random() < 0.5)], 0.8, "3."),
             Cell("SEX", [Checks(*sex)], 0.45),
             Cell("INSURED'S NAME (Last Name, First Name, Middle Initial)", [iname], 1.4, "4.")]),
        Row([Cell("PATIENT'S ADDRESS (No., Street)", addr(patient, "street"), 1.4, "5."),
             Cell("PATIENT RELATIONSHIP TO INSURED", [Checks(("Self", "Spouse", "Child", "Other"),
                                                             (0 if same_insured else r.randint(1, 3),))], 1.25, "6."),
             Cell("INSURED'S ADDRESS (No., Street)", insured_street, 1.4, "7.")]),
        Row([Cell("CITY", addr(patient, "city"), 1.05), Cell("STATE", addr(patient, "state"), 0.35),
             Cell("RESERVED FOR NUCC USE", [], 1.25, "8."),
             Cell("CITY", addr(insured, "city", same_addr), 1.05),
             Cell("STATE", addr(insured, "state", same_addr), 0.35)]),
        Row([Cell("ZIP CODE", addr(patient, "zip"), 0.6), Cell("TELEPHONE (Include Area Code)",
                                                               addr(patient, "phone"), 0.8),
             Cell("", [], 1.25), Cell("ZIP CODE", addr(insured, "zip", same_addr), 0.6),
             Cell("TELEPHONE (Include Area Code)", addr(insured, "phone", same_addr), 0.8)]),
    ]
    optional = [
        Row([Cell("OTHER INSURED'S NAME (Last name, First Name, Middle Initial)",
                  [new_person(v).full_name(style_name, caps=True)] if r.random() < 0.25 else [], 1.4, "9."),
             Cell("IS PATIENT'S CONDITION RELATED TO: a. EMPLOYMENT? (Current or Previous)",
                  [Checks(("YES", "NO"), (1,))], 1.25, "10."),
             Cell("INSURED'S POLICY GROUP OR FECA NUMBER", [Value("ID_NUMBER", (ids.group_number(),), PERSONAL)],
                  1.4, "11.")]),
        Row([Cell("INSURANCE PLAN NAME OR PROGRAM NAME",
                  [Filler(filler(v, "any"))] if r.random() < 0.3 else [], 1.4, "9d."),
             Cell("b. AUTO ACCIDENT?", [Checks(("YES", "NO"), (1,))], 1.25, "10."),
             Cell("INSURED'S DATE OF BIRTH", [_split_date(ctx, insured.birth)], 0.9, "11a."),
             Cell("INSURANCE PLAN NAME OR PROGRAM NAME", [Value("ORGANIZATION", v.company().lines, PERSONAL)],
                  1.0, "11c.")]),
    ]
    rows += [b for b in optional if r.random() < 0.5]
    rows += [
        Row([Cell("PATIENT'S OR AUTHORIZED PERSON'S SIGNATURE I authorize the release of any medical or other "
                  "information necessary to process this claim.",
                  [Filler(filler(v, "signature"))] if r.random() < 0.7 else [], 1.9, "12."),
             Cell("DATE", [date_value(ctx, recent_date(v), "mdy")], 0.7),
             Cell("INSURED'S OR AUTHORIZED PERSON'S SIGNATURE", [Filler(filler(v, "signature"))], 1.4, "13.")]),
        Row([Cell("DATE OF CURRENT ILLNESS, INJURY, or PREGNANCY (LMP)", [_split_date(ctx, recent_date(v), True)],
                  1.3, "14."),
             Cell("NAME OF REFERRING PROVIDER OR OTHER SOURCE",
                  [new_person(v).full_name("first_mi_last", caps=True)]
                  if r.random() < 0.6 else [], 1.5, "17."),
             Cell("NPI", [Value("ID_NUMBER", (ids.npi(),), PERSONAL)] if r.random() < 0.6 else [], 0.9, "17b.")]),
        Row([Cell("DIAGNOSIS OR NATURE OF ILLNESS OR INJURY  Relate A-L to service line below (24E)",
                  [Filler("   ".join(f"{'ABCD'[k]}. {c}" for k, c in enumerate(r.sample(_ICD, r.randint(1, 3)))))],
                  1.0, "21.")]),
    ]
    y = grid(ctx, rows, style, ctx.left, y, ctx.width)
    y = _service_lines(ctx, pen, ids, y, us=True)
    provider_ein = Value("ID_NUMBER", (ids.ein(),), BUSINESS)
    charges = sum(v.money(60, 450) for _ in range(r.randint(1, 4)))
    paid = charges * r.choice([0.0, 0.0, 0.2, 1.0])
    bottom = [
        Row([Cell("FEDERAL TAX I.D. NUMBER   SSN EIN", [provider_ein], 1.2, "25."),
             Cell("PATIENT'S ACCOUNT NO.", [Value("ID_NUMBER", (ids.shape("999999"),), PERSONAL)], 1.0, "26."),
             Cell("ACCEPT ASSIGNMENT?", [Checks(("YES", "NO"), (0,))], 0.8, "27."),
             Cell("TOTAL CHARGE", [money(ctx, charges, r.random() < 0.3)], 0.8, "28.", "right"),
             Cell("AMOUNT PAID", [money(ctx, paid, False)] if paid else [], 0.8, "29.", "right")]),
        Row([Cell("SIGNATURE OF PHYSICIAN OR SUPPLIER INCLUDING DEGREES OR CREDENTIALS",
                  [new_person(v).full_name("first_last", caps=pen.caps),
                   date_value(ctx, recent_date(v), "mdy2")], 1.2, "31."),
             Cell("SERVICE FACILITY LOCATION INFORMATION", _provider(ctx, False), 1.3, "32."),
             Cell("BILLING PROVIDER INFO & PH #", _provider(ctx, True), 1.5, "33.")]),
        Row([Cell("NPI", [Value("ID_NUMBER", (ids.npi(),), BUSINESS)], 1.2, "32a."),
             Cell("NPI", [Value("ID_NUMBER", (ids.npi(),), BUSINESS)], 1.3, "33a.")]),
    ]
    return grid(ctx, bottom, style, ctx.left, y + 2, ctx.width)


def _service_lines(ctx: Ctx, pen: Pen, ids: Identifiers, y: float, us: bool) -> float:
    r, v = ctx.rng, ctx.values
    style = TableStyle(head=ctx.font(0.7, bold=True), body=ctx.font(0.85), rules=r.choice(["rows", "grid"]))
    npi = ids.npi()
    rows = []
    start = recent_date(v)
    for _ in range(r.randint(1, 3)):
        day = start + dt.timedelta(days=r.randrange(30))
        date = Value("DATE_TIME", (" ".join(date_parts(v, day, True)),), PERSONAL)
        rows.append([date, Filler(r.choice(["11", "22", "02"])), Filler(r.choice(_CPT)), Filler("A"),
                     money(ctx, v.money(40, 600)), Filler("1"), Value("ID_NUMBER", (npi,), BUSINESS)])
    headers = ["24. A. DATE(S) OF SERVICE", "B. PLACE OF SERVICE", "D. PROCEDURES, SERVICES, OR SUPPLIES (CPT/HCPCS)",
               "E. DIAGNOSIS POINTER", "F. $ CHARGES", "G. DAYS OR UNITS", "J. RENDERING PROVIDER ID. #"]
    return table(ctx, headers, rows, (1.3, 0.6, 1.3, 0.7, 0.9, 0.6, 1.3),
                 ("left", "left", "left", "left", "right", "left", "left"), pen, style, y + 6,
                 keys=(True, False, False, False, True, False, True))


_LOCAL = {
    "en_GB": {"title": "Medical Expenses Claim Form", "policy": "Policy number", "member": "Membership number",
              "last": "Surname", "first": "Forename(s)", "born": "Date of birth", "street": "Address",
              "postcode": "Postcode", "town": "Town", "phone": "Daytime telephone", "email": "Email",
              "patient": "Patient name (if not the policyholder)", "doctor": "Name of treating doctor or hospital",
              "treated": "Date of first treatment", "symptoms": "Symptoms",
              "table": ("Date of treatment", "Treatment", "Amount"), "total": "Total amount claimed",
              "holder": "Account holder", "bank": "Sort code / Account number",
              "sign": ("Signature of policyholder", "Date"),
              "treatments": ("Consultation", "Physiotherapy", "Blood test", "X-ray", "Prescription")},
    "de_DE": {"title": "Antrag auf Kostenerstattung", "policy": "Versicherungsnummer", "member": "Mitgliedsnummer",
              "last": "Name", "first": "Vorname", "born": "Geburtsdatum", "street": "Straße, Hausnummer",
              "postcode": "PLZ", "town": "Ort", "phone": "Telefon (tagsüber)", "email": "E-Mail",
              "patient": "Behandelte Person (falls nicht Versicherungsnehmer)", "doctor": "Behandelnder Arzt / Klinik",
              "treated": "Beginn der Behandlung", "symptoms": "Beschwerden",
              "table": ("Behandlungsdatum", "Leistung", "Betrag"), "total": "Erstattungsbetrag gesamt",
              "holder": "Kontoinhaber", "bank": "IBAN", "sign": ("Unterschrift Versicherungsnehmer", "Datum"),
              "treatments": ("Beratung", "Krankengymnastik", "Blutuntersuchung", "Röntgen", "Arzneimittel")},
    "fr_FR": {"title": "Feuille de soins", "policy": "N° d'immatriculation", "member": "N° d'adhérent",
              "last": "Nom", "first": "Prénom", "born": "Date de naissance", "street": "Adresse",
              "postcode": "Code postal", "town": "Ville", "phone": "Téléphone", "email": "Courriel",
              "patient": "Bénéficiaire des soins (si autre que l'assuré)",
              "doctor": "Médecin traitant / Établissement",
              "treated": "Date des soins", "symptoms": "Nature des soins",
              "table": ("Date", "Acte", "Montant"), "total": "Montant total réclamé",
              "holder": "Titulaire du compte", "bank": "IBAN", "sign": ("Signature de l'assuré", "Date"),
              "treatments": ("Consultation", "Kinésithérapie", "Analyse de sang", "Radiographie", "Pharmacie")},
}


def _local_claim(ctx: Ctx, pen: Pen, ids: Identifiers, person: Person, y: float) -> float:
    r, v, spec = ctx.rng, ctx.values, _LOCAL[ctx.locale]
    style = grid_style(ctx, pen)
    caps = r.random() < 0.4
    other = r.random() < 0.3
    policy = person.ssn if ctx.locale == "fr_FR" else ids.policy_number()
    doctor = new_person(v).full_name("first_last")
    bank = [Value("IBAN_CODE", v.iban().lines, PERSONAL)] if ctx.locale != "en_GB" else \
        [Value("ID_NUMBER", (f"{ids.sort_code()} {ids.account()}",), PERSONAL)]
    rows = [
        Row([Cell(spec["policy"], [Value("NATIONAL_ID" if ctx.locale == "fr_FR" else "ID_NUMBER", (policy,),
                                         PERSONAL)], 1.0, "1"),
             Cell(spec["member"], [Value("ID_NUMBER", (ids.member_id(),), PERSONAL)], 1.0, "2")]),
        Row([Cell(spec["last"], [Value("PERSON", ((person.name.last.upper() if caps else person.name.last),),
                                       PERSONAL)], 1.0, "3"),
             Cell(spec["first"], [Value("PERSON", (person.name.first,), PERSONAL)], 1.0, "4"),
             Cell(spec["born"], [_split_date(ctx, person.birth)], 0.9, "5")]),
        Row([Cell(spec["street"], [_loc(person.street)], 1.6, "6"), Cell(spec["postcode"], [_loc(person.postcode)],
                                                                         0.5),
             Cell(spec["town"], [_loc(person.city)], 0.9)]),
        Row([Cell(spec["phone"], [Value("PHONE_NUMBER", (person.phone,), PERSONAL)], 1.0, "7"),
             Cell(spec["email"], [Value("EMAIL_ADDRESS", (person.email,), PERSONAL)]
                  if r.random() < 0.7 else [Filler(filler(v, "any"))], 1.4, "8")]),
        Row([Cell(spec["patient"], [new_person(v).full_name("first_last")] if other
                  else [Filler(filler(v, "name"))], 1.4, "9"),
             Cell(spec["treated"], [_split_date(ctx, recent_date(v))], 1.0, "10")]),
        Row([Cell(spec["doctor"], [doctor, Value("LOCATION", v.address(1).lines, BUSINESS)], 1.0, "11")]),
        Row([Cell(spec["symptoms"], [Printed(r.choice(spec["treatments"]))], 1.0, "12")]),
    ]
    y = grid(ctx, rows, style, ctx.left, y, ctx.width)
    tstyle = TableStyle(head=ctx.font(0.85, bold=True), body=ctx.font(0.95), rules=r.choice(["lines", "rows", "grid"]))
    total = 0.0
    lines = []
    for _ in range(r.randint(1, 5)):
        amount = v.money(20, 400)
        total += amount
        lines.append([date_value(ctx, recent_date(v), "mdy"), r.choice(spec["treatments"]), money(ctx, amount, True)])
    y = table(ctx, spec["table"], lines, (1.0, 1.8, 0.8), ("left", "left", "right"), pen, tstyle, y + 8,
              keys=(True, False, True))
    rows = [Row([Cell(spec["total"], [money(ctx, total, True)], 1.0, "13", "right"),
                 Cell(spec["holder"], [person.full_name("first_last")], 1.2, "14"),
                 Cell(spec["bank"], bank, 1.8, "15")])]
    y = grid(ctx, rows, style, ctx.left, y + 6, ctx.width) + 10
    label, date_label = spec["sign"]
    return signature_line(ctx, person, y, label + ctx.colon, date_label + ctx.colon, recent_date(v), pen=pen)


def claim_form(ctx: Ctx) -> None:
    """A claim form of the page's locale: carrier block, title, numbered boxes, service lines, provider."""
    r, v = ctx.rng, ctx.values
    ids = Identifiers(v)
    person = new_person(v, demo=r.random() < 0.15)
    pen = page_pen(ctx, r.uniform(0.8, 0.95), mono=0.6 if ctx.locale == "en_US" else 0.3)
    y: float = ctx.top
    if r.random() < 0.6:  # the carrier's address block at the top right
        f = ctx.font(0.9)
        carrier = [Value("ORGANIZATION", v.company().lines, BUSINESS), Value("LOCATION", v.address(2).lines, BUSINESS)]
        yc = y
        for item in carrier:
            _, yc = value_block(ctx, item, ctx.right, yc, f, "right")
        y = yc + 4
    title = "HEALTH INSURANCE CLAIM FORM" if ctx.locale == "en_US" else _LOCAL[ctx.locale]["title"]
    tf = ctx.fit([title], ctx.width * 0.8, r.uniform(1.3, 1.7), bold=True, family=ctx.head_family) or ctx.font()
    center = r.random() < 0.5
    y = plain(ctx, title, (ctx.left + ctx.right) / 2 if center else ctx.left, y, tf, ctx.width,
              "center" if center else "left")
    if ctx.locale == "en_US":
        y = plain(ctx, "APPROVED BY NATIONAL UNIFORM CLAIM COMMITTEE (NUCC) 02/12", ctx.left, y, ctx.font(0.7),
                  ctx.width) + 4
        y = _cms1500(ctx, pen, ids, person, y)
    else:
        y = _local_claim(ctx, pen, ids, person, y + 6)
    fine_print(ctx, [v.sentence(r.randint(14, 24)) for _ in range(r.randint(1, 4))], y + 8, 0.75, 2)
