"""The model store against a real S3-compatible server (moto, on loopback) and a local folder."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from anonymizer.models.builders import build_autoencoder
from anonymizer.pipeline.render.diffusion import DiffusionRenderer
from anonymizer.pipeline.text_edit import TextEditPipeline
from anonymizer.store import resolve
from anonymizer.store.manifest import MANIFEST_NAME, ManifestError, read_manifest
from anonymizer.store.resolve import cache_path, resolve_model_path
from anonymizer.store.store import ModelStore, StoreError, StoreNameError, StoreNotFoundError
from tests.conftest import ROOT
from tests.test_manifest import WEIGHTS, text_edit_export, vae_export

SECRET = "s3cr3t-never-printed-0123456789"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def aws_env(tmp: Path) -> dict[str, str]:
    """Fake credentials and nothing that could reach a real AWS or instance metadata service."""
    return {
        "AWS_ACCESS_KEY_ID": "testing-key-id", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-credentials"),
        "AWS_CONFIG_FILE": str(tmp / "no-config"), "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard",
        "ANONYMIZER_CACHE": str(tmp / "cache"),
    }


@pytest.fixture
def s3(endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fresh bucket; the environment points botocore at the loopback server."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "ANONYMIZER_STORE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in aws_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    bucket = f"models-{uuid.uuid4().hex[:8]}"
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket=bucket)
    return {"endpoint": endpoint, "bucket": bucket, "store": f"s3://{bucket}/store"}


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("exports")
    return {"vae": vae_export(tmp / "vae"), "text_edit": text_edit_export(tmp / "text_edit")}


def closed_endpoint() -> str:
    """A loopback URL nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def same_files(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    return files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) and all(
        (a / f).read_bytes() == (b / f).read_bytes() for f in files
    )


def no_leftovers(folder: Path) -> bool:
    return not folder.exists() or not any(p.name.startswith(".") for p in folder.iterdir())


# ------------------------------------------------------------------------- S3 (moto)
def test_s3_round_trip_and_listing(s3: dict[str, str], exports: dict[str, Path], tmp_path: Path) -> None:
    store = ModelStore(s3["store"], endpoint_url=s3["endpoint"])
    assert store.list() == []
    where = store.push(exports["vae"], "doc-vae")
    assert where == f"{s3['store']}/doc-vae/latest"
    store.push(exports["vae"], "doc-vae", version="v1")
    store.push(exports["text_edit"], "text-edit", version="2026.01")
    listed = {(e.name, e.version): e for e in store.list()}
    assert set(listed) == {("doc-vae", "latest"), ("doc-vae", "v1"), ("text-edit", "2026.01")}
    entry = listed["text-edit", "2026.01"]
    manifest = read_manifest(exports["text_edit"])
    assert entry.kind == "text_edit" and entry.files == len(manifest["files"]) and entry.size == manifest["total_size"]
    assert entry.created == manifest["created"]
    for name, version, src in (("doc-vae", "latest", "vae"), ("text-edit", "2026.01", "text_edit")):
        dest = store.pull(name, tmp_path / "pulled" / name, version=version)
        assert same_files(exports[src], dest)
    assert no_leftovers(tmp_path / "pulled")


def test_corrupted_object_fails_the_pull_and_leaves_nothing(s3: dict[str, str], exports: dict[str, Path],
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ModelStore(s3["store"], endpoint_url=s3["endpoint"])
    store.push(exports["vae"], "doc-vae")
    client = boto3.client("s3", endpoint_url=s3["endpoint"])
    key = f"store/doc-vae/latest/{WEIGHTS}"
    data = bytearray(client.get_object(Bucket=s3["bucket"], Key=key)["Body"].read())
    data[100] ^= 0xFF
    client.put_object(Bucket=s3["bucket"], Key=key, Body=bytes(data))
    dest = tmp_path / "dest" / "vae"
    with pytest.raises(ManifestError, match=f"doc-vae/latest: {WEIGHTS}: checksum mismatch"):
        store.pull("doc-vae", dest)
    assert not dest.exists() and no_leftovers(dest.parent)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3["endpoint"])
    url = f"{s3['store']}/doc-vae/latest"
    with pytest.raises(ManifestError, match="checksum mismatch"):  # the resolver too, and nothing is cached
        resolve_model_path(url, cache_dir=tmp_path / "c")
    assert not cache_path(url, tmp_path / "c").exists() and no_leftovers(cache_path(url, tmp_path / "c").parent)


