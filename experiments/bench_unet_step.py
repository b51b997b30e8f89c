"""Benchmark: inpainting UNet training throughput (Lightning vs bare loop) and pipeline speed.

    python experiments/bench_unet_step.py [--steps 20] [--repeats 3] [--gpu-sd2] [overrides ...]

1. Training images/s of ``InpaintModule`` under ``lightning.Trainer`` versus a bare PyTorch
   loop doing the identical work on identical in-memory batches (diffusion loss with CFG
   dropout, backward, gradient clipping, AdamW, LR schedule, EMA update), built exactly as
   ``python -m anonymizer.train +experiment=unet_inpaint`` builds them; interleaved
   ``--repeats`` times, medians.
2. ``TextEditPipeline`` seconds per box for a page of 8 boxes, versus sampling steps and
   batch size (the same models, exported and reloaded).
3. ``--gpu-sd2`` (needs CUDA): bf16 training images/s, peak memory and MFU of the real
   SD-2-inpainting UNet architecture (random weights, 512-px samples = 64x64 latents,
   1024-wide conditioning of 577 tokens as from TrOCR-base projected). MFU = model FLOPs
   per second / the GPU's dense bf16 peak (``--peak-tflops``, else looked up by name); model
   FLOPs = 3 x the forward FLOPs counted by ``torch.utils.flop_counter`` on a meta-device copy
   (the recomputation of gradient checkpointing is not counted). ``--flops-only`` prints the
   count without a GPU.

Prints markdown tables; record them in experiments/RESULTS.md with the machine.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import hydra
import torch
from bench_common import compose_cfg, interleaved_medians, lightning_seconds, machine, quiet
from PIL import Image, ImageDraw


def bare_seconds(template, batches: list, steps: int, clip: float) -> float:
    """Lightning-free loop: the module's diffusion loss, backward, clip, step, schedule, EMA."""
    model = copy.deepcopy(template)
    params = [p for p in model.unet.parameters() if p.requires_grad]
    params += [p for p in model.conditioner.parameters() if p.requires_grad]
    optimizer = model.optimizer_factory(params=params)
    scheduler = model.scheduler_factory(optimizer=optimizer, total_steps=steps) if model.scheduler_factory else None
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        loss = model.diffusion_loss(batches[step % len(batches)], dropout=model.cond_dropout)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if model.ema is not None:
            model.ema.step(model.ema_parameters())
    return time.perf_counter() - start


def pipeline_table(module, datamodule, out: Path) -> list[tuple[int, int, float]]:
    from anonymizer.models.export import export_text_edit
    from anonymizer.pipeline.text_edit import TextEditPipeline

    data = datamodule.describe()
    config = {"resolution": data["resolution"], "crop_side": data["crop_side"], "mask_margin": data["mask_margin"],
              "text_height": datamodule.text_height_range(), "glyph": data["glyph"],
              "prediction_type": module.prediction_type}
    export_text_edit(module.unet, module.vae, module.conditioner, module.noise_scheduler, datamodule.glyph.processor,
                     out, config)
    pipe = TextEditPipeline.from_pretrained(out)
    page = Image.new("RGB", (600, 400), "white")
    draw = ImageDraw.Draw(page)
    boxes = []
    for i in range(8):
        x, y = 20 + (i % 2) * 300, 30 + (i // 2) * 90
        draw.text((x, y), "Value 12345", fill="black")
        boxes.append((x, y, x + 80, y + 14))
    texts = [f"Name {i}" for i in range(8)]
    rows = []
    for steps in (5, 20):
        for batch in (1, 4, 8):
            pipe(page, boxes[:1], texts[:1], num_inference_steps=1)
            start = time.perf_counter()
            pipe(page, boxes, texts, num_inference_steps=steps, batch_size=batch)
            rows.append((steps, batch, (time.perf_counter() - start) / len(boxes)))
    return rows


SD2_BATCH, SD2_LATENT, SD2_TOKENS = 8, 64, 577
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 70.0, "L4": 121.0}


def sd2_config() -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(compose_cfg("unet_inpaint", ["model/unet=sd2_random"]).model.unet.config)


def sd2_forward_flops(batch: int = SD2_BATCH) -> float:
    """Forward FLOPs of the SD-2-inpainting UNet on one batch, counted on the meta device."""
    from diffusers import UNet2DConditionModel
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        unet = UNet2DConditionModel(**sd2_config())
        x = torch.randn(batch, 9, SD2_LATENT, SD2_LATENT)
        cond = torch.randn(batch, SD2_TOKENS, 1024)
        t = torch.zeros(batch, dtype=torch.long)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        unet(x, t, encoder_hidden_states=cond)
    return float(counter.get_total_flops())


