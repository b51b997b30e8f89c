"""Renderers that draw surrogate text into the boxes of a page.

``build_renderer(name, **kwargs)`` builds one of :data:`RENDERERS`:

* ``classical`` (default, no weights): erase to matched paper, typeset in a matched font;
* ``redact``: solid boxes (``color``, ``margin``);
* ``diffusion``: a trained text-edit export (``path``, sampling options).

Every renderer is called as ``renderer(page, [Replacement(box, text, original_length)])`` and
returns a new page that differs from the input only inside the boxes dilated by ``margin``.
A replacement's optional ``context`` (the page's non-sensitive OCR words near the box, see
:func:`~anonymizer.pipeline.render.base.nearest_context`) lets the classical renderer
identify the page's face and size from those words' pixels; the others ignore it.
"""

from __future__ import annotations

import importlib
from typing import Any

from anonymizer.pipeline.render.base import BaseRenderer, Renderer, Replacement, check_replacements

#: Renderer name -> "module:class" (imported on demand: the diffusion one needs torch).
RENDERERS = {
    "classical": "anonymizer.pipeline.render.classical:ClassicalRenderer",
    "redact": "anonymizer.pipeline.render.redact:RedactRenderer",
    "diffusion": "anonymizer.pipeline.render.diffusion:DiffusionRenderer",
}
DEFAULT_RENDERER = "classical"


def build_renderer(name: str = DEFAULT_RENDERER, **kwargs: Any) -> Renderer:
    """Build the renderer called ``name`` with its keyword options."""
    if name not in RENDERERS:
        raise ValueError(f"unknown renderer {name!r}; choose one of {sorted(RENDERERS)}")
    module, cls = RENDERERS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**kwargs)


__all__ = ["BaseRenderer", "DEFAULT_RENDERER", "RENDERERS", "Renderer", "Replacement", "build_renderer",
           "check_replacements"]
