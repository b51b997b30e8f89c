"""The notebooks in notebooks/ are stored without outputs and run end to end on tiny artifacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert {"anonymization_demo.ipynb", "vae_evaluation.ipynb", "text_edit_evaluation.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: clear the outputs before committing"
            )
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"


def execute(path: Path, parameters: dict[str, Any], workdir: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Run ``path`` with ``parameters`` assigned right after its ``parameters`` cell (as papermill does)."""
    nb = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    injected = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    injected["id"] = "injected-parameters"
    nb.cells.insert(index + 1, injected)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return nb


def outputs_text(nb: nbformat.NotebookNode) -> str:
    return json.dumps([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"])


def visible_text(nb: nbformat.NotebookNode) -> str:
    """Printed and displayed text of the outputs (streams, text/plain, text/markdown), not image data."""
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            if o.output_type == "stream":
                parts.append(o.text)
            for mime, value in o.get("data", {}).items():
                if mime.startswith("text/"):
                    parts.append(value)
    return "\n".join(parts)


def png_count(nb: nbformat.NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def run_in_empty_folder(name: str, parameters: dict[str, Any], tmp_path: Path) -> nbformat.NotebookNode:
    """Execute ``notebooks/<name>`` in an empty working folder; check that nothing was written
    there or next to the notebook."""
    work = tmp_path / "cwd"
    work.mkdir()
    before = sorted(p.name for p in (ROOT / "notebooks").iterdir())
    nb = execute(ROOT / "notebooks" / name, parameters, work)
    assert list(work.iterdir()) == []  # nothing written into the working directory
    assert sorted(p.name for p in (ROOT / "notebooks").iterdir()) == before  # nor next to the notebook
    return nb


@pytest.fixture(scope="module")
def record_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small synthetic page as page records."""
    from anonymizer.data.synth_pages import PageConfig, write_pages

    folder = tmp_path_factory.mktemp("pages")
    write_pages(1, folder, seed=1, config=PageConfig(width=600, height=700, scan={"enabled": False}))
    return folder / "records.jsonl"


@pytest.fixture(scope="module")
def text_edit_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_artifacts import tiny_text_edit_export

    return tiny_text_edit_export(tmp_path_factory.mktemp("text_edit"))


@pytest.mark.slow
def test_anonymization_demo_runs(tmp_path: Path) -> None:
    from anonymizer.data.synth_pages import generate_page

    nb = execute(ROOT / "notebooks" / "anonymization_demo.ipynb", {"SEED": 3, "FIGSIZE": (6, 3)}, tmp_path)
    text = outputs_text(nb)
    assert "image/png" in text  # the before/after figure
    assert "| # | type | score | source | surrogate |" in text  # the audit table
    assert "verification" in text and "| covered | labelled |" in text
    # the audit table shows no original sensitive value
    _, record = generate_page(3, seed=0)
    audit_cells = [
        json.dumps(c.get("outputs", [])) for c in nb.cells if c.cell_type == "code" and "display(Markdown" in c.source
    ]
    for entity in (e for e in record.entities if e.sensitive):
        value = " ".join(record.words[i].text for i in entity.words)
        if len(value) >= 4:
            assert all(value not in cell for cell in audit_cells)
    assert list(tmp_path.iterdir()) == []  # nothing written next to the notebook


@pytest.mark.slow
@pytest.mark.parametrize("source", ["synthetic", "records"])
def test_vae_evaluation_runs(source: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from tests.tiny_artifacts import save_tiny_vae

    vae = save_tiny_vae(tmp_path / "artifacts" / "vae", export=True)  # with manifest.json, as our exports
    parameters: dict[str, Any] = {"MODEL_PATH": str(vae), "N": 4, "SEED": 0, "CROP_SIZE": 32, "HEIGHT_BUCKETS": [8, 12],
                                  "SYNTHETIC": {"style": {"font_size": [8, 14]}}, "BATCH_SIZE": 2, "FIGSIZE": (8, 4)}
    if source == "records":
        parameters["RECORDS"] = str(request.getfixturevalue("record_file"))
    nb = run_in_empty_folder("vae_evaluation.ipynb", parameters, tmp_path)
    text = visible_text(nb)
    assert png_count(nb) == 3  # reconstructions, the mosaic, the metric plots
    assert "| text height (px) | n | PSNR | SSIM | LPIPS | CER orig. | CER recon. |" in text
    assert "| <8 |" in text and "| 8-12 |" in text and "| >=12 |" in text and "| all |" in text
    assert "not comparable with published LPIPS" in text
    if source == "synthetic":
        assert "4 crops of 32 px from synthetic crops; 0 failed" in text
    else:
        assert "from 1 page record(s)" in text and "0 failed" in text


@pytest.mark.slow
def test_text_edit_evaluation_runs(text_edit_export: Path, tmp_path: Path) -> None:
    parameters = {"MODEL_PATH": str(text_edit_export), "N": 3, "SEED": 0, "STEPS": 1, "GUIDANCE": 1.0,
                  "SOURCE_SIZE": 64, "FIGSIZE": (8, 6)}
    nb = run_in_empty_folder("text_edit_evaluation.ipynb", parameters, tmp_path)
    text = visible_text(nb)
    assert png_count(nb) == 2  # glyph | output | original grid, the bar plots
    assert "3 samples from synthetic crops" in text and "0 failed" in text
    assert "| # | text height | target | OCR of edit | exact | 1-NED | source text | OCR of original | 1-NED |" in text
    assert "| text height (px) | n | masked PSNR | masked LPIPS | sent. acc. edit | 1-NED edit |" in text
    assert "pixels outside the boxes: all unchanged" in text


@pytest.mark.slow
def test_text_edit_evaluation_shows_no_record_text(text_edit_export: Path, record_file: Path, tmp_path: Path) -> None:
    from anonymizer.core.records import read_records
    from anonymizer.evaluation.text_edit import load_text_edit, record_text_edit_samples

    parameters = {"MODEL_PATH": str(text_edit_export), "N": 3, "SEED": 0, "STEPS": 1, "RECORDS": str(record_file),
                  "FIGSIZE": (8, 6)}
    nb = run_in_empty_folder("text_edit_evaluation.ipynb", parameters, tmp_path)
    text = visible_text(nb)
    assert png_count(nb) == 2
    assert "| # | text height | target | exact | 1-NED | 1-NED original | masked PSNR |" in text
    assert "| text height (px) | n | masked PSNR |" in text
    # the evaluated runs of the page (what the notebook drew from it) are never printed
    samples, _ = record_text_edit_samples(load_text_edit(str(text_edit_export)), read_records(record_file)[0], 3, 0)
    texts = [s.text for s in samples if len(s.text) >= 5]
    assert texts
    assert all(t not in text for t in texts)
