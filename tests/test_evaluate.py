"""``python -m anonymizer.evaluate``: every task writes its files on tiny artifacts; usage errors
exit 2; failing samples are counted; the anonymize task writes no original value anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from anonymizer.evaluate import run
from anonymizer.metrics.legibility import ocr_available
from tests.conftest import CONF_DIR, ROOT
from tests.tiny_artifacts import save_tiny_vae, tiny_text_edit_export

pytestmark = pytest.mark.skipif(not ocr_available(), reason="tesseract not installed")

FILES = ("metrics.json", "metrics.md", "samples.csv", "samples.jsonl")
SMALL_PAGES = ["data.page.width=600", "data.page.height=700", "data.page.scan.enabled=false"]


def compose_eval(overrides: list[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="evaluate", overrides=["progress=false", *overrides])


@pytest.fixture(scope="module")
def vae_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_vae(tmp_path_factory.mktemp("vae") / "vae")


@pytest.fixture(scope="module")
def text_edit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random text-edit export (no training): the unet_inpaint models at 32 pixels."""
    return tiny_text_edit_export(tmp_path_factory.mktemp("text_edit"))


def load(out: Path) -> dict:
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == sorted(FILES)
    return json.loads((out / "metrics.json").read_text())


# --------------------------------------------------------------------------- vae
def test_vae_writes_metrics_per_height_bucket(vae_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "vae_eval"
    cfg = compose_eval(["task=vae", f"model.path={vae_dir}", "n=5", "batch_size=2", "data.crop_size=32",
                        "metrics.height_buckets=[8,12]", "data.synthetic.style.font_size=[8,14]", f"output={out}"])
    assert run(cfg) == 0
    summary = load(out)
    assert summary["task"] == "vae" and summary["n_samples"] == 5 and summary["n_failed"] == 0
    assert summary["lpips"]["backbone_weights"] == "random"
    assert summary["model"]["path"] == str(vae_dir) and summary["data"]["source"] == "synthetic"
    overall = summary["metrics"]["overall"]
    assert overall["n"] == 5 and 0 < overall["psnr"] < 60 and -1 <= overall["ssim"] <= 1 and overall["lpips"] > 0
    assert 0 <= overall["cer_original"] and 0 <= overall["word_acc_reconstruction"] <= 1
    buckets = summary["metrics"]["by_text_height"]
    assert list(buckets) == ["<8", "8-12", ">=12"] and sum(b["n"] for b in buckets.values()) == 5
    rows = (out / "samples.csv").read_text().splitlines()
    assert len(rows) == 6 and "text" in rows[0].split(",")  # synthetic texts may be written
    printed = capsys.readouterr().out
    assert "| text height (px) | n | PSNR |" in printed and "| all | 5 |" in printed
    assert (out / "metrics.md").read_text().count("| all |") == 1


def test_vae_api_reconstructs_and_counts_a_failing_sample(vae_dir: Path, monkeypatch) -> None:
    from anonymizer.evaluation import vae as ev
    from anonymizer.metrics.image_quality import psnr

    model = ev.load_autoencoder(str(vae_dir))
    samples = ev.synthetic_vae_samples(3, 0, 32, {"style": {"font_size": [8, 14]}})
    assert len(samples) == 3 and all(s.text and s.height > 0 for s in samples)
    calls = []

    def flaky(image, box, pad, upscale):
        calls.append(box)
        if len(calls) == 1:
            raise RuntimeError("tesseract crashed")
        return "x"

    monkeypatch.setattr(ev, "ocr_box", flaky)
    results = ev.evaluate_vae(model, samples, None, [10], batch_size=2)
    assert [r.error for r in results] == ["OCR failed (RuntimeError)", None, None]
    assert results[1].psnr == pytest.approx(psnr(results[1].reconstruction, results[1].original)[0])
    groups = ev.summarize_vae(results, [10])
    assert groups["all"]["n"] == 2 and groups["all"]["lpips"] is None
    evaluation = ev.vae_evaluation(results, [10], {}, with_text=False)
    assert evaluation.summary["n_failed"] == 1 and "text" not in evaluation.samples[0]
    assert groups["all"]["cer_original"] is not None
    unread = ev.evaluate_vae(model, samples[1:], None, [10], batch_size=2, ocr=False)
    assert ev.summarize_vae(unread, [10], ocr=True)["all"]["cer_original"] is None  # n/a, not 0.0


# --------------------------------------------------------------------------- text edit
def test_text_edit_writes_files_and_an_offline_wandb_run(text_edit_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    out = tmp_path / "te_eval"
    cfg = compose_eval(["task=text_edit", f"model.path={text_edit_dir}", "n=2", "sampling.num_inference_steps=1",
                        "data.source_size=64", "logger=wandb", f"output={out}"])
    assert run(cfg) == 0
    summary = json.loads((out / "metrics.json").read_text())
    overall = summary["metrics"]["overall"]
    assert summary["task"] == "text_edit" and overall["n"] == 2
    assert overall["unchanged_outside"] == 1.0 and overall["unchanged_outside_min"] == 1.0
    assert overall["region_psnr"] > 0 and 0 <= overall["ned_score_edit"] <= 1
    assert summary["model"]["mask_margin"] == 2 and summary["lpips"]["backbone_weights"] == "random"
    if overall["ocr_cer"] is not None:
        assert overall["glyph_effect"] == pytest.approx(overall["ocr_cer_shuffled"] - overall["ocr_cer"])
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["target"] != r["text"] for r in rows)
    runs = list((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    media = runs[0] / "files" / "media"
    assert list((media / "table").glob("samples_*.table.json"))
    assert list((media / "table" / "plots").glob("ned_score_edit_*.table.json"))
    assert len(list((media / "images").glob("*.png"))) == 2


def test_text_edit_on_plain_strings(text_edit_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "plain"
    cfg = compose_eval(["task=text_edit", f"model.path={text_edit_dir}", "n=2", "sampling.num_inference_steps=1",
                        "data.source_size=48", "data.plain={chars: [2, 2], font_size: [16, 16]}", f"output={out}"])
    assert run(cfg) == 0
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["data"]["source"] == "plain" and summary["metrics"]["overall"]["n"] == 2
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    for row in rows:
        assert row["text"].isdigit() and row["target"].isdigit() and len(row["text"]) == len(row["target"]) == 2
        assert row["text"] != row["target"]


def test_text_edit_glyph_effect_is_zero_for_a_model_that_ignores_its_glyph() -> None:
    from anonymizer.evaluation.text_edit import TextEditResult, summarize_text_edit

    def result(text: str, target: str, recon: str, edit: str) -> TextEditResult:
        return TextEditResult(
            "s", 12.0, "all", text, target, ocr_original=text, ocr_reconstruction=recon, ocr_edit=edit
        )

    writes = [result("1234", "5678", "1234", "5678"), result("ab", "cd", "ab", "cd")]
    ignores = [result("1234", "5678", "1239", "1239"), result("ab", "cd", "xb", "xb")]
    follows = summarize_text_edit(writes, [10])["all"]
    assert follows["ocr_cer"] == 0.0 and follows["ocr_cer_shuffled"] == 1.0 and follows["glyph_effect"] == 1.0
    assert follows["sentence_acc_reconstruction"] == 1.0 and follows["sentence_acc_shuffled"] == 0.0
    blind = summarize_text_edit(ignores, [10])["all"]
    assert blind["ocr_cer"] == blind["ocr_cer_shuffled"] == pytest.approx(2 / 6) and blind["glyph_effect"] == 0.0


# --------------------------------------------------------------------------- anonymize
def sensitive_values(n: int, seed: int, overrides: dict) -> list[str]:
    from anonymizer.data.synth_pages import PageConfig, generate_page

    config = PageConfig.from_mapping(overrides)
    values = []
    for index in range(n):
        _, record = generate_page(index, seed, config)
        for e in record.entities:
            if e.sensitive:
                lines: dict = {}
                for i in e.words:
                    lines.setdefault(record.words[i].line, []).append(record.words[i].text)
                values += [" ".join(t) for t in lines.values()]
    return [v for v in values if len(v) >= 4]


def test_anonymize_writes_counts_and_never_a_value(tmp_path: Path, capsys, caplog) -> None:
    out = tmp_path / "anon_eval"
    cfg = compose_eval(["n=2", f"output={out}", *SMALL_PAGES])
    assert run(cfg) == 0
    summary = load(out)
    overall = summary["metrics"]["overall"]
    by_type = summary["metrics"]["by_entity_type"]
    assert summary["task"] == "anonymize" and summary["renderer"] == "classical" and overall["pages"] == 2
    assert overall["leaked"] == sum(v["leaked"] for v in by_type.values())
    assert overall["readable_in_input"] == sum(v["readable_in_input"] for v in by_type.values())
    for key in ("leak_rate", "detection_recall", "detection_precision", "non_sensitive_word_recall",
                "surrogate_readback_rate", "surrogate_cer"):
        assert 0 <= overall[key] <= 1, key
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["s0-000000-form", "s0-000001-letter"]
    assert set((out / "samples.csv").read_text().splitlines()[0].split(",")).isdisjoint({"text", "surrogate"})
    # privacy: no original value in any written file, the console or the logs
    values = sensitive_values(2, 0, {"width": 600, "height": 700, "scan": {"enabled": False}})
    assert len(values) > 5
    captured = capsys.readouterr()
    haystacks = [p.read_text() for p in out.iterdir()] + [captured.out, captured.err, caplog.text]
    assert "leak rate" in captured.out
    for value in values:
        for text in haystacks:
            assert value not in text


def test_cli_on_page_records_counts_a_missing_page(tmp_path: Path) -> None:
    from anonymizer.core.records import read_records, write_records
    from anonymizer.data.synth_pages import PageConfig, write_pages

    config = PageConfig(width=600, height=700, kinds={"form": 1.0}, scan={"enabled": False})
    write_pages(1, tmp_path / "pages", seed=3, config=config)
    records, _ = read_records(tmp_path / "pages" / "records.jsonl")
    missing = records[0]
    missing.id, missing.image = "gone", "images/gone.png"
    write_records(tmp_path / "pages" / "two.jsonl", [read_records(tmp_path / "pages" / "records.jsonl")[0][0], missing])
    work = tmp_path / "cwd"
    work.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "anonymizer.evaluate", "task=anonymize", "n=5",
                           f"data.records={tmp_path / 'pages' / 'two.jsonl'}", f"output={tmp_path / 'out'}"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = load(tmp_path / "out")
    assert summary["data"]["source"] == "records" and summary["n_samples"] == 2 and summary["n_failed"] == 1
    assert any("gone.png" in reason for reason in summary["failures"])
    assert summary["metrics"]["overall"]["pages"] == 1 and summary["metrics"]["overall"]["entities"] > 0
    assert "| **all** |" in proc.stdout
    assert list(work.iterdir()) == []  # nothing written into the working directory


def test_hand_marked_pages_report_coverage_per_scope(tmp_path: Path, capsys) -> None:
    """A ``truth.json`` folder (the real-page development set's layout) is read directly; the
    report has coverage, pixels changed outside, plain words and a personal-values section."""
    from PIL import Image, ImageDraw, ImageFont

    folder = tmp_path / "real"
    (folder / "pages").mkdir(parents=True)
    image = Image.new("RGB", (700, 260), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype("DejaVuSans.ttf", 26)
    draw.text((20, 20), "Email: quorbin.velask@example.org", fill="black", font=font)
    draw.text((20, 90), "Phone: (212) 555-0187", fill="black", font=font)
    draw.text((20, 160), "Thank you for your order", fill="black", font=font)
    image.save(folder / "pages" / "p.png")
    email = draw.textbbox((105, 20), "quorbin.velask@example.org", font=font)
    phone = draw.textbbox((112, 90), "(212) 555-0187", font=font)
    truth = {"pages": {"p.png": {
        "sensitive": [{"value": "quorbin.velask@example.org", "type": "EMAIL_ADDRESS", "scope": "personal",
                       "boxes": [list(email)]},
                      {"value": "(212) 555-0187", "type": "PHONE_NUMBER", "scope": "business", "boxes": [list(phone)]}],
        "plain": ["Thank", "order"]}}}
    (folder / "truth.json").write_text(json.dumps(truth))
    out = tmp_path / "out"
    assert run(compose_eval([f"data.records={folder}", "n=5", f"output={out}"])) == 0
    metrics = load(out)["metrics"]
    overall, personal = metrics["overall"], metrics["personal"]["overall"]
    assert overall["entities"] == 2 and personal["entities"] == 1
    assert overall["covered"] == 2 and overall["coverage"] == 1.0  # both replaced (email and phone patterns)
    assert overall["plain_words_kept"] == 1.0 and overall["plain_words_read_in_input"] == 2
    assert 0 <= overall["pixels_changed_outside"] < 0.002
    shown = capsys.readouterr().out
    assert "coverage of personal values" in shown and "Per entity type (personal values)" in shown
    assert "quorbin" not in shown and "555-0187" not in shown


# --------------------------------------------------------------------------- usage errors
def test_missing_model_path_is_a_usage_error_on_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "anonymizer.evaluate", "task=vae", f"output={tmp_path / 'o'}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: model.path is required for task=vae; usage: python -m anonymizer.evaluate task=vae "
        "model.path=<AutoencoderKL folder or hub id> [model.subfolder=vae]"]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["n=0"], "n must be an integer >= 1"),
        (["task=vae", "model.path=/x", "metrics.height_buckets=[16,12]"], "strictly increasing"),
        (["task=vae", "model.path={tmp}/nowhere"], "model.path=.*nowhere: no such folder"),
        (["task=vae", "model.path={tmp}"], "not a diffusers AutoencoderKL folder"),
        (["task=vae", "model.path={tmp}", "batch_size=0"], "batch_size must be"),
        (["task=text_edit", "model.path={tmp}"], "cannot load a text-edit export|not a text-edit export"),
        (["data.records={tmp}/none.jsonl"], "data.records=.*none.jsonl: no such file"),
        (["metrics.iou=2"], r"metrics.iou must be a number in \[0.0, 1.0\]"),
        (["+data.page.colour=red"], "data.page"),
        (["log_images=-1"], "log_images"),
    ],
)
def test_bad_settings_exit_2_with_one_line(overrides: list[str], message: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    cfg = compose_eval([o.replace("{tmp}", str(tmp_path)) for o in overrides] + [f"output={out}"])
    assert run(cfg) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    import re

    assert re.search(message, err[0]), err[0]
    assert not out.exists()


def test_existing_results_are_never_overwritten(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    assert run(compose_eval(["n=1", f"output={out}"])) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert (out / "metrics.json").read_text() == "{}"


def test_page_records_feed_vae_and_text_edit_without_writing_texts(vae_dir: Path, text_edit_dir: Path,
                                                                   tmp_path: Path) -> None:
    from anonymizer.core.records import read_records
    from anonymizer.data.synth_pages import PageConfig, write_pages
    from anonymizer.evaluation.text_edit import load_text_edit, record_text_edit_samples
    from anonymizer.evaluation.vae import record_vae_samples

    write_pages(1, tmp_path / "pages", seed=1, config=PageConfig(width=600, height=700, scan={"enabled": False}))
    file = tmp_path / "pages" / "records.jsonl"
    records, _ = read_records(file)
    crops, failed = record_vae_samples(records, 3, 0, 64)
    assert len(crops) == 3 and failed == 0
    for s in crops:
        assert s.text and 0 < s.box[0] < s.box[2] < 64 and 0 < s.box[1] < s.box[3] < 64 and s.height >= 4
    pipe = load_text_edit(str(text_edit_dir))
    edits, failed = record_text_edit_samples(pipe, records, 2, 0, only_sensitive=True)
    assert len(edits) == 2 and failed == 0 and all(e.target != e.text for e in edits)
    sensitive = {records[0].words[i].text for i in records[0].sensitive_words()}
    assert all(set(e.text.split()) <= sensitive for e in edits)
    out = tmp_path / "out"
    cfg = compose_eval(["task=vae", f"model.path={vae_dir}", "n=2", f"data.records={file}", f"output={out}"])
    assert run(cfg) == 0
    summary = load(out)
    assert summary["data"]["source"] == "records" and summary["texts_written"] is False
    header = (out / "samples.csv").read_text().splitlines()[0].split(",")
    assert not {"text", "ocr_original", "ocr_reconstruction"} & set(header)
    words = {w.text for w in records[0].words if len(w.text) >= 6}
    written = "".join(p.read_text() for p in out.iterdir())
    assert not any(w in written for w in words)


def test_notebook_api_for_one_page() -> None:
    from anonymizer.evaluation.anonymize import (
        CachedOcr,
        build_anonymizer,
        evaluate_page,
        summarize_anonymize,
        synthetic_pages,
    )
    from anonymizer.pipeline.overlay import draw_audit

    anonymizer, cfg = build_anonymizer(["renderer=redact"])
    assert cfg.renderer.name == "redact"
    spec = {"width": 600, "height": 700, "kinds": {"form": 1.0}, "scan": {"enabled": False}}
    page = next(synthetic_pages(1, 2, spec))
    result = evaluate_page(anonymizer, page)
    assert isinstance(anonymizer.page_anonymizer.ocr, CachedOcr) and result.error is None
    assert result.output.size == page.image.size and result.audit["entities"]
    assert sum(result.score.entities.values()) == sum(e.sensitive for e in page.record.entities)
    assert result.score.surrogates == {}  # redact draws no text: nothing to read back
    assert summarize_anonymize([result])["overall"]["pages"] == 1
    assert draw_audit(result.output, result.audit).size == page.image.size
