"""PII detection over page text built from words: Presidio patterns, form context,
allow/deny lists, filters, NER models, overlap resolution, and privacy of the logs."""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

import pytest

from anonymizer.core.records import PII_LABELS, Word
from anonymizer.core.text import label_word_key
from anonymizer.pipeline.detect import PiiDetector, blank_pipeline, resolve_overlaps
from anonymizer.pipeline.form_context import FormContext
from anonymizer.pipeline.page_text import Detection, build_page_text, entity_boxes
from tests.test_page_text import FONT, ink_x, layout


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("anonymizer-cache"))


@pytest.fixture(scope="module")
def detector(cache_dir) -> PiiDetector:
    """Patterns and form context only (the gazetteer and address blocks are tested on their own)."""
    return PiiDetector(nlp={"engine": "none"}, cache_dir=cache_dir, names=False, address_blocks=False)


@pytest.fixture(scope="module")
def default_detector(cache_dir) -> PiiDetector:
    """The detector as anonymizer/conf/pipeline.yaml builds it (no NER model)."""
    return PiiDetector(nlp={"engine": "none"}, cache_dir=cache_dir)


def found(page, detections) -> list[tuple[str, str]]:
    return [(d.entity_type, page.text[d.start : d.end]) for d in detections]


@pytest.mark.parametrize(
    ("line", "etype", "value"),
    [
        ("Write to jane.roe@mail.example.org today", "EMAIL_ADDRESS", "jane.roe@mail.example.org"),
        ("Call (415) 555-2671 after noon", "PHONE_NUMBER", "(415) 555-2671"),
        ("Card 4111 1111 1111 1111 expires", "CREDIT_CARD", "4111 1111 1111 1111"),
        ("Pay to DE89 3704 0044 0532 0130 00 now", "IBAN_CODE", "DE89 3704 0044 0532 0130 00"),
        ("Server 192.168.1.20 is down", "IP_ADDRESS", "192.168.1.20"),
        ("See https://example.org/path for details", "URL", "https://example.org/path"),
        ("Signed on 2021-05-06 in", "DATE_TIME", "2021-05-06"),
        ("SSN 536-90-4399 here", "US_SSN", "536-90-4399"),
        ("ITIN 912-71-1234 here", "NATIONAL_ID", "912-71-1234"),  # Presidio's US_ITIN
        ("NINO AB 12 34 56 C here", "NATIONAL_ID", "AB 12 34 56 C"),  # enabled UK recognizer
    ],
)
def test_pattern_types(detector, line, etype, value):
    page = build_page_text(layout([line]))
    assert found(page, detector.detect(page)) == [(etype, value)]
    assert etype in PII_LABELS


def test_email_glued_to_its_label_gets_a_box_over_the_email_only(detector):
    words = layout(["Email:john.doe@example.com"])
    page, detections = detector.detect_words(words)
    (det,) = detections
    assert (det.entity_type, page.text[det.start : det.end], det.source) == (
        "EMAIL_ADDRESS", "john.doe@example.com", "EmailRecognizer")
    (eb,) = entity_boxes(det, page)
    true0, true1 = ink_x(words, 0, 6, 26)
    assert abs(eb.box[0] - true0) <= 3 and abs(eb.box[2] - true1) <= 3
    assert eb.box[0] - words[0].box[0] > FONT.getlength("Email") - 1


def test_phone_split_over_two_words_is_one_detection_and_one_box(detector):
    words = layout(["Phone: (555) 123-4567"])
    page, detections = detector.detect_words(words)
    (det,) = detections
    assert (det.entity_type, page.text[det.start : det.end]) == ("PHONE_NUMBER", "(555) 123-4567")
    assert det.score >= 0.7  # Presidio's context word "phone" raised it
    (eb,) = entity_boxes(det, page)
    assert eb.word_indices == (1, 2)
    assert eb.box == pytest.approx((words[1].box[0], min(words[1].box[1], words[2].box[1]), words[2].box[2],
                                    max(words[1].box[3], words[2].box[3])))


