"""Every amount of a document about a person's money is that person's.

On an invoice or a receipt only the totals say something about the buyer (product prices are
the seller's catalogue), so form context takes the amounts of total, balance, paid and pay
fields. A pay slip, a bank statement, a tax return or an insurance claim is different: its
rates, earnings, deductions, transactions, balances and charges are all the person's pay,
money or health costs. :func:`money_document` recognises such a page by its vocabulary (two
or more of :data:`MONEY_DOCUMENT_WORDS` in any of English, German, French and Dutch), and
:func:`amounts` then finds every amount written with two decimals (``3 111,60``,
``$1,234.56``, ``(12.00)``, ``-9,32 €``) as an ``AMOUNT``.
"""

from __future__ import annotations

import re

from anonymizer.core.text import casefold_unaccented
from anonymizer.pipeline.page_text import Detection

SOURCE = "money_document"
SCORE = 0.5
#: Titles of pay slips, bank statements, tax returns and claims: one is enough (lower case).
MONEY_DOCUMENT_TITLES = (
    "pay stub", "paystub", "pay slip", "payslip", "earnings statement", "statement of earnings", "pay statement",
    "bulletin de paie", "bulletin de salaire", "fiche de paie", "lohnabrechnung", "gehaltsabrechnung",
    "entgeltabrechnung", "loonstrook", "salarisstrook", "account statement", "bank statement",
    "statement of account", "kontoauszug", "relevé de compte", "rekeningafschrift", "wage and tax statement",
    "form w-2", "form 1099", "form 1040", "tax return", "déclaration des revenus", "avis d'imposition",
    "steuerbescheid", "einkommensteuererklärung", "lohnsteuerbescheinigung", "aangifte inkomstenbelasting",
    "explanation of benefits", "kostenerstattung", "demande de remboursement",
)
#: Words such documents use: two of them are needed (lower case).
MONEY_DOCUMENT_WORDS = (
    "net pay", "gross pay", "pay period", "pay date", "year to date", "ytd", "deductions", "earnings",
    "salaire brut", "net à payer", "cotisations", "auszahlungsbetrag", "bruttolohn", "nettolohn", "nettoloon",
    "brutoloon", "opening balance", "closing balance", "beginning balance", "ending balance", "available balance",
    "alter kontostand", "neuer kontostand", "ancien solde", "nouveau solde", "total des crédits",
    "total des débits", "vorig saldo", "nieuw saldo", "federal income tax", "taxable income", "revenu fiscal",
    "einkommensteuer", "lohnsteuer", "inkomstenbelasting", "amount billed", "patient responsibility",
    "claim number", "total charges", "erstattungsbetrag", "remboursement", "declaratie",
)
_TITLES = tuple(dict.fromkeys(casefold_unaccented(w) for w in MONEY_DOCUMENT_TITLES))
_WORDS = tuple(dict.fromkeys(casefold_unaccented(w) for w in MONEY_DOCUMENT_WORDS))
_MONEY = re.compile(
    r"(?<![\w.,/-])(?:[$€£¥₹]\s?|(?:EUR|USD|GBP|CHF)\s)?[-(]?(?:\d{1,3}(?:[ .,'’]\d{3})+|\d+)[.,]\d{2}\)?"
    r"(?:\s?(?:€|\$|£|EUR|USD|GBP|CHF)(?!\w))?(?![\w.,/-]|\d)"
)


def money_document(text: str, hits: int = 2) -> bool:
    """Whether ``text`` (a page's text) holds a money-document title, or ``hits`` or more
    different money-document words (case and accents ignored)."""
    low = casefold_unaccented(text)
    return any(title in low for title in _TITLES) or sum(1 for word in _WORDS if word in low) >= hits


def amounts(text: str) -> list[Detection]:
    """Every amount with two decimals in ``text`` (on one line), as ``AMOUNT`` detections."""
    return [Detection("AMOUNT", m.start(), m.end(), SCORE, SOURCE) for m in _MONEY.finditer(text)
            if "\n" not in m.group()]
