"""deploy: a model artifact (or its export) served on a cluster as a KServe InferenceService running `trashseg serve`."""
