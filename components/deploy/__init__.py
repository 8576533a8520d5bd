"""deploy: a model (or its export) served on a cluster by a KServe InferenceService running `trashseg serve`."""
