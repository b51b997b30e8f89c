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

from anonymizer.pipeline.months import fold
from anonymizer.pipeline.page_text import Detection

SOURCE = "money_document"
SCORE = 0.5
#: Words of pay slips, bank statements, tax returns and claims (lower case; matched in the page text).
MONEY_DOCUMENT_WORDS = (
    # pay
    "pay stub", "paystub", "pay slip", "payslip", "earnings statement", "statement of earnings", "net pay",
    "gross pay", "pay period", "pay date", "year to date", "ytd", "deductions", "earnings", "bulletin de paie",
    "bulletin de salaire", "fiche de paie", "salaire brut", "net à payer", "cotisations", "lohnabrechnung",
    "gehaltsabrechnung", "entgeltabrechnung", "auszahlungsbetrag", "bruttolohn", "nettolohn", "loonstrook",
    "salarisstrook", "nettoloon", "brutoloon",
    # bank
    "account statement", "bank statement", "statement of account", "opening balance", "closing balance",
    "beginning balance", "ending balance", "available balance", "kontoauszug", "alter kontostand",
    "neuer kontostand", "relevé de compte", "ancien solde", "nouveau solde", "total des crédits",
    "total des débits", "rekeningafschrift", "vorig saldo", "nieuw saldo",
    # tax
    "wage and tax statement", "form w-2", "form 1099", "form 1040", "tax return", "federal income tax",
    "taxable income", "déclaration des revenus", "avis d'imposition", "revenu fiscal", "einkommensteuer",
    "lohnsteuer", "steuerbescheid", "inkomstenbelasting", "aangifte",
    # health and insurance claims
    "explanation of benefits", "amount billed", "patient responsibility", "claim number", "total charges",
    "kostenerstattung", "erstattungsbetrag", "remboursement", "demande de remboursement", "declaratie",
)
_FOLDED = tuple(dict.fromkeys(fold(w) for w in MONEY_DOCUMENT_WORDS))
_MONEY = re.compile(
    r"(?<![\w.,/-])(?:[$€£¥₹]\s?|(?:EUR|USD|GBP|CHF)\s)?[-(]?(?:\d{1,3}(?:[ .,'’]\d{3})+|\d+)[.,]\d{2}\)?"
    r"(?:\s?(?:€|\$|£|EUR|USD|GBP|CHF)(?!\w))?(?![\w.,/-]|\d)"
)


def money_document(text: str, hits: int = 2) -> bool:
    """Whether ``text`` (a page's text) holds ``hits`` or more different money-document words
    (case and accents ignored)."""
    low = fold(text)
    return sum(1 for word in _FOLDED if word in low) >= hits


def amounts(text: str) -> list[Detection]:
    """Every amount with two decimals in ``text`` (on one line), as ``AMOUNT`` detections."""
    return [Detection("AMOUNT", m.start(), m.end(), SCORE, SOURCE) for m in _MONEY.finditer(text)
            if "\n" not in m.group()]
