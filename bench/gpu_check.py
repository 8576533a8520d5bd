"""GPU check: real-size presets at 512x512, our settings (bf16 autocast, channels-last, fp32 matcher) vs a plain fp32 loop.

Trains each preset for a fixed number of steps on synthetic batches (random images, blob label maps) through the
project's own loss, optimizer and forward functions, then times batched inference. Prints and writes JSON:
images/s, peak GPU memory, and the speed-up of our settings over fp32. Needs a CUDA GPU.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from components.models.build import build_model  # noqa: E402
from components.models.forward import keep_matcher_in_fp32, probabilities_per_image, training_loss  # noqa: E402
from components.models.presets import get_preset  # noqa: E402
from components.train.optim import make_optimizer  # noqa: E402
from data_contracts.classes import ClassTable  # noqa: E402


def synthetic_batch(batch: int, size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator(device="cpu").manual_seed(0)
    pixels = torch.randn(batch, 3, size, size, generator=generator)
    coarse = torch.randint(0, 11, (batch, 1, size // 32, size // 32), generator=generator).float()
    labels = torch.nn.functional.interpolate(coarse, size=(size, size), mode="nearest")[:, 0].long()
    return pixels.to(device), labels.to(device)


def run_config(preset_name: str, precision: str, steps: int, warmup: int, batch: int, size: int) -> dict:
    device = torch.device("cuda")
    preset = get_preset(preset_name)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    model = build_model(preset, ClassTable(), seed=0).to(device)
    ours = precision == "bf16"
    if preset.family == "mask2former":
        keep_matcher_in_fp32(model)
    if ours and preset.family == "upernet":
        model = model.to(memory_format=torch.channels_last)
    optimizer, scheduler = make_optimizer(model, preset.family, preset.lr_backbone, preset.lr_head, 0.01, steps + warmup, 0, "poly")
    pixels, labels = synthetic_batch(batch, size, device)
    if ours and preset.family == "upernet":
        pixels = pixels.contiguous(memory_format=torch.channels_last)
    model.train()
    losses = []
    for step in range(warmup + steps):
        if step == warmup:
            torch.cuda.synchronize()
            started = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=ours):
            loss = training_loss(model, preset.family, pixels, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(float(loss.detach()))
    torch.cuda.synchronize()
    train_s = time.perf_counter() - started
    train_peak = torch.cuda.max_memory_allocated() / 2**30
    model.eval()
    torch.cuda.reset_peak_memory_stats()
    with torch.no_grad():
        for k in range(warmup + steps):
            if k == warmup:
                torch.cuda.synchronize()
                started = time.perf_counter()
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=ours):
                probs = probabilities_per_image(model, preset.family, pixels, [(size, size)] * batch)
            [p.argmax(0) for p in probs]
    torch.cuda.synchronize()
    infer_s = time.perf_counter() - started
    return {"preset": preset_name, "precision": precision, "batch": batch, "size": size, "steps": steps,
            "train_images_per_s": steps * batch / train_s, "train_peak_gib": train_peak,
            "infer_images_per_s": steps * batch / infer_s, "infer_peak_gib": torch.cuda.max_memory_allocated() / 2**30,
            "loss_first": losses[0], "loss_last": losses[-1], "finite": all(map(lambda v: v == v and abs(v) != float("inf"), losses)),
            "params_m": sum(p.numel() for p in model.parameters()) / 1e6}


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA device: the GPU check needs one")
        return 2
    steps, warmup = int(os.environ.get("GPU_CHECK_STEPS", 20)), 3
    results = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda, "configs": []}
    import transformers

    results["transformers"] = transformers.__version__
    for preset, batch in (("upernet-convnext", 8), ("mask2former-swin", 8)):
        for precision in ("fp32", "bf16"):
            result = run_config(preset, precision, steps, warmup, batch, 512)
            results["configs"].append(result)
            print(json.dumps(result), flush=True)
        fp32, bf16 = results["configs"][-2], results["configs"][-1]
        results[f"{preset}_train_speedup"] = bf16["train_images_per_s"] / fp32["train_images_per_s"]
        results[f"{preset}_infer_speedup"] = bf16["infer_images_per_s"] / fp32["infer_images_per_s"]
        results[f"{preset}_train_memory_ratio"] = bf16["train_peak_gib"] / fp32["train_peak_gib"]
    out = Path(os.environ.get("OUT", Path(__file__).resolve().parent / "results")) / "gpu_check.json"
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "configs"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
