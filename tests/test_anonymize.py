"""``python -m anonymizer.anonymize`` end to end on synthetic pages with known sensitive values.

The pages come from :mod:`anonymizer.data.synth_pages`; their records say which words are
sensitive and of what type, so the tests can check what must never be readable after
anonymization, which pixels may change, and that no original value reaches the audit,
the console or the logs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig
from PIL import Image, ImageSequence

from anonymizer.anonymize import run
from anonymizer.core.entry import FAILED, OK, USAGE
from anonymizer.core.records import PageRecord
from anonymizer.core.text import nfkc_casefold_alnum
from anonymizer.data.synth_pages import PageConfig, generate_page
from anonymizer.metrics.legibility import ocr_available
from anonymizer.pipeline.audit import AUDIT_SUFFIX
from anonymizer.pipeline.ocr import build_ocr
from anonymizer.pipeline.verify import find_leaks
from tests.conftest import CONF_DIR, ROOT
from tests.crafted_files import pdf_file

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed")]

#: Types found by patterns alone (no NER): none of these may stay readable.
PATTERN_TYPES = {"EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "CREDIT_CARD", "US_SSN"}
_CONFIG = PageConfig(kinds={"form": 1.0, "invoice": 0.0, "letter": 0.0, "receipt": 0.0},
                     scan=PageConfig().scan.__class__(enabled=False))


def compose_anonymize(overrides: list[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="anonymize", overrides=overrides)


def entity_values(record: PageRecord, types: set[str] | None = None) -> list[tuple[str, str]]:
    """``(type, value)`` of the sensitive entities, one per line of multi-line values."""
    out = []
    for e in record.entities:
        if not e.sensitive or (types is not None and e.label not in types):
            continue
        by_line: dict[int | None, list[str]] = {}
        for i in e.words:
            by_line.setdefault(record.words[i].line, []).append(record.words[i].text)
        out += [(e.label, " ".join(words)) for words in by_line.values()]
    return out


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[PageRecord]]:
    """Two clean synthetic form pages as PNG, one as a 2-page PDF and one as JPEG."""
    root = tmp_path_factory.mktemp("anon_in")
    (root / "sub").mkdir()
    records = []
    for index in range(3):
        image, record = generate_page(index, 11, _CONFIG)
        records.append(record)
        if index < 2:
            image.save(root / f"form{index}.png")
        else:
            image.save(root / "sub" / "form2.jpg", quality=95)
    return root, records


@pytest.fixture(scope="module")
def result(pages, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    """The CLI run once over the folder (in-process), with its console output."""
    root, _ = pages
    out = tmp_path_factory.mktemp("anon_out") / "out"
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}
    cfg = compose_anonymize([f"input={root}", f"output={out}"])
    code = run(cfg)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}
    assert before == after  # inputs untouched, nothing written next to them
    return out, code, ""


def test_outputs_mirror_inputs_with_audits(pages, result) -> None:
    root, _ = pages
    out, code, _ = result
    assert code == OK
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(["form0.png", "form0.png" + AUDIT_SUFFIX, "form1.png", "form1.png" + AUDIT_SUFFIX,
                              "sub/form2.jpg", "sub/form2.jpg" + AUDIT_SUFFIX, "manifest.jsonl"])
    assert Image.open(out / "sub" / "form2.jpg").format == "JPEG"
    assert Image.open(out / "form0.png").size == Image.open(root / "form0.png").size
    assert not list(out.rglob("*.part"))
    audit = json.loads((out / "form0.png.audit.json").read_text())
    assert audit["status"] == "ok" and audit["renderer"] == "classical" and len(audit["pages"]) == 1
    assert audit["summary"]["entities"] and audit["pages"][0]["verification"]["checked"] is True


def test_no_pattern_value_is_readable_and_labelled_fields_are_replaced(pages, result) -> None:
    _, records = pages
    out, _, _ = result
    ocr = build_ocr("tesseract")
    for name, record in (("form0.png", records[0]), ("form1.png", records[1])):
        words = ocr.read(Image.open(out / name).convert("RGB"))
        values = entity_values(record, PATTERN_TYPES)
        assert values, "the fixture pages must hold pattern-type values"
        leaks = find_leaks(words, [v for _, v in values])
        assert leaks == [], [values[leak.index][0] for leak in leaks]  # types only, never values
        linked = {v for k, v in record.links}
        labelled = [e for e in record.entities if e.id in linked and e.label in ("PERSON", "LOCATION")]
        named = [" ".join(record.words[i].text for i in e.words) for e in labelled]
        assert named
        readable = find_leaks(words, named)
        assert not readable, f"{len(readable)} of {len(named)} labelled names/addresses readable"


def test_pixels_outside_the_boxes_are_unchanged(pages, result) -> None:
    root, _ = pages
    out, _, _ = result
    before = np.asarray(Image.open(root / "form0.png").convert("RGB"))
    after = np.asarray(Image.open(out / "form0.png").convert("RGB"))
    audit = json.loads((out / "form0.png.audit.json").read_text())
    page = audit["pages"][0]
    boxes = [b for e in page["entities"] for b in e["boxes"]] + page["verification"].get("redacted", [])
    margin = 2
    allowed = np.zeros(before.shape[:2], bool)
    for x0, y0, x1, y1 in boxes:
        allowed[max(int(np.floor(y0)) - margin, 0) : int(np.ceil(y1)) + margin,
                max(int(np.floor(x0)) - margin, 0) : int(np.ceil(x1)) + margin] = True
    changed = np.any(before != after, axis=2)
    assert changed.any()
    assert not (changed & ~allowed).any()


def test_audit_holds_no_original_value(pages, result) -> None:
    _, records = pages
    out, _, _ = result
    text = "".join(p.read_text() for p in out.rglob("*" + AUDIT_SUFFIX))
    values = [v for r in records for _, v in entity_values(r)]
    leaked = [v for v in values if len(nfkc_casefold_alnum(v)) >= 4 and v in text]
    assert not leaked, f"{len(leaked)} original values in the audit"
    audit = json.loads((out / "form0.png.audit.json").read_text())
    ids = [e["value_id"] for e in audit["pages"][0]["entities"]]
    assert all(i.startswith("v") for i in ids)


def test_surrogates_are_consistent_within_a_document_and_across_with_a_secret(tmp_path: Path, monkeypatch) -> None:
    from PIL import ImageDraw, ImageFont

    from anonymizer.core.fonts import find_fonts

    face = next(
        f for f in find_fonts(families=("DejaVuSans",)) if f.family == "DejaVuSans" and not f.bold and not f.italic
    )
    font = ImageFont.truetype(face.path, 24)
    image = Image.new("RGB", (760, 260), "white")
    draw = ImageDraw.Draw(image)
    draw.text((30, 30), "Email: maria.lopez@acme-shipping.com", font=font, fill="black")
    draw.text((30, 110), "Contact maria.lopez@acme-shipping.com today", font=font, fill="black")
    draw.text((30, 190), "Phone: (415) 555-0132", font=font, fill="black")
    src = tmp_path / "in"
    src.mkdir()
    image.save(src / "a.png")
    image.save(src / "b.png")

    def surrogates(out: Path, name: str) -> dict[str, list[str]]:
        audit = json.loads((out / f"{name}.png.audit.json").read_text())
        found: dict[str, list[str]] = {}
        for e in audit["pages"][0]["entities"]:
            found.setdefault(e["type"], []).append(" ".join(e["surrogate"]))
        return found

    monkeypatch.setenv("ANONYMIZER_SECRET", "team-secret")
    assert run(compose_anonymize([f"input={src}", f"output={tmp_path / 'one'}"])) == OK
    a, b = surrogates(tmp_path / "one", "a"), surrogates(tmp_path / "one", "b")
    assert len(a["EMAIL_ADDRESS"]) == 2 and len(set(a["EMAIL_ADDRESS"])) == 1  # same value, same surrogate
    assert a == b  # same secret: same surrogates across documents
    assert run(compose_anonymize([f"input={src}", f"output={tmp_path / 'two'}"])) == OK
    assert surrogates(tmp_path / "two", "a") == a  # and across runs
    monkeypatch.delenv("ANONYMIZER_SECRET")
    assert run(compose_anonymize([f"input={src / 'a.png'}", f"output={tmp_path / 'three'}"])) == OK
    c = surrogates(tmp_path / "three", "a")
    assert len(set(c["EMAIL_ADDRESS"])) == 1 and c != a  # no secret: consistent within, not across


def test_bad_inputs_fail_alone_with_reasons_and_exit_code(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (300, 120), "white").save(src / "good.png")
    (src / "empty.png").write_bytes(b"")
    (src / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 2)  # JPEG magic, then garbage
    png = (src / "good.png").read_bytes()
    (src / "truncated.png").write_bytes(png[: len(png) // 2])
    (src / "wrong.pdf").write_bytes(png)
    (src / "notes.txt").write_text("ignored: not a document type")
    pdf = tmp_path / "plain.pdf"
    Image.new("RGB", (200, 100), "white").save(pdf, resolution=72)
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=pdf)
    writer.encrypt("secret", algorithm="RC4-128")
    writer.write(src / "locked.pdf")
    Image.new("RGB", (4000, 4000), "white").save(src / "huge.png")
    out = tmp_path / "out"
    code = run(compose_anonymize([f"input={src}", f"output={out}", "io.max_pixels=1000000"]))
    assert code == FAILED
    console = capsys.readouterr().out
    assert "1 done, 6 failed" in console
    reasons = {
        p.name.removesuffix(AUDIT_SUFFIX): json.loads(p.read_text())["reason"] for p in out.glob("*" + AUDIT_SUFFIX)
    }
    assert reasons["good.png"] is None and (out / "good.png").is_file()
    assert "empty" in reasons["empty.png"]
    assert "truncated" in reasons["truncated.png"] or "corrupt" in reasons["truncated.png"]
    assert any(word in reasons["corrupt.jpg"] for word in ("not an image", "corrupt", "truncated"))
    assert "content is PNG" in reasons["wrong.pdf"]
    assert "encrypted" in reasons["locked.pdf"]
    assert "max_pixels" in reasons["huge.png"]
    assert not (out / "notes.txt").exists() and "notes.txt" not in reasons
    for name in ("empty.png", "locked.pdf", "huge.png"):
        assert not (out / name).exists()


def test_existing_outputs_are_kept_unless_overwrite(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (300, 120), "white").save(src / "page.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "page.png").write_bytes(b"keep me")
    assert run(compose_anonymize([f"input={src}", f"output={out}"])) == OK
    assert (out / "page.png").read_bytes() == b"keep me"
    assert "1 skipped (output exists)" in capsys.readouterr().out
    assert run(compose_anonymize([f"input={src}", f"output={out}", "overwrite=true"])) == OK
    assert Image.open(out / "page.png").size == (300, 120)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["input=/nonexistent/scans", "output=/tmp/x"], "does not exist"),
        ([], "missing input, output"),
    ],
)
def test_usage_errors(overrides: list[str], message: str, capsys) -> None:
    assert run(compose_anonymize(overrides)) == USAGE
    assert message in capsys.readouterr().err


def test_ocr_threads_limit_tesseract_only_unless_the_environment_says(tmp_path: Path, monkeypatch, capsys) -> None:
    import pytesseract

    from anonymizer.pipeline.ocr import limit_ocr_threads

    monkeypatch.setattr(pytesseract.pytesseract, "environ", os.environ)
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    limit_ocr_threads(1)
    env = pytesseract.pytesseract.environ
    assert env["OMP_THREAD_LIMIT"] == "1" and "OMP_THREAD_LIMIT" not in os.environ  # Tesseract's only
    monkeypatch.setenv("ANONYMIZER_PROBE", "live")
    assert env["ANONYMIZER_PROBE"] == "live" and env["PATH"] == os.environ["PATH"]  # a live view
    out = subprocess.run([sys.executable, "-c", "import os; print(os.environ.get('OMP_THREAD_LIMIT'))"],
                         env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert out == "1"  # what a Tesseract child process sees
    monkeypatch.setenv("OMP_THREAD_LIMIT", "3")
    assert env["OMP_THREAD_LIMIT"] == "3"  # the user's setting wins
    limit_ocr_threads(None)
    assert pytesseract.pytesseract.environ is os.environ
    for bad in (0, -2, True, "two"):
        with pytest.raises(ValueError, match="ocr.threads"):
            limit_ocr_threads(bad)
    (tmp_path / "in").mkdir()
    Image.new("RGB", (100, 50), "white").save(tmp_path / "in" / "a.png")
    assert run(compose_anonymize([f"input={tmp_path / 'in'}", f"output={tmp_path / 'out'}", "ocr.threads=0"])) == USAGE
    assert "ocr.threads must be an integer >= 1" in capsys.readouterr().err


def test_output_folder_equal_to_input_is_refused(tmp_path: Path, capsys) -> None:
    Image.new("RGB", (100, 50), "white").save(tmp_path / "a.png")
    assert run(compose_anonymize([f"input={tmp_path}", f"output={tmp_path}"])) == USAGE
    assert "is the input folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def text_pdf(path: Path, lines: list[str]) -> None:
    """A PDF with one page per line, drawn as real text (Helvetica): a text layer to lose."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(lines)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(lines)} >>".encode())
    font = 3 + 2 * len(lines)
    for i, line in enumerate(lines):
        stream = f"BT /F1 18 Tf 20 64 Td ({line}) Tj ET".encode()
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 504 144] /Contents {4 + 2 * i} 0 R "
                       f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode())
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    path.write_bytes(pdf_file(objects))