def test_name_from_form_context(detector):
    page = build_page_text(layout(["Name: Jane Q. Doe"]))
    (det,) = detector.detect(page)
    assert (det.entity_type, page.text[det.start : det.end], det.source) == ("PERSON", "Jane Q. Doe", "form_context")
    assert det.score == pytest.approx(0.65)


def test_address_on_two_lines_below_its_label(detector):
    words = layout(["Address:", "12 Main Street", "Springfield, IL 62704", "", "Thank you"])
    page, detections = detector.detect_words(words)
    assert found(page, detections) == [("LOCATION", "12 Main Street\nSpringfield, IL 62704")]
    boxes = entity_boxes(detections[0], page)
    assert [b.line for b in boxes] == [1, 2]
    assert boxes[1].box[2] == pytest.approx(words[-3].box[2])  # ends at "62704"


def test_address_right_of_its_label_continues_below_it_in_a_column(detector):
    indent = 30 + FONT.getlength("Address: ")
    words = layout(["Address: 12 Main Street|Invoice 4471", "Springfield, IL 62704", "Total due"],
                   indent=[30, indent, 30], gap="          ")
    page, detections = detector.detect_words(words)
    locations = [d for d in detections if d.entity_type == "LOCATION"]
    assert [page.text[d.start : d.end] for d in locations] == ["12 Main Street", "Springfield, IL 62704"]
    assert locations[0].group is not None and locations[0].group == locations[1].group  # one address, two spans
    assert "Invoice" not in found(page, detections).__repr__()


def test_date_of_birth_right_and_below_in_several_languages(detector):
    cases = [
        (["Date of birth: 14.03.1985"], "14.03.1985"),
        (["DOB", "03/14/1985"], "03/14/1985"),
        (["Geburtsdatum: 14. März 1985"], "14. März 1985"),
        (["Date de naissance : 14 mars 1985"], "14 mars 1985"),
    ]
    for lines, value in cases:
        page = build_page_text(layout(lines))
        assert found(page, detector.detect(page)) == [("DATE_TIME", value)], lines


def test_german_and_french_name_and_address_labels(detector):
    page = build_page_text(layout(["Nom : Dupont", "Anschrift: Hauptstraße 5", "Kundennummer: 88-1234"]))
    assert found(page, detector.detect(page)) == [
        ("PERSON", "Dupont"), ("LOCATION", "Hauptstraße 5"), ("ID_NUMBER", "88-1234")]


def test_labels_need_a_colon_or_their_own_cell(detector):
    # "name" inside "Bank name:" and "account" in running text are not labels
    page = build_page_text(layout(["Bank name: First Bank", "Your account was updated"]))
    assert detector.detect(page) == []
    # a header cell: "Name" alone, the value below it
    page = build_page_text(layout(["Name|Amount", "Jane Doe|12.00"], gap="            "))
    assert found(page, detector.detect(page)) == [("PERSON", "Jane Doe")]


def test_two_labels_on_one_line_split_the_values(detector):
    page = build_page_text(layout(["Name: Jane Doe Account: 778812"]))
    assert found(page, detector.detect(page)) == [("PERSON", "Jane Doe"), ("ID_NUMBER", "778812")]


def test_form_labels_are_configurable():
    form = FormContext(labels={"Member": "PERSON", "Name": None}, languages=["en"])
    page = build_page_text(layout(["Member: Jane Doe", "Name: John Roe"]))
    assert [(d.entity_type, page.text[d.start : d.end]) for d in form.detect(page)] == [("PERSON", "Jane Doe")]
    assert label_word_key("Téléphone:") == "telephone" and label_word_key("E-Mail") == "email"
    with pytest.raises(ValueError, match="no built-in labels"):
        FormContext(languages=["xx"])


def test_labels_without_type_are_never_values():
    plain = FormContext(languages=["en"])
    page = build_page_text(layout(["Name: Quorn", "Quorn: Jane Doe"]))
    assert [(d.entity_type, page.text[d.start : d.end]) for d in plain.detect(page)] == [("PERSON", "Quorn")]
    form = FormContext(labels={"Quorn": [], "E-Mail": None}, languages=["en"])  # a field name, not a value
    assert form.detect(page) == []
    page = build_page_text(layout(["Email: jo@example.org", "E mail: jo@example.org"]))
    assert form.detect(page) == []  # every spelling of the removed label


