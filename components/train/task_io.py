"""What the train components (one pod, or a TrainJob launcher) do alike around training: read their kfp
parameters into ``TrainParams``, choose the start weights, publish the model with its metrics and report."""

from __future__ import annotations

import os
from typing import Any

from components.train.logic import TrainParams

NO_WEIGHTS = "NO_WEIGHTS"  # the marker file of "no pretrained model imported" (no_pretrained_op)


def params_from_task(preset: str, fold: int, epochs: int, batch_size: int, lr_backbone: float, lr_head: float, warmup_steps: int,
                     schedule: str, image_size: int, seed: int, max_steps_per_epoch: int, augment: str,
                     from_scratch: bool, loss: str = "") -> TrainParams:
    """kfp parameters cannot be None: 0 stands for "the preset's" batch, learning rates and image size, -1 for its
    warmup steps (0 is a real choice there), "" for its loss."""
    from components.train.photometric import parse_augmentations

    return TrainParams(model=preset, fold=fold, epochs=epochs, batch_size=batch_size or None, lr_backbone=lr_backbone or None,
                       lr_head=lr_head or None, warmup_steps=warmup_steps if warmup_steps >= 0 else None, loss=loss, schedule=schedule, image_size=image_size or None,
                       seed=seed, max_steps_per_epoch=max_steps_per_epoch, augment=parse_augmentations(augment),
                       from_scratch=from_scratch)


def start_weights(pretrained: str, pretrained_model: Any) -> str | None:
    """An imported model folder wins over ``pretrained`` (a hub id or folder); the no-weights marker means none."""
    if pretrained_model is not None and not os.path.exists(os.path.join(pretrained_model.path, NO_WEIGHTS)):
        return pretrained_model.path
    return pretrained or None


def publish_trained(model: Any, metrics: Any, report: Any, manifest: Any) -> None:
    """The model artifact's metadata, its validation metrics for the UI, and the training report."""
    from components.common.kfp_io import log_metrics, publish, write_html
    from components.train.report import training_report
    from data_contracts.model import ModelArtifact

    publish(model, manifest)
    card = ModelArtifact(model.path).card
    log_metrics(metrics, {k: v for k, v in card["metrics"].items() if (k == "val_miou" or k.startswith("iou_")) and v is not None})
    write_html(report, training_report(model.path))
