"""Re-draw text boxes of a page with the glyph-conditioned inpainting models.

``TextEditPipeline.from_pretrained(folder)`` loads a folder written by the ``unet_inpaint``
training export (``unet/``, ``vae/``, ``scheduler/``, ``text_encoder/``,
``text_edit_config.json``). Calling it with a page, boxes and strings returns a new page:
each box is cut out with context (as in training), re-drawn at the model resolution with
the target string's glyph as conditioning, resized back and pasted with a feathered blend
that is limited to the dilated box, so every pixel outside the dilated boxes is unchanged.

The folder's ``manifest.json`` is verified on load (a changed, truncated, missing or
unlisted file is an error naming it); a store URL (``s3://bucket/models/<name>/<version>``)
is downloaded into the cache and verified first (:mod:`anonymizer.models.resolve`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from PIL import Image, ImageFilter

from anonymizer.data.glyphs import GlyphRenderer, build_glyph_processor
from anonymizer.data.inpaint_samples import make_inpaint_sample
from anonymizer.models.diffusion_utils import build_scheduler, scheduler_from
from anonymizer.models.export import TEXT_EDIT_CONFIG
from anonymizer.models.glyph_encoder import GlyphConditioner
from anonymizer.models.inpaint_sampling import sample_inpaint
from anonymizer.models.resolve import as_local_path, resolve_model_path

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]


class TextEditPipeline:
    """Batched text re-drawing on one page; see the module docstring."""

    def __init__(
        self,
        unet: UNet2DConditionModel,
        vae: AutoencoderKL,
        conditioner: GlyphConditioner,
        scheduler: Any,
        glyph: GlyphRenderer,
        config: dict[str, Any],
    ) -> None:
        self.unet = unet.eval()
        self.vae = vae.eval()
        self.conditioner = conditioner.eval()
        self.scheduler = scheduler
        self.glyph = glyph
        self.config = config
        self.resolution = int(config["resolution"])
        self.crop_side = int(config["crop_side"])
        self.mask_margin = int(config["mask_margin"])

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str | torch.device = "cpu",
                        dtype: torch.dtype = torch.float32, verify: bool = True) -> TextEditPipeline:
        """Load a text-edit export: a local folder or a store URL (``s3://...``).

        Its ``manifest.json`` is required (kind ``text_edit``) and verified: sizes, the file
        list and, unless ``verify=False``, every SHA-256. An export without a manifest
        (written before manifests existed) is refused: re-export it, or run
        ``python -m anonymizer.models manifest <folder>`` to vouch for its current files.
        """
        local = as_local_path(path)
        if local is not None and not (local / TEXT_EDIT_CONFIG).is_file():
            raise FileNotFoundError(f"{local}: not a text-edit export (no {TEXT_EDIT_CONFIG})")
        root = Path(resolve_model_path(path, kind="text_edit", require_manifest=True, verify=verify))
        config = json.loads((root / TEXT_EDIT_CONFIG).read_text())
        unet = UNet2DConditionModel.from_pretrained(root / "unet", torch_dtype=dtype)
        vae = AutoencoderKL.from_pretrained(root / "vae", torch_dtype=dtype)
        conditioner = GlyphConditioner.from_pretrained(root / "text_encoder")
        scheduler = build_scheduler("ddpm", pretrained=str(root / "scheduler"), subfolder=None)
        glyph_cfg = config["glyph"]
        font_path = glyph_cfg.get("font_path")
        if font_path and not Path(font_path).is_file():
            log.warning("Glyph font %s not found here; using the installed %s", font_path, glyph_cfg["font_family"])
            font_path = None
        glyph = GlyphRenderer(
            font_path=font_path, font_family=glyph_cfg["font_family"], canvas=glyph_cfg["canvas"],
            margin=glyph_cfg.get("margin", 4), processor=build_glyph_processor(str(root / "text_encoder" / "processor")),
        )
        pipe = cls(unet, vae, conditioner.to(dtype), scheduler, glyph, config)
        return pipe.to(device)

    def to(self, device: str | torch.device) -> TextEditPipeline:
        for module in (self.unet, self.vae, self.conditioner):
            module.to(device)
        return self

    # ----------------------------------------------------------------- checks
    @staticmethod
    def _check(page: Image.Image, boxes: Sequence[Box], texts: Sequence[str]) -> list[Box]:
        if len(boxes) != len(texts):
            raise ValueError(f"got {len(boxes)} boxes but {len(texts)} strings")
        width, height = page.size
        checked = []
        for i, (box, text) in enumerate(zip(boxes, texts)):
            try:
                x0, y0, x1, y1 = (float(v) for v in box)
            except (TypeError, ValueError):
                raise ValueError(f"box {i}: must be four numbers (x0, y0, x1, y1), got {box!r}") from None
            if not all(np.isfinite([x0, y0, x1, y1])):
                raise ValueError(f"box {i}: non-finite coordinates {box!r}")
            if x1 <= x0 or y1 <= y0:
                raise ValueError(f"box {i}: zero or negative size {box!r}")
            if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
                raise ValueError(f"box {i}: {box!r} is not inside the {width}x{height} page")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"box {i}: the replacement text is empty")
            checked.append((x0, y0, x1, y1))
        return checked

    # --------------------------------------------------------------- editing
    @torch.no_grad()
    def __call__(
        self,
        page: Image.Image,
        boxes: Sequence[Box],
        texts: Sequence[str],
        num_inference_steps: int = 20,
        guidance_scale: float = 1.0,
        scheduler: str = "ddim",
        seed: int = 0,
        batch_size: int = 8,
        feather: float | None = None,
    ) -> Image.Image:
        """Return a copy of ``page`` with ``boxes[i]`` re-drawn to read ``texts[i]``.

        Boxes are ``(x0, y0, x1, y1)`` page pixels; ``feather`` is the blend's blur radius in
        page pixels (default: half the mask margin). Deterministic for a given ``seed``.
        """
        page = page.convert("RGB")
        boxes = self._check(page, boxes, texts)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        out = np.array(page)
        if not boxes:
            return Image.fromarray(out)
        sampler = scheduler_from(self.scheduler, scheduler)
        generator = torch.Generator(device=self.device).manual_seed(seed)
        samples = [make_inpaint_sample(page, box, text, self.resolution, self.crop_side, self.mask_margin)
                   for box, text in zip(boxes, texts)]
        feather = self.mask_margin / 2 if feather is None else feather
        for start in range(0, len(samples), batch_size):
            chunk = samples[start : start + batch_size]
            texts_chunk = list(texts[start : start + batch_size])
            device, dtype = self.device, self.unet.dtype
            masked = torch.stack([s["masked_image"] for s in chunk]).to(device, dtype)
            mask = torch.stack([s["mask"] for s in chunk]).to(device, dtype)
            cond = self.conditioner(self.glyph.pixel_values(texts_chunk).to(device))
            images = sample_inpaint(self.unet, self.vae, sampler, cond, masked, mask,
                                    num_inference_steps=num_inference_steps, guidance_scale=guidance_scale,
                                    generator=generator)
            for sample, image, box in zip(chunk, images, boxes[start : start + batch_size]):
                self._paste(out, image, sample["window"].tolist(), box, feather)
        return Image.fromarray(out)

    def _paste(self, out: np.ndarray, image: torch.Tensor, window: list[int], box: Box, feather: float) -> None:
        """Blend ``image`` (model output for ``window``) into ``out`` inside the dilated box only."""
        height, width = out.shape[:2]
        wx0, wy0, wx1, wy1 = window
        side = wx1 - wx0
        array = ((image.float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
        drawn = np.asarray(Image.fromarray(array).resize((side, side), Image.Resampling.LANCZOS), dtype=np.float32)
        m = self.mask_margin
        x0, y0 = max(int(np.floor(box[0] - m)), 0), max(int(np.floor(box[1] - m)), 0)
        x1, y1 = min(int(np.ceil(box[2] + m)), width), min(int(np.ceil(box[3] + m)), height)
        region = np.zeros((y1 - y0, x1 - x0), np.float32)
        inner = (max(int(round(box[0] - x0)), 0), max(int(round(box[1] - y0)), 0),
                 int(round(box[2] - x0)), int(round(box[3] - y0)))
        region[inner[1] : inner[3], inner[0] : inner[2]] = 1.0
        if feather > 0:
            blurred = Image.fromarray((region * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(feather))
            alpha = np.maximum(np.asarray(blurred, np.float32) / 255.0, region)
        else:
            alpha = region
        src = drawn[y0 - wy0 : y1 - wy0, x0 - wx0 : x1 - wx0]
        dst = out[y0:y1, x0:x1].astype(np.float32)
        blended = dst * (1 - alpha[..., None]) + src * alpha[..., None]
        out[y0:y1, x0:x1] = np.clip(np.round(blended), 0, 255).astype(np.uint8)
