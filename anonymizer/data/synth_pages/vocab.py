"""The fixed, non-sensitive wording of the page layouts in English, German and French.

Templates of letter sentences hold ``{person}``, ``{phone}``, ``{email}``, ``{date}``,
``{amount}``, ``{iban}`` and ``{id}`` placeholders, each standing alone between spaces so
that a value never shares a whitespace token with punctuation.
"""

from __future__ import annotations

LABELS: dict[str, dict[str, list[str]]] = {
    "en": {
        "name": ["Name", "Full name", "Applicant", "Account holder", "Customer name", "Patient name"],
        "dob": ["Date of birth", "DOB", "Birth date"],
        "address": ["Address", "Home address", "Street address", "Postal address"],
        "phone": ["Phone", "Telephone", "Mobile", "Tel."],
        "email": ["Email", "E-mail", "Email address"],
        "iban": ["IBAN", "Bank account (IBAN)", "Account IBAN"],
        "card": ["Card number", "Credit card", "Card No."],
        "ssn_en_US": ["SSN", "Social Security No.", "Social Security Number"],
        "ssn_en_GB": ["National Insurance No.", "NI number"],
        "customer": ["Customer No.", "Customer ID", "Account No.", "Member ID", "Policy No."],
        "date": ["Date", "Signed on", "Date signed"],
        "letter_date": ["Date"],
        "contact": ["Name", "Contact person", "Emergency contact"],
        "employer": ["Employer", "Company"],
        "place": ["Place", "Place of birth", "City"],
        "invoice_no": ["Invoice No.", "Invoice #", "Invoice number"],
        "invoice_date": ["Invoice date", "Date", "Issue date"],
        "due": ["Due date", "Payment due"],
        "bill_to": ["Bill to", "Invoice to", "Customer"],
        "receipt_no": ["Receipt No.", "Receipt #", "Trans. No."],
        "cashier": ["Cashier", "Served by", "Operator"],
        "vat_no": ["VAT No.", "Tax ID"],
        "ref": ["Our ref.", "Reference", "Your ref."],
        "signature": ["Signature", "Signature of applicant"],
    },
    "de": {
        "name": ["Name", "Vor- und Nachname", "Antragsteller", "Kontoinhaber", "Kunde", "Patient"],
        "dob": ["Geburtsdatum", "Geb.-Datum", "Geboren am"],
        "address": ["Anschrift", "Adresse", "Wohnanschrift"],
        "phone": ["Telefon", "Tel.", "Mobil", "Telefonnummer"],
        "email": ["E-Mail", "E-Mail-Adresse"],
        "iban": ["IBAN", "Bankverbindung (IBAN)"],
        "card": ["Kartennummer", "Kreditkarte", "Karten-Nr."],
        "ssn": ["Steuer-ID", "Steuerliche Identifikationsnummer", "Steuer-IdNr."],
        "customer": ["Kundennummer", "Kunden-Nr.", "Mitgliedsnummer", "Versicherungsnummer", "Vertragsnummer"],
        "date": ["Datum", "Unterschrieben am"],
        "letter_date": ["Datum"],
        "contact": ["Name", "Ansprechpartner", "Notfallkontakt"],
        "employer": ["Arbeitgeber", "Firma"],
        "place": ["Ort", "Geburtsort", "Wohnort"],
        "invoice_no": ["Rechnungsnummer", "Rechnung Nr.", "Rechnungs-Nr."],
        "invoice_date": ["Rechnungsdatum", "Datum"],
        "due": ["Fällig am", "Zahlbar bis"],
        "bill_to": ["Rechnungsempfänger", "Kunde", "An"],
        "receipt_no": ["Bon-Nr.", "Beleg-Nr.", "Beleg"],
        "cashier": ["Kassierer", "Es bediente Sie", "Kasse"],
        "vat_no": ["USt-IdNr.", "St.-Nr."],
        "ref": ["Unser Zeichen", "Aktenzeichen", "Ihr Zeichen"],
        "signature": ["Unterschrift", "Unterschrift Antragsteller"],
    },
    "fr": {
        "name": ["Nom", "Nom et prénom", "Demandeur", "Titulaire du compte", "Client", "Patient"],
        "dob": ["Date de naissance", "Né(e) le"],
        "address": ["Adresse", "Domicile", "Adresse postale"],
        "phone": ["Téléphone", "Tél.", "Portable"],
        "email": ["Courriel", "E-mail", "Adresse e-mail"],
        "iban": ["IBAN", "Compte bancaire (IBAN)"],
        "card": ["Numéro de carte", "Carte bancaire", "N° de carte"],
        "ssn": ["N° de sécurité sociale", "N° INSEE", "NIR"],
        "customer": ["N° client", "N° de compte", "N° d'adhérent", "N° de contrat", "N° de dossier"],
        "date": ["Date", "Fait le", "Signé le"],
        "letter_date": ["Date", "Le"],
        "contact": ["Nom", "Personne à contacter", "Personne à prévenir"],
        "employer": ["Employeur", "Société"],
        "place": ["Lieu", "Lieu de naissance", "Ville"],
        "invoice_no": ["Facture n°", "N° de facture", "Numéro de facture"],
        "invoice_date": ["Date de facture", "Date", "Date d'émission"],
        "due": ["Échéance", "Date d'échéance", "À régler avant le"],
        "bill_to": ["Facturé à", "Client", "Destinataire"],
        "receipt_no": ["Ticket n°", "N° de ticket", "Transaction"],
        "cashier": ["Caissier", "Vous avez été servi par", "Caisse"],
        "vat_no": ["N° TVA", "SIRET"],
        "ref": ["Nos réf.", "Référence", "Vos réf."],
        "signature": ["Signature", "Signature du demandeur"],
    },
}

