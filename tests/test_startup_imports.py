"""The anonymize path with the classical renderer imports neither torch, transformers nor
diffusers: building the pipeline and doing a page stays light (start-up in seconds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
from PIL import Image, ImageDraw
import anonymizer.anonymize
from anonymizer.pipeline.document import DocumentAnonymizer, pipeline_config
pipeline = DocumentAnonymizer.from_config(pipeline_config(["renderer=classical"]))
page = Image.new("RGB", (480, 120), "white")
ImageDraw.Draw(page).text((20, 40), "Email: jane.doe@example.com", fill="black")
result = pipeline.anonymize_page(page)
heavy = [m for m in ("torch", "transformers", "diffusers", "torchvision") if m in sys.modules]
print(json.dumps({"heavy": heavy, "checked": result.audit["verification"]["checked"]}))
"""


def test_the_classical_anonymize_path_does_not_import_torch() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {"heavy": [], "checked": True}
