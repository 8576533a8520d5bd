"""evaluate: the metrics against a hand-computed confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest

from trashseg.components.common.metrics import (
    confusion_matrix,
    iou_per_class,
    mean_class_accuracy,
    mean_iou,
    pixel_accuracy,
)


def test_metrics_by_hand():
    truth = np.array([[0, 0, 1, 1], [0, 0, 1, 255], [2, 2, 2, 2]], dtype=np.uint8)
    pred = np.array([[0, 1, 1, 1], [0, 0, 0, 3], [2, 2, 2, 0]], dtype=np.uint8)
    cm = confusion_matrix(truth, pred, 5)
    # class 0: tp 3, truth 4, pred 5 -> 3 / 6; class 1: tp 2, truth 3, pred 3 -> 2 / 4; class 2: tp 3, truth 4, pred 3
    # -> 3 / 4
    # class 3 and 4: absent from truth and prediction (the 255 pixel predicted 3 is ignored) -> left out
    assert cm.sum() == 11
    iou = iou_per_class(cm)
    assert iou[:3] == pytest.approx([0.5, 0.5, 0.75])
    assert np.isnan(iou[3]) and np.isnan(iou[4])
    assert mean_iou(cm) == pytest.approx((0.5 + 0.5 + 0.75) / 3)
    assert pixel_accuracy(cm) == pytest.approx(8 / 11)
    assert mean_class_accuracy(cm) == pytest.approx((3 / 4 + 2 / 3 + 3 / 4) / 3)
