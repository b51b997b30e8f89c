"""Amount surrogates that keep the page's sums: parsing, formatting, relations, planning, and
the page anonymizer pinning computed totals."""

from __future__ import annotations

import pytest

from anonymizer.pipeline.surrogates import SurrogateGenerator
from anonymizer.pipeline.surrogates.amounts import format_amount, parse_amount, plan_amounts, sum_relations


@pytest.mark.parametrize(
    "text, cents",
    [("$4,647.68", 464768), ("€ 717,97", 71797), ("1.234,56 EUR", 123456), ("(12.00)", -1200), ("-9,32", -932),
     ("$ 279.84", 27984), ("1'250.50 CHF", 125050), ("$15,000", 1500000)],
)
def test_parse_and_format_round_trip(text, cents):
    value, fmt = parse_amount(text)
    assert value == cents and format_amount(value, fmt) == text


def test_format_writes_a_new_value_in_the_originals_style():
    _, fmt = parse_amount("1.234,56 EUR")
    assert format_amount(98765432, fmt) == "987.654,32 EUR"
    assert parse_amount("12 items for 3,00") is None  # two numbers: not one amount


def test_relations_totals_and_differences():
    # items 42 + 70 = 112 (subtotal), 112 + 16.94 = 128.94 (total), 128.94 - 28.94 = 100 (balance)
    values = [4200, 7000, 11200, 1694, 12894, 2894, 10000]
    relations = sum_relations(values)
    for target, terms in relations.items():
        assert sum(sign * values[j] for sign, j in terms) == values[target]
    assert 4 in relations  # the total is explained
    assert all(j not in relations for terms in relations.values() for _, j in terms)  # terms are free amounts
    assert sum_relations([1000, 2500, 999]) == {}  # nothing adds up


def test_plan_keeps_totals_consistent_with_the_drawn_items():
    generator = SurrogateGenerator(secret="k")
    texts = ["$19,647.68", "$15,000.00", "$4,647.68"]  # total, paid, balance
    plan = plan_amounts(texts, lambda t: generator.surrogate("AMOUNT", t))
    assert list(plan) == ["$19,647.68"]
    for original, surrogate in plan.items():
        assert generator.pin("AMOUNT", original, surrogate)
    total, paid, balance = (parse_amount(generator.surrogate("AMOUNT", t))[0] for t in texts)
    assert total == paid + balance
    assert all(generator.surrogate("AMOUNT", t) != t for t in texts)
    assert not generator.pin("AMOUNT", "$1.00", "$1.00")  # never the original itself


def test_page_anonymizer_keeps_a_pages_sums(tmp_path):
    from PIL import Image

    from anonymizer.core.records import Word
    from anonymizer.pipeline.detect import PiiDetector
    from anonymizer.pipeline.page_anonymizer import DocumentContext, PageAnonymizer
    from anonymizer.pipeline.render import build_renderer
    from tests.test_page_text import layout

    words = layout(["Total: $19,647.68", "Amount paid: $15,000.00", "Balance due: $4,647.68"])

    class FixedOcr:
        def read(self, image):
            return [Word(w.text, w.box, line=w.line, conf=w.conf) for w in words]

    detector = PiiDetector(nlp={"engine": "none"}, cache_dir=str(tmp_path))
    anonymizer = PageAnonymizer(FixedOcr(), detector, build_renderer("redact"), verify=False)
    audit = anonymizer(Image.new("RGB", (600, 200), "white"), DocumentContext(SurrogateGenerator()), 0).audit
    amounts = [parse_amount(e["surrogate"][0])[0] for e in audit["entities"] if e["type"] == "AMOUNT"]
    assert len(amounts) == 3 and amounts[0] == amounts[1] + amounts[2]
