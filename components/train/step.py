"""One optimisation step, the same object for ``trashseg train`` and the GPU benchmark.

Why a class of its own: the benchmark must time exactly what training runs,
so the step lives here and both import it. A step never reads a
value back to the host (no ``.item()``, no ``if`` on a device tensor): the loss
stays on the device and the caller checks finiteness once per epoch, so the GPU
runs ahead of Python instead of waiting at every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trashseg.components.models.family import get_family
from trashseg.components.models.forward import keep_matcher_in_fp32, training_loss


@dataclass(frozen=True)
class StepSettings:
    """What the step computes (family, loss) and how it runs on the device (the rest change nothing beyond rounding)."""

    family: str
    amp_dtype: torch.dtype | None  # None = fp32
    channels_last: bool
    compile: bool
    loss: str = "model"  # components.models.losses.LOSSES (dense families; Mask2Former keeps its own)


def prepare_model(model: torch.nn.Module, settings: StepSettings) -> torch.nn.Module:
    """Move-free model preparation: fp32 matcher, memory format and ``torch.compile``.

    Compiling uses ``nn.Module.compile`` (in place), so parameter names and
    checkpoints stay those of the eager model. Mask2Former compiles its network
    (``model.model``) but not the loss: the Hungarian matcher calls SciPy on the
    CPU, which would split the graph at every image.
    """
    family = get_family(settings.family)
    if family.set_prediction:
        keep_matcher_in_fp32(model)
    if settings.channels_last:
        model = model.to(memory_format=torch.channels_last)
    target = family.compile_target(model)
    if settings.compile and target is not None:
        target.compile()
    return model


class TrainStep:
    """Forward, backward, optimizer and scheduler step for one batch already on the device."""

    def __init__(
        self,
        model: torch.nn.Module,
        settings: StepSettings,
        optimizer: torch.optim.Optimizer,
        scheduler,
        scaler: torch.amp.GradScaler | None,
    ):
        self.model, self.settings = model, settings
        self.optimizer, self.scheduler, self.scaler = optimizer, scheduler, scaler

    def __call__(self, pixels: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return the batch's loss, detached and still on the device."""
        if self.settings.channels_last:
            pixels = pixels.contiguous(memory_format=torch.channels_last)
        dtype = self.settings.amp_dtype
        with torch.autocast(pixels.device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = training_loss(self.model, self.settings.family, pixels, labels, self.settings.loss)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        self.scheduler.step()
        return loss.detach()

    def skip(self) -> None:
        """A batch with nothing to learn from (every pixel ignored): keep the schedule in step."""
        self.scheduler.step()
