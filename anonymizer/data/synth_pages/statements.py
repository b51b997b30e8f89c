"""Pay stubs and bank statements: a header block, the person's block, periods, amount tables.

Pay stubs print the employer's block, the employee's name (often in capitals), address,
employee and national numbers (masked or not), the pay period and date, an earnings table
(rate, hours, current and year-to-date amounts), a deductions table, gross and net pay
(sums that add up) and the net pay's deposit account. Bank statements print the bank's
letterhead, the customer's address block, account numbers, the statement period, a
balance summary and transactions whose descriptions hold names, companies and places.

Scopes: the employee, the customer and everything about them (their employer, amounts,
account numbers, transaction counterparties) are ``personal``; the bank's own name,
address, phone, web address, routing/sort codes and registry number are ``business``.
"""

from __future__ import annotations

import datetime as dt

from anonymizer.data.synth_pages.boxes import Cell, Filler, Row, grid
from anonymizer.data.synth_pages.docparts import date_value, fine_print, grid_style, key_values, money
from anonymizer.data.synth_pages.habits import BUSINESS, PERSONAL, Person, new_person, recent_date, scoped
from anonymizer.data.synth_pages.identifiers import Identifiers
from anonymizer.data.synth_pages.pens import Pen
from anonymizer.data.synth_pages.tables import TableStyle, table
from anonymizer.data.synth_pages.typeset import Ctx, plain, row, value_block
from anonymizer.data.synth_pages.values import Value

_PAY = {
    "en_US": {"title": ("EARNINGS STATEMENT", "Pay Statement", "PAYROLL ADVICE"), "employee": "Employee",
              "id": "Employee ID", "nid": "SSN", "period": "Pay Period", "date": "Pay Date", "check": "Check No.",
              "earn": ("Earnings", "Rate", "Hours", "Current", "YTD"),
              "earnings": ("Regular", "Overtime", "Holiday", "Bonus", "Vacation"),
              "ded": ("Deductions", "Current", "YTD"),
              "deductions": (("Federal Income Tax", 0.11), ("Social Security", 0.062), ("Medicare", 0.0145),
                             ("State Income Tax", 0.04), ("401(k)", 0.05), ("Medical", 0.02), ("Dental", 0.005)),
              "gross": "Gross Pay", "total": "Total Deductions", "net": "Net Pay", "account": "Deposit account",
              "routing": "Routing No.", "extra": ("Filing Status", ("Single", "Married", "Head of household")),
              "note": "NON-NEGOTIABLE - THIS IS NOT A CHECK"},
    "en_GB": {"title": ("PAYSLIP", "Payslip", "Pay Advice"), "employee": "Employee", "id": "Payroll No.",
              "nid": "NI Number", "period": "Pay Period", "date": "Pay Date", "check": "Process Date",
              "earn": ("Payments", "Rate", "Units", "This Period", "Year to Date"),
              "earnings": ("Basic Pay", "Overtime", "Holiday Pay", "Bonus", "Shift Allowance"),
              "ded": ("Deductions", "This Period", "Year to Date"),
              "deductions": (("PAYE Tax", 0.13), ("National Insurance", 0.08), ("Pension", 0.05),
                             ("Student Loan", 0.03), ("Union Fees", 0.005)),
              "gross": "Total Gross Pay", "total": "Total Deductions", "net": "Net Pay", "account": "Paid to account",
              "routing": "Sort Code", "extra": ("Tax Code", ("1257L", "1257L M1", "BR", "K500")),
              "note": "Please keep this payslip for your records."},
    "de_DE": {"title": ("Gehaltsabrechnung", "Entgeltabrechnung", "Verdienstabrechnung"), "employee": "Mitarbeiter",
              "id": "Personalnummer", "nid": "Sozialversicherungsnummer", "period": "Abrechnungszeitraum",
              "date": "Auszahlung am", "check": "Kostenstelle",
              "earn": ("Bezüge", "Satz", "Stunden", "Betrag", "Jahressumme"),
              "earnings": ("Grundgehalt", "Überstunden", "Urlaubsgeld", "Prämie", "Zuschlag Nacht"),
              "ded": ("Abzüge", "Betrag", "Jahressumme"),
              "deductions": (("Lohnsteuer", 0.14), ("Solidaritätszuschlag", 0.008), ("Kirchensteuer", 0.011),
                             ("Krankenversicherung", 0.081), ("Rentenversicherung", 0.093),
                             ("Arbeitslosenversicherung", 0.013), ("Pflegeversicherung", 0.017)),
              "gross": "Gesamtbrutto", "total": "Summe Abzüge", "net": "Auszahlungsbetrag",
              "account": "Überweisung auf",
              "routing": "BIC", "extra": ("Steuerklasse", ("1", "3", "4", "5")),
              "note": "Bitte bewahren Sie diese Abrechnung sorgfältig auf."},
    "fr_FR": {"title": ("Bulletin de paie", "BULLETIN DE SALAIRE", "Bulletin de salaire"), "employee": "Salarié",
              "id": "Matricule", "nid": "N° de sécurité sociale", "period": "Période", "date": "Payé le",
              "check": "Emploi", "earn": ("Rubrique", "Taux", "Base", "Montant", "Cumul annuel"),
              "earnings": ("Salaire de base", "Heures supplémentaires", "Prime d'ancienneté", "Indemnité congés",
                           "Prime exceptionnelle"),
              "ded": ("Cotisations", "Montant", "Cumul annuel"),
              "deductions": (("Sécurité sociale", 0.069), ("Retraite complémentaire", 0.04),
                             ("CSG déductible", 0.068), ("CSG/CRDS non déductible", 0.029), ("Mutuelle", 0.015),
                             ("Prélèvement à la source", 0.06)),
              "gross": "Salaire brut", "total": "Total des retenues", "net": "Net à payer", "account": "Virement sur",
              "routing": "BIC", "extra": ("Convention collective", ("Syntec", "Commerce de détail", "Métallurgie")),
              "note": "Dans votre intérêt, conservez ce bulletin de paie sans limitation de durée."},
}


