"""Detection that reads layouts without labels or NER: names from a given-name gazetteer,
organisations by legal form, places after residence cues, postal address blocks, and the
label rules of form context on real-document layouts (numbered boxes, possessives, amounts,
Dutch labels, generic number and date labels, identifiers after ``#`` or a document word)."""

from __future__ import annotations

import pytest

from anonymizer.core.records import Word
from anonymizer.pipeline.address_blocks import AddressBlocks
from anonymizer.pipeline.detect import PiiDetector
from anonymizer.pipeline.names import person_score, recognizers
from anonymizer.pipeline.page_text import build_page_text
from tests.test_page_text import layout


@pytest.fixture(scope="module")
def detector(tmp_path_factory) -> PiiDetector:
    """The default detector (anonymizer/conf/pipeline.yaml) without an NER model."""
    return PiiDetector(nlp={"engine": "none"}, cache_dir=str(tmp_path_factory.mktemp("cache")))


def found(detector, lines, **kwargs) -> list[tuple[str, str]]:
    page, detections = detector.detect_words(layout(lines, **kwargs))
    return [(d.entity_type, page.text[d.start : d.end]) for d in detections]


def recognized(text: str) -> list[tuple[str, str]]:
    return [(r.entity_type, text[r.start : r.end]) for rec in recognizers()
            for r in rec.analyze(text, ["PERSON", "ORGANIZATION", "LOCATION"])]


# --------------------------------------------------------------------------- names
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This project is maintained by Helen Marsh and welcomes issues", [("PERSON", "Helen Marsh")]),
        ("Hi, my name is Oliver Quentin and I write", [("PERSON", "Oliver Quentin")]),  # cue, unknown surname
        ("Dear Mr. Hendricks,", [("PERSON", "Hendricks")]),  # title: the title itself is kept
        ("ROBERT J WALSH", [("PERSON", "ROBERT J WALSH")]),  # all-caps line, middle initial
        ("Signed: Anna van der Berg", [("PERSON", "Anna van der Berg")]),  # particles
        ("Bill To:", []),  # a label, not a person
        ("Mario Kart 7 3DS", []),  # a product: the name is followed by a model number
        ("Olive Oil", []),  # a given name that is an everyday word, no known surname
        ("May 2019 Total", []),
        ("Grant Thompson called", [("PERSON", "Grant Thompson")]),  # word-like given name + known surname
        ("Shipped via Acme Widgets Ltd. yesterday", [("ORGANIZATION", "Acme Widgets Ltd")]),
        ("Northwind Traders B.V.", [("ORGANIZATION", "Northwind Traders B.V.")]),
        ("NINO AB 12 34 56 C", []),  # "AB" without dots needs a mixed-case name before it
        ("INVOICE. Contoso GmbH", [("ORGANIZATION", "Contoso GmbH")]),  # a full stop ends the name before it
        ("She lives in San Francisco with", [("LOCATION", "San Francisco")]),
        ("I live in the city", []),
    ],
)
def test_names_organisations_places_without_ner(text, expected):
    assert sorted(recognized(text)) == sorted(expected)


def test_person_score_of_a_line():
    assert person_score("Helen Marsh") > 0 and person_score("Mr Smith") > 0
    assert person_score("Contoso Interior") == 0 and person_score("Total Due") == 0
    assert person_score("Helen Marsh lives in a very long line of text here") == 0


# --------------------------------------------------------------------------- address blocks
def test_us_address_block_with_name_and_country_kept(detector):
    lines = ["Bill To:", "Helen Marsh", "1600 Amphitheatre Pkwy", "Mountain View, CA 94043", "United States"]
    assert found(detector, lines) == [("PERSON", "Helen Marsh"),
                                      ("LOCATION", "1600 Amphitheatre Pkwy\nMountain View, CA 94043")]
    assert found(detector, lines[1:]) == [("PERSON", "Helen Marsh"), ("LOCATION", "1600 Amphitheatre Pkwy"),
                                          ("LOCATION", "Mountain View, CA 94043")]  # no label: the block alone


