"""Label maps from a model artifact (torch) or its ONNX export (ONNX Runtime): one path for infer, serve and export.

Both kinds go through the same steps, so an export differs from its model only by the network's arithmetic:
resize each image to the model's size times the TTA scale (bilinear), normalise with the card's mean/std, run the
network (torch, or the ONNX graph), turn its raw outputs into class probabilities (``scores_from_outputs``), resize
those to each image's own size, average over the TTA views, argmax.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Callable

import numpy as np
import torch

from trashseg.components.common.resize import resize_pair
from trashseg.components.models.family import get_family
from trashseg.components.models.forward import class_scores, normalise, resize_per_image, scores_from_outputs
from trashseg.components.models.tta import TTA
from trashseg.data_contracts.errors import ContractError, ParameterError
from trashseg.data_contracts.exported import CONTRACT as EXPORT_CONTRACT

Forward = Callable[[torch.Tensor], torch.Tensor]  # normalised (B, 3, S, S) pixels -> (B, C, h, w) class probabilities


def view_size(base: int, scale: float) -> int:
    """Scaled side rounded to a multiple of 32 (what the backbones' strides divide cleanly)."""
    return max(32, int(round(base * scale / 32.0)) * 32)


def fixed_size(artifact) -> bool:
    """Whether the artifact predicts only at its own image size: EoMT's fixed position embeddings, every ONNX export."""
    return artifact.manifest.contract == EXPORT_CONTRACT or get_family(artifact.family).fixed_input_size


def check_tta(artifact, tta: TTA) -> None:
    """TTA scales need a network that takes other sizes: refused by name for the others (flip is fine)."""
    if fixed_size(artifact) and [float(s) for s in tta.tta_scales] != [1.0]:
        exported = artifact.manifest.contract == EXPORT_CONTRACT
        what, size = ("an ONNX export", "export") if exported else (artifact.preset, "training")
        raise ParameterError(
            "--tta-scales",
            f"{artifact.path} ({what}) predicts only at its {size} size {artifact.image_size} px: use 1.0 alone",
        )


def view_pixels(images: list[np.ndarray], side: int, mean, std) -> torch.Tensor:
    """The normalised (B, 3, side, side) batch the network sees for ``images`` (bilinear resize, card's mean/std)."""
    batch = np.stack([resize_pair(image, None, side)[0] for image in images])
    return normalise(torch.from_numpy(batch), mean, std)


def check_same_classes(dataset, artifact) -> None:
    """A model predicts its own class ids: a dataset with another class table would be scored against other names."""
    if dataset.classes.names != artifact.classes.names:
        raise ContractError(
            dataset.path,
            f"classes {list(dataset.classes.names)} differ from the model's {list(artifact.classes.names)}",
            field="classes",
        )


@torch.no_grad()
def predict_batch(
    forward: Forward,
    images: list[np.ndarray],
    base_size: int,
    tta: TTA,
    device: torch.device,
    amp_dtype: torch.dtype | None,
    mean,
    std,
) -> list[np.ndarray]:
    """Per-image (C, H, W) float32 probabilities, averaged over the TTA views."""
    totals: list[torch.Tensor | None] = [None] * len(images)
    views = tta.views()
    for scale, flipped in views:
        pixels = view_pixels(images, view_size(base_size, scale), mean, std).to(device)
        if flipped:
            pixels = pixels.flip(-1)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            per_image = resize_per_image(forward(pixels), [image.shape[:2] for image in images])
        for k, probs in enumerate(per_image):
            if flipped:
                probs = probs.flip(-1)
            totals[k] = probs if totals[k] is None else totals[k] + probs
    return [(t / len(views)).float().cpu().numpy() for t in totals]


class Predictor:
    """An opened model or export, ready to predict: ``probabilities`` and ``labels`` for lists of RGB images."""

    def __init__(self, artifact, forward: Forward, device: torch.device, amp_dtype: torch.dtype | None, runtime: str):
        self.artifact = artifact
        self.forward = forward
        self.device = device
        self.amp_dtype = amp_dtype
        self.runtime = runtime  # "torch" or "onnxruntime", for logs and response parameters

    def probabilities(self, images: list[np.ndarray], tta: TTA) -> list[np.ndarray]:
        return predict_batch(
            self.forward,
            images,
            self.artifact.image_size,
            tta,
            self.device,
            self.amp_dtype,
            self.artifact.mean,
            self.artifact.std,
        )

    def labels(self, images: list[np.ndarray], tta: TTA) -> list[np.ndarray]:
        return [probs.argmax(0).astype(np.uint8) for probs in self.probabilities(images, tta)]


def load_predictor(artifact, device: str = "auto", precision: str = "auto") -> Predictor:
    """A torch model on ``device`` for a model artifact; an ONNX Runtime session on the CPU for an export."""
    from trashseg.components.models.device import pick_autocast_dtype, pick_device

    if artifact.manifest.contract == EXPORT_CONTRACT:
        if device not in ("auto", "cpu"):
            raise ParameterError(
                "--device", f"{device!r}: an ONNX export runs on ONNX Runtime's CPU provider (auto or cpu)"
            )
        return Predictor(artifact, onnx_forward(artifact), torch.device("cpu"), None, "onnxruntime")
    from trashseg.components.models.build import load_model

    chosen = pick_device(device)
    model = load_model(artifact, chosen)
    family = artifact.family
    return Predictor(
        artifact,
        lambda pixels: class_scores(model, family, pixels),
        chosen,
        pick_autocast_dtype(precision, chosen),
        "torch",
    )


def onnx_session(graph):
    """An ONNX Runtime CPU session (one intra-op thread per core)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initialisers are not the user's business
    return ort.InferenceSession(str(graph), sess_options=options, providers=["CPUExecutionProvider"])


def onnx_forward(export, session=None) -> Forward:
    """The export's graph as a ``Forward``: its raw outputs go through ``scores_from_outputs`` as the model's do."""
    session = session or onnx_session(export.graph)
    names = [output.name for output in session.get_outputs()]
    missing = [name for name in export.output_names if name not in names]
    if missing or session.get_inputs()[0].name != export.input_name:
        raise ContractError(
            export.graph,
            f"graph inputs/outputs {[i.name for i in session.get_inputs()]}/{names} differ from the "
            f"card's {export.input_name}/{list(export.output_names)}",
            field="outputs",
        )
    family = export.family

    def forward(pixels: torch.Tensor) -> torch.Tensor:
        outputs = session.run(list(export.output_names), {export.input_name: pixels.detach().float().cpu().numpy()})
        return scores_from_outputs(
            family, SimpleNamespace(**{n: torch.from_numpy(o) for n, o in zip(export.output_names, outputs)})
        )

    return forward
