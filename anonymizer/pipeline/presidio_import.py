"""Presidio's analyzer without torch and transformers: :func:`load_presidio`.

Importing ``presidio_analyzer`` imports every predefined recognizer, and its Hugging Face
NER recognizer imports ``transformers`` and ``torch`` when they are installed (~4 s on
2 cores), as spaCy's ``thinc`` imports ``torch``. The pipeline uses neither unless
``detect.nlp.engine=transformers``, so the first import is made with those two libraries
held back (their import raises ``ImportError`` for the duration, which both libraries
treat as "not installed"); :func:`enable_transformers` hands them to Presidio's Hugging
Face recognizer when that engine is asked for. When ``torch`` or ``transformers`` is
already imported, nothing is held back.
"""

from __future__ import annotations

import importlib.abc
import sys
from types import ModuleType

#: Top-level modules held back while ``presidio_analyzer`` is first imported.
HELD_BACK = ("torch", "transformers", "spacy_huggingface_pipelines")


class _HoldBack(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname.partition(".")[0] in HELD_BACK:
            raise ImportError(f"{fullname} is not loaded for Presidio's analyzer", name=fullname)
        return None


def load_presidio() -> ModuleType:
    """``presidio_analyzer``, imported without :data:`HELD_BACK` the first time."""
    if "presidio_analyzer" in sys.modules:
        return sys.modules["presidio_analyzer"]
    if any(name in sys.modules for name in HELD_BACK):
        import presidio_analyzer

        return presidio_analyzer
    finder = _HoldBack()
    sys.meta_path.insert(0, finder)
    try:
        import presidio_analyzer
    finally:
        sys.meta_path.remove(finder)
    return presidio_analyzer


def enable_transformers() -> None:
    """Give Presidio's Hugging Face NER recognizer ``transformers`` and ``torch`` (imported
    now) when :func:`load_presidio` held them back."""
    import torch
    from transformers import pipeline

    load_presidio()
    from presidio_analyzer.predefined_recognizers.ner import huggingface_ner_recognizer as hf

    if hf.hf_pipeline is None:
        hf.hf_pipeline = pipeline
    if hf.torch is None:
        hf.torch = torch