def peak_tflops(name: str, given: float | None) -> float | None:
    return given if given else next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def gpu_sd2(steps: int) -> tuple[float, float]:
    """bf16 images/s and peak GiB of the SD-2-inpainting UNet architecture (random weights)."""
    from anonymizer.models.builders import build_unet

    unet = build_unet(config=sd2_config()).cuda().train()
    unet.enable_gradient_checkpointing()
    opt = torch.optim.AdamW(unet.parameters(), lr=1e-4)
    bs = SD2_BATCH
    x = torch.randn(bs, 9, SD2_LATENT, SD2_LATENT, device="cuda")
    cond = torch.randn(bs, SD2_TOKENS, 1024, device="cuda")
    torch.cuda.reset_peak_memory_stats()
    for i in range(steps + 3):
        if i == 3:
            torch.cuda.synchronize()
            start = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            pred = unet(x, torch.randint(0, 1000, (bs,), device="cuda"), encoder_hidden_states=cond).sample
            loss = torch.nn.functional.mse_loss(pred.float(), torch.randn_like(pred.float()))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    return bs * steps / (time.perf_counter() - start), torch.cuda.max_memory_allocated() / 2**30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gpu-sd2", action="store_true", help="also measure the SD-2 UNet in bf16 on CUDA")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the GPU's dense bf16 peak for MFU")
    parser.add_argument("--flops-only", action="store_true", help="print the SD-2 UNet's FLOPs per image and stop")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    quiet()
    if args.flops_only:
        forward = sd2_forward_flops() / SD2_BATCH
        print(f"SD-2-inpainting UNet, {SD2_LATENT}x{SD2_LATENT} latents, {SD2_TOKENS} tokens: "
              f"{forward / 1e9:.1f} GFLOPs forward, {3 * forward / 1e9:.1f} GFLOPs per training image")
        return

    cfg = compose_cfg("unet_inpaint", ["data.num_workers=0", *args.overrides])
    clip = float(cfg.trainer.gradient_clip_val or 0.0) or float("inf")
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    loader = iter(datamodule.train_dataloader())
    batches = [next(loader) for _ in range(4)]
    torch.manual_seed(0)
    template = hydra.utils.instantiate(cfg.model)
    medians = interleaved_medians(
        {
            "lightning": lambda n: lightning_seconds(copy.deepcopy(template), batches, n, clip),
            "bare": lambda n: bare_seconds(template, batches, n, clip),
        },
        steps=args.steps, warm=3, repeats=args.repeats,
    )
    bs = cfg.data.batch_size
    light, bare = bs * args.steps / medians["lightning"], bs * args.steps / medians["bare"]
    print(f"\nInpainting UNet benchmark ({machine()})")
    print(f"{cfg.data.resolution}-px samples, batch {bs}, "
          f"{args.steps} timed steps x {args.repeats} repeats (medians)\n")
    print("| measure | value |\n|---|---|")
    print(f"| bare PyTorch loop, images/s | {bare:.1f} |")
    print(f"| InpaintModule + Trainer, images/s | {light:.1f} |")
    print(f"| ratio Lightning / bare (target >= 0.95) | {light / bare:.3f} |")

    with tempfile.TemporaryDirectory() as tmp:
        rows = pipeline_table(template, datamodule, Path(tmp) / "text_edit")
    print("\nTextEditPipeline, page with 8 boxes\n")
    print("| sampling steps | batch size | seconds per box |\n|---|---|---|")
    for steps, batch, seconds in rows:
        print(f"| {steps} | {batch} | {seconds:.3f} |")

    if args.gpu_sd2:
        ips, gib = gpu_sd2(args.steps)
        name = torch.cuda.get_device_name()
        peak = peak_tflops(name, args.peak_tflops)
        train_flops = 3 * sd2_forward_flops() / SD2_BATCH
        mfu = f"{ips * train_flops / (peak * 1e12):.3f}" if peak else "n/a (give --peak-tflops)"
        print(f"\nSD-2-inpainting UNet architecture on {name}, random weights, bf16 autocast, gradient checkpointing, "
              f"batch {SD2_BATCH}, 512 px\n")
        print("| images/s | peak memory GiB | model TFLOPs per image | MFU |\n|---|---|---|---|")
        print(f"| {ips:.2f} | {gib:.1f} | {train_flops / 1e12:.3f} | {mfu} |")


if __name__ == "__main__":
    main()