def test_partial_push_is_not_listed_or_pullable(s3: dict[str, str], exports: dict[str, Path], tmp_path: Path) -> None:
    store = ModelStore(s3["store"], endpoint_url=s3["endpoint"])
    client = boto3.client("s3", endpoint_url=s3["endpoint"])
    for path in exports["vae"].iterdir():  # an interrupted push: files without the manifest
        if path.name != MANIFEST_NAME:
            client.upload_file(str(path), s3["bucket"], f"store/half/latest/{path.name}")
    assert store.list() == [] and not store.exists("half")
    with pytest.raises(StoreNotFoundError, match="half/latest: no such model"):
        store.pull("half", tmp_path / "x")
    store.push(exports["vae"], "half")  # a partial upload is replaced without --overwrite
    assert [e.name for e in store.list()] == ["half"]


def test_overwrite_needs_consent(s3: dict[str, str], exports: dict[str, Path], tmp_path: Path) -> None:
    store = ModelStore(s3["store"], endpoint_url=s3["endpoint"])
    store.push(exports["vae"], "m")
    with pytest.raises(StoreError, match="m/latest: already in the store .*--overwrite"):
        store.push(exports["text_edit"], "m")
    store.push(exports["text_edit"], "m", overwrite=True)
    [entry] = store.list()
    assert entry.kind == "text_edit"
    dest = store.pull("m", tmp_path / "m")
    assert not (dest / "config.json").exists() and same_files(exports["text_edit"], dest)  # no stale files
    with pytest.raises(StoreError, match="already exists .*--overwrite"):
        store.pull("m", dest)
    (dest / "stray.txt").write_text("x")
    store.pull("m", dest, overwrite=True)
    assert same_files(exports["text_edit"], dest) and no_leftovers(tmp_path)


@pytest.mark.parametrize("name", ["../up", "a/b", ".hidden", "", "x" * 129, "a b", "-dash"])
def test_bad_names_are_refused(s3: dict[str, str], exports: dict[str, Path], name: str) -> None:
    store = ModelStore(s3["store"], endpoint_url=s3["endpoint"])
    with pytest.raises(StoreNameError, match="invalid model name"):
        store.push(exports["vae"], name)
    with pytest.raises(StoreNameError, match="invalid model version"):
        store.push(exports["vae"], "ok", version=name)


def test_push_verifies_the_local_export_first(s3: dict[str, str], exports: dict[str, Path], tmp_path: Path) -> None:
    local = shutil.copytree(exports["vae"], tmp_path / "vae")
    (local / "config.json").write_text((local / "config.json").read_text() + " ")
    store = ModelStore(s3["store"], endpoint_url=s3["endpoint"])
    with pytest.raises(ManifestError, match="config.json: size"):
        store.push(local, "vae")
    assert not store.exists("vae")


def test_missing_bucket_and_wrong_endpoint_are_clear(s3: dict[str, str], exports: dict[str, Path]) -> None:
    with pytest.raises(StoreNotFoundError, match="s3://no-such-bucket/x: the store does not exist .*no such bucket"):
        ModelStore("s3://no-such-bucket/x", endpoint_url=s3["endpoint"]).list()
    with pytest.raises(StoreNotFoundError, match="no such bucket"):
        ModelStore("s3://no-such-bucket/x", endpoint_url=s3["endpoint"]).push(exports["vae"], "vae")
    closed = closed_endpoint()
    with pytest.raises(StoreError, match="Could not connect to the endpoint URL") as err:
        ModelStore(s3["store"], endpoint_url=closed).list()
    assert SECRET not in str(err.value)
    with pytest.raises(StoreError, match="apply to s3:// stores only"):
        ModelStore("/tmp/x", endpoint_url=closed)


def test_store_urls_in_configs_load_through_the_cache(s3: dict[str, str], exports: dict[str, Path],
                                                      monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3["endpoint"])
    store = ModelStore(s3["store"])  # the endpoint from the environment
    store.push(exports["text_edit"], "text-edit")
    store.push(exports["vae"], "doc-vae", version="v1")
    url = f"{s3['store']}/text-edit"  # no version: latest/
    pipe = TextEditPipeline.from_pretrained(url)
    cached = cache_path(f"{url}/latest")
    assert cached.is_relative_to(Path(os.environ["ANONYMIZER_CACHE"]) / "models" / "s3")
    assert same_files(exports["text_edit"], cached) and pipe.resolution == 32
    renderer = DiffusionRenderer(path=f"{url}/latest", num_inference_steps=1)  # renderer.path=s3://...
    assert renderer.margin == 2
    vae = build_autoencoder(pretrained=f"{s3['store']}/doc-vae/v1")  # e.g. model.vae.pretrained=s3://...
    assert vae.config.scaling_factor == 1.5
    with pytest.raises(ManifestError, match="a 'autoencoder' export, expected 'text_edit'"):
        TextEditPipeline.from_pretrained(f"{s3['store']}/doc-vae/v1")

    # a damaged cached copy is downloaded again; an updated store version replaces the cached one
    (cached / "unet" / WEIGHTS).write_bytes(b"damaged")
    with caplog.at_level(logging.WARNING):
        assert resolve_model_path(url) == str(cached)
    assert "stale or damaged" in caplog.text and same_files(exports["text_edit"], cached)
    store.push(exports["vae"], "text-edit", overwrite=True)
    assert resolve_model_path(url) == str(cached) and same_files(exports["vae"], cached)

    # store unreachable: the verified cached copy is used, with a warning
    remote_manifest = resolve.remote_manifest
    monkeypatch.setattr(resolve, "remote_manifest", lambda url: (_ for _ in ()).throw(StoreError("down")))
    assert resolve_model_path(url) == str(cached)
    (cached / WEIGHTS).write_bytes(b"damaged")
    with pytest.raises(StoreError, match="down"):
        resolve_model_path(url)
    monkeypatch.setattr(resolve, "remote_manifest", remote_manifest)
    with pytest.raises(StoreNotFoundError, match="no manifest.json there or in latest/"):
        resolve_model_path(f"{s3['store']}/nothing-here")