FORM_TITLES = {
    "en": ["Application Form", "Customer Registration Form", "Patient Information", "Account Opening Form",
           "Membership Application", "Change of Address Form", "Direct Debit Mandate"],
    "de": ["Antragsformular", "Kundenregistrierung", "Patientenaufnahme", "Kontoeröffnungsantrag",
           "Mitgliedsantrag", "Adressänderung", "SEPA-Lastschriftmandat"],
    "fr": ["Formulaire de demande", "Fiche client", "Fiche patient", "Demande d'ouverture de compte",
           "Bulletin d'adhésion", "Changement d'adresse", "Mandat de prélèvement SEPA"],
}
SECTIONS = {
    "en": ["Personal details", "Contact details", "Payment details", "Emergency contact"],
    "de": ["Persönliche Angaben", "Kontaktdaten", "Zahlungsangaben", "Notfallkontakt"],
    "fr": ["Informations personnelles", "Coordonnées", "Informations de paiement", "Personne à prévenir"],
}
DECLARATION = {
    "en": "I confirm that the information given above is correct and complete to the best of my knowledge.",
    "de": "Ich bestätige, dass die obigen Angaben nach bestem Wissen richtig und vollständig sind.",
    "fr": "Je certifie sur l'honneur que les informations ci-dessus sont exactes et complètes.",
}
OPTIONS = {"en": ["Yes", "No"], "de": ["Ja", "Nein"], "fr": ["Oui", "Non"]}
CONSENT = {
    "en": "I agree to receive information by email",
    "de": "Ich möchte Informationen per E-Mail erhalten",
    "fr": "J'accepte de recevoir des informations par courriel",
}

INVOICE_TITLES = {"en": ["INVOICE", "Invoice", "TAX INVOICE"], "de": ["RECHNUNG", "Rechnung"],
                  "fr": ["FACTURE", "Facture"]}
TABLE_HEADERS = {
    "en": ["Description", "Qty", "Unit price", "Amount"],
    "de": ["Beschreibung", "Menge", "Einzelpreis", "Betrag"],
    "fr": ["Désignation", "Qté", "Prix unitaire", "Montant"],
}
TOTALS = {
    "en": ["Subtotal", "VAT 20%", "Total"],
    "de": ["Zwischensumme", "MwSt. 19%", "Gesamtbetrag"],
    "fr": ["Total HT", "TVA 20%", "Total TTC"],
}
VAT_RATE = {"en": 0.20, "de": 0.19, "fr": 0.20}
PAYMENT = {
    "en": ["Please transfer the amount due within 30 days to the account below.",
           "Payment terms: 14 days net. Bank details are given below."],
    "de": ["Bitte überweisen Sie den Betrag innerhalb von 14 Tagen auf das unten genannte Konto.",
           "Zahlbar innerhalb von 30 Tagen ohne Abzug."],
    "fr": ["Merci de régler cette facture sous 30 jours par virement sur le compte ci-dessous.",
           "Conditions de paiement : 30 jours net."],
}
THANKS = {"en": "Thank you for your business.", "de": "Vielen Dank für Ihren Auftrag.",
          "fr": "Nous vous remercions de votre confiance."}
