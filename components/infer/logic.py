"""infer: batched, streaming prediction with optional test-time augmentation.

Images are resized to the model's training size (times each TTA scale),
probabilities come back to each image's own size and are averaged over the TTA
views before the argmax. One batch lives in memory at a time. ``--model`` takes
a model artifact (torch) or its ONNX export (ONNX Runtime); both predict through
components.models.predict, as ``trashseg serve`` does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from trashseg.components.common import checks
from trashseg.components.common.log import get_logger, progress
from trashseg.components.common.machine import Machine
from trashseg.components.infer.params import InferParams
from trashseg.components.models.predict import check_same_classes, check_tta, load_predictor
from trashseg.data_contracts.artifact import Manifest, atomic_directory, prepare_output
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.exported import open_model_or_export
from trashseg.data_contracts.predictions import CONTRACT as PREDICTIONS_CONTRACT
from trashseg.data_contracts.predictions import PredictionsWriter
from trashseg.data_contracts.split import Split

log = get_logger("trashseg.infer")


def _batches(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


@dataclass(frozen=True)
class InferJob:
    """One set of images to predict with the model: a dataset, or one fold of it, and where its predictions go."""

    dataset_dir: Path
    out: Path
    split_dir: Path | None = None
    fold: int | None = None


def run_infer(
    model_dir: Path,
    dataset_dir: Path,
    out: Path,
    params: InferParams | None = None,
    split_dir: Path | None = None,
    fold: int | None = None,
    overwrite: bool = False,
    machine: Machine | None = None,
) -> Manifest:
    """Predict every image of the dataset, or with ``split_dir``/``fold`` only that fold's (the validation images)."""
    return run_infer_jobs(
        model_dir, [InferJob(Path(dataset_dir), Path(out), split_dir, fold)], params, overwrite, machine
    )[0]


def run_infer_jobs(
    model_dir: Path,
    jobs: list[InferJob],
    params: InferParams | None = None,
    overwrite: bool = False,
    machine: Machine | None = None,
) -> list[Manifest]:
    """Predict several sets with one loaded model (a round's validation fold and the test set in one task).

    Why one call: a kfp task pays its interpreter, torch and transformers start-up
    and the model load once; the pipelines used to start a task per set. Every
    job's inputs and output are checked before the model is loaded, so bad input
    in the second job stops the first one too.
    """
    params, machine = params or InferParams(), machine or Machine()
    params.check()
    machine.check()
    every_input = [Path(model_dir)] + [
        Path(p) for job in jobs for p in (job.dataset_dir, job.split_dir) if p is not None
    ]
    artifact = open_model_or_export(model_dir)
    check_tta(artifact, params)
    planned = []
    for k, job in enumerate(jobs):
        checks.together("--fold", job.fold, "--split", job.split_dir)
        inputs = [Path(model_dir), Path(job.dataset_dir), *([Path(job.split_dir)] if job.split_dir is not None else [])]
        # no job's output may overwrite any job's input, or another job's output
        prepare_output(
            Path(job.out),
            overwrite,
            PREDICTIONS_CONTRACT,
            every_input + [Path(o.out) for j, o in enumerate(jobs) if j != k],
        )
        dataset = Dataset(job.dataset_dir)
        check_same_classes(dataset, artifact)
        ids = dataset.image_ids
        if job.split_dir is not None:
            ids = Split(job.split_dir).partition(dataset.content_hash, dataset.path, ids, job.fold)[1]
        planned.append((job, inputs, dataset, ids))
    predictor = load_predictor(artifact, machine.device, machine.precision)
    device = predictor.device
    producer = {"stage": "infer", "params": {**asdict(params), **asdict(machine)}}
    manifests = []
    for job, inputs, dataset, ids in planned:
        log.info(
            "predicting %d images of %s with %s (%s) on %s, TTA %s",
            len(ids),
            job.dataset_dir,
            model_dir,
            artifact.preset,
            device,
            params.tta_text(),
        )
        with atomic_directory(Path(job.out), overwrite, PREDICTIONS_CONTRACT, inputs) as tmp:
            writer = PredictionsWriter(tmp, artifact.classes, params.save_probs)
            bar = progress(
                _batches(ids, params.batch_size), "infer", total=-(-len(ids) // params.batch_size), unit="batch"
            )
            for batch_ids in bar:
                images = [dataset.image(i) for i in batch_ids]
                for image_id, probs in zip(batch_ids, predictor.probabilities(images, params)):
                    record = dataset.record(image_id)
                    writer.add(
                        image_id,
                        str(record["file_name"]),
                        probs.argmax(0).astype(np.uint8),
                        probs if params.save_probs else None,
                    )
            manifests.append(
                writer.finish(
                    producer,
                    {
                        "source": artifact.manifest.contract,
                        "model_hash": artifact.content_hash,
                        "model_preset": artifact.preset,
                        "dataset_hash": dataset.content_hash,
                    },
                )
            )
        log.info("wrote predictions %s", job.out)
    return manifests