def test_glyph_processor_loads_from_a_store_url(s3: dict[str, str], tmp_path: Path) -> None:
    from anonymizer.data.glyphs import build_glyph_processor
    from anonymizer.store.manifest import write_manifest

    folder = tmp_path / "processor"
    build_glyph_processor(None, image_size=48).save_pretrained(folder)  # data.glyph.processor.pretrained=s3://...
    write_manifest(folder, "glyph_processor")
    store = ModelStore(s3["store"], endpoint_url=s3["endpoint"])
    store.push(folder, "glyph-processor")
    os.environ["AWS_ENDPOINT_URL_S3"] = s3["endpoint"]
    try:
        processor = build_glyph_processor(f"{s3['store']}/glyph-processor/latest")
    finally:
        del os.environ["AWS_ENDPOINT_URL_S3"]
    assert processor.size == {"height": 48, "width": 48}


# --------------------------------------------------------------------- local folder
def test_local_folder_store_round_trip(exports: dict[str, Path], tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store")
    with pytest.raises(StoreNotFoundError, match="no such folder"):
        store.list()
    store.push(exports["vae"], "doc-vae", version="v1")
    [entry] = store.list()
    assert (entry.name, entry.version, entry.kind, entry.files) == ("doc-vae", "v1", "autoencoder", 3)
    dest = store.pull("doc-vae", tmp_path / "out", version="v1")
    assert same_files(exports["vae"], dest)
    (tmp_path / "store" / "doc-vae" / "v1" / "config.json").write_text("{}")
    with pytest.raises(ManifestError, match="config.json: size"):
        store.pull("doc-vae", tmp_path / "out2", version="v1")
    assert not (tmp_path / "out2").exists() and no_leftovers(tmp_path)


# ---------------------------------------------------------------------------- CLI
def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "anonymizer.store", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_push_list_pull(s3: dict[str, str], exports: dict[str, Path], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANONYMIZER_"))}
    env |= aws_env(tmp_path) | {"ANONYMIZER_STORE": s3["store"], "AWS_ENDPOINT_URL_S3": s3["endpoint"]}
    outputs = []

    def run(*args: str, code: int) -> subprocess.CompletedProcess[str]:
        done = cli(*args, env=env)
        outputs.append(done.stdout + done.stderr)
        assert done.returncode == code, done.stdout + done.stderr
        if code:
            assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
        return done

    assert "pushed" in run("push", str(exports["vae"]), "doc-vae", "--version", "v1", code=0).stdout
    assert "already in the store" in run("push", str(exports["vae"]), "doc-vae", "--version", "v1", code=1).stderr
    run("push", str(exports["vae"]), "doc-vae", "--version", "v1", "--overwrite", code=0)
    listed = json.loads(run("list", "--json", code=0).stdout)
    assert [(e["name"], e["version"], e["kind"], e["files"]) for e in listed] == [("doc-vae", "v1", "autoencoder", 3)]
    assert "doc-vae" in run("list", code=0).stdout  # the table
    dest = tmp_path / "pulled"
    assert "verified" in run("pull", "doc-vae", str(dest), "--version", "v1", code=0).stdout
    assert same_files(exports["vae"], dest)
    assert "already exists" in run("pull", "doc-vae", str(dest), "--version", "v1", code=1).stderr
    assert "no such model" in run("pull", "doc-vae", str(tmp_path / "p2"), code=1).stderr
    assert "invalid model name" in run("push", str(exports["vae"]), "../x", code=2).stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "config.json").write_text("{}")
    assert "python -m anonymizer.store manifest" in run("push", str(plain), "plain", code=1).stderr
    assert "no such bucket" in run("list", "--store", "s3://missing-bucket-zz", code=1).stderr
    env.pop("ANONYMIZER_STORE")
    assert "no store given" in run("list", code=2).stderr
    result = run("list", "--store", s3["store"], "--endpoint-url", closed_endpoint(), code=1)
    assert "Could not connect" in result.stderr
    assert not any(SECRET in out for out in outputs)
