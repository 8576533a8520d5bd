"""The two things every family must do: a training loss, and per-class probabilities.

Defined once so train (validation), infer and the benchmarks agree exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from trashseg.components.models.family import get_family
from trashseg.components.models.losses import dense_loss
from trashseg.data_contracts.classes import IGNORE_INDEX

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalise(images_uint8: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float, ImageNet-normalised."""
    x = images_uint8.permute(0, 3, 1, 2).float().div_(255.0)
    mean_t = torch.tensor(mean, device=x.device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, device=x.device).view(1, 3, 1, 1)
    return (x - mean_t) / std_t


def mask2former_targets(labels: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Semantic maps -> one binary mask per class present (255 excluded), as Mask2FormerImageProcessor does."""
    mask_labels, class_labels = [], []
    for label in labels:
        present = torch.unique(label)
        present = present[present != IGNORE_INDEX]
        mask_labels.append((label[None] == present[:, None, None]).float())
        class_labels.append(present.long())
    return mask_labels, class_labels


def keep_matcher_in_fp32(model: torch.nn.Module) -> None:
    """Mask2Former's Hungarian matcher overflows in fp16: run it in fp32 whatever the autocast."""
    matcher = model.criterion.matcher
    if getattr(matcher, "_trashseg_fp32", False):
        return
    original = matcher.forward

    def forward_fp32(masks_queries_logits, class_queries_logits, mask_labels, class_labels):
        device_type = masks_queries_logits.device.type
        with torch.autocast(device_type=device_type, enabled=False):
            return original(
                masks_queries_logits.float(),
                class_queries_logits.float(),
                [m.float() for m in mask_labels],
                class_labels,
            )

    matcher.forward = forward_fp32
    matcher._trashseg_fp32 = True


def anneal_attention_masks(model: torch.nn.Module, progress: float) -> None:
    """EoMT's mask annealing: block k of its N query blocks drops its attention mask during the k-th N-th of training.

    Why: EoMT learns with masked attention in its last blocks (each query looks at its own mask) and predicts without
    it, at plain-ViT speed; the mask probability falls from 1 to 0 (polynomially, power 0.9, as in the paper), so the
    last part of training runs as prediction does. ``progress`` is the fraction of training done, 0 to 1.
    """
    probs = model.attn_mask_probs
    blocks = probs.numel()
    with torch.no_grad():
        for block in range(blocks):
            done = min(1.0, max(0.0, progress * blocks - block))
            probs[block] = (1.0 - done) ** 0.9


def training_loss(
    model: torch.nn.Module, family: str, pixel_values: torch.Tensor, labels: torch.Tensor, loss: str = "model"
) -> torch.Tensor:
    """The training loss; ``labels`` is (B, H, W) int64 with 255 = ignore.

    Set-prediction families (Mask2Former) always use their own matched mask and class loss; the others use
    ``loss`` (components.models.losses).
    """
    if get_family(family).set_prediction:
        mask_labels, class_labels = mask2former_targets(labels)
        return model(pixel_values=pixel_values, mask_labels=mask_labels, class_labels=class_labels).loss
    return dense_loss(model, pixel_values, labels, loss)


def class_scores(model: torch.nn.Module, family: str, pixel_values: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) per-class probabilities at the model's output resolution."""
    return scores_from_outputs(family, model(pixel_values=pixel_values))


def scores_from_outputs(family: str, outputs) -> torch.Tensor:
    """(B, C, h, w) probabilities from a model's raw outputs (``logits``, or ``class_queries_logits`` and
    ``masks_queries_logits`` for query families): the same arithmetic for a torch model and its ONNX export."""
    if get_family(family).set_prediction:
        # softmax over classes without the "no object" column, times each query's mask, summed over queries
        classes = outputs.class_queries_logits.float().softmax(-1)[..., :-1]
        masks = outputs.masks_queries_logits.float().sigmoid()
        scores = torch.einsum("bqc,bqhw->bchw", classes, masks)
        return scores / scores.sum(1, keepdim=True).clamp_min(1e-6)
    return outputs.logits.float().softmax(1)


def raw_output_names(family: str) -> tuple[str, ...]:
    """The model outputs ``scores_from_outputs`` reads: what an ONNX export must return, in this order."""
    return ("class_queries_logits", "masks_queries_logits") if get_family(family).set_prediction else ("logits",)


def probabilities(
    model: torch.nn.Module, family: str, pixel_values: torch.Tensor, size: tuple[int, int]
) -> torch.Tensor:
    """(B, C, H, W) probabilities upsampled to ``size`` (bilinear on probabilities, then renormalised)."""
    scores = class_scores(model, family, pixel_values)
    if scores.shape[-2:] != tuple(size):
        scores = F.interpolate(scores, size=size, mode="bilinear", align_corners=False)
    return scores


def probabilities_per_image(
    model: torch.nn.Module, family: str, pixel_values: torch.Tensor, sizes: list[tuple[int, int]]
) -> list[torch.Tensor]:
    """One batched forward pass, then each image's (C, H, W) probabilities at its own size."""
    return resize_per_image(class_scores(model, family, pixel_values), sizes)


def resize_per_image(scores: torch.Tensor, sizes: list[tuple[int, int]]) -> list[torch.Tensor]:
    """(B, C, h, w) scores -> each image's (C, H, W) at its own size (bilinear)."""
    out = []
    for k, size in enumerate(sizes):
        one = scores[k : k + 1]
        if one.shape[-2:] != tuple(size):
            one = F.interpolate(one, size=tuple(size), mode="bilinear", align_corners=False)
        out.append(one[0])
    return out