def test_deny_list_finds_values_case_and_whitespace_insensitive(cache_dir):
    deny = {"PERSON": ["Jane Roe"], "ORGANIZATION": ["Acme"]}
    det = PiiDetector(nlp={"engine": "none"}, cache_dir=cache_dir, deny_list=deny, entities=["EMAIL_ADDRESS"])
    page = build_page_text(layout(["Prepared by JANE ROE for acme, reviewed by Jane", "Roe"]))
    dets = det.detect(page)
    assert found(page, dets) == [("PERSON", "JANE ROE"), ("ORGANIZATION", "acme"), ("PERSON", "Jane\nRoe")]
    assert {d.source for d in dets} == {"deny_list"} and all(d.score == 1.0 for d in dets)


def test_allow_list_values_are_not_detected(cache_dir):
    det = PiiDetector(nlp={"engine": "none"}, cache_dir=cache_dir, allow_list=["Support@Example.com", "ACME Corp"])
    page = build_page_text(layout(["Mail support@example.com or jane@private.org", "Customer: ACME Corp"]))
    assert found(page, det.detect(page)) == [("EMAIL_ADDRESS", "jane@private.org")]


def test_entity_filter_accepts_project_and_presidio_names(cache_dir):
    page = build_page_text(layout(["Name: Jane Doe", "Mail jane@private.org, ITIN 912-71-1234", "Call (415) 555-2671"]))
    only_mail = PiiDetector(nlp={"engine": "none"}, cache_dir=cache_dir, entities=["EMAIL_ADDRESS"])
    assert found(page, only_mail.detect(page)) == [("EMAIL_ADDRESS", "jane@private.org")]
    ids = PiiDetector(nlp={"engine": "none"}, cache_dir=cache_dir, entities=["NATIONAL_ID", "PERSON"])
    assert found(page, ids.detect(page)) == [("PERSON", "Jane Doe"), ("NATIONAL_ID", "912-71-1234")]
    raw = PiiDetector(nlp={"engine": "none"}, cache_dir=cache_dir, entities=["US_ITIN"])
    assert found(page, raw.detect(page)) == [("NATIONAL_ID", "912-71-1234")]


def test_score_threshold(cache_dir):
    page = build_page_text(layout(["Call (415) 555-2671 after noon", "Name: Jane Doe"]))  # phone scores 0.4
    low = PiiDetector(nlp={"engine": "none"}, cache_dir=cache_dir, score_threshold=0.3)
    assert found(page, low.detect(page)) == [("PHONE_NUMBER", "(415) 555-2671"), ("PERSON", "Jane Doe")]
    high = PiiDetector(nlp={"engine": "none"}, cache_dir=cache_dir, score_threshold=0.5)
    assert found(page, high.detect(page)) == [("PERSON", "Jane Doe")]
    strict = PiiDetector(nlp={"engine": "none"}, cache_dir=cache_dir, score_threshold=0.7, form_context={"score": 0.9})
    assert found(page, strict.detect(page)) == [("PERSON", "Jane Doe")]
    off = PiiDetector(nlp={"engine": "none"}, cache_dir=cache_dir, form_context=False, names=False)
    assert found(page, off.detect(page)) == [("PHONE_NUMBER", "(415) 555-2671")]


def test_form_value_defers_to_a_precise_pattern_match(detector):
    page = build_page_text(layout(["Phone: (415) 555-2671 ext. 12 (office)"]))
    assert found(page, detector.detect(page)) == [("PHONE_NUMBER", "(415) 555-2671 ext. 12")]


def form_rows(rows, x_label: float = 55, x_value: float = 256, y: float = 30, pitch: float = 34,
              split: bool = False) -> list[Word]:
    """A two-column form as :func:`layout` would draw it: each row's label at ``x_label`` and
    its value at ``x_value`` (either may be ``None``); ``split`` gives the values their own
    line ids, as Tesseract does when it reads the two columns as separate blocks."""
    words = []
    for n, (label, value) in enumerate(rows):
        for text, x, line in ((label, x_label, n), (value, x_value, n + 1000 if split else n)):
            pen = x
            for tok in (text or "").split():
                b = FONT.getbbox(tok)
                words.append(Word(tok, (pen + b[0], y + b[1], pen + b[2], y + b[3]), line=line, conf=95.0))
                pen += FONT.getlength(tok + " ")
        y += pitch
    return words


