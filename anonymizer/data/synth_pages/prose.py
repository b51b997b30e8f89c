"""Free text: letters whose names, places, organisations, dates and amounts sit inside sentences.

Employment verifications, references, referrals, tenancy letters and incident statements:
a letterhead, a date, the recipient's block or "To whom it may concern", a subject line
naming the person, paragraphs from templates whose ``{...}`` slots are values (the person
appears several times: full name, ``Mr``/``Ms`` + surname), and a sign-off block with a
handwritten signature above the typed name, the signer's title and organisation.

Scopes: the letterhead (organisation, address, phone, email, web address) and the signer's
organisation are ``business``; every named person and their places, dates, amounts and
numbers are ``personal``.
"""

from __future__ import annotations

from anonymizer.data.synth_pages import vocab
from anonymizer.data.synth_pages.docparts import date_value, signature_font
from anonymizer.data.synth_pages.habits import BUSINESS, PERSONAL, Person, new_person, recent_date, scoped
from anonymizer.data.synth_pages.identifiers import Identifiers
from anonymizer.data.synth_pages.layouts import header_block
from anonymizer.data.synth_pages.typeset import Ctx, key_value, paragraph, plain, row, value_block
from anonymizer.data.synth_pages.values import Value

# Slots: {p} the person, {pl} title + surname, {p2} another person, {o} an organisation, {c} a city,
# {addr} a one-line address, {d}/{d2} dates, {a} an amount, {ph} a phone, {e} an email, {id} a number.
# A slot is never directly followed by punctuation (a value is whole words).
TEMPLATES = {
    "en": [
        "This letter confirms that {p} has been employed by {o} since {d} as a full-time member of our staff.",
        "During this period {pl} has worked at our office in {c} and reported directly to {p2} who can confirm "
        "these details.",
        "The current gross annual salary of {pl} is {a} and the employment is not under notice.",
        "Our records show that {p} has rented the property at {addr} since {d} and has always paid the rent of "
        "{a} on time.",
        "On {d} a collision occurred in {c} involving a vehicle driven by {p2} and a bicycle ridden by {p} on "
        "the way to work.",
        "I am writing to refer my patient {p} born on {d} for further assessment at {o} at the earliest "
        "opportunity.",
        "Please contact {p2} on {ph} or by email at {e} if you need any further information.",
        "A payment of {a} was received from {pl} on {d} and has been credited to account {id} in full.",
        "{p} studied at {o} in {c} from {d} to {d2} and completed the programme with distinction.",
        "We have known {pl} for several years and recommend {p} without reservation for the position with {o} "
        "in {c} as advertised.",
        "The meeting with {p2} from {o} took place in {c} on {d} and the minutes were sent to all participants.",
    ],
    "de": [
        "Hiermit bestätigen wir, dass {p} seit dem {d} bei der {o} in Vollzeit beschäftigt ist.",
        "In dieser Zeit war {pl} an unserem Standort in {c} tätig und berichtete an {p2} der diese Angaben "
        "bestätigen kann.",
        "Das monatliche Bruttogehalt von {pl} beträgt derzeit {a} und das Arbeitsverhältnis ist ungekündigt.",
        "Laut unseren Unterlagen wohnt {p} seit dem {d} in der Wohnung {addr} und hat die Miete von {a} stets "
        "pünktlich gezahlt.",
        "Am {d} kam es in {c} zu einem Unfall zwischen einem von {p2} gelenkten Fahrzeug und {p} auf dem Weg zur "
        "Arbeit.",
        "Ich überweise meinen Patienten {p} geboren am {d} zur weiteren Abklärung an die {o} mit der Bitte um "
        "einen zeitnahen Termin.",
        "Für Rückfragen erreichen Sie {p2} unter {ph} oder per E-Mail an {e} jederzeit.",
        "Die Zahlung von {a} von {pl} ist am {d} eingegangen und wurde dem Konto {id} vollständig gutgeschrieben.",
        "{p} hat vom {d} bis zum {d2} an der {o} in {c} studiert und das Studium mit Auszeichnung abgeschlossen.",
    ],
    "fr": [
        "Nous certifions que {p} est employé par la société {o} depuis le {d} à temps plein.",
        "Durant cette période {pl} a travaillé dans notre agence de {c} sous la responsabilité de {p2} qui peut "
        "confirmer ces informations.",
        "Le salaire annuel brut de {pl} s'élève à {a} et le contrat de travail est à durée indéterminée.",
        "Nos registres indiquent que {p} occupe le logement situé {addr} depuis le {d} et a toujours réglé le "
        "loyer de {a} à temps.",
        "Le {d} un accident s'est produit à {c} entre un véhicule conduit par {p2} et un vélo conduit par {p} sur "
        "le trajet du travail.",
        "Je vous adresse mon patient {p} né le {d} pour un avis spécialisé auprès de {o} dans les meilleurs "
        "délais.",
        "Pour toute question vous pouvez joindre {p2} au {ph} ou par courriel à {e} à tout moment.",
        "Le paiement de {a} effectué par {pl} le {d} a été porté intégralement au crédit du compte {id} ce jour.",
        "{p} a étudié à {o} à {c} du {d} au {d2} et a obtenu son diplôme avec mention.",
    ],
}
SUBJECTS = {
    "en": ("Employment verification for", "Reference for", "Referral of", "Tenancy reference for",
           "Statement regarding", "Confirmation of payment from"),
    "de": ("Arbeitgeberbescheinigung für", "Referenz für", "Überweisung von", "Mieterbescheinigung für",
           "Stellungnahme zu", "Zahlungsbestätigung für"),
    "fr": ("Attestation d'emploi de", "Recommandation pour", "Adressage de", "Attestation de logement de",
           "Déclaration concernant", "Confirmation de paiement de"),
}
GREETING = {"en": "To whom it may concern", "de": "Sehr geehrte Damen und Herren", "fr": "Madame, Monsieur"}
JOBS = {"en": ("Human Resources Manager", "Practice Manager", "Head of Finance", "Property Manager", "Director"),
        "de": ("Personalleiterin", "Praxismanager", "Leiter Buchhaltung", "Hausverwaltung", "Geschäftsführer"),
        "fr": ("Responsable des ressources humaines", "Directeur", "Gestionnaire", "Comptable", "Gérante")}
