"""Steps-vs-metric curve of a training run: evaluate every saved checkpoint.

    python experiments/curve_checkpoints.py <run dir> [--n 200] [--seed 0]

For a ``vae_kl`` run (``+experiment=vae_kl`` with e.g.
``callbacks.model_checkpoint.every_n_train_steps=100 callbacks.model_checkpoint.save_top_k=-1``)
each ``checkpoints/step_*.ckpt`` autoencoder reconstructs the crops of
``python -m anonymizer.evaluate task=vae`` (same samples, defaults of anonymizer/conf/task/vae.yaml:
synthetic crops, text 8-32 px, Tesseract --psm 7 on each line) and the table gives PSNR and
the CER of the originals and of the reconstructions per step. Prints a markdown table; the
run's own validation history (``summary.json``) is printed beside it when present.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import hydra
import torch
import yaml
from bench_common import machine, quiet
from omegaconf import OmegaConf


def _task_defaults() -> dict:
    from anonymizer.core.entry import CONF_DIR

    return yaml.safe_load((CONF_DIR / "task" / "vae.yaml").read_text())


def vae_curve(run: Path, n: int, seed: int) -> list[dict]:
    from anonymizer.evaluation.vae import evaluate_vae, summarize_vae, synthetic_vae_samples

    cfg = OmegaConf.load(run / "config_resolved.yaml")
    task = _task_defaults()
    samples = synthetic_vae_samples(n, seed, int(task["data"]["crop_size"]), task["data"]["synthetic"])
    edges = task["metrics"]["height_buckets"]
    rows = []
    for ckpt in sorted((run / "checkpoints").glob("step_*.ckpt")):
        step = int(re.search(r"step_(\d+)", ckpt.name).group(1))
        vae = hydra.utils.instantiate(cfg.model.autoencoder)
        state = torch.load(ckpt, map_location="cpu", weights_only=False)["state_dict"]
        vae.load_state_dict(
            {k.removeprefix("autoencoder."): v for k, v in state.items() if k.startswith("autoencoder.")}
        )
        results = evaluate_vae(vae.eval(), samples, None, edges, batch_size=16, seed=seed, keep_images=False)
        overall = summarize_vae(results, edges)["all"]
        keys = ("psnr", "cer_original", "cer_reconstruction", "cer_delta")
        rows.append({"step": step, **{k: overall[k] for k in keys}})
        print(f"step {step}: {rows[-1]}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "run", type=Path, help="a training run's output dir (with checkpoints/ and config_resolved.yaml)"
    )
    parser.add_argument("--n", type=int, default=200, help="evaluation crops (as task=vae n)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    quiet()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows = vae_curve(args.run, args.n, args.seed)
    print(f"\n{machine()}; run {args.run}; {args.n} task=vae crops, seed {args.seed}\n")
    print("| step | PSNR (dB) | CER originals | CER reconstructions | ΔCER |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['step']} | {r['psnr']:.2f} | {r['cer_original']:.4f} | "
              f"{r['cer_reconstruction']:.4f} | {r['cer_delta']:+.4f} |")
    summary = args.run / "summary.json"
    if summary.is_file():
        history = json.loads(summary.read_text()).get("history") or []
        if history:
            keys = [k for k in history[0] if k != "step"]
            print("\n| step | " + " | ".join(keys) + " |\n|" + "---|" * (len(keys) + 1))
            for h in history:
                print(f"| {h['step']} | " + " | ".join(f"{h.get(k, float('nan')):.4f}" for k in keys) + " |")


if __name__ == "__main__":
    main()