def test_multipage_tiff_and_pdf_keep_format_pages_and_drop_the_text_layer(tmp_path: Path) -> None:
    import pypdfium2 as pdfium
    from PIL import ImageDraw, ImageFont

    from anonymizer.core.fonts import find_fonts

    face = next(
        f for f in find_fonts(families=("DejaVuSans",)) if f.family == "DejaVuSans" and not f.bold and not f.italic
    )
    font = ImageFont.truetype(face.path, 24)

    def page(text: str) -> Image.Image:
        image = Image.new("RGB", (700, 200), "white")
        ImageDraw.Draw(image).text((30, 80), text, font=font, fill="black")
        return image

    src = tmp_path / "in"
    src.mkdir()
    page("Email: lena.koch@nordwind-logistik.de").save(
        src / "scan.tif", save_all=True, append_images=[page("IBAN: DE89 3704 0044 0532 0130 00")])
    text_pdf(src / "doc.pdf", ["Email: lena.koch@nordwind-logistik.de", "IBAN: DE89 3704 0044 0532 0130 00"])
    original = pdfium.PdfDocument(str(src / "doc.pdf"))  # the input has a text layer
    assert "lena.koch" in original[0].get_textpage().get_text_bounded()
    original.close()
    out = tmp_path / "out"
    assert run(compose_anonymize([f"input={src}", f"output={out}", "io.dpi=144"])) == OK
    tif = Image.open(out / "scan.tif")
    assert tif.format == "TIFF" and tif.n_frames == 2
    pdf = pdfium.PdfDocument(str(out / "doc.pdf"))
    assert len(pdf) == 2 and tuple(round(v) for v in pdf[0].get_size()) == (504, 144)
    assert all(pdf[i].get_textpage().get_text_bounded() == "" for i in range(2))  # image-only output
    ocr = build_ocr("tesseract")
    frames = [frame.convert("RGB") for frame in ImageSequence.Iterator(tif)]
    for image in frames + [pdf[i].render(scale=2).to_pil() for i in range(2)]:
        text = nfkc_casefold_alnum(" ".join(w.text for w in ocr.read(image.convert("RGB"))))
        assert nfkc_casefold_alnum("lena.koch@nordwind-logistik.de") not in text
        assert nfkc_casefold_alnum("DE89 3704 0044 0532 0130 00") not in text
    pdf.close()


