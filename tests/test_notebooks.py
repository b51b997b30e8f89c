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
    assert "anonymization_demo.ipynb" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs before committing"
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
    audit_cells = [json.dumps(c.get("outputs", [])) for c in nb.cells if c.cell_type == "code" and "display(Markdown" in c.source]
    for entity in (e for e in record.entities if e.sensitive):
        value = " ".join(record.words[i].text for i in entity.words)
        if len(value) >= 4:
            assert all(value not in cell for cell in audit_cells)
    assert list(tmp_path.iterdir()) == []  # nothing written next to the notebook