# A label-column form (labels without colon at x=55, values at x=256) with section headings,
# a two-line address, and a declaration paragraph under the last phone number.
LABEL_COLUMN_FORM = [
    ("Personal details", None), ("Name", "Jacqueline Clark"), ("Employer", "Hughes-Williams"),
    ("Date of birth", "09/06/1991"), ("City", "South Neilville"), ("NI number", "ST425807B"),
    ("Contact details", None), ("Home address", "Studio 3 Cox creek"), (None, "Port Shannonfort TN77 8QQ"),
    ("Mobile", "+44(0)118 4960412"), ("Payment details", None), ("Account IBAN", "GB82 WEST 1234 5698 7654 32"),
    ("Emergency contact", None), ("Emergency contact", "Emily Evans"), ("Tel.", "+44(0)28 9018 0851"),
    ("I confirm that the information given above is correct and complete to the best of my", None),
    ("knowledge.", None), ("Signed on 1 June 2016", None),
]
LABEL_COLUMN_VALUES = [
    ("PERSON", "Jacqueline Clark"), ("ORGANIZATION", "Hughes-Williams"), ("DATE_TIME", "09/06/1991"),
    ("LOCATION", "South Neilville"), ("NATIONAL_ID", "ST425807B"),
    ("LOCATION", "Studio 3 Cox creek\nPort Shannonfort TN77 8QQ"), ("PHONE_NUMBER", "+44(0)118 4960412"),
    ("IBAN_CODE", "GB82 WEST 1234 5698 7654 32"), ("PERSON", "Emily Evans"), ("PHONE_NUMBER", "+44(0)28 9018 0851"),
    ("DATE_TIME", "1 June 2016"),
]


@pytest.mark.parametrize("split", [False, True], ids=["one-ocr-line-per-row", "columns-as-separate-ocr-lines"])
def test_label_column_form_takes_each_rows_next_cell(detector, split):
    """The values right of "Name", "City", "Emergency contact" across the column gap; nothing below
    "City" (the next label), "Mobile" (a heading) or "Tel." (a sentence); the written date."""
    page, detections = detector.detect_words(form_rows(LABEL_COLUMN_FORM, split=split))
    assert sorted(found(page, detections)) == sorted(LABEL_COLUMN_VALUES)
    assert not any(d.entity_type == "LOCATION" and "NI" in page.text[d.start : d.end] for d in detections)
    sources = {page.text[d.start : d.end]: d.source for d in detections}
    assert sources["Jacqueline Clark"] == sources["South Neilville"] == sources["Emily Evans"] == "form_context"


def test_form_context_alone_on_the_label_column_form():
    """Without Presidio: form context gives names and places, and its pattern-type values have
    their shape (no heading or sentence as PHONE_NUMBER, no label as LOCATION)."""
    page = build_page_text(form_rows(LABEL_COLUMN_FORM))
    values = [(d.entity_type, page.text[d.start : d.end]) for d in FormContext().detect(page)]
    assert ("PERSON", "Jacqueline Clark") in values and ("PERSON", "Emily Evans") in values
    assert ("LOCATION", "South Neilville") in values and ("LOCATION", "NI number") not in values
    phones = [v for t, v in values if t == "PHONE_NUMBER"]
    assert phones == ["+44(0)118 4960412", "+44(0)28 9018 0851"]
    assert all(any(c.isdigit() for c in v) for t, v in values if t in ("DATE_TIME", "ID_NUMBER", "NATIONAL_ID"))


def test_phone_label_never_takes_a_heading_or_a_sentence_below(detector):
    rows = [("Mobile", "+44(0)118 4960412"), ("Payment details", None), ("Tel.", None),
            ("I confirm that the information given above is correct", None)]
    page, detections = detector.detect_words(form_rows(rows))
    assert found(page, detections) == [("PHONE_NUMBER", "+44(0)118 4960412")]


