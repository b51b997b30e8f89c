"""``python -m anonymizer.anonymize engine=ray`` on one local Ray (2 CPUs, loopback, no
dashboard) started once for the module: the outputs are pixel-identical to the local
engine's and the audits equal (timings aside), a corrupt file fails alone, a rerun skips
what is done, the manifest lists every document, and neither the surrogate secret nor an
original value reaches Ray's session logs.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from anonymizer.anonymize import run
from anonymizer.core.entry import FAILED, USAGE
from anonymizer.core.text import nfkc_casefold_alnum
from anonymizer.metrics.legibility import ocr_available
from anonymizer.pipeline.audit import AUDIT_SUFFIX
from anonymizer.pipeline.corpus import MANIFEST_NAME, Job, fetch, list_url_documents, plan_jobs, publish
from tests.batch_corpus import DOCUMENTS, assert_same_pages, digest, manifest, without_timings, write_batch
from tests.test_anonymize import compose_anonymize, entity_values

ray = pytest.importorskip("ray", reason='engine=ray needs the ray extra: pip install -e ".[ray]"')
pytestmark = [pytest.mark.timeout(300), pytest.mark.skipif(not ocr_available(), reason="tesseract is not installed")]

SECRET = "ray-test-secret-5f1c9a"  # a test value, looked for in Ray's logs


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (2 CPUs, loopback, no dashboard); its workers inherit the
    secret from this process's environment. Yields Ray's temp folder (its session logs)."""
    saved = os.environ.get("ANONYMIZER_SECRET")
    os.environ["ANONYMIZER_SECRET"] = SECRET
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", _temp_dir=str(temp),
             logging_level="WARNING", log_to_driver=False)
    try:
        yield temp
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
        if saved is None:
            os.environ.pop("ANONYMIZER_SECRET", None)
        else:
            os.environ["ANONYMIZER_SECRET"] = saved


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    """The batch (tests/batch_corpus.py) and its pages' records."""
    root = tmp_path_factory.mktemp("ray_in")
    return root, write_batch(root, 23)


@pytest.fixture(scope="module")
def runs(local_ray, corpus, tmp_path_factory: pytest.TempPathFactory):
    """The local engine and engine=ray (2 actors) over the corpus: ``{engine: (out, code)}``."""
    root, _ = corpus
    base = tmp_path_factory.mktemp("ray_out")
    before = digest(root)
    results = {}
    for engine, extra in (("local", []), ("ray", ["engine=ray", "engine.num_actors=2"])):
        out = base / engine
        results[engine] = out, run(compose_anonymize([f"input={root}", f"output={out}", *extra]))
    assert digest(root) == before  # inputs untouched
    return results


def test_ray_outputs_are_pixel_identical_to_the_local_engine(corpus, runs) -> None:
    (local, local_code), (remote, ray_code) = runs["local"], runs["ray"]
    assert local_code == ray_code == FAILED  # the corrupt file
    assert_same_pages(corpus[0], local, remote)


def test_ray_audits_equal_the_local_engine_and_the_corrupt_file_fails_alone(runs) -> None:
    local, remote = runs["local"][0], runs["ray"][0]
    for name in DOCUMENTS:
        audits = [json.loads((out / (name + AUDIT_SUFFIX)).read_text()) for out in (local, remote)]
        assert without_timings(audits[0]) == without_timings(audits[1]), name
        assert audits[1]["status"] == ("failed" if name == "bad.png" else "ok")
        assert audits[1]["consistent_across_documents"] is True
    assert not (remote / "bad.png").exists()
    rows = {r["document"]: r for r in manifest(remote)}
    assert sorted(rows) == DOCUMENTS
    assert rows["bad.png"]["status"] == "failed" and rows["bad.png"]["reason"]
    assert rows["scan.pdf"]["pages"] == 2 and rows["scan.pdf"]["entities"]
    assert [without_timings(r) for r in manifest(local)] == [without_timings(r) for r in manifest(remote)]


def test_a_rerun_over_urls_skips_what_is_done_and_retries_the_failure(corpus, runs, capsys) -> None:
    root, remote = corpus[0], runs["ray"][0]
    before, rows = digest(remote), manifest(remote)
    capsys.readouterr()
    code = run(compose_anonymize(["engine=ray", f"input={root.as_uri()}", f"output={remote.as_uri()}"]))
    assert code == FAILED  # the corrupt file, tried again
    printed = capsys.readouterr().out
    assert "0 done, 1 failed, 3 skipped (output exists)" in " ".join(printed.split())
    after = digest(remote)
    retried = {"bad.png" + AUDIT_SUFFIX, MANIFEST_NAME}  # rewritten (the failure's timing)
    assert {k: v for k, v in after.items() if k not in retried} == {k: v for k, v in before.items() if k not in retried}
    assert json.loads((remote / ("bad.png" + AUDIT_SUFFIX)).read_text())["status"] == "failed"
    assert [without_timings(r) for r in manifest(remote)] == [without_timings(r) for r in rows]
    assert not list(remote.rglob("*.part"))


