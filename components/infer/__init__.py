"""infer: a model's label maps (and probabilities) for every image of a dataset."""
