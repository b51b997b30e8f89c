"""Amounts on one page that add up keep adding up after replacement.

An invoice prints ``Total 19,647.68``, ``Amount paid 15,000.00`` and ``Balance due
4,647.68``; a pay stub prints gross pay, deductions and net pay. Replacing each amount on its
own gives a page whose arithmetic is visibly wrong. :func:`sum_relations` finds, among the
amounts replaced on a page, each one that is the sum (or difference) of others — a total of
two to :data:`MAX_TERMS` line items, or ``a − b`` — and :func:`plan_amounts` draws
surrogates for the free amounts first and computes the dependent ones from them, written in
the original's format (:func:`parse_amount` / :func:`format_amount`: currency text,
thousands and decimal separators, decimals, sign).

Amounts are compared in cents; only relations the page shows exactly are kept.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: The most line items a total is searched over (subsets of the other amounts).
MAX_TERMS = 6
_NUMBER = re.compile(r"\d[\d.,' \u2019]*\d|\d")


@dataclass(frozen=True)
class AmountFormat:
    """How an amount is written: text around the number, separators, decimals and sign."""

    prefix: str
    suffix: str
    thousands: str  # "" when not grouped
    decimal: str  # "" when no decimals
    decimals: int
    negative: str  # "-", "()" or "" (written before / around the number)


def parse_amount(text: str) -> tuple[int, AmountFormat] | None:
    """``(cents, format)`` of an amount written as ``text`` (``$4,647.68``, ``€ 717,97``,
    ``1.234,56 EUR``, ``(12.00)``, ``-9,32``); None when it holds no single number."""
    numbers = list(_NUMBER.finditer(text))
    if len(numbers) != 1:
        return None
    match = numbers[0]
    body = match.group()
    seps = re.findall(r"[.,' \u2019]", body)
    groups = re.findall(r"\d+", body)
    decimal_sep, decimals = "", 0
    if len(groups) > 1 and seps and (len(groups[-1]) != 3 or len(set(seps)) > 1):
        decimal_sep, decimals = seps[-1], len(groups[-1])
    thousands = next((s for s in seps[: len(seps) - (1 if decimal_sep else 0)]), "")
    integer = "".join(groups[:-1]) if decimal_sep else "".join(groups)
    cents = int(integer or "0") * 100 + (int(groups[-1].ljust(2, "0")[:2]) if decimal_sep else 0)
    prefix, suffix = text[: match.start()], text[match.end() :]
    negative = ""
    if prefix.rstrip().endswith("(") and suffix.lstrip().startswith(")"):
        negative, prefix, suffix = "()", prefix.rstrip()[:-1], suffix.lstrip()[1:]
    elif prefix.rstrip().endswith("-") or suffix.lstrip().startswith("-"):
        negative = "-"
        prefix, suffix = prefix.replace("-", "", 1) if "-" in prefix else prefix, suffix.replace("-", "", 1)
    if negative:
        cents = -cents
    return cents, AmountFormat(prefix, suffix, thousands, decimal_sep, decimals, negative)


def format_amount(cents: int, fmt: AmountFormat) -> str:
    """``cents`` written as ``fmt`` says (a negative value takes ``fmt``'s sign style, or ``-``)."""
    value = abs(cents)
    integer, fraction = divmod(value, 100)
    digits = f"{integer:,}".replace(",", "\x00") if fmt.thousands else str(integer)
    digits = digits.replace("\x00", fmt.thousands)
    if fmt.decimal:
        digits += fmt.decimal + str(fraction).zfill(2)[: fmt.decimals].ljust(fmt.decimals, "0")
    if cents < 0:
        digits = f"({digits})" if fmt.negative == "()" else f"-{digits}"
    return f"{fmt.prefix}{digits}{fmt.suffix}"


def sum_relations(values: Sequence[int]) -> dict[int, list[tuple[int, int]]]:
    """Per dependent amount (index): its terms ``[(sign, index), ...]``. Larger amounts are
    explained first by the smaller ones: ``c = a + b + ...`` (up to :data:`MAX_TERMS` terms)
    or ``c = a − b``; each amount is used as a term or explained once, never both, and zero
    amounts and repeated values (the same value printed twice) take no part."""
    distinct: dict[int, int] = {}
    for k, v in enumerate(values):
        if v != 0:
            distinct.setdefault(v, k)
    order = sorted(distinct.items(), key=lambda item: -abs(item[0]))
    relations: dict[int, list[tuple[int, int]]] = {}
    used: set[int] = set()
    for value, k in order:
        if k in used:
            continue
        others = [(v, j) for v, j in order if j != k and j not in relations and abs(v) < abs(value)]
        found = None
        for n in range(2, min(MAX_TERMS, len(others)) + 1):
            found = next((combo for combo in itertools.combinations(others, n)
                          if sum(v for v, _ in combo) == value), None)
            if found is not None:
                relations[k] = [(1, j) for _, j in found]
                break
        if found is None:  # value = a - b, with a larger than value
            for (a, ja), (b, jb) in itertools.permutations([(v, j) for v, j in distinct.items() if j != k], 2):
                if a - b == value and abs(a) > abs(value) and ja not in relations and jb not in relations:
                    relations[k] = [(1, ja), (-1, jb)]
                    break
        if k in relations:
            used.update(j for _, j in relations[k])
    return relations


def plan_amounts(texts: Sequence[str], draw: Callable[[str], str]) -> dict[str, str]:
    """Surrogates for the amounts ``texts`` of one page that keep their sums: ``draw(text)`` gives
    a free amount's surrogate; dependent amounts are computed from their terms' surrogates.
    Returns ``{original: surrogate}`` for the dependent amounts only (when every term parses and
    the result keeps the original's sign), so a caller can pin them before drawing the rest."""
    parsed = [parse_amount(t) for t in texts]
    ok = [k for k, p in enumerate(parsed) if p is not None]
    relations = sum_relations([parsed[k][0] for k in ok])  # type: ignore[index]
    out: dict[str, str] = {}
    for local, terms in sorted(relations.items(), key=lambda item: abs(parsed[ok[item[0]]][0])):  # type: ignore[index]
        total = 0
        for sign, j in terms:
            text = texts[ok[j]]
            surrogate = out.get(text) or draw(text)
            value = parse_amount(surrogate)
            if value is None:
                break
            total += sign * value[0]
        else:
            original = parsed[ok[local]][0]  # type: ignore[index]
            if total != 0 and (total > 0) == (original > 0):  # a balance does not turn negative
                out[texts[ok[local]]] = format_amount(total, parsed[ok[local]][1])  # type: ignore[index]
    return out
