"""What the train components (one pod, or a TrainJob launcher) do alike around training: read their kfp
parameters into ``TrainParams``, choose the start weights, publish the model with its metrics and report."""

from __future__ import annotations

import os
from typing import Any

from trashseg.components.train.params import TrainParams

NO_WEIGHTS = "NO_WEIGHTS"  # the marker file of "no pretrained model imported" (no_pretrained_op)


def params_from_task(**parameters: Any) -> TrainParams:
    """TrainParams from a train component's parameters; the unset sentinels (0, -1, "") mean "the preset's"
    (components.common.params.from_kfp)."""
    from trashseg.components.common.params import from_kfp

    return from_kfp(TrainParams, **parameters)


def start_weights(pretrained: str, pretrained_model: Any) -> str | None:
    """An imported model folder wins over ``pretrained`` (a hub id or folder); the no-weights marker means none."""
    if pretrained_model is not None and not os.path.exists(os.path.join(pretrained_model.path, NO_WEIGHTS)):
        return pretrained_model.path
    return pretrained or None


def publish_trained(model: Any, metrics: Any, report: Any, manifest: Any) -> None:
    """The model artifact's metadata, its validation metrics for the UI, and the training report."""
    from trashseg.components.common.kfp_io import log_metrics, publish, write_html
    from trashseg.components.train.report import training_report
    from trashseg.data_contracts.model import ModelArtifact

    publish(model, manifest)
    card = ModelArtifact(model.path).card
    log_metrics(metrics, {k: v for k, v in card["metrics"].items() if (k == "val_miou" or k.startswith("iou_")) and v is not None})
    write_html(report, training_report(model.path))
