"""``anonymizer.pipeline.document``: the pipeline built from ``anonymizer/conf/pipeline.yaml``, its
wrappers applied at construction, and the per-document steps (pages, audit)."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf
from PIL import Image

from anonymizer.core.pdf_pages import Cancelled
from anonymizer.metrics.legibility import ocr_available
from anonymizer.pipeline.audit import AUDIT_VERSION
from anonymizer.pipeline.document import DocumentAnonymizer, PipelineError, Wrappers, pipeline_config
from anonymizer.pipeline.page_anonymizer import PageResult
from tests.test_anonymize import compose_anonymize


class RecordingPages:
    """A fake page anonymizer: returns the page inverted and remembers each call's document."""

    def __init__(self) -> None:
        self.docs: list[object] = []

    def __call__(self, image: Image.Image, doc, index: int = 0) -> PageResult:
        self.docs.append(doc)
        audit = {"page": index, "entities": [{"type": "PERSON"}], "verification": {"checked": True, "leaks": []}}
        return PageResult(Image.eval(image, lambda v: 255 - v), audit)


def test_pipeline_config_is_the_commands_pipeline() -> None:
    """``pipeline_config`` holds exactly the pipeline keys the ``anonymize`` command composes."""
    overrides = ["renderer=redact", "ocr.scale=2", "verify.enabled=false"]
    command = OmegaConf.to_container(compose_anonymize(["input=a", "output=b", *overrides]))
    for key in ("input", "output", "overwrite", "recursive", "engine"):
        command.pop(key)
    assert OmegaConf.to_container(pipeline_config(overrides)) == command


def test_a_component_that_cannot_start_is_a_pipeline_error() -> None:
    with pytest.raises(PipelineError, match="unknown OCR engine 'nope'"):
        DocumentAnonymizer.from_config(pipeline_config(["ocr.engine=nope"]))


@pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed")
def test_wrappers_are_applied_as_the_parts_are_built() -> None:
    seen: dict[str, object] = {}

    class Wrapped:
        def __init__(self, name: str, part: object) -> None:
            seen[name] = part
            self.part = part
            self.margin = getattr(part, "margin", None)

    wrappers = Wrappers(ocr=lambda p: Wrapped("ocr", p), detector=lambda p: Wrapped("detector", p),
                        renderer=lambda p: Wrapped("renderer", p))
    pipeline = DocumentAnonymizer.from_config(pipeline_config(["renderer=redact", "renderer.margin=5"]),
                                              wrappers=wrappers)
    parts = pipeline.page_anonymizer
    assert {type(seen[k]).__name__ for k in seen} == {"TesserocrEngine", "PiiDetector", "RedactRenderer"}
    assert all(isinstance(getattr(parts, k), Wrapped) for k in ("ocr", "detector", "renderer"))
    assert parts.redactor.margin == 5  # the page anonymizer was built with the wrapped parts
    assert pipeline.renderer == "redact" and "extra_config" not in pipeline.ocr_settings


def test_pages_of_a_document_share_one_context_and_keep_their_resolution(monkeypatch) -> None:
    monkeypatch.setenv("PIPELINE_TEST_SECRET", "s3cret")
    fake = RecordingPages()
    pipeline = DocumentAnonymizer.from_config(pipeline_config(["secret_env=PIPELINE_TEST_SECRET"]),
                                              page_anonymizer=fake)
    assert pipeline.secret == "s3cret" and pipeline.consistent and pipeline.locale == "en_US"
    pages = [Image.new("RGB", (20, 10), "white") for _ in range(2)]
    pages[1].info["dpi"] = (300, 300)
    audits: list[dict] = []
    out = list(pipeline.anonymize_pages(enumerate(pages), audits=audits))
    assert [im.getpixel((0, 0)) for im in out] == [(0, 0, 0), (0, 0, 0)] and out[1].info["dpi"] == (300, 300)
    assert len(audits) == 2 and fake.docs[0] is fake.docs[1]
    list(pipeline.anonymize_pages(enumerate(pages[:1])))
    assert fake.docs[2] is not fake.docs[0]  # a new document, a new context
    assert pipeline.anonymize_page(pages[0]).audit["page"] == 0 and fake.docs[3] is not fake.docs[2]
    record = pipeline.audit(input_name="in.png", output_name="in.png", status="ok", reason=None, pages_audit=audits,
                            seconds=0.5)
    assert record["schema"] == AUDIT_VERSION and record["renderer"] == "classical"
    assert record["consistent_across_documents"] is True and record["ocr"] == pipeline.ocr_settings
    assert record["summary"] == {"pages": 2, "entities": {"PERSON": 2}, "leaks_found": 0, "verification_passed": True}


def test_should_stop_cancels_before_the_next_page() -> None:
    pipeline = DocumentAnonymizer(RecordingPages(), renderer="fake")
    calls = iter([False, True])
    pages = [(i, Image.new("RGB", (4, 4))) for i in range(3)]
    audits: list[dict] = []
    with pytest.raises(Cancelled, match="stopped before page 1"):
        for _ in pipeline.anonymize_pages(pages, should_stop=lambda: next(calls), audits=audits):
            pass
    assert len(audits) == 1 and not pipeline.consistent
