"""The layout-aware PII tagger: features and noise, DataModule, module, exact resume, export
round trip with numpy parity, the Hydra command, detection merge rules, evaluation, privacy."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from anonymizer.core.records import Entity, PageRecord, Word, write_records
from anonymizer.core.word_features import IGNORE, TAGS, decode_spans, tag_id
from anonymizer.data.ocr_noise import NoiseConfig, add_ocr_noise
from anonymizer.data.tagger_datamodule import PiiTaggerDataModule
from anonymizer.data.tagger_pages import collate_pages, encode_page, record_words
from anonymizer.models.export import export_pii_tagger
from anonymizer.models.pii_tagger_module import PiiTaggerModule
from anonymizer.models.pii_tagger_net import TaggerNet
from anonymizer.pipeline.page_text import build_page_text
from anonymizer.pipeline.tagger import SHIPPED, PiiTagger, TaggedSpan, tagger_detections
from anonymizer.store.manifest import verify_manifest
from anonymizer.train import train
from tests.conftest import compose_train

TINY = ["logger=csv", "data.synthetic.train_pages=4", "data.synthetic.val_pages=2", "data.synthetic.train_size=16",
        "data.batch_size=2", "data.max_words=40", "model.net.d_model=16", "model.net.char_channels=8",
        "model.net.ffn=16", "model.net.heads=2", "model.net.layers=1", "trainer.max_steps=4",
        "trainer.val_check_interval=2", "callbacks.image_logger.every_n_steps=0"]
SECRET = "Zebulon"


def _record() -> PageRecord:
    """A tiny labelled page: a KEY, a person and a card number, a FUNSD-style answer."""
    texts = ["Name:", SECRET, "Quigley", "Card", "4111", "1111", "1111", "1111", "Remarks", "none"]
    words = [Word(t, (10 + 60 * (i % 5), 20 + 30 * (i // 5), 60 + 60 * (i % 5), 36 + 30 * (i // 5)), line=i // 5)
             for i, t in enumerate(texts)]
    entities = [Entity("KEY", (0,)), Entity("PERSON", (1, 2), sensitive=True),
                Entity("CREDIT_CARD", (4, 5, 6, 7), sensitive=True), Entity("answer", (9,))]
    return PageRecord(id="p0", image="p0.png", width=400, height=100, words=words, entities=entities)


def _tiny_net(layout: bool = True) -> TaggerNet:
    torch.manual_seed(0)
    net = TaggerNet(d_model=16, char_channels=8, ffn=16, layers=2, heads=2, layout=layout).eval()
    for p in net.parameters():
        p.data.normal_(0, 0.3)
    return net


# ------------------------------------------------------------------ features and data
def test_record_words_give_bio_tags_and_ignore_unknown_values() -> None:
    enc = encode_page(record_words(_record()))
    tags = [TAGS[t] if t != IGNORE else "?" for t in enc["labels"]]
    assert tags == ["B-KEY", "B-PERSON", "I-PERSON", "O", "B-CREDIT_CARD", "I-CREDIT_CARD", "I-CREDIT_CARD",
                    "I-CREDIT_CARD", "O", "?"]
    assert decode_spans([tag_id("PERSON", True), tag_id("PERSON", False), 0]) == [("PERSON", 0, 2)]
    # a span never crosses a line
    assert decode_spans([tag_id("PERSON", True), tag_id("PERSON", False)], [0, 1]) == [("PERSON", 0, 1),
                                                                                       ("PERSON", 1, 2)]


def test_ocr_noise_keeps_every_label_and_is_deterministic() -> None:
    words = record_words(_record())
    cfg = NoiseConfig(substitute=0.3, drop_punct=1.0, split=0.5, merge=0.5, case=0.2)
    a = add_ocr_noise(words, random.Random(1), cfg)
    assert a == add_ocr_noise(words, random.Random(1), cfg)
    assert {w[3] for w in a} == {w[3] for w in words}  # no entity lost or invented
    assert not any(w[0].endswith(":") for w in a)  # punctuation dropped


def test_distractor_lines_are_outside_entities_and_keep_the_page() -> None:
    from anonymizer.data.tagger_pages import add_distractors

    words = record_words(_record())
    out = add_distractors(words, random.Random(3), 2)
    added = [w for w in out if w not in words and (w[0], w[3]) not in {(v[0], v[3]) for v in words}]
    assert added and all(w[3] is None for w in added)
    kept = [(w[0], w[3]) for w in out if (w[0], w[3]) in {(v[0], v[3]) for v in words}]
    assert kept == [(w[0], w[3]) for w in words]  # every word and label, in reading order
    assert len({w[2] for w in out}) > len({w[2] for w in words})


def test_datamodule_batches_are_padded_and_deterministic() -> None:
    dm = PiiTaggerDataModule(batch_size=2, max_words=40, synthetic={"train_pages": 3, "val_pages": 2,
                                                                    "train_size": 6}, noise={})
    dm.setup()
    assert len(dm.train_set) == 6 and len(dm.val_set) == 2
    a, b = dm.train_set[4], dm.train_set[4]
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert len(a["labels"]) <= 40
    batch = collate_pages([dm.train_set[0], dm.train_set[1]])
    assert batch["chars"].shape[:2] == batch["mask"].shape == batch["labels"].shape
    assert (batch["labels"][~batch["mask"]] == IGNORE).all()
    assert dm.class_counts(2).sum() > 0
    with pytest.raises(ValueError, match="data.synthetic has unknown keys"):
        PiiTaggerDataModule(synthetic={"pages": 3})


def test_module_step_and_validation_scores() -> None:
    module = PiiTaggerModule(net={"d_model": 16, "char_channels": 8, "ffn": 16, "heads": 2, "layers": 1},
                             focal_gamma=2.0)
    batch = collate_pages([encode_page(record_words(_record()))] * 2)
    loss = module.loss(module(batch), batch["labels"])
    loss.backward()
    assert torch.isfinite(loss) and module.net.head.weight.grad is not None
    labels = batch["labels"][0].numpy()
    module.scores.update(labels, np.where(labels == IGNORE, 0, labels), batch["line_of"][0].numpy())
    scores = module.scores.compute()
    assert scores["f1"] == 1.0 and scores["f1/PERSON"] == 1.0 and "f1/KEY" in scores
    panels = module.log_images(batch, max_images=1)
    assert panels["truth"].shape == panels["predicted"].shape == (1, 3, 192, 192)


# --------------------------------------------------------- export and numpy parity
@pytest.mark.parametrize("layout", [True, False])
def test_export_round_trip_and_numpy_logits_match_torch(tmp_path: Path, layout: bool) -> None:
    net = _tiny_net(layout)
    out = export_pii_tagger(net.state_dict(), net.config.to_dict(), tmp_path / "t", {"f1": 0.5}, {"command": "x"})
    manifest = verify_manifest(out, kind="pii_tagger")
    assert {"model.safetensors", "config.json", "char_vocab.json", "labels.json", "metrics.json"} <= set(
        manifest["files"])
    tagger = PiiTagger.load(out)
    rng = np.random.default_rng(0)
    for n in (1, 7, 23):
        words = [("".join(rng.choice(list("aB3:@.é-€ Zx"), size=rng.integers(1, 25))).strip() or "x",
                  tuple(float(v) for v in (rng.uniform(0, 500), rng.uniform(0, 700))) + (0.0, 0.0), k // 4, None)
                 for k in range(n)]
        words = [(t, (x, y, x + 8 * len(t), y + rng.uniform(8, 20)), line, lab) for t, (x, y, _, _), line, lab in words]
        enc = encode_page(words)
        batch = collate_pages([enc])
        with torch.no_grad():
            expected = net(batch["chars"], batch["feats"], batch["pos"], batch["mask"])[0].numpy()
        np.testing.assert_allclose(tagger.logits(enc["chars"], enc["feats"], enc["pos"]), expected, atol=1e-4)


def test_pipeline_inference_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = ("import sys, anonymizer.pipeline.tagger as t; assert 'torch' not in sys.modules; "
            "assert 'lightning' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_shipped_tagger_is_complete_and_finds_a_labelled_name() -> None:
    verify_manifest(SHIPPED, kind="pii_tagger")
    metrics = json.loads((SHIPPED / "metrics.json").read_text())
    assert metrics["f1"] >= 0.95
    tagger = PiiTagger.load("shipped")
    texts = ["Employee", "Name:", "John", "Smith", "Date", "of", "birth:", "12/03/1980"]
    words = [Word(t, (20 + 70 * k, 40, 80 + 70 * k, 56), line=0) for k, t in enumerate(texts)]
    page = build_page_text(words)
    spans = {(s.label, s.words) for s in tagger.spans([w.text for w in words], [w.box for w in words], page.lines)}
    assert {("PERSON", (2, 3)), ("DATE_TIME", (7,))} <= spans


# ----------------------------------------------------------------- Hydra, resume
def test_fast_dev_run_of_the_hydra_recipe_exports_a_loadable_tagger(tmp_path: Path) -> None:
    summary = train(compose_train(tmp_path, TINY + ["debug=fdr"], experiment="pii_tagger"))
    export = Path(summary["export_dir"])
    verify_manifest(export, kind="pii_tagger")
    assert "f1" in json.loads((export / "metrics.json").read_text())
    assert PiiTagger.load(export).layers == 1
    assert list((tmp_path / "images").glob("confusion_step*.png"))


def test_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    from tests.test_resume import _assert_same_state, _load, _stop_at

    overrides = TINY + ["trainer.deterministic=true", "callbacks.model_checkpoint.every_n_train_steps=2",
                        "callbacks.export=null"]
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    train(compose_train(straight, overrides, experiment="pii_tagger"))
    with pytest.raises(SystemExit):
        train(compose_train(stopped, overrides + _stop_at(2), experiment="pii_tagger"))
    assert _load(stopped / "checkpoints" / "last.ckpt")["global_step"] == 2
    train(compose_train(stopped, overrides + ["ckpt_path=last"], experiment="pii_tagger"))
    a, b = _load(stopped / "checkpoints" / "last.ckpt"), _load(straight / "checkpoints" / "last.ckpt")
    _assert_same_state(a, b)
    torch.testing.assert_close(a["state_dict"]["class_weights"], b["state_dict"]["class_weights"])


# ------------------------------------------------------------- detection merge rules
class _FixedTagger(PiiTagger):
    """A tagger that returns the given spans (word indices into the page's words)."""

    def __init__(self, spans: list[TaggedSpan]) -> None:
        self._spans = spans

    def spans(self, texts: object, boxes: object, lines: object) -> list[TaggedSpan]:
        return self._spans


def _page(texts: list[str]):
    return build_page_text([Word(t, (10 + 70 * k, 10, 70 + 70 * k, 26), line=0) for k, t in enumerate(texts)])


def test_tagger_spans_become_detections_with_their_score() -> None:
    page = _page(["Name", SECRET, "Quigley"])
    tagger = _FixedTagger([TaggedSpan("KEY", (0,), 0.99), TaggedSpan("PERSON", (1, 2), 0.87)])
    (d,) = tagger_detections(tagger, page, [], None, 0.5)
    assert (d.entity_type, page.text[d.start:d.end], d.score, d.source) == ("PERSON", f"{SECRET} Quigley", 0.87,
                                                                           "pii_tagger")
    assert tagger_detections(tagger, page, [], None, 0.9) == []  # below the minimum score


def test_checksums_veto_impossible_cards_unless_a_label_says_so() -> None:
    from anonymizer.pipeline.page_text import Detection

    page = _page(["Card", "4111", "1111", "1111", "1112"])
    tagger = _FixedTagger([TaggedSpan("CREDIT_CARD", (1, 2, 3, 4), 0.9)])
    assert tagger_detections(tagger, page, [], None, 0.5) == []
    label = Detection("CREDIT_CARD", page.spans[1][0], page.spans[4][1], 0.65, "form_context")
    assert len(tagger_detections(tagger, page, [label], None, 0.5)) == 1
    valid = _page(["Card", "4111", "1111", "1111", "1111"])
    assert len(tagger_detections(tagger, valid, [], None, 0.5)) == 1


def test_labels_are_never_replaced() -> None:
    from anonymizer.pipeline.form_context import FormContext

    page = _page(["Name:", SECRET, "Quigley"])
    tagger = _FixedTagger([TaggedSpan("PERSON", (0, 1, 2), 0.9), TaggedSpan("PERSON", (0,), 0.9)])
    found = tagger_detections(tagger, page, [], FormContext(), 0.5)
    assert [page.text[d.start:d.end] for d in found] == [f"{SECRET} Quigley"]


# ------------------------------------------------------------- evaluation, privacy
def test_evaluate_task_pii_tagger_on_tiny_records(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from anonymizer.core.entry import CONF_DIR
    from anonymizer.evaluate import run

    net = _tiny_net()
    export = export_pii_tagger(net.state_dict(), net.config.to_dict(), tmp_path / "t", {}, {})
    records = tmp_path / "records.jsonl"
    second = _record()
    second.id = "p1"
    write_records(records, [_record(), second])
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="evaluate", overrides=[
            "task=pii_tagger", f"model.path={export}", f"data.records={records}", "n=2",
            f"output={tmp_path / 'out'}", "progress=false"])
    assert run(cfg) == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    # the card number is printed over two lines: one span per line
    assert metrics["metrics"]["support"] == {"CREDIT_CARD": 4, "KEY": 2, "PERSON": 2}
    written = "".join(p.read_text() for p in (tmp_path / "out").iterdir() if p.is_file())
    assert SECRET not in written and SECRET not in capsys.readouterr().out


def test_no_page_text_in_logs_or_errors(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    net = _tiny_net()
    export = export_pii_tagger(net.state_dict(), net.config.to_dict(), tmp_path / "t", {}, {})
    tagger = PiiTagger.load(export)
    page = _page(["Name:", SECRET, "Quigley", "4111"])
    tagger_detections(tagger, page, [], None, 0.0)
    module = PiiTaggerModule(net={"d_model": 16, "char_channels": 8, "ffn": 16, "heads": 2, "layers": 1})
    batch = collate_pages([encode_page(record_words(_record()))])
    module.loss(module(batch), batch["labels"])
    with pytest.raises(ValueError) as err:
        PiiTagger({"head.weight": np.zeros((3, 4))}, {"max_chars": 20, "features": 26, "rel_buckets_half": 8},
                  source=str(tmp_path))
    assert SECRET not in str(err.value) and SECRET not in caplog.text


def test_sweep_config_composes_over_the_recipe() -> None:
    from tests.test_sweeps import compose_with_hydra

    cfg = compose_with_hydra(["+experiment=pii_tagger", "hparams_search=pii_tagger_optuna"])
    assert cfg.optimized_metric == "val/f1" and str(getattr(cfg.hydra.sweeper.direction, "name",
                                                            cfg.hydra.sweeper.direction)) == "maximize"
    assert {"model.optimizer.lr", "model.net.layers"} <= set(cfg.hydra.sweeper.params)
    assert cfg.model.net.layout is True and cfg.data.synthetic.page.kinds == "all"


def test_the_pipeline_config_detects_with_the_shipped_tagger() -> None:
    from anonymizer.pipeline.detect import PiiDetector
    from anonymizer.pipeline.document import _plain, pipeline_config

    detect = dict(_plain(pipeline_config().detect))
    assert detect["tagger"] == "shipped"
    detector = PiiDetector(**detect)
    assert detector.tagger is not None and detector.tagger.layers >= 1
    texts = ["Employee", "Name:", "John", "Smith", "Date", "of", "birth:", "12/03/1980"]
    page, found = detector.detect_words([Word(t, (20 + 70 * k, 40, 80 + 70 * k, 56), line=0)
                                         for k, t in enumerate(texts)])
    assert {"PERSON", "DATE_TIME"} <= {d.entity_type for d in found}
    assert all("Name" not in page.text[d.start:d.end] for d in found)  # the label stays