def _period(ctx: Ctx) -> tuple[dt.date, dt.date]:
    start = recent_date(ctx.values)
    return start, start + dt.timedelta(days=ctx.rng.choice([6, 13, 14, 30]))


def _name_block(ctx: Ctx, pen: Pen, label: str, person: Person, caps: bool, x: float, y: float,
                width: float) -> float:
    """``label`` above the person's name and address (one KEY linked to both)."""
    page = ctx.page
    kf = ctx.font(0.85, bold=True)
    name = pen.prepare(person.full_name(ctx.rng.choice(["first_last", "first_mi_last", "last_comma_first"]), caps))
    address = pen.prepare(person.address(ctx.locale, 2, caps))
    font = pen.fit([*name.lines, *address.lines], width)
    if font is None:
        return y
    (k,), y = row(ctx, [(label + ctx.colon, "key", kf)], x, y)
    n, y = pen.value(name, x, y, font)
    a, y = pen.value(address, x, y, font)
    page.link(k, n)
    page.link(k, a)
    return y


def pay_stub(ctx: Ctx) -> None:
    """A pay stub: employer, title, employee block, period, earnings and deductions tables, totals, deposit."""
    r, v, spec = ctx.rng, ctx.values, _PAY[ctx.locale]
    ids = Identifiers(v)
    person = new_person(v, demo=r.random() < 0.15)
    pen = Pen(ctx, r.choice(ctx.fonts.of_kind("mono")) if r.random() < 0.4 else ctx.family,
              round(ctx.size * r.uniform(0.85, 1.0)), caps=r.random() < 0.3)
    caps = r.random() < 0.6
    employer = Value("ORGANIZATION", v.company().lines, PERSONAL)
    hf = ctx.fit(employer.lines, ctx.width * 0.55, 1.3, bold=True, family=ctx.head_family)
    y: float = ctx.top
    if hf is not None:
        _, y = value_block(ctx, employer, ctx.left, y, hf)
    af = ctx.font(0.85)
    _, y = value_block(ctx, Value("LOCATION", v.address(r.choice([1, 2])).lines, PERSONAL), ctx.left, y, af)
    title = r.choice(spec["title"])
    tf = ctx.fit([title], ctx.width * 0.4, 1.4, bold=True, family=ctx.head_family) or ctx.font(bold=True)
    plain(ctx, title, ctx.right, ctx.top, tf, ctx.width * 0.4, "right")
    y += ctx.pitch(af)
    start, end = _period(ctx)
    pay_date = end + dt.timedelta(days=r.randint(1, 6))
    dstyle = r.choice(["mdy", "mdy", "ymd", "long"])
    kf = ctx.font(0.9, bold=r.random() < 0.5)
    half = ctx.width * 0.48
    y_left = _name_block(ctx, pen, spec["employee"], person, caps, ctx.left, y, half)
    nid = person.ssn if r.random() < 0.4 else _mask(person.ssn, r.choice(["X", "*"]))
    nid_label = "US_SSN" if ctx.locale == "en_US" else "NATIONAL_ID"
    meta = [(spec["id"], [Value("ID_NUMBER", (ids.employee_id(),), PERSONAL)]),
            (spec["nid"], [Value(nid_label, (nid,), PERSONAL)]),
            (spec["period"], [date_value(ctx, start, dstyle), "-", date_value(ctx, end, dstyle)]),
            (spec["date"], [date_value(ctx, pay_date, dstyle)])]
    if r.random() < 0.5:
        meta.append((spec["check"], [Value("ID_NUMBER", (ids.check_number(),), PERSONAL)] if ctx.lang == "en"
                     else [r.choice(["4100", "Vertrieb", "Ingénieur", "200"])]))
    extra_key, extra_values = spec["extra"]
    meta.append((extra_key, [r.choice(extra_values)]))
    yr = y
    for key, items in meta:
        yr = key_values(ctx, pen, key + ctx.colon, items, ctx.left + ctx.width * 0.52, yr, kf, ctx.width * 0.48)
    y = max(y_left, yr) + ctx.pitch(kf)
    # Earnings and deductions.
    tstyle = TableStyle(head=ctx.font(0.85, bold=True), body=None,
                        rules=r.choice(["lines", "rows", "grid"]))
    months = max(1, (end.month if end.year == start.year else 12))
    rows, gross = [], 0.0
    for k, name in enumerate(spec["earnings"][: r.randint(1, 4)]):
        rate = v.money(12, 90) if k == 0 or r.random() < 0.5 else None
        hours = r.choice([80.0, 86.67, 40.0, 75.0]) if k == 0 else float(r.randint(1, 16))
        amount = rate * hours * (1.5 if k == 1 else 1.0) if rate else v.money(50, 2500)
        gross += amount
        rows.append([name, money(ctx, rate) if rate else "", Filler(f"{hours:.2f}") if rate else "",
                     money(ctx, amount), money(ctx, amount * months * r.uniform(1.5, 2.2))])
    y = table(ctx, spec["earn"], rows, (1.6, 0.8, 0.7, 1.0, 1.1), ("left", "right", "right", "right", "right"), pen,
              tstyle, y, keys=(False, True, False, True, True)) + ctx.pitch(kf) * 0.5
    deductions = list(spec["deductions"])
    r.shuffle(deductions)
    rows, total = [], 0.0
    for name, rate in deductions[: r.randint(3, len(deductions))]:
        amount = gross * rate
        total += amount
        rows.append([name, money(ctx, amount), money(ctx, amount * months * r.uniform(1.5, 2.2))])
    y = table(ctx, spec["ded"], rows, (2.4, 1.0, 1.1), ("left", "right", "right"), pen, tstyle, y,
              keys=(False, True, True)) + ctx.pitch(kf) * 0.5
    style = grid_style(ctx, pen, frame=True)
    net = gross - total
    y = grid(ctx, [Row([Cell(spec["gross"], [money(ctx, gross, True)], align="right"),
                        Cell(spec["total"], [money(ctx, total, True)], align="right"),
                        Cell(spec["net"], [money(ctx, net, True)], align="right")])],
             style, ctx.left, y, ctx.width) + ctx.pitch(kf) * 0.6
    # The deposit: the person's name again, their account, the bank's routing code.
    routing = {"en_US": ids.routing(), "en_GB": ids.sort_code()}.get(ctx.locale, v.faker.swift(length=8))
    account = Value("IBAN_CODE", v.iban().lines, PERSONAL) if ctx.locale in ("de_DE", "fr_FR") else \
        Value("ID_NUMBER", (ids.account(masked=r.random() < 0.6),), PERSONAL)
    deposit = [(spec["account"], [person.full_name("first_last", caps), account]),
               (spec["routing"], [Value("ID_NUMBER", (routing,), BUSINESS)]),
               (spec["net"], [money(ctx, net, True)])]
    for key, items in deposit:
        y = key_values(ctx, pen, key + ctx.colon, items, ctx.left, y, kf, ctx.width)
    y = plain(ctx, spec["note"], ctx.left, y + ctx.pitch(kf) * 0.5, ctx.font(0.8, bold=True), ctx.width)
    fine_print(ctx, [v.sentence(r.randint(10, 20)) for _ in range(r.randint(0, 3))], y + 6, 0.75, 2)