def test_colon_label_with_a_far_value_takes_it_not_the_line_below(detector):
    page, detections = detector.detect_words(form_rows([("Name:", "Jane Doe"), ("Springfield Road", None)]))
    assert found(page, detections) == [("PERSON", "Jane Doe")]


def test_value_below_must_be_close_and_left_aligned(detector):
    assert found(*detector.detect_words(layout(["Name", "Jane Doe"]))) == [("PERSON", "Jane Doe")]
    assert detector.detect(build_page_text(layout(["Name", "", "", "Jane Doe"]))) == []  # three lines down
    assert detector.detect(build_page_text(layout(["Name", "Jane Doe"], indent=[30, 330]))) == []  # not under it


def test_row_of_labels_over_row_of_values(detector):
    """Boxed two-column forms: the labels' right neighbours are labels, so both look below."""
    rows = [("Name", None), ("Jane Doe", None)]
    words = form_rows(rows) + form_rows([("Place of birth", None), ("Leeds", None)], x_label=400)
    page, detections = detector.detect_words(words)
    assert sorted(found(page, detections)) == [("LOCATION", "Leeds"), ("PERSON", "Jane Doe")]


@pytest.mark.parametrize(
    "value",
    ["1 June 2016", "June 1, 2016", "1st of June 2016", "Jun 1 2016", "01-Jun-2016", "Sept. 3, 2019",
     "1. Juni 2016", "14. März 1985", "1 juin 2016", "1er juin 2016", "12 décembre 2020"],
)
def test_written_dates(detector, value):
    page = build_page_text(layout([f"Signed on {value} in Leeds"]))
    assert found(page, detector.detect(page)) == [("DATE_TIME", value)]


def test_written_date_broken_over_two_lines(detector):
    page = build_page_text(layout(["We met on 1 June", "2016 in Leeds"]))
    assert found(page, detector.detect(page)) == [("DATE_TIME", "1 June\n2016")]


def test_misread_and_run_together_labels(detector):
    cases = [
        (["Adress: 12 Main Street"], [("LOCATION", "12 Main Street")]),  # one letter missing
        (["Patent name: Jane Doe"], [("PERSON", "Jane Doe")]),  # "Patient" misread
        (["Invoice#: INV-1234-56789"], [("ID_NUMBER", "INV-1234-56789")]),  # "#" = "No."
        (["N°de dossier : JX-891454"], [("ID_NUMBER", "JX-891454")]),
        (["Contract: Service agreement"], []),  # one letter more is another word, not "Contact"
    ]
    for lines, expected in cases:
        page = build_page_text(layout(lines))
        assert found(page, detector.detect(page)) == expected, lines


def test_labels_without_colon_followed_by_their_value(detector):
    cases = [
        (["Receipt No. 4471-2231"], [("ID_NUMBER", "4471-2231")]),
        (["Cashier Jane Doe"], [("PERSON", "Jane Doe")]),
        (["Customer Registration Form"], []),  # a title, not a customer
        (["Your customer number RE-539105 remains unchanged."], [("ID_NUMBER", "RE-539105")]),
        (["Your account was updated in 2024."], []),
        (["Customer No.: 12345 (see letter)"], [("ID_NUMBER", "12345")]),  # cut to the identifier
    ]
    for lines, expected in cases:
        page = build_page_text(layout(lines))
        assert found(page, detector.detect(page)) == expected, lines


def test_table_amounts_are_not_phone_numbers(detector):
    page = build_page_text(layout(["Consulting services 1 590.63 590.63", "Repair work 1 86,16 86,16"]))
    assert detector.detect(page) == []
    page = build_page_text(layout(["appelez le 02 49 17 77 27 demain"]))  # a French number
    assert found(page, detector.detect(page)) == [("PHONE_NUMBER", "02 49 17 77 27")]


def test_iban_broken_over_two_lines(detector):
    page = build_page_text(layout(["Der Betrag wird auf das Konto DE89 3704", "0044 0532 0130 00 überwiesen."]))
    assert found(page, detector.detect(page)) == [("IBAN_CODE", "DE89 3704\n0044 0532 0130 00")]