_HONORIFIC = {"en": ("Mr", "Ms", "Mrs", "Dr"), "de": ("Herr", "Frau", "Dr."), "fr": ("M.", "Mme", "Dr")}


def _pieces(ctx: Ctx, template: str, person: Person, other: Person, ids: Identifiers) -> list[str | Value]:
    r, v, loc = ctx.rng, ctx.values, ctx.locale
    honorific = r.choice(_HONORIFIC[ctx.lang])
    slots = {
        "{p}": lambda: [person.full_name(r.choice(["first_last", "first_last", "first_mi_last"]))],
        "{pl}": lambda: [honorific, Value("PERSON", (person.name.last,), PERSONAL)],
        "{p2}": lambda: [other.full_name("first_last")],
        "{o}": lambda: [scoped(v.company(), PERSONAL)],
        "{c}": lambda: [scoped(v.city(), PERSONAL)],
        "{addr}": lambda: [person.address(loc, 1)],
        "{d}": lambda: [date_value(ctx, recent_date(v, 2005, 6000), r.choice(["mdy", "long"]))],
        "{d2}": lambda: [date_value(ctx, recent_date(v, 2010, 5000), r.choice(["mdy", "long"]))],
        "{a}": lambda: [scoped(v.amount(), PERSONAL)],
        "{ph}": lambda: [Value("PHONE_NUMBER", (other.phone,), PERSONAL)],
        "{e}": lambda: [Value("EMAIL_ADDRESS", (other.email,), PERSONAL)],
        "{id}": lambda: [Value("ID_NUMBER", (ids.account(),), PERSONAL)],
    }
    pieces: list[str | Value] = []
    text: list[str] = []
    for token in template.split():
        if token in slots:
            pieces.append(" ".join(text))
            pieces += slots[token]()
            text = []
        else:
            text.append(token)
    pieces.append(" ".join(text))
    return [pc for pc in pieces if not isinstance(pc, str) or pc]


