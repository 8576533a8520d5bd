"""Training and inference speed of the real presets: FLOPs, images/s, TFLOP/s, MFU and peak memory, before and after.

Why FLOPs: images/s alone cannot say how far from the hardware a run is. The FLOPs
of one training step and one inference step are counted with PyTorch's
``FlopCounterMode``; achieved TFLOP/s over the device's peak bf16 rate is the
model FLOP utilisation (MFU). Every variant trains through ``TrainStep``, the
object ``trashseg train`` itself uses, on the same synthetic batches from the
same initial weights, so loss curves can be compared step by step.

Variants per preset, each adding one change to the one before:
  before      today's settings: bf16 autocast, channels-last (UperNet), preset batch, AdamW (foreach), a host sync
              per step
  fused       + fused AdamW, no host sync per step
  batch       + the largest batch that fits (preset learning rate scaled by the square-root rule)
  compiled    + torch.compile (compile time reported separately)
and, for context, ``fp32`` (Mask2Former: the fp32 eager baseline of the 2x target) and ``no-channels-last`` (ConvNeXt).

Runs on CPU too (tiny presets, FLOPs and images/s, no MFU), which is what the test suite does.
Usage: python -m bench.gpu_train preset NAME [--variants ...] --out results.jsonl
       python -m bench.gpu_train loader --dataset D --split S --out results.jsonl
       python -m bench.gpu_train real-train --dataset D --split S --out results.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trashseg.components.models.build import build_model  # noqa: E402
from trashseg.components.models.family import get_family  # noqa: E402
from trashseg.components.models.forward import probabilities_per_image  # noqa: E402
from trashseg.components.models.presets import get_preset  # noqa: E402
from trashseg.components.train.optim import make_optimizer, scaled_lr  # noqa: E402
from trashseg.components.train.step import StepSettings, TrainStep, prepare_model  # noqa: E402
from trashseg.data_contracts.classes import IGNORE_INDEX, ClassTable  # noqa: E402

# Dense bf16 tensor-core peaks from NVIDIA's datasheets, TFLOP/s (without sparsity). Longest matching name wins.
PEAK_BF16_TFLOPS = {
    "H100 PCIe": 756.0,
    "H100 NVL": 835.0,
    "H100": 989.4,
    "H200": 989.4,
    "H800": 989.4,
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
    "A10": 125.0,
}
VARIANTS = ("before", "no-channels-last", "fp32", "fused", "batch", "ddp", "compiled")
MAX_BATCH = 64


def peak_tflops(device_name: str) -> float | None:
    """The device's dense bf16 peak, or None (CPU, unknown GPU: then no MFU is reported)."""
    matches = [name for name in PEAK_BF16_TFLOPS if name in device_name]
    return PEAK_BF16_TFLOPS[max(matches, key=len)] if matches else None