def test_resolve_overlaps():
    text = "Jane Doe jane@x.org, 12 Main St"
    d = [
        Detection("PERSON", 0, 19, 0.65, "form_context"),  # over-long form value
        Detection("EMAIL_ADDRESS", 9, 19, 1.0, "EmailRecognizer"),
        Detection("URL", 14, 19, 0.5, "UrlRecognizer"),  # inside the email
        Detection("LOCATION", 21, 28, 0.6, "a"),
        Detection("LOCATION", 24, 31, 0.9, "b"),  # same type: merged with the higher score's source
        Detection("PERSON", 19, 21, 0.3, "c"),  # only ", " is left of it: dropped
        Detection("EMAIL_ADDRESS", 9, 19, 1.0, "EmailRecognizer"),  # duplicate
    ]
    out = resolve_overlaps(d, text)
    assert [(x.entity_type, text[x.start : x.end], x.source) for x in out] == [
        ("PERSON", "Jane Doe", "form_context"),
        ("EMAIL_ADDRESS", "jane@x.org", "EmailRecognizer"),
        ("LOCATION", "12 Main St", "b"),
    ]


def test_blank_pipeline_is_saved_once_and_reused(tmp_path):
    first = blank_pipeline("en", tmp_path)
    assert (first / "config.cfg").is_file() and first.parent == tmp_path
    stamp = (first / "config.cfg").stat().st_mtime_ns
    assert blank_pipeline("en", tmp_path) == first and (first / "config.cfg").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temp folder left behind


SENSITIVE = ["Jane", "Doe", "jane.doe@example.com", "(415) 555-2671", "536-90-4399", "DE89 3704 0044 0532 0130 00",
             "Main Street", "Springfield", "14.03.1985", "Roe"]
PAGE = ["Name: Jane Q. Doe", "Email:jane.doe@example.com", "Patient Jane Doe phone (415) 555-2671",
        "SSN 536-90-4399 IBAN DE89 3704 0044 0532 0130 00", "Address:", "12 Main Street", "Springfield, IL 62704",
        "", "Date of birth: 14.03.1985 (Jane Roe)"]


def leaked(records) -> list[str]:
    pattern = re.compile("|".join(r"(?<!\w)" + re.escape(v) + r"(?!\w)" for v in SENSITIVE), re.IGNORECASE)
    return [f"{r.name}:{r.levelname}" for r in records if pattern.search(r.getMessage())]


def test_no_log_record_contains_document_text(caplog, cache_dir):
    caplog.set_level(logging.DEBUG)
    for name in ("presidio-analyzer", "decision_process", "anonymizer"):
        caplog.set_level(logging.DEBUG, logger=name)
    det = PiiDetector(nlp={"engine": "none"}, cache_dir=cache_dir, deny_list={"PERSON": ["Jane Roe"]})
    page, detections = det.detect_words(layout(PAGE))
    assert len(detections) >= 8
    assert any(r.name == "anonymizer.pipeline.detect" and "detected" in r.getMessage() for r in caplog.records)
    assert leaked(caplog.records) == []


def test_presidio_would_log_document_text_without_the_filter(caplog, detector):
    """Proof that the filter matters: Presidio logs its context words (document text) at DEBUG."""
    from anonymizer.pipeline import detect

    page = build_page_text(layout(PAGE))
    presidio = logging.getLogger("presidio-analyzer")
    caplog.set_level(logging.DEBUG, logger="presidio-analyzer")
    presidio.removeFilter(detect._LOG_FILTER)
    try:
        detector.analyzer.analyze(page.text, language="en")
    finally:
        detect.silence_presidio_logs()
    assert leaked(caplog.records)