def test_redact_renderer_from_the_command_line(tmp_path: Path) -> None:
    """``python -m anonymizer.anonymize input=... output=... renderer=redact`` as a subprocess."""
    from PIL import ImageDraw, ImageFont

    from anonymizer.core.fonts import find_fonts

    face = next(
        f for f in find_fonts(families=("DejaVuSans",)) if f.family == "DejaVuSans" and not f.bold and not f.italic
    )
    image = Image.new("RGB", (600, 100), "white")
    ImageDraw.Draw(image).text(
        (20, 35), "Email: jo.smith@corp-mail.org", font=ImageFont.truetype(face.path, 24), fill="black"
    )
    image.save(tmp_path / "a.png")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "anonymizer.anonymize", f"input={tmp_path / 'a.png'}",
                           f"output={tmp_path / 'out'}", "renderer=redact"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "jo.smith" not in proc.stdout + proc.stderr
    audit = json.loads((tmp_path / "out" / "a.png.audit.json").read_text())
    assert audit["renderer"] == "redact"
    (x0, y0, x1, y1), = audit["pages"][0]["entities"][0]["boxes"]
    pixels = np.asarray(Image.open(tmp_path / "out" / "a.png").convert("L"))
    assert pixels[int(y0) + 1 : int(y1) - 1, int(x0) + 1 : int(x1) - 1].max() == 0  # solid black
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "out"]  # nothing in the working directory


def test_no_original_value_in_logs_or_console(pages, tmp_path: Path, caplog, capsys) -> None:
    root, records = pages
    caplog.set_level(logging.DEBUG)
    code = run(compose_anonymize([f"input={root / 'form0.png'}", f"output={tmp_path / 'out'}"]))
    assert code == OK
    captured = capsys.readouterr()
    text = captured.out + captured.err + "\n".join(r.getMessage() for r in caplog.records)
    values = [v for _, v in entity_values(records[0]) if len(nfkc_casefold_alnum(v)) >= 4]
    assert values
    leaked = [v for v in values if v in text]
    assert not leaked, f"{len(leaked)} original values in logs or console"
