"""split: StratifiedGroupKFold folds over a dataset, with per-fold class statistics."""
