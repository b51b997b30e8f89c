"""The package's layers: no import runs from a lower layer to a higher one, and nothing but
the tests imports an entry (``train.py``, ``anonymize.py``, ``evaluate.py``, ``serve.py``, a
``__main__``).

Layers, lowest first (docs/architecture.md, "Layers")::

    core  <-  data, metrics, store  <-  models  <-  training  <-  pipeline, evaluation, serving  <-  entries

A module may import its own folder and any lower layer. Within a layer, only the pairs in
:data:`SIDEWAYS` are allowed. The imports are read with :mod:`ast`: module-level and
function-level imports alike; imports under ``if TYPE_CHECKING:`` are exempt (they never run).
Imports by name in a string (``importlib``, ``runpy``) are not imports here.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "anonymizer"

# top-level folder of the package -> layer (0 = lowest); the package's own __init__ is layer 0
LAYERS = {
    "core": 0,
    "conf": 0,  # the shipped configs (data, no code that imports)
    "assets": 0,  # shipped files (the PII tagger's weights), no code that imports
    "data": 1,
    "metrics": 1,
    "store": 1,
    "models": 2,
    "training": 3,
    "pipeline": 4,
    "evaluation": 4,
    "serving": 4,
}
ENTRY_LAYER = 5
ENTRIES = {f"{PACKAGE}.{name}" for name in ("train", "anonymize", "evaluate", "serve")}
# allowed imports within a layer: (importing folder, imported folder)
SIDEWAYS = {
    ("data", "store"),  # data.glyphs loads the glyph processor from a store URL
    ("evaluation", "pipeline"),  # the anonymize task runs the pipeline
    ("serving", "pipeline"),  # the HTTP API runs the pipeline
}
# files outside the package that may import the package but no entry (tests/ may)
OUTSIDE = ("experiments/**/*.py", "scripts/**/*.py", "notebooks/**/*.ipynb")


def is_entry(module: str) -> bool:
    return module in ENTRIES or module.endswith(".__main__")


def folder(module: str) -> str:
    """The top-level folder of the package a module is in ('' for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer(module: str) -> int | None:
    if is_entry(module):
        return ENTRY_LAYER
    name = folder(module)
    return 0 if name == "" else LAYERS.get(name)


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import under ``node``, at any depth, except in the body of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        elif isinstance(child, ast.If) and _type_checking(child.test):
            for other in child.orelse:
                yield from _import_nodes(ast.Module(body=[other], type_ignores=[]))
        else:
            yield from _import_nodes(child)


def imported(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> Iterator[tuple[int, str]]:
    """``(line, module)`` of each import of the package by ``module`` (relative ones resolved)."""
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # `from anonymizer import train` imports the module anonymizer.train
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names]
        for target in targets:
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                yield node.lineno, target


def _sources(root: Path) -> Iterator[tuple[Path, str]]:
    for pattern in OUTSIDE:
        for path in sorted(root.glob(pattern)):
            if path.suffix == ".ipynb":
                cells = json.loads(path.read_text())["cells"]
                for cell in cells:
                    if cell["cell_type"] == "code":
                        text = "".join(cell["source"])
                        yield path, "\n".join(line for line in text.splitlines()
                                              if not line.lstrip().startswith(("%", "!")))
            else:
                yield path, path.read_text()


def violations(root: Path = ROOT, outside: Iterable[tuple[Path, str]] | None = None) -> list[str]:
    """Every import against the layers under ``root/anonymizer``, and every import of an
    entry from the files in :data:`OUTSIDE` (or ``outside``: ``(path, source)`` pairs)."""
    src = root / PACKAGE
    files = {module_name(p, root): p for p in sorted(src.rglob("*.py"))}
    known = set(files)
    found: list[str] = []
    for module, path in files.items():
        here = layer(module)
        if here is None:
            found.append(f"{path.relative_to(root)}: folder {folder(module)!r} is in no layer (add it to LAYERS)")
            continue
        tree = ast.parse(path.read_text(), str(path))
        for line, target in imported(tree, module, path.name == "__init__.py", known):
            where = f"{path.relative_to(root)}:{line} imports {target}"
            if target == PACKAGE:  # the package itself (its version) is below everything
                continue
            if is_entry(target):
                if target != module:
                    found.append(f"{where}: an entry (only tests import entries)")
                continue
            there = layer(target)
            if there is None:
                found.append(f"{where}: folder {folder(target)!r} is in no layer")
            elif folder(target) == folder(module) and not is_entry(module):
                continue
            elif there > here or (there == here and (folder(module), folder(target)) not in SIDEWAYS):
                found.append(f"{where}: layer {there} from layer {here}")
    for path, text in (_sources(root) if outside is None else outside):
        tree = ast.parse(text, str(path))
        for line, target in imported(tree, "__outside__", False, known):
            if is_entry(target):
                found.append(f"{path}:{line} imports {target}: an entry (only tests import entries)")
    return found


def test_no_import_runs_up_the_layers_and_only_tests_import_entries() -> None:
    found = violations()
    assert not found, "imports against the layers:\n" + "\n".join(found)


def test_the_layer_table_names_every_folder_of_the_package() -> None:
    folders = {p.name for p in (ROOT / PACKAGE).iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= set(LAYERS), f"folders in no layer: {sorted(folders - set(LAYERS))}"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_finds_upward_and_entry_imports(tmp_path: Path) -> None:
    write(tmp_path, {
        "anonymizer/__init__.py": "",
        "anonymizer/train.py": "from anonymizer.training import loop\n",
        "anonymizer/anonymize.py": "import anonymizer.train\n",  # an entry importing an entry
        "anonymizer/core/__init__.py": "",
        "anonymizer/core/fine.py": "import os\nfrom anonymizer import __version__\nfrom . import other\n",
        "anonymizer/core/other.py": "",
        "anonymizer/core/up.py": "def f():\n    from anonymizer.models.net import Net\n",  # function level
        "anonymizer/data/__init__.py": "",
        "anonymizer/data/glyphs.py": "from anonymizer.store import resolve\n",  # allowed sideways
        "anonymizer/data/hints.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                     "    from anonymizer.models.net import Net\nelse:\n"
                                     "    from anonymizer.metrics import m\n"),
        "anonymizer/metrics/__init__.py": "",
        "anonymizer/metrics/m.py": "from ..data import glyphs\n",  # relative, sideways, not allowed
        "anonymizer/store/__init__.py": "",
        "anonymizer/store/resolve.py": "from anonymizer.core import fine\n",
        "anonymizer/store/__main__.py": "from anonymizer.store import resolve\nfrom anonymizer.models import net\n",
        "anonymizer/models/__init__.py": "",
        "anonymizer/models/net.py": "from anonymizer.store.__main__ import main\n",  # a __main__ is an entry
        "anonymizer/training/__init__.py": "",
        "anonymizer/training/loop.py": "from anonymizer.pipeline import run\nfrom anonymizer import serve\n",
        "anonymizer/pipeline/__init__.py": "",
        "anonymizer/pipeline/run.py": "from anonymizer.evaluation import task\n",  # sideways, wrong way
        "anonymizer/evaluation/__init__.py": "",
        "anonymizer/evaluation/task.py": "from anonymizer.pipeline import run\nfrom anonymizer.models import net\n",
        "anonymizer/serve.py": "from anonymizer.serving import app\n",
        "anonymizer/serving/__init__.py": "",
        "anonymizer/serving/app.py": "from anonymizer.evaluation import task\n",  # sideways, not allowed
        "anonymizer/extras/__init__.py": "",  # a folder in no layer
    })
    outside = [(Path("experiments/bench.py"), "import anonymizer.anonymize\nfrom anonymizer.pipeline import run\n"),
               (Path("notebooks/demo.ipynb"), "def f():\n    from anonymizer.evaluate import main\n")]
    found = violations(tmp_path, outside)
    assert sorted(found) == sorted([
        "anonymizer/anonymize.py:1 imports anonymizer.train: an entry (only tests import entries)",
        "anonymizer/core/up.py:2 imports anonymizer.models.net: layer 2 from layer 0",
        "anonymizer/data/hints.py:5 imports anonymizer.metrics.m: layer 1 from layer 1",
        "anonymizer/metrics/m.py:1 imports anonymizer.data.glyphs: layer 1 from layer 1",
        "anonymizer/models/net.py:1 imports anonymizer.store.__main__: an entry (only tests import entries)",
        "anonymizer/training/loop.py:1 imports anonymizer.pipeline.run: layer 4 from layer 3",
        "anonymizer/training/loop.py:2 imports anonymizer.serve: an entry (only tests import entries)",
        "anonymizer/pipeline/run.py:1 imports anonymizer.evaluation.task: layer 4 from layer 4",
        "anonymizer/serving/app.py:1 imports anonymizer.evaluation.task: layer 4 from layer 4",
        "anonymizer/extras/__init__.py: folder 'extras' is in no layer (add it to LAYERS)",
        "experiments/bench.py:1 imports anonymizer.anonymize: an entry (only tests import entries)",
        "notebooks/demo.ipynb:2 imports anonymizer.evaluate: an entry (only tests import entries)",
    ])


def test_the_checker_passes_a_tree_that_keeps_the_layers(tmp_path: Path) -> None:
    write(tmp_path, {
        "anonymizer/__init__.py": "",
        "anonymizer/core/__init__.py": "",
        "anonymizer/core/geometry.py": "",
        "anonymizer/models/__init__.py": "from anonymizer.core import geometry\n",
        "anonymizer/pipeline/__init__.py": "from anonymizer.models import *\nimport anonymizer.core.geometry\n",
        "anonymizer/anonymize.py": "from anonymizer.pipeline import x\n",
    })
    source = "import runpy\nrunpy.run_module('anonymizer.anonymize')\n"
    assert violations(tmp_path, [(Path("experiments/b.py"), source)]) == []