def test_european_block_needs_the_street_line_above_a_weak_postal_line(detector):
    # "12345 City" alone may be anything; under a street line it is an address
    assert found(detector, ["Qorvexa Systems", "Lindenweg 12", "80331 München"]) == [
        ("ORGANIZATION", "Qorvexa Systems"), ("LOCATION", "Lindenweg 12"), ("LOCATION", "80331 München")]
    assert found(detector, ["Order summary", "2019 Annual Report"]) == []
    assert found(detector, ["Pino Klaver", "Sessamestraat 32", "1025 RX Amsterdam"]) == [
        ("ORGANIZATION", "Pino Klaver"), ("LOCATION", "Sessamestraat 32"), ("LOCATION", "1025 RX Amsterdam")]


def test_two_address_blocks_side_by_side_are_separate_columns(detector):
    lines = ["Helen Marsh|Quorvan Ltd", "12 Main Street|9 High Road", "Springfield, IL 62704|London SW1A 1AA"]
    got = found(detector, lines, gap="            ")
    assert ("LOCATION", "Springfield, IL 62704") in got and ("LOCATION", "London SW1A 1AA") in got
    assert ("PERSON", "Helen Marsh") in got and ("ORGANIZATION", "Quorvan Ltd") in got


def test_one_line_address_and_no_block_without_a_postal_line(detector):
    assert found(detector, ["Visit us: Badweg 48, 8401 BL Gorredijk"]) == [("LOCATION", "Badweg 48, 8401 BL Gorredijk")]
    assert found(detector, ["Helen Marsh", "12 ft HDMI cable"]) == [("PERSON", "Helen Marsh")]


def test_address_blocks_off():
    page = build_page_text(layout(["Helen Marsh", "12 Main Street", "Springfield, IL 62704"]))
    assert AddressBlocks().detect(page) and AddressBlocks(name_lines=0).detect(page)[0].entity_type == "LOCATION"


# --------------------------------------------------------------------------- form labels on real layouts
def test_numbered_box_labels_and_possessives_take_the_value_below(detector):
    rows = [[(30, "a Employee's social security number"), (520, "b Employer identification number")],
            [(34, "123-45-6789"), (524, "00-1234567")],
            [(30, "1 Wages, tips, other compensation"), (520, "2 Federal income tax withheld")],
            [(34, "48,500.00"), (524, "6,835.00")]]
    page, detections = detector.detect_words(cells(rows))
    assert [(d.entity_type, page.text[d.start : d.end]) for d in detections] == [
        ("US_SSN", "123-45-6789"), ("ID_NUMBER", "00-1234567"), ("AMOUNT", "48,500.00"), ("AMOUNT", "6,835.00")]


def test_label_type_overrides_a_pattern_validators_verdict(detector):
    # Presidio rejects 123-45-6789 and 000-00-0000 as SSNs; the label says what they are
    assert found(detector, ["SSN: 123-45-6789"]) == [("US_SSN", "123-45-6789")]


def test_amount_fields(detector):
    assert found(detector, ["Balance Due: $4,647.68"]) == [("AMOUNT", "$4,647.68")]
    assert found(detector, ["Total|$ 279.84"], gap="          ") == [("AMOUNT", "$ 279.84")]
    assert found(detector, ["Net pay: 1.234,56 EUR"]) == [("AMOUNT", "1.234,56 EUR")]
    assert found(detector, ["Subtotal|$ 262.90", "Quantity: 3"], gap="          ") == []  # not a person's amount
    assert found(detector, ["Total: 3 items"]) == []  # not money


def test_values_of_the_wrong_type_are_kept(detector):
    for line in ["Mailing Address: same as home address", "Employer: N/A", "Phone: none"]:
        assert found(detector, [line]) == [], line


def test_dutch_labels_and_generic_number_and_date_labels(detector):
    assert found(detector, ["Klantnummer: 6669263", "Factuurdatum: 19 april 2014"]) == [
        ("ID_NUMBER", "6669263"), ("DATE_TIME", "19 april 2014")]
    assert found(detector, ["Lidmaatschapsnummer: 88-1234"]) == [("ID_NUMBER", "88-1234")]  # not listed anywhere
    assert found(detector, ["Verzenddatum: 25 mei 2015"]) == [("DATE_TIME", "25 mei 2015")]
    assert found(detector, ["Bambino: 12345"]) == []  # ends with "no", but is no number label


