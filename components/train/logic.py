"""train: datasets + split + fold -> the best model by validation mIoU (a ``model`` artifact)."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from components.common.errors import TrainingDiverged
from components.common.log import get_logger, progress
from components.common.metrics import confusion_matrix, iou_per_class, mean_iou, pixel_accuracy
from components.models.build import build_model
from components.models.forward import IMAGENET_MEAN, IMAGENET_STD, keep_matcher_in_fp32, normalise, probabilities_per_image, training_loss
from components.models.presets import get_preset
from components.train import checkpoint, photometric
from components.train.data import Sample, SampleSource, epoch_order, flip_decisions
from components.train.optim import make_optimizer
from data_contracts.artifact import Manifest, atomic_directory, prepare_output
from data_contracts.classes import IGNORE_INDEX
from data_contracts.errors import ContractError
from data_contracts.model import HISTORY_FILE, write_model_manifest
from data_contracts.split import Split
from data_contracts.tables import write_table

log = get_logger("trashseg.train")


@dataclass
class TrainParams:
    """Every knob of a training run; unset ones take the preset's values."""

    model: str = "upernet-convnext-tiny"
    fold: int = 0
    epochs: int = 10
    batch_size: int | None = None
    lr_backbone: float | None = None
    lr_head: float | None = None
    warmup_steps: int = 0
    schedule: str = "poly"
    weight_decay: float = 0.01
    image_size: int | None = None
    seed: int = 42
    hflip: bool = True
    device: str = "auto"
    precision: str = "auto"
    max_steps_per_epoch: int = 0  # 0 = whole epoch; a cap for quick runs and benchmarks
    augment: tuple[str, ...] = ()  # photometric/crop augmentations (components.train.photometric), off by default

    def resolved(self) -> "TrainParams":
        preset = get_preset(self.model)
        return replace(
            self,
            batch_size=self.batch_size or preset.batch_size,
            lr_backbone=self.lr_backbone if self.lr_backbone is not None else preset.lr_backbone,
            lr_head=self.lr_head if self.lr_head is not None else preset.lr_head,
            image_size=self.image_size or preset.image_size,
        )


def pick_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ContractError("--device", f"{requested} requested but no CUDA device is available", field="device")
    return torch.device(requested)


def pick_autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """None = fp32. ``auto`` is bf16 on GPUs that have it, fp32 on CPU."""
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if precision in ("auto", "bf16"):
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            return torch.float16 if precision == "auto" else None
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    raise ContractError("--precision", f"unknown precision {precision!r} (auto, fp32, bf16, fp16)", field="precision")