def test_the_secret_and_original_values_stay_out_of_ray_logs_and_the_manifest(local_ray, corpus, runs) -> None:
    values = {v for r in corpus[1] for _, v in entity_values(r) if len(nfkc_casefold_alnum(v)) >= 5}
    assert values
    texts = [(runs["ray"][0] / MANIFEST_NAME).read_bytes()]
    logs = [p for p in local_ray.rglob("*") if p.is_file() and not p.is_socket()]
    assert any("logs" in p.parts for p in logs)
    texts += [p.read_bytes() for p in logs if p.stat().st_size < 50_000_000]
    assert not any(SECRET.encode() in t for t in texts)
    leaked = [v for v in values if any(v.encode() in t for t in texts)]
    assert not leaked, f"{len(leaked)} original values in Ray's logs or the manifest"


def test_workers_without_the_drivers_secret_refuse_to_start(local_ray, corpus, tmp_path: Path, monkeypatch,
                                                            capsys) -> None:
    monkeypatch.setenv("DRIVER_ONLY_SECRET", "set-after-ray-started")  # Ray's workers do not have it
    overrides = ["engine=ray", "secret_env=DRIVER_ONLY_SECRET", f"input={corpus[0] / 'form0.png'}",
                 f"output={tmp_path / 'out'}"]
    assert run(compose_anonymize(overrides)) == USAGE
    err = capsys.readouterr().err
    assert "no surrogate secret: set DRIVER_ONLY_SECRET" in err and "set-after-ray-started" not in err
    assert not (tmp_path / "out" / "form0.png").exists()


def test_url_corpora_list_fetch_and_publish_without_overwriting(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "a").mkdir(parents=True)
    (src / "a" / "x.png").write_bytes(b"x")
    (src / "notes.txt").write_bytes(b"n")
    assert list_url_documents(src.as_uri(), out.as_uri()) == [("a/x.png", (src / "a" / "x.png").as_uri())]
    assert list_url_documents(src.as_uri(), out.as_uri(), recursive=False) == []
    with pytest.raises(ValueError, match="inside the input folder"):
        list_url_documents(src.as_uri(), (src / "a" / "out").as_uri())
    local = fetch((src / "a" / "x.png").as_uri(), tmp_path / "cache")
    assert local.read_bytes() == b"x"
    publish(local, (out / "a" / "x.png").as_uri(), overwrite=False)
    with pytest.raises(FileExistsError):
        publish(local, (out / "a" / "x.png").as_uri(), overwrite=False)
    assert sorted(p.name for p in (out / "a").iterdir()) == ["x.png"]  # no temporary file left
    (out / "b.png.audit.json").write_text(json.dumps({"schema": "anonymizer.audit/1", "status": "failed"}))
    (out / "c.png.audit.json").write_text(json.dumps({"schema": "anonymizer.audit/1", "status": "ok"}))
    jobs = [Job(d, "s", str(out / d)) for d in ("a/x.png", "b.png", "c.png", "d.png")]
    todo, kept = plan_jobs(jobs, str(out), overwrite=False)
    assert [(j.document, j.replace_audit) for j in todo] == [("b.png", True), ("d.png", False)]
    assert [j.document for j in kept] == ["a/x.png", "c.png"]
    assert len(plan_jobs(jobs, out.as_uri(), overwrite=True)[0]) == 4


@pytest.mark.parametrize("overrides, message", [
    (["engine=ray", "engine.num_actors=0"], "engine.num_actors must be an integer >= 1"),
    (["engine=ray", "engine.gpus_per_actor=-1"], "engine.gpus_per_actor must be a number >= 0"),
    (["engine.name=spark"], "engine.name must be one of ['local', 'ray']"),
    (["input=s3://bucket/scans"], "input and output URLs need engine=ray"),
    (["engine=ray", "input={src_url}", "output={src}/out"], "is inside the input folder"),
])
def test_engine_options_and_urls_are_checked_before_any_work(tmp_path: Path, overrides, message, capsys) -> None:
    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (40, 20), "white").save(src / "a.png")
    overrides = [o.format(src=src, src_url=src.as_uri()) for o in overrides]
    keys = {o.split("=")[0] for o in overrides}
    args = [a for a in (f"input={src}", f"output={tmp_path / 'out'}") if a.split("=")[0] not in keys] + overrides
    assert run(compose_anonymize(args)) == USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "out").exists() and not (src / "out").exists()
