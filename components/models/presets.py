"""Named model presets: a literal name -> builder mapping (no config inheritance).

Each family has a real-size preset for GPU nodes and a ``-tiny`` preset that
learns the sample data on 2 CPU cores in a test. Tiny presets train from scratch
and need a high learning rate; real presets default to the report's rates
(``_REPORT_LR``: a small backbone rate beside a ten times larger head one),
meant for fine-tuning pretrained weights. This file is the one place they are
written: the CLI, the components and the pipelines say 0/unset for "the preset's".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from trashseg.components.models.family import ModelFamily, get_family
from trashseg.data_contracts.errors import ParameterError

FOUR_STAGES = ["stage1", "stage2", "stage3", "stage4"]


@dataclass(frozen=True)
class Preset:
    name: str
    family: str  # a name in components.models.family.FAMILIES (recorded in model cards): see ``model_family``
    description: str
    make_config: Callable[[int], object]  # num_labels -> transformers config
    image_size: int
    lr_backbone: float
    lr_head: float
    batch_size: int
    checkpoint: str | None = None  # Hugging Face Hub id the preset starts from (None: from scratch)
    checkpoint_weights: str = "whole"  # "whole" segmentation model, or "backbone" only under a fresh head
    loss: str = (
        "model"  # components.models.losses.LOSSES: the model's own cross-entropy, or with soft Dice for rare classes
    )
    warmup_steps: int = 0  # linear warmup before the decay

    @property
    def model_family(self) -> ModelFamily:
        """The family's class, backbone, classifiers and loss inputs."""
        return get_family(self.family)

    def learning_rates(self, from_scratch: bool) -> tuple[float, float]:
        """(backbone, head): the preset's fine-tuning rates, or from-scratch rates when a pretrained preset starts from
        nothing."""
        if from_scratch and self.checkpoint:
            return SCRATCH_LR["lr_backbone"], SCRATCH_LR["lr_head"]
        return self.lr_backbone, self.lr_head


def _convnext(depths, hidden_sizes):
    from transformers import ConvNextConfig

    return ConvNextConfig(depths=depths, hidden_sizes=hidden_sizes, out_features=FOUR_STAGES)


def _swin(embed_dim, depths, num_heads, window_size=7):
    from transformers import SwinConfig

    return SwinConfig(
        embed_dim=embed_dim, depths=depths, num_heads=num_heads, window_size=window_size, out_features=FOUR_STAGES
    )


def _upernet(backbone, hidden_size, auxiliary_channels):
    def make(num_labels: int):
        from transformers import UperNetConfig

        return UperNetConfig(
            backbone_config=backbone(),
            hidden_size=hidden_size,
            auxiliary_channels=auxiliary_channels,
            num_labels=num_labels,
        )

    return make


def _beit(hidden, layers, heads, intermediate, image_size, patch, out_indices, auxiliary_channels, pool_hidden=None):
    def make(num_labels: int):
        from transformers import BeitConfig

        return BeitConfig(
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=intermediate,
            image_size=image_size,
            patch_size=patch,
            out_indices=out_indices,
            num_labels=num_labels,
            use_auxiliary_head=True,
            auxiliary_channels=auxiliary_channels,
            use_relative_position_bias=True,
            semantic_loss_ignore_index=255,
            pool_scales=[1, 2, 3, 6],
        )

    return make


def _mask2former(backbone, queries, hidden, decoder_layers, encoder_layers, feedforward):
    def make(num_labels: int):
        from transformers import Mask2FormerConfig

        # feature_size (pixel decoder width) = hidden_dim: the transformer module then needs no input projection
        # (a projection conv there fails under bf16/fp16 autocast on CUDA, seen with transformers 5.17).
        return Mask2FormerConfig(
            backbone_config=backbone(),
            num_labels=num_labels,
            num_queries=queries,
            hidden_dim=hidden,
            feature_size=hidden,
            mask_feature_size=hidden,
            decoder_layers=decoder_layers,
            encoder_layers=encoder_layers,
            dim_feedforward=feedforward,
            encoder_feedforward_dim=feedforward,
            num_attention_heads=8 if hidden >= 128 else 4,
        )

    return make


def _eomt(hidden, layers, heads, image_size, patch, queries, blocks, register_tokens, layerscale):
    def make(num_labels: int):
        from transformers import EomtConfig

        return EomtConfig(
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            image_size=image_size,
            patch_size=patch,
            num_queries=queries,
            num_blocks=blocks,
            num_register_tokens=register_tokens,
            layerscale_value=layerscale,
            num_labels=num_labels,
        )

    return make


