"""Re-draw text boxes of a page with the glyph-conditioned inpainting models.

``TextEditPipeline.from_pretrained(folder)`` loads a folder written by the ``unet_inpaint``
training export (``unet/``, ``vae/``, ``scheduler/``, ``text_encoder/``,
``text_edit_config.json``). Calling it with a page, boxes and strings returns a new page:
each box is cut out with context (as in training), re-drawn at the model resolution with
the target string's glyph as conditioning, resized back and pasted with a feathered blend
that is limited to the dilated box, so every pixel outside the dilated boxes is unchanged.

Text height is normalised as in training: an export records the range of text heights
(box heights in window pixels) its model was trained on (``text_height``); a box outside it
has its neighbourhood resampled so its height lands on the nearer end of the range, is
edited there and resampled back. Each box draws its noise from its own generator, seeded by
the call's ``seed`` and the box's coordinates, so a box's result does not depend on the
batch size or on the other boxes. Exports whose scheduler config clips the predicted clean
latents (``clip_sample: true``, written before that was fixed) load with it off and a warning.

The folder's ``manifest.json`` is verified on load (a changed, truncated, missing or
unlisted file is an error naming it); a store URL (``s3://bucket/models/<name>/<version>``)
is downloaded into the cache and verified first (:mod:`anonymizer.store.resolve`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from PIL import Image, ImageFilter

from anonymizer.core.geometry import Box, check_box, dilate_box, tensor_to_image
from anonymizer.data.glyphs import GlyphRenderer, build_glyph_processor
from anonymizer.data.inpaint_samples import make_inpaint_sample, resampled_neighbourhood
from anonymizer.models.diffusion_utils import build_scheduler, scheduler_from
from anonymizer.models.export import TEXT_EDIT_CONFIG
from anonymizer.models.glyph_encoder import GlyphConditioner
from anonymizer.models.inpaint_sampling import sample_inpaint
from anonymizer.store.resolve import as_local_path, resolve_model_path

log = logging.getLogger(__name__)


@dataclass
class EditJob:
    """One box prepared for sampling: the model ``sample`` cut from ``source`` (the page, or its
    neighbourhood of the box resampled by ``mapping``'s scale), the ``box`` in page pixels and
    ``mapping`` = ``(origin_x, origin_y, scale_x, scale_y)`` from source to page pixels."""

    sample: dict[str, Any]
    source: Image.Image
    box: Box
    mapping: tuple[float, float, float, float]

    @property
    def scale(self) -> float:
        return self.mapping[2]


def box_seed(seed: int, box: Box) -> int:
    """The noise seed of ``box`` (page pixels, 1/16 px resolution) for the call seed ``seed``."""
    key = [int(seed) % 2**32] + [int(round(v * 16)) % 2**32 for v in box]
    return int(np.random.SeedSequence(key).generate_state(1, dtype=np.uint64)[0] % 2**63)


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
        height = config.get("text_height")
        self.text_height: tuple[float, float] | None = (float(height[0]), float(height[1])) if height else None

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
        ``python -m anonymizer.store manifest <folder>`` to vouch for its current files.
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
            margin=glyph_cfg.get("margin", 4),
            processor=build_glyph_processor(str(root / "text_encoder" / "processor")),
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
        checked = []
        for i, (box, text) in enumerate(zip(boxes, texts)):
            checked.append(check_box(box, page.size, index=i))
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"box {i}: the replacement text is empty")
        return checked

    # --------------------------------------------------------------- editing
    def text_scale(self, box: Box) -> float:
        """The resampling factor that brings the box height into the export's ``text_height``
        range (1.0 inside it, or when the export records none)."""
        if self.text_height is None:
            return 1.0
        height = box[3] - box[1]
        low, high = self.text_height
        return min(max(height, low), high) / height

    def prepare(self, page: Image.Image, box: Box, text: str) -> EditJob:
        """The model input of one box (see :class:`EditJob`), cut as in training."""
        scale = self.text_scale(box)
        if scale == 1.0:
            source, in_source, mapping = page, box, (0.0, 0.0, 1.0, 1.0)
        else:
            source, in_source, mapping = resampled_neighbourhood(page, box, scale, self.crop_side, self.mask_margin)
        sample = make_inpaint_sample(source, in_source, text, self.resolution, self.crop_side, self.mask_margin)
        return EditJob(sample, source, box, mapping)

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
        page pixels (default: half the mask margin). Deterministic for a given ``seed``, and a
        box's result depends neither on ``batch_size`` nor on the other boxes.
        """
        page = page.convert("RGB")
        boxes = self._check(page, boxes, texts)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        out = np.array(page)
        if not boxes:
            return Image.fromarray(out)
        sampler = scheduler_from(self.scheduler, scheduler)
        jobs = [self.prepare(page, box, text) for box, text in zip(boxes, texts)]
        feather = self.mask_margin / 2 if feather is None else feather
        device, dtype = self.device, self.unet.dtype
        for start in range(0, len(jobs), batch_size):
            chunk = jobs[start : start + batch_size]
            masked = torch.stack([j.sample["masked_image"] for j in chunk]).to(device, dtype)
            mask = torch.stack([j.sample["mask"] for j in chunk]).to(device, dtype)
            cond = self.conditioner(self.glyph.pixel_values([j.sample["text"] for j in chunk]).to(device))
            generators = [torch.Generator(device=device).manual_seed(box_seed(seed, j.box)) for j in chunk]
            images = sample_inpaint(self.unet, self.vae, sampler, cond, masked, mask,
                                    num_inference_steps=num_inference_steps, guidance_scale=guidance_scale,
                                    generator=generators)
            for job, image in zip(chunk, images):
                drawn, origin = self._drawn(job, image)
                self._blend(out, drawn, origin, job.box, feather)
        return Image.fromarray(out)

    @staticmethod
    def _drawn(job: EditJob, image: torch.Tensor) -> tuple[np.ndarray, tuple[int, int]]:
        """The model output as page pixels (float32 H, W, 3) and the page position of its top left.

        The output is resized to its window; for a resampled source it is put into the source
        and the source is resampled back to the page scale.
        """
        wx0, wy0, wx1, _ = job.sample["window"].tolist()
        side = wx1 - wx0
        window = tensor_to_image(image).resize((side, side), Image.Resampling.LANCZOS)
        if job.scale == 1.0:
            return np.asarray(window, dtype=np.float32), (wx0, wy0)
        source = job.source.copy()
        source.paste(window, (wx0, wy0))
        ox, oy, sx, sy = job.mapping
        size = (round(source.width / sx), round(source.height / sy))
        return np.asarray(source.resize(size, Image.Resampling.LANCZOS), dtype=np.float32), (int(ox), int(oy))

    def _blend(self, out: np.ndarray, drawn: np.ndarray, origin: tuple[int, int], box: Box, feather: float) -> None:
        """Blend ``drawn`` (page pixels from ``origin``) into ``out`` inside the dilated box only."""
        height, width = out.shape[:2]
        x0, y0, x1, y1 = dilate_box(box, self.mask_margin, (width, height))
        x0, y0 = max(x0, origin[0]), max(y0, origin[1])
        x1, y1 = min(x1, origin[0] + drawn.shape[1]), min(y1, origin[1] + drawn.shape[0])
        region = np.zeros((y1 - y0, x1 - x0), np.float32)
        inner = (max(int(round(box[0] - x0)), 0), max(int(round(box[1] - y0)), 0),
                 int(round(box[2] - x0)), int(round(box[3] - y0)))
        region[inner[1] : inner[3], inner[0] : inner[2]] = 1.0
        if feather > 0:
            blurred = Image.fromarray((region * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(feather))
            alpha = np.maximum(np.asarray(blurred, np.float32) / 255.0, region)
        else:
            alpha = region
        src = drawn[y0 - origin[1] : y1 - origin[1], x0 - origin[0] : x1 - origin[0]]
        dst = out[y0:y1, x0:x1].astype(np.float32)
        blended = dst * (1 - alpha[..., None]) + src * alpha[..., None]
        out[y0:y1, x0:x1] = np.clip(np.round(blended), 0, 255).astype(np.uint8)
