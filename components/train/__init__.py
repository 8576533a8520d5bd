"""train: fit a transformers segmentation model on a dataset's training folds, keep the best epoch."""