def test_missing_ner_model_warns_once_without_text(caplog, cache_dir):
    caplog.set_level(logging.DEBUG)
    det = PiiDetector(nlp={"engine": "spacy", "model": "xx_absent_ner_model"}, cache_dir=cache_dir)
    page, detections = det.detect_words(layout(PAGE))
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "'xx_absent_ner_model'" in message and "python -m spacy download xx_absent_ner_model" in message
    assert "\n" not in message and leaked(warnings) == []
    assert det.ner_model is None
    assert ("EMAIL_ADDRESS", "jane.doe@example.com") in found(page, detections)  # patterns go on

    caplog.clear()
    det = PiiDetector(nlp={"engine": "transformers", "model": "nobody/absent-ner-model"}, cache_dir=cache_dir)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "huggingface-cli download nobody/absent-ner-model" in warnings[0].getMessage()


def test_invalid_nlp_config(cache_dir):
    with pytest.raises(ValueError, match="nlp.engine"):
        PiiDetector(nlp={"engine": "stanza", "model": "x"}, cache_dir=cache_dir)
    with pytest.raises(ValueError, match="extra_recognizers"):
        PiiDetector(nlp={"engine": "none"}, cache_dir=cache_dir, extra_recognizers=["NoSuchRecognizer"])


def test_no_network_access(monkeypatch, tmp_path):
    import tldextract.tldextract as tx

    attempts: list[tuple] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    # the guard catches tldextract's own download attempt ...
    tx.TLDExtract(cache_dir=None)("www.example.com")
    assert attempts
    attempts.clear()
    # ... and a fresh, download-by-default extractor is replaced by the detector
    monkeypatch.setattr(tx, "TLD_EXTRACTOR", tx.TLDExtract(cache_dir=str(tmp_path / "tld")))
    det = PiiDetector(nlp={"engine": "spacy", "model": "xx_absent_ner_model"}, cache_dir=str(tmp_path / "cache"))
    page, detections = det.detect_words(layout(["Mail jane@private.org or see https://example.org/a"]))
    assert found(page, detections) == [("EMAIL_ADDRESS", "jane@private.org"), ("URL", "https://example.org/a")]
    assert attempts == []
    assert not (tmp_path / "tld").exists()


def test_user_installed_spacy_ner_model(tmp_path, cache_dir):
    """A spaCy pipeline folder with an entity ruler stands in for en_core_web_lg."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PERSON", "pattern": "Maria Garcia"}, {"label": "GPE", "pattern": "Lyon"},
                        {"label": "ORG", "pattern": "Globex"}])
    nlp.to_disk(tmp_path / "ner")
    det = PiiDetector(nlp={"engine": "spacy", "model": str(tmp_path / "ner")}, cache_dir=cache_dir)
    assert det.ner_model == f"spacy:{tmp_path / 'ner'}"
    page, detections = det.detect_words(layout(["Maria Garcia moved from Lyon to work at Globex"]))
    assert found(page, detections) == [("PERSON", "Maria Garcia"), ("LOCATION", "Lyon"), ("ORGANIZATION", "Globex")]
    assert {d.source for d in detections} == {"SpacyRecognizer"}


def test_user_installed_transformers_ner_model(tmp_path, cache_dir):
    """A tiny local token-classification model that tags every token I-PER."""
    import torch
    from transformers import BertConfig, BertForTokenClassification, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "maria", "garcia", "signed"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"))
    config = BertConfig(vocab_size=len(vocab), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=64,
                        id2label={0: "O", 1: "B-PER", 2: "I-PER"}, label2id={"O": 0, "B-PER": 1, "I-PER": 2})
    model = BertForTokenClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([0.0, 0.0, 12.0]))
    model.save_pretrained(tmp_path / "hf")
    tokenizer.save_pretrained(tmp_path / "hf")
    det = PiiDetector(nlp={"engine": "transformers", "model": str(tmp_path / "hf"), "device": "cpu"},
                      cache_dir=cache_dir, form_context=False)
    assert det.ner_model == f"transformers:{tmp_path / 'hf'}"
    page, detections = det.detect_words(layout(["maria garcia signed"]))
    assert found(page, detections) == [("PERSON", "maria garcia signed")]
    assert detections[0].source == "HuggingFaceNerRecognizer"


def test_empty_page(detector):
    page = build_page_text([Word("   ", (0, 0, 5, 5), line=0)])
    assert page.text == "" and detector.detect(page) == []
    assert Path(detector.analyzer.nlp_engine.models[0]["model_name"]).is_dir()
