"""Model presets and the one forward-to-probabilities rule that train, infer and evaluate share."""