def batch_tensors(source: SampleSource, samples: list[Sample], size: int, flips: np.ndarray | None,
                  device: torch.device, augmentations: tuple[str, ...] = (), rngs: list[np.random.Generator] | None = None,
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    images, masks = [], []
    for k, sample in enumerate(samples):
        image, mask = source.pair(sample, size)
        if flips is not None and flips[k]:
            image, mask = image[:, ::-1], mask[:, ::-1]
        if augmentations:
            image, mask = photometric.augment(np.ascontiguousarray(image), np.ascontiguousarray(mask), augmentations, rngs[k])
        images.append(image)
        masks.append(mask)
    pixels = torch.from_numpy(np.ascontiguousarray(np.stack(images))).to(device)
    labels = torch.from_numpy(np.ascontiguousarray(np.stack(masks))).to(device).long()
    return normalise(pixels), labels


@torch.no_grad()
def validate(model, family: str, source: SampleSource, samples: list[Sample], size: int, batch_size: int,
             device: torch.device, amp_dtype: torch.dtype | None) -> np.ndarray:
    """Confusion matrix over the validation images, predicted at ``size`` and scored at their own size."""
    model.eval()
    cm = np.zeros((source.classes.num_classes,) * 2, dtype=np.int64)
    for start in range(0, len(samples), batch_size):
        chunk = samples[start:start + batch_size]
        resized = np.stack([source.pair(s, size)[0] for s in chunk])
        pixels = normalise(torch.from_numpy(resized).to(device))
        truths = [source.original(sample)[1] for sample in chunk]
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            per_image = probabilities_per_image(model, family, pixels, [truth.shape for truth in truths])
        for truth, probs in zip(truths, per_image):
            cm += confusion_matrix(truth, probs.argmax(0).cpu().numpy(), source.classes.num_classes)
    return cm


def _compatible(saved: dict, current: dict) -> None:
    ignore = {"epochs", "device", "precision"}
    diffs = {k: (saved.get(k), v) for k, v in current.items() if k not in ignore and saved.get(k) != v}
    if diffs:
        raise ContractError("--resume", f"the checkpoint was made with other parameters: {diffs}", field="resume")


def checkpoint_dir_for(root: str | Path, dataset_dirs: list, split_dir: Path, params: TrainParams) -> Path:
    """A checkpoint directory keyed by the inputs' content and the parameters.

    A retried task (same inputs) finds its own checkpoints; a run with other
    inputs never picks up someone else's.
    """
    import hashlib

    from data_contracts.artifact import read_manifest

    hashes = [read_manifest(Path(d), "dataset", (1,), verify_hashes=False).content_hash for d in dataset_dirs]
    key = json.dumps({"datasets": hashes, "split": Split(split_dir).content_hash, "params": asdict(params.resolved())}, sort_keys=True)
    return Path(root) / f"train-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def run_train(dataset_dirs: list[Path], split_dir: Path, out: Path, params: TrainParams, pretrained: Path | None = None,
              checkpoint_dir: Path | None = None, resume: bool = False, keep_checkpoints: bool = False,
              overwrite: bool = False) -> Manifest:
    params = params.resolved()
    preset = get_preset(params.model)
    out = Path(out)
    prepare_output(out, overwrite)
    checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else out.with_name(out.name + ".checkpoints")
    source = SampleSource([Path(p) for p in dataset_dirs], Split(split_dir), params.fold)
    if not source.validation:
        raise ContractError(split_dir, f"fold {params.fold} has no images to validate on", field="fold")
    device = pick_device(params.device)
    amp_dtype = pick_autocast_dtype(params.precision, device)
    model = build_model(preset, source.classes, pretrained, seed=params.seed).to(device)
    if preset.family == "mask2former":
        keep_matcher_in_fp32(model)
    if device.type == "cuda" and preset.family == "upernet":
        model = model.to(memory_format=torch.channels_last)

    # Drop the last partial batch: a batch of one breaks batch norm in the pooling head.
    steps_per_epoch = max(1, len(source.train) // params.batch_size)
    if params.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, params.max_steps_per_epoch)
    optimizer, scheduler = make_optimizer(model, preset.family, params.lr_backbone, params.lr_head, params.weight_decay,
                                          steps_per_epoch * params.epochs, params.warmup_steps, params.schedule)
    scaler = torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None
    run_params = {**asdict(params), "augment": list(params.augment), "datasets": source.hashes(), "split": Split(split_dir).content_hash,
                  "pretrained": str(pretrained) if pretrained else None}
    ran_on = {"device_used": str(device), "autocast": str(amp_dtype).replace("torch.", "") if amp_dtype else "fp32"}

    state = {"epoch": 0, "best_miou": -1.0, "best_epoch": 0, "history": [], "params": run_params}
    if resume:
        restored = checkpoint.load_last(checkpoint_dir, model, optimizer, scheduler, scaler)
        if restored is not None:
            _compatible(restored["params"], run_params)
            state = {**restored, "params": run_params}
            log.info("resuming from %s after epoch %d (best mIoU %.4f)", checkpoint_dir, state["epoch"], state["best_miou"])
    elif (checkpoint_dir / checkpoint.LAST).exists():
        log.info("ignoring existing checkpoints in %s (pass --resume to continue from them)", checkpoint_dir)
        shutil.rmtree(checkpoint_dir)

    log.info("training %s on %d images (+%d validation, fold %d) for %d epochs on %s%s", params.model, len(source.train),
             len(source.validation), params.fold, params.epochs, device, f" with {amp_dtype} autocast" if amp_dtype else "")
    for epoch in range(state["epoch"] + 1, params.epochs + 1):
        model.train()
        order = epoch_order(len(source.train), params.seed, epoch)
        flips = flip_decisions(len(source.train), params.seed, epoch) if params.hflip else None
        losses, started, seen = [], time.perf_counter(), 0
        bar = progress(range(steps_per_epoch), f"epoch {epoch}/{params.epochs}", unit="step")
        for step in bar:
            index = order[step * params.batch_size:(step + 1) * params.batch_size]
            rngs = [np.random.default_rng([params.seed, epoch, 2, int(i)]) for i in index] if params.augment else None
            pixels, labels = batch_tensors(source, [source.train[i] for i in index], params.image_size,
                                           None if flips is None else flips[index], device, tuple(params.augment), rngs)
            if device.type == "cuda" and preset.family == "upernet":
                pixels = pixels.contiguous(memory_format=torch.channels_last)
            if not bool((labels != IGNORE_INDEX).any()):
                scheduler.step()  # nothing to learn from (all pixels ignored): keep the schedule in step
                continue
            with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                loss = training_loss(model, preset.family, pixels, labels)
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"loss became {loss.item()} at epoch {epoch}, step {step + 1}: nothing was saved. "
                                       "Lower --lr-head/--lr-backbone or use --precision fp32.")
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            seen += len(index)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{losses[-1]:.3f}", img_s=f"{seen / (time.perf_counter() - started):.1f}")
        if not losses:
            raise ContractError(source.datasets[0].path, f"epoch {epoch} had no labeled pixel to train on")
        train_seconds = time.perf_counter() - started
        cm = validate(model, preset.family, source, source.validation, params.image_size, params.batch_size, device, amp_dtype)
        iou = iou_per_class(cm)
        record = {
            "epoch": epoch, "train_loss": float(np.mean(losses)), "val_miou": mean_iou(cm), "val_pixel_accuracy": pixel_accuracy(cm),
            "lr_backbone": optimizer.param_groups[0]["lr"], "lr_head": optimizer.param_groups[1]["lr"],
            "seconds": time.perf_counter() - started, "images_per_second": seen / train_seconds,
            **{f"iou_{name}": (None if np.isnan(v) else float(v)) for name, v in zip(source.classes.names, iou)},
        }
        state["history"].append(record)
        log.info("epoch %d: loss %.4f, val mIoU %.4f (%.1f s)", epoch, record["train_loss"], record["val_miou"], record["seconds"])
        if record["val_miou"] > state["best_miou"]:
            state.update(best_miou=record["val_miou"], best_epoch=epoch)
            checkpoint.save_best(checkpoint_dir, model)
        state["epoch"] = epoch
        checkpoint.save_last(checkpoint_dir, model, optimizer, scheduler, scaler, state)

    manifest = _write_model(out, checkpoint_dir, state, params, preset, source, ran_on, overwrite)
    if not keep_checkpoints:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return manifest


def _write_model(out: Path, checkpoint_dir: Path, state: dict, params: TrainParams, preset, source: SampleSource,
                 ran_on: dict, overwrite: bool) -> Manifest:
    best = state["history"][state["best_epoch"] - 1]
    card = {
        "preset": preset.name, "family": preset.family, "classes": source.classes.to_records(),
        "image_size": params.image_size, "normalisation": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "training": {**state["params"], **ran_on}, "best_epoch": state["best_epoch"], "epochs_run": state["epoch"],
        "metrics": {k: v for k, v in best.items() if k != "epoch"},
    }
    with atomic_directory(out, overwrite) as tmp:
        for name in ("config.json", "model.safetensors"):
            shutil.copy2(checkpoint_dir / checkpoint.BEST / name, tmp / name)
        history = pd.DataFrame(state["history"])
        table = pa.Table.from_pandas(history, preserve_index=False)
        write_table(tmp / HISTORY_FILE, table, table.schema)
        manifest = write_model_manifest(tmp, card, {"stage": "train", "params": state["params"]})
    log.info("wrote model %s: best epoch %d, val mIoU %.4f", out, state["best_epoch"], state["best_miou"])
    return manifest

