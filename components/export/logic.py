"""export: a model artifact's network as an ONNX graph, checked against the torch model before it is written.

Why ``torch.onnx.export(dynamo=True)`` (the torch.export-based exporter, which needs onnxscript): with torch 2.13 it
exports every family here with a dynamic batch (the legacy TorchScript exporter, ``dynamo=False``, is deprecated and
failed on UperNet-ConvNeXt, UperNet-Swin and BEiT with a dynamic batch: adaptive pooling "input size not accessible").
Two things it needs, both measured: eager attention (transformers' SDPA path fails to decompose with a dynamic batch
in Swin, BEiT and Mask2Former) and, for EoMT, its attention-mask probabilities as constants (a branch on a buffer's
value is data-dependent for torch.export). Spatial size stays fixed at the model's image size: a dynamic height and
width exported but ran wrongly in ONNX Runtime at other sizes (adaptive pooling baked in), so exports refuse TTA scales.

The graph returns the network's raw logits; probabilities, resizing and argmax stay outside in the same code the torch
model uses (components.models.predict), so the check below compares exactly what infer and serve will compute.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from trashseg.components.common.errors import ExportDisagrees
from trashseg.components.common.log import get_logger
from trashseg.components.export.params import ExportParams
from trashseg.components.models.build import load_model
from trashseg.components.models.family import get_family
from trashseg.components.models.forward import class_scores, raw_output_names
from trashseg.components.models.predict import (
    Predictor,
    check_same_classes,
    onnx_forward,
    onnx_session,
    view_pixels,
    view_size,
)
from trashseg.components.models.tta import NO_TTA
from trashseg.data_contracts.artifact import Manifest, atomic_directory, prepare_output
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.errors import ContractError
from trashseg.data_contracts.exported import (
    CONTRACT,
    GRAPH_FILE,
    INPUT_NAME,
    MIN_AGREEMENT,
    ExportedModel,
    write_export_manifest,
)
from trashseg.data_contracts.model import ModelArtifact

log = get_logger("trashseg.export")
EXPORTER = "torch.onnx.export(dynamo=True)"


class RawOutputs(torch.nn.Module):
    """The network returning its raw logits as a tuple, in ``raw_output_names`` order: what the graph computes."""

    def __init__(self, model: torch.nn.Module, names: tuple[str, ...]):
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = self.model(pixel_values=pixel_values)
        return tuple(getattr(outputs, name) for name in self.names)


def run_export(
    model_dir: Path,
    out: Path,
    dataset_dir: Path | None = None,
    params: ExportParams | None = None,
    overwrite: bool = False,
) -> Manifest:
    """Export ``model_dir`` to ``out``, comparing labels on ``params.check_images`` images first (the dataset's, else
    generated ones)."""
    params = params or ExportParams()
    params.check()
    inputs = [Path(model_dir)] + ([Path(dataset_dir)] if dataset_dir is not None else [])
    artifact = ModelArtifact(model_dir)
    family = get_family(artifact.family)
    prepare_output(Path(out), overwrite, CONTRACT, inputs)
    images, images_from = _check_images(artifact, dataset_dir, params.check_images)
    model = load_model(artifact, "cpu")
    reference = Predictor(
        artifact, lambda pixels: class_scores(model, artifact.family, pixels), torch.device("cpu"), None, "torch"
    )
    reference_labels = reference.labels(images, NO_TTA)
    pixels = _pixels(artifact, images)
    names = raw_output_names(artifact.family)
    wrapped = RawOutputs(model, names).eval()
    with torch.no_grad():
        reference_outputs = [t.numpy() for t in wrapped(pixels)]
    started = time.perf_counter()
    with atomic_directory(Path(out), overwrite, CONTRACT, inputs) as tmp:
        _export_graph(wrapped, artifact, family, pixels, tmp / GRAPH_FILE)
        export_seconds = time.perf_counter() - started
        session = onnx_session(tmp / GRAPH_FILE)
        exported_outputs = session.run(list(names), {INPUT_NAME: pixels.numpy()})
        max_logit_difference = max(float(np.abs(a - b).max()) for a, b in zip(exported_outputs, reference_outputs))
        card = _card(artifact, names, tmp / GRAPH_FILE, session, images_from, len(images), export_seconds)
        view = _Unwritten(tmp, card, artifact)
        exported_labels = Predictor(
            view, onnx_forward(view, session=session), torch.device("cpu"), None, "onnxruntime"
        ).labels(images, NO_TTA)
        total = sum(labels.size for labels in reference_labels)
        agreement = sum(int((a == b).sum()) for a, b in zip(reference_labels, exported_labels)) / total
        card["check"].update(pixels=total, label_agreement=agreement, max_logit_difference=max_logit_difference)
        if not agreement >= MIN_AGREEMENT:
            raise ExportDisagrees(
                f"{model_dir} ({artifact.preset}, family {artifact.family}): the ONNX export's labels agree with the "
                f"model's on {agreement:.2%} of {total} pixels ({len(images)} {images_from} images), under "
                f"{MIN_AGREEMENT:.0%}; largest logit difference {max_logit_difference:.3g}: nothing was written"
            )
        manifest = write_export_manifest(tmp, card, {"stage": "export", "params": asdict(params)})
    ExportedModel(out)  # what was written reads back as a valid export
    log.info(
        "exported %s (%s) to %s in %.1f s: %.1f MB, labels agree on %.4f%% of %d pixels (%d %s images), largest logit "
        "difference %.3g",
        artifact.preset,
        artifact.family,
        out,
        export_seconds,
        (Path(out) / GRAPH_FILE).stat().st_size / 2**20,
        100 * agreement,
        total,
        len(images),
        images_from,
        max_logit_difference,
    )
    return manifest


def _pixels(artifact, images: list[np.ndarray]) -> torch.Tensor:
    """The normalised batch the network sees for ``images`` without TTA (what predict_batch builds)."""
    return view_pixels(images, view_size(artifact.image_size, 1.0), artifact.mean, artifact.std)


def _export_graph(wrapped: RawOutputs, artifact: ModelArtifact, family, pixels: torch.Tensor, path: Path) -> None:
    """torch.onnx.export with a dynamic batch; a family the exporter cannot handle is one line naming it."""
    model = wrapped.model
    example = pixels[:2] if len(pixels) >= 2 else pixels.repeat(2, 1, 1, 1)  # a batch of 1 would be specialised
    batch = torch.export.Dim("batch", min=1, max=1024)
    printed = io.StringIO()
    try:
        _eager_attention(model)
        with _quiet(printed), _constant_attention_mask_probs(model, family, artifact):
            torch.onnx.export(
                wrapped,
                (example,),
                str(path),
                dynamo=True,
                input_names=[INPUT_NAME],
                output_names=list(wrapped.names),
                dynamic_shapes={"pixel_values": {0: batch}},
                external_data=False,
                optimize=True,
                verbose=False,
            )
    except ContractError:
        raise
    except Exception as err:  # noqa: BLE001 - whatever the exporter raises, the user gets one line naming the family
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # the exporter colours its messages
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        log.debug("exporter output:\n%s", printed.getvalue())
        raise ContractError(
            artifact.path,
            f"family {artifact.family} ({artifact.preset}) cannot be exported to ONNX with {EXPORTER}: "
            f"{type(err).__name__}: {first[:300]}",
            field="family",
        ) from None


@contextlib.contextmanager
def _quiet(sink: io.StringIO):
    """The exporter prints progress and warns a lot: kept out of the log (shown at DEBUG level on failure)."""
    loggers = [
        logging.getLogger(name) for name in ("onnx_ir", "onnxscript", "torch.onnx", "torch.export", "torch._export")
    ]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _eager_attention(model: torch.nn.Module) -> None:
    """Plain matmul attention for the export (the SDPA path does not decompose with a dynamic batch in Swin, BEiT and
    Mask2Former). The model is not used afterwards; the check compares the graph with the model as infer loads it."""
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("eager")


@contextlib.contextmanager
def _constant_attention_mask_probs(model: torch.nn.Module, family, artifact: ModelArtifact):
    """EoMT branches on its attention-mask probabilities (a buffer): exported as the constants they are after training.

    A probability strictly between 0 and 1 makes EoMT mask random queries at prediction time, so no graph can match
    it: refused by name.
    """
    if not family.anneals_attention_masks:
        yield
        return
    probs = [float(p) for p in model.attn_mask_probs]
    if any(0.0 < p < 1.0 for p in probs):
        raise ContractError(
            artifact.path,
            f"family {artifact.family} ({artifact.preset}) cannot be exported to ONNX: its attention "
            f"masks are partly annealed (probabilities {probs}), so its predictions are random",
            field="attn_mask_probs",
        )
    buffer = model._buffers.pop("attn_mask_probs")
    try:
        model.attn_mask_probs = probs  # Python floats: the branch is decided while tracing
        yield
    finally:
        del model.attn_mask_probs
        model.register_buffer("attn_mask_probs", buffer)


def _check_images(artifact: ModelArtifact, dataset_dir: Path | None, count: int) -> tuple[list[np.ndarray], str]:
    """Images for the self-check: spread over the dataset's ids, or generated scenes of several sizes."""
    if dataset_dir is not None:
        dataset = Dataset(dataset_dir)
        check_same_classes(dataset, artifact)
        ids = dataset.image_ids
        chosen = [ids[int(k)] for k in np.unique(np.linspace(0, len(ids) - 1, min(count, len(ids))).round())]
        return [dataset.image(i) for i in chosen], "dataset"
    return [generated_image(k) for k in range(count)], "generated"