def synthetic_batches(
    count: int, batch: int, size: int, device: torch.device, seed: int = 0
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Normalised-looking images and blob label maps (32 px cells of the 11 classes, a few ignored), fixed by seed."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(count):
        pixels = torch.randn(batch, 3, size, size, generator=generator)
        cells = max(1, size // 32)
        coarse = torch.randint(0, 12, (batch, 1, cells, cells), generator=generator).float()
        labels = torch.nn.functional.interpolate(coarse, size=(size, size), mode="nearest")[:, 0].long()
        labels[labels == 11] = IGNORE_INDEX
        batches.append((pixels.to(device), labels.to(device)))
    return batches


def make_step(
    preset_name: str,
    batch: int,
    device: torch.device,
    *,
    amp: bool,
    channels_last: bool,
    compile: bool,
    fused: bool,
    total_steps: int,
) -> TrainStep:
    """The project's own training step for a fresh, seeded model (same initial weights in every variant)."""
    preset = get_preset(preset_name)
    settings = StepSettings(
        family=preset.family, amp_dtype=torch.bfloat16 if amp else None, channels_last=channels_last, compile=compile
    )
    model = prepare_model(build_model(preset, ClassTable(), seed=0).to(device), settings)
    model.train()
    optimizer, scheduler = make_optimizer(
        model,
        preset.family,
        scaled_lr(preset.lr_backbone, preset.batch_size, batch),
        scaled_lr(preset.lr_head, preset.batch_size, batch),
        0.01,
        total_steps,
        0,
        "poly",
        fused=fused,
    )
    return TrainStep(model, settings, optimizer, scheduler, None)


def count_flops(fn, *args) -> int:
    """FLOPs of one call (matrix products, convolutions, attention: what FlopCounterMode counts)."""
    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return int(counter.get_total_flops())


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def peak_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None


def reset_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def time_training(
    step: TrainStep, batches, warmup: int, steps: int, sync_every_step: bool, device: torch.device
) -> dict:
    """Warm-up steps (compilation happens there), then timed steps; losses of every step, read back at the end."""
    losses = []
    started = time.perf_counter()
    for k in range(warmup + steps):
        if k == warmup:
            synchronize(device)
            warm_seconds, started = time.perf_counter() - started, time.perf_counter()
        loss = step(*batches[k % len(batches)])
        if sync_every_step:
            float(loss)  # what the old loop did: .item() and an `if` on the device per step
        losses.append(loss)
    synchronize(device)
    seconds = time.perf_counter() - started
    batch = batches[0][0].shape[0]
    return {
        "images_per_s": steps * batch / seconds,
        "step_ms": 1000 * seconds / steps,
        "warmup_seconds": warm_seconds,
        "losses": [float(v) for v in torch.stack(losses).float().cpu()],
    }


@torch.no_grad()
def time_inference(
    model: torch.nn.Module, family: str, pixels: torch.Tensor, amp: bool, warmup: int, steps: int, device: torch.device
) -> float:
    model.eval()
    size = tuple(pixels.shape[-2:])
    for k in range(warmup + steps):
        if k == warmup:
            synchronize(device)
            started = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            probabilities_per_image(model, family, pixels, [size] * len(pixels))
    synchronize(device)
    model.train()
    return steps * len(pixels) / (time.perf_counter() - started)


def largest_batch(preset_name: str, size: int, device: torch.device, memory_fraction: float = 0.6) -> int:
    """Largest power-of-two batch whose eager bf16 step is predicted to fit in ``memory_fraction`` of the device.

    Peak memory is linear in the batch: one step at the preset batch and one at twice it give the slope.
    """
    preset = get_preset(preset_name)
    if device.type != "cuda":
        return 2 * preset.batch_size
    peaks = {}
    for batch in (preset.batch_size, 2 * preset.batch_size):
        reset_memory(device)
        step = make_step(
            preset_name,
            batch,
            device,
            amp=True,
            channels_last=get_family(preset.family).channels_last,
            compile=False,
            fused=True,
            total_steps=10,
        )
        step(*synthetic_batches(1, batch, size, device)[0])
        synchronize(device)
        peaks[batch] = torch.cuda.max_memory_allocated()
        del step
    per_image = (peaks[2 * preset.batch_size] - peaks[preset.batch_size]) / preset.batch_size
    fixed = peaks[preset.batch_size] - per_image * preset.batch_size
    budget = memory_fraction * torch.cuda.get_device_properties(device).total_memory
    fits = int((budget - fixed) // per_image) if per_image > 0 else MAX_BATCH
    return max(preset.batch_size, min(MAX_BATCH, 2 ** int(math.log2(max(1, fits)))))


def measure_preset(
    preset_name: str,
    device: torch.device,
    size: int,
    warmup: int,
    steps: int,
    variants: tuple[str, ...] = VARIANTS,
    batch: int | None = None,
    out: Path | None = None,
) -> list[dict]:
    """One record per variant: images/s, FLOPs per image, TFLOP/s, MFU, peak memory, losses.

    Each record is appended to ``out`` as soon as it is measured: a run stopped by its time limit
    (a long compile) keeps the variants before it.
    """
    preset = get_preset(preset_name)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    peak = peak_tflops(name) if device.type == "cuda" else None
    channels_last = get_family(preset.family).channels_last
    gpu = device.type == "cuda"  # on CPU, as trashseg train does there: fp32, default memory format
    big = batch or (
        largest_batch(preset_name, size, device) if {"batch", "compiled"} & set(variants) else preset.batch_size
    )
    plan = {
        "before": dict(
            batch=preset.batch_size, amp=gpu, channels_last=gpu and channels_last, compile=False, fused=False, sync=True
        ),
        "no-channels-last": dict(
            batch=preset.batch_size, amp=True, channels_last=False, compile=False, fused=False, sync=True
        ),
        "fp32": dict(batch=preset.batch_size, amp=False, channels_last=False, compile=False, fused=False, sync=True),
        "fused": dict(
            batch=preset.batch_size, amp=gpu, channels_last=gpu and channels_last, compile=False, fused=True, sync=False
        ),
        "batch": dict(batch=big, amp=gpu, channels_last=gpu and channels_last, compile=False, fused=True, sync=False),
        "ddp": dict(
            batch=big, amp=gpu, channels_last=gpu and channels_last, compile=False, fused=True, sync=False, ddp=True
        ),
        "compiled": dict(batch=big, amp=gpu, channels_last=gpu and channels_last, compile=True, fused=True, sync=False),
    }
    if not channels_last or device.type != "cuda":
        plan.pop("no-channels-last")
    if not get_family(preset.family).set_prediction or device.type != "cuda":
        plan.pop("fp32")
    flops_per_image: dict[tuple[int, bool], tuple[float, float]] = {}
    records = []
    for variant in [v for v in VARIANTS if v in variants and v in plan]:
        cfg = plan[variant]
        reset_memory(device)
        batches = synthetic_batches(4, cfg["batch"], size, device)
        key = (cfg["batch"], cfg["amp"])
        if key not in flops_per_image:  # counted on an eager model: compiled graphs hide their ops from the counter
            counter_step = make_step(
                preset_name,
                cfg["batch"],
                device,
                amp=cfg["amp"],
                channels_last=cfg["channels_last"],
                compile=False,
                fused=cfg["fused"],
                total_steps=10,
            )
            train_flops = count_flops(counter_step, *batches[0])
            counter_step.model.eval()
            with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg["amp"]):
                model = counter_step.model
                infer_flops = count_flops(
                    lambda p, model=model: probabilities_per_image(model, preset.family, p, [(size, size)] * len(p)),
                    batches[0][0],
                )
            flops_per_image[key] = (train_flops / cfg["batch"], infer_flops / cfg["batch"])
            del counter_step
            reset_memory(device)
        train_fpi, infer_fpi = flops_per_image[key]
        step = make_step(
            preset_name,
            cfg["batch"],
            device,
            amp=cfg["amp"],
            channels_last=cfg["channels_last"],
            compile=cfg["compile"],
            fused=cfg["fused"],
            total_steps=warmup + steps,
        )
        if cfg.get("ddp"):
            step.model = one_process_ddp(step.model, device, preset.family)
        timing = time_training(step, batches, warmup, steps, cfg["sync"], device)
        train_peak = peak_gib(device)
        record = {
            "preset": preset_name,
            "variant": variant,
            "device": name,
            "size": size,
            **cfg,
            "params_m": sum(p.numel() for p in step.model.parameters()) / 1e6,
            "train_gflop_per_image": train_fpi / 1e9,
            "infer_gflop_per_image": infer_fpi / 1e9,
            "train_images_per_s": timing["images_per_s"],
            "train_step_ms": timing["step_ms"],
            "train_tflop_s": timing["images_per_s"] * train_fpi / 1e12,
            "train_peak_gib": train_peak,
            "warmup_seconds": timing["warmup_seconds"],
            "losses": timing["losses"],
        }
        if variant in ("before", "batch", "fp32"):  # inference: eager, as trashseg infer runs
            reset_memory(device)
            ips = time_inference(step.model, preset.family, batches[0][0], cfg["amp"], warmup, steps, device)
            record.update(infer_images_per_s=ips, infer_tflop_s=ips * infer_fpi / 1e12, infer_peak_gib=peak_gib(device))
        if peak:
            record["train_mfu"] = record["train_tflop_s"] / peak
            if "infer_tflop_s" in record:
                record["infer_mfu"] = record["infer_tflop_s"] / peak
        records.append(record)
        _append(out, [record])
        print(
            json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in record.items() if k != "losses"}),
            flush=True,
        )
        del step
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return records