def free_text(ctx: Ctx) -> None:
    """A letter with values inside its sentences: letterhead, date, recipient, subject, body, sign-off."""
    r, p, v, lang = ctx.rng, ctx.page, ctx.values, ctx.lang
    ids = Identifiers(v)
    f = ctx.font()
    pitch = ctx.pitch(f)
    person, other = new_person(v, demo=r.random() < 0.1), new_person(v)
    org = Value("ORGANIZATION", v.company().lines, BUSINESS)
    right = r.random() < 0.5
    y = header_block(ctx, ctx.right if right else ctx.left, ctx.top, "right" if right else "left",
                      ctx.width * 0.55, org, BUSINESS)
    if r.random() < 0.5:
        p.hline(ctx.left, ctx.right, y + 4, thickness=r.choice([1, 2]), level=r.choice([120, 200, 255]))
    y += pitch * r.uniform(1.0, 2.0)
    date = date_value(ctx, recent_date(v), r.choice(["mdy", "long", "long"]))
    if r.random() < 0.4:
        y = key_value(ctx, ctx.label("letter_date"), date, ctx.left, y, f, f)
    else:
        _, y = value_block(ctx, date, ctx.right if r.random() < 0.5 else ctx.left, y, f,
                           "right" if r.random() < 0.5 else "left")
    if r.random() < 0.7:  # the file reference, about the person
        ref = Value("ID_NUMBER", (ids.shape(r.choice(["AA-99999", "9999/99", "A999999"])),), PERSONAL)
        y = key_value(ctx, ctx.label("ref"), ref, ctx.left, y, f, f)
    y += pitch * 0.5
    to_whom = r.random() < 0.4
    if not to_whom:
        recipient = other if r.random() < 0.5 else new_person(v)
        rf = ctx.fit([recipient.full_name().text, *recipient.address_lines(ctx.locale)], ctx.width * 0.55)
        if rf is not None:
            _, y = value_block(ctx, recipient.full_name(r.choice(["first_last", "first_mi_last"])), ctx.left, y, rf)
            _, y = value_block(ctx, recipient.address(ctx.locale), ctx.left, y, rf)
            y += pitch * 0.5
    bold = ctx.font(bold=True)
    subject = [r.choice(("Re:", "Subject:", "")) if lang == "en" else "", r.choice(SUBJECTS[lang]),
               person.full_name(r.choice(["first_last", "first_mi_last"]), caps=r.random() < 0.3)]
    y = paragraph(ctx, [s for s in subject if s], ctx.left, y, ctx.width, bold) + pitch * 0.4
    y = plain(ctx, GREETING[lang] + ("," if lang == "en" else ""), ctx.left, y, f, ctx.width) + pitch * 0.3
    templates = list(TEMPLATES[lang])
    r.shuffle(templates)
    closing_h = 7 * pitch
    for template in templates[: r.randint(3, 6)]:
        pieces = _pieces(ctx, template, person, other, ids)
        if r.random() < 0.4:
            pieces.append(v.sentence(r.randint(8, 16)))
        need = int(sum(f.measure(pc.text if isinstance(pc, Value) else pc) for pc in pieces) // ctx.width) + 2
        if not ctx.fits(y, need * pitch + closing_h):
            break
        y = paragraph(ctx, pieces, ctx.left, y, ctx.width, f) + pitch * 0.5
    _sign_off(ctx, y, other, org)


def _sign_off(ctx: Ctx, y: float, signer: Person, org: Value) -> None:
    """Closing, handwritten signature, typed name (the same person), title and organisation."""
    r, lang = ctx.rng, ctx.lang
    f = ctx.font()
    pitch = ctx.pitch(f)
    if not ctx.fits(y, 5 * pitch):
        return
    y = plain(ctx, r.choice(vocab.CLOSING[lang]) + ("," if lang == "en" else ""), ctx.left, y, f, ctx.width)
    name = signer.full_name("first_last")
    sf = signature_font(ctx, name.text, round(ctx.size * r.uniform(1.5, 2.1)), ctx.width * 0.5)
    if sf is not None and ctx.fits(y, sf.height + 4 * pitch):
        line = ctx.page.new_line()
        words = ctx.page.text(ctx.left + r.randint(0, 30), y + 4, name.text, sf, line)
        ctx.page.entity("PERSON", words, scope=PERSONAL)
        y += sf.height + 8
    else:
        y += pitch
    _, y = value_block(ctx, name, ctx.left, y, f)
    y = plain(ctx, r.choice(JOBS[lang]), ctx.left, y, f, ctx.width)
    of = ctx.fit(org.lines, ctx.width, bold=r.random() < 0.3)
    if of is not None and ctx.fits(y, pitch):
        value_block(ctx, org, ctx.left, y, of)
    if r.random() < 0.5 and ctx.fits(y + 2 * pitch, pitch):
        cc = {"en": "cc:", "de": "Kopie an:", "fr": "Copie à :"}[lang]
        row(ctx, [(cc, "plain", f), (new_person(ctx.values).full_name("first_last"), "value", f)], ctx.left,
            y + 2 * pitch)
