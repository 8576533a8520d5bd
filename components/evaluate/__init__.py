"""evaluate: predictions vs ground truth -> mIoU, accuracies, per-class IoU, confusion matrix."""