def _append(out: Path | None, records: list[dict]) -> None:
    if out:
        with open(out, "a") as handle:
            for record in records:
                handle.write(json.dumps(record) + "\n")


def one_process_ddp(model: torch.nn.Module, device: torch.device, family: str) -> torch.nn.Module:
    """DistributedDataParallel over a world of one: what DDP itself costs (gradient buckets, all-reduce calls).

    The same ``data_parallel`` that ``trashseg train`` uses under torchrun; batch norm stays plain (with one
    process SyncBatchNorm falls back to it anyway), so only DDP's own work is added.
    """
    import socket

    import torch.distributed as dist

    from trashseg.components.train.distributed import data_parallel

    if not dist.is_initialized():
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        dist.init_process_group(
            "nccl" if device.type == "cuda" else "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1
        )
    return data_parallel(model, device, family)


def measure_loader(
    dataset: Path, split: Path, size: int, batch: int, batches: int, workers: tuple[int, ...]
) -> list[dict]:
    """Images/s of the training data loader alone (JPEG decode, resize, flips, collate, pinned memory), cold cache."""
    from trashseg.components.train.data import SampleSource
    from trashseg.components.train.loader import EpochBatches, make_loader
    from trashseg.data_contracts.split import Split

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    records = []
    for count in workers:
        source = SampleSource([dataset], Split(split), 0)
        steps = min(batches, len(source.train) // batch)
        loader = make_loader(source, size, EpochBatches(len(source.train), batch, steps, 0, True), 0, (), count, device)
        started = time.perf_counter()
        seen = sum(len(labels) for _, labels, _ in loader)
        record = {
            "loader_workers": count,
            "images": seen,
            "size": size,
            "loader_images_per_s": seen / (time.perf_counter() - started),
        }
        records.append(record)
        print(json.dumps(record), flush=True)
    return records


def real_train(
    dataset: Path, split: Path, out: Path, preset: str, size: int, epochs: int, batch: int, lr: float, compile: str
) -> dict:
    """``run_train`` itself on real photos: loss per epoch, images/s with the loader, peak memory."""
    import shutil

    from trashseg.components.train.logic import run_train
    from trashseg.components.train.params import TrainMachine, TrainParams
    from trashseg.data_contracts.model import ModelArtifact

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    reset_memory(device)
    params = TrainParams(
        preset=preset,
        fold=0,
        epochs=epochs,
        batch_size=batch,
        lr_backbone=lr,
        lr_head=lr,
        warmup_steps=10,
        image_size=size,
        seed=0,
    )
    started = time.perf_counter()
    run_train([dataset], split, out, params, overwrite=True, machine=TrainMachine(compile=compile))
    history = ModelArtifact(out).history().to_pandas()
    record = {
        "real_train": preset,
        "size": size,
        "batch": batch,
        "lr": lr,
        "compile": compile,
        "seconds": time.perf_counter() - started,
        "train_loss": history["train_loss"].round(4).tolist(),
        "val_miou": history["val_miou"].round(4).tolist(),
        "images_per_s": history["images_per_second"].round(1).tolist(),
        "peak_gib": peak_gib(device),
    }
    shutil.rmtree(out, ignore_errors=True)
    print(json.dumps(record), flush=True)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", type=Path, help="append JSON lines here")
    p = sub.add_parser("preset", parents=[common], help="FLOPs, images/s, MFU of one preset's variants")
    p.add_argument("name")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument(
        "--batch", type=int, help="batch of the 'batch' and 'compiled' variants (default: largest that fits)"
    )
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p = sub.add_parser("loader", parents=[common], help="the data loader's images/s alone")
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--split", type=Path, required=True)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--batches", type=int, default=10)
    p.add_argument("--workers", default="0,4,8,14")
    p = sub.add_parser("real-train", parents=[common], help="trashseg train on real photos")
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--split", type=Path, required=True)
    p.add_argument("--model", default="upernet-convnext")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--compile", default="off")
    p.add_argument("--work", type=Path, default=Path("/tmp/trashseg-real-train"))
    args = parser.parse_args(argv)
    if args.what == "preset":
        measure_preset(
            args.name,
            torch.device(args.device),
            args.size,
            args.warmup,
            args.steps,
            tuple(args.variants.split(",")),
            args.batch,
            args.out,
        )
        return 0
    elif args.what == "loader":
        records = measure_loader(
            args.dataset,
            args.split,
            args.size,
            args.batch,
            args.batches,
            tuple(int(w) for w in args.workers.split(",")),
        )
    else:
        records = [
            real_train(
                args.dataset,
                args.split,
                args.work / "model",
                args.model,
                args.size,
                args.epochs,
                args.batch,
                args.lr,
                args.compile,
            )
        ]
    _append(args.out, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
