"""infer: batched, streaming prediction with optional test-time augmentation.

Images are resized to the model's training size (times each TTA scale),
probabilities come back to each image's own size and are averaged over the TTA
views before the argmax. One batch lives in memory at a time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from trashseg.components.common import checks
from trashseg.components.common.log import get_logger, progress
from trashseg.components.common.machine import Machine
from trashseg.components.common.resize import resize_pair
from trashseg.components.infer.params import InferParams
from trashseg.components.models.build import load_model
from trashseg.components.models.device import pick_autocast_dtype, pick_device
from trashseg.components.models.family import get_family
from trashseg.components.models.forward import normalise, probabilities_per_image
from trashseg.data_contracts.artifact import Manifest, atomic_directory, prepare_output
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.errors import ContractError, ParameterError
from trashseg.data_contracts.model import ModelArtifact
from trashseg.data_contracts.predictions import CONTRACT as PREDICTIONS_CONTRACT
from trashseg.data_contracts.predictions import PredictionsWriter
from trashseg.data_contracts.split import Split

log = get_logger("trashseg.infer")


def _batches(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def view_size(base: int, scale: float) -> int:
    """Scaled side rounded to a multiple of 32 (what the backbones' strides divide cleanly)."""
    return max(32, int(round(base * scale / 32.0)) * 32)


@torch.no_grad()
def predict_batch(
    model,
    family: str,
    images: list[np.ndarray],
    base_size: int,
    views: list[tuple[float, bool]],
    device: torch.device,
    amp_dtype: torch.dtype | None,
) -> list[np.ndarray]:
    """Per-image (C, H, W) float32 probabilities, averaged over the TTA views."""
    totals: list[torch.Tensor | None] = [None] * len(images)
    for scale, flipped in views:
        side = view_size(base_size, scale)
        batch = np.stack([resize_pair(image, None, side)[0] for image in images])
        pixels = normalise(torch.from_numpy(batch).to(device))
        if flipped:
            pixels = pixels.flip(-1)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            per_image = probabilities_per_image(model, family, pixels, [image.shape[:2] for image in images])
        for k, probs in enumerate(per_image):
            if flipped:
                probs = probs.flip(-1)
            totals[k] = probs if totals[k] is None else totals[k] + probs
    return [(t / len(views)).float().cpu().numpy() for t in totals]


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
    artifact = ModelArtifact(model_dir)
    try:
        get_family(artifact.family)
    except ContractError as err:
        raise ContractError(
            Path(model_dir) / "trashseg_model.json", str(err).rsplit(": ", 1)[-1], field="family"
        ) from None
    if get_family(artifact.family).fixed_input_size and list(params.tta_scales) != [1.0]:
        raise ParameterError(
            "--tta-scales",
            f"{model_dir} ({artifact.preset}) predicts only at its training size "
            f"{artifact.image_size} px: use 1.0 alone",
        )
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
        if dataset.classes.names != artifact.classes.names:
            raise ContractError(
                job.dataset_dir,
                f"classes {list(dataset.classes.names)} differ from the model's {list(artifact.classes.names)}",
                field="classes",
            )
        ids = dataset.image_ids
        if job.split_dir is not None:
            ids = Split(job.split_dir).partition(dataset.content_hash, dataset.path, ids, job.fold)[1]
        planned.append((job, inputs, dataset, ids))
    device = pick_device(machine.device)
    amp_dtype = pick_autocast_dtype(machine.precision, device)
    model = load_model(artifact, device)
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
            params.views(),
        )
        with atomic_directory(Path(job.out), overwrite, PREDICTIONS_CONTRACT, inputs) as tmp:
            writer = PredictionsWriter(tmp, artifact.classes, params.save_probs)
            bar = progress(
                _batches(ids, params.batch_size), "infer", total=-(-len(ids) // params.batch_size), unit="batch"
            )
            for batch_ids in bar:
                images = [dataset.image(i) for i in batch_ids]
                for image_id, probs in zip(
                    batch_ids,
                    predict_batch(
                        model, artifact.family, images, artifact.image_size, params.views(), device, amp_dtype
                    ),
                ):
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
                        "source": "model",
                        "model_hash": artifact.content_hash,
                        "model_preset": artifact.preset,
                        "dataset_hash": dataset.content_hash,
                    },
                )
            )
        log.info("wrote predictions %s", job.out)
    return manifests
