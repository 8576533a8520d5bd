"""The training losses for rare classes, against independent references (scikit-learn's F1, a hand-written
weighted cross-entropy), and the knob that picks them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score

from trashseg.components.models.build import build_model
from trashseg.components.models.forward import training_loss
from trashseg.components.models.losses import soft_dice, weighted_cross_entropy
from trashseg.components.models.presets import get_preset
from trashseg.components.train.logic import TrainParams
from trashseg.data_contracts.classes import ClassTable
from trashseg.data_contracts.errors import ContractError

CLASSES = 5


def _hard_logits(predicted: torch.Tensor) -> torch.Tensor:
    """Logits whose softmax is (to float precision) the one-hot of ``predicted``: soft Dice then equals hard Dice =
    F1."""
    return F.one_hot(predicted, CLASSES).permute(0, 3, 1, 2).float() * 60.0


def test_soft_dice_of_hard_predictions_is_one_minus_f1_over_present_classes():
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (2, 40, 40), generator=generator)  # classes 3 and 4 absent from the truth
    predicted = torch.where(
        torch.rand(2, 40, 40, generator=generator) < 0.7,
        labels,
        torch.randint(0, CLASSES, (2, 40, 40), generator=generator),
    )
    truth, guess = labels.flatten().numpy(), predicted.flatten().numpy()
    # Dice with the +1 smoothing of the implementation: (2 tp + 1) / (2 tp + fp + fn + 1), per class present in the
    # truth
    expected = []
    for c in range(3):
        tp = int(((truth == c) & (guess == c)).sum())
        fp, fn = int(((truth != c) & (guess == c)).sum()), int(((truth == c) & (guess != c)).sum())
        expected.append(1 - (2 * tp + 1) / (2 * tp + fp + fn + 1))
    f1 = f1_score(truth, guess, labels=[0, 1, 2], average=None)
    assert np.allclose(expected, 1 - f1, atol=1e-3)  # the smoothing is negligible at this size: the reference holds
    assert float(soft_dice(_hard_logits(predicted), labels)) == pytest.approx(float(np.mean(expected)), abs=1e-5)


def test_soft_dice_leaves_ignored_pixels_out():
    generator = torch.Generator().manual_seed(1)
    labels = torch.randint(0, CLASSES, (1, 16, 16), generator=generator)
    logits = torch.randn(1, CLASSES, 16, 16, generator=generator)
    masked = labels.clone()
    masked[:, :, 8:] = 255
    # the same loss as on the left half alone
    assert float(soft_dice(logits, masked)) == pytest.approx(
        float(soft_dice(logits[..., :8], labels[..., :8])), abs=1e-6
    )
    assert float(soft_dice(logits, masked)) != pytest.approx(float(soft_dice(logits, labels)), abs=1e-3)


def test_weighted_cross_entropy_matches_a_hand_computation():
    generator = torch.Generator().manual_seed(2)
    labels = torch.zeros(1, 10, 10, dtype=torch.long)
    labels[0, :2, :3] = 3  # a rare class: 6 pixels against 94
    labels[0, 9, 9] = 255
    logits = torch.randn(1, CLASSES, 10, 10, generator=generator)
    valid = labels[0] != 255
    truth, scores = labels[0][valid].numpy(), logits[0].permute(1, 2, 0)[valid].double().numpy()
    counts = np.bincount(truth, minlength=CLASSES).astype(float)
    weights = np.minimum(counts.sum() / (counts + 1), 50)
    weights /= weights[counts > 0].mean()
    log_probs = scores - np.log(np.exp(scores).sum(1, keepdims=True))
    per_pixel = -log_probs[np.arange(len(truth)), truth]
    expected = (weights[truth] * per_pixel).sum() / weights[truth].sum()
    assert float(weighted_cross_entropy(logits, labels)) == pytest.approx(expected, rel=1e-5)
    assert weights[3] > 10 * weights[0]  # the rare class weighs more


def test_ce_dice_is_the_models_own_loss_plus_dice_on_its_main_head():
    torch.manual_seed(0)
    preset = get_preset("upernet-convnext-tiny")
    model = build_model(preset, ClassTable(), seed=0).eval()
    pixels = torch.randn(2, 3, 64, 64)
    labels = torch.randint(0, 11, (2, 64, 64))
    with torch.no_grad():
        own = training_loss(model, "upernet", pixels, labels, "model")
        combined = training_loss(model, "upernet", pixels, labels, "ce_dice")
        logits = model(pixel_values=pixels).logits
        reference = model(pixel_values=pixels, labels=labels).loss
    assert float(own) == pytest.approx(float(reference), abs=1e-6)
    assert float(combined) == pytest.approx(float(own) + float(soft_dice(logits, labels)), abs=1e-5)


def test_loss_knob_comes_from_the_preset_and_is_checked():
    assert (
        TrainParams(preset="upernet-convnext-tiny").resolved().loss
        == get_preset("upernet-convnext-tiny").loss
        == "ce_dice"
    )
    assert TrainParams(preset="upernet-convnext").resolved().loss == "model"
    assert TrainParams(preset="upernet-convnext-tiny", loss="model").resolved().loss == "model"
    assert (
        TrainParams(preset="upernet-convnext-tiny").resolved().warmup_steps
        == get_preset("upernet-convnext-tiny").warmup_steps
    )
    assert TrainParams(preset="upernet-convnext-tiny", warmup_steps=0).resolved().warmup_steps == 0
    with pytest.raises(ContractError, match="--loss"):
        TrainParams(preset="upernet-convnext-tiny", loss="dice").check()
    with pytest.raises(ContractError, match="--loss: .* it trains with its own matched mask and class loss"):
        TrainParams(preset="mask2former-swin-tiny", loss="ce_dice").check()
