"""``python -m anonymizer.anonymize engine.workers=2``: documents on two worker processes.

The outputs are pixel-identical to one process's and the audits and manifest equal (timings
aside), a corrupt file fails alone, nothing original is printed, bad values of
``engine.workers`` are refused before any work, and a worker that dies fails only what it
left undone.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from anonymizer.anonymize import DOCUMENT_PROCESS, anonymize_document, run
from anonymizer.core.entry import FAILED, USAGE
from anonymizer.core.text import nfkc_casefold_alnum
from anonymizer.data.synth_pages import generate_page
from anonymizer.metrics.legibility import ocr_available
from anonymizer.pipeline.audit import AUDIT_SUFFIX
from anonymizer.pipeline.process_pool import WorkerStopped, run_pool
from tests.batch_corpus import DOCUMENTS, FORMS, assert_same_pages, manifest, without_timings, write_batch
from tests.test_anonymize import compose_anonymize, entity_values

pytestmark = [pytest.mark.timeout(300), pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed")]

SECRET = "workers-test-secret-91d2"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    """The batch (tests/batch_corpus.py) and its pages' records."""
    root = tmp_path_factory.mktemp("workers_in")
    return root, write_batch(root, 31)


@pytest.fixture(scope="module")
def runs(corpus, tmp_path_factory: pytest.TempPathFactory):
    """One process and two workers over the corpus, the secret set: ``{name: (out, code, printed)}``."""
    root, _ = corpus
    base = tmp_path_factory.mktemp("workers_out")
    saved = os.environ.get("ANONYMIZER_SECRET")
    os.environ["ANONYMIZER_SECRET"] = SECRET  # the workers inherit it
    try:
        results = {}
        for name, extra in (("one", []), ("two", ["engine.workers=2"])):
            out = base / name
            buffer = io.StringIO()
            handler = logging.StreamHandler(buffer)
            logging.getLogger().addHandler(handler)
            try:
                with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                    code = run(compose_anonymize([f"input={root}", f"output={out}", *extra]))
            finally:
                logging.getLogger().removeHandler(handler)
            results[name] = out, code, buffer.getvalue()
    finally:
        if saved is None:
            os.environ.pop("ANONYMIZER_SECRET", None)
        else:
            os.environ["ANONYMIZER_SECRET"] = saved
    return results


def test_two_workers_write_the_same_pixels_audits_and_manifest(corpus, runs) -> None:
    (one, one_code, _), (two, two_code, _) = runs["one"], runs["two"]
    assert one_code == two_code == FAILED  # the corrupt file
    assert_same_pages(corpus[0], one, two)
    for name in DOCUMENTS:
        audits = [json.loads((out / (name + AUDIT_SUFFIX)).read_text()) for out in (one, two)]
        assert without_timings(audits[0]) == without_timings(audits[1]), name
        assert audits[1]["status"] == ("failed" if name == "bad.png" else "ok")
    assert [r["document"] for r in manifest(two)] == DOCUMENTS  # in the inputs' order
    assert [without_timings(r) for r in manifest(one)] == [without_timings(r) for r in manifest(two)]


def test_nothing_original_is_printed_by_the_workers_run(corpus, runs) -> None:
    printed = runs["two"][2]
    assert "3 done, 1 failed" in " ".join(printed.split())
    values = {v for r in corpus[1] for _, v in entity_values(r) if len(nfkc_casefold_alnum(v)) >= 5}
    assert values and not [v for v in values if v in printed]
    assert SECRET not in printed


@pytest.mark.parametrize("value, message", [
    ("0", "engine.workers must be an integer in [1, 256], got 0"),
    ("-2", "engine.workers must be an integer in [1, 256], got -2"),
    ("two", "engine.workers must be an integer in [1, 256], got 'two'"),
    ("100000", "engine.workers must be an integer in [1, 256], got 100000"),
    ("1.5", "engine.workers must be an integer in [1, 256], got 1.5"),
])
def test_bad_worker_counts_are_refused_before_any_work(tmp_path: Path, value: str, message: str, capsys) -> None:
    src = tmp_path / "in"
    src.mkdir()
    generate_page(0, 1, FORMS)[0].save(src / "a.png")
    assert run(compose_anonymize([f"input={src}", f"output={tmp_path / 'out'}", f"engine.workers={value}"])) == USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "out").exists()


def die_on_marked(path: Path, target: Path, pipeline: Any, cfg: Any) -> Any:
    """A document function whose worker dies on files named ``die*`` (as if killed)."""
    if path.name.startswith("die"):
        os._exit(9)
    return anonymize_document(path, target, pipeline, cfg)


def test_a_worker_that_dies_fails_only_what_was_left_undone(corpus, tmp_path: Path) -> None:
    root = corpus[0]
    (tmp_path / "die.png").write_bytes((root / "form0.png").read_bytes())
    items = [(root / "form0.png", tmp_path / "out" / "a.png"), (tmp_path / "die.png", tmp_path / "out" / "die.png"),
             (root / "sub" / "form1.png", tmp_path / "out" / "b.png")]
    (tmp_path / "out").mkdir()
    plain = OmegaConf.to_container(compose_anonymize([f"input={root}", f"output={tmp_path / 'out'}"]), resolve=True)
    results = list(run_pool(items, plain, f"{__name__}:die_on_marked", 2))
    assert sorted(i for i, _ in results) == [0, 1, 2]  # every document answered once
    by_index = dict(results)
    assert isinstance(by_index[1], WorkerStopped) and "a worker process stopped" in str(by_index[1])
    for i in (0, 2):  # done before the death, or left undone by it: never half-written
        assert isinstance(by_index[i], WorkerStopped) or by_index[i].status == "ok"
        if isinstance(by_index[i], WorkerStopped):
            assert not items[i][1].exists()
    assert not (tmp_path / "out" / "die.png").exists()
    assert not list((tmp_path / "out").glob("*.part"))


def test_no_documents_start_no_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    import anonymizer.pipeline.process_pool as pool

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a pool was started for nothing")

    monkeypatch.setattr(pool, "ProcessPoolExecutor", refuse)
    assert list(run_pool([], {}, DOCUMENT_PROCESS, 2)) == []


def test_remove_unpublished_removes_only_the_targets_temporary_files(tmp_path: Path) -> None:
    from anonymizer.core.outputs import remove_unpublished

    target = tmp_path / "scan [1].png"  # glob characters in the name
    target.write_bytes(b"published")
    mine = [tmp_path / ".scan [1].png.x1y2_3ab.part", tmp_path / ".scan [1].png.z9z9z9z9.part"]
    others = [tmp_path / ".scan 1.png.a1b2c3d4.part", tmp_path / ".scan [1].png.audit.json.b2b2b2b2.part",
              tmp_path / ".scan [1].png.png.abcdefgh.part", tmp_path / ".scan [1].png.short.part", tmp_path / "x.part"]
    for p in mine + others:
        p.write_bytes(b"partial")
    assert remove_unpublished(target) == 2
    assert target.read_bytes() == b"published"
    assert not any(p.exists() for p in mine) and all(p.exists() for p in others)