def test_identifiers_after_hash_or_a_document_word(detector):
    assert found(detector, ["INVOICE", "# 23413561D"]) == [("ID_NUMBER", "23413561D")]
    assert found(detector, ["Invoice INV/2023/03/0008"]) == [("ID_NUMBER", "INV/2023/03/0008")]
    assert found(detector, ["Invoice Date: 03/20/2023"]) == [("DATE_TIME", "03/20/2023")]


def cells(rows: list[list[tuple[float, str]]], pitch: float = 34) -> list:
    """Words of table rows: each row a list of ``(x, cell text)``."""
    words = []
    for n, row in enumerate(rows):
        for x, text in row:
            words += [Word(w.text, w.box, line=n, conf=w.conf) for w in layout([text], x=x, y=30 + n * pitch)]
    return words


def test_identifier_under_a_customer_column(detector):
    rows = [[(30, "Klant"), (430, "Order")], [(30, "SCONL0303006280999"), (430, "SCONL000000444")]]
    page, detections = detector.detect_words(cells(rows))
    assert [(d.entity_type, page.text[d.start : d.end]) for d in detections] == [
        ("ID_NUMBER", "SCONL0303006280999"), ("ID_NUMBER", "SCONL000000444")]


def test_a_label_before_a_colon_label_ends_the_value_before_it(detector):
    got = found(detector, ["Emergency Contact: Qel Varn Emergency Contact Phone: 0161 496 0000"])
    assert ("PERSON", "Qel Varn") in got and all("Emergency" not in text for _, text in got)


# --------------------------------------------------------------------------- policy
def test_policy_personal_keeps_the_issuers_registry_block_and_footer(tmp_path):
    rows = [[(30, "Helen Marsh"), (520, "Quorvan Trading B.V.")],
            [(30, "Lindenweg 12"), (520, "Kade 7")],
            [(30, "1025 RX Amsterdam"), (520, "3012 CN Rotterdam")],
            [(30, "Invoice number: 88-1234"), (520, "KvK 24330087")],
            [(520, "IBAN NL91ABNA0417164300")],
            [(30, "Total: EUR 250,00")],
            [(30, "Questions?")], [(30, "Call")], [(30, "us")], [(30, "at")], [(30, "any")],
            [(30, "(870)-931-0505 info@quorvan.nl http://www.quorvan.nl")]]
    words = cells(rows)
    personal = PiiDetector(nlp={"engine": "none"}, cache_dir=str(tmp_path))
    everything = PiiDetector(nlp={"engine": "none"}, cache_dir=str(tmp_path), policy="all")
    page, kept = personal.detect_words(words)
    texts = {page.text[d.start : d.end] for d in kept}
    assert {"Helen Marsh", "Lindenweg 12", "1025 RX Amsterdam", "88-1234", "EUR 250,00"} <= texts
    assert not texts & {"Quorvan Trading B.V.", "Kade 7", "3012 CN Rotterdam", "NL91ABNA0417164300",
                        "(870)-931-0505", "info@quorvan.nl", "http://www.quorvan.nl"}
    page, both = everything.detect_words(words)
    texts = {page.text[d.start : d.end] for d in both}
    assert {"Quorvan Trading B.V.", "NL91ABNA0417164300", "(870)-931-0505", "info@quorvan.nl"} <= texts
    with pytest.raises(ValueError, match="policy must be one of"):
        PiiDetector(nlp={"engine": "none"}, cache_dir=str(tmp_path), policy="everything")


