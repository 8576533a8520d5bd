"""cv: cross-validated summary of per-fold evaluations."""