_REPORT_LR = dict(lr_backbone=4e-6, lr_head=4e-5)
# Tiny presets learn from random weights on 2 CPU cores: a high rate after a short warmup, batches of 4 (twice the
# updates of 8 in the same time) and cross-entropy + soft Dice, so rare classes pull from the first step
# (bench/bench_recipe.py: sample-data validation mIoU 0.35 -> 0.75 at 40 epochs; README, "What the recipe measured").
_TINY_LR = dict(
    lr_backbone=1e-3, lr_head=3e-3, batch_size=8
)  # the other tiny presets: not yet measured with the recipe
_TINY_RECIPE = dict(lr_backbone=5e-3, lr_head=1e-2, batch_size=4, loss="ce_dice", warmup_steps=30)
# A real-size preset trained from random weights (--from-scratch): AdamW at 1e-4 with warmup; measured on an H100,
# upernet-convnext's loss fell 3.25 -> 1.85 in 5 epochs on taco-trash11 (README, GPU section).
SCRATCH_LR = dict(lr_backbone=1e-4, lr_head=1e-4)
# ImageNet-22k backbones under a fresh UperNet head: the report's start; heads learn faster than a whole ADE20K model's.
_BACKBONE_LR = dict(lr_backbone=_REPORT_LR["lr_backbone"], lr_head=4e-4)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "upernet-convnext",
            "upernet",
            "UperNet + ConvNeXt-Base (~120M params), 512 px, from the ADE20K model",
            _upernet(lambda: _convnext([3, 3, 27, 3], [128, 256, 512, 1024]), 512, 256),
            512,
            batch_size=8,
            **_REPORT_LR,
            checkpoint="openmmlab/upernet-convnext-base",
        ),
        Preset(
            "upernet-convnext-in22k",
            "upernet",
            "UperNet + ConvNeXt-Base, ImageNet-22k backbone under a fresh head (the report's start)",
            _upernet(lambda: _convnext([3, 3, 27, 3], [128, 256, 512, 1024]), 512, 256),
            512,
            batch_size=8,
            **_BACKBONE_LR,
            checkpoint="facebook/convnext-base-224-22k",
            checkpoint_weights="backbone",
        ),
        Preset(
            "upernet-convnext-tiny",
            "upernet",
            "UperNet + 4-stage mini ConvNeXt (1.2M params), for CPU tests",
            _upernet(lambda: _convnext([1, 1, 2, 1], [24, 48, 96, 192]), 64, 32),
            128,
            **_TINY_RECIPE,
        ),
        Preset(
            "upernet-swin",
            "upernet",
            "UperNet + Swin-Base (~120M params), 512 px, from the ADE20K model",
            _upernet(lambda: _swin(128, [2, 2, 18, 2], [4, 8, 16, 32]), 512, 256),
            512,
            batch_size=8,
            **_REPORT_LR,
            checkpoint="openmmlab/upernet-swin-base",
        ),
        Preset(
            "upernet-swin-in22k",
            "upernet",
            "UperNet + Swin-Base, ImageNet-22k backbone under a fresh head",
            _upernet(lambda: _swin(128, [2, 2, 18, 2], [4, 8, 16, 32], 12), 512, 256),
            512,
            batch_size=8,
            **_BACKBONE_LR,
            checkpoint="microsoft/swin-base-patch4-window12-384-in22k",
            checkpoint_weights="backbone",
        ),
        Preset(
            "upernet-swin-tiny",
            "upernet",
            "UperNet + mini Swin (1M params), for CPU tests",
            _upernet(lambda: _swin(24, [1, 1, 2, 1], [1, 2, 3, 6]), 64, 32),
            128,
            **_TINY_LR,
        ),
        Preset(
            "beit-upernet",
            "beit",
            "BEiT-Base with its UperNet head (~160M params), 512 px, from the ADE20K model",
            _beit(768, 12, 12, 3072, 512, 16, [3, 5, 7, 11], 256),
            512,
            batch_size=4,
            **_REPORT_LR,
            checkpoint="microsoft/beit-base-finetuned-ade-640-640",
        ),
        Preset(
            "beit-upernet-tiny",
            "beit",
            "mini BEiT (4 layers, width 48) with UperNet head, for CPU tests",
            _beit(48, 4, 2, 96, 128, 8, [1, 2, 3, 4], 32),
            128,
            **_TINY_LR,
        ),
        Preset(
            "mask2former-swin",
            "mask2former",
            "Mask2Former + Swin-Base, 100 queries (~107M params), 512 px, from the ADE20K model",
            _mask2former(lambda: _swin(128, [2, 2, 18, 2], [4, 8, 16, 32], 12), 100, 256, 9, 6, 2048),
            512,
            batch_size=4,
            **_REPORT_LR,
            checkpoint="facebook/mask2former-swin-base-IN21k-ade-semantic",
        ),
        Preset(
            "mask2former-swin-tiny",
            "mask2former",
            "Mask2Former + mini Swin, 16 queries, 3 decoder layers (1M params), for CPU tests",
            _mask2former(lambda: _swin(24, [1, 1, 2, 1], [1, 2, 3, 6]), 16, 64, 3, 2, 128),
            128,
            **_TINY_LR,
        ),
        # EoMT: the strongest semantic-segmentation class in transformers (58.4 ADE20K mIoU with DINOv2-L at 512 px).
        Preset(
            "eomt-dinov2-large",
            "eomt",
            "EoMT, DINOv2-L ViT (24 layers, 1024 wide, ~316M params), 100 queries, 512 px, from the ADE20K model",
            _eomt(1024, 24, 16, 512, 16, 100, 4, 4, 1.0),
            512,
            batch_size=4,
            **_REPORT_LR,
            checkpoint="tue-mps/ade20k_semantic_eomt_large_512",
        ),
        Preset(
            "eomt-tiny",
            "eomt",
            "mini EoMT (4 layers, width 48, patch 8), 16 queries in the last 2 blocks, for CPU tests",
            _eomt(48, 4, 2, 128, 8, 16, 2, 0, 1.0),
            128,
            **_TINY_LR,
        ),
    )
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ParameterError(
            "--preset", f"unknown model preset {name!r}; choose one of: {', '.join(PRESETS)}"
        ) from None


def describe_presets() -> str:
    lines = []
    for p in PRESETS.values():
        start = f"{p.checkpoint} ({p.checkpoint_weights})" if p.checkpoint else "random weights"
        lines.append(
            f"{p.name:24s} {p.family:12s} {p.image_size:4d}px  lr {p.lr_backbone:g}/{p.lr_head:g}  batch "
            f"{p.batch_size:2d}  "
            f"loss {p.loss}  warmup {p.warmup_steps}  starts from {start}\n{'':24s} {p.description}"
        )
    return "\n".join(lines)
