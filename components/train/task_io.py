"""What the train component does around training: train in this pod (with torchrun above one GPU) or across nodes as
a TrainJob, then publish the model with its metrics and report. Kept out of the component so a test can call it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trashseg.components.train.params import TrainParams


def run_train_task(
    params: TrainParams,
    dataset: Any,
    split: Any,
    extra: list[Any],
    model: Any,
    metrics: Any,
    report: Any,
    pretrained: str | None,
    checkpoint_root: str | None,
    gpus: int,
    nodes: int,
    trainjob: dict,
    node_selector: dict,
    tolerations: list,
) -> None:
    """Train with the task's artifacts (``extra``: the optional training-only datasets) and publish the model."""
    from trashseg.components.common import checks

    datasets = [Path(dataset.path)] + [Path(a.path) for a in extra if a is not None]
    checks.number("--gpus", gpus, low=0, high=64, integer=True)
    checks.number("--nodes", nodes, low=1, high=256, integer=True)
    if nodes > 1:
        from trashseg.components.train.trainjob import launch_from_task

        manifest = launch_from_task(
            params,
            datasets,
            Path(split.path),
            Path(model.path),
            pretrained,
            checkpoint_root,
            gpus,
            nodes,
            trainjob,
            node_selector,
            tolerations,
        )
    elif gpus > 1:
        from trashseg.components.train.launch import run_torchrun, train_arguments
        from trashseg.data_contracts.model import ModelArtifact

        run_torchrun(
            gpus,
            train_arguments(
                datasets,
                Path(split.path),
                Path(model.path),
                params,
                pretrained,
                checkpoint_root,
                resume=True,
                overwrite=True,
            ),
        )
        manifest = ModelArtifact(model.path).manifest
    else:
        from trashseg.components.train.logic import run_train

        manifest = run_train(
            datasets,
            Path(split.path),
            Path(model.path),
            params,
            pretrained,
            checkpoint_root,
            resume=True,
            overwrite=True,
        )
    publish_trained(model, metrics, report, manifest)


def publish_trained(model: Any, metrics: Any, report: Any, manifest: Any) -> None:
    """The model artifact's metadata, its validation metrics for the UI, and the training report."""
    from trashseg.components.common.kfp_io import log_metrics, publish, write_html
    from trashseg.components.train.report import training_report
    from trashseg.data_contracts.model import ModelArtifact

    publish(model, manifest)
    card = ModelArtifact(model.path).card
    log_metrics(
        metrics,
        {k: v for k, v in card["metrics"].items() if (k == "val_miou" or k.startswith("iou_")) and v is not None},
    )
    write_html(report, training_report(model.path))