def _mask(number: str, mark: str) -> str:
    """All digits but the last four replaced by ``mark``."""
    digits = sum(c.isalnum() for c in number)
    out, seen = [], 0
    for c in number:
        if c.isalnum():
            seen += 1
            out.append(c if seen > digits - 4 else mark)
        else:
            out.append(c)
    return "".join(out)


# -- bank statements ------------------------------------------------------------------------------
_STATEMENT = {
    "en": {"title": ("Account Statement", "STATEMENT OF ACCOUNT", "Your Statement"),
           "account": "Account number", "iban": "IBAN", "customer": "Customer number", "period": "Statement period",
           "date": "Statement date", "summary": ("Opening balance", "Money in", "Money out", "Closing balance"),
           "cols": ("Date", "Description", "Paid out", "Paid in", "Balance"), "routing": "Sort code",
           "holder": "Account holder",
           "tx": (("CARD PAYMENT TO", "org", False), ("DIRECT DEBIT", "org", False), ("TRANSFER FROM", "person", True),
                  ("TRANSFER TO", "person", False), ("SALARY", "org", True), ("ATM WITHDRAWAL", "city", False),
                  ("STANDING ORDER", "person", False), ("INTEREST PAID", None, True),
                  ("MONTHLY ACCOUNT FEE", None, False)),
           "registry": "Registered office and company number", "phone": "Customer service",
           "note": "Please check this statement and tell us about any entries you do not recognise."},
    "de": {"title": ("Kontoauszug", "KONTOAUSZUG", "Ihr Kontoauszug"), "account": "Kontonummer", "iban": "IBAN",
           "customer": "Kundennummer", "period": "Zeitraum", "date": "Auszugsdatum",
           "summary": ("Alter Kontostand", "Gutschriften", "Belastungen", "Neuer Kontostand"),
           "cols": ("Datum", "Buchungstext", "Soll", "Haben", "Saldo"), "routing": "BIC",
           "holder": "Kontoinhaber",
           "tx": (("Kartenzahlung", "org", False), ("Lastschrift", "org", False), ("Gutschrift von", "person", True),
                  ("Überweisung an", "person", False), ("Gehalt", "org", True), ("Bargeldauszahlung", "city", False),
                  ("Dauerauftrag an", "person", False), ("Zinsen", None, True), ("Kontoführungsgebühr", None, False)),
           "registry": "Sitz der Gesellschaft, Registergericht", "phone": "Service-Telefon",
           "note": "Bitte prüfen Sie diesen Auszug. Einwendungen sind innerhalb von sechs Wochen zu erheben."},
    "fr": {"title": ("Relevé de compte", "RELEVÉ DE COMPTE", "Votre relevé"), "account": "N° de compte",
           "iban": "IBAN", "customer": "N° client", "period": "Période", "date": "Date du relevé",
           "summary": ("Ancien solde", "Total des crédits", "Total des débits", "Nouveau solde"),
           "cols": ("Date", "Libellé", "Débit", "Crédit", "Solde"), "routing": "BIC",
           "holder": "Titulaire du compte",
           "tx": (("PAIEMENT CB", "org", False), ("PRLV SEPA", "org", False), ("VIR RECU DE", "person", True),
                  ("VIR EMIS VERS", "person", False), ("SALAIRE", "org", True), ("RETRAIT DAB", "city", False),
                  ("VIR PERMANENT", "person", False), ("INTERETS", None, True), ("FRAIS TENUE DE COMPTE", None, False)),
           "registry": "Siège social, RCS", "phone": "Service clients",
           "note": "Vérifiez ce relevé et signalez-nous toute opération que vous ne reconnaissez pas."},
}