def generated_image(index: int) -> np.ndarray:
    """A deterministic RGB scene: a smooth background and a few flat shapes, its size varying with ``index``."""
    rng = np.random.default_rng(index)
    height, width = (96, 128, 160, 200)[index % 4], (128, 96, 200, 160)[(index // 4) % 4]
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    base = rng.uniform(40, 200, 3)
    image = base + 50 * np.stack([np.sin(6 * x + c) * np.cos(4 * y - c) for c in range(3)], -1)
    for _ in range(4):
        cy, cx, ry, rx = (
            rng.uniform(0, height),
            rng.uniform(0, width),
            rng.uniform(5, height / 3),
            rng.uniform(5, width / 3),
        )
        image[((y * max(height, width) - cy) / ry) ** 2 + ((x * max(height, width) - cx) / rx) ** 2 < 1] = rng.uniform(
            0, 255, 3
        )
    return np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)


def _card(
    artifact: ModelArtifact, names: tuple[str, ...], graph: Path, session, images_from: str, images: int, seconds: float
) -> dict:
    import onnx
    import onnxruntime
    import transformers

    size = view_size(artifact.image_size, 1.0)  # the side the graph was traced at, as predict_batch sizes it
    outputs = {o.name: [d if isinstance(d, int) else "batch" for d in o.shape] for o in session.get_outputs()}
    set_prediction = get_family(artifact.family).set_prediction
    postprocess = (
        "softmax(class_queries_logits) over classes without the last (no-object) column, times "
        "sigmoid(masks_queries_logits), summed over queries, divided by the sum over classes"
        if set_prediction
        else "softmax(logits) over the class axis"
    )
    opset = next(
        (
            o.version
            for o in onnx.load(str(graph), load_external_data=False).opset_import
            if o.domain in ("", "ai.onnx")
        ),
        None,
    )
    return {
        "format": "onnx",
        "opset": opset,
        "exporter": EXPORTER,
        "export_seconds": round(seconds, 2),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
        "family": artifact.family,
        "preset": artifact.preset,
        "classes": artifact.classes.to_records(),
        "image_size": size,
        "normalisation": {"mean": list(artifact.mean), "std": list(artifact.std)},
        "input": {
            "name": INPUT_NAME,
            "dtype": "float32",
            "shape": ["batch", 3, size, size],
            "preprocess": f"RGB, resized to {size}x{size} (bilinear), NCHW, x / 255, then (x - mean) / std",
        },
        "outputs": [{"name": name, "dtype": "float32", "shape": outputs[name]} for name in names],
        "postprocess": postprocess
        + "; probabilities resized to the image's size (bilinear, align_corners=False); argmax",
        "source_model": {"content_hash": artifact.content_hash, "preset": artifact.preset, "path": str(artifact.path)},
        "check": {
            "images": images,
            "images_from": images_from,
            "tta": NO_TTA.tta_text(),
            "min_agreement": MIN_AGREEMENT,
        },
    }


class _Unwritten:
    """What ExportedModel offers, for the graph still in the temporary directory (checked before it is written)."""

    def __init__(self, directory: Path, card: dict, artifact: ModelArtifact):
        self.path = directory
        self.graph = directory / GRAPH_FILE
        self.family, self.preset, self.classes = artifact.family, artifact.preset, artifact.classes
        self.image_size, self.mean, self.std = artifact.image_size, artifact.mean, artifact.std
        self.input_name = INPUT_NAME
        self.output_names = tuple(o["name"] for o in card["outputs"])