ITEMS = {
    "en": ["Consulting services", "Website maintenance", "Office chair", "Printer paper A4", "Software licence",
           "Travel expenses", "Installation", "Annual hosting", "Repair work", "Delivery charge", "Design work",
           "Training session", "Spare parts", "Cleaning service", "Monthly support plan"],
    "de": ["Beratungsleistung", "Wartung Webseite", "Bürostuhl", "Druckerpapier A4", "Softwarelizenz",
           "Reisekosten", "Montage", "Hosting (jährlich)", "Reparaturarbeiten", "Versandkosten", "Gestaltung",
           "Schulung", "Ersatzteile", "Reinigung", "Monatlicher Support"],
    "fr": ["Prestation de conseil", "Maintenance du site", "Chaise de bureau", "Papier A4", "Licence logiciel",
           "Frais de déplacement", "Installation", "Hébergement annuel", "Réparation", "Frais de livraison",
           "Création graphique", "Formation", "Pièces détachées", "Nettoyage", "Assistance mensuelle"],
}
GROCERIES = {
    "en": ["MILK 1L", "BREAD", "BANANAS", "COFFEE BEANS", "EGGS 12PK", "BUTTER", "APPLES", "CHEDDAR", "PASTA",
           "TOMATOES", "ORANGE JUICE", "RICE 1KG", "YOGURT", "CHOCOLATE", "WATER 6X1.5L", "SHAMPOO"],
    "de": ["VOLLMILCH 1L", "BROT", "BANANEN", "KAFFEE", "EIER 10ER", "BUTTER", "AEPFEL", "GOUDA", "NUDELN",
           "TOMATEN", "ORANGENSAFT", "REIS 1KG", "JOGHURT", "SCHOKOLADE", "WASSER 6X1.5L", "SHAMPOO"],
    "fr": ["LAIT 1L", "BAGUETTE", "BANANES", "CAFE MOULU", "OEUFS X12", "BEURRE", "POMMES", "COMTE", "PATES",
           "TOMATES", "JUS D'ORANGE", "RIZ 1KG", "YAOURT", "CHOCOLAT", "EAU 6X1.5L", "SHAMPOING"],
}
RECEIPT = {
    "en": {"total": "TOTAL", "card": "Card", "paid": "PAID BY CARD", "thanks": "Thank you for shopping with us!",
           "approved": "APPROVED", "items": "ITEMS"},
    "de": {"total": "SUMME", "card": "Karte", "paid": "BEZAHLT MIT KARTE", "thanks": "Vielen Dank für Ihren Einkauf!",
           "approved": "GENEHMIGT", "items": "ARTIKEL"},
    "fr": {"total": "TOTAL", "card": "Carte", "paid": "PAYE PAR CARTE", "thanks": "Merci de votre visite !",
           "approved": "ACCEPTE", "items": "ARTICLES"},
}

SUBJECTS = {
    "en": ["Your account", "Change of contract details", "Confirmation of your appointment", "Your application",
           "Outstanding payment", "Refund of your payment"],
    "de": ["Ihr Kundenkonto", "Änderung Ihrer Vertragsdaten", "Bestätigung Ihres Termins", "Ihr Antrag",
           "Offene Zahlung", "Erstattung Ihrer Zahlung"],
    "fr": ["Votre compte client", "Modification de votre contrat", "Confirmation de votre rendez-vous",
           "Votre demande", "Paiement en attente", "Remboursement de votre paiement"],
}
SALUTATION = {"en": ["Dear", "Hello"], "de": ["Guten Tag", "Hallo"], "fr": ["Bonjour", "Madame, Monsieur"]}
CLOSING = {
    "en": ["Yours sincerely", "Kind regards", "Best regards"],
    "de": ["Mit freundlichen Grüßen", "Freundliche Grüße"],
    "fr": ["Cordialement", "Bien à vous", "Veuillez agréer nos salutations distinguées"],
}
TEMPLATES = {
    "en": [
        "Thank you for your letter of {date} regarding the matter described below.",
        "Your customer number {id} remains unchanged after this update.",
        "If you have any questions, please contact {person} on {phone} or write to {email} at any time.",
        "We confirm the payment of {amount} received on {date} with thanks.",
        "The amount of {amount} will be transferred to the account {iban} within five working days.",
        "Your appointment is scheduled for {date} at our main office.",
        "Our colleague {person} will be happy to help you with any further questions.",
    ],
    "de": [
        "vielen Dank für Ihr Schreiben vom {date} zu dem unten beschriebenen Anliegen.",
        "Ihre Kundennummer {id} bleibt nach dieser Änderung unverändert.",
        "Bei Fragen erreichen Sie {person} unter {phone} oder per E-Mail an {email} jederzeit gerne.",
        "Wir bestätigen den Eingang von {amount} am {date} und bedanken uns.",
        "Der Betrag von {amount} wird innerhalb von fünf Werktagen auf das Konto {iban} überwiesen.",
        "Ihr Termin findet am {date} in unserer Hauptgeschäftsstelle statt.",
        "Unsere Kollegin {person} hilft Ihnen bei weiteren Fragen gerne weiter.",
    ],
    "fr": [
        "Nous vous remercions de votre courrier du {date} concernant la demande décrite ci-dessous.",
        "Votre numéro client {id} reste inchangé après cette modification.",
        "Pour toute question, vous pouvez contacter {person} au {phone} ou par courriel à {email} à tout moment.",
        "Nous confirmons la réception de {amount} le {date} et vous en remercions.",
        "Le montant de {amount} sera viré sur le compte {iban} sous cinq jours ouvrés.",
        "Votre rendez-vous est fixé au {date} dans nos locaux.",
        "Notre collaborateur {person} reste à votre disposition pour toute autre question.",
    ],
}
