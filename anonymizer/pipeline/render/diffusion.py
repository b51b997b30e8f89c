"""Diffusion renderer: an adapter around :class:`~anonymizer.pipeline.text_edit.TextEditPipeline`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PIL import Image

from anonymizer.core.geometry import Box
from anonymizer.pipeline.render.base import BaseRenderer, Replacement, check_margin
from anonymizer.pipeline.text_edit import TextEditPipeline

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class DiffusionRenderer(BaseRenderer):
    """Re-draws each box with a text-edit export, loaded once from ``path``: a local folder
    or a store URL such as ``s3://bucket/models/text_edit/latest`` (downloaded into the
    model cache and verified; see :mod:`anonymizer.store.resolve`).

    ``margin`` defaults to the export's ``mask_margin`` (the pipeline's own paste limit);
    a smaller one clips its feathered blend. The sampling options are passed through.
    """

    name = "diffusion"

    def __init__(self, path: str | Path | None = None, device: str = "cpu", dtype: str | torch.dtype = "float32",
                 margin: int | None = None, num_inference_steps: int = 20, guidance_scale: float = 1.0,
                 scheduler: str = "ddim", seed: int = 0, batch_size: int = 8, feather: float | None = None,
                 pipeline: TextEditPipeline | None = None) -> None:
        if pipeline is None:
            if path is None:
                raise ValueError("the diffusion renderer needs the path of a text-edit export")
            if isinstance(dtype, str):
                if dtype not in _DTYPES:
                    raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
                dtype = _DTYPES[dtype]
            pipeline = TextEditPipeline.from_pretrained(path, device=device, dtype=dtype)
        self.pipeline = pipeline
        super().__init__(pipeline.mask_margin if margin is None else check_margin(margin))
        self.options: dict[str, Any] = dict(num_inference_steps=num_inference_steps, guidance_scale=guidance_scale,
                                            scheduler=scheduler, seed=seed, batch_size=batch_size, feather=feather)

    def _render(self, page: Image.Image, boxes: list[Box], replacements: list[Replacement]) -> Image.Image:
        return self.pipeline(page, boxes, [r.text for r in replacements], **self.options)
