"""train: datasets + split + fold -> the best model by validation mIoU (a ``model`` artifact)."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from trashseg.components.common.errors import TrainingDiverged
from trashseg.components.common.log import get_logger, progress
from trashseg.components.common.metrics import confusion_matrix, iou_per_class, mean_iou, pixel_accuracy
from trashseg.components.models.build import build_model
from trashseg.components.models.device import pick_autocast_dtype, pick_device
from trashseg.components.models.family import get_family
from trashseg.components.models.forward import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    anneal_attention_masks,
    normalise,
    probabilities_per_image,
)
from trashseg.components.models.presets import get_preset
from trashseg.components.models.pretrained import Start, resolve_start
from trashseg.components.train import checkpoint, distributed
from trashseg.components.train.data import Sample, SampleSource
from trashseg.components.train.loader import EpochBatches, default_workers, make_loader, to_device
from trashseg.components.train.optim import make_optimizer
from trashseg.components.train.params import TrainMachine, TrainParams
from trashseg.components.train.step import StepSettings, TrainStep, prepare_model
from trashseg.data_contracts.artifact import (
    Manifest,
    atomic_directory,
    check_not_an_input,
    check_writable,
    prepare_output,
)
from trashseg.data_contracts.errors import ContractError, ParameterError
from trashseg.data_contracts.model import CONTRACT as MODEL_CONTRACT
from trashseg.data_contracts.model import HISTORY_FILE, ModelArtifact, write_model_manifest
from trashseg.data_contracts.split import Split
from trashseg.data_contracts.tables import write_table

log = get_logger("trashseg.train")


@torch.no_grad()
def validate(
    model,
    family: str,
    source: SampleSource,
    samples: list[Sample],
    size: int,
    batch_size: int,
    device: torch.device,
    amp_dtype: torch.dtype | None,
) -> np.ndarray:
    """Confusion matrix over the validation images, predicted at ``size`` and scored at their own size."""
    model.eval()
    cm = np.zeros((source.classes.num_classes,) * 2, dtype=np.int64)
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        resized = np.stack([source.pair(s, size)[0] for s in chunk])
        pixels = normalise(torch.from_numpy(resized).to(device))
        truths = [source.original(sample)[1] for sample in chunk]
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            per_image = probabilities_per_image(model, family, pixels, [truth.shape for truth in truths])
        for truth, probs in zip(truths, per_image):
            cm += confusion_matrix(truth, probs.argmax(0).cpu().numpy(), source.classes.num_classes)
    return cm


# A resumed run may ask for more epochs: it continues the same run (how it runs, TrainMachine, is not in the key at
# all).
NOT_IN_CHECKPOINT_KEY = ("epochs",)


def checkpoint_key(dataset_hashes: list[str], split_hash: str, params: TrainParams, start: dict) -> str:
    """The folder name of one run's checkpoints: a hash of its inputs' content, its parameters and its start weights.

    Why the start is in it: the same data and parameters from other weights is another run; keyed apart, a second
    run on the same checkpoint folder trains instead of refusing, and a retried task (same inputs) still resumes.
    """
    import hashlib

    learned = {k: v for k, v in asdict(params.resolved()).items() if k not in NOT_IN_CHECKPOINT_KEY}
    key = json.dumps(
        {"datasets": dataset_hashes, "split": split_hash, "params": learned, "start": start},
        sort_keys=True,
        default=list,
    )
    return f"train-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def run_train(
    dataset_dirs: list[Path],
    split_dir: Path,
    out: Path,
    params: TrainParams,
    pretrained: str | Path | None = None,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    keep_checkpoints: bool = False,
    overwrite: bool = False,
    machine: TrainMachine | None = None,
) -> Manifest:
    """Train one model; as one process, or as every rank of a ``torchrun`` launch (``components.train.distributed``).

    Checkpoints go to a sub-folder of ``checkpoint_dir`` (default OUT.checkpoints) named by ``checkpoint_key``, so
    several runs can share one folder (a claim on a cluster) and ``resume`` continues only the same run.
    """
    machine = machine or TrainMachine()
    params.check()
    machine.check()
    params = params.resolved()
    preset = get_preset(params.preset)
    world = distributed.world_from_env()
    if params.batch_size % world.size:
        raise ParameterError(
            "--batch-size",
            f"{params.batch_size} does not divide among {world.size} processes "
            f"(the global batch is split evenly; use a multiple of {world.size})",
        )
    out = Path(out)
    inputs = [*map(Path, dataset_dirs), Path(split_dir)]
    prepare_output(out, overwrite, MODEL_CONTRACT, inputs)
    checkpoint_dir_given = checkpoint_dir is not None
    checkpoint_root = Path(checkpoint_dir) if checkpoint_dir else out.with_name(out.name + ".checkpoints")
    check_not_an_input(checkpoint_root, inputs)
    try:
        check_writable(checkpoint_root)
    except ContractError as err:  # on a cluster: a claim whose root the image's user may not write (docs/cluster.md, 5)
        raise ContractError(
            checkpoint_root,
            f"checkpoints cannot be written here by user {os.getuid()} ({str(err).rsplit(': ', 1)[-1]}); "
            "a claim's root must belong to that user or its group",
            field="checkpoint_dir",
        ) from None
    split = Split(split_dir)
    source = SampleSource([Path(p) for p in dataset_dirs], split, params.fold)
    if not source.validation:
        raise ContractError(split_dir, f"fold {params.fold} has no images to validate on", field="fold")
    device = distributed.rank_device(world, pick_device(machine.device))
    # after every cheap check: resolving a hub id may download a checkpoint
    start = resolve_start(pretrained, preset.checkpoint, preset.checkpoint_weights, params.from_scratch)
    if start.kind == "folder":
        for written in (out, checkpoint_root):
            check_not_an_input(written, [start.directory])
        inputs.append(start.directory)
    checkpoint_dir = checkpoint_root / checkpoint_key(source.hashes(), split.content_hash, params, start.record())
    distributed.start(world, device)
    if not world.is_main:
        log.setLevel("WARNING")  # one rank speaks
    try:
        manifest = _train(
            source,
            split.content_hash,
            out,
            params,
            machine,
            preset,
            world,
            device,
            start,
            checkpoint_dir,
            resume,
            overwrite,
            inputs,
        )
        distributed.barrier(world)
    finally:
        distributed.stop(world)
    if world.is_main and not keep_checkpoints:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        if not checkpoint_dir_given and checkpoint_root.is_dir() and not any(checkpoint_root.iterdir()):
            checkpoint_root.rmdir()
    return manifest if manifest is not None else ModelArtifact(out).manifest


def _train(
    source: SampleSource,
    split_hash: str,
    out: Path,
    params: TrainParams,
    machine: TrainMachine,
    preset,
    world: distributed.World,
    device: torch.device,
    start: Start,
    checkpoint_dir: Path,
    resume: bool,
    overwrite: bool,
    inputs: list[Path],
) -> Manifest | None:
    """The epochs; returns the model manifest on rank 0 (None on the other ranks, which write nothing)."""
    amp_dtype = pick_autocast_dtype(machine.precision, device)
    settings = StepSettings(
        family=preset.family,
        amp_dtype=amp_dtype,
        channels_last=device.type == "cuda" and get_family(preset.family).channels_last,
        compile=machine.compile == "on" or (machine.compile == "auto" and device.type == "cuda"),
        loss=params.loss,
    )
    core = build_model(preset, source.classes, start, seed=params.seed).to(device)
    core = prepare_model(distributed.sync_batchnorm(core, world, device), settings)

    # Drop the last partial batch: a batch of one breaks batch norm in the pooling head.
    steps_per_epoch = max(1, len(source.train) // params.batch_size)
    if params.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, params.max_steps_per_epoch)
    optimizer, scheduler = make_optimizer(
        core,
        preset.family,
        params.lr_backbone,
        params.lr_head,
        params.weight_decay,
        steps_per_epoch * params.epochs,
        params.warmup_steps,
        params.schedule,
        fused=device.type == "cuda",
    )
    scaler = torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None
    run_params = {
        **asdict(params),
        **asdict(machine),
        "datasets": source.hashes(),
        "split": split_hash,
        "pretrained": start.record(),
    }
    ran_on = {
        "device_used": str(device),
        "autocast": str(amp_dtype).replace("torch.", "") if amp_dtype else "fp32",
        "compiled": settings.compile,
        "processes": world.size,
    }

    state = {"epoch": 0, "best_miou": -1.0, "best_epoch": 0, "history": [], "params": run_params}
    if resume:
        restored = checkpoint.load_last(checkpoint_dir, core, optimizer, scheduler, scaler)
        if restored is not None:  # the key holds what was learned from: only how it runs may differ
            state = {**restored, "params": run_params}
            log.info(
                "resuming from %s after epoch %d (best mIoU %.4f)", checkpoint_dir, state["epoch"], state["best_miou"]
            )
    elif (checkpoint_dir / checkpoint.LAST).exists() and world.is_main:
        log.info("ignoring existing checkpoints in %s (pass --resume to continue from them)", checkpoint_dir)
        shutil.rmtree(checkpoint_dir)
    model = distributed.wrap(core, world, device, preset.family)
    step = TrainStep(model, settings, optimizer, scheduler, scaler)
    batches = EpochBatches(len(source.train), params.batch_size, steps_per_epoch, params.seed, params.hflip, world)
    workers = default_workers(device, world.local_size) if machine.workers < 0 else machine.workers
    loader = make_loader(source, params.image_size, batches, params.seed, tuple(params.photometric), workers, device)
    validation = distributed.strided(source.validation, world)

    log.info(
        "training %s (from %s) on %d images (+%d validation, fold %d) for %d epochs on %s%s%s",
        params.preset,
        start.source or "random weights",
        len(source.train),
        len(source.validation),
        params.fold,
        params.epochs,
        device,
        f" with {amp_dtype} autocast" if amp_dtype else "",
        f", {world.size} processes" if world.distributed else "",
    )
    for epoch in range(state["epoch"] + 1, params.epochs + 1):
        if preset.model_family.anneals_attention_masks:
            anneal_attention_masks(core, (epoch - 1) / max(1, params.epochs - 1))
        model.train()
        batches.set_epoch(epoch)
        started = time.perf_counter()
        epoch_losses, seen = _train_epoch(step, loader, epoch, params.epochs, steps_per_epoch, world, device)
        if epoch_losses is None:
            raise ContractError(source.datasets[0].path, f"epoch {epoch} had no labeled pixel to train on")
        finite = torch.isfinite(epoch_losses)
        if not bool(finite.all()):
            bad = int((~finite).nonzero()[0])
            raise TrainingDiverged(
                f"loss became {float(epoch_losses[bad])} at epoch {epoch}, step {bad + 1}: nothing was saved. "
                "Lower --lr-head/--lr-backbone or use --precision fp32."
            )
        train_seconds = time.perf_counter() - started
        local_cm = validate(
            core,
            preset.family,
            source,
            validation,
            params.image_size,
            max(1, params.batch_size // world.size),
            device,
            amp_dtype,
        )
        cm = distributed.sum_array(local_cm, world)
        iou = iou_per_class(cm)
        record = {
            "epoch": epoch,
            "train_loss": float(epoch_losses.double().mean()),
            "val_miou": mean_iou(cm),
            "val_pixel_accuracy": pixel_accuracy(cm),
            "lr_backbone": optimizer.param_groups[0]["lr"],
            "lr_head": optimizer.param_groups[1]["lr"],
            "seconds": time.perf_counter() - started,
            "images_per_second": seen * world.size / train_seconds,
            **{f"iou_{name}": (None if np.isnan(v) else float(v)) for name, v in zip(source.classes.names, iou)},
        }
        state["history"].append(record)
        log.info(
            "epoch %d: loss %.4f, val mIoU %.4f (%.1f s)",
            epoch,
            record["train_loss"],
            record["val_miou"],
            record["seconds"],
        )
        improved = record["val_miou"] > state["best_miou"]
        if improved:
            state.update(best_miou=record["val_miou"], best_epoch=epoch)
        state["epoch"] = epoch
        if world.is_main:  # one writer; the other ranks hold the same weights
            if improved:
                checkpoint.save_best(checkpoint_dir, core)
            checkpoint.save_last(checkpoint_dir, core, optimizer, scheduler, scaler, state)
    return (
        _write_model(out, checkpoint_dir, state, params, preset, source, ran_on, overwrite, inputs)
        if world.is_main
        else None
    )


def _train_epoch(
    step: TrainStep, loader, epoch: int, epochs: int, steps: int, world: distributed.World, device: torch.device
) -> tuple[torch.Tensor | None, int]:
    """One pass over the loader: the step losses (mean over ranks, on the CPU) and the images this rank saw."""
    losses, seen, started = [], 0, time.perf_counter()
    bar = progress(loader, f"epoch {epoch}/{epochs}", total=steps, unit="step")
    for pixels, labels, labeled in bar:
        if not distributed.all_ranks(labeled, world, device):
            step.skip()
            continue
        losses.append(step(*to_device(pixels, labels, device)))
        seen += len(labels)
        if hasattr(bar, "set_postfix") and len(losses) % 20 == 0:  # one host sync per 20 steps, for the bar only
            bar.set_postfix(
                loss=f"{float(losses[-1]):.3f}", img_s=f"{seen * world.size / (time.perf_counter() - started):.1f}"
            )
    if not losses:
        return None, seen
    return distributed.mean_tensor(torch.stack(losses).float(), world).cpu(), seen  # the epoch's one host sync


def _write_model(
    out: Path,
    checkpoint_dir: Path,
    state: dict,
    params: TrainParams,
    preset,
    source: SampleSource,
    ran_on: dict,
    overwrite: bool,
    inputs: list[Path],
) -> Manifest:
    best = state["history"][state["best_epoch"] - 1]
    card = {
        "preset": preset.name,
        "family": preset.family,
        "classes": source.classes.to_records(),
        "image_size": params.image_size,
        "normalisation": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "training": {**state["params"], **ran_on},
        "best_epoch": state["best_epoch"],
        "epochs_run": state["epoch"],
        "metrics": {k: v for k, v in best.items() if k != "epoch"},
    }
    with atomic_directory(out, overwrite, MODEL_CONTRACT, inputs) as tmp:
        for name in ("config.json", "model.safetensors"):
            shutil.copy2(checkpoint_dir / checkpoint.BEST / name, tmp / name)
        history = pd.DataFrame(state["history"])
        table = pa.Table.from_pandas(history, preserve_index=False)
        write_table(tmp / HISTORY_FILE, table, table.schema)
        manifest = write_model_manifest(tmp, card, {"stage": "train", "params": state["params"]})
    log.info("wrote model %s: best epoch %d, val mIoU %.4f", out, state["best_epoch"], state["best_miou"])
    return manifest