def statement(ctx: Ctx) -> None:
    """A bank statement: the bank's letterhead, the customer's block, account data, summary, transactions."""
    r, v, spec = ctx.rng, ctx.values, _STATEMENT[ctx.lang]
    ids = Identifiers(v)
    person = new_person(v, demo=r.random() < 0.1)
    pen = Pen(ctx, ctx.family if r.random() < 0.7 else r.choice(ctx.fonts.of_kind("mono")),
              round(ctx.size * r.uniform(0.85, 1.0)), caps=r.random() < 0.2)
    kf = ctx.font(0.9, bold=r.random() < 0.5)
    bank = Value("ORGANIZATION", (f"{v.company().text} {r.choice(['Bank', 'Savings', 'Credit Union'])}"
                                  if ctx.lang == "en" else v.company().text,), BUSINESS)
    y: float = ctx.top
    bf = ctx.fit(bank.lines, ctx.width * 0.6, 1.5, bold=True, family=ctx.head_family)
    if bf is not None:
        _, y = value_block(ctx, bank, ctx.left, y, bf)
    sf = ctx.font(0.8)
    _, y = value_block(ctx, Value("LOCATION", v.address(1).lines, BUSINESS), ctx.left, y, sf)
    y = key_values(ctx, Pen(ctx, ctx.family, sf.size), spec["phone"] + ctx.colon,
                   [scoped(v.phone(), BUSINESS), scoped(v.url(), BUSINESS)], ctx.left, y, sf, ctx.width * 0.7)
    y += ctx.pitch(sf)
    # The customer's address block (window envelope) and the account data at the right.
    if r.random() < 0.3:
        y_block = _name_block(ctx, pen, spec["holder"], person, r.random() < 0.7, ctx.left, y, ctx.width * 0.45)
    else:
        y_block = _address_only(ctx, pen, person, ctx.left, y, ctx.width * 0.45)
    start = recent_date(v)
    end = start + dt.timedelta(days=r.choice([27, 29, 30, 90]))
    dstyle = r.choice(["mdy", "mdy", "ymd", "long"])
    account = [Value("IBAN_CODE", v.iban().lines, PERSONAL)] if ctx.locale != "en_US" and r.random() < 0.8 else \
        [Value("ID_NUMBER", (ids.account(masked=r.random() < 0.3),), PERSONAL)]
    meta: list[tuple[str, list]] = [
        (spec["date"], [date_value(ctx, end + dt.timedelta(days=r.randint(1, 4)), dstyle)]),
        (spec["period"], [date_value(ctx, start, dstyle), "-", date_value(ctx, end, dstyle)]),
        (spec["iban"] if account[0].label == "IBAN_CODE" else spec["account"], account),
        (spec["customer"], [Value("ID_NUMBER", (ids.shape("99999999"),), PERSONAL)]),
    ]
    if ctx.locale in ("en_US", "en_GB"):
        code = ids.routing() if ctx.locale == "en_US" else ids.sort_code()
        meta.append(("Routing number" if ctx.locale == "en_US" else spec["routing"],
                     [Value("ID_NUMBER", (code,), BUSINESS)]))
    yr = y
    for key, items in meta:
        yr = key_values(ctx, pen, key + ctx.colon, items, ctx.left + ctx.width * 0.5, yr, kf, ctx.width * 0.5)
    y = max(y_block, yr) + ctx.pitch(kf)
    title = r.choice(spec["title"])
    y = plain(ctx, title, ctx.left, y, ctx.font(1.3, bold=True, family=ctx.head_family), ctx.width) + 4
    # Transactions first (the summary needs their sums), drawn after the summary.
    opening = v.money(800, 25000)
    balance, money_in, money_out = opening, 0.0, 0.0
    day = start
    txs = []
    for _ in range(r.randint(4, 16)):
        day = min(end, day + dt.timedelta(days=r.randint(0, 4)))
        text, kind, credit = r.choice(spec["tx"])
        amount = float(r.choice([20, 40, 50, 100, 200])) if kind == "city" else \
            v.money(100, 3500) if credit else v.money(3, 600)
        balance += amount if credit else -amount
        money_in += amount if credit else 0.0
        money_out += 0.0 if credit else amount
        counterpart = {"org": lambda: _merchant(ctx), "city": lambda: scoped(v.city(), PERSONAL),
                       "person": lambda: new_person(v).full_name("first_last", caps=r.random() < 0.5)}
        desc: list = [text] + ([counterpart[kind]()] if kind else [])
        if kind == "org" and r.random() < 0.3:
            desc.append(Value("ID_NUMBER", (ids.shape("REF 99999999").split()[1],), PERSONAL))
        txs.append([date_value(ctx, day, r.choice(["mdy2", "mdy"])) if r.random() < 0.3 else
                    date_value(ctx, day, "mdy"), desc,
                    "" if credit else money(ctx, amount), money(ctx, amount) if credit else "", money(ctx, balance)])
    summary = Row([Cell(label, [money(ctx, amount, True)], align="right") for label, amount in
                   zip(spec["summary"], (opening, money_in, money_out, balance))])
    y = grid(ctx, [summary], grid_style(ctx, pen, frame=True), ctx.left, y, ctx.width) + ctx.pitch(kf) * 0.6
    tstyle = TableStyle(head=ctx.font(0.9, bold=True), body=None,
                        rules=r.choice(["lines", "rows", "grid"]))
    y = table(ctx, spec["cols"], txs, (0.9, 2.6, 0.8, 0.8, 0.9), ("left", "left", "right", "right", "right"), pen,
              tstyle, y, keys=(True, False, True, True, True))
    registry = Value("ID_NUMBER", (ids.shape(r.choice(["9999999", "HRB 99999", "RCS 999 999 999"])),), BUSINESS)
    y = plain(ctx, spec["note"], ctx.left, y + 6, ctx.font(0.8), ctx.width)
    key_values(ctx, Pen(ctx, ctx.family, ctx.font(0.75).size), spec["registry"] + ctx.colon, [registry], ctx.left, y,
               ctx.font(0.75), ctx.width)


def _merchant(ctx: Ctx) -> Value:
    """A company as statements print it: long names cut to their first word."""
    name = ctx.values.company().text
    if len(name) > 22:
        name = name.replace(",", " ").split()[0]
    return Value("ORGANIZATION", (name.upper() if ctx.rng.random() < 0.5 else name,), PERSONAL)


def _address_only(ctx: Ctx, pen: Pen, person: Person, x: float, y: float, width: float) -> float:
    """The customer's name and address without a label (a window envelope's address block)."""
    caps = ctx.rng.random() < 0.6
    name = pen.prepare(person.full_name(ctx.rng.choice(["first_last", "first_mi_last"]), caps))
    address = pen.prepare(person.address(ctx.locale, 2, caps))
    font = pen.fit([*name.lines, *address.lines], width)
    if font is None:
        return y
    _, y = pen.value(name, x, y, font)
    _, y = pen.value(address, x, y, font)
    return y
