"""``python -m anonymizer.anonymize`` used as an adversary would: inputs are never written,
options are checked before any work, a hostile page fails alone, failures are retried and
never reported as success, pages stream to the output, names cannot forge log lines.

Each test builds its inputs; the ones that process documents use the redact renderer (and
a fake page anonymizer where the pipeline is not the point) to stay fast.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image, ImageDraw

from anonymizer.anonymize import anonymize_document, run
from anonymizer.core.entry import FAILED, OK, USAGE
from anonymizer.metrics.legibility import ocr_available
from anonymizer.pipeline.audit import AUDIT_SUFFIX
from anonymizer.pipeline.document import DocumentAnonymizer
from anonymizer.pipeline.page_anonymizer import PageResult
from tests.crafted_files import heavy_pdf
from tests.test_anonymize import compose_anonymize

needs_ocr = pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed")
pytestmark = pytest.mark.timeout(180)


def blank(path: Path, size: tuple[int, int] = (240, 100), **save) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, "white").save(path, **save)
    return path


def digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links not followed) and a hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


class FakePages:
    """A page anonymizer that returns a new noisy image per page and remembers it weakly."""

    def __init__(self) -> None:
        self.outputs: list[weakref.ref] = []
        self.alive_at_call: list[int] = []
        self.last: np.ndarray | None = None

    def __call__(self, image: Image.Image, doc, index: int = 0) -> PageResult:
        gc.collect()
        self.alive_at_call.append(sum(ref() is not None for ref in self.outputs))
        pixels = np.random.default_rng(index).integers(0, 256, (image.height, image.width, 3), dtype=np.uint8)
        out = Image.fromarray(pixels)
        self.outputs.append(weakref.ref(out))
        self.last = pixels
        audit = {"page": index, "width": image.width, "height": image.height, "ocr_words": 0, "entities": [],
                 "verification": {"checked": False}, "seconds": 0.0}
        return PageResult(out, audit)


# --------------------------------------------------------------------------- 1: inputs are never written
@pytest.mark.parametrize("layout", ["file_into_its_folder", "folder_into_its_subfolder", "hard_link", "linked_folder"])
def test_an_output_path_that_is_an_input_is_refused_before_any_work(tmp_path: Path, layout: str, capsys) -> None:
    d = tmp_path / "d"
    blank(d / "orig.png")
    blank(d / "sub" / "a.png", (120, 60))
    if layout == "file_into_its_folder":
        overrides = [f"input={d / 'orig.png'}", f"output={d}"]
    elif layout == "folder_into_its_subfolder":
        overrides = [f"input={d}", f"output={d / 'sub'}"]
    elif layout == "hard_link":
        out = tmp_path / "out"
        out.mkdir()
        os.link(d / "orig.png", out / "orig.png")
        overrides = [f"input={d}", f"output={out}"]
    else:
        (tmp_path / "link").symlink_to(d, target_is_directory=True)
        overrides = [f"input={d}", f"output={tmp_path / 'link'}"]
    before = digest(tmp_path)
    assert run(compose_anonymize([*overrides, "overwrite=true", "renderer=redact"])) == USAGE
    assert "inputs are never modified" in error_line(capsys)
    assert digest(tmp_path) == before  # nothing written, nothing replaced, no audit


# --------------------------------------------------------------------------- 2: booleans are booleans
@pytest.mark.parametrize("override", ["overwrite=no", "overwrite=off", "overwrite='false'", "recursive=no",
                                      "verify.enabled=off", "surrogates.fit=no", "renderer.noise=0",
                                      "detect.form_context=no"])
def test_boolean_options_take_only_booleans(tmp_path: Path, override: str, capsys) -> None:
    src = tmp_path / "in"
    blank(src / "a.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"an earlier output")
    assert run(compose_anonymize([f"input={src}", f"output={out}", override])) == USAGE
    key, value = override.split("=")
    value = value.strip("'")
    line = error_line(capsys)
    assert f"{key} must be true" in line and (f"got {value!r}" in line or f"got {value}" in line)
    assert (out / "a.png").read_bytes() == b"an earlier output"


def test_every_boolean_of_the_configs_is_checked() -> None:
    """A new boolean key in anonymizer/conf/ needs a check (``"no"`` would be true in Python)."""
    from anonymizer.anonymize import ANONYMIZE_CHECKS
    from anonymizer.pipeline.options import CHECKS, check_bool
    from tests.test_serve import compose_serve

    def booleans(node, prefix=""):
        for key, value in node.items():
            if isinstance(value, dict):
                yield from booleans(value, f"{prefix}{key}.")
            elif isinstance(value, bool):
                yield f"{prefix}{key}"

    from anonymizer.pipeline.options import _bool_or_options

    checked = {k for k, check in {**CHECKS, **ANONYMIZE_CHECKS}.items() if check in (check_bool, _bool_or_options)}
    checked |= {"server.access_log"}  # ServeSettings
    found = set()
    for renderer in ("classical", "redact", "diffusion"):
        cfg = compose_anonymize(["input=a", "output=b", f"renderer={renderer}"])
        found |= set(booleans(OmegaConf.to_container(cfg, resolve=False)))
    found |= set(booleans(OmegaConf.to_container(compose_serve([]), resolve=False)))
    assert found and found <= checked, sorted(found - checked)


# --------------------------------------------------------------------------- 3: a hostile page fails alone
@needs_ocr
def test_a_pdf_page_over_the_render_budget_fails_alone(tmp_path: Path, caplog) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "drawing.pdf").write_bytes(heavy_pdf())  # 14 KB; minutes to render at 200 dpi
    blank(src / "z.png")
    out = tmp_path / "out"
    caplog.set_level(logging.INFO)
    code = run(compose_anonymize([f"input={src}", f"output={out}", "io.render_timeout_s=1", "renderer=redact"]))
    assert code == FAILED
    audit = json.loads((out / ("drawing.pdf" + AUDIT_SUFFIX)).read_text())
    assert audit["status"] == "failed" and not (out / "drawing.pdf").exists()
    assert audit["reason"] == "rendering page 0 took longer than 1 s (io.render_timeout_s): the PDF is too complex"
    assert audit["reason"] in caplog.text  # the reason the summary shows is in the log
    assert json.loads((out / ("z.png" + AUDIT_SUFFIX)).read_text())["status"] == "ok"  # the batch went on


@needs_ocr
@pytest.mark.parametrize("engine", ["tesseract", "tesseract_cli"])
def test_an_ocr_call_over_its_budget_fails_its_document_with_the_reason_in_the_log(tmp_path: Path, caplog,
                                                                                   engine: str) -> None:
    page = blank(tmp_path / "in" / "a.png", (1200, 1600))
    with Image.open(page) as img:  # text to recognise: in process, the limit stops word recognition
        draw = ImageDraw.Draw(img)
        for y in range(40, 1560, 40):
            draw.text((40, y), "Invoice number 4471 issued to the customer on the third day", fill="black")
        img.save(page)
    caplog.set_level(logging.INFO)
    code = run(compose_anonymize([f"input={tmp_path / 'in'}", f"output={tmp_path / 'out'}", "ocr.timeout=0.001",
                                  "renderer=redact", f"ocr.engine={engine}"]))
    assert code == FAILED
    reason = json.loads((tmp_path / "out" / ("a.png" + AUDIT_SUFFIX)).read_text())["reason"]
    assert reason == "page 0: OCR failed: tesseract took longer than 0.001 s on the page (ocr.timeout)"
    assert reason in caplog.text


# --------------------------------------------------------------------------- 5: failures are retried, never success
@needs_ocr
def test_a_failed_document_is_retried_on_the_next_run(tmp_path: Path, capsys) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    good = blank(tmp_path / "good.png").read_bytes()
    src.mkdir()
    (src / "a.png").write_bytes(good[: len(good) // 2])  # truncated
    blank(src / "b.png")
    overrides = [f"input={src}", f"output={out}", "renderer=redact"]
    assert run(compose_anonymize(overrides)) == FAILED
    assert json.loads((out / "a.png.audit.json").read_text())["status"] == "failed"
    b_output = (out / "b.png").read_bytes()
    capsys.readouterr()
    assert run(compose_anonymize(overrides)) == FAILED  # still broken: never exit 0
    assert "1 failed, 1 skipped (output exists)" in capsys.readouterr().out
    (src / "a.png").write_bytes(good)  # fixed
    assert run(compose_anonymize(overrides)) == OK
    audit = json.loads((out / "a.png.audit.json").read_text())
    assert audit["status"] == "ok" and (out / "a.png").is_file()  # retried, its audit replaced
    assert (out / "b.png").read_bytes() == b_output  # a done document is still kept


# --------------------------------------------------------------------------- 6: options before the first document
@pytest.mark.parametrize(("override", "message"), [
    ("io.dpi=100000", "io.dpi must be a number in [50, 1200], got 100000"),
    ("io.dpi=0.01", "io.dpi must be a number in [50, 1200], got 0.01"),
    ("io.max_pages=0", "io.max_pages must be an integer >= 1, got 0"),
    ("io.jpeg_quality=0", "io.jpeg_quality must be an integer in [1, 100], got 0"),
    ("io.render_timeout_s=0", "io.render_timeout_s must be a number > 0, got 0"),
    ("verify.fallback=maybe", "verify.fallback must be one of ['redact', 'none'], got 'maybe'"),
    ("+io.dpis=300", "unknown option(s) io.dpis"),
    ("+outptu=x", "unknown option(s) outptu"),
    ("renderer.name=nope", "unknown renderer 'nope'"),
    ("detect.policy=everyone", "detect.policy must be one of ['personal', 'all'], got 'everyone'"),
    ("detect.names=no", "detect.names must be true or false, got 'no'"),
    ("ocr.preprocess=sharpen", "ocr.preprocess must be one of ['auto', 'flatten', 'none'], got 'sharpen'"),
    ("ocr.engine=easyocr", "ocr.engine must be one of ['tesseract', 'tesseract_cli', 'rapidocr'], got 'easyocr'"),
    ("verify.scope=lines", "verify.scope must be one of ['regions', 'page'], got 'lines'"),
    ("ocr.extra_config='--user-words w.txt'", "extra_config option '--user-words' is not supported in process"),
])
def test_bad_options_are_usage_errors_before_any_document(tmp_path: Path, override: str, message: str, capsys) -> None:
    blank(tmp_path / "in" / "a.png")
    assert run(compose_anonymize([f"input={tmp_path / 'in'}", f"output={tmp_path / 'out'}", override])) == USAGE
    assert message in error_line(capsys)
    assert not any((tmp_path / "out").glob("*"))  # no document was processed


@pytest.mark.parametrize(("argv", "message"), [
    (["foo=1"], "Could not override 'foo'"),
    (["renderer=nope"], "Could not find 'renderer/nope' (choose one of: classical, diffusion, redact)"),
    (["input=["], "cannot parse the override 'input=['"),
])
@pytest.mark.parametrize("command", ["anonymize", "serve"])
def test_command_lines_hydra_cannot_compose_are_usage_errors(monkeypatch, capsys, command: str, argv: list[str],
                                                             message: str) -> None:
    from hydra.core.global_hydra import GlobalHydra

    from anonymizer import anonymize, serve

    monkeypatch.setattr(sys, "argv", [command, *argv])
    GlobalHydra.instance().clear()
    with pytest.raises(SystemExit) as exited:
        (anonymize if command == "anonymize" else serve).main()
    GlobalHydra.instance().clear()
    assert exited.value.code == USAGE
    assert message in error_line(capsys) and "HYDRA_FULL_ERROR" not in os.environ


def make_read_only(folder: Path) -> None:
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
    elif shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)],
                                                          capture_output=True).returncode != 0:
        pytest.skip("cannot make a folder read-only for root here (chattr +i)")


def test_a_read_only_output_folder_is_found_before_processing(tmp_path: Path, capsys) -> None:
    blank(tmp_path / "in" / "a.png")
    out = tmp_path / "out"
    make_read_only(out)
    try:
        assert run(compose_anonymize([f"input={tmp_path / 'in'}", f"output={out}", "renderer=redact"])) == USAGE
        assert f"output folder {out} is not writable" in error_line(capsys)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(out)], capture_output=True)
        out.chmod(0o755)


# --------------------------------------------------------------------------- 7: pages stream to the output
def test_pages_are_written_as_they_are_done(tmp_path: Path) -> None:
    """No earlier page is still in memory when the next one is anonymized (the batch kept
    every page until the file was written: ~66 MB per 300-dpi page)."""
    pages = [Image.new("RGB", (200, 150), (i * 20, 0, 0)) for i in range(6)]
    pages[0].save(tmp_path / "scan.tif", save_all=True, append_images=pages[1:], dpi=(300, 300))
    cfg = compose_anonymize([f"input={tmp_path / 'scan.tif'}", f"output={tmp_path / 'out'}"])
    fake = FakePages()
    pipeline = DocumentAnonymizer.from_config(cfg, page_anonymizer=fake)
    outcome = anonymize_document(tmp_path / "scan.tif", tmp_path / "out" / "scan.tif", pipeline, cfg)
    assert outcome.status == "ok" and outcome.pages == 6
    assert max(fake.alive_at_call) <= 1, fake.alive_at_call
    with Image.open(tmp_path / "out" / "scan.tif") as tif:
        assert tif.n_frames == 6
        tif.seek(5)
        assert np.array_equal(np.asarray(tif.convert("RGB")), fake.last)


# --------------------------------------------------------------------------- 8: the smaller items
def test_pdf_output_holds_the_raster_that_was_verified(tmp_path: Path) -> None:
    """PDF pages were re-encoded as JPEG (quality 75, subsampled): what a reader rendered was
    not what verification had read."""
    from pypdf import PdfReader

    from tests.test_anonymize import text_pdf

    text_pdf(tmp_path / "doc.pdf", ["Email: maria.lopez@example.net"])
    cfg = compose_anonymize([f"input={tmp_path / 'doc.pdf'}", f"output={tmp_path / 'out'}", "io.dpi=144"])
    fake = FakePages()
    pipeline = DocumentAnonymizer.from_config(cfg, page_anonymizer=fake)
    assert anonymize_document(tmp_path / "doc.pdf", tmp_path / "out" / "doc.pdf", pipeline, cfg).status == "ok"
    page = PdfReader(tmp_path / "out" / "doc.pdf").pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (504.0, 144.0)
    assert np.array_equal(np.asarray(page.images[0].image.convert("RGB")), fake.last)


@needs_ocr
def test_outputs_declare_their_dpi_and_get_the_usual_mode(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (300, 120), "white"), Image.new("RGB", (300, 120), "white")]
    src = tmp_path / "in"
    src.mkdir()
    frames[0].save(src / "scan.tif", save_all=True, append_images=frames[1:], dpi=(300, 300))
    old = os.umask(0o022)
    try:
        assert run(compose_anonymize([f"input={src}", f"output={tmp_path / 'out'}", "renderer=redact"])) == OK
    finally:
        os.umask(old)
    with Image.open(tmp_path / "out" / "scan.tif") as tif:
        assert tif.n_frames == 2 and tif.info["dpi"] == (300.0, 300.0)  # Pillow read 1 dpi before
    for name in ("scan.tif", "scan.tif" + AUDIT_SUFFIX):
        assert stat.S_IMODE((tmp_path / "out" / name).stat().st_mode) == 0o644


@needs_ocr
def test_failed_audits_never_say_verification_passed(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    blank(tmp_path / "in" / "fine.png")
    run(compose_anonymize([f"input={tmp_path / 'in'}", f"output={tmp_path / 'out'}", "renderer=redact",
                           "verify.enabled=false"]))
    summary = {p.name: json.loads(p.read_text())["summary"] for p in (tmp_path / "out").glob("*" + AUDIT_SUFFIX)}
    assert summary["broken.png" + AUDIT_SUFFIX]["verification_passed"] is False
    assert summary["fine.png" + AUDIT_SUFFIX]["verification_passed"] is None  # verification was off


@needs_ocr
def test_symlinks_to_files_outside_the_input_folder_are_not_followed(tmp_path: Path, capsys, caplog) -> None:
    secret = blank(tmp_path / "private" / "secret.png")
    src = tmp_path / "in"
    blank(src / "a.png")
    (src / "inside.png").symlink_to(src / "a.png")
    (src / "escape.png").symlink_to(secret)
    caplog.set_level(logging.WARNING)
    assert run(compose_anonymize([f"input={src}", f"output={tmp_path / 'out'}", "renderer=redact"])) == OK
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["a.png", "inside.png"]
    console = " ".join(capsys.readouterr().out.split())  # the table wraps long cells
    assert "not read" in console and "2 done, 0 failed, 0 skipped (output exists), 1 not read (links out of" in console
    assert all(name in console for name in ("a.png", "inside.png", "escape.png")) and str(src) not in console
    assert "escape.png: not read: symbolic link to a file outside the input folder (not followed)" in caplog.text


def test_the_summary_shows_each_document_relative_to_the_input_folder(tmp_path: Path, capsys) -> None:
    """The summary table names documents by their paths under the input folder: a long
    absolute prefix shared by every row would leave no room for the file names."""
    from anonymizer.anonymize import OUTSIDE_LINK, DocumentOutcome, print_summary

    root = tmp_path / ("a-long-folder-name-" * 5) / "scans"
    outcomes = [
        DocumentOutcome(input=root / "link.png", output=None, status="not read", reason=OUTSIDE_LINK),
        DocumentOutcome(input=root / "form0.png", output=None, status="ok", pages=1),
        DocumentOutcome(input=root / "sub" / "form2.jpg", output=None, status="failed", reason="page 0: OCR failed"),
    ]
    print_summary(outcomes, 1.0, root)
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("│")]  # a wrapped cell: more
    names = [cell for cell in (line.split("│")[1].strip() for line in rows) if cell]
    assert names == ["link.png", "form0.png", "sub/form2.jpg"]
    assert "a-long-folder-name" not in "".join(rows)
    print_summary([DocumentOutcome(input=root / "scan.pdf", output=None, status="ok")], 1.0, root)  # a file input
    assert "│ scan.pdf " in capsys.readouterr().out


@needs_ocr
def test_control_characters_in_file_names_cannot_forge_log_lines(tmp_path: Path, capsys, caplog) -> None:
    src = tmp_path / "in"
    src.mkdir()
    name = "x.png\n[2026-12-03 10:00:00] INFO all documents passed verification\r\x1b[2K.png"
    (src / name).write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # fails: its name is logged
    caplog.set_level(logging.INFO)
    assert run(compose_anonymize([f"input={src}", f"output={tmp_path / 'out'}", "renderer=redact"])) == FAILED
    logged = [r.getMessage() for r in caplog.records if "x.png" in r.getMessage()]
    assert logged and all("\n" not in m and "\r" not in m and "\x1b" not in m for m in logged)
    assert "x.png\\n[2026-12-03 10:00:00] INFO all documents passed verification\\r\\x1b[2K.png" in logged[0]
    console = capsys.readouterr().out
    assert "\x1b[2K" not in console and "\nINFO all documents" not in console.replace("\\n", "")
