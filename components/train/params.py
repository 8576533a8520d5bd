"""The knobs of a training run, in one dataclass (no torch import: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from trashseg.components.common import checks
from trashseg.components.common.machine import Machine
from trashseg.components.common.params import check_choices
from trashseg.components.train.photometric import AUGMENTATIONS
from trashseg.data_contracts.errors import ParameterError


@dataclass
class TrainParams:
    """What a training run learns, written once: the field names are the CLI options, the train component's parameters
    and the pipelines' parameters. Unset (None) knobs take the preset's values (``resolved``)."""

    preset: str = field(default="upernet-convnext", metadata={"help": "model preset (trashseg train --list-models)"})
    fold: int = field(default=0, metadata={"help": "validation fold"})
    epochs: int = field(default=50, metadata={"help": "epochs"})
    batch_size: int | None = field(
        default=None, metadata={"help": "images per step over all processes (unset: the preset's)"}
    )
    lr_backbone: float | None = field(
        default=None,
        metadata={"help": "backbone learning rate (unset: the preset's, scaled to the batch; see --list-models)"},
    )
    lr_head: float | None = field(
        default=None, metadata={"help": "head learning rate (unset: the preset's, scaled to the batch)"}
    )
    warmup_steps: int | None = field(default=None, metadata={"help": "linear warmup steps (unset: the preset's)"})
    loss: Literal["model", "ce_dice", "weighted_ce"] | None = field(
        default=None,
        metadata={
            "help": "model (its own cross-entropy), ce_dice (+ soft Dice, for rare classes) or weighted_ce (unset: "
            "the preset's; "
            "Mask2Former and EoMT keep their own)"
        },
    )
    schedule: Literal["poly", "cosine", "constant"] = field(default="poly", metadata={"help": "decay after warmup"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    image_size: int | None = field(
        default=None, metadata={"help": "train and validate at this square size (unset: the preset's)"}
    )
    seed: int = field(default=42, metadata={"help": "seed for weights, order and flips"})
    hflip: bool = field(default=True, metadata={"help": "random horizontal flips"})
    max_steps_per_epoch: int = field(
        default=0, metadata={"help": "cap on steps per epoch, for quick runs and benchmarks (0: all)"}
    )
    photometric: list[str] = field(
        default_factory=list,
        metadata={"help": f"extra photometric augmentations: {', '.join(AUGMENTATIONS)} (none, as the report)"},
    )
    from_scratch: bool = field(
        default=False,
        metadata={"help": "train a pretrained preset from random weights, at from-scratch learning rates"},
    )

    def check(self) -> None:
        """Refuse any value outside its range before anything is read (exit code 2, one line)."""
        from trashseg.components.models.presets import get_preset

        preset = get_preset(self.preset)
        checks.number("--fold", self.fold, low=0, high=1000, integer=True)
        checks.number("--epochs", self.epochs, low=1, high=100_000, integer=True)
        if self.batch_size is not None:
            checks.number("--batch-size", self.batch_size, low=1, high=4096, integer=True)
        for name, value in (("--lr-backbone", self.lr_backbone), ("--lr-head", self.lr_head)):
            if value is not None:
                checks.number(name, value, low=0, high=1, low_open=True)
        if self.warmup_steps is not None:
            checks.number("--warmup-steps", self.warmup_steps, low=0, high=10_000_000, integer=True)
        check_choices(self)  # loss and schedule
        if self.loss not in (None, "model") and preset.model_family.set_prediction:
            raise ParameterError(
                "--loss",
                f"{self.loss!r} does not apply to {self.preset}: it trains with its own matched "
                "mask and class loss (use model or leave it unset)",
            )
        checks.number("--weight-decay", self.weight_decay, low=0, high=1)
        if self.image_size is not None:
            checks.number("--image-size", self.image_size, low=32, high=4096, integer=True)
            if preset.model_family.fixed_input_size and self.image_size != preset.image_size:
                raise ParameterError(
                    "--image-size",
                    f"{self.preset} takes only {preset.image_size} px images (its position "
                    "embeddings are fixed to its config's image size)",
                )
        checks.number("--seed", self.seed, low=0, high=checks.SEED_MAX, integer=True)
        checks.number("--max-steps-per-epoch", self.max_steps_per_epoch, low=0, high=10_000_000, integer=True)
        for name in self.photometric:
            checks.choice("--photometric", name, AUGMENTATIONS)

    def resolved(self) -> TrainParams:
        """Fill unset knobs from the preset; preset learning rates follow the batch size (``scaled_lr``)."""
        from trashseg.components.models.presets import get_preset
        from trashseg.components.train.optim import scaled_lr

        preset = get_preset(self.preset)
        batch = self.batch_size or preset.batch_size
        lr_backbone, lr_head = preset.learning_rates(self.from_scratch)
        return replace(
            self,
            batch_size=batch,
            lr_backbone=self.lr_backbone
            if self.lr_backbone is not None
            else scaled_lr(lr_backbone, preset.batch_size, batch),
            lr_head=self.lr_head if self.lr_head is not None else scaled_lr(lr_head, preset.batch_size, batch),
            image_size=self.image_size or preset.image_size,
            warmup_steps=self.warmup_steps if self.warmup_steps is not None else preset.warmup_steps,
            loss=self.loss if self.loss is not None else preset.loss,
        )


@dataclass
class TrainMachine(Machine):
    """How training uses this machine (not what it learns): CLI options; a kfp task takes these defaults."""

    compile: Literal["auto", "on", "off"] = field(
        default="auto", metadata={"help": "torch.compile the model: auto = on CUDA devices, off on CPU"}
    )
    workers: int = field(
        default=-1, metadata={"help": "data-loader worker processes (-1: none on CPU, up to 8 per GPU)"}
    )

    def check(self) -> None:
        super().check()
        checks.number("--workers", self.workers, low=-1, high=64, integer=True)
