"""The knobs of a training run, in one dataclass (no torch import: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from trashseg.components.common import checks
from trashseg.components.common.params import knob
from trashseg.components.train.photometric import AUGMENTATIONS, parse_augmentations
from trashseg.data_contracts.errors import ContractError


@dataclass
class TrainParams:
    """Every knob of a training run, written once: the CLI, the kfp components' defaults and the pipelines' are
    built from or checked against these fields (components.common.params, tests/test_params.py). Unset (None)
    knobs take the preset's values."""

    model: str = knob("upernet-convnext", "model preset (trashseg train --list-models)", kfp="preset")
    fold: int = knob(0, "validation fold")
    epochs: int = knob(50, "epochs")
    batch_size: int | None = knob(None, "images per step (over all processes)")
    lr_backbone: float | None = knob(None, "backbone learning rate (see --list-models)")
    lr_head: float | None = knob(None, "head learning rate (see --list-models)")
    warmup_steps: int | None = knob(None, "linear warmup steps", unset=-1)
    loss: str | None = knob(None, "model (its own cross-entropy), ce_dice (+ soft Dice, for rare classes) or weighted_ce; "
                                  "Mask2Former keeps its own")
    schedule: str = knob("poly", "decay after warmup", choices=("poly", "cosine", "constant"))
    weight_decay: float = knob(0.01, "AdamW weight decay", kfp=False)
    image_size: int | None = knob(None, "train and validate at this square size")
    seed: int = knob(42, "seed for weights, order and flips")
    hflip: bool = knob(True, "turn off random horizontal flips", kfp=False)
    device: str = knob("auto", "auto (GPU if present), cpu, cuda, cuda:N", kfp=False)
    precision: str = knob("auto", "autocast dtype; auto = bf16 on GPUs that support it, fp32 on CPU",
                          choices=("auto", "fp32", "bf16", "fp16"), kfp=False)
    max_steps_per_epoch: int = knob(0, "cap on steps per epoch, for quick runs and benchmarks (0 = all)")
    augment: tuple[str, ...] = knob((), "extra training augmentations, comma-separated: brightness_contrast, hue_saturation, "
                                        "noise, random_resized_crop (none, as the report)", parse=parse_augmentations)
    from_scratch: bool = knob(False, "train a pretrained preset from random weights, at from-scratch learning rates")
    compile: str = knob("auto", "torch.compile the model: auto = on CUDA devices, off on CPU", choices=("auto", "on", "off"), kfp=False)
    workers: int = knob(-1, "data-loader worker processes (-1 = 0 on CPU, up to 8 on a GPU)", kfp=False)

    def check(self) -> None:
        """Refuse any value outside its range before anything is read (exit code 2, one line)."""
        from trashseg.components.models.losses import LOSSES
        from trashseg.components.models.presets import get_preset

        get_preset(self.model)
        checks.number("--fold", self.fold, low=0, high=1000, integer=True)
        checks.number("--epochs", self.epochs, low=1, high=100_000, integer=True)
        if self.batch_size is not None:
            checks.number("--batch-size", self.batch_size, low=1, high=4096, integer=True)
        for name, value in (("--lr-backbone", self.lr_backbone), ("--lr-head", self.lr_head)):
            if value is not None:
                checks.number(name, value, low=0, high=1, low_open=True)
        if self.warmup_steps is not None:
            checks.number("--warmup-steps", self.warmup_steps, low=0, high=10_000_000, integer=True)
        if self.loss is not None:
            checks.choice("--loss", self.loss, LOSSES)
            if self.loss != "model" and get_preset(self.model).model_family.set_prediction:
                raise ContractError("--loss", f"{self.loss!r} does not apply to {self.model}: Mask2Former trains with its own "
                                              "matched mask and class loss (use model or leave it unset)")
        checks.choice("--schedule", self.schedule, ("poly", "cosine", "constant"))
        checks.number("--weight-decay", self.weight_decay, low=0, high=1)
        if self.image_size is not None:
            checks.number("--image-size", self.image_size, low=32, high=4096, integer=True)
            preset = get_preset(self.model)
            if preset.model_family.fixed_input_size and self.image_size != preset.image_size:
                raise ContractError("--image-size", f"{self.model} takes only {preset.image_size} px images (its position "
                                                    "embeddings are fixed to its config's image size)")
        checks.number("--seed", self.seed, low=0, high=checks.SEED_MAX, integer=True)
        checks.device("--device", self.device)
        checks.choice("--precision", self.precision, ("auto", "fp32", "bf16", "fp16"))
        checks.number("--max-steps-per-epoch", self.max_steps_per_epoch, low=0, high=10_000_000, integer=True)
        for name in self.augment:
            checks.choice("--augment", name, AUGMENTATIONS)
        checks.choice("--compile", self.compile, ("auto", "on", "off"))
        checks.number("--workers", self.workers, low=-1, high=64, integer=True)

    def resolved(self) -> "TrainParams":
        """Fill unset knobs from the preset; preset learning rates follow the batch size (``scaled_lr``)."""
        from trashseg.components.models.presets import get_preset
        from trashseg.components.train.optim import scaled_lr

        preset = get_preset(self.model)
        batch = self.batch_size or preset.batch_size
        lr_backbone, lr_head = preset.learning_rates(self.from_scratch)
        return replace(
            self,
            batch_size=batch,
            lr_backbone=self.lr_backbone if self.lr_backbone is not None else scaled_lr(lr_backbone, preset.batch_size, batch),
            lr_head=self.lr_head if self.lr_head is not None else scaled_lr(lr_head, preset.batch_size, batch),
            image_size=self.image_size or preset.image_size,
            warmup_steps=self.warmup_steps if self.warmup_steps is not None else preset.warmup_steps,
            loss=self.loss if self.loss is not None else preset.loss,
        )