def test_ssn_shape_money_under_any_label_and_bracketed_remarks(detector):
    assert found(detector, ["Printed 123-45-6789 on the card"]) == [("US_SSN", "123-45-6789")]
    assert found(detector, ["SSN XXX-XX-4321"]) == [("US_SSN", "XXX-XX-4321")]
    assert found(detector, ["Social Security: 124.00"]) == [("AMOUNT", "124.00")]  # a pay stub's deduction
    assert found(detector, ["Date of birth (MM/DD/YYYY): 04/09/1986"]) == [("DATE_TIME", "04/09/1986")]
    assert found(detector, ["EXP 08/31/2027"]) == [("DATE_TIME", "08/31/2027")]
    assert found(detector, ["DLN|D1234-56789"], gap="      ") == [("ID_NUMBER", "D1234-56789")]


def test_bilingual_labels_of_id_cards(detector):
    lines = ["Nom / Surname", "DUPONT", "Date de naiss. / Date of birth", "06/10/1988"]
    got = found(detector, lines)
    assert ("PERSON", "DUPONT") in got and ("DATE_TIME", "06/10/1988") in got


def test_numbered_licence_fields_and_card_labels(detector):
    lines = ["DRIVING LICENCE", "1. SPECIMEN", "2 ALEX", "3 21/09/2002", "4b 11/03/2025", "5. SPECI538064AM9LQ",
             "8 123 ANY STREET, ANY TOWN G13 3EH", "9 AM/A/B"]
    got = found(detector, lines)
    for value in ("SPECIMEN", "ALEX", "21/09/2002", "11/03/2025", "SPECI538064AM9LQ"):
        assert any(value in text for _, text in got), value
    assert not any("AM/A/B" in text for _, text in got)  # field 9 (categories) is not personal
    assert found(detector, ["Order summary", "1. Apples", "2 Pears"]) == []  # numbered lines elsewhere
    assert found(detector, ["Versichertennr.", "VRN-28204-38"]) == [("ID_NUMBER", "VRN-28204-38")]
    assert found(detector, ["assuré AURELIE NORMAND"]) == [("PERSON", "AURELIE NORMAND")]  # accents dropped by OCR


def test_a_persons_name_found_again_and_family_firms(detector):
    got = found(detector, ["Reference letter for Denis Pelletier", "We confirm that Mr Pelletier has worked",
                           "for Martel Riou et Fils since 2012."])
    assert ("PERSON", "Denis Pelletier") in got and ("PERSON", "Pelletier") in got
    assert ("ORGANIZATION", "Martel Riou et Fils") in got
    assert found(detector, ["Helen Marsh went to the market", "The marsh was cold"]).count(("PERSON", "Marsh")) == 0


def test_every_amount_of_a_money_document_and_only_totals_elsewhere(detector):
    payslip = ["EARNINGS STATEMENT", "Regular 80.00 25.00 2,000.00", "Medicare -29.00", "Net Pay: $1,734.50"]
    got = found(detector, payslip)
    assert {text for etype, text in got if etype == "AMOUNT"} >= {"25.00", "2,000.00", "-29.00", "$1,734.50"}
    invoice = ["INVOICE", "Widget 3 12.00 36.00", "Total: $36.00"]
    assert [text for etype, text in found(detector, invoice) if etype == "AMOUNT"] == ["$36.00"]
    from anonymizer.pipeline.money import money_document

    assert money_document("RELEVE DE COMPTE ...") and money_document("net pay ... year to date")
    assert not money_document("Invoice: deductions apply") and not money_document("Total: 12.00")


def test_possessive_labels_name_their_noun(detector):
    assert found(detector, ["Employee's address: 12 Main Street"]) == [("LOCATION", "12 Main Street")]
    assert found(detector, ["Patient's name: Qel Varn"]) == [("PERSON", "Qel Varn")]
    assert found(detector, ["Employer's name: Quorvan Ltd"]) == [("ORGANIZATION", "Quorvan Ltd")]


def test_emails_that_ocr_split(detector):
    assert found(detector, ["Contact: maria.lopez @ example.net today"]) == [
        ("EMAIL_ADDRESS", "maria.lopez @ example.net")
    ]
    assert found(detector, ["write to maria.lopez@ example net now"]) == [("EMAIL_ADDRESS", "maria.lopez@ example net")]
    assert not [t for t, _ in found(detector, ["Twitter @handle here", "at 5 @ 3.com"]) if t == "EMAIL_ADDRESS"]
