"""pseudo-label: predictions on unlabeled images -> a training-only labeled dataset."""
